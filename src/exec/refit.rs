//! `pinniped refit DIR`: the selected configuration trained again on all training rows.
//!
//! A sweep's runs each hold some training rows back for validation. Once a configuration is
//! chosen (by mean validation), a refit trains it on every training row (a holdout with
//! nothing reserved, `patience = 0`, `refit = false`) for the epoch count its runs selected:
//! the median over its done runs of the epoch each run kept (`status.json`'s `selected.epoch`,
//! else its last epoch; the lower median for an even count, so it is always an epoch a run
//! kept). Its runs live in `refit/<config id>/rep-<k>/`, with the files of a sweep run,
//! trained by the sweep's worker pool (claimed, written atomically, resumed), and their test
//! accuracies go to `refit.csv`.

use super::claim;
use super::rundir::{read_status, State, Status};
use super::sweep;
use super::trainer::RunSpec;
use crate::report::ensemble::runs_ensemble;
use crate::report::stats::mean_std;
use crate::report::summary::{read_run, LEVEL};
use crate::spec::config::ScheduleConfig;
use crate::spec::plan::derive_refit_seed;
use crate::spec::{DataConfig, InputError, Plan, Split, SweepFile, TrainConfig};
use crate::stats::{t_interval, MeanCi};
use std::path::{Path, PathBuf};

pub(crate) use crate::results::layout::{REFIT_DIR, REFIT_FILE};
/// The most runs one refit may train (`--repeats`).
pub(crate) const MAX_REFIT_RUNS: usize = 1000;

/// `refit/<config id>/`: the runs of one configuration's refit.
pub(crate) fn config_dir(root: &Path, config_id: &str) -> PathBuf {
    root.join(REFIT_DIR).join(config_id)
}

/// `refit/<config id>/rep-<k>/` (k from 1).
pub fn run_dir(root: &Path, config_id: &str, k: usize) -> PathBuf {
    config_dir(root, config_id).join(format!("rep-{k}"))
}

/// The epoch a finished run kept: the selected model's under early stopping or refit, else
/// its last.
pub(crate) fn kept_epoch(status: &Status) -> usize {
    status.selected.as_ref().map_or(status.epoch, |s| s.epoch)
}

/// The kept epochs of configuration `config`'s done runs, in plan order.
pub(crate) fn kept_epochs(root: &Path, plan: &Plan, config: usize) -> Vec<usize> {
    plan.runs
        .iter()
        .filter(|r| r.config == config)
        .filter_map(|r| read_status(&sweep::run_dir(root, &r.id)))
        .filter(|s| s.state == State::Done)
        .map(|s| kept_epoch(&s))
        .collect()
}

/// The median; for an even count the lower of the two middle values (a value that occurs).
pub(crate) fn lower_median(values: &[usize]) -> Option<usize> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len().checked_sub(1)? / 2).copied()
}

/// The sweep's data with nothing reserved: every training row trains.
pub(crate) fn all_rows(data: &DataConfig) -> DataConfig {
    DataConfig {
        reserve_every: None,
        reserve_fraction: None,
        resample: None,
        folds: None,
        stratify: None,
        ..data.clone()
    }
}

/// A configuration's `[train]` as a refit trains it: no early stopping, no refit of its own,
/// `epochs` epochs.
pub(crate) fn refit_train(train: &TrainConfig, epochs: usize) -> TrainConfig {
    let schedule = ScheduleConfig { patience: 0, refit: false, epochs, ..train.schedule.clone() };
    TrainConfig { schedule, ..train.clone() }
}

/// One configuration's refit: its runs, in order (run k is `specs[k - 1]`).
pub struct Refit {
    pub(crate) config_id: String,
    pub epochs: usize,
    pub(crate) specs: Vec<RunSpec>,
}

