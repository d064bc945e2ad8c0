//! `pinniped run FILE`: expand a sweep, train its pending runs, summarise. Also the
//! steps `rerun` and `report` share: training a batch of runs and what follows it
//! (summary, plots, report.html, the closing lines).

use super::args::RunArgs;
use super::error::{exit, AppError};
use super::prepare::{prepare, Loaded};
use super::render::{aligned_table, all_counts, configurations_text, mean_spread_ci, repeats_text, runs_and_share};
use super::results_dir::{check_out_dir, with_stored_pairing};
use super::settings::{Exec, Test};
use crate::exec::sweep::{self, Counts, RunOptions};
use crate::exec::trainer::{DatasetsTrainer, MlpTrainer, Trainer};
use crate::output::count;
use crate::report::comparisons::{self, Protocol};
use crate::report::summary;
use crate::spec::{expand, load_sweep, Plan, SweepFile};
use std::path::Path;

pub fn run(a: RunArgs, test: &Test) -> Result<u8, AppError> {
    let exec = Exec::of(&a.exec);
    let root = |sweep: &SweepFile| a.out.join(&sweep.name);
    let sweep = load_sweep(&a.file)?;
    let sweep = with_stored_pairing(&root(&sweep), sweep, exec.quiet);
    let plan = expand(&sweep)?;
    if a.dry_run {
        print_plan(&sweep, &plan, &exec);
        return Ok(exit::OK);
    }
    let root = root(&sweep);
    if sweep.prune.is_some() && a.force {
        return Err(crate::spec::InputError::one(
            &sweep.path,
            None,
            Some("sweep.prune"),
            "--force does not combine with successive halving (its decisions come from the runs on disk): use \
             another `name` or `--out` for a fresh sweep",
        )
        .into());
    }
    check_out_dir(&root)?;
    let prepared = prepare(&sweep, &plan)?;
    if !a.force {
        sweep::check_compatible(&root, &sweep, prepared.digest())?;
    }
    sweep::write_sweep_files(&root, &sweep, &plan, prepared.digest())?;
    crate::results::rundir::remove_temp_files(&root)?;
    let mut todo = sweep::pending(&root, &sweep, &plan, prepared.digest(), a.force);
    todo.retain(|&i| exec.has(i));
    if !exec.quiet {
        outln!(
            "sweep {}: {} × {} = {} ({} already finished) → {}",
            sweep.name,
            configurations_text(&plan),
            repeats_text(&sweep),
            runs_and_share(&plan, &exec),
            exec.in_shard(&plan).len() - todo.len(),
            root.display()
        );
        if let Some(note) = sweep::artifacts_note(&plan) {
            outln!("{note}");
        }
    }
    let batch = Batch { retrain: a.force, fail_fast: a.fail_fast };
    match &sweep.prune {
        Some(prune) => {
            let wait = std::time::Duration::from_secs(a.rung_wait);
            train_halving(&root, &sweep, &plan, &prepared, prune, &exec, test, batch, wait)
        }
        None => train_runs(&root, &sweep, &plan, &prepared, &todo, &exec, test, batch),
    }
}

/// A successive-halving sweep's rounds for this process's shard, then summary, plots and report.
/// Exits [`exit::SUSPENDED`] when a rung waits for runs of other shards: the same command,
/// run again once they have trained, carries on.
#[allow(clippy::too_many_arguments)]
fn train_halving(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    prepared: &Loaded,
    prune: &crate::spec::prune::Prune,
    exec: &Exec,
    test: &Test,
    batch: Batch,
    wait: std::time::Duration,
) -> Result<u8, AppError> {
    let opts = run_options(exec, &batch);
    let real = real_trainer(sweep, prepared, test);
    let trainer = test.trainer(real.as_ref());
    let mine = |i: usize| exec.has(i);
    let digest = prepared.digest();
    let outcome = crate::exec::halving::execute_halving(root, sweep, plan, digest, prune, &mine, trainer, &opts, wait)?;
    finish(root, plan, &outcome.records, &Protocol::of(sweep), exec.quiet)?;
    let code = report_end(root, plan, &outcome.records, &outcome.counts, exec.quiet);
    match outcome.waiting {
        Some(w) if code == exit::OK => {
            errln!(
                "rung {} (epoch {}) waits for {} of other shards or processes (none trained them within \
                 --rung-wait {} s): run the same command again once they have trained, or run their shards",
                w.rung,
                w.epoch,
                count(w.runs, "run"),
                wait.as_secs()
            );
            Ok(exit::SUSPENDED)
        }
        _ => Ok(suspended_or(code)),
    }
}

