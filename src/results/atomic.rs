//! Atomic file writes: a temporary file in the same directory, flushed, then renamed
//! over the target. A reader (or a resumed sweep) sees the old file or the new one,
//! never a torn one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Name of the temporary sibling of `path`; unique per process and call, and
/// recognisable (`.tmp-` infix) so stale ones can be cleaned up.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Test mode (`--inject-write-error PATTERN`, set once by the command layer before any
/// write): writes to paths containing the pattern fail as on a full disk. A process-wide
/// setting rather than a parameter of every write, as a full disk is.
static INJECTED_WRITE_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes every later [`write_atomic`] to a path containing `pattern` fail with ENOSPC (the
/// hidden `--inject-write-error` option); the first call wins.
pub(crate) fn inject_write_errors(pattern: String) {
    let _ = INJECTED_WRITE_ERROR.set(pattern);
}

/// The injected failure, after the temporary file was created (as a real ENOSPC would).
fn injected_failure(path: &Path) -> io::Result<()> {
    match INJECTED_WRITE_ERROR.get() {
        Some(pattern) if !pattern.is_empty() && path.to_string_lossy().contains(pattern.as_str()) => {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        }
        _ => Ok(()),
    }
}

/// Creates `tmp` with O_EXCL, so that something planted at its name (a symlink to a
/// file elsewhere, say) is removed, never opened and truncated.
fn create_new(tmp: &Path) -> io::Result<File> {
    let open = || fs::OpenOptions::new().write(true).create_new(true).open(tmp);
    match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(tmp)?;
            open()
        }
        other => other,
    }
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = create_new(&tmp)?;
        injected_failure(path)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))
}

/// For a temporary file `write_atomic` may leave behind if killed mid-write: the PID
/// of the process that wrote it.
pub(crate) fn temp_file_owner(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let (_, rest) = name.rsplit_once(".tmp-")?;
    rest.split('-').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        write_atomic(&p, b"first\n").unwrap();
        write_atomic(&p, b"second\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "second\n");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn failure_names_the_file_and_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("a.csv");
        let err = write_atomic(&p, b"x").unwrap_err();
        assert!(err.to_string().contains("a.csv"));
    }

    #[test]
    fn a_symlink_planted_at_the_temporary_name_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, "keep me\n").unwrap();
        let target = dir.path().join("a.csv");
        // The next temporary names this process will use.
        let next = COUNTER.load(Ordering::Relaxed);
        for n in next..next + 64 {
            let name = format!(".a.csv.tmp-{}-{n}", std::process::id());
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        write_atomic(&target, b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me\n");
        assert_eq!(fs::read_to_string(&target).unwrap(), "new\n");
    }
}
