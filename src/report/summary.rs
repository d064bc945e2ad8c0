//! `summary.csv`: one row per configuration, mean, standard deviation and 95% t interval
//! over its repeats (with `comparisons.csv` and `selection.csv`, see `comparisons`).
//! Computed from one [`RunRecord`] per run: a sweep keeps them in memory and updates
//! the one run that finished, `pinniped summarize` reads them all from disk; both go
//! through [`Records::write`], so they are the same bytes.

use super::comparisons::{self, Protocol, COMPARISONS_FILE, SELECTION_FILE};
use super::ensemble::{config_summary, EnsembleSummary};
use super::stats::mean_std;
use crate::data::split::PerSplit;
use crate::results::atomic::write_atomic;
use crate::results::layout::METRICS_FILE;
use crate::results::layout::{run_dir, SUMMARY_FILE};
use crate::results::metrics::read_metrics;
use crate::results::rundir::{read_status, State};
use crate::spec::Plan;
use crate::stats::{t_interval, MeanCi};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

pub(crate) use crate::results::summary_file::{ACC_METRICS, METRICS};

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
    pub(crate) final_accs: PerSplit<Option<f64>>,
    pub best_valid: Option<f64>,
    pub(crate) test_at_best: Option<f64>,
    pub best_epoch: Option<f64>,
    pub seconds: Option<f64>,
}

impl RunRecord {
    /// The metric values in `METRICS` order.
    pub fn metrics(&self) -> [Option<f64>; 7] {
        [
            self.final_accs.train,
            self.final_accs.valid,
            self.final_accs.test,
            self.best_valid,
            self.test_at_best,
            self.best_epoch,
            self.seconds,
        ]
    }
}

/// One run's record from its `status.json` and `metrics.csv` (a missing or unreadable
/// `metrics.csv` leaves the accuracies unknown).
pub(crate) fn read_run(dir: &Path) -> RunRecord {
    let mut rec = RunRecord::default();
    let status = read_status(dir);
    if let Some(status) = &status {
        rec.state = Some(status.state);
        rec.message = status.message.clone();
        rec.epoch = Some(status.epoch);
        rec.seconds = Some(status.seconds);
    }
    let Some(metrics) = read_metrics(&dir.join(METRICS_FILE)).ok().flatten() else { return rec };
    rec.final_accs = metrics.last_accs();
    if let Some((v, epoch, test)) = metrics.best_valid() {
        rec.best_valid = Some(v);
        rec.best_epoch = Some(epoch as f64);
        rec.test_at_best = test;
    }
    // Early stopping or refit: the run's result is the selected model, not the last epoch.
    if let Some(s) = status.and_then(|s| s.selected) {
        rec.final_accs = PerSplit { train: s.train_acc, valid: s.valid_acc, test: s.test_acc };
    }
    rec
}

/// Index in [`METRICS`] of `final_valid_acc` (selection) and `final_test_acc` (what it yields).
pub(crate) const VALID: usize = 1;
pub const TEST: usize = 2;
/// The confidence level of every interval in the summary files.
pub(crate) const LEVEL: f64 = 0.95;

/// Per configuration: counts by state and the statistics of its `done` runs.
pub struct ConfigStats {
    pub runs: usize,
    pub done: usize,
    pub failed: usize,
    pub diverged: usize,
    /// Done runs with a result (a finite accuracy): the runs the means are over.
    pub n: usize,
    pub stats: [(Option<f64>, Option<f64>); 7],
    /// [`LEVEL`] t interval of each accuracy metric's mean (`None` for fewer than two values).
    pub ci: [Option<MeanCi>; ACC_METRICS],
}

/// One configuration's `done` runs: per metric, its finite values keyed by the pairing key
/// `PlannedRun.repeat` (runs of different configurations with equal keys are paired).
#[derive(Clone, Debug, Default)]
pub(crate) struct DoneValues(pub [BTreeMap<usize, f64>; 7]);

