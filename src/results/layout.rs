//! Where a results directory keeps its files: every file's name, the paths every reader
//! and writer share, and the checks that nothing pinniped reads or writes there is reached
//! through a symlink.

use super::rundir;
use crate::spec::{InputError, Plan, Problem};
use std::path::{Path, PathBuf};

/// The resolved sweep (`exec::sweep::resolved_toml`), read back by `summarize`, `rerun`, ….
pub const SWEEP_FILE: &str = "sweep.toml";
/// The digest of the data the runs were trained on (one line per dataset for several).
pub const DATA_DIGEST_FILE: &str = "data.sha256";
/// One row per planned run (`results::plan`).
pub(crate) const PLAN_FILE: &str = "plan.csv";
/// One row per configuration (`report::summary`).
pub(crate) const SUMMARY_FILE: &str = "summary.csv";
/// Each configuration against the reference (`report::comparisons`).
pub(crate) const COMPARISONS_FILE: &str = "comparisons.csv";
/// The whole procedure's selection by validation (`report::comparisons`).
pub(crate) const SELECTION_FILE: &str = "selection.csv";
/// Axis importance (`report::importance`).
pub(crate) const IMPORTANCE_FILE: &str = "importance.csv";
/// One row per run (`report::runs_table`).
pub(crate) const RUNS_FILE: &str = "runs.csv";
/// The HTML report (`report::html`).
pub(crate) const REPORT_FILE: &str = "report.html";
/// The directory of every refit, inside the results directory.
pub(crate) const REFIT_DIR: &str = "refit";
/// The refit's results, inside the results directory.
pub(crate) const REFIT_FILE: &str = "refit.csv";
/// Successive halving's decisions, rung by rung (`results::rungs`).
pub(crate) const RUNGS_FILE: &str = "rungs.csv";

/// A run's `pinniped train` file that reruns it alone.
pub(crate) const CONFIG_FILE: &str = "config.toml";
/// A run's per-epoch losses and accuracies (`results::metrics`).
pub(crate) const METRICS_FILE: &str = "metrics.csv";
/// A run's final model.
pub(crate) const MODEL_FILE: &str = "model.safetensors";
/// A run's state, written last (`results::rundir`).
pub(crate) const STATUS_FILE: &str = "status.json";

/// The run directories, inside the results directory (`runs/<run id>/`).
pub(crate) const RUNS_DIR: &str = "runs";
/// The pictures: the sweep's inside the results directory, a run's inside its directory.
pub(crate) const PLOTS_DIR: &str = "plots";
/// A run's checkpoints (`epoch-NNNN.safetensors`), inside its directory.
pub(crate) const CHECKPOINTS_DIR: &str = "checkpoints";

/// The directories pinniped creates directly inside a results directory.
pub(crate) const ROOT_DIRS: &[&str] = &[RUNS_DIR, PLOTS_DIR, "slurm", REFIT_DIR];
/// The files pinniped writes directly inside a results directory and reads back: a
/// symlink there would make it read (or report on) a file outside.
pub const ROOT_FILES: &[&str] = &[
    SWEEP_FILE,
    DATA_DIGEST_FILE,
    PLAN_FILE,
    super::events::EVENTS_FILE,
    SUMMARY_FILE,
    COMPARISONS_FILE,
    SELECTION_FILE,
    REPORT_FILE,
    IMPORTANCE_FILE,
    RUNS_FILE,
    REFIT_FILE,
    RUNGS_FILE,
];

/// `runs/<run id>/`: a sweep run's directory.
pub fn run_dir(root: &Path, run_id: &str) -> PathBuf {
    root.join(RUNS_DIR).join(run_id)
}

/// The lock file beside a run directory (`runs/<id>.lock`) that claims it (`exec::claim`).
pub(crate) fn lock_path(run_dir: &Path) -> PathBuf {
    let mut name = run_dir.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    run_dir.with_file_name(name)
}

/// Refuses a symlink at one of [`ROOT_FILES`] (exit 2, naming it) before it is read.
pub fn check_no_symlinked_files(root: &Path) -> Result<(), InputError> {
    let problems: Vec<Problem> = ROOT_FILES
        .iter()
        .filter_map(|f| {
            let path = root.join(f);
            rundir::check_no_symlink_below(root, &path).and_then(|_| rundir::check_kind(&path, false)).err()
        })
        .map(|e| Problem { file: PathBuf::new(), line: None, key: None, message: e.to_string() })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InputError(problems))
    }
}

/// Refuses a results directory with a symlink where pinniped writes (`runs/`, a run
/// directory or one of its parents, a run's lock file, `plots/`, `slurm/`): following
/// it would delete or write files outside the results directory. Checked before
/// anything is written.
pub fn check_no_symlinks(root: &Path, plan: &Plan) -> Result<(), InputError> {
    check_no_symlinked_files(root)?;
    // `--out` or `<out>/<name>` being a file: say so rather than fail on what lies below.
    for dir in root.ancestors().take(2) {
        if dir.exists() && !dir.is_dir() {
            return Err(InputError::one(
                dir,
                None,
                None,
                "is a file, not a directory: give another --out (or another sweep name)",
            ));
        }
    }
    // (path, whether pinniped keeps a directory there)
    let dirs = ROOT_DIRS.iter().map(|d| (root.join(d), true));
    let runs = plan.runs.iter().flat_map(|r| {
        let dir = run_dir(root, &r.id);
        [(lock_path(&dir), false), (dir, true)]
    });
    check_paths(root, dirs.chain(runs))
}

/// Refuses a symlink at or above any of `paths` below `root`, or something other than what
/// pinniped keeps there (`true`: a directory, `false`: a file); absent is fine. Reports each
/// problem once, at most 20.
pub fn check_paths(root: &Path, paths: impl Iterator<Item = (PathBuf, bool)>) -> Result<(), InputError> {
    let mut problems: Vec<Problem> = Vec::new();
    for (dir, want_dir) in paths {
        if let Err(e) = rundir::check_no_symlink_below(root, &dir).and_then(|_| rundir::check_kind(&dir, want_dir)) {
            let message = e.to_string();
            // A symlinked `runs/` would otherwise be reported once per run.
            if !problems.iter().any(|p| p.message == message) {
                problems.push(Problem { file: PathBuf::new(), line: None, key: None, message });
            }
        }
        if problems.len() >= 20 {
            break;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InputError(problems))
    }
}
