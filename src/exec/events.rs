//! Workers report what happens as events; one reporter owns the terminal, the summary
//! file and the event log (`events.jsonl`, and with `--message-format json` the same lines
//! on stdout). Training code never takes a lock.

use super::rundir::Status;
use crate::results::events::{self as log, EventLog, Line};
use crate::train::fit::EpochMetrics;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) enum Event {
    Started {
        run: usize,
        id: String,
        epochs: usize,
    },
    Epoch {
        run: usize,
        metrics: EpochMetrics,
    },
    Finished {
        run: usize,
        status: Status,
    },
    /// Claimed or finished by another process.
    Skipped {
        run: usize,
        id: String,
    },
    /// Stopped by SIGUSR1 (or, `paused`, at its successive-halving rung) with its state
    /// saved; `line` says so.
    Suspended {
        run: usize,
        line: String,
        /// The rung's epoch when paused there; `None` when suspended by SIGUSR1.
        paused: Option<usize>,
    },
}

/// Where a batch of runs logs its events besides the terminal.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventsOut {
    /// The results directory whose `events.jsonl` gets every event (sweeps; refits: none).
    pub(crate) log_in: Option<PathBuf>,
    /// The `plan` line written before the first run's.
    pub plan: Option<log::Event>,
}

/// Writes the events as lines of `events.jsonl` and, with `--message-format json`, on
/// stdout. Runs on the reporting thread only: one writer per process.
pub(crate) struct Recorder {
    log: Option<EventLog>,
    json: bool,
    /// Id and epochs of each run started and not yet finished.
    runs: HashMap<usize, (String, usize)>,
}

impl Recorder {
    /// Opens the log (a failure is one warning: the runs matter more than their log).
    pub fn new(out: &EventsOut) -> Self {
        let log = out
            .log_in
            .as_ref()
            .and_then(|root| EventLog::open(root).map_err(|e| errln!("warning: no event log: {e}")).ok());
        let mut recorder = Recorder { log, json: crate::output::stdout_is_for_machines(), runs: HashMap::new() };
        if let Some(plan) = &out.plan {
            recorder.emit(plan.clone());
        }
        recorder
    }

    pub fn record(&mut self, event: &Event) {
        let line = match event {
            Event::Started { run, id, epochs } => {
                self.runs.insert(*run, (id.clone(), *epochs));
                log::Event::Started { run: id.clone(), epochs: *epochs }
            }
            Event::Epoch { run, metrics: m } => {
                let Some((id, epochs)) = self.runs.get(run) else { return };
                if !log::epoch_logged(m.epoch, *epochs) {
                    return;
                }
                let (train, valid) = (m.sets.train, m.sets.valid);
                log::Event::Epoch {
                    run: id.clone(),
                    epoch: m.epoch,
                    train_loss: train.map(|s| s.loss),
                    train_acc: train.map(|s| s.acc),
                    valid_loss: valid.map(|s| s.loss),
                    valid_acc: valid.map(|s| s.acc),
                }
            }
            // Not ended: the run resumes from its saved state in a later invocation, which logs
            // `started` again.
            Event::Suspended { run, paused, .. } => {
                let Some((id, _)) = self.runs.remove(run) else { return };
                match paused {
                    Some(epoch) => log::Event::Paused { run: id, epoch: *epoch },
                    None => log::Event::Suspended { run: id },
                }
            }
            Event::Finished { run, status } => {
                let Some((id, _)) = self.runs.remove(run) else { return };
                log::Event::Finished {
                    run: id,
                    state: status.state.word().into(),
                    epoch: status.epoch,
                    seconds: status.seconds,
                    message: status.message.clone(),
                }
            }
            Event::Skipped { id, .. } => log::Event::Skipped { run: id.clone() },
        };
        self.emit(line);
    }

    /// Writes `event` as it is (lines that no worker reports, e.g. `pruned` runs).
    pub fn emit(&mut self, event: log::Event) {
        if self.log.is_none() && !self.json {
            return;
        }
        let line = Line::now(event).to_json();
        if let Some(file) = &mut self.log {
            if let Err(e) = file.append(&line) {
                errln!("warning: the event log stops here: {e}");
                self.log = None;
            }
        }
        if self.json {
            crate::output::write_machine_line(&line);
        }
    }
}

/// Where progress goes: bars on a terminal, one plain line per event elsewhere
/// (CI logs, Slurm output files).
pub(crate) enum Progress {
    Bars { multi: MultiProgress, overall: ProgressBar, lines: HashMap<usize, ProgressBar> },
    Plain { total: usize, done: usize },
    Quiet,
}

impl Progress {
    /// `total`: the runs of this invocation (a rerun of one run counts `[1/1]`).
    pub fn new(total: usize, quiet: bool) -> Self {
        if quiet {
            return Progress::Quiet;
        }
        // With `--message-format json` stdout is the event stream: plain lines go to stderr.
        if !std::io::stdout().is_terminal() || crate::output::stdout_is_for_machines() {
            return Progress::Plain { total, done: 0 };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} runs  {elapsed_precise} (ETA {eta})")
                .expect("valid template"),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        crate::output::show_bars(Some(multi.clone()));
        Progress::Bars { multi, overall, lines: HashMap::new() }
    }

    pub fn started(&mut self, run: usize, id: &str, epochs: usize) {
        if let Progress::Bars { multi, lines, .. } = self {
            let bar = multi.add(ProgressBar::new(epochs as u64));
            bar.set_style(
                ProgressStyle::with_template("  {prefix:<40} epoch {pos:>4}/{len}  {msg}").expect("valid template"),
            );
            bar.set_prefix(id.to_string());
            lines.insert(run, bar);
        }
    }

    pub fn epoch(&mut self, run: usize, metrics: &EpochMetrics) {
        if let Progress::Bars { lines, .. } = self {
            if let Some(bar) = lines.get(&run) {
                bar.set_position(metrics.epoch as u64);
                if let Some(a) = metrics.sets.valid.map(|s| s.acc) {
                    bar.set_message(format!("valid acc {a:.3}"));
                }
            }
        }
    }

    pub fn finished(&mut self, run: usize, line: &str) {
        match self {
            Progress::Bars { multi, overall, lines } => {
                if let Some(bar) = lines.remove(&run) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                overall.inc(1);
                let _ = multi.println(line);
            }
            Progress::Plain { total, done } => {
                *done += 1;
                outln!("[{:>w$}/{total}] {line}", *done, w = total.to_string().len());
            }
            Progress::Quiet => {}
        }
    }

    pub fn finish(&mut self) {
        if let Progress::Bars { overall, .. } = self {
            overall.finish_and_clear();
            crate::output::show_bars(None);
        }
    }
}
