//! Running a sweep: the results directory, resume, the worker pool and the reporter.
//!
//! Layout of `<out>/<name>/`: `sweep.toml` (the resolved sweep), `data.sha256`,
//! `plan.csv`, `runs/<run id>/…` and `summary.csv`.

use super::atomic::write_atomic;
use super::claim;
use super::events::{Event, EventsOut, Progress, Recorder};
use super::rundir::{self, read_status, write_status, State, Status};
use super::trainer::{RunSpec, Trainer};
use super::{ExecError, RunError};
use crate::report::comparisons::Protocol;
use crate::report::summary::{Records, RunRecord};
use crate::results::data_digest;
use crate::spec::schema::{RESULTS_SCHEMA, SCHEMA_KEY};
use crate::spec::{InputError, Pairing, Plan, Problem, SweepFile};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use crate::results::layout::{
    check_no_symlinked_files, check_no_symlinks, check_paths, run_dir, DATA_DIGEST_FILE, ROOT_FILES, SWEEP_FILE,
};

#[derive(Clone, Debug, Default)]
pub(crate) struct RunOptions {
    pub jobs: usize,
    /// Train the given runs even if they have a status (rerun, --force).
    pub retrain: bool,
    pub(crate) fail_fast: bool,
    pub(crate) quiet: bool,
    /// Where the events are logged (`events.jsonl`; stdout with `--message-format json`):
    /// [`execute`] fills it in for a sweep.
    pub events: EventsOut,
    /// This process's shard `(K, N)`, recorded in the `plan` event.
    pub shard: Option<(usize, usize)>,
    /// Successive halving: the runs stop at this epoch (their rung), state saved.
    pub pause_at: Option<usize>,
    /// Successive halving: the rungs' epochs (a run continuing from one says nothing).
    pub rung_epochs: Vec<usize>,
}

/// How a batch of runs went.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Counts {
    pub done: usize,
    pub diverged: usize,
    pub failed: usize,
    /// Not started because `--fail-fast` stopped the sweep.
    pub skipped: usize,
    /// Left alone: another process held or had finished them.
    pub elsewhere: usize,
    /// Stopped by SIGUSR1 with their training state saved (see `output::EXIT_SUSPENDED`).
    pub(crate) suspended: usize,
    /// Stopped at their rung (successive halving) with their training state saved.
    pub(crate) paused: usize,
    /// Pruned by successive halving (whole-plan counts only).
    pub(crate) pruned: usize,
}

/// The resolved sweep as TOML: defaults filled in, so the directory documents
/// exactly what ran, and `summarize`/`rerun` can rebuild the plan from it.
pub(crate) fn resolved_toml(sweep: &SweepFile) -> String {
    use toml::{Table, Value};
    let mut doc = Table::new();
    doc.insert(SCHEMA_KEY.into(), Value::Integer(RESULTS_SCHEMA.into()));
    doc.insert("name".into(), Value::String(sweep.name.clone()));
    doc.insert("seed".into(), Value::Integer(sweep.seed as i64));
    doc.insert("repeats".into(), Value::Integer(sweep.repeats as i64));
    doc.insert("pairing".into(), Value::String(sweep.pairing.word().into()));
    if sweep.datasets.is_empty() {
        doc.insert("data".into(), Value::try_from(&sweep.data).expect("serialises"));
    } else {
        let (shared, entries) = crate::spec::datasets::stored_tables(&sweep.datasets);
        doc.insert("data".into(), Value::Table(shared));
        doc.insert("datasets".into(), Value::Array(entries));
    }
    let mut train = match Value::try_from(&sweep.baseline) {
        Ok(Value::Table(t)) => t,
        _ => unreachable!(),
    };
    train.remove("seed");
    doc.insert("train".into(), Value::Table(train));
    // A grid or one-at-a-time design without `zip` is stored as before (its axes, the design
    // named); every other design as written, which parses back to the same points.
    let axes = match &sweep.space.stated {
        Some(stated) => stated.clone(),
        None => {
            let mut axes = Table::new();
            axes.insert("design".into(), Value::String(sweep.design.word().into()));
            for a in &sweep.axes {
                axes.insert(a.key.clone(), Value::Array(a.values.clone()));
            }
            axes
        }
    };
    let mut axes = axes;
    if let Some(prune) = &sweep.prune {
        axes.insert("prune".into(), Value::Table(prune.to_table()));
    }
    doc.insert("sweep".into(), Value::Table(axes));
    format!(
        "# The resolved sweep (defaults filled in), written by pinniped from {}\n{}",
        std::path::absolute(&sweep.path).unwrap_or_else(|_| sweep.path.clone()).display(),
        toml::to_string(&doc).expect("serialises")
    )
}

