//! Percentile bootstrap confidence intervals over test rows (e.g. of an accuracy, or of the per-row
//! difference in correctness of two models), drawn from our own ChaCha stream so that the same seed
//! always gives the same interval on every platform.

use super::stream_rng;
use super::MeanCi;
use rand::Rng;

/// Upper bound on the number of resamples (a bootstrap interval needs a few thousand at most).
pub(crate) const MAX_RESAMPLES: usize = 100_000;

/// ChaCha stream of the bootstrap, distinct from the streams a run uses for training.
const BOOTSTRAP_STREAM: u64 = 16;

/// Percentile bootstrap CI of the mean of `values`: draw `resamples` resamples of the rows with
/// replacement, take the mean of each, and report the `(1−level)/2` and `(1+level)/2` quantiles of
/// those means (linear interpolation between order statistics, numpy's default `quantile`). The
/// point estimate is the mean of `values` itself.
///
/// `None` for no values, non-finite values, a level outside (0, 1), or `resamples` outside
/// 1..=[`MAX_RESAMPLES`]. Derive `seed` from the sweep seed (and what is compared), never from the
/// clock, so that a summary is reproducible.
pub(crate) fn bootstrap_mean_ci(values: &[f64], resamples: usize, level: f64, seed: u64) -> Option<MeanCi> {
    if values.is_empty()
        || !values.iter().all(|v| v.is_finite())
        || !super::is_level(level)
        || !(1..=MAX_RESAMPLES).contains(&resamples)
    {
        return None;
    }
    let n = values.len();
    let mut rng = stream_rng(seed, BOOTSTRAP_STREAM);
    let mut means: Vec<f64> =
        (0..resamples).map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64).collect();
    means.sort_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / n as f64;
    Some(MeanCi { mean, low: quantile(&means, (1.0 - level) / 2.0), high: quantile(&means, (1.0 + level) / 2.0) })
}

/// Percentile bootstrap CI of an accuracy from per-row correctness (see [`bootstrap_mean_ci`]).
pub(crate) fn bootstrap_accuracy_ci(correct: &[bool], resamples: usize, level: f64, seed: u64) -> Option<MeanCi> {
    let values: Vec<f64> = correct.iter().map(|&c| if c { 1.0 } else { 0.0 }).collect();
    bootstrap_mean_ci(&values, resamples, level, seed)
}

/// Quantile `q` of ascending `sorted` with linear interpolation (numpy `method="linear"`).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn correctness(n: usize, accuracy: f64, seed: u64) -> Vec<bool> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_bool(accuracy)).collect()
    }

    #[test]
    fn bootstrap_is_deterministic_for_a_seed_and_varies_with_it() {
        let correct = correctness(200, 0.7, 1);
        let first = bootstrap_accuracy_ci(&correct, 2000, 0.95, 42).unwrap();
        assert_eq!(bootstrap_accuracy_ci(&correct, 2000, 0.95, 42).unwrap(), first, "same seed");
        // Accuracies move in steps of 1/200, so use continuous values to see the stream change.
        let values: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64 / 101.0).collect();
        let a = bootstrap_mean_ci(&values, 2000, 0.95, 42).unwrap();
        assert_eq!(bootstrap_mean_ci(&values, 2000, 0.95, 42).unwrap(), a, "same seed, continuous");
        assert_ne!(bootstrap_mean_ci(&values, 2000, 0.95, 43).unwrap(), a, "another seed");
    }

    #[test]
    fn bootstrap_interval_contains_the_estimate_and_widens_with_the_level() {
        let correct = correctness(300, 0.6, 2);
        let ci90 = bootstrap_accuracy_ci(&correct, 2000, 0.9, 7).unwrap();
        let ci99 = bootstrap_accuracy_ci(&correct, 2000, 0.99, 7).unwrap();
        let accuracy = correct.iter().filter(|&&c| c).count() as f64 / 300.0;
        assert_eq!(ci90.mean, accuracy);
        assert!(ci90.low < accuracy && accuracy < ci90.high, "{ci90:?}");
        assert!(ci99.low <= ci90.low && ci90.high <= ci99.high, "{ci90:?} inside {ci99:?}");
        // Close to the normal-approximation half-width 1.645·√(p(1−p)/n) for a 90% interval.
        let normal = 1.645 * (accuracy * (1.0 - accuracy) / 300.0).sqrt();
        let half = (ci90.high - ci90.low) / 2.0;
        assert!((half - normal).abs() < 0.2 * normal, "half-width {half} vs normal {normal}");
    }

    #[test]
    fn bootstrap_95_interval_covers_the_true_accuracy_about_95_percent_of_the_time() {
        // 400 test sets of 150 rows from a model with true accuracy 0.7. The percentile bootstrap
        // of a proportion slightly undercovers at this size; anything from 90% to 99% is sane.
        let trials = 400;
        let covered = (0..trials)
            .filter(|&t| {
                let ci = bootstrap_accuracy_ci(&correctness(150, 0.7, 100 + t), 1000, 0.95, t).unwrap();
                ci.low <= 0.7 && 0.7 <= ci.high
            })
            .count();
        let coverage = covered as f64 / trials as f64;
        assert!((0.90..=0.99).contains(&coverage), "coverage {coverage}");
    }

    #[test]
    fn bootstrap_of_constant_values_is_that_value() {
        let ci = bootstrap_accuracy_ci(&[true; 20], 100, 0.95, 3).unwrap();
        assert_eq!((ci.low, ci.mean, ci.high), (1.0, 1.0, 1.0));
    }

    #[test]
    fn bootstrap_refuses_empty_input_bad_levels_and_unbounded_resamples() {
        assert_eq!(bootstrap_accuracy_ci(&[], 100, 0.95, 0), None, "no rows");
        assert_eq!(bootstrap_accuracy_ci(&[true], 0, 0.95, 0), None, "no resamples");
        assert_eq!(bootstrap_accuracy_ci(&[true], MAX_RESAMPLES + 1, 0.95, 0), None, "too many resamples");
        assert_eq!(bootstrap_accuracy_ci(&[true], 100, 1.0, 0), None, "level 1");
        assert_eq!(bootstrap_mean_ci(&[0.5, f64::NAN], 100, 0.95, 0), None, "NaN");
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        // np.quantile([1, 2, 4, 8], [0, 0.25, 0.5, 0.9, 1]) = [1, 1.75, 3, 6.8, 8]
        let sorted = [1.0, 2.0, 4.0, 8.0];
        for (q, want) in [(0.0, 1.0), (0.25, 1.75), (0.5, 3.0), (0.9, 6.8), (1.0, 8.0)] {
            assert!((quantile(&sorted, q) - want).abs() < 1e-12, "q = {q}");
        }
    }
}
