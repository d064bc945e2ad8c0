//! Opening a data file: transparent gzip and numbered, UTF-8 checked lines.
//!
//! Everything above this layer sees plain text lines with their 1-based line numbers, so that
//! every parse error can point at `file:line`.

use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use super::DataError;
use crate::memory::bytes_setting;

/// Large enough that a 1024-value line (about 12 kB) never needs more than one refill.
const BUF_CAPACITY: usize = 256 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Bounds on what one data file may hold, so that a corrupt file, a sparse file or a gzip
/// bomb is one clear error instead of an allocation failure that aborts the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Bytes in one line (a 1024-value UCR row is about 12 kB).
    pub(crate) line_bytes: usize,
    /// Bytes of the whole file after decompression.
    pub(crate) data_bytes: u64,
    /// Memory the parsed rows may take (values and labels): short rows cost more in memory
    /// than in text, so the text bound alone does not bound them.
    pub(crate) memory_bytes: u64,
}

pub(crate) const MAX_LINE_BYTES_VAR: &str = "PINNIPED_MAX_LINE_BYTES";
pub(crate) const MAX_DATA_BYTES_VAR: &str = "PINNIPED_MAX_DATA_BYTES";

impl Default for Limits {
    fn default() -> Self {
        Limits { line_bytes: 16 << 20, data_bytes: 2 << 30, memory_bytes: u64::MAX }
    }
}

impl Limits {
    /// The defaults, overridden by `PINNIPED_MAX_LINE_BYTES` / `PINNIPED_MAX_DATA_BYTES`.
    pub(crate) fn from_env() -> Result<Limits, DataError> {
        let mut limits = Limits::default();
        if let Some(v) = bytes_setting(MAX_LINE_BYTES_VAR).map_err(DataError::Setting)? {
            limits.line_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = bytes_setting(MAX_DATA_BYTES_VAR).map_err(DataError::Setting)? {
            limits.data_bytes = v;
        }
        limits.memory_bytes = crate::memory::run_memory_limit().map_err(DataError::Setting)?;
        Ok(limits)
    }
}

/// Opens `path` and returns its decompressed lines.
pub(crate) fn open(path: &Path) -> Result<Lines, DataError> {
    let file = crate::fsx::open_regular(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    decode(path, file, Limits::from_env()?)
}

/// Wraps any byte source: gzip is detected by its magic bytes, not by the name, because
/// downloaded files are often renamed; a `.gz` name on plain bytes is reported, since it
/// usually means a failed or partial download.
pub(crate) fn decode<R: Read + 'static>(path: &Path, mut raw: R, limits: Limits) -> Result<Lines, DataError> {
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
    Ok(Lines { reader, path: path.to_path_buf(), gzip, buf: Vec::with_capacity(16 * 1024), line: 0, total: 0, limits })
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
    /// Decompressed bytes read so far.
    total: u64,
    limits: Limits,
}

impl Lines {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// After each accepted row: refuses a table whose parsed rows (`values` numbers, `rows`
    /// labels) pass the memory bound, before it grows further.
    pub(crate) fn check_table(&self, values: usize, rows: usize) -> Result<(), DataError> {
        // A label is a String (24 bytes plus its heap block) and a line number (8 bytes).
        let bytes = (values as u64).saturating_mul(8).saturating_add((rows as u64).saturating_mul(64));
        if bytes <= self.limits.memory_bytes {
            return Ok(());
        }
        Err(DataError::at(
            &self.path,
            self.line,
            format!(
                "the rows so far already take {} of memory, more than the {} limit (the machine's memory, \
                 or {}); use a smaller file",
                crate::memory::Bytes(bytes),
                crate::memory::Bytes(self.limits.memory_bytes),
                crate::memory::MAX_RUN_MEMORY_VAR
            ),
        ))
    }

