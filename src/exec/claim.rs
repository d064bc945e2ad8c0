//! Claiming a run before training it, so that several processes (two `pinniped run`s
//! by mistake, or the shards of a Slurm array) never train the same run twice.
//!
//! A claim is `runs/<id>.lock`, held while the run trains and removed when it ends.
//! Two ways to hold it:
//! - `flock` (the default where the filesystem supports it): an exclusive lock on the
//!   file. The kernel drops it when the holder exits, however it dies (even SIGKILL),
//!   so a claim left by a killed process is simply free again.
//! - lock files (where `flock` fails with ENOSYS, EOPNOTSUPP or ENOLCK, e.g. Lustre
//!   without `flock`; or forced with `PINNIPED_LOCK=file`, e.g. NFS mounted `nolock`,
//!   where `flock` succeeds but only locks against the same node): the file is created
//!   with `O_EXCL`, so only one process can create it. A claim whose holder died
//!   (same host, pid gone) or whose heartbeat stopped (mtime older than
//!   `STALE_AFTER`) is taken over.
//!
//! Either way the file says who holds it (host, pid, Slurm job) and its mtime is a
//! heartbeat, refreshed every `HEARTBEAT` while the run trains; `status` reads both to
//! tell running runs from pending ones.

use anyhow::Context;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

/// How often a holder refreshes its claim's mtime.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(30);
/// A lock file whose mtime is older than this has no live holder (10 heartbeats).
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockMode {
    Flock,
    File,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub heartbeat: Duration,
    pub(crate) stale_after: Duration,
}

pub(crate) const TIMING: Timing = Timing { heartbeat: HEARTBEAT, stale_after: STALE_AFTER };

/// `PINNIPED_LOCK`: `file` or `flock` forces that mode; unset (or empty) detects it.
pub(crate) fn lock_setting() -> Result<Option<LockMode>, crate::spec::InputError> {
    match std::env::var("PINNIPED_LOCK").as_deref() {
        Ok("file") => Ok(Some(LockMode::File)),
        Ok("flock") => Ok(Some(LockMode::Flock)),
        Ok("") | Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(other) => Err(crate::spec::InputError::message(format!(
            "PINNIPED_LOCK=`{}`: use `file` (lock files, for filesystems without a shared flock) or `flock`, or leave it unset",
            other.chars().take(40).collect::<String>().escape_default()
        ))),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(crate::spec::InputError::message("PINNIPED_LOCK is not valid UTF-8: use `file` or `flock`"))
        }
    }
}

/// The mode for the results directory `root`: the `PINNIPED_LOCK` setting, else
/// `flock` unless a probe lock in `root` shows the filesystem lacks it.
pub(crate) fn lock_mode(root: &Path) -> Result<LockMode, super::ExecError> {
    if let Some(mode) = lock_setting()? {
        return Ok(mode);
    }
    fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    // Named as a temporary file, so that one left by a killed process is cleaned up.
    let probe = root.join(format!(".lock-probe.tmp-{}-0", std::process::id()));
    // O_EXCL: whatever is planted at the name (a symlink, say) is removed, never opened.
    let create = || OpenOptions::new().create_new(true).write(true).open(&probe);
    let file = match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let _ = fs::remove_file(&probe);
            create()
        }
        other => other,
    }
    .with_context(|| format!("cannot create the lock probe {}", probe.display()))?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    let err = io::Error::last_os_error();
    drop(file);
    let _ = fs::remove_file(&probe);
    if rc == 0 {
        return Ok(LockMode::Flock);
    }
    match err.raw_os_error() {
        Some(libc::ENOSYS | libc::EOPNOTSUPP | libc::ENOLCK) => Ok(LockMode::File),
        _ => Err(anyhow::anyhow!("cannot lock in {}: {err}", root.display()).into()),
    }
}

pub(crate) struct Claim {
    path: PathBuf,
    // Held for its lock (flock mode); closing it releases the lock.
    file: File,
    mode: LockMode,
    /// Dropping it stops the heartbeat thread.
    stop: Option<mpsc::Sender<()>>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        // Removed while still held: a claimer that opened the old file re-checks,
        // after locking, that the path still names the file it locked.
        match self.mode {
            LockMode::Flock => {
                if same_file(&self.file, &self.path) {
                    let _ = fs::remove_file(&self.path);
                }
            }
            // Only our own: after a takeover the file is someone else's.
            LockMode::File => {
                if fs::read_to_string(&self.path).is_ok_and(|t| t == holder_text()) {
                    let _ = fs::remove_file(&self.path);
                }
            }
        }
    }
}

pub(crate) use crate::results::layout::lock_path;

/// `Ok(Some(claim))` when this process now owns the run below the results directory
/// `root`, `Ok(None)` when another live process does. Never creates or locks anything
/// through a symlink below `root`.
pub(crate) fn try_claim(root: &Path, run_dir: &Path, mode: LockMode) -> io::Result<Option<Claim>> {
    try_claim_timed(root, run_dir, mode, TIMING)
}

