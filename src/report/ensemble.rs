//! Ensembles of repeats, from the runs' `predictions.npz` (`results::predictions`).
//!
//! The ensemble of a configuration averages the test-set class probabilities of its `done`
//! runs (in plan order) and predicts the class of the largest mean (the first one on a tie),
//! as InceptionTime is by definition an ensemble of five. Its accuracy is reported beside the
//! mean accuracy of the runs; between two configurations, McNemar's test on the test rows
//! and a bootstrap interval of the accuracy difference say whether the ensembles differ.
//!
//! Bootstrap intervals resample the test rows [`BOOTSTRAP_RESAMPLES`] times from the fixed
//! seed [`BOOTSTRAP_SEED`] (the same rows for every ensemble, so intervals of different
//! configurations compare), at level [`LEVEL`].

use super::summary::Records;
use crate::results::layout::run_dir;
use crate::results::predictions::{read_if_present, PredictionsError, SetPredictions, PREDICTIONS_FILE};
use crate::results::rundir::State;
use crate::spec::Plan;
use crate::stats::bootstrap::{bootstrap_accuracy_ci, bootstrap_mean_ci};
use crate::stats::mcnemar::{mcnemar, McNemar};
use crate::stats::MeanCi;
use std::path::Path;

pub(crate) const BOOTSTRAP_RESAMPLES: usize = 2000;
pub(crate) const BOOTSTRAP_SEED: u64 = 13;
pub(crate) const LEVEL: f64 = 0.95;

/// The ensemble of some runs' predictions on the same rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Ensemble {
    /// How many runs it averages.
    pub members: usize,
    pub classes: usize,
    pub label: Vec<u32>,
    /// Row-major `rows × classes` mean probabilities.
    pub mean_prob: Vec<f64>,
    pub predicted: Vec<u32>,
}

impl Ensemble {
    /// The mean of `members`' probabilities; `None` for no members. An error when they were
    /// not made on the same rows (labels or class count differ), naming the first that differs.
    pub fn of(members: &[SetPredictions], classes: usize) -> Result<Option<Ensemble>, String> {
        let Some(first) = members.first() else { return Ok(None) };
        let mut sum = vec![0.0f64; first.prob.len()];
        for (i, m) in members.iter().enumerate() {
            if m.label != first.label || m.prob.len() != sum.len() {
                return Err(format!("member {} was not scored on the same rows as member 1", i + 1));
            }
            sum.iter_mut().zip(&m.prob).for_each(|(s, &p)| *s += p as f64);
        }
        let n = members.len() as f64;
        let mean_prob: Vec<f64> = sum.into_iter().map(|s| s / n).collect();
        let predicted = crate::train::model::argmax_rows(&mean_prob, classes).map(|c| c as u32).collect();
        Ok(Some(Ensemble { members: members.len(), classes, label: first.label.clone(), mean_prob, predicted }))
    }

    /// Per row: whether the ensemble predicts the label.
    pub fn correct(&self) -> Vec<bool> {
        self.label.iter().zip(&self.predicted).map(|(l, p)| l == p).collect()
    }

    /// `None` for no rows.
    pub fn accuracy(&self) -> Option<f64> {
        let rows = self.label.len();
        (rows > 0).then(|| self.correct().into_iter().filter(|&c| c).count() as f64 / rows as f64)
    }

    /// Percentile bootstrap interval of the accuracy over the test rows (module doc).
    pub(crate) fn accuracy_ci(&self) -> Option<MeanCi> {
        bootstrap_accuracy_ci(&self.correct(), BOOTSTRAP_RESAMPLES, LEVEL, BOOTSTRAP_SEED)
    }
}

/// Two ensembles on the same test rows.
#[derive(Clone, Debug, PartialEq)]
pub struct EnsembleComparison {
    pub(crate) mcnemar: McNemar,
    /// accuracy(a) − accuracy(b), with its bootstrap interval over the rows.
    pub difference: MeanCi,
}