/// Refuses to reuse a results directory whose runs were made with another seed,
/// data or baseline: their results would silently mix with the new ones.
pub(crate) fn check_compatible(root: &Path, sweep: &SweepFile, digest: &str) -> Result<(), InputError> {
    check_no_symlinked_files(root)?;
    let stored_path = root.join(SWEEP_FILE);
    let source = match crate::fsx::read_text(&stored_path, crate::fsx::MAX_TEXT_BYTES) {
        Ok(source) => source,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        // Unreadable is not absent: the runs beside it may be another sweep's.
        Err(e) => {
            return Err(InputError::one(
                &stored_path,
                None,
                None,
                format!(
                    "cannot read pinniped's stored sweep ({e}); pass --force to replace it and retrain what changed"
                ),
            ))
        }
    };
    let old = crate::spec::parse_stored_sweep(&stored_path, &source)?;
    let mut changes = Vec::new();
    if old.seed != sweep.seed {
        changes.push(format!("seed {} → {}", old.seed, sweep.seed));
    }
    // A sweep that does not say `pairing` has adopted the directory's (`adopt_pairing`).
    if old.pairing != sweep.pairing {
        changes.push(format!("pairing \"{}\" → \"{}\"", old.pairing.word(), sweep.pairing.word()));
    }
    // Data is compared by its bytes (the digest below), so data that moved resumes;
    // without a stored digest (an old directory) the paths are all there is.
    let old_digest = data_digest::read(root);
    let same = |a: &crate::spec::DataConfig, b: &crate::spec::DataConfig| match &old_digest {
        Some(_) => a.without_paths() == b.without_paths(),
        None => a == b,
    };
    match (old.datasets.is_empty(), sweep.datasets.is_empty()) {
        (true, true) if !same(&old.data, &sweep.data) => changes.push("the [data] table".to_string()),
        (true, true) => {}
        (false, false) => {
            // A dataset added (or left out) changes nothing of the others': only the common ones must agree.
            for d in &sweep.datasets {
                if let Some(o) = old.datasets.iter().find(|o| o.name == d.name) {
                    if !same(&o.data, &d.data) {
                        changes.push(format!("the data options of dataset {}", d.name));
                    }
                }
            }
        }
        _ => changes.push("[data] → [datasets] (one dataset or several)".to_string()),
    }
    let (Ok(toml::Value::Table(a)), Ok(toml::Value::Table(b))) =
        (toml::Value::try_from(&old.baseline), toml::Value::try_from(&sweep.baseline))
    else {
        unreachable!()
    };
    for (k, v) in &b {
        if a.get(k) != Some(v) {
            changes.push(format!("train.{k} {} → {v}", a.get(k).map_or("(unset)".into(), |x| x.to_string())));
        }
    }
    // Decisions already taken (and runs pruned) hold only under the table that took them.
    if old.prune != sweep.prune {
        let word = |p: &Option<crate::spec::prune::Prune>| {
            p.as_ref().map_or("none".to_string(), |p| toml::Value::Table(p.to_table()).to_string())
        };
        changes.push(format!("[sweep.prune] {} → {}", word(&old.prune), word(&sweep.prune)));
    }
    if let Err(change) = check_data_digest(root, digest) {
        changes.push(change);
    }
    if let Some(why) = sweep.space.extension_problem(&old.space) {
        return Err(InputError::one(&sweep.path, None, Some("sweep.samples"), why));
    }
    if changes.is_empty() {
        return Ok(());
    }
    Err(InputError(vec![Problem {
        file: sweep.path.clone(),
        line: None,
        key: None,
        message: format!(
            "{} holds results of a different sweep ({}); finished runs would no longer match. \
             Use another `name` or `--out`, or pass --force to retrain the affected runs",
            root.display(),
            changes.join(", ")
        ),
    }]))
}