    /// `read_until(b'\n')` that stops with an error once the line or the file passes its
    /// limit, before the buffer grows past it. `false` at the end of the file.
    fn read_line(&mut self) -> Result<bool, DataError> {
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) if self.gzip => {
                    return Err(DataError::Gzip { path: self.path.clone(), line: self.line + 1, source })
                }
                Err(source) => return Err(DataError::Io { path: self.path.clone(), source }),
            };
            let at_end = chunk.is_empty();
            let too_long = |path: &Path, line: usize, limit: usize| {
                DataError::at(
                    path,
                    line,
                    format!(
                        "the line is longer than {limit} bytes, the limit for one line (is this a data file?); \
                         if its rows really are that long, raise the limit with {MAX_LINE_BYTES_VAR}=<bytes>"
                    ),
                )
            };
            if at_end && self.buf.is_empty() {
                return Ok(false);
            }
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                // The last line may have no terminator.
                None => (chunk.len(), at_end),
            };
            self.total += take as u64;
            if self.total > self.limits.data_bytes {
                let what = if self.gzip { "decompresses to" } else { "has" };
                return Err(DataError::file(
                    &self.path,
                    format!(
                        "the file {what} more than {} bytes, the limit for one data file; if it really \
                         is that large, raise the limit with {MAX_DATA_BYTES_VAR}=<bytes>",
                        self.limits.data_bytes
                    ),
                ));
            }
            // Room for the text and its terminator (`\r\n`), checked before the buffer grows.
            if self.buf.len() + take > self.limits.line_bytes.saturating_add(2) {
                return Err(too_long(&self.path, self.line + 1, self.limits.line_bytes));
            }
            self.buf.extend_from_slice(&chunk[..take]);
            self.reader.consume(take);
            if done {
                let text = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                if text.len() > self.limits.line_bytes {
                    return Err(too_long(&self.path, self.line + 1, self.limits.line_bytes));
                }
                return Ok(true);
            }
        }
    }

    /// The next line without its terminator (`\n` or `\r\n`), with its 1-based number;
    /// `None` at the end of the file.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, &str)>, DataError> {
        self.buf.clear();
        if !self.read_line()? {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::gzip;

    fn lines(bytes: Vec<u8>, name: &str, limits: Limits) -> Lines {
        decode(Path::new(name), Cursor::new(bytes), limits).expect("decodes")
    }

    fn all(mut l: Lines) -> Result<usize, DataError> {
        let mut n = 0;
        while l.next_line()?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    #[test]
    fn a_line_longer_than_the_limit_is_an_error_naming_line_and_setting() {
        let limits = Limits { line_bytes: 10, ..Limits::default() };
        // Exactly at the limit (plus its newline and CR) is fine.
        assert_eq!(all(lines(b"0123456789\r\nab\n".to_vec(), "f.tsv", limits)).unwrap(), 2);
        let text = format!("1 2\n{}\n", "7".repeat(11));
        let last = format!("1 2\n{}", "7".repeat(11)); // no final newline
        for (name, bytes) in
            [("f.tsv", text.clone().into_bytes()), ("f.tsv.gz", gzip(text.as_bytes())), ("f.tsv", last.into_bytes())]
        {
            let m = all(lines(bytes, name, limits)).unwrap_err().to_string();
            assert!(m.starts_with(&format!("{name}:2: ")), "{m}");
            assert!(m.contains("10 bytes") && m.contains(MAX_LINE_BYTES_VAR), "{m}");
        }
    }

    #[test]
    fn a_file_decompressing_past_the_limit_is_an_error_naming_the_setting() {
        // A small gzip bomb: 4 MB of zeros in a few kB, one short line each.
        let bomb = gzip(&b"0 0 0 0 0 0 0\n".repeat(300_000));
        assert!(bomb.len() < 100_000);
        let limits = Limits { line_bytes: 1 << 20, data_bytes: 1 << 20, ..Limits::default() };
        let m = all(lines(bomb.clone(), "b.tsv.gz", limits)).unwrap_err().to_string();
        assert!(m.starts_with("b.tsv.gz: the file decompresses to more than 1048576 bytes"), "{m}");
        assert!(m.contains(MAX_DATA_BYTES_VAR), "{m}");
        // A higher limit reads it all.
        let limits = Limits { line_bytes: 1 << 20, data_bytes: 8 << 20, ..Limits::default() };
        assert_eq!(all(lines(bomb, "b.tsv.gz", limits)).unwrap(), 300_000);
    }
}
