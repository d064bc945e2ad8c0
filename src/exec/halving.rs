//! Running a successive-halving sweep (`[sweep.prune]`) in rounds: round k trains every run of
//! the configurations still in the race up to rung k (its state saved there), then, once every
//! such run — this process's and other shards' — has reached the rung, the rung is decided
//! from the files (`report::halving::decide`), written to `rungs.csv`, and the runs of the
//! pruned configurations get the status `pruned`. After the last rung the survivors train to
//! their end. Every process recomputes the decisions from the files, so they are the same
//! whatever `--jobs`, shards, Slurm or a kill and resume did.

use super::claim;
use super::error::ExecError;
use super::events::{EventsOut, Recorder};
use super::rundir::{self, read_status, write_status, State, Status};
use super::sweep::{execute, run_dir, spec_for, Counts, RunOptions};
use super::trainer::Trainer;
use crate::report::comparisons::Protocol;
use crate::report::halving::{decide, decision_rungs, Rungs};
use crate::report::summary::Records;
use crate::results::rungs;
use crate::spec::prune::Prune;
use crate::spec::{Plan, SweepFile};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a process waits, by default, for runs of other processes to reach a rung when no
/// live process holds them (seconds; `pinniped run --rung-wait` sets it).
pub const DEFAULT_RUNG_WAIT_SECONDS: u64 = 60;
/// The longest wait `--rung-wait` may ask for (seconds): one day.
pub const MAX_RUNG_WAIT_SECONDS: u64 = 86_400;

/// A rung this process cannot decide: runs of other processes have not reached it.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    /// 1-based rung and its epoch.
    pub rung: usize,
    pub epoch: usize,
    /// Runs not at the rung yet.
    pub runs: usize,
}

/// How a halving sweep went in this process.
pub(crate) struct Outcome {
    pub(crate) counts: Counts,
    pub(crate) records: Records,
    /// `Some`: stopped at a rung that waits for other processes' runs.
    pub(crate) waiting: Option<Waiting>,
}

/// Decides every rung the files allow, writes `rungs.csv` (when it changed) and marks the runs
/// of pruned configurations `pruned`. Returns the decisions and the runs this call marked
/// (their ids and new status).
pub fn settle(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    prune: &Prune,
    digest: &str,
) -> anyhow::Result<(Rungs, Vec<(String, Status)>)> {
    let decided = decide(root, plan, prune, &Protocol::of(sweep));
    let text = rungs::rungs_csv(&decided.rows, !plan.datasets.is_empty());
    if !(decided.rows.is_empty() && rungs::read(root).is_none()) {
        rungs::write(root, &text)?;
    }
    let mut marked = Vec::new();
    let mode = claim::lock_mode(root).map_err(anyhow::Error::from)?;
    for run in &plan.runs {
        let Some((rung, epoch, why)) = &decided.pruned_at[run.config] else { continue };
        if let Some(status) = mark_pruned(root, sweep, plan, run.index, digest, mode, (*rung, *epoch), why)? {
            marked.push((run.id.clone(), status));
        }
    }
    Ok((decided, marked))
}

/// `finished` lines (state `pruned`) in `events.jsonl` (and on stdout with `--message-format
/// json`) for the runs a decision just pruned.
fn log_pruned(root: &Path, marked: Vec<(String, Status)>) {
    if marked.is_empty() {
        return;
    }
    let mut recorder = Recorder::new(&EventsOut { log_in: Some(root.to_path_buf()), plan: None });
    for (run, s) in marked {
        recorder.emit(crate::results::events::Event::Finished {
            run,
            state: s.state.word().into(),
            epoch: s.epoch,
            seconds: s.seconds,
            message: s.message,
        });
    }
}

/// Run `index` of a pruned configuration: `pruned` unless it diverged or failed (which say more),
/// and its saved state let go (it will not continue). Every shard decides the same prunes; the
/// one that claims the run marks it (once: one `finished` event), and the others find it marked
/// or held. `None`: nothing to mark here.
#[allow(clippy::too_many_arguments)]
fn mark_pruned(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    index: usize,
    digest: &str,
    mode: claim::LockMode,
    (rung, epoch): (usize, usize),
    why: &str,
) -> anyhow::Result<Option<Status>> {
    let dir = run_dir(root, &plan.runs[index].id);
    let settled = |s: &Option<Status>| {
        matches!(s.as_ref().map(|s| s.state), Some(State::Diverged | State::Failed | State::Pruned))
    };
    // Checked before claiming too: most calls find the run marked, and a claim costs a lock file.
    if settled(&read_status(&dir)) {
        return Ok(None);
    }
    let Some(_claim) = claim::try_claim(root, &dir, mode)? else { return Ok(None) };
    // Read again under the claim: another shard may have marked it since.
    let old = read_status(&dir);
    if settled(&old) {
        return Ok(None);
    }
    rundir::check_no_symlink_below(root, &dir)?;
    let status = Status {
        state: State::Pruned,
        message: format!("pruned at rung {rung} (epoch {epoch}): {why}"),
        epoch: old.as_ref().map_or(epoch, |s| s.epoch.min(epoch)),
        seconds: old.as_ref().map_or(0.0, |s| s.seconds),
        config_hash: spec_for(sweep, plan, index, digest).config_hash,
        selected: None,
    };
    write_status(&dir, &status)?;
    // Ours (written by the run at its rung): it would only take disk.
    let state = dir.join(rundir::STATE_FILE);
    if std::fs::symlink_metadata(&state).is_ok_and(|m| m.is_file()) {
        match std::fs::remove_file(&state) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow::Error::new(e).context(format!("cannot remove {}", state.display())))
            }
            _ => {}
        }
    }
    Ok(Some(status))
}

