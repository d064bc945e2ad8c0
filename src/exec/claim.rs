//! Claiming a run before training it, so that several processes (two `pinniped run`s
//! by mistake, or the shards of a Slurm array) never train the same run twice.
//!
//! A claim is an exclusive `flock` on `runs/<id>.lock`, held while the run trains.
//! The kernel drops it when the holder exits, however it dies (even SIGKILL), so a
//! claim left by a killed process is simply free again for resume or rerun.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

pub struct Claim {
    // Held for its lock; closing the file releases it.
    _file: File,
}

pub fn lock_path(run_dir: &Path) -> PathBuf {
    let mut name = run_dir.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    run_dir.with_file_name(name)
}

/// `Ok(Some(claim))` when this process now owns the run, `Ok(None)` when another
/// live process does.
pub fn try_claim(run_dir: &Path) -> io::Result<Option<Claim>> {
    let path = lock_path(run_dir);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(Some(Claim { _file: file }));
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(None)
    } else {
        Err(io::Error::new(err.kind(), format!("cannot lock {}: {err}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_excludes_others_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("runs").join("baseline").join("rep-1");
        let first = try_claim(&run).unwrap();
        assert!(first.is_some());
        // flock is per open file description: a second open in the same process conflicts too.
        assert!(try_claim(&run).unwrap().is_none());
        drop(first);
        assert!(try_claim(&run).unwrap().is_some());
        assert!(dir.path().join("runs/baseline/rep-1.lock").exists());
    }
}
