//! One function per subcommand: validated input in, files and a short report out.

use crate::cli::*;
use crate::exec::rundir::{read_status, State};
use crate::exec::sweep::{self, run_dir, Counts, RunOptions};
use crate::exec::trainer::{DatasetsTrainer, FakeTrainer, MlpTrainer, RunSpec, Trainer};
use crate::features::{Pipeline, Prepared};
use crate::output::count;
use crate::report::comparisons::{self, Protocol};
use crate::report::{compare, summary};
use crate::spec::problems::{closest, echo, echo_path};
use crate::spec::sweep::{parse_run_file, read_source, with_value};
use crate::spec::{expand, load_sweep, InputError, Plan, SweepFile};
use crate::train::checkpoint::{self, AnyMlp};
use crate::train::model::argmax_rows;
use crate::train::{Mlp, Real};
use anyhow::{Context, Result};
use std::path::Path;

/// Documented exit codes.
pub mod exit {
    /// Every run finished (diverged runs are results too).
    pub const OK: u8 = 0;
    /// Some runs failed, or an operation failed at run time (I/O).
    pub const RUNS_FAILED: u8 = 1;
    /// Usage or input error: nothing was run or written.
    pub const INPUT: u8 = 2;
    /// Interrupted (Ctrl-C): finished runs are kept, the same command resumes.
    pub const INTERRUPTED: u8 = crate::output::EXIT_INTERRUPTED;
    /// SIGUSR1: running runs saved their state and stopped; the same command resumes them.
    pub const SUSPENDED: u8 = crate::output::EXIT_SUSPENDED;
}

pub fn dispatch(cli: Cli) -> Result<u8> {
    let test = &cli.test_mode;
    if let Some(pattern) = &test.inject_write_error {
        crate::results::atomic::inject_write_errors(pattern.clone());
    }
    match cli.command {
        Command::Run(a) => run(a, test),
        Command::Train(a) => train(a),
        Command::Eval(a) => eval(a),
        Command::Status(a) => status(&a.dir),
        Command::Rerun(a) => rerun(a, test),
        Command::Summarize(a) => summarize(&a.dir),
        Command::Compare(a) => compare_cmd(a),
        Command::Slurm(a) => slurm(a),
        Command::Report(a) => report_cmd(&a.dir),
        Command::Refit(a) => refit(a, test),
        Command::Rank(a) => rank(a),
    }
}

/// The synthetic trainer the hidden test-mode options ask for (`--fake-trainer`), if any.
fn fake_trainer(test: &TestMode) -> Option<FakeTrainer> {
    test.fake_trainer.then(|| FakeTrainer {
        delay: std::time::Duration::from_millis(test.fake_delay_ms),
        fail: test.fake_fail.clone(),
        kill_at: test.fake_kill_at.clone(),
    })
}