/// McNemar's test and the bootstrap interval of the accuracy difference; `None` when the
/// ensembles were not scored on the same rows, or there are none.
pub fn compare(a: &Ensemble, b: &Ensemble) -> Option<EnsembleComparison> {
    if a.label != b.label {
        return None;
    }
    let (ca, cb) = (a.correct(), b.correct());
    let diff: Vec<f64> = ca.iter().zip(&cb).map(|(&x, &y)| x as u8 as f64 - y as u8 as f64).collect();
    Some(EnsembleComparison {
        mcnemar: mcnemar(&ca, &cb)?,
        difference: bootstrap_mean_ci(&diff, BOOTSTRAP_RESAMPLES, LEVEL, BOOTSTRAP_SEED)?,
    })
}

/// The test-set ensemble of configuration `config` (index into `plan.configs`): reads the
/// predictions of its `done` runs only (per `records`), so its cost is the configuration's
/// repeats, whatever the sweep's size. `None` when it has no done run, no test set, or a done
/// run without predictions (`predictions = false`, or a directory from before they existed):
/// an ensemble of only some of the runs is never reported.
pub fn config_ensemble(
    root: &Path,
    plan: &Plan,
    config: usize,
    records: &Records,
) -> Result<Option<Ensemble>, PredictionsError> {
    if !plan.configs[config].train.outputs.predictions {
        return Ok(None);
    }
    let dirs = plan
        .runs
        .iter()
        .zip(&records.runs)
        .filter(|(run, rec)| run.config == config && rec.state == Some(State::Done))
        .map(|(run, _)| run_dir(root, &run.id));
    runs_ensemble(dirs)
}

/// The test-set ensemble of the runs in `dirs` (in that order): `None` without runs, or when
/// one has no predictions or no test set (an ensemble of only some of them is never reported);
/// an error naming the file whose rows or classes differ from the first run's.
pub(crate) fn runs_ensemble(
    dirs: impl IntoIterator<Item = std::path::PathBuf>,
) -> Result<Option<Ensemble>, PredictionsError> {
    let mut members = Vec::new();
    let mut classes = None;
    let mut first_path = None;
    for dir in dirs {
        let path = dir.join(PREDICTIONS_FILE);
        let Some(p) = read_if_present(&path)? else { return Ok(None) };
        let Some(test) = p.test else { return Ok(None) };
        let first = first_path.get_or_insert_with(|| path.clone());
        if *classes.get_or_insert(p.classes) != p.classes
            || members.first().is_some_and(|m: &SetPredictions| m.label != test.label)
        {
            return Err(PredictionsError {
                path,
                reason: format!(
                    "its test rows or classes differ from those of {}, a run of the same configuration",
                    first.display()
                ),
            });
        }
        members.push(test);
    }
    let Some(classes) = classes else { return Ok(None) };
    Ok(Ensemble::of(&members, classes).expect("members checked to agree"))
}

/// What the summary files keep of a configuration's ensemble: its accuracy with the bootstrap
/// interval over test rows (computed once, when one of its runs finishes), and which test rows
/// it gets right (for McNemar's test against another configuration's ensemble).
#[derive(Clone, Debug, PartialEq)]
pub struct EnsembleSummary {
    pub accuracy: f64,
    pub ci: Option<MeanCi>,
    pub correct: Vec<bool>,
}

impl EnsembleSummary {
    /// McNemar's test of this ensemble against `other` on the same test rows; `None` if the
    /// rows differ.
    pub(crate) fn mcnemar(&self, other: &EnsembleSummary) -> Option<McNemar> {
        mcnemar(&self.correct, &other.correct)
    }
}

/// [`config_ensemble`] reduced to what the summary keeps; `None` where there is no ensemble or
/// a predictions file cannot be read (an empty cell: the file's own error names it elsewhere).
pub(crate) fn config_summary(root: &Path, plan: &Plan, config: usize, records: &Records) -> Option<EnsembleSummary> {
    let e = config_ensemble(root, plan, config, records).ok().flatten()?;
    Some(EnsembleSummary { accuracy: e.accuracy()?, ci: e.accuracy_ci(), correct: e.correct() })
}

