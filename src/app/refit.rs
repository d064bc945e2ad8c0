//! `pinniped refit DIR`: train the chosen configuration again on all training rows, for
//! the median epoch its runs kept; writes refit/<config id>/ and refit.csv.

use super::args::RefitArgs;
use super::error::{exit, AppError};
use super::render::mean_spread_ci;
use super::results_dir::{check_stored_data, open_results};
use super::settings::{jobs_or_cores, Test};
use crate::exec::sweep::{self, RunOptions};
use crate::exec::trainer::MlpTrainer;
use crate::features::{Pipeline, Prepared};
use crate::output::count;
use crate::report::summary;
use crate::spec::problems::{closest, echo};
use crate::spec::{InputError, Plan};
use std::path::Path;

/// The configuration `pinniped refit` trains: the one named, else the best by mean validation
/// (the one the end-of-sweep line names).
fn refit_config(dir: &Path, plan: &Plan, wanted: Option<&str>) -> Result<usize, InputError> {
    Ok(match wanted {
        Some(id) => {
            let ids: Vec<&str> = plan.configs.iter().map(|c| c.id.as_str()).collect();
            plan.configs.iter().position(|c| c.id == id).ok_or_else(|| {
                InputError::one(
                    &dir.join(crate::results::layout::PLAN_FILE),
                    None,
                    Some("--config"),
                    format!(
                        "no configuration `{}` in this sweep; did you mean {}? (its `config` column lists all {})",
                        echo(id),
                        closest(id, &ids, 3).iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
                        count(ids.len(), "configuration")
                    ),
                )
            })?
        }
        None => summary::Records::read(dir, plan).best_by_validation(plan).map(|b| b.config).ok_or_else(|| {
            InputError::one(
                dir,
                None,
                None,
                format!(
                    "no configuration has a done run with a validation accuracy to choose by; finish the sweep \
                     first (`pinniped status {0}`, `pinniped rerun {0} --failed`), or name one with --config",
                    dir.display()
                ),
            )
        })?,
    })
}

pub fn refit(a: RefitArgs, test: &Test) -> Result<u8, AppError> {
    use crate::exec::refit::{self, Refit};
    let (sweep, plan) = open_results(&a.dir)?;
    let stored = a.dir.join(sweep::SWEEP_FILE);
    if !sweep.datasets.is_empty() {
        return Err(InputError::one(
            &stored,
            None,
            Some("datasets"),
            "refit trains one dataset's configuration; this sweep has several datasets: run a sweep of the \
             dataset alone (its [[datasets]] entry as [data]) and refit that",
        )
        .into());
    }
    let config = refit_config(&a.dir, &plan, a.config.as_deref())?;
    let id = &plan.configs[config].id;
    if sweep.data.test.is_none() {
        return Err(InputError::one(
            &stored,
            None,
            Some("data.test"),
            "the sweep has no test data, so a refit has nothing to be scored on; add `test = PATH` to the sweep \
             file's [data], run it again (`pinniped run FILE`), then refit",
        )
        .into());
    }
    let Some(epochs) = refit::lower_median(&refit::kept_epochs(&a.dir, &plan, config)) else {
        return Err(InputError::one(
            &a.dir,
            None,
            Some("--config"),
            format!(
                "configuration `{}` has no done runs to take the epoch count from; finish them first \
                 (`pinniped rerun {} --failed`) or refit another configuration",
                echo(id),
                a.dir.display()
            ),
        )
        .into());
    };
    check_stored_data(&a.dir, &sweep, "refit")?;
    let runs = a.repeats.unwrap_or_else(|| plan.runs.iter().filter(|r| r.config == config).count());
    let train = refit::refit_train(&plan.configs[config].train, epochs);
    let data = refit::all_rows(&sweep.data);
    let prepared = Prepared::load(&data, &[Pipeline::of(&train)])?;
    prepared.check_memory(&stored, &data, [(format!("configuration {id}"), &train)])?;
    if let Err(change) = sweep::check_data_digest(&a.dir, &prepared.digest) {
        return Err(InputError::one(
            &a.dir,
            None,
            None,
            format!(
                "{change} changed since the sweep's runs were trained; a refit would train on other data than \
                 they were selected on. Restore the data, or rerun the sweep on the new data first"
            ),
        )
        .into());
    }
    let plan_refit = Refit::new(&sweep, &plan, config, epochs, runs, &prepared.digest);
    plan_refit.check_paths(&a.dir)?;
    plan_refit.check_stored(&a.dir, a.force)?;
    let root = &a.dir;
    let refit_dir = refit::config_dir(root, id);
    crate::results::rundir::create_dir_below(root, &refit_dir)?;
    crate::results::rundir::remove_temp_files(&refit_dir)?;
    let todo = plan_refit.pending(root, a.force);
    let rows = prepared.dataset.train.rows;
    if !a.quiet {
        outln!(
            "refit {id}: {} on all {rows} training rows for {} ({} already finished) → {}",
            count(runs, "run"),
            count(epochs, "epoch"),
            runs - todo.len(),
            refit_dir.display()
        );
    }
    let opts = RunOptions { jobs: jobs_or_cores(a.jobs), retrain: a.force, quiet: a.quiet, ..Default::default() };
    let real = MlpTrainer { data: &prepared, faults: test.faults.clone() };
    let trainer = test.trainer(&real);
    // A bad PINNIPED_LOCK is an input error (`ExecError::Input`), found before the lock probe.
    let lock_mode = crate::exec::claim::lock_mode(root)?;
    let dirs: Vec<std::path::PathBuf> = (0..runs).map(|i| plan_refit.dir(root, i)).collect();
    sweep::remove_stale_locks(root, dirs.iter().cloned(), lock_mode);
    let job = |i: usize| (dirs[i].clone(), plan_refit.specs[i].clone());
    sweep::train_pool(root, &todo, &job, trainer, &opts, lock_mode, &mut |i, status| match status {
        Some(status) => sweep::finished_line(&plan_refit.specs[i].id, status, &summary::read_run(&dirs[i])),
        None => format!("skipped   {}  (claimed or finished by another process)", plan_refit.specs[i].id),
    })?;
    let outcome = plan_refit.outcome(root);
    crate::results::atomic::write_atomic(
        &root.join(refit::REFIT_FILE),
        refit::refit_csv(&plan_refit, &outcome).as_bytes(),
    )?;
    if !a.quiet {
        let ensemble = outcome.ensemble.map_or("-".into(), |e| format!("{e:.4}"));
        outln!(
            "refit {id} on all {rows} training rows for {}: test acc {} (n={}), ensemble {ensemble}",
            count(epochs, "epoch"),
            mean_spread_ci(outcome.test.0, None, outcome.test_ci),
            outcome.n
        );
        outln!("refit: {}", root.join(refit::REFIT_FILE).display());
        if outcome.failed > 0 {
            outln!(
                "{} failed: see their status.json in {}; the same command retries them",
                count(outcome.failed, "refit run"),
                refit_dir.display()
            );
        }
    }
    Ok(super::run::suspended_or(if outcome.failed > 0 { exit::RUNS_FAILED } else { exit::OK }))
}
