//! A run's directory on disk: its files, its state, and the rules for deciding
//! whether it is finished, stale or half-written.

use super::atomic::{temp_file_owner, write_atomic};
use super::layout::{CONFIG_FILE, METRICS_FILE, MODEL_FILE};
use crate::spec::schema::RESULTS_SCHEMA;
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
    /// Stopped at a successive-halving rung: its configuration ranked below the kept ones
    /// (`rungs.csv` says why). Final; never averaged.
    Pruned,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Done => "done",
            State::Diverged => "diverged",
            State::Failed => "failed",
            State::Pruned => "pruned",
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

pub(crate) use super::layout::STATUS_FILE;
/// A running run's whole training state (`train::state`), removed when the run finishes.
pub(crate) const STATE_FILE: &str = "state.bin";

/// `status.json` as stored: the results schema first (`spec::schema`), then the status.
#[derive(Serialize)]
struct StoredStatus<'a> {
    schema: u32,
    #[serde(flatten)]
    status: &'a Status,
}

/// `status.json` as read: without `schema` (written before the key existed) it is schema 1.
#[derive(Deserialize)]
struct ReadStatus {
    #[serde(default = "schema_one")]
    schema: u64,
    #[serde(flatten)]
    status: Status,
}

fn schema_one() -> u64 {
    1
}

/// The run's status; `None` when the run has not finished (no readable `status.json`). A
/// status of a later schema than this pinniped reads is none it can trust either; its
/// directory's `sweep.toml` (of the same schema) is refused before any run is looked at.
pub(crate) fn read_status(dir: &Path) -> Option<Status> {
    let text = crate::fsx::read_own_text(&dir.join(STATUS_FILE), crate::fsx::MAX_TEXT_BYTES).ok()?;
    let stored: ReadStatus = serde_json::from_str(&text).ok()?;
    (stored.schema <= u64::from(RESULTS_SCHEMA)).then_some(stored.status)
}

pub(crate) fn write_status(dir: &Path, status: &Status) -> io::Result<()> {
    let stored = StoredStatus { schema: RESULTS_SCHEMA, status };
    let json = serde_json::to_string_pretty(&stored).expect("status serialises");
    write_atomic(&dir.join(STATUS_FILE), format!("{json}\n").as_bytes())
}

/// Marks a directory as a `pinniped train` output, so that the next `train --out`
/// may replace it (and nothing else that happens to be non-empty).
pub(crate) const TRAIN_MARKER: &str = ".pinniped-run";
/// The marker's exact content: a file of that name with anything else in it (an empty one
/// made by `touch`, say) is not pinniped's, so the files beside it are not replaced.
pub(crate) const TRAIN_MARKER_TEXT: &str =
    "written by `pinniped train`: the next `pinniped train --out` here replaces its files\n";

/// Whether `name` (a file directly in a run directory) is one pinniped writes there.
fn is_run_file(name: &str) -> bool {
    matches!(
        name,
        STATUS_FILE
            | STATE_FILE
            | TRAIN_MARKER
            | CONFIG_FILE
            | METRICS_FILE
            | MODEL_FILE
            | super::predictions::PREDICTIONS_FILE
    ) || super::diagnostics::is_table_name(name)
        || temp_file_owner(name).is_some()
}

/// Files pinniped writes into a run directory's subdirectories.
fn is_run_subdir_file(subdir: &str, name: &str) -> bool {
    temp_file_owner(name).is_some()
        || match subdir {
            "checkpoints" => name.starts_with("epoch-") && name.ends_with(".safetensors"),
            // The run plots' names (`report::plots::plot_run`), not any picture of the user's.
            "plots" => {
                name.ends_with(".png")
                    && (name == "error.png"
                        || ["confusion-", "weight-", "activations-"].iter().any(|p| name.starts_with(p)))
            }
            _ => false,
        }
}

/// Refuses a path that leaves `root` through a symlink: every existing component of
/// `path` below `root` (the last included) must be a real directory or file, never a
/// symlink. `root` itself may be one (results on a scratch filesystem, say); the
/// directories pinniped creates inside it may not, so that nothing is ever deleted or
/// written outside it.
pub(crate) fn check_no_symlink_below(root: &Path, path: &Path) -> io::Result<()> {
    let rel = path.strip_prefix(root).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not inside {}", path.display(), root.display()))
    })?;
    let mut at = root.to_path_buf();
    let parts = rel.components().count();
    for (i, part) in rel.components().enumerate() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if !m.file_type().is_symlink() && !m.is_dir() && i + 1 < parts => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a file where pinniped keeps a directory; move it out of the results directory \
                         and run again",
                        at.display()
                    ),
                ))
            }
            Ok(m) if m.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a symlink; pinniped never follows symlinks inside a results directory. \
                         Remove it (its target is not touched) and run again",
                        at.display()
                    ),
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io::Error::new(e.kind(), format!("cannot inspect {}: {e}", at.display()))),
        }
    }
    Ok(())
}