/// A sweep file that does not say `pairing` resumes a results directory with the scheme its
/// runs were made with (a stored sweep without the key: `none`), never a mix. Returns the
/// scheme taken from the directory when it differs from the file's default.
pub(crate) fn adopt_pairing(root: &Path, sweep: &mut SweepFile) -> Option<Pairing> {
    if sweep.pairing_stated || check_no_symlinked_files(root).is_err() {
        return None;
    }
    let path = root.join(SWEEP_FILE);
    // Unreadable or invalid: `check_compatible` reports it.
    let source = crate::fsx::read_text(&path, crate::fsx::MAX_TEXT_BYTES).ok()?;
    let stored = crate::spec::parse_stored_sweep(&path, &source).ok()?.pairing;
    let default = sweep.pairing;
    sweep.pairing = stored;
    (stored != default).then_some(stored)
}

/// Whether the data read now has the bytes the directory's runs were trained on
/// (`Err`: what changed). A directory without a stored digest has nothing to compare.
pub(crate) fn check_data_digest(root: &Path, digest: &str) -> Result<(), String> {
    let Some(old) = data_digest::read(root) else { return Ok(()) };
    let (old_sets, new_sets) = (data_digest::per_dataset(&old), data_digest::per_dataset(digest));
    if old_sets.is_empty() || new_sets.is_empty() {
        return if old.trim() != digest { Err("the contents of the data files".to_string()) } else { Ok(()) };
    }
    // Per dataset: adding one leaves the others' runs as they are.
    let changed: Vec<&str> = new_sets
        .iter()
        .filter(|(name, d)| old_sets.iter().any(|(n, o)| n == name && o != d))
        .map(|(name, _)| *name)
        .collect();
    if changed.is_empty() {
        Ok(())
    } else {
        Err(format!("the contents of the data files of {}", changed.join(", ")))
    }
}

/// The digest of the data run `index` trains on: its dataset's in a multi-dataset sweep.
fn run_digest<'d>(plan: &Plan, index: usize, digest: &'d str) -> &'d str {
    match plan.dataset_of(plan.runs[index].config) {
        Some(name) => data_digest::per_dataset(digest).into_iter().find(|(n, _)| *n == name).map_or(digest, |(_, d)| d),
        None => digest,
    }
}

/// A process killed between writing a run's `status.json` and removing its lock file
/// leaves the lock of a finished run, which nobody claims again: claim it (only if no
/// live process holds it) and let the claim's drop remove it.
pub(crate) fn remove_stale_locks(root: &Path, dirs: impl IntoIterator<Item = PathBuf>, mode: claim::LockMode) {
    for dir in dirs {
        if claim::lock_path(&dir).is_file() && read_status(&dir).is_some() {
            let _ = claim::try_claim(root, &dir, mode);
        }
    }
}

/// Writes the sweep-level files (resolved sweep, data digest, plan). A symlink where pinniped
/// writes or a bad `PINNIPED_LOCK` is an [`ExecError::Input`], found before anything is written.
pub(crate) fn write_sweep_files(root: &Path, sweep: &SweepFile, plan: &Plan, digest: &str) -> Result<(), ExecError> {
    check_no_symlinks(root, plan)?;
    claim::lock_setting()?;
    std::fs::create_dir_all(root.join(crate::results::layout::RUNS_DIR))
        .with_context(|| format!("cannot create {}", root.display()))?;
    write_atomic(&root.join(SWEEP_FILE), resolved_toml(sweep).as_bytes())?;
    data_digest::write(root, digest)?;
    crate::results::plan::write(root, plan)?;
    Ok(())
}

/// What a large sweep leaves out because `[train]` does not say (printed when it starts).
pub(crate) fn artifacts_note(plan: &Plan) -> Option<String> {
    let runs = plan.runs.len();
    let train = &plan.configs.first()?.train;
    let unset: Vec<&str> = [
        ("plots", train.outputs.plots),
        ("diagnostics", train.outputs.diagnostics),
        ("checkpoints", train.outputs.checkpoints),
    ]
    .into_iter()
    .filter(|(_, switch)| switch.is_none())
    .map(|(key, _)| key)
    .collect();
    (!crate::spec::Artifacts::default_for(runs) && !unset.is_empty()).then(|| {
        format!(
            "note: {runs} runs (more than {}): each run keeps metrics.csv and predictions.npz but not its {} \
             (set them to true in [train] to keep them; any run retrains alone with them, see the README, \
             \"Which files a run keeps\")",
            crate::spec::config::FULL_ARTIFACTS_MAX_RUNS,
            unset.join(", ")
        )
    })
}

