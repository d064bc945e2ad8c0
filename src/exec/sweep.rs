//! Running a sweep: the results directory, resume, the worker pool and the reporter.
//!
//! Layout of `<out>/<name>/`: `sweep.toml` (the resolved sweep), `data.sha256`,
//! `plan.csv`, `runs/<run id>/…` and `summary.csv`.

use super::atomic::write_atomic;
use super::claim;
use super::events::{Event, Progress};
use super::rundir::{self, read_status, write_status, State, Status};
use super::trainer::{RunSpec, Trainer};
use crate::report::summary;
use crate::spec::{InputError, Plan, Problem, SweepFile};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub const SWEEP_FILE: &str = "sweep.toml";
pub const DATA_DIGEST_FILE: &str = "data.sha256";

#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub jobs: usize,
    /// Train the given runs even if they have a status (rerun, --force).
    pub retrain: bool,
    pub fail_fast: bool,
    pub quiet: bool,
}

/// How a batch of runs went.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    pub done: usize,
    pub diverged: usize,
    pub failed: usize,
    /// Not started because `--fail-fast` stopped the sweep.
    pub skipped: usize,
    /// Left alone: another process held or had finished them.
    pub elsewhere: usize,
}

pub fn run_dir(root: &Path, run_id: &str) -> PathBuf {
    root.join("runs").join(run_id)
}

/// The resolved sweep as TOML: defaults filled in, so the directory documents
/// exactly what ran, and `summarize`/`rerun` can rebuild the plan from it.
pub fn resolved_toml(sweep: &SweepFile) -> String {
    use toml::{Table, Value};
    let mut doc = Table::new();
    doc.insert("name".into(), Value::String(sweep.name.clone()));
    doc.insert("seed".into(), Value::Integer(sweep.seed as i64));
    doc.insert("repeats".into(), Value::Integer(sweep.repeats as i64));
    doc.insert("data".into(), Value::try_from(&sweep.data).expect("serialises"));
    let mut train = match Value::try_from(&sweep.baseline) {
        Ok(Value::Table(t)) => t,
        _ => unreachable!(),
    };
    train.remove("seed");
    doc.insert("train".into(), Value::Table(train));
    let mut axes = Table::new();
    axes.insert("design".into(), Value::String(sweep.design.word().into()));
    for a in &sweep.axes {
        axes.insert(a.key.clone(), Value::Array(a.values.clone()));
    }
    doc.insert("sweep".into(), Value::Table(axes));
    format!(
        "# The resolved sweep (defaults filled in), written by pinniped from {}\n{}",
        sweep.path.display(),
        toml::to_string(&doc).expect("serialises")
    )
}

