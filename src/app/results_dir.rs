//! A sweep's results directory as the subcommands meet it: opened from what it stores,
//! checked before anything is written into it, and resumed with the scheme it was made with.

use crate::exec::sweep;
use crate::spec::problems::echo_path;
use crate::spec::{expand, InputError, Plan, Problem, SweepFile};
use std::path::Path;

/// The sweep stored in a results directory, and its plan. Reads nothing but the
/// directory: the data files need not exist (they may have moved, or live on
/// another machine).
pub(crate) fn open_results(dir: &Path) -> Result<(SweepFile, Plan), InputError> {
    let path = dir.join(sweep::SWEEP_FILE);
    // Before reading anything: a symlinked sweep.toml would be read from outside.
    sweep::check_no_symlinked_files(dir)?;
    if !path.is_file() {
        return Err(InputError::one(dir, None, None, not_a_results_dir(dir)));
    }
    let sweep = crate::spec::load_stored_sweep(&path)?;
    let plan = expand(&sweep)?;
    sweep::check_no_symlinks(dir, &plan)?;
    Ok((sweep, plan))
}

/// Why `dir` is not a results directory, and which ones are near.
fn not_a_results_dir(dir: &Path) -> String {
    if !dir.exists() {
        return "no such directory; give <out>/<name> of a sweep you ran, e.g. results/paper".into();
    }
    if !dir.is_dir() {
        return "not a directory; give <out>/<name> of a sweep you ran, e.g. results/paper".into();
    }
    let mut inside: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join(sweep::SWEEP_FILE).is_file())
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    inside.sort();
    if inside.is_empty() {
        return "not a pinniped results directory (it has no sweep.toml); give <out>/<name> of a sweep you ran".into();
    }
    let shown = inside.len().min(5);
    format!(
        "not a results directory (no sweep.toml here) but the parent of {} {}: give one of them: {}{}",
        inside.len(),
        if inside.len() == 1 { "results directory" } else { "results directories" },
        inside[..shown].join(", "),
        if inside.len() > shown { ", …" } else { "" }
    )
}

/// `--out` and `<out>/<name>` must be directories or not exist yet: a file on the
/// way is a usage error, found before anything is written.
pub(crate) fn check_out_dir(root: &Path) -> Result<(), InputError> {
    match root.ancestors().find(|p| !p.as_os_str().is_empty() && p.exists() && !p.is_dir()) {
        Some(file) => Err(InputError::one(
            file,
            None,
            Some("--out"),
            "is a file, not a directory: results go to <out>/<name>/; give --out a directory",
        )),
        None => Ok(()),
    }
}

/// `sweep` with the pairing of the results directory `root` when the file does not say it
/// (one line says so), so that the directory resumes with the scheme it was made with.
pub(crate) fn with_stored_pairing(root: &Path, mut sweep: SweepFile, quiet: bool) -> SweepFile {
    if let Some(stored) = sweep::adopt_pairing(root, &mut sweep) {
        if !quiet {
            outln!(
                "resuming {} with its pairing = \"{}\" ({} does not say `pairing`; write it there to be explicit)",
                root.display(),
                stored.word(),
                echo_path(&sweep.path)
            );
        }
    }
    sweep
}

/// The data files of a stored sweep must still be where it says (`what` needs them).
pub(crate) fn check_stored_data(dir: &Path, sweep: &SweepFile, what: &str) -> Result<(), InputError> {
    // The stored paths are absolute: a file missing there has moved or gone.
    let missing: Vec<(String, String)> = if sweep.datasets.is_empty() {
        sweep.data.file_problems().into_iter().map(|(k, m)| (format!("data.{k}"), m)).collect()
    } else {
        (sweep.datasets.iter().enumerate())
            .flat_map(|(i, d)| d.data.file_problems().into_iter().map(move |(k, m)| (format!("datasets[{i}].{k}"), m)))
            .collect()
    };
    if missing.is_empty() {
        return Ok(());
    }
    let problems = missing
        .into_iter()
        .map(|(key, m)| Problem {
            file: dir.join(sweep::SWEEP_FILE),
            line: None,
            key: Some(key),
            message: format!(
                "{m}: {what} needs the data the runs were trained on. If it moved, give its new path in \
                 the sweep file and run `pinniped run FILE` once: it stores the new path, then {what} works"
            ),
        })
        .collect();
    Err(InputError(problems))
}