/// Run `index`'s spec; the artifact switches left unset are decided by the sweep's size.
pub(crate) fn spec_for(sweep: &SweepFile, plan: &Plan, index: usize, digest: &str) -> RunSpec {
    let run = &plan.runs[index];
    let dataset = plan.configs[run.config].dataset;
    let data = dataset.map_or(&sweep.data, |d| &sweep.datasets[d].data);
    let mut spec = RunSpec::new(
        run.id.clone(),
        run.seed,
        run.split(),
        plan.configs[run.config].train.clone().resolve_artifacts(plan.runs.len()),
        data.clone(),
        run_digest(plan, index, digest),
    );
    spec.dataset = dataset;
    spec
}

/// Which runs need training: unfinished ones, and (with `force`) finished ones whose
/// configuration no longer matches. Failed runs count as finished: `rerun --failed`
/// retries them.
pub fn pending(root: &Path, sweep: &SweepFile, plan: &Plan, digest: &str, force: bool) -> Vec<usize> {
    plan.runs
        .iter()
        .filter(|r| match read_status(&run_dir(root, &r.id)) {
            None => true,
            Some(s) => force && s.config_hash != spec_for(sweep, plan, r.index, digest).config_hash,
        })
        .map(|r| r.index)
        .collect()
}

/// Trains the runs `todo` (plan indices) on a pool of `opts.jobs` threads, one run
/// per thread, and rewrites `summary.csv` after every finished run. Returns this
/// invocation's counts and the records of every planned run, as on disk at the end.
pub(crate) fn execute(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    digest: &str,
    todo: &[usize],
    trainer: &dyn Trainer,
    opts: &RunOptions,
) -> Result<(Counts, Records), ExecError> {
    check_no_symlinks(root, plan)?;
    let lock_mode = claim::lock_mode(root)?;
    remove_stale_locks(root, plan.runs.iter().map(|r| run_dir(root, &r.id)), lock_mode);
    // Read every run once; afterwards only the run that just finished is re-read.
    let mut records = Records::read(root, plan);
    let protocol = Protocol::of(sweep);
    // A dataset's runs one after another (plan order): its data is loaded only while they run.
    let mut todo = todo.to_vec();
    if !plan.datasets.is_empty() {
        todo.sort_unstable();
    }
    let todo = &todo[..];
    let opts = &RunOptions {
        events: EventsOut {
            // An invocation with nothing to train leaves the log as it was.
            log_in: (!todo.is_empty()).then(|| root.to_path_buf()),
            plan: Some(crate::results::events::Event::Plan {
                sweep: sweep.name.clone(),
                runs: plan.runs.len(),
                configurations: plan.configs.len(),
                shard: opts.shard.map(|(k, n)| format!("{k}/{n}")),
                todo: todo.len(),
            }),
        },
        ..opts.clone()
    };
    let job = |index: usize| {
        let mut spec = spec_for(sweep, plan, index, digest);
        spec.pause_at = opts.pause_at;
        spec.rung_epochs = opts.rung_epochs.clone();
        (run_dir(root, &plan.runs[index].id), spec)
    };
    let mut counts = train_pool(root, todo, &job, trainer, opts, lock_mode, &mut |index, status| match status {
        None => {
            records.reread(root, plan, index);
            format!("skipped   {}  (claimed or finished by another process)", plan.runs[index].id)
        }
        Some(status) => {
            let line = finished_line(&plan.runs[index].id, status, records.reread(root, plan, index));
            if let Err(e) = records.write(root, plan, &protocol) {
                errln!("warning: could not update the summary: {e:#}");
            }
            line
        }
    })?;
    // Other processes (shards, a second `run` on the same directory) may have finished
    // runs meanwhile: re-read every run not known to be finished, so that the final
    // summary equals what `summarize` rebuilds from disk. Finished runs are trusted.
    records.refresh_unfinished(root, plan);
    if let Err(e) = records.write(root, plan, &protocol) {
        errln!("warning: could not update the summary: {e:#}");
    }
    counts.skipped = todo.len()
        - counts.done
        - counts.diverged
        - counts.failed
        - counts.elsewhere
        - counts.suspended
        - counts.paused;
    Ok((counts, records))
}