impl Refit {
    /// `runs` refit runs of `config` for `epochs` epochs, seeds from [`derive_refit_seed`].
    pub fn new(sweep: &SweepFile, plan: &Plan, config: usize, epochs: usize, runs: usize, digest: &str) -> Refit {
        let c = &plan.configs[config];
        let train = refit_train(&c.train, epochs);
        let data = all_rows(&sweep.data);
        let specs = (1..=runs)
            .map(|k| {
                let seed = derive_refit_seed(sweep.seed, &c.id, k);
                let id = format!("{REFIT_DIR}/{}/rep-{k}", c.id);
                RunSpec::new(id, seed, Split::own(seed), train.clone(), data.clone(), digest)
            })
            .collect();
        Refit { config_id: c.id.clone(), epochs, specs }
    }

    pub fn dir(&self, root: &Path, index: usize) -> PathBuf {
        run_dir(root, &self.config_id, index + 1)
    }

    /// Refuses a symlink (or a file where a directory belongs) where the refit writes.
    pub fn check_paths(&self, root: &Path) -> Result<(), InputError> {
        let dirs = [root.join(REFIT_DIR), config_dir(root, &self.config_id)].map(|d| (d, true));
        let runs = (0..self.specs.len()).flat_map(|i| {
            let dir = self.dir(root, i);
            [(claim::lock_path(&dir), false), (dir, true)]
        });
        sweep::check_paths(root, dirs.into_iter().chain(runs))
    }

    /// Finished refit runs whose configuration differs from this refit's (another epoch
    /// count, data, or train key): with `force` they retrain, else an error naming what changed.
    pub(crate) fn check_stored(&self, root: &Path, force: bool) -> Result<(), InputError> {
        if force {
            return Ok(());
        }
        let stale: Vec<usize> = (0..self.specs.len())
            .filter(|&i| read_status(&self.dir(root, i)).is_some_and(|s| s.config_hash != self.specs[i].config_hash))
            .collect();
        let Some(&first) = stale.first() else { return Ok(()) };
        let dir = self.dir(root, first);
        Err(InputError::one(
            &dir,
            None,
            None,
            format!(
                "holds a refit of another configuration ({}){}; its results would no longer match. \
                 Pass --force to retrain the refit runs that differ",
                changes(&dir.join(crate::results::layout::CONFIG_FILE), &self.specs[first]),
                match stale.len() {
                    1 => String::new(),
                    n => format!(" (and {} more refit runs)", n - 1),
                }
            ),
        ))
    }

    /// The runs to train: unfinished and failed ones, and (with `force`) those of another
    /// configuration.
    pub fn pending(&self, root: &Path, force: bool) -> Vec<usize> {
        (0..self.specs.len())
            .filter(|&i| match read_status(&self.dir(root, i)) {
                None => true,
                Some(s) => s.state == State::Failed || (force && s.config_hash != self.specs[i].config_hash),
            })
            .collect()
    }

    /// The refit's results, read from its run directories.
    pub fn outcome(&self, root: &Path) -> RefitOutcome {
        let records: Vec<_> = (0..self.specs.len()).map(|i| read_run(&self.dir(root, i))).collect();
        let done: Vec<usize> = (0..self.specs.len()).filter(|&i| records[i].state == Some(State::Done)).collect();
        let test: Vec<f64> =
            done.iter().filter_map(|&i| records[i].final_accs.test).filter(|v| v.is_finite()).collect();
        let (mean, std) = mean_std(&test);
        let ensemble = if self.specs.first().is_some_and(|s| s.train.outputs.predictions) {
            runs_ensemble(done.iter().map(|&i| self.dir(root, i))).ok().flatten().and_then(|e| e.accuracy())
        } else {
            None
        };
        RefitOutcome {
            done: done.len(),
            failed: records.iter().filter(|r| r.state == Some(State::Failed)).count(),
            n: test.len(),
            test: (mean, std),
            test_ci: t_interval(&test, LEVEL),
            ensemble,
        }
    }
}

