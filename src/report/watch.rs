//! `pinniped watch`: a sweep's live view computed from its files alone (the runs' status and
//! metrics files, and `events.jsonl`), so that it works wherever the results directory is
//! visible, e.g. on a login node while a Slurm array trains on the nodes.
//!
//! Counts by state come from the runs' `status.json` (the truth resume uses), "running"
//! from the event log (a run started and neither finished nor on disk as finished), the
//! throughput from the `finished` events of the last [`WINDOW`], the best configurations
//! from the same statistics as summary.csv ([`Records::config_stats`]).

use super::stats::mean_spread_ci;
use super::summary::{read_run, ConfigStats, Records, RunRecord, TEST, VALID};
use crate::results::events::{parse_rfc3339, Event, Tail};
use crate::results::layout::run_dir;
use crate::results::rundir::State;
use crate::spec::Plan;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The throughput is the runs finished in this last stretch of time, per minute.
pub(crate) const WINDOW: Duration = Duration::from_secs(10 * 60);
/// The most of `events.jsonl` read per frame (the rest is read by the next frames).
pub(crate) const MAX_READ_BYTES: u64 = 64 << 20;
/// Configurations listed under "best by validation" (one per dataset for a multi-dataset sweep).
pub(crate) const BEST_SHOWN: usize = 3;
/// Runs listed under "running" (the rest are counted).
pub(crate) const RUNNING_SHOWN: usize = 8;
/// Datasets listed with their best configuration (the rest are counted).
const DATASETS_SHOWN: usize = 10;

/// What the event log says of a run this frame does not find finished on disk.
#[derive(Clone, Debug, Default, PartialEq)]
struct Live {
    epochs: usize,
    /// The last logged epoch and its validation accuracy.
    epoch: Option<(usize, Option<f64>)>,
}

/// Follows one results directory from frame to frame: finished runs are read once, the
/// event log from where the last frame stopped.
pub(crate) struct Watcher<'p> {
    root: PathBuf,
    name: String,
    plan: &'p Plan,
    records: Records,
    tail: Tail,
    /// Started and not finished, by run id.
    running: HashMap<String, Live>,
    /// When the runs finished, by the log (every process's, in file order).
    finished: Vec<SystemTime>,
    /// The first event's time: the throughput's window never starts before it.
    first: Option<SystemTime>,
}

/// One frame, as text, and whether every planned run has ended.
pub(crate) struct Frame {
    pub text: String,
    pub ended: bool,
}

impl<'p> Watcher<'p> {
    pub fn new(root: &Path, name: &str, plan: &'p Plan) -> Self {
        Watcher {
            root: root.to_path_buf(),
            name: name.to_string(),
            plan,
            records: Records::new(vec![RunRecord::default(); plan.runs.len()]),
            tail: Tail::default(),
            running: HashMap::new(),
            finished: Vec::new(),
            first: None,
        }
    }

    /// Reads what changed since the last frame and computes the frame at `now`.
    pub fn frame(&mut self, now: SystemTime) -> std::io::Result<Frame> {
        self.tail.poll(&self.root, MAX_READ_BYTES)?;
        for line in std::mem::take(&mut self.tail.lines) {
            let time = parse_rfc3339(&line.time);
            if self.first.is_none() {
                self.first = time;
            }
            match line.event {
                Event::Started { run, epochs } => {
                    self.running.insert(run, Live { epochs, epoch: None });
                }
                Event::Epoch { run, epoch, valid_acc, .. } => {
                    if let Some(live) = self.running.get_mut(&run) {
                        live.epoch = Some((epoch, valid_acc));
                    }
                }
                // A pruned run trained nothing at its decision: it counts, but not in the pace.
                Event::Finished { run, state, .. } => {
                    self.running.remove(&run);
                    if state != State::Pruned.word() {
                        self.finished.extend(time);
                    }
                }
                // Not running any more; a later `started` brings it back.
                Event::Paused { run, .. } | Event::Suspended { run } => {
                    self.running.remove(&run);
                }
                Event::Plan { .. } | Event::Skipped { .. } => {}
            }
        }
        // Finished runs are trusted; the others may have finished since the last frame.
        for (rec, run) in self.records.runs.iter_mut().zip(&self.plan.runs) {
            if rec.state.is_none() {
                *rec = read_run(&run_dir(&self.root, &run.id));
            }
        }
        Ok(self.compose(now))
    }

