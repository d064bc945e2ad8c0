//! `pinniped rerun DIR`: retrain failed and unfinished runs, or the named ones.

use super::args::RerunArgs;
use super::error::{exit, AppError};
use super::prepare::prepare;
use super::render::runs_and_share;
use super::results_dir::{check_stored_data, open_results};
use super::run::{train_runs, Batch};
use super::settings::{Exec, Test};
use crate::exec::sweep::{self, run_dir};
use crate::output::count;
use crate::results::rundir::{read_status, State};
use crate::spec::problems::{closest, echo};
use crate::spec::InputError;

pub fn rerun(a: RerunArgs, test: &Test) -> Result<u8, AppError> {
    let exec = Exec::of(&a.exec);
    let (sweep, plan) = open_results(&a.dir)?;
    if sweep.prune.is_some() {
        return Err(InputError::one(
            &a.dir.join(sweep::SWEEP_FILE),
            None,
            Some("sweep.prune"),
            "rerun does not apply to a successive-halving sweep (which runs continue is decided from the runs on \
             disk): `pinniped run FILE` resumes it; a failed run ranks last at its rung",
        )
        .into());
    }
    let todo: Vec<usize> = if a.failed {
        plan.runs
            .iter()
            .filter(|r| read_status(&run_dir(&a.dir, &r.id)).is_none_or(|s| s.state == State::Failed))
            .map(|r| r.index)
            .collect()
    } else {
        let mut todo = Vec::new();
        let mut problems = Vec::new();
        let ids: Vec<&str> = plan.runs.iter().map(|r| r.id.as_str()).collect();
        for id in &a.run {
            match plan.runs.iter().find(|r| &r.id == id) {
                Some(r) if !todo.contains(&r.index) => todo.push(r.index),
                Some(_) => {}
                None => problems.push(crate::spec::Problem {
                    file: a.dir.join(crate::results::layout::PLAN_FILE),
                    line: None,
                    key: None,
                    message: format!(
                        "no run `{}` in this sweep; did you mean {}? (this file lists all {})",
                        echo(id),
                        closest(id, &ids, 5).iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
                        count(ids.len(), "id")
                    ),
                }),
            }
        }
        if !problems.is_empty() {
            return Err(InputError(problems).into());
        }
        todo
    };
    let mut todo = todo;
    todo.retain(|&i| exec.has(i));
    if todo.is_empty() {
        if !exec.quiet {
            outln!(
                "nothing to rerun: no run of {} ({}) failed or is unfinished",
                sweep.name,
                runs_and_share(&plan, &exec)
            );
        }
        return Ok(exit::OK);
    }
    crate::results::rundir::remove_temp_files(&a.dir)?;
    check_stored_data(&a.dir, &sweep, "rerun")?;
    let prepared = prepare(&sweep, &plan)?;
    // Retraining on other bytes would mix two datasets in one summary.
    if let Err(change) = sweep::check_data_digest(&a.dir, prepared.digest()) {
        if !a.force {
            return Err(InputError::one(
                &a.dir,
                None,
                None,
                format!(
                    "{change} changed since these runs were trained; rerunning would mix two datasets in one \
                     summary. Restore the data, or pass --force to retrain on the new data"
                ),
            )
            .into());
        }
    }
    if !exec.quiet {
        outln!("rerunning {} of {}", count(todo.len(), "run"), sweep.name);
    }
    train_runs(&a.dir, &sweep, &plan, &prepared, &todo, &exec, test, Batch { retrain: true, fail_fast: false })
}
