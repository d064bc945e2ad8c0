//! A run's predictions on its validation and test rows, as `fit` returns them; their
//! file (`predictions.npz`) belongs to `results::predictions`.

use super::model::{argmax_rows, softmax_rows};
use super::real::Real;
use crate::memory::{try_with_capacity, AllocError};

/// One set's predictions: `rows` labels and predictions, `rows × classes` probabilities.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetPredictions {
    pub label: Vec<u32>,
    pub predicted: Vec<u32>,
    /// Row-major, `rows × classes`.
    pub prob: Vec<f32>,
}

impl SetPredictions {
    /// From the model's class scores `out` (`rows × classes`) on rows labelled `labels`.
    pub(crate) fn from_scores<T: Real>(out: &[T], labels: &[u32], classes: usize) -> Result<Self, AllocError> {
        let mut prob = try_with_capacity(out.len(), "the run's predictions")?;
        softmax_rows(out, classes, &mut prob);
        let mut predicted = try_with_capacity(labels.len(), "the run's predictions")?;
        predicted.extend(argmax_rows(out, classes).map(|c| c as u32));
        Ok(SetPredictions { label: labels.to_vec(), predicted, prob })
    }

    pub fn rows(&self) -> usize {
        self.label.len()
    }

    /// Per row: whether the prediction is the label.
    pub fn correct(&self) -> Vec<bool> {
        self.label.iter().zip(&self.predicted).map(|(l, p)| l == p).collect()
    }

    /// `None` for no rows.
    pub fn accuracy(&self) -> Option<f64> {
        let hits = self.correct().into_iter().filter(|&c| c).count();
        (self.rows() > 0).then(|| hits as f64 / self.rows() as f64)
    }
}

/// The contents of `predictions.npz`.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    pub classes: usize,
    /// Row of the training file of each validation row.
    pub valid_row: Vec<usize>,
    pub valid: SetPredictions,
    pub test: Option<SetPredictions>,
}