    fn compose(&self, now: SystemTime) -> Frame {
        let plan = self.plan;
        let mut counts = Counts::default();
        let mut running = Vec::new();
        for (rec, run) in self.records.runs.iter().zip(&plan.runs) {
            match rec.state {
                Some(State::Done) => counts.done += 1,
                Some(State::Diverged) => counts.diverged += 1,
                Some(State::Failed) => counts.failed += 1,
                Some(State::Pruned) => counts.pruned += 1,
                None => match self.running.get(&run.id) {
                    Some(live) => running.push((run.id.as_str(), live)),
                    None => counts.pending += 1,
                },
            }
        }
        counts.running = running.len();
        let rate = throughput(&self.finished, self.first, now);
        let mut text = String::new();
        let _ = writeln!(text, "{}", counts_line(&self.name, plan.runs.len(), &counts));
        let _ = writeln!(text, "{}", pace_line(rate, counts.running + counts.pending));
        let finished = counts.done + counts.diverged + counts.failed + counts.pruned;
        if plan.datasets.is_empty() {
            text += &best_lines(plan, &self.records.config_stats(plan), BEST_SHOWN, "", finished);
        } else {
            for (d, name) in plan.datasets.iter().enumerate().take(DATASETS_SHOWN) {
                let (part, records) = self.records.dataset_part(plan, d);
                text += &best_lines(&part, &records.config_stats(&part), 1, &format!("{name}: "), finished);
            }
            if plan.datasets.len() > DATASETS_SHOWN {
                let _ = writeln!(text, "… and {} more datasets", plan.datasets.len() - DATASETS_SHOWN);
            }
        }
        if !running.is_empty() {
            running.sort_by_key(|(id, _)| *id);
            let _ = writeln!(text, "running:");
            for (id, live) in running.iter().take(RUNNING_SHOWN) {
                let _ = writeln!(text, "  {}", running_line(id, live));
            }
            if running.len() > RUNNING_SHOWN {
                let _ = writeln!(text, "  … and {} more", running.len() - RUNNING_SHOWN);
            }
        }
        if self.tail.skipped > 0 {
            let _ = writeln!(text, "({} unreadable lines in events.jsonl skipped)", self.tail.skipped);
        }
        Frame { text, ended: counts.running + counts.pending == 0 }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Counts {
    done: usize,
    diverged: usize,
    failed: usize,
    /// Pruned by successive halving: shown only when there are some.
    pruned: usize,
    running: usize,
    pending: usize,
}

fn counts_line(name: &str, runs: usize, c: &Counts) -> String {
    let pruned = if c.pruned > 0 { format!(", {} pruned", c.pruned) } else { String::new() };
    format!(
        "{name}: {}: {} done, {} diverged, {} failed{pruned}, {} running, {} pending",
        crate::output::count(runs, "run"),
        c.done,
        c.diverged,
        c.failed,
        c.running,
        c.pending
    )
}

/// Runs finished per minute over the last [`WINDOW`] (or since the first event, if later);
/// `None` before a whole second of it has passed.
fn throughput(finished: &[SystemTime], first: Option<SystemTime>, now: SystemTime) -> Option<f64> {
    let start = now.checked_sub(WINDOW).unwrap_or(SystemTime::UNIX_EPOCH).max(first?);
    let span = now.duration_since(start).ok()?.as_secs_f64();
    if span < 1.0 {
        return None;
    }
    let n = finished.iter().filter(|&&t| t >= start && t <= now).count();
    Some(n as f64 / (span / 60.0))
}

/// "throughput: 3.2 runs/min (last 10 min)  ETA 9m50s".
fn pace_line(rate: Option<f64>, left: usize) -> String {
    let window = format!("last {} min", WINDOW.as_secs() / 60);
    match rate {
        _ if left == 0 => "every run has ended".into(),
        Some(r) if r > 0.0 => {
            let eta = Duration::from_secs_f64((left as f64 / r * 60.0).min(1e9));
            format!("throughput: {r:.1} runs/min ({window})  ETA {}", duration_text(eta))
        }
        Some(_) => format!("throughput: 0 runs/min ({window})  ETA unknown"),
        None => "throughput: not known yet  ETA unknown".into(),
    }
}

/// `45s`, `9m50s`, `3h05m`, `2d04h`.
fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        _ => format!("{}d{:02}h", s / 86_400, s / 3600 % 24),
    }
}