fn run_options(exec: &Exec, batch: &Batch) -> RunOptions {
    RunOptions {
        jobs: exec.jobs,
        retrain: batch.retrain,
        fail_fast: batch.fail_fast,
        quiet: exec.quiet,
        shard: exec.shard.map(|s| (s.k, s.n)),
        ..Default::default()
    }
}

/// The trainer of the sweep's data: one dataset's, or the datasets' one at a time.
fn real_trainer<'a>(sweep: &'a SweepFile, prepared: &'a Loaded, test: &Test) -> Box<dyn Trainer + 'a> {
    match prepared {
        Loaded::One(data) => Box::new(MlpTrainer { data, faults: test.faults.clone() }),
        Loaded::Many { pipelines, .. } => Box::new(DatasetsTrainer {
            datasets: &sweep.datasets,
            pipelines: pipelines.clone(),
            cache: Default::default(),
            faults: test.faults.clone(),
        }),
    }
}

/// How a batch of runs treats finished runs and failures.
pub(super) struct Batch {
    /// Train the given runs even if they have a status (rerun, --force).
    pub retrain: bool,
    /// Stop starting new runs after the first failure.
    pub(crate) fail_fast: bool,
}

/// Trains the plan's runs `todo` into `root`, then summary, plots and report.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_runs(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    prepared: &Loaded,
    todo: &[usize],
    exec: &Exec,
    test: &Test,
    batch: Batch,
) -> Result<u8, AppError> {
    let opts = run_options(exec, &batch);
    let real = real_trainer(sweep, prepared, test);
    let trainer = test.trainer(real.as_ref());
    let (counts, records) = sweep::execute(root, sweep, plan, prepared.digest(), todo, trainer, &opts)?;
    finish(root, plan, &records, &Protocol::of(sweep), exec.quiet)?;
    let code = report_end(root, plan, &records, &counts, exec.quiet);
    Ok(suspended_or(code))
}

/// After SIGUSR1, [`exit::SUSPENDED`] (unless runs failed): the job is requeued and resumes.
pub(super) fn suspended_or(code: u8) -> u8 {
    if crate::output::suspend_requested() && code == exit::OK {
        errln!("suspended: the running runs saved their state; run the same command again to resume them");
        exit::SUSPENDED
    } else {
        code
    }
}

/// After a batch of runs: the summary, the sweep's plots and `report.html`.
/// Pictures are a convenience: failing to draw one is a warning, not a failure.
pub(super) fn finish(
    root: &Path,
    plan: &Plan,
    records: &summary::Records,
    protocol: &Protocol,
    quiet: bool,
) -> Result<(), AppError> {
    records.write(root, plan, protocol)?;
    // The plots draw the records the summary was just written from, not a second reading.
    // Per-axis curves averaged over datasets would mean nothing: a multi-dataset sweep is
    // compared across its datasets by `pinniped rank`.
    if plan.datasets.is_empty() {
        let results = crate::report::plots::sweep::SweepResults::from_records(plan, records);
        if let Err(e) = crate::report::plots::sweep::plot_sweep_with(root, &results) {
            errln!("warning: sweep plots: {e:#}");
        }
    }
    let report = crate::report::html::write_report(root, &records.selected_rows(plan))?;
    if !quiet {
        outln!("report: {}", report.display());
    }
    Ok(())
}

fn print_plan(sweep: &SweepFile, plan: &Plan, exec: &Exec) {
    outln!(
        "sweep {} ({}): {} × {} = {}",
        sweep.name,
        sweep.design.word(),
        configurations_text(plan),
        repeats_text(sweep),
        runs_and_share(plan, exec)
    );
    let mut header = vec!["index".to_string(), "id".into(), "seed".into()];
    header.extend(plan.axes.iter().cloned());
    let rows: Vec<Vec<String>> = exec
        .in_shard(plan)
        .into_iter()
        .map(|i| {
            let r = &plan.runs[i];
            let mut row = vec![r.index.to_string(), r.id.clone(), r.seed.to_string()];
            row.extend(plan.configs[r.config].axis_values.iter().cloned());
            row
        })
        .collect();
    out!("{}", aligned_table(&header, &rows, &[true, false, true]));
    if let Some(prune) = &sweep.prune {
        outln!("{}", halving_budget_line(prune, plan));
    }
}