impl DoneValues {
    /// The values of metric `k` in repeat order.
    pub fn values(&self, k: usize) -> Vec<f64> {
        self.0[k].values().copied().collect()
    }
}

/// One record per planned run (plan order): what summary.csv, the end-of-sweep counts
/// and the best configuration are computed from. A sweep reads it from disk once and
/// then updates it run by run, so each finished run costs one run's files, not all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Records {
    /// One per planned run, in plan order.
    pub runs: Vec<RunRecord>,
    /// Per configuration: the ensemble of its done runs' test predictions
    /// (`report::ensemble`), kept up to date as runs finish (missing: not computed).
    ensembles: Vec<Option<EnsembleSummary>>,
}

impl Records {
    /// Records without ensembles (tests, or runs held elsewhere).
    pub fn new(runs: Vec<RunRecord>) -> Self {
        Records { runs, ensembles: Vec::new() }
    }

    /// One pass over the plan's run directories.
    pub fn read(root: &Path, plan: &Plan) -> Self {
        let mut records = Records::new(plan.runs.iter().map(|run| read_run(&run_dir(root, &run.id))).collect());
        records.ensembles = (0..plan.configs.len()).map(|c| config_summary(root, plan, c, &records)).collect();
        records
    }

    /// Recomputes configuration `config`'s ensemble: reads only its runs' predictions, so a
    /// finished run costs its configuration's repeats, whatever the sweep's size.
    fn update_ensemble(&mut self, root: &Path, plan: &Plan, config: usize) {
        self.ensembles.resize(plan.configs.len(), None);
        self.ensembles[config] = config_summary(root, plan, config, self);
    }

    /// The ensemble of configuration `config`'s done runs, if known.
    pub fn ensemble(&self, config: usize) -> Option<&EnsembleSummary> {
        self.ensembles.get(config).and_then(Option::as_ref)
    }

    /// Re-reads the runs not known to be finished (another process may have finished
    /// them since); runs known to be finished are trusted.
    pub(crate) fn refresh_unfinished(&mut self, root: &Path, plan: &Plan) {
        let mut changed = std::collections::BTreeSet::new();
        for (rec, run) in self.runs.iter_mut().zip(&plan.runs) {
            if rec.state.is_none() {
                *rec = read_run(&run_dir(root, &run.id));
                if rec.state.is_some() {
                    changed.insert(run.config);
                }
            }
        }
        for config in changed {
            self.update_ensemble(root, plan, config);
        }
    }

    /// Re-reads one run (plan index) from its directory.
    pub(crate) fn reread(&mut self, root: &Path, plan: &Plan, run: usize) -> &RunRecord {
        self.runs[run] = read_run(&run_dir(root, &plan.runs[run].id));
        self.update_ensemble(root, plan, plan.runs[run].config);
        &self.runs[run]
    }

    /// Per configuration, the values of its `done` runs: only finished runs enter the
    /// statistics, so a diverged run's NaNs never do.
    pub(crate) fn done_values(&self, plan: &Plan) -> Vec<DoneValues> {
        let mut out: Vec<DoneValues> = plan.configs.iter().map(|_| DoneValues::default()).collect();
        for (run, rec) in plan.runs.iter().zip(&self.runs) {
            if rec.state == Some(State::Done) {
                for (k, v) in rec.metrics().into_iter().enumerate() {
                    if let Some(v) = v.filter(|v| v.is_finite()) {
                        out[run.config].0[k].insert(run.repeat, v);
                    }
                }
            }
        }
        out
    }

