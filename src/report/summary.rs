//! `summary.csv`: one row per configuration, mean and standard deviation over its
//! repeats. Computed from one [`RunRecord`] per run: a sweep keeps them in memory
//! and updates the one run that finished, `pinniped summarize` reads them all from
//! disk; both go through [`Records::summary_csv`], so they are the same bytes.

use super::stats::mean_std;
use crate::exec::atomic::write_atomic;
use crate::exec::rundir::{read_status, State};
use crate::exec::sweep::run_dir;
use crate::spec::Plan;
use std::fmt::Write as _;
use std::path::Path;

pub const METRICS: [&str; 7] = [
    "final_train_acc",
    "final_valid_acc",
    "final_test_acc",
    "best_valid_acc",
    "test_acc_at_best_valid",
    "best_epoch",
    "seconds",
];

/// One run's result, read from its directory: the single reading that summary.csv,
/// the sweep plots, report.html and `pinniped train` all use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecord {
    pub state: Option<State>,
    pub message: String,
    /// Last completed epoch (for `diverged`, the epoch it diverged in), from status.json.
    pub epoch: Option<usize>,
    /// Train, valid, test accuracy of the model the run returns: the selected model's
    /// under early stopping or refit, else the last epoch's.
    pub final_accs: [Option<f64>; 3],
    pub best_valid: Option<f64>,
    pub test_at_best: Option<f64>,
    pub best_epoch: Option<f64>,
    pub seconds: Option<f64>,
}

impl RunRecord {
    /// The metric values in `METRICS` order.
    pub fn metrics(&self) -> [Option<f64>; 7] {
        [
            self.final_accs[0],
            self.final_accs[1],
            self.final_accs[2],
            self.best_valid,
            self.test_at_best,
            self.best_epoch,
            self.seconds,
        ]
    }
}

pub fn read_run(dir: &Path) -> RunRecord {
    let mut rec = RunRecord::default();
    let status = read_status(dir);
    if let Some(status) = &status {
        rec.state = Some(status.state);
        rec.message = status.message.clone();
        rec.epoch = Some(status.epoch);
        rec.seconds = Some(status.seconds);
    }
    let Ok(mut reader) = crate::fsx::open_own(&dir.join("metrics.csv")).map(csv::Reader::from_reader) else {
        return rec;
    };
    let Ok(header) = reader.headers().cloned() else { return rec };
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(ep), Some(tr), Some(va), Some(te)) = (col("epoch"), col("train_acc"), col("valid_acc"), col("test_acc"))
    else {
        return rec;
    };
    let mut best: Option<(f64, f64, Option<f64>)> = None;
    for row in reader.records().flatten() {
        let get = |i: usize| row.get(i).and_then(|v| v.parse::<f64>().ok());
        rec.final_accs = [get(tr), get(va), get(te)];
        if let (Some(v), Some(e)) = (get(va), get(ep)) {
            // The first epoch that reaches the best validation accuracy.
            if best.is_none_or(|(b, _, _)| v > b) {
                best = Some((v, e, get(te)));
            }
        }
    }
    if let Some((v, e, t)) = best {
        rec.best_valid = Some(v);
        rec.best_epoch = Some(e);
        rec.test_at_best = t;
    }
    // Early stopping or refit: the run's result is the selected model, not the last epoch.
    if let Some(s) = status.and_then(|s| s.selected) {
        rec.final_accs = [s.train_acc, s.valid_acc, s.test_acc];
    }
    rec
}

/// Per configuration: counts by state and the statistics of its `done` runs.
pub struct ConfigStats {
    pub runs: usize,
    pub done: usize,
    pub failed: usize,
    pub diverged: usize,
    pub stats: [(Option<f64>, Option<f64>); 7],
}

/// One record per planned run (plan order): what summary.csv, the end-of-sweep counts
/// and the best configuration are computed from. A sweep reads it from disk once and
/// then updates it run by run, so each finished run costs one run's files, not all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Records(pub Vec<RunRecord>);

impl Records {
    /// One pass over the plan's run directories.
    pub fn read(root: &Path, plan: &Plan) -> Self {
        Records(plan.runs.iter().map(|run| read_run(&run_dir(root, &run.id))).collect())
    }

