//! Reading the files a user names: regular files only, opened so that a FIFO cannot block,
//! and never more bytes than a stated bound.
//!
//! Every reader of a user-given or stored path goes through [`open_regular`], so a FIFO,
//! a directory or a device is one clear error everywhere instead of a hang or a crash.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Sweep and run files, stored TOML and JSON: far larger than any real one.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;
/// CSV tables pinniped reads back (summaries, metrics of long runs).
pub(crate) const MAX_TABLE_BYTES: u64 = 1 << 30;
/// Checkpoints: a model at the size bounds of `[train]` fits.
pub(crate) const MAX_CHECKPOINT_BYTES: u64 = 64 << 30;
/// A run's training state (`state.bin`): up to four copies of the largest model (weights,
/// best weights, Adam's two moments) and the run's history.
pub(crate) const MAX_STATE_BYTES: u64 = 5 * MAX_CHECKPOINT_BYTES;

/// Opens `path` for reading if it is a regular file (after following symlinks). The type is
/// checked on the opened handle, not on the name, so nothing can swap the file in between;
/// the open is non-blocking, so a FIFO without a writer fails here instead of hanging.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    open_checked(path, false)
}

/// [`open_regular`] for a file pinniped wrote inside a results directory: a symlink
/// planted there is refused, not followed (its target may be anything of the user's).
pub(crate) fn open_own(path: &Path) -> io::Result<File> {
    open_checked(path, true)
}

/// [`read_text`] through [`open_own`].
pub(crate) fn read_own_text(path: &Path, limit: u64) -> io::Result<String> {
    text(read_from(open_own(path)?, limit)?)
}

/// [`read_bounded`] through [`open_own`].
pub(crate) fn read_own(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    read_from(open_own(path)?, limit)
}

fn open_checked(path: &Path, no_follow: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | if no_follow { libc::O_NOFOLLOW } else { 0 });
    }
    let file = options.open(path).map_err(|e| {
        if no_follow && e.raw_os_error() == Some(libc::ELOOP) {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symlink; pinniped never follows one in a results directory",
            )
        } else {
            e
        }
    })?;
    let meta = file.metadata()?;
    if meta.is_file() {
        return Ok(file);
    }
    let what = if meta.is_dir() {
        "is a directory, not a file"
    } else {
        "is not a regular file (a FIFO, socket or device); give the path of a plain file"
    };
    Err(io::Error::new(io::ErrorKind::InvalidInput, what))
}

/// The whole file, refusing one larger than `limit` bytes before reading it.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    read_from(open_regular(path)?, limit)
}

fn read_from(file: File, limit: u64) -> io::Result<Vec<u8>> {
    let len = file.metadata()?.len();
    if len > limit {
        return Err(too_large(len, limit));
    }
    let mut bytes = Vec::new();
    // `take`: the file may grow while we read it.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
pub(crate) fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    text(read_bounded(path, limit)?)
}

fn text(bytes: Vec<u8>) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8 text ({e})")))
}

fn too_large(len: u64, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the file has {len} bytes, more than the {limit} bytes pinniped reads from a file of this kind"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    #[test]
    fn regular_files_open_and_other_kinds_are_refused() {
        let dir = TempDir::new().unwrap();
        let file = dir.path().join("f.txt");
        std::fs::write(&file, "hello").unwrap();
        assert_eq!(read_text(&file, 5).unwrap(), "hello");
        let e = read_text(&file, 4).unwrap_err().to_string();
        assert!(e.contains("5 bytes") && e.contains("4 bytes"), "{e}");
        let e = open_regular(dir.path()).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
        #[cfg(unix)]
        {
            let fifo = dir.path().join("fifo");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let e = open_regular(&fifo).unwrap_err().to_string();
            assert!(e.contains("not a regular file"), "{e}");
        }
    }
}
