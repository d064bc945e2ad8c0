//! A run's directory on disk: its files, its state, and the rules for deciding
//! whether it is finished, stale or half-written.

use super::atomic::{temp_file_owner, write_atomic};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Done,
    Diverged,
    Failed,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Done => "done",
            State::Diverged => "diverged",
            State::Failed => "failed",
        }
    }
}

/// `status.json`: written last, atomically. A run directory without it is unfinished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub state: State,
    #[serde(default)]
    pub message: String,
    /// Last completed epoch (for `diverged`: the epoch it diverged in).
    #[serde(default)]
    pub epoch: usize,
    #[serde(default)]
    pub seconds: f64,
    /// Hash of everything that determines the run's results.
    #[serde(default)]
    pub config_hash: String,
    /// Present when the returned model is not simply the last epoch's (early
    /// stopping or refit): how it scores. The summary's `final_*` columns use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<SelectedModel>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectedModel {
    pub epoch: usize,
    pub refit: bool,
    pub train_acc: Option<f64>,
    pub valid_acc: Option<f64>,
    pub test_acc: Option<f64>,
}

pub const STATUS_FILE: &str = "status.json";

pub fn read_status(dir: &Path) -> Option<Status> {
    let text = crate::fsx::read_text(&dir.join(STATUS_FILE), crate::fsx::MAX_TEXT_BYTES).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn write_status(dir: &Path, status: &Status) -> io::Result<()> {
    let json = serde_json::to_string_pretty(status).expect("status serialises");
    write_atomic(&dir.join(STATUS_FILE), format!("{json}\n").as_bytes())
}

/// Empties a run directory so a run can start from scratch (after a kill, or to rerun).
pub fn reset(dir: &Path) -> io::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)
}

/// Removes temporary files left by killed writers anywhere below `dir`; those of
/// live processes (another `pinniped run` on the same directory) are left alone.
pub fn remove_temp_files(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else { return Ok(0) };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            removed += remove_temp_files(&path)?;
        } else if let Some(pid) = temp_file_owner(&entry.file_name().to_string_lossy()) {
            if !process_alive(pid) {
                fs::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