    /// Re-reads the runs not known to be finished (another process may have finished
    /// them since); runs known to be finished are trusted.
    pub fn refresh_unfinished(&mut self, root: &Path, plan: &Plan) {
        for (rec, run) in self.0.iter_mut().zip(&plan.runs) {
            if rec.state.is_none() {
                *rec = read_run(&run_dir(root, &run.id));
            }
        }
    }

    /// Re-reads one run (plan index) from its directory.
    pub fn reread(&mut self, root: &Path, plan: &Plan, run: usize) -> &RunRecord {
        self.0[run] = read_run(&run_dir(root, &plan.runs[run].id));
        &self.0[run]
    }

    pub fn config_stats(&self, plan: &Plan) -> Vec<ConfigStats> {
        let mut out: Vec<ConfigStats> = plan
            .configs
            .iter()
            .map(|_| ConfigStats { runs: 0, done: 0, failed: 0, diverged: 0, stats: [(None, None); 7] })
            .collect();
        let mut values: Vec<[Vec<f64>; 7]> = plan.configs.iter().map(|_| Default::default()).collect();
        for (run, rec) in plan.runs.iter().zip(&self.0) {
            let c = &mut out[run.config];
            c.runs += 1;
            match rec.state {
                Some(State::Done) => {
                    c.done += 1;
                    // Only finished runs enter the means: a diverged run's NaNs never do.
                    for (k, v) in rec.metrics().into_iter().enumerate() {
                        if let Some(v) = v.filter(|v| v.is_finite()) {
                            values[run.config][k].push(v);
                        }
                    }
                }
                Some(State::Diverged) => c.diverged += 1,
                Some(State::Failed) => c.failed += 1,
                None => {}
            }
        }
        for (c, vals) in out.iter_mut().zip(&values) {
            for (k, v) in vals.iter().enumerate() {
                c.stats[k] = mean_std(v);
            }
        }
        out
    }

    /// The text of summary.csv.
    pub fn summary_csv(&self, plan: &Plan) -> String {
        let mut s = String::new();
        for a in &plan.axes {
            let _ = write!(s, "{a},");
        }
        s.push_str("runs,done,failed,diverged");
        for m in METRICS {
            let _ = write!(s, ",{m}_mean,{m}_std");
        }
        s.push('\n');
        let fmt = |v: Option<f64>| v.map_or(String::new(), super::csv_number);
        for (config, c) in plan.configs.iter().zip(self.config_stats(plan)) {
            for v in &config.axis_values {
                let _ = write!(s, "{v},");
            }
            let _ = write!(s, "{},{},{},{}", c.runs, c.done, c.failed, c.diverged);
            for (mean, std) in c.stats {
                let _ = write!(s, ",{},{}", fmt(mean), fmt(std));
            }
            s.push('\n');
        }
        s
    }

    pub fn write(&self, root: &Path, plan: &Plan) -> std::io::Result<()> {
        write_atomic(&root.join("summary.csv"), self.summary_csv(plan).as_bytes())?;
        write_atomic(
            &root.join(super::importance::IMPORTANCE_FILE),
            super::importance::importance_csv(self, plan).as_bytes(),
        )?;
        write_atomic(&root.join(super::runs_table::RUNS_FILE), super::runs_table::runs_csv(self, plan).as_bytes())
    }

    /// The configuration with the best mean final validation accuracy: selection by
    /// validation, never by test.
    pub fn best_by_validation(&self, plan: &Plan) -> Option<Best> {
        self.config_stats(plan)
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let (m, s) = c.stats[1];
                m.map(|m| Best { config: i, valid: (m, s), test: c.stats[2], done: c.done })
            })
            .max_by(|a, b| a.valid.0.total_cmp(&b.valid.0).then(b.config.cmp(&a.config)))
    }
}

/// summary.csv rebuilt from the run directories on disk (`summarize`).
pub fn write(root: &Path, plan: &Plan) -> std::io::Result<()> {
    Records::read(root, plan).write(root, plan)
}

/// The configuration [`Records::best_by_validation`] chooses.
pub struct Best {
    pub config: usize,
    pub valid: (f64, Option<f64>),
    pub test: (Option<f64>, Option<f64>),
    pub done: usize,
}