/// Refuses to reuse a results directory whose runs were made with another seed,
/// data or baseline: their results would silently mix with the new ones.
pub fn check_compatible(root: &Path, sweep: &SweepFile, digest: &str) -> Result<(), InputError> {
    let stored_path = root.join(SWEEP_FILE);
    let Ok(source) = crate::fsx::read_text(&stored_path, crate::fsx::MAX_TEXT_BYTES) else { return Ok(()) };
    let old = crate::spec::parse_sweep(&stored_path, &source)?;
    let mut changes = Vec::new();
    if old.seed != sweep.seed {
        changes.push(format!("seed {} → {}", old.seed, sweep.seed));
    }
    if old.data != sweep.data {
        changes.push("the [data] table".to_string());
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
    if let Ok(old_digest) = crate::fsx::read_text(&root.join(DATA_DIGEST_FILE), crate::fsx::MAX_TEXT_BYTES) {
        if old_digest.trim() != digest {
            changes.push("the contents of the data files".to_string());
        }
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

/// Writes the sweep-level files (resolved sweep, data digest, plan).
pub fn write_sweep_files(root: &Path, sweep: &SweepFile, plan: &Plan, digest: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(root.join("runs")).with_context(|| format!("cannot create {}", root.display()))?;
    write_atomic(&root.join(SWEEP_FILE), resolved_toml(sweep).as_bytes())?;
    write_atomic(&root.join(DATA_DIGEST_FILE), format!("{digest}\n").as_bytes())?;
    // Ids contain commas (`batch_size=40,momentum=0.5/rep-1`): quote properly.
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["index".to_string(), "id".into(), "config".into(), "repeat".into(), "seed".into()];
    header.extend(plan.axes.iter().cloned());
    w.write_record(&header)?;
    for r in &plan.runs {
        let mut row = vec![
            r.index.to_string(),
            r.id.clone(),
            plan.configs[r.config].id.clone(),
            r.repeat.to_string(),
            r.seed.to_string(),
        ];
        row.extend(plan.configs[r.config].axis_values.iter().cloned());
        w.write_record(&row)?;
    }
    let s = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    write_atomic(&root.join("plan.csv"), &s)?;
    Ok(())
}

pub fn spec_for(sweep: &SweepFile, plan: &Plan, index: usize, digest: &str) -> RunSpec {
    let run = &plan.runs[index];
    RunSpec::new(run.id.clone(), run.seed, plan.configs[run.config].train.clone(), sweep.data.clone(), digest)
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
/// per thread, and rewrites `summary.csv` after every finished run.
pub fn execute(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    digest: &str,
    todo: &[usize],
    trainer: &dyn Trainer,
    opts: &RunOptions,
) -> anyhow::Result<Counts> {
    let jobs = opts.jobs.max(1).min(todo.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let (tx, rx) = crossbeam_channel::unbounded::<Event>();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut counts = Counts::default();
    let already = plan.runs.len() - todo.len();
    let mut progress = Progress::new(plan.runs.len(), already, opts.quiet);

    std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.scope(|s| {
                for _ in 0..jobs {
                    let tx = tx.clone();
                    let (next, stop) = (&next, &stop);
                    s.spawn(move |_| loop {
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        if k >= todo.len() || stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let index = todo[k];
                        let dir = run_dir(root, &plan.runs[index].id);
                        // Another process may hold this run, or have finished it since
                        // `pending` looked: then it is not ours to train.
                        let claim = match claim::try_claim(&dir) {
                            Ok(Some(c)) if read_status(&dir).is_none() || opts.retrain => Some(c),
                            Ok(_) => {
                                let _ = tx.send(Event::Skipped { run: index });
                                continue;
                            }
                            Err(_) => None, // reported as the run's failure below
                        };
                        let _ = tx.send(Event::Started { run: index });
                        let status = match claim {
                            Some(_) => run_one(root, sweep, plan, digest, index, trainer, &tx),
                            None => failed_status(
                                &dir,
                                &spec_for(sweep, plan, index, digest),
                                "cannot lock the run directory".into(),
                            ),
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
            match event {
                Event::Started { run } => {
                    let r = &plan.runs[run];
                    progress.started(run, &r.id, plan.configs[r.config].train.epochs);
                }
                Event::Epoch { run, epoch, valid_acc } => progress.epoch(run, epoch, valid_acc),
                Event::Skipped { run } => {
                    counts.elsewhere += 1;
                    progress.finished(
                        run,
                        &format!("skipped   {}  (claimed or finished by another process)", plan.runs[run].id),
                    );
                }
                Event::Finished { run, status } => {
                    match status.state {
                        State::Done => counts.done += 1,
                        State::Diverged => counts.diverged += 1,
                        State::Failed => counts.failed += 1,
                    }
                    progress.finished(run, &finished_line(root, &plan.runs[run].id, &status));
                    if let Err(e) = summary::write(root, plan) {
                        eprintln!("warning: could not update the summary: {e:#}");
                    }
                }
            }
        }
    });
    progress.finish();
    counts.skipped = todo.len() - counts.done - counts.diverged - counts.failed - counts.elsewhere;
    Ok(counts)
}

fn finished_line(root: &Path, id: &str, status: &Status) -> String {
    let dir = run_dir(root, id);
    match status.state {
        State::Done => {
            let last = summary::read_run(&dir).final_accs;
            let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
            format!(
                "done      {id}  train {}  valid {}  test {}  ({:.1}s)",
                f(last[0]),
                f(last[1]),
                f(last[2]),
                status.seconds
            )
        }
        State::Diverged => format!("diverged  {id}  {}", status.message),
        State::Failed => format!("FAILED    {id}  {}", status.message),
    }
}

/// One run from a clean directory; never panics, never returns an error: whatever
/// goes wrong becomes a `failed` status with the reason.
fn run_one(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    digest: &str,
    index: usize,
    trainer: &dyn Trainer,
    tx: &crossbeam_channel::Sender<Event>,
) -> Status {
    let spec = spec_for(sweep, plan, index, digest);
    let dir = run_dir(root, &spec.id);
    let mut progress = |epoch: usize, valid_acc: Option<f64>| {
        let _ = tx.send(Event::Epoch { run: index, epoch, valid_acc });
    };
    let outcome = rundir::reset(&dir).with_context(|| format!("cannot prepare {}", dir.display())).and_then(|_| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| trainer.train(&spec, &dir, &mut progress)))
            .unwrap_or_else(|p| {
                let what =
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                Err(anyhow::anyhow!("internal error (panic): {}", what.unwrap_or_default()))
            })
    });
    match outcome {
        Ok(status) => status,
        Err(e) => failed_status(&dir, &spec, format!("{e:#}")),
    }
}

/// Records a failure. Best effort: if even this cannot be written, the run stays
/// unfinished, which resume treats the same way.
fn failed_status(dir: &Path, spec: &RunSpec, message: String) -> Status {
    let status = Status {
        state: State::Failed,
        message,
        epoch: 0,
        seconds: 0.0,
        config_hash: spec.config_hash.clone(),
        selected: None,
    };
    let _ = write_status(dir, &status);
    status
}
