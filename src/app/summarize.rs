//! `pinniped summarize DIR`: rebuild summary.csv from the run directories.

use super::error::{exit, AppError};
use super::results_dir::open_results;
use crate::report::comparisons::Protocol;
use crate::report::summary;
use crate::results::rungs;
use std::path::Path;

pub fn summarize(dir: &Path) -> Result<u8, AppError> {
    let (sweep, plan) = open_results(dir)?;
    summary::write(dir, &plan, &Protocol::of(&sweep))?;
    outln!("{}", dir.join(crate::results::layout::SUMMARY_FILE).display());
    if let Some(prune) = &sweep.prune {
        recompute_rungs(dir, &sweep, &plan, prune)?;
    }
    Ok(exit::OK)
}

/// Successive halving's decisions recomputed from the run directories alone, checked against
/// the stored `rungs.csv` (rewritten, with a warning, where they differ).
fn recompute_rungs(
    dir: &Path,
    sweep: &crate::spec::SweepFile,
    plan: &crate::spec::Plan,
    prune: &crate::spec::prune::Prune,
) -> std::io::Result<()> {
    let decided = crate::report::halving::decide(dir, plan, prune, &Protocol::of(sweep));
    let text = rungs::rungs_csv(&decided.rows, !plan.datasets.is_empty());
    let path = dir.join(rungs::RUNGS_FILE);
    match rungs::read(dir) {
        Some(stored) if stored == text => outln!("{}: the decisions recomputed from the runs agree", path.display()),
        Some(_) => {
            rungs::write(dir, &text)?;
            errln!(
                "warning: {}: the decisions recomputed from the runs differ from the stored ones: rewritten",
                path.display()
            );
        }
        None if decided.rows.is_empty() => {}
        None => {
            rungs::write(dir, &text)?;
            outln!("{}", path.display());
        }
    }
    Ok(())
}