/// The faults the hidden test-mode options inject into real training.
fn faults(test: &TestMode) -> crate::exec::trainer::Faults {
    crate::exec::trainer::Faults { kill_at: test.fake_kill_at.clone(), signal_at: test.fake_signal_at.clone() }
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A sweep's data, validated: one dataset's, loaded and featurised; or, with `[datasets]`,
/// every dataset's digest and pipelines (each dataset was loaded, checked and let go; it is
/// loaded again while its runs train, see `DatasetsTrainer`).
enum Loaded {
    One(Prepared),
    Many { digest: String, pipelines: Vec<Vec<Pipeline>> },
}

impl Loaded {
    /// What `data.sha256` holds (per dataset for several).
    fn digest(&self) -> &str {
        match self {
            Loaded::One(p) => &p.digest,
            Loaded::Many { digest, .. } => digest,
        }
    }
}

/// Loads and prepares the data every planned configuration needs; with `[datasets]`, checks
/// every dataset before anything runs (each problem of each dataset reported together).
fn prepare(sweep: &SweepFile, plan: &Plan) -> Result<Loaded, InputError> {
    if sweep.datasets.is_empty() {
        let configs: Vec<&crate::spec::Config> = plan.configs.iter().collect();
        return prepare_one(sweep, &sweep.data, &configs, "").map(|(p, _)| Loaded::One(p));
    }
    let mut problems = Vec::new();
    let mut digests = Vec::new();
    let mut pipelines = Vec::new();
    for (d, dataset) in sweep.datasets.iter().enumerate() {
        let configs: Vec<&crate::spec::Config> = plan.configs.iter().filter(|c| c.dataset == Some(d)).collect();
        match prepare_one(sweep, &dataset.data, &configs, &format!("dataset {}: ", dataset.name)) {
            // Only its digest is kept: memory must not grow with the number of datasets.
            Ok((prepared, p)) => {
                digests.push((dataset.name.clone(), prepared.digest.clone()));
                pipelines.push(p);
            }
            Err(e) => problems.extend(e.0),
        }
    }
    if !problems.is_empty() {
        return Err(InputError(problems));
    }
    Ok(Loaded::Many { digest: sweep::datasets_digest(&digests), pipelines })
}

/// One dataset's data for `configs`, checked (memory, folds, training rows), with the pipelines
/// it was featurised for; `label` leads the keys of its problems.
fn prepare_one(
    sweep: &SweepFile,
    data: &crate::spec::DataConfig,
    configs: &[&crate::spec::Config],
    label: &str,
) -> Result<(Prepared, Vec<Pipeline>), InputError> {
    let mut pipelines: Vec<Pipeline> = configs.iter().map(|c| Pipeline::of(&c.train)).collect();
    pipelines.dedup();
    let prepared = Prepared::load(data, &pipelines)?;
    let labelled = configs.iter().map(|c| (format!("{label}configuration {}", c.id), &c.train));
    prepared.check_memory(&sweep.path, data, labelled)?;
    let rows = prepared.dataset.train.rows;
    check_folds(&sweep.path, data, rows)?;
    let (train_rows, _) = data.split(&(0..rows).collect::<Vec<_>>());
    if train_rows.is_empty() {
        return Err(InputError::one(
            &sweep.path,
            None,
            Some(&format!("{label}data")),
            format!("the validation reserve leaves no training rows out of {rows}; reserve fewer"),
        ));
    }
    Ok((prepared, pipelines))
}

/// k-fold needs a row per fold: known only once the training file is read.
fn check_folds(file: &Path, data: &crate::spec::DataConfig, rows: usize) -> Result<(), InputError> {
    match data.folds() {
        Some(folds) if folds > rows => Err(InputError::one(
            file,
            None,
            Some("data.folds"),
            crate::stats::folds::FoldError::MoreFoldsThanRows { folds, rows }.to_string(),
        )),
        _ => Ok(()),
    }
}

/// `--out` and `<out>/<name>` must be directories or not exist yet: a file on the
/// way is a usage error, found before anything is written.
fn check_out_dir(root: &Path) -> Result<(), InputError> {
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

fn in_shard(plan: &Plan, shard: Option<Shard>) -> Vec<usize> {
    plan.runs.iter().map(|r| r.index).filter(|&i| shard.is_none_or(|s| s.contains(i))).collect()
}

/// "45 runs", or with a shard "45 runs; shard 0/4: 12 of them".
fn runs_and_share(plan: &Plan, shard: Option<Shard>) -> String {
    let all = count(plan.runs.len(), "run");
    match shard {
        Some(s) => format!("{all}; shard {}/{}: {} of them", s.k, s.n, in_shard(plan, shard).len()),
        None => all,
    }
}

/// `sweep` with the pairing of the results directory `root` when the file does not say it
/// (one line says so), so that the directory resumes with the scheme it was made with.
fn with_stored_pairing(root: &Path, mut sweep: SweepFile, quiet: bool) -> SweepFile {
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

fn run(a: RunArgs, test: &TestMode) -> Result<u8> {
    let root = |sweep: &SweepFile| a.out.join(&sweep.name);
    let sweep = load_sweep(&a.file)?;
    let sweep = with_stored_pairing(&root(&sweep), sweep, a.exec.quiet);
    let plan = expand(&sweep)?;
    if a.dry_run {
        print_plan(&sweep, &plan, a.exec.shard);
        return Ok(exit::OK);
    }
    let root = root(&sweep);
    check_out_dir(&root)?;
    let prepared = prepare(&sweep, &plan)?;
    if !a.force {
        sweep::check_compatible(&root, &sweep, prepared.digest())?;
    }
    sweep::write_sweep_files(&root, &sweep, &plan, prepared.digest())?;
    crate::exec::rundir::remove_temp_files(&root)?;
    let mut todo = sweep::pending(&root, &sweep, &plan, prepared.digest(), a.force);
    if let Some(shard) = a.exec.shard {
        todo.retain(|&i| shard.contains(i));
    }
    if !a.exec.quiet {
        outln!(
            "sweep {}: {} × {} = {} ({} already finished) → {}",
            sweep.name,
            configurations_text(&plan),
            repeats_text(&sweep),
            runs_and_share(&plan, a.exec.shard),
            in_shard(&plan, a.exec.shard).len() - todo.len(),
            root.display()
        );
        if let Some(note) = sweep::artifacts_note(&plan) {
            outln!("{note}");
        }
    }
    train_runs(&root, &sweep, &plan, &prepared, &todo, &a.exec, test, a.force, a.fail_fast)
}

/// "15 configurations", or with datasets "8 datasets × 15 configurations".
fn configurations_text(plan: &Plan) -> String {
    match plan.datasets.len() {
        0 => count(plan.configs.len(), "configuration"),
        n => format!("{} × {}", count(n, "dataset"), count(plan.configs.len() / n, "configuration")),
    }
}

/// "3 repeats", or with k-fold "3 repeats × 5 folds": the runs of one configuration.
fn repeats_text(sweep: &SweepFile) -> String {
    match sweep.data.folds() {
        Some(k) => format!("{} × {}", count(sweep.repeats, "repeat"), count(k, "fold")),
        None => count(sweep.repeats, "repeat"),
    }
}

/// Trains the plan's runs `todo` into `root`, then summary, plots and report.
#[allow(clippy::too_many_arguments)]
fn train_runs(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    prepared: &Loaded,
    todo: &[usize],
    exec: &ExecArgs,
    test: &TestMode,
    retrain: bool,
    fail_fast: bool,
) -> Result<u8> {
    let opts = RunOptions { jobs: exec.jobs.unwrap_or_else(default_jobs), retrain, fail_fast, quiet: exec.quiet };
    let real: Box<dyn Trainer + '_> = match prepared {
        Loaded::One(data) => Box::new(MlpTrainer { data, faults: faults(test) }),
        Loaded::Many { pipelines, .. } => Box::new(DatasetsTrainer {
            datasets: &sweep.datasets,
            pipelines: pipelines.clone(),
            cache: Default::default(),
            faults: faults(test),
        }),
    };
    let fake = fake_trainer(test);
    let trainer: &dyn Trainer = match &fake {
        Some(f) => f,
        None => real.as_ref(),
    };
    let (counts, records) = sweep::execute(root, sweep, plan, prepared.digest(), todo, trainer, &opts)?;
    finish(root, plan, &records, &Protocol::of(sweep), exec.quiet)?;
    let code = report_end(root, plan, &records, &counts, exec.quiet);
    Ok(suspended_or(code))
}

/// After SIGUSR1, [`exit::SUSPENDED`] (unless runs failed): the job is requeued and resumes.
fn suspended_or(code: u8) -> u8 {
    if crate::output::suspend_requested() && code == exit::OK {
        errln!("suspended: the running runs saved their state; run the same command again to resume them");
        exit::SUSPENDED
    } else {
        code
    }
}

/// After a batch of runs: the summary, the sweep's plots and `report.html`.
/// Pictures are a convenience: failing to draw one is a warning, not a failure.
fn finish(root: &Path, plan: &Plan, records: &summary::Records, protocol: &Protocol, quiet: bool) -> Result<()> {
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
    let report = crate::report::html::write_report(root)?;
    if !quiet {
        outln!("report: {}", report.display());
    }
    Ok(())
}

fn report_cmd(dir: &Path) -> Result<u8> {
    let (sweep, plan) = open_results(dir)?;
    finish(dir, &plan, &summary::Records::read(dir, &plan), &Protocol::of(&sweep), false)?;
    Ok(exit::OK)
}

fn print_plan(sweep: &SweepFile, plan: &Plan, shard: Option<Shard>) {
    outln!(
        "sweep {} ({}): {} × {} = {}",
        sweep.name,
        sweep.design.word(),
        configurations_text(plan),
        repeats_text(sweep),
        runs_and_share(plan, shard)
    );
    let mut header = vec!["index".to_string(), "id".into(), "seed".into()];
    header.extend(plan.axes.iter().cloned());
    let rows: Vec<Vec<String>> = in_shard(plan, shard)
        .into_iter()
        .map(|i| {
            let r = &plan.runs[i];
            let mut row = vec![r.index.to_string(), r.id.clone(), r.seed.to_string()];
            row.extend(plan.configs[r.config].axis_values.iter().cloned());
            row
        })
        .collect();
    out!("{}", aligned_table(&header, &rows, &[true, false, true]));
}

/// Columns as wide as their widest cell or header, two spaces apart; column `c` is
/// right-aligned (numbers) when `right[c]`, left-aligned otherwise.
fn aligned_table(header: &[String], rows: &[Vec<String>], right: &[bool]) -> String {
    let width =
        |c: usize| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let mut s = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, v)| match right.get(c) {
                Some(true) => format!("{v:>w$}", w = widths[c]),
                _ => format!("{v:<w$}", w = widths[c]),
            })
            .collect();
        s.push_str(cells.join("  ").trim_end());
        s.push('\n');
    }
    s
}

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
        outln!("this invocation: {} done, {} diverged, {} failed{extra}", counts.done, counts.diverged, counts.failed);
        // Another shard's runs, or runs not started: the summary is not the sweep's yet.
        let partial = match all.skipped {
            0 => String::new(),
            n => format!(" (covers {} of {}; {n} not finished)", plan.runs.len() - n, count(plan.runs.len(), "run")),
        };
        outln!("summary: {}{partial}", root.join("summary.csv").display());
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

