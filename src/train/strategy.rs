//! The training loop's policies as small types, each with its own tests (after
//! burn-train's `EarlyStoppingStrategy` and `CheckpointingStrategy`): which epoch is the
//! best by validation and when patience runs out, and on which epochs something periodic
//! (a test evaluation, a confusion matrix, a checkpoint, a plot) is due. The loop in `fit`
//! asks them; it decides nothing of this itself.

use super::fit::SetMetrics;
use super::options::StopOn;

/// An `*_every` key: every `n` epochs (`n = 0`: never, or only on the last epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cadence {
    every: usize,
}

impl Cadence {
    pub fn every(n: usize) -> Cadence {
        Cadence { every: n }
    }

    /// On the multiples of `n`.
    pub(crate) fn due(self, epoch: usize) -> bool {
        self.every > 0 && epoch.is_multiple_of(self.every)
    }

    /// On the multiples of `n` and on the phase's last epoch, which always gets the
    /// evaluation (so that the returned model is always scored).
    pub(crate) fn due_or_last(self, epoch: usize, last: bool) -> bool {
        last || self.due(epoch)
    }
}

/// The best epoch seen by validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Best {
    pub epoch: usize,
    pub valid_acc: Option<f64>,
}

/// Tracks the best epoch by the validation score (`early_stopping`: accuracy, or minus the
/// loss) and, with a patience, says when to stop and that the best epoch's model is the one
/// to return. Without a patience it still tracks the best epoch, which a refit trains for.
#[derive(Clone, Debug)]
pub(crate) struct EarlyStopping {
    on: StopOn,
    patience: Option<usize>,
    best: Option<Best>,
    best_score: f64,
    /// What `best()` says before any epoch has been scored: the phase's last epoch.
    fallback_epoch: usize,
}

impl EarlyStopping {
    /// `patience`: stop after that many epochs without a better score; `None` runs every epoch.
    pub fn new(on: StopOn, patience: Option<usize>, epochs: usize) -> EarlyStopping {
        EarlyStopping { on, patience, best: None, best_score: f64::NEG_INFINITY, fallback_epoch: epochs }
    }

    /// Whether the best epoch's model is kept and returned (rather than the last one).
    pub(crate) fn keeps_best_model(&self) -> bool {
        self.patience.is_some()
    }

    fn score(&self, valid: SetMetrics) -> f64 {
        match self.on {
            StopOn::ValidAcc => valid.acc,
            StopOn::ValidLoss => -valid.loss,
        }
    }

    /// Whether `valid` would be a new best: strictly better, so the first epoch reaching
    /// the best score stays the best.
    pub(crate) fn improves(&self, valid: SetMetrics) -> bool {
        self.score(valid) > self.best_score
    }

    /// Epochs since the best one (since the start while none has been scored).
    fn waited(&self, epoch: usize) -> usize {
        epoch - self.best.map_or(0, |b| b.epoch)
    }

    /// Whether `epoch` ends the phase if `valid` is its score, asked before it is observed
    /// (the test set and confusion matrices are evaluated on a phase's last epoch).
    pub(crate) fn would_stop(&self, epoch: usize, valid: Option<SetMetrics>) -> bool {
        self.patience.is_some_and(|p| valid.is_some_and(|v| !self.improves(v) && self.waited(epoch) >= p))
    }

    /// Records `epoch`'s validation score; true when it is the new best.
    pub(crate) fn observe(&mut self, epoch: usize, valid: SetMetrics) -> bool {
        let improves = self.improves(valid);
        if improves {
            self.best_score = self.score(valid);
            self.best = Some(Best { epoch, valid_acc: Some(valid.acc) });
        }
        improves
    }

    /// Whether to stop after `epoch` (once observed).
    pub(crate) fn should_stop(&self, epoch: usize) -> bool {
        self.patience.is_some_and(|p| self.waited(epoch) >= p)
    }