/// What differs between the refit run stored at `config_toml` and `spec`.
fn changes(config_toml: &Path, spec: &RunSpec) -> String {
    let stored = crate::fsx::read_own_text(config_toml, crate::fsx::MAX_TEXT_BYTES)
        .ok()
        .and_then(|text| crate::spec::sweep::parse_run_file(config_toml, &text).ok());
    let Some(stored) = stored else { return "its config.toml is unreadable".into() };
    let table = |t: &TrainConfig| match toml::Value::try_from(t) {
        Ok(toml::Value::Table(t)) => t,
        _ => unreachable!("TrainConfig serialises to a table"),
    };
    let (old, new) = (table(&stored.train), table(&spec.recorded_train()));
    let diff: Vec<String> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(v))
        .map(|(k, v)| format!("train.{k} {} → {v}", old.get(k).map_or("(unset)".into(), |x| x.to_string())))
        .collect();
    if diff.is_empty() {
        "the data or the sweep seed".into()
    } else {
        diff.join(", ")
    }
}

/// A refit's results.
#[derive(Clone, Debug, PartialEq)]
pub struct RefitOutcome {
    pub done: usize,
    pub failed: usize,
    /// Done runs with a test accuracy: the runs the mean is over.
    pub n: usize,
    pub test: (Option<f64>, Option<f64>),
    pub(crate) test_ci: Option<MeanCi>,
    /// Accuracy of the ensemble of the done runs' test probabilities (`report::ensemble`).
    pub ensemble: Option<f64>,
}

pub(crate) const REFIT_HEADER: &str =
    "config,epochs,runs,done,test_acc_mean,test_acc_std,test_acc_ci_low,test_acc_ci_high,ensemble_test_acc";

/// The text of `refit.csv`: the header and the row of `refit`.
pub fn refit_csv(refit: &Refit, outcome: &RefitOutcome) -> String {
    let fmt = |v: Option<f64>| v.map_or(String::new(), crate::report::csv_number);
    let mut w = csv::Writer::from_writer(Vec::new());
    let row = [
        refit.config_id.clone(),
        refit.epochs.to_string(),
        refit.specs.len().to_string(),
        outcome.done.to_string(),
        fmt(outcome.test.0),
        fmt(outcome.test.1),
        fmt(outcome.test_ci.map(|c| c.low)),
        fmt(outcome.test_ci.map(|c| c.high)),
        fmt(outcome.ensemble),
    ];
    w.write_record(&row).expect("writes to memory");
    let row = String::from_utf8(w.into_inner().expect("writes to memory")).expect("utf-8");
    format!("{REFIT_HEADER}\n{row}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selected_epoch_count_is_the_lower_median() {
        for (case, values, median) in [
            ("none", &[][..], None),
            ("one", &[7][..], Some(7)),
            ("odd count", &[9, 3, 5][..], Some(5)),
            ("even count: the lower middle value", &[10, 2, 8, 4][..], Some(4)),
            ("ties", &[5, 5, 1, 9][..], Some(5)),
        ] {
            assert_eq!(lower_median(values), median, "{case}");
        }
    }

    #[test]
    fn refit_seeds_are_new_draws_per_configuration_and_run() {
        let a = derive_refit_seed(7, "baseline", 1);
        assert_eq!(a, derive_refit_seed(7, "baseline", 1));
        assert_ne!(a, derive_refit_seed(7, "baseline", 2));
        assert_ne!(a, derive_refit_seed(7, "hidden=8", 1));
        assert_ne!(a, derive_refit_seed(8, "baseline", 1));
        assert_ne!(a, crate::spec::plan::derive_seed(7, "baseline", 1), "not the sweep's run seed");
        assert!(a <= i64::MAX as u64, "config.toml stores it");
    }

    #[test]
    fn all_rows_reserves_nothing() {
        let data: DataConfig =
            toml::from_str("train = \"t.tsv\"\nresample = \"repeated-kfold\"\nfolds = 3\nstratify = true").unwrap();
        assert!(data.has_validation());
        let all = all_rows(&data);
        assert!(!all.has_validation());
        assert_eq!(all.train, data.train);
    }
}