/// The `ensemble_test_acc` of `summary.csv` for configuration `config`: [`config_ensemble`]'s
/// accuracy, `None` (an empty cell) where there is no ensemble or a predictions file cannot
/// be read.
pub fn ensemble_test_acc(root: &Path, plan: &Plan, config: usize, records: &Records) -> Option<f64> {
    config_ensemble(root, plan, config, records).ok().flatten().and_then(|e| e.accuracy())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member's predictions on rows of class 0 of 2 classes: p(class 0) per row.
    fn member(p0: &[f32]) -> SetPredictions {
        SetPredictions {
            label: vec![0; p0.len()],
            predicted: p0.iter().map(|&p| if p >= 0.5 { 0 } else { 1 }).collect(),
            prob: p0.iter().flat_map(|&p| [p, 1.0 - p]).collect(),
        }
    }

    #[test]
    fn the_ensemble_of_repeats_can_beat_every_member() {
        // Each member misses a different row, mildly; the mean gets every row right.
        let members = [member(&[0.4, 0.9, 0.9]), member(&[0.9, 0.4, 0.9]), member(&[0.9, 0.9, 0.4])];
        for m in &members {
            assert_eq!(m.accuracy(), Some(2.0 / 3.0));
        }
        let e = Ensemble::of(&members, 2).unwrap().unwrap();
        assert_eq!(e.members, 3);
        assert_eq!(e.predicted, [0, 0, 0]);
        assert_eq!(e.accuracy(), Some(1.0));
        let p = e.mean_prob[0];
        assert!((p - (0.4 + 0.9 + 0.9) / 3.0).abs() < 1e-6, "{p}");
    }

    #[test]
    fn the_ensemble_is_the_argmax_of_the_mean_probability_not_a_majority_vote() {
        // Two members mildly wrong, one confidently right: a vote says class 1, the mean class 0.
        let e = Ensemble::of(&[member(&[0.45]), member(&[0.45]), member(&[1.0])], 2).unwrap().unwrap();
        assert_eq!(e.predicted, [0]);
        // A tie goes to the first class, as every argmax in pinniped does.
        let tie = Ensemble::of(&[member(&[0.25]), member(&[0.75])], 2).unwrap().unwrap();
        assert_eq!(tie.predicted, [0]);
    }

    #[test]
    fn members_scored_on_other_rows_are_an_error_and_no_members_no_ensemble() {
        let mut other = member(&[0.9, 0.9]);
        other.label[1] = 1;
        let e = Ensemble::of(&[member(&[0.9, 0.9]), other], 2).unwrap_err();
        assert!(e.contains("member 2"), "{e}");
        assert_eq!(Ensemble::of(&[], 2), Ok(None));
    }

    #[test]
    fn comparing_two_ensembles_counts_the_discordant_rows_and_bounds_the_difference() {
        let a = Ensemble::of(&[member(&[0.9, 0.9, 0.9, 0.1])], 2).unwrap().unwrap();
        let b = Ensemble::of(&[member(&[0.1, 0.9, 0.9, 0.9])], 2).unwrap().unwrap();
        let b2 = Ensemble::of(&[member(&[0.1, 0.1, 0.9, 0.9])], 2).unwrap().unwrap();
        let same = compare(&a, &b).unwrap();
        assert_eq!((same.mcnemar.only_a, same.mcnemar.only_b), (1, 1));
        assert_eq!(same.difference.mean, 0.0);
        let c = compare(&a, &b2).unwrap();
        assert_eq!((c.mcnemar.only_a, c.mcnemar.only_b), (2, 1));
        assert_eq!(c.difference.mean, 0.25);
        assert!(c.difference.low <= 0.25 && 0.25 <= c.difference.high, "{:?}", c.difference);
        assert_eq!(compare(&a, &b2), compare(&a, &b2), "a fixed seed: the same interval every time");
        let mut elsewhere = b.clone();
        elsewhere.label[0] = 1;
        assert!(compare(&a, &elsewhere).is_none());
        let ci = a.accuracy_ci().unwrap();
        assert_eq!(ci.mean, 0.75);
        assert!(ci.low < 0.75 && ci.high <= 1.0, "{ci:?}");
    }
}
