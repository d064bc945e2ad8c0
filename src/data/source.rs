//! Opening a data file: transparent gzip and numbered, UTF-8 checked lines.
//!
//! Everything above this layer sees plain text lines with their 1-based line numbers, so that
//! every parse error can point at `file:line`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use super::DataError;

/// Large enough that a 1024-value line (about 12 kB) never needs more than one refill.
const BUF_CAPACITY: usize = 256 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` and returns its decompressed lines.
pub(crate) fn open(path: &Path) -> Result<Lines, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    decode(path, file)
}

/// Wraps any byte source: gzip is detected by its magic bytes, not by the name, because
/// downloaded files are often renamed; a `.gz` name on plain bytes is reported, since it
/// usually means a failed or partial download.
pub(crate) fn decode<R: Read + 'static>(path: &Path, mut raw: R) -> Result<Lines, DataError> {
    let io_err = |source| DataError::Io { path: path.to_path_buf(), source };
    // Read the first two bytes explicitly: a single `read` may return fewer (pipes).
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < magic.len() {
        match raw.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    let head = Cursor::new(magic[..got].to_vec());
    let stream = BufReader::with_capacity(BUF_CAPACITY, head.chain(raw));
    let gzip = magic[..got] == GZIP_MAGIC;
    let reader: Box<dyn BufRead> = if gzip {
        // Multi-member streams (`cat a.gz b.gz`) are valid gzip; read all members.
        let decoder = flate2::bufread::MultiGzDecoder::new(stream);
        Box::new(BufReader::with_capacity(BUF_CAPACITY, decoder))
    } else if has_gz_extension(path) {
        return Err(DataError::NotGzip { path: path.to_path_buf() });
    } else {
        Box::new(stream)
    };
    Ok(Lines { reader, path: path.to_path_buf(), gzip, buf: Vec::with_capacity(16 * 1024), line: 0 })
}

fn has_gz_extension(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// A line iterator that reuses one buffer (no allocation per line) and reports read,
/// decompression and encoding failures as [`DataError`]s rather than panicking or stopping
/// early with partial data.
pub(crate) struct Lines {
    reader: Box<dyn BufRead>,
    path: PathBuf,
    gzip: bool,
    buf: Vec<u8>,
    line: usize,
}

impl Lines {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The next line without its terminator (`\n` or `\r\n`), with its 1-based number;
    /// `None` at the end of the file.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, &str)>, DataError> {
        self.buf.clear();
        let n = match self.reader.read_until(b'\n', &mut self.buf) {
            Ok(n) => n,
            Err(source) if self.gzip => {
                return Err(DataError::Gzip { path: self.path.clone(), line: self.line + 1, source })
            }
            Err(source) => return Err(DataError::Io { path: self.path.clone(), source }),
        };
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        let mut bytes = &self.buf[..];
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest;
        }
        if let Some(rest) = bytes.strip_suffix(b"\r") {
            bytes = rest;
        }
        if self.line == 1 {
            // Editors on Windows like to start files with a byte-order mark.
            if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
                bytes = rest;
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Some((self.line, text))),
            Err(e) => Err(DataError::at(
                &self.path,
                self.line,
                format!(
                    "byte {} is not valid UTF-8 text (is this a binary or compressed file? \
                     only plain text or gzip-compressed text is supported)",
                    e.valid_up_to() + 1
                ),
            )),
        }
    }
}