    /// What a run's saved state keeps of it: the best epoch and its score.
    pub fn saved(&self) -> (Option<Best>, f64) {
        (self.best, self.best_score)
    }

    /// Continues from [`EarlyStopping::saved`].
    pub fn restore(&mut self, best: Option<Best>, best_score: f64) {
        (self.best, self.best_score) = (best, best_score);
    }

    /// The best epoch so far (the phase's last epoch, with no score, before any).
    pub fn best(&self) -> Best {
        self.best.unwrap_or(Best { epoch: self.fallback_epoch, valid_acc: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(acc: f64) -> SetMetrics {
        SetMetrics { loss: 1.0 - acc, acc }
    }

    #[test]
    fn cadences_fall_on_multiples_and_zero_means_never_except_the_last_epoch() {
        let due: Vec<usize> = (1..=10).filter(|&e| Cadence::every(4).due(e)).collect();
        assert_eq!(due, [4, 8]);
        assert!(!(1..=10).any(|e| Cadence::every(0).due(e)));
        assert!(Cadence::every(0).due_or_last(7, true));
        assert!(!Cadence::every(3).due_or_last(7, false));
        assert!(Cadence::every(1).due(1));
    }

    #[test]
    fn the_first_epoch_reaching_the_best_score_is_the_best_and_patience_counts_from_it() {
        let mut s = EarlyStopping::new(StopOn::ValidAcc, Some(2), 10);
        let scores = [0.2, 0.5, 0.5, 0.4, 0.6];
        let mut stopped_at = None;
        for (i, &a) in scores.iter().enumerate() {
            let epoch = i + 1;
            s.observe(epoch, acc(a));
            if s.should_stop(epoch) {
                stopped_at = Some(epoch);
                break;
            }
        }
        // 0.5 first at epoch 2; epochs 3 (tie) and 4 do not improve: stop after epoch 4.
        assert_eq!(stopped_at, Some(4));
        assert_eq!(s.best(), Best { epoch: 2, valid_acc: Some(0.5) });
        assert!(s.keeps_best_model());
    }

    #[test]
    fn would_stop_predicts_should_stop_without_changing_the_state() {
        let mut s = EarlyStopping::new(StopOn::ValidAcc, Some(1), 10);
        s.observe(1, acc(0.5));
        assert!(s.would_stop(2, Some(acc(0.4))), "no improvement, patience 1 exhausted");
        assert!(!s.would_stop(2, Some(acc(0.6))), "an improvement never stops");
        assert!(!s.would_stop(2, None), "an epoch without validation never stops");
        assert_eq!(s.best().epoch, 1, "asking changed nothing");
        s.observe(2, acc(0.4));
        assert!(s.should_stop(2));
    }

    #[test]
    fn valid_loss_prefers_the_lower_loss_and_no_patience_never_stops() {
        let mut s = EarlyStopping::new(StopOn::ValidLoss, None, 5);
        assert_eq!(s.best(), Best { epoch: 5, valid_acc: None }, "before any score: the last epoch");
        for (epoch, loss) in [(1, 2.0), (2, 1.0), (3, 1.5), (4, 3.0), (5, 4.0)] {
            s.observe(epoch, SetMetrics { loss, acc: 0.1 * epoch as f64 });
            assert!(!s.should_stop(epoch));
            assert!(!s.would_stop(epoch, Some(SetMetrics { loss: 9.0, acc: 0.0 })));
        }
        assert_eq!(s.best().epoch, 2);
        assert!(!s.keeps_best_model());
    }

    #[test]
    fn a_nan_score_is_never_an_improvement() {
        let mut s = EarlyStopping::new(StopOn::ValidLoss, Some(3), 10);
        assert!(!s.observe(1, SetMetrics { loss: f64::NAN, acc: 0.0 }));
        assert_eq!(s.best().valid_acc, None);
        assert!(s.observe(2, SetMetrics { loss: 1.0, acc: 0.3 }));
    }
}
