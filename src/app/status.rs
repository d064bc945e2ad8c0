//! `pinniped status DIR`: how many runs are done, diverged, failed, running or pending.

use super::error::{exit, AppError};
use super::render::all_counts;
use super::results_dir::open_results;
use crate::exec::sweep::run_dir;
use crate::output::count;
use crate::results::rundir::{read_status, State};
use std::path::Path;

pub fn status(dir: &Path) -> Result<u8, AppError> {
    let (sweep, plan) = open_results(dir)?;
    let c = all_counts(plan.runs.iter().map(|r| read_status(&run_dir(dir, &r.id)).map(|s| s.state)));
    let running: Vec<(&str, crate::exec::claim::Holder)> = plan
        .runs
        .iter()
        .filter(|r| read_status(&run_dir(dir, &r.id)).is_none())
        .filter_map(|r| crate::exec::claim::is_running(&run_dir(dir, &r.id)).map(|h| (r.id.as_str(), h)))
        .collect();
    let pruned = if c.pruned > 0 { format!(", {} pruned", c.pruned) } else { String::new() };
    outln!(
        "{}: {}: {} done, {} diverged, {} failed{pruned}, {} running, {} pending",
        sweep.name,
        count(plan.runs.len(), "run"),
        c.done,
        c.diverged,
        c.failed,
        running.len(),
        c.skipped - running.len()
    );
    for r in &plan.runs {
        if let Some(s) = read_status(&run_dir(dir, &r.id)) {
            // Pruned runs are many and alike: `rungs.csv` says why.
            if s.state != State::Done && s.state != State::Pruned {
                outln!("  {:<9} {}  {}", s.state.word(), r.id, s.message);
            }
        }
    }
    for (id, holder) in &running {
        outln!("  {:<9} {id}  ({})", "running", holder.describe());
    }
    Ok(if c.failed > 0 { exit::RUNS_FAILED } else { exit::OK })
}
