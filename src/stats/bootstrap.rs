//! Percentile bootstrap confidence intervals over test rows (e.g. of an accuracy, or of the per-row
//! difference in correctness of two models), drawn from our own ChaCha stream so that the same seed
//! always gives the same interval on every platform.

use super::MeanCi;
use crate::train::fit::stream_rng;
use rand::Rng;

/// Upper bound on the number of resamples (a bootstrap interval needs a few thousand at most).
pub const MAX_RESAMPLES: usize = 100_000;

/// ChaCha stream of the bootstrap, distinct from the streams a run uses for training.
const BOOTSTRAP_STREAM: u64 = 16;

/// Percentile bootstrap CI of the mean of `values`: draw `resamples` resamples of the rows with
/// replacement, take the mean of each, and report the `(1−level)/2` and `(1+level)/2` quantiles of
/// those means (linear interpolation between order statistics, numpy's default `quantile`). The
/// point estimate is the mean of `values` itself.
///
/// `None` for no values, non-finite values, a level outside (0, 1), or `resamples` outside
/// 1..=[`MAX_RESAMPLES`].
pub fn bootstrap_mean_ci(values: &[f64], resamples: usize, level: f64, seed: u64) -> Option<MeanCi> {
    if values.is_empty()
        || !values.iter().all(|v| v.is_finite())
        || !(level > 0.0 && level < 1.0)
        || !(1..=MAX_RESAMPLES).contains(&resamples)
    {
        return None;
    }
    let n = values.len();
    let mut rng = stream_rng(seed, BOOTSTRAP_STREAM);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / n as f64;
    Some(MeanCi { mean, low: quantile(&means, (1.0 - level) / 2.0), high: quantile(&means, (1.0 + level) / 2.0) })
}

/// Percentile bootstrap CI of an accuracy from per-row correctness (see [`bootstrap_mean_ci`]).
pub fn bootstrap_accuracy_ci(correct: &[bool], resamples: usize, level: f64, seed: u64) -> Option<MeanCi> {
    let values: Vec<f64> = correct.iter().map(|&c| if c { 1.0 } else { 0.0 }).collect();
    bootstrap_mean_ci(&values, resamples, level, seed)
}

/// Quantile `q` of ascending `sorted` with linear interpolation (numpy `method="linear"`).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}