/// The rungs and the epoch budget of a successive-halving sweep (`--dry-run`): at most (no
/// early stopping or divergence; without a guard) against the full sweep's.
fn halving_budget_line(prune: &crate::spec::prune::Prune, plan: &Plan) -> String {
    let full: usize = plan.runs.iter().map(|r| plan.configs[r.config].train.schedule.epochs).sum();
    let epochs = plan.configs.iter().map(|c| c.train.schedule.epochs).max().unwrap_or(0);
    // Per dataset: each ranks its own configurations.
    let groups = plan.datasets.len().max(1);
    let configs = plan.configs.len() / groups;
    let per_config = plan.runs.len() / plan.configs.len().max(1);
    let budget = prune.budget(configs, per_config, epochs) * groups;
    let keep = match prune.keep {
        crate::spec::prune::Keep::Eta(eta) => format!("the best 1/{eta}"),
        crate::spec::prune::Keep::Fraction(f) => format!("the best {f}"),
    };
    let rungs: Vec<String> =
        crate::report::halving::decision_rungs(plan, prune).iter().map(|r| r.to_string()).collect();
    // The guard also keeps every configuration its test cannot tell from the rung's best: the
    // budget is then what the fraction alone keeps.
    let guard = match prune.guard {
        Some(_) => " if the paired guard keeps no more",
        None => "",
    };
    format!(
        "successive halving: rungs at epochs {} rank on {} and keep {keep}: at most {budget} epochs of the full \
         sweep's {full} ({:.1}%){guard}",
        if rungs.is_empty() { "(none before the end)".to_string() } else { rungs.join(", ") },
        prune.metric.word(),
        100.0 * budget as f64 / full.max(1) as f64
    )
}

/// The closing lines of a batch, and its exit code: 1 when any run of the plan failed.
fn report_end(root: &Path, plan: &Plan, records: &summary::Records, counts: &Counts, quiet: bool) -> u8 {
    let all = all_counts(records.runs.iter().map(|r| r.state));
    if !quiet {
        let mut extra = String::new();
        if counts.suspended > 0 {
            extra.push_str(&format!(", {} suspended with their state saved (SIGUSR1)", counts.suspended));
        }
        if counts.skipped > 0 {
            let why = if crate::output::suspend_requested() { "SIGUSR1" } else { "--fail-fast" };
            extra.push_str(&format!(", {} not started ({why})", counts.skipped));
        }
        if counts.elsewhere > 0 {
            extra.push_str(&format!(", {} left to another process", counts.elsewhere));
        }
        if counts.paused > 0 {
            extra.push_str(&format!(", {} stopped at their rung", counts.paused));
        }
        outln!("this invocation: {} done, {} diverged, {} failed{extra}", counts.done, counts.diverged, counts.failed);
        if all.pruned > 0 {
            outln!("successive halving: {} pruned (rungs.csv says why; never averaged)", count(all.pruned, "run"));
        }
        // Another shard's runs, or runs not started: the summary is not the sweep's yet.
        let partial = match all.skipped {
            0 => String::new(),
            n => format!(" (covers {} of {}; {n} not finished)", plan.runs.len() - n, count(plan.runs.len(), "run")),
        };
        outln!("summary: {}{partial}", root.join(crate::results::layout::SUMMARY_FILE).display());
        let of_finished = if all.skipped > 0 { " of the finished runs" } else { "" };
        if plan.datasets.is_empty() {
            best_lines(plan, records, of_finished, "");
        } else {
            // Selection by validation happens within each dataset.
            for (d, name) in plan.datasets.iter().enumerate() {
                let (part, part_records) = records.dataset_part(plan, d);
                best_lines(&part, &part_records, of_finished, &format!("{name}: "));
            }
            outln!("rank the configurations across the datasets: pinniped rank {}", root.display());
        }
        if all.failed > 0 {
            outln!(
                "{} failed: see `pinniped status {}`, retry with `pinniped rerun {} --failed`",
                count(all.failed, "run"),
                root.display(),
                root.display()
            );
        }
    }
    if all.failed > 0 {
        exit::RUNS_FAILED
    } else {
        exit::OK
    }
}

/// The "best by validation" and "whole procedure" lines of one dataset's configurations.
fn best_lines(plan: &Plan, records: &summary::Records, of_finished: &str, lead: &str) {
    if let Some(best) = records.best_by_validation(plan) {
        outln!(
            "{lead}best by validation{of_finished}: {}  valid acc {}  → test acc {}  (n={}; chosen on validation, never on test)",
            plan.configs[best.config].id,
            mean_spread_ci(Some(best.valid.0), best.valid.1, best.valid_ci),
            mean_spread_ci(best.test.0, best.test.1, best.test_ci),
            best.done
        );
        let whole = comparisons::whole_procedure(records, plan);
        if whole.n > 0 {
            outln!(
                "{lead}whole procedure{of_finished} (best on each repeat's validation): test acc {}  (n={})",
                mean_spread_ci(whole.test_mean, None, whole.test_ci),
                whole.n
            );
        }
    }
}