    pub(crate) fn config_stats(&self, plan: &Plan) -> Vec<ConfigStats> {
        let mut out: Vec<ConfigStats> = plan
            .configs
            .iter()
            .map(|_| ConfigStats {
                runs: 0,
                done: 0,
                failed: 0,
                diverged: 0,
                n: 0,
                stats: [(None, None); 7],
                ci: [None; ACC_METRICS],
            })
            .collect();
        for (run, rec) in plan.runs.iter().zip(&self.runs) {
            let c = &mut out[run.config];
            c.runs += 1;
            match rec.state {
                Some(State::Done) => {
                    c.done += 1;
                    if rec.metrics()[..ACC_METRICS].iter().any(|v| v.is_some_and(f64::is_finite)) {
                        c.n += 1;
                    }
                }
                Some(State::Diverged) => c.diverged += 1,
                Some(State::Failed) => c.failed += 1,
                Some(State::Pruned) | None => {}
            }
        }
        for (c, done) in out.iter_mut().zip(self.done_values(plan)) {
            for k in 0..METRICS.len() {
                let values = done.values(k);
                c.stats[k] = mean_std(&values);
                if k < ACC_METRICS {
                    c.ci[k] = t_interval(&values, LEVEL);
                }
            }
        }
        out
    }

    /// The text of summary.csv.
    pub fn summary_csv(&self, plan: &Plan) -> String {
        summary_text(plan, &self.config_stats(plan), self)
    }

    /// Every summary file of the results directory, from the records in memory: the live
    /// summary during a sweep and `summarize` both come here, so they are the same bytes.
    /// The statistics are computed once and shared by the files.
    pub fn write(&self, root: &Path, plan: &Plan, protocol: &Protocol) -> std::io::Result<()> {
        for (file, text) in SUMMARY_FILES.iter().zip(self.summary_texts(plan, protocol)) {
            write_atomic(&root.join(file), text.as_bytes())?;
        }
        Ok(())
    }

    /// The texts of [`SUMMARY_FILES`]. A multi-dataset sweep's are computed dataset by dataset
    /// (its comparisons, selection and importance are within a dataset) and put one after
    /// another, each row led by a `dataset` column.
    pub(crate) fn summary_texts(&self, plan: &Plan, protocol: &Protocol) -> [String; 5] {
        if plan.datasets.is_empty() {
            return self.texts_of(plan, protocol);
        }
        let mut out: [String; 5] = Default::default();
        for (d, name) in plan.datasets.iter().enumerate() {
            let (part, records) = self.dataset_part(plan, d);
            for (all, text) in out.iter_mut().zip(records.texts_of(&part, protocol)) {
                all.push_str(&with_dataset_column(&text, name, d == 0));
            }
        }
        out
    }

    /// Dataset `d`'s plan (`Plan::dataset_part`) and records.
    pub(crate) fn dataset_part(&self, plan: &Plan, d: usize) -> (Plan, Records) {
        let (part, runs, configs) = plan.dataset_part(d);
        let records = Records {
            runs: runs.iter().map(|&r| self.runs[r].clone()).collect(),
            ensembles: configs.iter().map(|&c| self.ensembles.get(c).cloned().flatten()).collect(),
        };
        (part, records)
    }

    fn texts_of(&self, plan: &Plan, protocol: &Protocol) -> [String; 5] {
        let (stats, done) = (self.config_stats(plan), self.done_values(plan));
        let compared = comparisons::comparisons_of(plan, &done, &stats, protocol);
        [
            summary_text(plan, &stats, self),
            comparisons::comparisons_text(plan, &compared, &stats, self),
            comparisons::selection_text(plan, &done),
            super::importance::importance_csv(self, plan),
            super::runs_table::runs_csv(self, plan),
        ]
    }

    /// The configuration with the best mean final validation accuracy: selection by
    /// validation, never by test. Ties go to the lower configuration index.
    pub(crate) fn best_by_validation(&self, plan: &Plan) -> Option<Best> {
        Best::of(&self.config_stats(plan))
    }