pub(crate) fn try_claim_timed(
    root: &Path,
    run_dir: &Path,
    mode: LockMode,
    timing: Timing,
) -> io::Result<Option<Claim>> {
    let path = lock_path(run_dir);
    if let Some(parent) = path.parent() {
        super::rundir::create_dir_below(root, parent)?;
    }
    super::rundir::check_no_symlink_below(root, &path)?;
    let claim = match mode {
        LockMode::Flock => claim_flock(&path)?,
        LockMode::File => claim_file(&path, timing)?,
    };
    let Some(file) = claim else { return Ok(None) };
    Ok(Some(start_heartbeat(path, file, mode, timing.heartbeat)))
}

fn claim_flock(path: &Path) -> io::Result<Option<File>> {
    // A holder removes the file when it ends; a file locked after that is stale:
    // try again on the file the path names now. Bounded: each retry means another
    // process finished a run meanwhile.
    for _ in 0..100 {
        let file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Ok(None);
            }
            return Err(io::Error::new(err.kind(), format!("cannot lock {}: {err}", path.display())));
        }
        // The holder named in the file is not consulted: a free flock means its holder
        // is gone (a crashed node's lock is released by the server at once, while its
        // heartbeat would look fresh for minutes).
        if same_file(&file, path) {
            write_holder(&file)?;
            return Ok(Some(file));
        }
    }
    Ok(None)
}

fn claim_file(path: &Path, timing: Timing) -> io::Result<Option<File>> {
    for _ in 0..3 {
        match OpenOptions::new().create_new(true).read(true).write(true).open(path) {
            Ok(file) => {
                write_holder(&file)?;
                return Ok(Some(file));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if !take_over_if_stale(path, timing)? {
                    return Ok(None);
                }
            }
            Err(e) => return Err(io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))),
        }
    }
    Ok(None)
}

/// Removes the claim at `path` if its holder is gone; true when it did (or the file
/// vanished meanwhile). One taker at a time: the takeover itself is guarded by an
/// `O_EXCL` file, so a fresh claim made by another taker is never removed.
fn take_over_if_stale(path: &Path, timing: Timing) -> io::Result<bool> {
    if holder_alive(path, timing) {
        return Ok(false);
    }
    let mut guard_name = path.file_name().unwrap_or_default().to_os_string();
    guard_name.push(".takeover");
    let guard = path.with_file_name(guard_name);
    match OpenOptions::new().create_new(true).write(true).open(&guard) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // A taker that died mid-takeover leaves its guard: clear it once it is old.
            if age(&guard).is_some_and(|a| a > timing.stale_after) {
                let _ = fs::remove_file(&guard);
            }
            return Ok(false);
        }
        Err(e) => return Err(e),
    }
    let result = if holder_alive(path, timing) {
        Ok(false)
    } else {
        match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(e),
        }
    };
    let _ = fs::remove_file(&guard);
    result
}

/// Who holds a claim, as its lock file says.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Holder {
    pub host: String,
    pub pid: u32,
    /// `SLURM_JOB_ID`, or `SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID` for an array task.
    pub(crate) slurm_job: Option<String>,
}

impl Holder {
    pub fn describe(&self) -> String {
        let job = self.slurm_job.as_ref().map(|j| format!(", Slurm job {j}")).unwrap_or_default();
        format!("{} pid {}{job}", self.host, self.pid)
    }
}

pub(crate) fn read_holder(path: &Path) -> Option<Holder> {
    let mut text = String::new();
    File::open(path).ok()?.take(4096).read_to_string(&mut text).ok()?;
    let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_string));
    Some(Holder { host: field("host")?, pid: field("pid")?.parse().ok()?, slurm_job: field("slurm_job") })
}

/// Whether the claim at `path` has a live holder: on this host, its process exists;
/// elsewhere, its heartbeat is recent.
pub(crate) fn holder_alive(path: &Path, timing: Timing) -> bool {
    let Some(age) = age(path) else { return false };
    match read_holder(path) {
        Some(h) if h.host == hostname() => super::rundir::process_alive(h.pid),
        Some(_) => age <= timing.stale_after,
        // Being written right now, or an empty file left by a version that wrote none.
        None => age <= Duration::from_secs(10),
    }
}

/// The run below `run_dir` is being trained by a live process right now.
pub(crate) fn is_running(run_dir: &Path) -> Option<Holder> {
    let path = lock_path(run_dir);
    if holder_alive(&path, TIMING) {
        read_holder(&path)
    } else {
        None
    }
}

fn age(path: &Path) -> Option<Duration> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    Some(SystemTime::now().duration_since(modified).unwrap_or_default())
}

fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer outlives the call and its length is passed.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn slurm_job() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(job), Some(task)) => Some(format!("{job}_{task}")),
        _ => var("SLURM_JOB_ID"),
    }
}

fn holder_text() -> String {
    let job = slurm_job().map(|j| format!("slurm_job={j}\n")).unwrap_or_default();
    format!("host={}\npid={}\n{job}", hostname(), std::process::id())
}

fn write_holder(mut file: &File) -> io::Result<()> {
    file.set_len(0)?;
    file.write_all(holder_text().as_bytes())?;
    file.sync_all()
}