fn add(total: &mut Counts, c: &Counts) {
    total.done += c.done;
    total.diverged += c.diverged;
    total.failed += c.failed;
    total.elsewhere += c.elsewhere;
    total.suspended += c.suspended;
    total.paused += c.paused;
    total.skipped += c.skipped;
}

/// Runs the sweep's halving rounds for the runs `mine` accepts (this process's shard).
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute_halving(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    digest: &str,
    prune: &Prune,
    mine: &dyn Fn(usize) -> bool,
    trainer: &dyn Trainer,
    opts: &RunOptions,
    wait: Duration,
) -> Result<Outcome, ExecError> {
    let epochs = decision_rungs(plan, prune);
    let opts = &RunOptions { rung_epochs: epochs.clone(), ..opts.clone() };
    let mut total = Counts::default();
    let mut records = None;
    // Runs this process has tried at a rung: tried again only once another process let them go.
    let mut tried: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut idle_since = Instant::now();
    let mut announced = 0;
    loop {
        let (rungs, marked) = settle(root, sweep, plan, prune, digest)?;
        log_pruned(root, marked);
        announce(&rungs, &mut announced, opts.quiet);
        let stop = crate::output::suspend_requested() || (opts.fail_fast && total.failed > 0);
        let Some((k, pending)) = rungs.waiting.clone() else {
            let todo: Vec<usize> = plan
                .runs
                .iter()
                .filter(|r| rungs.alive[r.config] && mine(r.index))
                .filter(|r| read_status(&run_dir(root, &r.id)).is_none())
                .map(|r| r.index)
                .collect();
            let todo = if stop { Vec::new() } else { todo };
            let (c, recs) =
                execute(root, sweep, plan, digest, &todo, trainer, &RunOptions { pause_at: None, ..opts.clone() })?;
            add(&mut total, &c);
            return Ok(Outcome { counts: total, records: recs, waiting: None });
        };
        let epoch = epochs[k];
        let todo: Vec<usize> = pending.iter().copied().filter(|&i| mine(i) && tried.insert((k, i))).collect();
        if stop {
            let records = records.unwrap_or_else(|| Records::read(root, plan));
            return Ok(Outcome { counts: total, records, waiting: None });
        }
        if !todo.is_empty() {
            if !opts.quiet {
                outln!(
                    "rung {} of {} (epoch {epoch}): training {} to it",
                    k + 1,
                    epochs.len(),
                    crate::output::count(todo.len(), "run")
                );
            }
            let (c, recs) = execute(
                root,
                sweep,
                plan,
                digest,
                &todo,
                trainer,
                &RunOptions { pause_at: Some(epoch), ..opts.clone() },
            )?;
            add(&mut total, &c);
            records = Some(recs);
            idle_since = Instant::now();
            continue;
        }
        // Only runs other processes hold (or have yet to start) are missing.
        if pending.iter().any(|&i| claim::is_running(&run_dir(root, &plan.runs[i].id)).is_some()) {
            idle_since = Instant::now();
        } else if idle_since.elapsed() >= wait {
            let records = records.unwrap_or_else(|| Records::read(root, plan));
            let waiting = Waiting { rung: k + 1, epoch, runs: pending.len() };
            return Ok(Outcome { counts: total, records, waiting: Some(waiting) });
        }
        // Each look reads every run's files: once a second is plenty.
        std::thread::sleep(Duration::from_secs(1).min(wait.max(Duration::from_millis(50))));
    }
}

/// Prints each rung's decision once, as this process learns it.
fn announce(rungs: &Rungs, announced: &mut usize, quiet: bool) {
    let decided = rungs.rows.iter().map(|r| r.rung).max().unwrap_or(0);
    while *announced < decided {
        *announced += 1;
        let rows: Vec<_> = rungs.rows.iter().filter(|r| r.rung == *announced).collect();
        if !quiet {
            let kept = rows.iter().filter(|r| r.kept).count();
            outln!(
                "rung {} (epoch {}): {} ranked, {} kept, {} pruned (rungs.csv)",
                *announced,
                rows.first().map_or(0, |r| r.epoch),
                crate::output::count(rows.len(), "configuration"),
                kept,
                rows.len() - kept
            );
        }
    }
}