    /// The rows of summary.csv (0-based, below the header) of the configurations selected
    /// by validation ([`Records::best_by_validation`]): one per dataset of a multi-dataset
    /// sweep, whose summary stacks the datasets' tables in plan order. `report.html`
    /// highlights these, so it shows the summary's own choice, not one re-read from text.
    pub(crate) fn selected_rows(&self, plan: &Plan) -> Vec<usize> {
        if plan.datasets.is_empty() {
            return self.best_by_validation(plan).map(|b| b.config).into_iter().collect();
        }
        let mut rows = Vec::new();
        let mut offset = 0;
        for d in 0..plan.datasets.len() {
            let (part, records) = self.dataset_part(plan, d);
            rows.extend(records.best_by_validation(&part).map(|b| offset + b.config));
            offset += part.configs.len();
        }
        rows
    }
}

/// The files [`Records::write`] writes, in the order of [`Records::summary_texts`].
pub const SUMMARY_FILES: [&str; 5] =
    [SUMMARY_FILE, COMPARISONS_FILE, SELECTION_FILE, super::importance::IMPORTANCE_FILE, super::runs_table::RUNS_FILE];

/// `text` (a CSV table) with a first column `dataset` holding `name`; the header line is kept
/// only when `header` (the first dataset's), so that the datasets' tables stack into one.
pub(crate) fn with_dataset_column(text: &str, name: &str, header: bool) -> String {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for (i, row) in reader.records().enumerate() {
        // Our own text, just written: it parses.
        let row = row.expect("pinniped's CSV");
        if i == 0 && !header {
            continue;
        }
        let first = if i == 0 { "dataset" } else { name };
        w.write_record(std::iter::once(first).chain(row.iter())).expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8 fields")
}

/// The text of summary.csv from the configurations' statistics.
fn summary_text(plan: &Plan, stats: &[ConfigStats], records: &Records) -> String {
    let mut s = crate::results::summary_file::header(&plan.axes);
    s.push('\n');
    let fmt = |v: Option<f64>| v.map_or(String::new(), super::csv_number);
    for (i, (config, c)) in plan.configs.iter().zip(stats).enumerate() {
        for v in &config.axis_values {
            let _ = write!(s, "{v},");
        }
        let _ = write!(s, "{},{},{},{},{}", c.runs, c.done, c.failed, c.diverged, c.n);
        for (k, &(mean, std)) in c.stats.iter().enumerate() {
            let _ = write!(s, ",{},{}", fmt(mean), fmt(std));
            if let Some(ci) = c.ci.get(k) {
                let _ = write!(s, ",{},{}", fmt(ci.map(|ci| ci.low)), fmt(ci.map(|ci| ci.high)));
            }
        }
        let e = records.ensemble(i);
        let ci = e.and_then(|e| e.ci);
        let _ =
            writeln!(s, ",{},{},{}", fmt(e.map(|e| e.accuracy)), fmt(ci.map(|ci| ci.low)), fmt(ci.map(|ci| ci.high)));
    }
    s
}

/// The summary files rebuilt from the run directories on disk (`summarize`).
pub fn write(root: &Path, plan: &Plan, protocol: &Protocol) -> std::io::Result<()> {
    Records::read(root, plan).write(root, plan, protocol)
}

/// The configuration [`Records::best_by_validation`] chooses.
pub struct Best {
    pub config: usize,
    pub valid: (f64, Option<f64>),
    pub test: (Option<f64>, Option<f64>),
    pub(crate) valid_ci: Option<MeanCi>,
    pub(crate) test_ci: Option<MeanCi>,
    pub done: usize,
}

impl Best {
    /// The highest mean final validation accuracy (ties: the lower configuration index).
    pub fn of(stats: &[ConfigStats]) -> Option<Best> {
        stats
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let (m, s) = c.stats[VALID];
                m.map(|m| Best {
                    config: i,
                    valid: (m, s),
                    test: c.stats[TEST],
                    valid_ci: c.ci[VALID],
                    test_ci: c.ci[TEST],
                    done: c.done,
                })
            })
            .max_by(|a, b| a.valid.0.total_cmp(&b.valid.0).then(b.config.cmp(&a.config)))
    }
}