/// Where run `index` of a batch trains, and what: its directory and spec.
pub type Job<'a> = dyn Fn(usize) -> (PathBuf, RunSpec) + Sync + 'a;

/// The worker pool shared by sweeps and refits: trains the runs `todo` (indices given to
/// `job`) on `opts.jobs` threads, each claimed first (a run another process holds or has
/// finished meanwhile is left to it) and written from a clean directory. `ended` runs on
/// the reporting thread as each run ends (`None`: left to another process) and returns the
/// line to print. The counts' `skipped` is left to the caller.
pub(crate) fn train_pool(
    root: &Path,
    todo: &[usize],
    job: &Job<'_>,
    trainer: &dyn Trainer,
    opts: &RunOptions,
    lock_mode: claim::LockMode,
    ended: &mut dyn FnMut(usize, Option<&Status>) -> String,
) -> Result<Counts, ExecError> {
    let jobs = opts.jobs.max(1).min(todo.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(anyhow::Error::from)?;
    let (tx, rx) = crossbeam_channel::unbounded::<Event>();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut counts = Counts::default();
    let mut progress = Progress::new(todo.len(), opts.quiet);
    let mut recorder = Recorder::new(&opts.events);

    std::thread::scope(|scope| {
        scope.spawn(|| {
            // Training inside a run (rayon) stays on this pool's `jobs` threads.
            pool.scope(|s| {
                for _ in 0..jobs {
                    let tx = tx.clone();
                    let (next, stop) = (&next, &stop);
                    s.spawn(move |_| loop {
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        // After SIGUSR1 no run starts: the job is about to be requeued.
                        if k >= todo.len() || stop.load(Ordering::SeqCst) || crate::output::suspend_requested() {
                            break;
                        }
                        let index = todo[k];
                        let (dir, spec) = job(index);
                        // Another process may hold this run, or have finished it since
                        // the caller looked: then it is not ours to train.
                        let claim = match claim::try_claim(root, &dir, lock_mode) {
                            Ok(Some(c)) if read_status(&dir).is_none() || opts.retrain => Some(c),
                            Ok(_) => {
                                let _ = tx.send(Event::Skipped { run: index, id: spec.id.clone() });
                                continue;
                            }
                            Err(e) => {
                                // Not written into the directory: it may not be ours to write.
                                let _ = tx.send(Event::Started {
                                    run: index,
                                    id: spec.id.clone(),
                                    epochs: spec.train.schedule.epochs,
                                });
                                let status = unwritten_failure(&spec, &e);
                                let _ = tx.send(Event::Finished { run: index, status });
                                continue;
                            }
                        };
                        let _ = tx.send(Event::Started {
                            run: index,
                            id: spec.id.clone(),
                            epochs: spec.train.schedule.epochs,
                        });
                        let status = match run_one(root, &dir, &spec, index, trainer, &tx) {
                            Ended::Finished(status) => status,
                            Ended::Suspended => {
                                let line = format!("suspended {}  (state saved; the same command resumes it)", spec.id);
                                let _ = tx.send(Event::Suspended { run: index, line, paused: None });
                                continue;
                            }
                            Ended::Paused(epoch) => {
                                let line = format!("at rung   {}  (epoch {epoch}, state saved)", spec.id);
                                let _ = tx.send(Event::Suspended { run: index, line, paused: Some(epoch) });
                                continue;
                            }
                        };
                        if status.state == State::Failed && opts.fail_fast {
                            stop.store(true, Ordering::SeqCst);
                        }
                        let _ = tx.send(Event::Finished { run: index, status });
                        drop(claim);
                    });
                }
            });
            drop(tx);
        });

        for event in rx {
            recorder.record(&event);
            match event {
                Event::Started { run, id, epochs } => progress.started(run, &id, epochs),
                Event::Epoch { run, metrics } => progress.epoch(run, &metrics),
                Event::Suspended { run, line, paused } => {
                    if paused.is_some() {
                        counts.paused += 1;
                    } else {
                        counts.suspended += 1;
                    }
                    progress.finished(run, &line);
                }
                Event::Skipped { run, .. } => {
                    counts.elsewhere += 1;
                    let line = ended(run, None);
                    progress.finished(run, &line);
                }
                Event::Finished { run, status } => {
                    match status.state {
                        State::Done => counts.done += 1,
                        State::Diverged => counts.diverged += 1,
                        State::Failed => counts.failed += 1,
                        State::Pruned => counts.pruned += 1,
                    }
                    let line = ended(run, Some(&status));
                    progress.finished(run, &line);
                }
            }
        }
    });
    progress.finish();
    Ok(counts)
}

pub(crate) fn finished_line(id: &str, status: &Status, record: &RunRecord) -> String {
    match status.state {
        State::Done => {
            let last = record.final_accs;
            let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
            format!(
                "done      {id}  train {}  valid {}  test {}  ({:.1}s)",
                f(last.train),
                f(last.valid),
                f(last.test),
                status.seconds
            )
        }
        State::Diverged => format!("diverged  {id}  {}", status.message),
        State::Failed => format!("FAILED    {id}  {}", status.message),
        State::Pruned => format!("pruned    {id}  {}", status.message),
    }
}

/// How [`run_one`] left a run.
enum Ended {
    Finished(Status),
    /// Stopped by SIGUSR1 with its state saved, and no status.
    Suspended,
    /// At its rung (this epoch) with its state saved, and no status.
    Paused(usize),
}

/// One run from a clean directory, or from the training state a killed run left (its files
/// are then kept: the resumed run rewrites them to the same bytes); never panics, never
/// returns an error: whatever goes wrong becomes a `failed` status with the reason.
fn run_one(
    root: &Path,
    dir: &Path,
    spec: &RunSpec,
    index: usize,
    trainer: &dyn Trainer,
    tx: &crossbeam_channel::Sender<Event>,
) -> Ended {
    let mut progress = |metrics: &crate::train::EpochMetrics| {
        let _ = tx.send(Event::Epoch { run: index, metrics: metrics.clone() });
    };
    // A killed run (no status) with a saved state resumes in place; anything else starts clean.
    let resumable = std::fs::symlink_metadata(dir.join(rundir::STATE_FILE)).is_ok() && read_status(dir).is_none();
    let prepare = || if resumable { rundir::check_no_symlink_below(root, dir) } else { rundir::reset(root, dir) };
    let outcome = match prepare().with_context(|| format!("cannot prepare {}", dir.display())) {
        Err(e) => Err(RunError::Failed(e)),
        Ok(()) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| trainer.train(spec, dir, &mut progress)))
            .unwrap_or_else(|p| {
                // A panic's payload is `dyn Any`: its message is a String or a &str.
                let what =
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                Err(RunError::Failed(anyhow::anyhow!("internal error (panic): {}", what.unwrap_or_default())))
            }),
    };
    match outcome {
        Ok(status) => Ended::Finished(status),
        Err(RunError::Suspended(_)) => Ended::Suspended,
        Err(RunError::Paused(epoch)) => Ended::Paused(epoch),
        Err(RunError::Failed(e)) => Ended::Finished(failed_status(root, dir, spec, format!("{e:#}"))),
    }
}

/// A run that could not even be claimed (a symlink, an unlockable filesystem): it
/// counts as failed in this invocation but stays unfinished on disk.
fn unwritten_failure(spec: &RunSpec, e: &std::io::Error) -> Status {
    Status {
        state: State::Failed,
        message: format!("cannot claim the run: {e}"),
        epoch: 0,
        seconds: 0.0,
        config_hash: spec.config_hash.clone(),
        selected: None,
    }
}

/// Records a failure. Best effort: if even this cannot be written, the run stays
/// unfinished, which resume treats the same way.
fn failed_status(root: &Path, dir: &Path, spec: &RunSpec, message: String) -> Status {
    let status = Status {
        state: State::Failed,
        message,
        epoch: 0,
        seconds: 0.0,
        config_hash: spec.config_hash.clone(),
        selected: None,
    };
    if rundir::check_no_symlink_below(root, dir).is_ok() {
        let _ = write_status(dir, &status);
    }
    status
}