fn start_heartbeat(path: PathBuf, file: File, mode: LockMode, every: Duration) -> Claim {
    let (stop, stopped) = mpsc::channel::<()>();
    let beat = file.try_clone();
    // Without a thread (none left to spawn) the claim still holds; only its heartbeat
    // stops, which matters to claimers on other hosts after `STALE_AFTER`.
    let heartbeat = beat.ok().and_then(|beat| {
        std::thread::Builder::new()
            .name("claim-heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    let _ = beat.set_modified(SystemTime::now());
                }
            })
            .ok()
    });
    Claim { path, file, mode, stop: Some(stop), heartbeat }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_in(dir: &Path) -> PathBuf {
        dir.join("runs").join("baseline").join("rep-1")
    }

    #[test]
    fn a_claim_excludes_others_until_dropped_in_both_modes() {
        for mode in [LockMode::Flock, LockMode::File] {
            let dir = tempfile::tempdir().unwrap();
            let run = run_in(dir.path());
            let first = try_claim(dir.path(), &run, mode).unwrap();
            assert!(first.is_some(), "{mode:?}: first claim");
            // flock is per open file description: a second open in the same process conflicts too.
            assert!(try_claim(dir.path(), &run, mode).unwrap().is_none(), "{mode:?}: second claim while held");
            assert!(dir.path().join("runs/baseline/rep-1.lock").exists(), "{mode:?}: lock file while held");
            drop(first);
            assert!(!dir.path().join("runs/baseline/rep-1.lock").exists(), "{mode:?}: lock file removed at the end");
            assert!(try_claim(dir.path(), &run, mode).unwrap().is_some(), "{mode:?}: claim after release");
        }
    }

    #[test]
    fn a_lock_file_says_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let run = run_in(dir.path());
        let _claim = try_claim(dir.path(), &run, LockMode::File).unwrap().unwrap();
        let holder = read_holder(&lock_path(&run)).unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.host, hostname());
        assert_eq!(is_running(&run), Some(holder));
    }

    #[test]
    fn a_lock_file_of_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let run = run_in(dir.path());
        std::fs::create_dir_all(run.parent().unwrap()).unwrap();
        // A child that has exited: its pid is dead (and not reused this quickly).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(lock_path(&run), format!("host={}\npid={dead}\n", hostname())).unwrap();
        assert!(is_running(&run).is_none());
        let claim = try_claim(dir.path(), &run, LockMode::File).unwrap();
        assert!(claim.is_some(), "a dead holder's claim must be taken over");
        assert_eq!(read_holder(&lock_path(&run)).unwrap().pid, std::process::id());
    }

    #[test]
    fn a_lock_file_of_another_host_is_live_while_its_heartbeat_is_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let run = run_in(dir.path());
        std::fs::create_dir_all(run.parent().unwrap()).unwrap();
        let lock = lock_path(&run);
        std::fs::write(&lock, "host=some-other-node\npid=1\n").unwrap();
        let timing = Timing { heartbeat: Duration::from_millis(20), stale_after: Duration::from_secs(60) };
        assert!(try_claim_timed(dir.path(), &run, LockMode::File, timing).unwrap().is_none());
        // Its heartbeat stopped long ago: stale, taken over.
        let old = SystemTime::now() - Duration::from_secs(120);
        File::options().write(true).open(&lock).unwrap().set_modified(old).unwrap();
        assert!(try_claim_timed(dir.path(), &run, LockMode::File, timing).unwrap().is_some());
    }

    #[test]
    fn a_holder_refreshes_its_heartbeat() {
        let dir = tempfile::tempdir().unwrap();
        let run = run_in(dir.path());
        let timing = Timing { heartbeat: Duration::from_millis(20), stale_after: Duration::from_secs(60) };
        let _claim = try_claim_timed(dir.path(), &run, LockMode::File, timing).unwrap().unwrap();
        let lock = lock_path(&run);
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options().write(true).open(&lock).unwrap().set_modified(old).unwrap();
        let refreshed = (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            age(&lock).is_some_and(|a| a < Duration::from_secs(60))
        });
        assert!(refreshed, "the heartbeat thread never refreshed the lock file's mtime");
    }

    #[test]
    fn no_claim_through_a_symlinked_parent() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("runs")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("runs/baseline")).unwrap();
        for mode in [LockMode::Flock, LockMode::File] {
            let err = try_claim(dir.path(), &run_in(dir.path()), mode).err().expect("refused");
            assert!(err.to_string().contains("symlink"), "{mode:?}: {err}");
        }
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_lock_probe_never_opens_what_is_planted_at_its_name() {
        if std::env::var_os("PINNIPED_LOCK").is_some() {
            return; // the probe is skipped then
        }
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "keep me\n").unwrap();
        let probe = dir.path().join(format!(".lock-probe.tmp-{}-0", std::process::id()));
        std::os::unix::fs::symlink(&victim, &probe).unwrap();
        lock_mode(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n", "the probe truncated a symlink's target");
        assert!(std::fs::symlink_metadata(&probe).is_err(), "the probe is removed");
    }
}