/// `0.3396 ± 0.0300 [0.2651, 0.4141]`: mean, std and 95% interval, each part only when defined.
fn mean_spread_ci(mean: Option<f64>, std: Option<f64>, ci: Option<crate::stats::MeanCi>) -> String {
    let Some(mean) = mean else { return "-".into() };
    let mut s = format!("{mean:.4}");
    if let Some(std) = std {
        s += &format!(" ± {std:.4}");
    }
    if let Some(ci) = ci {
        s += &format!(" [{:.4}, {:.4}]", ci.low, ci.high);
    }
    s
}

/// State counts over the whole plan, from each run's state.
fn all_counts(states: impl IntoIterator<Item = Option<State>>) -> Counts {
    let mut c = Counts::default();
    for state in states {
        match state {
            Some(State::Done) => c.done += 1,
            Some(State::Diverged) => c.diverged += 1,
            Some(State::Failed) => c.failed += 1,
            None => c.skipped += 1,
        }
    }
    c
}

/// The sweep stored in a results directory, and its plan. Reads nothing but the
/// directory: the data files need not exist (they may have moved, or live on
/// another machine).
fn open_results(dir: &Path) -> Result<(SweepFile, Plan)> {
    let path = dir.join(sweep::SWEEP_FILE);
    // Before reading anything: a symlinked sweep.toml would be read from outside.
    sweep::check_no_symlinked_files(dir)?;
    if !path.is_file() {
        return Err(InputError::one(dir, None, None, not_a_results_dir(dir)).into());
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

fn status(dir: &Path) -> Result<u8> {
    let (sweep, plan) = open_results(dir)?;
    let c = all_counts(plan.runs.iter().map(|r| read_status(&run_dir(dir, &r.id)).map(|s| s.state)));
    let running: Vec<(&str, crate::exec::claim::Holder)> = plan
        .runs
        .iter()
        .filter(|r| read_status(&run_dir(dir, &r.id)).is_none())
        .filter_map(|r| crate::exec::claim::is_running(&run_dir(dir, &r.id)).map(|h| (r.id.as_str(), h)))
        .collect();
    outln!(
        "{}: {}: {} done, {} diverged, {} failed, {} running, {} pending",
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
            if s.state != State::Done {
                outln!("  {:<9} {}  {}", s.state.word(), r.id, s.message);
            }
        }
    }
    for (id, holder) in &running {
        outln!("  {:<9} {id}  ({})", "running", holder.describe());
    }
    Ok(if c.failed > 0 { exit::RUNS_FAILED } else { exit::OK })
}

fn summarize(dir: &Path) -> Result<u8> {
    let (sweep, plan) = open_results(dir)?;
    summary::write(dir, &plan, &Protocol::of(&sweep))?;
    outln!("{}", dir.join("summary.csv").display());
    Ok(exit::OK)
}

fn rerun(a: RerunArgs, test: &TestMode) -> Result<u8> {
    let (sweep, plan) = open_results(&a.dir)?;
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
                    file: a.dir.join("plan.csv"),
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
    if let Some(shard) = a.exec.shard {
        todo.retain(|&i| shard.contains(i));
    }
    if todo.is_empty() {
        if !a.exec.quiet {
            outln!(
                "nothing to rerun: no run of {} ({}) failed or is unfinished",
                sweep.name,
                runs_and_share(&plan, a.exec.shard)
            );
        }
        return Ok(exit::OK);
    }
    crate::exec::rundir::remove_temp_files(&a.dir)?;
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
    if !a.exec.quiet {
        outln!("rerunning {} of {}", count(todo.len(), "run"), sweep.name);
    }
    train_runs(&a.dir, &sweep, &plan, &prepared, &todo, &a.exec, test, true, false)
}

/// The data files of a stored sweep must still be where it says (`what` needs them).
fn check_stored_data(dir: &Path, sweep: &SweepFile, what: &str) -> Result<(), InputError> {
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
        .map(|(key, m)| crate::spec::Problem {
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

/// The configuration `pinniped refit` trains: the one named, else the best by mean validation
/// (the one the end-of-sweep line names).
fn refit_config(dir: &Path, plan: &Plan, wanted: Option<&str>) -> Result<usize, InputError> {
    Ok(match wanted {
        Some(id) => {
            let ids: Vec<&str> = plan.configs.iter().map(|c| c.id.as_str()).collect();
            plan.configs.iter().position(|c| c.id == id).ok_or_else(|| {
                InputError::one(
                    &dir.join("plan.csv"),
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

fn refit(a: RefitArgs, test: &TestMode) -> Result<u8> {
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
    crate::exec::rundir::create_dir_below(root, &refit_dir)?;
    crate::exec::rundir::remove_temp_files(&refit_dir)?;
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
    let opts =
        RunOptions { jobs: a.jobs.unwrap_or_else(default_jobs), retrain: a.force, fail_fast: false, quiet: a.quiet };
    let real = MlpTrainer { data: &prepared, faults: faults(test) };
    let fake = fake_trainer(test);
    let trainer: &dyn Trainer = match &fake {
        Some(f) => f,
        None => &real,
    };
    let lock_mode = crate::exec::claim::lock_mode(root)?;
    let dirs: Vec<std::path::PathBuf> = (0..runs).map(|i| plan_refit.dir(root, i)).collect();
    sweep::remove_stale_locks(root, dirs.iter().cloned(), lock_mode);
    let job = |i: usize| (dirs[i].clone(), plan_refit.specs[i].clone());
    sweep::train_pool(root, &todo, &job, trainer, &opts, lock_mode, &mut |i, status| match status {
        Some(status) => sweep::finished_line(&plan_refit.specs[i].id, status, &summary::read_run(&dirs[i])),
        None => format!("skipped   {}  (claimed or finished by another process)", plan_refit.specs[i].id),
    })?;
    let outcome = plan_refit.outcome(root);
    crate::exec::atomic::write_atomic(
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
    Ok(suspended_or(if outcome.failed > 0 { exit::RUNS_FAILED } else { exit::OK }))
}

fn slurm(a: SlurmArgs) -> Result<u8> {
    use crate::exec::slurm::{check_script_values, submit, write_scripts, SlurmOptions};
    let sweep = load_sweep(&a.file)?;
    let sweep = with_stored_pairing(&a.out.join(&sweep.name), sweep, false);
    let plan = expand(&sweep)?;
    // clap bounds the counts (at least 1); more tasks than runs would start empty tasks.
    let tasks = a.tasks.min(plan.runs.len());
    if tasks < a.tasks {
        outln!(
            "note: --tasks {} is more than the sweep's {}: writing {}, one run each",
            a.tasks,
            count(plan.runs.len(), "run"),
            count(tasks, "task")
        );
    }
    let opts = SlurmOptions {
        tasks,
        max_parallel: a.max_parallel,
        partition: a.partition,
        time: a.time,
        cpus_per_task: a.cpus_per_task,
        only_failed: a.only_failed,
        requeue: a.requeue.then_some(a.warn_seconds),
    };
    let root = a.out.join(&sweep.name);
    check_out_dir(&root)?;
    check_script_values(&opts, &[&a.file, &a.out])?;
    // Validate the data and lay out the results directory now, so that errors show
    // here rather than in N task logs, and `status` works while the array runs.
    let prepared = prepare(&sweep, &plan)?;
    sweep::check_compatible(&root, &sweep, prepared.digest())?;
    sweep::write_sweep_files(&root, &sweep, &plan, prepared.digest())?;
    summary::write(&root, &plan, &Protocol::of(&sweep))?;
    let scripts = write_scripts(&root, &sweep.name, &a.file, &a.out, &opts)?;
    outln!(
        "wrote {} ({} over {}) and {}",
        scripts.array.display(),
        count(tasks, "task"),
        count(plan.runs.len(), "run"),
        scripts.merge.display()
    );
    if a.submit {
        let (array, merge) = submit(&scripts)?;
        outln!("submitted array job {array} and merge job {merge} (after the array)");
        outln!("watch: squeue -j {array},{merge}   progress: pinniped status {}", root.display());
    } else {
        outln!(
            "submit with: j=$(sbatch --parsable {}) && sbatch --dependency=afterany:$j {}",
            scripts.array.display(),
            scripts.merge.display()
        );
    }
    Ok(exit::OK)
}

fn rank(a: RankArgs) -> Result<u8> {
    use crate::stats::ranks::PairTest;
    crate::report::rank::rank_cmd(crate::report::rank::RankOptions {
        dirs: a.dirs,
        metric: match a.metric {
            RankMetric::Test => "final_test_acc",
            RankMetric::Valid => "final_valid_acc",
        },
        published: a.reference,
        against: a.against,
        alpha: a.alpha,
        test: match a.test {
            RankTest::Wilcoxon => PairTest::Wilcoxon,
            RankTest::Nemenyi => PairTest::Nemenyi,
        },
        out: a.out,
    })?;
    Ok(exit::OK)
}

fn compare_cmd(a: CompareArgs) -> Result<u8> {
    let (x, y) = (compare::read_summary(&a.a)?, compare::read_summary(&a.b)?);
    let c = compare::compare(&x, &y, &a.metric, &a.ignore)?;
    let text = if a.csv {
        compare::render_csv(&c)
    } else if a.markdown {
        compare::render_markdown(&c)
    } else {
        compare::render_table(&c)
    };
    out!("{text}");
    Ok(exit::OK)
}

fn train(a: TrainArgs) -> Result<u8> {
    let (data, mut cfg, split) = match &a.file {
        Some(path) => {
            let rf = parse_run_file(path, &read_source(path)?)?;
            (rf.data, rf.train, rf.split)
        }
        None => (None, crate::spec::TrainConfig::default(), None),
    };
    let flag_path = Path::new("--flags");
    let mut data = match (data, &a.train) {
        (Some(mut d), Some(t)) => {
            d.train = t.clone();
            d
        }
        (Some(d), None) => d,
        (None, Some(t)) => crate::spec::DataConfig {
            train: t.clone(),
            test: None,
            format: None,
            class_attribute: None,
            reserve_every: None,
            reserve_fraction: None,
            length: None,
            series_length: None,
            missing: None,
            resample: None,
            folds: None,
            stratify: None,
        },
        (None, None) => {
            return Err(InputError::one(
                flag_path,
                None,
                Some("--train"),
                "no training data: give a FILE with a [data] table, or --train PATH",
            )
            .into())
        }
    };
    if let Some(t) = &a.test {
        data.test = Some(t.clone());
    }
    // Flags are relative to the working directory; what is stored must not be.
    data.train = std::path::absolute(&data.train).unwrap_or(data.train);
    data.test = data.test.map(|t| std::path::absolute(&t).unwrap_or(t));
    if a.reserve_every.is_some() || a.reserve_fraction.is_some() {
        data.reserve_every = a.reserve_every;
        data.reserve_fraction = a.reserve_fraction;
    }
    // Flags become (key, TOML value) overrides, applied like sweep axis values.
    let mut overrides: Vec<(String, toml::Value)> = Vec::new();
    let s = |v: &Option<String>| v.as_ref().map(|v| toml::Value::String(v.clone()));
    let f = |v: Option<f64>| v.map(toml::Value::Float);
    let i = |v: Option<usize>| v.map(|v| toml::Value::Integer(v as i64));
    let hidden = a.hidden.as_ref().map(|h| {
        // "" is a linear model; an empty piece elsewhere ("4,,4", "4,") is a typo, not a layer.
        if h.trim().is_empty() {
            return Ok(toml::Value::Array(Vec::new()));
        }
        let items: Result<Vec<toml::Value>, _> =
            h.split(',').map(str::trim).map(|x| x.parse::<i64>().map(toml::Value::Integer)).collect();
        items.map(toml::Value::Array)
    });
    let hidden = match hidden {
        Some(Err(_)) => {
            return Err(InputError::one(
                flag_path,
                None,
                Some("--hidden"),
                "give comma-separated widths, e.g. --hidden 64 or --hidden 32,32",
            )
            .into())
        }
        Some(Ok(v)) => Some(v),
        None => None,
    };
    for (key, value) in [
        ("hidden", hidden),
        ("activation", s(&a.activation)),
        ("learning_rate", f(a.learning_rate)),
        ("batch_size", i(a.batch_size)),
        ("momentum", f(a.momentum)),
        ("momentum_rule", s(&a.momentum_rule)),
        ("loss", s(&a.loss)),
        ("init", s(&a.init)),
        ("epochs", i(a.epochs)),
        ("dtype", s(&a.dtype)),
        ("seed", a.seed.map(|v| toml::Value::Integer(v as i64))),
        ("save_every", i(a.save_every)),
    ] {
        if let Some(v) = value {
            overrides.push((key.to_string(), v));
        }
    }
    for kv in &a.set {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(InputError::one(
                flag_path,
                None,
                Some("--set"),
                format!("`{}`: write KEY=VALUE, e.g. --set weight_decay=0.01", echo(kv)),
            )
            .into());
        };
        // One TOML value, else the text as a string ("relu"); never more keys smuggled in
        // after a newline ("1\nhidden = [4]").
        let value: toml::Value = format!("v = {v}")
            .parse::<toml::Table>()
            .ok()
            .filter(|t| t.len() == 1)
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(v.to_string()));
        overrides.push((k.trim().to_string(), value));
    }
    let mut problems = Vec::new();
    let known = crate::spec::TrainConfig::keys();
    for (key, value) in overrides {
        if !known.contains(&key) {
            let k: Vec<&str> = known.iter().map(String::as_str).collect();
            problems.push(crate::spec::Problem {
                file: flag_path.into(),
                line: None,
                key: Some(key.clone()),
                message: format!("unknown key{}", crate::spec::problems::suggest(&key, &k)),
            });
            continue;
        }
        match with_value(&cfg, &key, &value) {
            Ok(c) => cfg = c,
            Err(m) => {
                problems.push(crate::spec::Problem { file: flag_path.into(), line: None, key: Some(key), message: m })
            }
        }
    }
    if let Some(key) = cfg.needs_validation().filter(|_| !data.has_validation()) {
        problems.push(crate::spec::Problem {
            file: flag_path.into(),
            line: None,
            key: Some(key.into()),
            message: "needs a validation set: give --reserve-every or --reserve-fraction".into(),
        });
    }
    for (key, m) in cfg.problems().into_iter().chain(data.problems()) {
        problems.push(crate::spec::Problem { file: flag_path.into(), line: None, key: Some(key.into()), message: m });
    }
    if !problems.is_empty() {
        return Err(InputError(problems).into());
    }

    let prepared = Prepared::load(&data, &[Pipeline::of(&cfg)])?;
    prepared.check_memory(a.file.as_deref().unwrap_or(flag_path), &data, [(String::new(), &cfg)])?;
    check_folds(a.file.as_deref().unwrap_or(flag_path), &data, prepared.dataset.train.rows)?;
    let dir = &a.out;
    // Never empty a directory the user typed: only an earlier train output is replaced.
    crate::exec::rundir::check_train_out(dir).map_err(|why| InputError::one(dir, None, Some("--out"), why))?;
    crate::exec::rundir::reset(dir, dir).with_context(|| format!("cannot prepare {}", dir.display()))?;
    crate::exec::atomic::write_atomic(
        &dir.join(crate::exec::rundir::TRAIN_MARKER),
        crate::exec::rundir::TRAIN_MARKER_TEXT.as_bytes(),
    )?;
    let split = split.unwrap_or(crate::spec::Split::own(cfg.seed));
    let spec = RunSpec::new("train".into(), cfg.seed, split, cfg.clone(), data, &prepared.digest);
    let quiet = a.quiet;
    let mut progress = |epoch: usize, valid: Option<f64>| {
        if !quiet && (epoch.is_multiple_of(16) || epoch == cfg.epochs) {
            errln!("epoch {epoch:>4}/{}  valid acc {}", cfg.epochs, valid.map_or("-".into(), |v| format!("{v:.4}")));
        }
    };
    let status = MlpTrainer::new(&prepared).train(&spec, dir, &mut progress)?;
    let rec = summary::read_run(dir);
    let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
    outln!(
        "{}: {} after {} epochs in {:.2}s  train acc {}  valid acc {}  test acc {}",
        dir.display(),
        status.state.word(),
        status.epoch,
        status.seconds,
        f(rec.final_accs[0]),
        f(rec.final_accs[1]),
        f(rec.final_accs[2])
    );
    if !status.message.is_empty() {
        outln!("{}", status.message);
    }
    Ok(exit::OK)
}

fn eval(a: EvalArgs) -> Result<u8> {
    if let Some(path) = &a.confusion {
        check_output_file(path, "--confusion")?;
    }
    let ckpt = checkpoint::load(&a.model).map_err(|e| InputError::message(format!("{e:#}")))?;
    let meta = &ckpt.meta;
    let cfg: crate::spec::TrainConfig = toml::from_str(&meta.config)
        .map_err(|e| InputError::one(&a.model, None, None, format!("the checkpoint's config does not parse: {e}")))?;
    let format = match a.format.as_deref() {
        Some(f) => {
            Some(f.parse::<crate::data::Format>().map_err(|e| InputError::one(&a.data, None, None, e.to_string()))?)
        }
        None => None,
    };
    // The training file's policies, fitting to the length its series were brought to.
    let split = crate::data::load_with_classes(&a.data, format, None, &meta.series, &meta.classes, meta.raw_cols)
        .map_err(|e| {
            InputError::message(format!(
                "{e}; the model was trained on series of {} values and {}",
                meta.raw_cols,
                count(meta.classes.len(), "class")
            ))
        })?;
    let mut x = Pipeline::of(&cfg)
        .apply(split.x, meta.raw_cols, meta.channels())
        .map_err(|e| InputError::one(&a.model, None, None, e.to_string()))?;
    let inputs = ckpt.mlp.dims()[0];
    if let Some((mean, std)) = &ckpt.standardization {
        crate::features::spectral::standardize_apply(&mut x, inputs, mean, std);
    }
    let predicted = match &ckpt.mlp {
        AnyMlp::F32(m) => predict(m, &x, split.rows)?,
        AnyMlp::F64(m) => predict(m, &x, split.rows)?,
    };
    let classes = meta.classes.len();
    let m = crate::train::diagnostics::confusion(&split.y, &predicted, classes);
    let hits: u32 = (0..classes).map(|c| m[c * classes + c]).sum();
    let acc = hits as f64 / split.rows as f64;
    // Results are labelled by their data file: eval runs on any file, not only a test set.
    let label = a.data.file_name().map_or_else(|| echo_path(&a.data), |n| echo(&n.to_string_lossy()));
    if a.csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["accuracy", "hits", "rows", "data"])?;
        w.write_record([acc.to_string(), hits.to_string(), split.rows.to_string(), a.data.display().to_string()])?;
        out!("{}", String::from_utf8_lossy(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?));
    } else {
        outln!("{label}: {hits}/{} correct, accuracy {acc}", split.rows);
        out!("{}", sparse_confusion(&m, &meta.classes));
    }
    if let Some(path) = &a.confusion {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(std::iter::once("actual").chain(meta.classes.iter().map(String::as_str)))?;
        for (r, row) in m.chunks_exact(classes).enumerate() {
            w.write_record(std::iter::once(meta.classes[r].clone()).chain(row.iter().map(u32::to_string)))?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::exec::atomic::write_atomic(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(exit::OK)
}

fn predict<T: Real>(mlp: &Mlp<T>, x: &[f64], rows: usize) -> Result<Vec<usize>> {
    let x: Vec<T> = x.iter().map(|&v| T::of(v)).collect();
    let mut ws = crate::train::Workspace::try_new(mlp, rows)?;
    Ok(argmax_rows(ws.forward(mlp, &x, rows), mlp.classes()).collect())
}

/// A file the user names for pinniped to write: a regular file or a new one in an
/// existing directory (checked before any work, so a typo costs nothing).
fn check_output_file(path: &Path, flag: &str) -> Result<(), InputError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let why = if path.exists() && !path.is_file() {
        "exists and is not a regular file: give a file name"
    } else if path.is_file() && !is_confusion_csv(path) {
        // Never overwrite what pinniped did not write: only an earlier matrix is replaced.
        "exists and is not an earlier --confusion matrix: give a new file name (it is not overwritten)"
    } else if !parent.is_dir() {
        "its directory does not exist: create it or give another path"
    } else {
        return Ok(());
    };
    Err(InputError::one(path, None, Some(flag), why))
}

/// Whether `path` starts like the matrix `eval --confusion` writes (`actual,<class>,…`).
fn is_confusion_csv(path: &Path) -> bool {
    let Ok(file) = crate::fsx::open_regular(path) else { return false };
    let mut first = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(file, 8), &mut first);
    first.starts_with(b"actual,")
}

/// The paper's §2.3 layout: zeros blank, hits `+n`, misses `-n`; rows are the
/// actual classes, columns the predicted ones, both labelled.
pub fn sparse_confusion(m: &[u32], labels: &[String]) -> String {
    let classes = labels.len();
    let labels: Vec<String> = labels.iter().map(|l| echo(l)).collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let digits = m.iter().max().map_or(1, |v| v.to_string().len());
    let cell = (digits + 1).max(label_width);
    let mut s = format!("{:>label_width$} |", "");
    for l in &labels {
        s.push_str(&format!("{l:>cell$}|"));
    }
    s.push_str("  (rows: actual class, columns: predicted)\n");
    for r in 0..classes {
        s.push_str(&format!("{:>label_width$} |", labels[r]));
        for c in 0..classes {
            let v = m[r * classes + c];
            if v == 0 {
                s.push_str(&" ".repeat(cell));
            } else {
                let sign = if r == c { '+' } else { '-' };
                s.push_str(&format!("{sign}{v:>w$}", w = cell - 1));
            }
            s.push('|');
        }
        s.push('\n');
    }
    s
}
