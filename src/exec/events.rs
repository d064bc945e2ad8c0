//! Workers report what happens as events; one reporter owns the terminal and the
//! summary file. Training code never takes a lock.

use super::rundir::Status;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

pub enum Event {
    Started {
        run: usize,
        id: String,
        epochs: usize,
    },
    Epoch {
        run: usize,
        epoch: usize,
        valid_acc: Option<f64>,
    },
    Finished {
        run: usize,
        status: Status,
    },
    /// Claimed or finished by another process.
    Skipped {
        run: usize,
    },
    /// Stopped by SIGUSR1 with its state saved; `line` says so.
    Suspended {
        run: usize,
        line: String,
    },
}

/// Where progress goes: bars on a terminal, one plain line per event elsewhere
/// (CI logs, Slurm output files).
pub enum Progress {
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
        if !std::io::stdout().is_terminal() {
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

    pub fn epoch(&mut self, run: usize, epoch: usize, valid_acc: Option<f64>) {
        if let Progress::Bars { lines, .. } = self {
            if let Some(bar) = lines.get(&run) {
                bar.set_position(epoch as u64);
                if let Some(a) = valid_acc {
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