/// The `shown` configurations with the highest mean final validation accuracy (ties: the
/// lower index, as [`super::summary::Best::of`]), with their 95% intervals.
fn best_lines(plan: &Plan, stats: &[ConfigStats], shown: usize, lead: &str, finished: usize) -> String {
    let mut ranked: Vec<(usize, f64)> =
        stats.iter().enumerate().filter_map(|(i, c)| c.stats[VALID].0.map(|m| (i, m))).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if ranked.is_empty() {
        return format!("{lead}best by validation: none yet (no configuration has a done run)\n");
    }
    let mut s = format!("{lead}best by validation (of the {finished} finished runs):\n");
    let width = ranked.iter().take(shown).map(|&(i, _)| plan.configs[i].id.chars().count()).max().unwrap_or(0);
    for (rank, &(i, _)) in ranked.iter().take(shown).enumerate() {
        let c = &stats[i];
        let _ = writeln!(
            s,
            "  {}. {:<width$}  valid acc {}  test acc {}  ({}/{} runs done)",
            rank + 1,
            plan.configs[i].id,
            mean_spread_ci(c.stats[VALID].0, c.stats[VALID].1, c.ci[VALID]),
            mean_spread_ci(c.stats[TEST].0, c.stats[TEST].1, c.ci[TEST]),
            c.done,
            c.runs
        );
    }
    s
}

fn running_line(id: &str, live: &Live) -> String {
    match live.epoch {
        Some((epoch, valid)) => format!(
            "{id}  epoch {epoch}/{}  valid acc {}",
            live.epochs,
            valid.map_or("-".into(), |v| format!("{v:.4}"))
        ),
        None => format!("{id}  starting ({} epochs)", live.epochs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    #[test]
    fn throughput_counts_the_window_or_the_time_since_the_first_event() {
        // 6 runs in the first 2 minutes of the log: 3 per minute.
        let finished: Vec<SystemTime> = (1..=6).map(|k| at(k * 20)).collect();
        assert_eq!(throughput(&finished, Some(at(0)), at(120)), Some(3.0));
        // An hour later the window holds none of them.
        assert_eq!(throughput(&finished, Some(at(0)), at(3720)), Some(0.0));
        // A full window: 10 minutes, 2 runs in it (at 20 min − 5 min and − 1 min).
        let finished = [at(0), at(900), at(1140)];
        assert_eq!(throughput(&finished, Some(at(0)), at(1200)), Some(0.2));
        assert_eq!(throughput(&finished, None, at(1200)), None);
        assert_eq!(throughput(&[], Some(at(10)), at(10)), None);
    }

    #[test]
    fn the_pace_line_gives_an_eta_from_the_throughput() {
        assert_eq!(pace_line(Some(2.0), 5), "throughput: 2.0 runs/min (last 10 min)  ETA 2m30s");
        assert_eq!(pace_line(Some(0.0), 5), "throughput: 0 runs/min (last 10 min)  ETA unknown");
        assert_eq!(pace_line(None, 5), "throughput: not known yet  ETA unknown");
        assert_eq!(pace_line(None, 0), "every run has ended");
        assert_eq!(duration_text(Duration::from_secs(45)), "45s");
        assert_eq!(duration_text(Duration::from_secs(3 * 3600 + 5 * 60 + 9)), "3h05m");
        assert_eq!(duration_text(Duration::from_secs(2 * 86_400 + 4 * 3600)), "2d04h");
    }

    #[test]
    fn counts_and_running_lines_read_as_the_status_command_does() {
        let c = Counts { done: 3, diverged: 1, failed: 0, pruned: 0, running: 2, pending: 4 };
        assert_eq!(counts_line("demo", 10, &c), "demo: 10 runs: 3 done, 1 diverged, 0 failed, 2 running, 4 pending");
        let live = Live { epochs: 20, epoch: Some((12, Some(0.73))) };
        assert_eq!(running_line("hidden=8/rep-1", &live), "hidden=8/rep-1  epoch 12/20  valid acc 0.7300");
        let live = Live { epochs: 20, epoch: None };
        assert_eq!(running_line("a", &live), "a  starting (20 epochs)");
        assert_eq!(
            mean_spread_ci(Some(0.5), Some(0.1), Some(crate::stats::MeanCi { mean: 0.5, low: 0.25, high: 0.75 })),
            "0.5000 ± 0.1000 [0.2500, 0.7500]"
        );
        assert_eq!(mean_spread_ci(None, None, None), "-");
    }
}