/// Empties a run directory so a run can start from scratch (after a kill, or to
/// rerun) and creates it if missing. Only the files pinniped writes there are
/// removed (a symlink among them is removed itself, never followed); anything else
/// is left where it is. Nothing is created through a symlink below `root`.
pub(crate) fn reset(root: &Path, dir: &Path) -> io::Result<()> {
    check_no_symlink_below(root, dir)?;
    clear_run_files(dir)?;
    create_dir_below(root, dir)
}

/// Refuses something other than what pinniped writes at `path` (a directory where it
/// writes a file, a file or FIFO where it keeps a directory); absent is fine.
pub(crate) fn check_kind(path: &Path, want_dir: bool) -> io::Result<()> {
    let Ok(meta) = fs::symlink_metadata(path) else { return Ok(()) };
    let (ok, want) = if want_dir { (meta.is_dir(), "a directory") } else { (meta.is_file(), "a plain file") };
    if ok || meta.file_type().is_symlink() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is not {want}, which pinniped keeps there; move it out of the results directory and run again",
            path.display()
        ),
    ))
}

/// Creates `dir` and its missing parents below `root`, refusing symlinks on the way.
pub(crate) fn create_dir_below(root: &Path, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(root)?;
    check_no_symlink_below(root, dir)?;
    fs::create_dir_all(dir)?;
    // A symlink swapped in meanwhile would have been followed by create_dir_all.
    check_no_symlink_below(root, dir)
}

/// Removes pinniped's own files from `dir` (see `is_run_file`), and its
/// `checkpoints/` and `plots/` subdirectories when nothing else is in them.
pub(crate) fn clear_run_files(dir: &Path) -> io::Result<()> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(()) };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() && matches!(name.as_str(), "checkpoints" | "plots") {
            for inner in fs::read_dir(&path)? {
                let inner = inner?;
                let inner_kind = inner.file_type()?;
                if !inner_kind.is_dir() && is_run_subdir_file(&name, &inner.file_name().to_string_lossy()) {
                    fs::remove_file(inner.path())?;
                }
            }
            // Fails harmlessly when something of the user's is still inside.
            let _ = fs::remove_dir(&path);
        } else if (kind.is_symlink() && matches!(name.as_str(), "checkpoints" | "plots"))
            || (!kind.is_dir() && is_run_file(&name))
        {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// What `pinniped train --out DIR` may do with DIR: use it when missing or empty,
/// replace an earlier train output file by file, refuse anything else.
pub(crate) fn check_train_out(dir: &Path) -> Result<(), String> {
    let meta = match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot inspect it: {e}")),
        Ok(m) => m,
    };
    if !meta.is_dir() && !dir.is_dir() {
        return Err("exists and is not a directory; give a new directory for --out".into());
    }
    // A few names are enough to show what is there (the directory may hold millions).
    let mut names = Vec::new();
    let mut more = false;
    for entry in fs::read_dir(dir).map_err(|e| format!("cannot read it: {e}"))? {
        let entry = entry.map_err(|e| format!("cannot read it: {e}"))?;
        if names.len() == 3 {
            more = true;
            break;
        }
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    if names.is_empty() || is_train_output(dir) {
        return Ok(());
    }
    let why = if dir.join(super::layout::SWEEP_FILE).is_file() || dir.join("runs").is_dir() {
        "holds a sweep's results".to_string()
    } else if fs::symlink_metadata(dir.join(TRAIN_MARKER)).is_ok() {
        format!("has a `{TRAIN_MARKER}` that pinniped did not write (not its text, or not a plain file)")
    } else if dir.join(STATUS_FILE).is_file() && dir.join(CONFIG_FILE).is_file() {
        format!(
            "holds a run without pinniped's `{TRAIN_MARKER}` marker (a sweep's run, or made by an older pinniped; \
             delete it yourself if you no longer need it)"
        )
    } else {
        names.sort();
        format!(
            "is not empty ({}{}) and is not an earlier `pinniped train` output",
            names.iter().map(|n| n.escape_default().to_string()).collect::<Vec<_>>().join(", "),
            if more { ", …" } else { "" }
        )
    };
    Err(format!("{why}; pinniped only replaces its own train outputs. Give a new or empty directory with --out"))
}

/// An earlier `pinniped train` output: it has pinniped's marker (a real file, not a
/// symlink, with pinniped's text). A run directory of a sweep has none, so `train --out`
/// cannot overwrite a sweep's run.
fn is_train_output(dir: &Path) -> bool {
    let marker = dir.join(TRAIN_MARKER);
    fs::symlink_metadata(&marker).is_ok_and(|m| m.is_file())
        && crate::fsx::read_bounded(&marker, TRAIN_MARKER_TEXT.len() as u64)
            .is_ok_and(|text| text == TRAIN_MARKER_TEXT.as_bytes())
}

/// Removes temporary files left by killed writers anywhere below `dir`; those of
/// live processes (another `pinniped run` on the same directory) are left alone.
pub(crate) fn remove_temp_files(dir: &Path) -> io::Result<usize> {
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

pub(crate) fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
