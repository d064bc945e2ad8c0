//! Statistics for comparing configurations: confidence intervals, paired tests, multiple-testing
//! correction, resampling, ANOVA importance, rank tests and stratified folds.
//!
//! | question | function |
//! |---|---|
//! | CI of a mean over repeats | [`t_interval`] |
//! | A vs B over paired repeats (same split per repeat) | [`paired_t`], [`wilcoxon::wilcoxon`], [`prob_a_beats_b`] |
//! | A vs B over the folds of (repeated) k-fold | [`corrected_resampled_t`] (Nadeau–Bengio) |
//! | many comparisons at once | [`holm`] on their p-values |
//! | two models on the same test rows | [`mcnemar::mcnemar`], [`bootstrap::bootstrap_mean_ci`] of the per-row difference |
//! | CI of one model's test accuracy | [`bootstrap::bootstrap_accuracy_ci`] |
//! | which axes of a grid matter | [`anova::anova_main_effects`] |
//! | methods over several datasets | [`ranks::friedman`], [`ranks::critical_difference`] |
//! | k-fold splits shared by all configurations | [`folds::fold_of_row`] |
//! | quasi-random points of a sweep design | [`sobol::point`] (unscrambled, as SciPy's `qmc.Sobol`) |
//!
//! The tests pin every test statistic, p-value and interval against SciPy / statsmodels values
//! computed by `tests/fixtures/stats_reference.py` (`reference.rs`, the snippet beside each number);
//! the bootstrap and the folds, which use our own ChaCha streams, are checked by their properties.
//! Undefined results (too few samples, mismatched lengths, non-finite input) are `None`, so that
//! callers write an empty cell rather than a misleading number.

pub mod anova;
pub(crate) mod bootstrap;
pub mod folds;
pub(crate) mod mcnemar;
pub mod ranks;
pub mod sobol;
pub mod wilcoxon;

#[cfg(test)]
#[rustfmt::skip]
mod reference;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Independent random streams of one run (and of a bootstrap), so that (say) adding dropout never
/// changes the initial weights or the shuffles.
pub fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Sample mean and standard deviation (n−1 denominator).
///
/// The mean is `None` for an empty slice and the std is `None` for fewer than two
/// values, so that callers write an empty cell rather than a misleading 0.
pub fn mean_std(xs: &[f64]) -> (Option<f64>, Option<f64>) {
    if xs.is_empty() {
        return (None, None);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (Some(mean), None);
    }
    let ss: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
    (Some(mean), Some((ss / (n - 1.0)).sqrt()))
}

/// A confidence interval for a mean (or a mean difference).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanCi {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

/// Two-sided `level` confidence interval of the mean of `xs`: `mean ± t(n−1, (1+level)/2) · s/√n`,
/// with `s` the sample std (n−1 denominator) — `scipy.stats.t.interval(level, n−1, mean, sem)`.
///
/// `None` for n < 2 (one value says nothing about spread, so no interval exists), for a level outside
/// (0, 1) and for non-finite values. Identical values give the zero-width interval `[mean, mean]`.
pub fn t_interval(xs: &[f64], level: f64) -> Option<MeanCi> {
    let (mean, std) = mean_std(xs);
    let (mean, std) = (mean?, std?);
    t_interval_from(mean, std / (xs.len() as f64).sqrt(), (xs.len() - 1) as f64, level)
}

/// `mean ± t(df, (1+level)/2) · se`.
pub(crate) fn t_interval_from(mean: f64, se: f64, df: f64, level: f64) -> Option<MeanCi> {
    if !is_level(level) || !mean.is_finite() || !se.is_finite() {
        return None;
    }
    let half = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf((1.0 + level) / 2.0) * se;
    Some(MeanCi { mean, low: mean - half, high: mean + half })
}

/// A confidence level strictly between 0 and 1 (NaN is not one).
pub(crate) fn is_level(level: f64) -> bool {
    level > 0.0 && level < 1.0
}

/// Two-sided p-value of a t statistic; `2·cdf(−|t|)` keeps precision for tiny p.
fn t_two_sided_p(t: f64, df: f64) -> Option<f64> {
    Some((2.0 * StudentsT::new(0.0, 1.0, df).ok()?.cdf(-t.abs())).min(1.0))
}

/// A paired test of `a − b`: the mean difference, its confidence interval, the t statistic and the
/// two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedT {
    /// Mean of `a[i] − b[i]` with its confidence interval.
    pub diff: MeanCi,
    /// Same sign convention as `scipy.stats.ttest_rel(a, b)`.
    pub t: f64,
    pub df: f64,
    pub p: f64,
}

/// Paired t-test of `a` against `b` (`scipy.stats.ttest_rel(a, b)`), with the `level` CI of the mean
/// difference (`ttest_rel(a, b).confidence_interval(level)`).
///
/// `None` for fewer than two pairs, mismatched lengths or non-finite values. When every difference is
/// the same (zero spread) the test takes the limit, as `report::stats::welch` does: all-zero
/// differences give `t = 0, p = 1`; a constant non-zero difference gives `t = ±inf, p = 0`.
pub fn paired_t(a: &[f64], b: &[f64], level: f64) -> Option<PairedT> {
    let d = differences(a, b)?;
    let factor = 1.0 / d.len() as f64;
    t_of_differences(&d, factor, level)
}

/// The Nadeau–Bengio (2003) corrected resampled t-test, for differences measured on the `J` folds
/// (or repetitions × folds) of k-fold / repeated k-fold cross-validation.
///
/// The folds share training rows, so the differences are correlated and the plain paired t-test is
/// far too liberal. Nadeau and Bengio inflate the variance of the mean difference from `σ²/J` to
///
/// ```text
///     σ̂² · (1/J + n_test/n_train),   t = mean(d) / √(σ̂² · (1/J + n_test/n_train)),   df = J − 1
/// ```
///
/// where `σ̂²` is the sample variance (n−1 denominator) of the `J` differences and `n_test` /
/// `n_train` are the rows validated / trained on in one fold (k-fold: `n_test/n_train = 1/(k−1)`).
/// This is `corrected_std` / `compute_corrected_ttest` of scikit-learn's "Statistical comparison of
/// models using grid search" example, except that the p-value here is two-sided (the example's is
/// one-sided, `t.sf(|t|, df)`: half of ours). The CI uses the same corrected standard error.
/// Edge cases as for [`paired_t`]; `None` too when `n_train` is 0.
pub fn corrected_resampled_t(a: &[f64], b: &[f64], n_train: usize, n_test: usize, level: f64) -> Option<PairedT> {
    let d = differences(a, b)?;
    if n_train == 0 {
        return None;
    }
    let factor = 1.0 / d.len() as f64 + n_test as f64 / n_train as f64;
    t_of_differences(&d, factor, level)
}

fn differences(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    d.iter().all(|x| x.is_finite()).then_some(d)
}

/// t-test that the mean of `d` is 0 with standard error `√(var(d) · factor)`.
fn t_of_differences(d: &[f64], factor: f64, level: f64) -> Option<PairedT> {
    let (mean, std) = mean_std(d);
    let (mean, std) = (mean?, std?);
    let df = (d.len() - 1) as f64;
    let se = (std * std * factor).sqrt();
    let diff = t_interval_from(mean, se, df, level)?;
    if se == 0.0 {
        let (t, p) = if mean == 0.0 { (0.0, 1.0) } else { (f64::INFINITY.copysign(mean), 0.0) };
        return Some(PairedT { diff, t, df, p });
    }
    let t = mean / se;
    Some(PairedT { diff, t, df, p: t_two_sided_p(t, df)? })
}

/// Holm–Bonferroni step-down adjusted p-values, in the order given (statsmodels
/// `multipletests(p, method="holm")[1]`): with the m p-values sorted ascending,
/// `adj(i) = min(1, max_{j ≤ i} (m − j) · p(j))` (0-based j).
///
/// A non-finite entry (an undefined test) is not part of the family: it stays NaN and does not count
/// in m. Rejecting where `adj ≤ α` controls the family-wise error rate at α.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// P(A > B) over paired repeats (Bouthillier et al. 2021, "Accounting for variance in machine
/// learning benchmarks"): the fraction of pairs where `a[i] > b[i]`, ties counted half.
/// 0.5 means neither tends to win. `None` for no pairs, mismatched lengths or non-finite values.
pub fn prob_a_beats_b(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() || !a.iter().chain(b).all(|x| x.is_finite()) {
        return None;
    }
    let wins: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| match x.partial_cmp(y) {
            Some(std::cmp::Ordering::Greater) => 1.0,
            Some(std::cmp::Ordering::Equal) => 0.5,
            _ => 0.0,
        })
        .sum();
    Some(wins / a.len() as f64)
}

/// Shared by the tests of every stats module.
#[cfg(test)]
pub(crate) mod testing {
    /// Relative + absolute tolerance against the SciPy / statsmodels values.
    pub const TOL: f64 = 1e-10;

    /// `|actual − expected| ≤ TOL · max(1, |expected|)`, naming the case on failure.
    #[track_caller]
    pub fn assert_close(case: &str, actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() <= TOL * expected.abs().max(1.0),
            "{case}: got {actual}, expected {expected} (difference {})",
            actual - expected
        );
    }
}

#[cfg(test)]
mod tests {
    use super::reference::*;
    use super::testing::assert_close;
    use super::*;

    fn assert_ci(case: &str, ci: MeanCi, expected: [f64; 2]) {
        assert_close(&format!("{case} low"), ci.low, expected[0]);
        assert_close(&format!("{case} high"), ci.high, expected[1]);
        assert_close(&format!("{case} centre"), ci.mean, (expected[0] + expected[1]) / 2.0);
    }

    /// `[t, p, df, ci_low, ci_high]` as `ttest_rel_summary` / `nadeau_bengio` in the fixture script.
    fn assert_paired(case: &str, r: PairedT, expected: [f64; 5]) {
        assert_close(&format!("{case} t"), r.t, expected[0]);
        assert_close(&format!("{case} p"), r.p, expected[1]);
        assert_close(&format!("{case} df"), r.df, expected[2]);
        assert_close(&format!("{case} ci low"), r.diff.low, expected[3]);
        assert_close(&format!("{case} ci high"), r.diff.high, expected[4]);
    }

    #[test]
    fn t_interval_matches_scipy_at_every_level() {
        for (case, level, expected) in
            [("95%", 0.95, T_INTERVAL_95), ("80%", 0.8, T_INTERVAL_80), ("99%", 0.99, T_INTERVAL_99)]
        {
            assert_ci(case, t_interval(&CI_X, level).unwrap(), expected);
        }
        // Two values: one degree of freedom, the widest t quantile.
        assert_ci("n = 2", t_interval(&CI_PAIR, 0.95).unwrap(), T_INTERVAL_PAIR_95);
    }

    #[test]
    fn t_interval_is_undefined_for_one_value_a_bad_level_or_non_finite_input() {
        assert_eq!(t_interval(&[], 0.95), None);
        assert_eq!(t_interval(&[0.7], 0.95), None);
        for level in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert_eq!(t_interval(&CI_X, level), None, "level {level}");
        }
        assert_eq!(t_interval(&[0.5, f64::NAN, 0.7], 0.95), None);
        assert_eq!(t_interval(&[0.5, f64::INFINITY], 0.95), None);
    }

    #[test]
    fn t_interval_of_identical_values_has_zero_width() {
        let ci = t_interval(&[0.25; 4], 0.95).unwrap();
        assert_eq!((ci.low, ci.mean, ci.high), (0.25, 0.25, 0.25));
    }

    #[test]
    fn paired_t_matches_scipy_ttest_rel_and_its_confidence_interval() {
        assert_paired("95%", paired_t(&PAIRED_A, &PAIRED_B, 0.95).unwrap(), PAIRED_T_95);
        assert_paired("90%", paired_t(&PAIRED_A, &PAIRED_B, 0.9).unwrap(), PAIRED_T_90);
        assert_paired("b vs a", paired_t(&PAIRED_B, &PAIRED_A, 0.95).unwrap(), PAIRED_T_REVERSED);
    }

    #[test]
    fn paired_t_edge_cases() {
        assert_eq!(paired_t(&[0.5], &[0.4], 0.95), None, "one pair");
        assert_eq!(paired_t(&[0.5, 0.6], &[0.4], 0.95), None, "mismatched lengths");
        assert_eq!(paired_t(&[0.5, f64::NAN], &[0.4, 0.3], 0.95), None, "NaN");
        let same = paired_t(&[0.5, 0.6, 0.7], &[0.5, 0.6, 0.7], 0.95).unwrap();
        assert_eq!((same.t, same.p, same.diff.low, same.diff.high), (0.0, 1.0, 0.0, 0.0), "identical");
        let shifted = paired_t(&[0.5, 0.75, 1.0], &[0.25, 0.5, 0.75], 0.95).unwrap();
        assert_eq!((shifted.t, shifted.p), (f64::INFINITY, 0.0), "constant positive difference");
        let shifted = paired_t(&[0.25, 0.5, 0.75], &[0.5, 0.75, 1.0], 0.95).unwrap();
        assert_eq!((shifted.t, shifted.p), (f64::NEG_INFINITY, 0.0), "constant negative difference");
    }

    #[test]
    fn nadeau_bengio_matches_the_reference_and_is_more_conservative_than_plain_paired_t() {
        let corrected = corrected_resampled_t(&NB_A, &NB_B, 171, 43, 0.95).unwrap();
        assert_paired("corrected", corrected, NADEAU_BENGIO_95);
        let plain = paired_t(&NB_A, &NB_B, 0.95).unwrap();
        assert_paired("plain", plain, NADEAU_BENGIO_PLAIN);
        assert!(corrected.p > plain.p && corrected.diff.high - corrected.diff.low > plain.diff.high - plain.diff.low);
        // With n_test = 0 the correction vanishes and it is the plain paired t-test.
        assert_eq!(corrected_resampled_t(&NB_A, &NB_B, 171, 0, 0.95), Some(plain));
        assert_eq!(corrected_resampled_t(&NB_A, &NB_B, 0, 43, 0.95), None, "no training rows");
    }

    #[test]
    fn holm_matches_statsmodels_multipletests() {
        for (i, (&got, &want)) in holm(&HOLM_P).iter().zip(&HOLM_ADJUSTED).enumerate() {
            assert_close(&format!("p[{i}] = {}", HOLM_P[i]), got, want);
        }
    }

    #[test]
    fn holm_leaves_undefined_tests_out_of_the_family() {
        let mut with_gaps = vec![f64::NAN];
        with_gaps.extend(HOLM_P);
        with_gaps.push(f64::NAN);
        let adjusted = holm(&with_gaps);
        assert!(adjusted[0].is_nan() && adjusted[with_gaps.len() - 1].is_nan());
        assert_eq!(&adjusted[1..=HOLM_P.len()], &holm(&HOLM_P)[..], "NaNs must not count in m");
        assert_eq!(holm(&[]), Vec::<f64>::new());
        assert_eq!(holm(&[0.03]), vec![0.03], "a family of one is not adjusted");
    }

    #[test]
    fn holm_adjusted_values_are_monotone_in_the_raw_values_and_capped_at_one() {
        let p = [0.3, 0.001, 0.9, 0.04, 0.04, 0.0];
        let adjusted = holm(&p);
        for i in 0..p.len() {
            assert!(adjusted[i] >= p[i] && adjusted[i] <= 1.0, "p[{i}]");
            for j in 0..p.len() {
                if p[i] < p[j] {
                    assert!(adjusted[i] <= adjusted[j], "order of p[{i}] and p[{j}]");
                }
            }
        }
        assert_eq!(adjusted[3], adjusted[4], "equal p-values get equal adjusted values");
    }

    #[test]
    fn prob_a_beats_b_counts_ties_half() {
        for (case, a, b, expected) in [
            ("a always wins", vec![0.9, 0.8], vec![0.1, 0.2], 1.0),
            ("b always wins", vec![0.1, 0.2], vec![0.9, 0.8], 0.0),
            ("all ties", vec![0.5, 0.5], vec![0.5, 0.5], 0.5),
            ("win, loss, tie, win", vec![0.6, 0.4, 0.5, 0.7], vec![0.5, 0.5, 0.5, 0.6], 0.625),
            ("zero and negative zero tie", vec![0.0], vec![-0.0], 0.5),
        ] {
            assert_eq!(prob_a_beats_b(&a, &b), Some(expected), "{case}");
        }
        assert_eq!(prob_a_beats_b(&[], &[]), None);
        assert_eq!(prob_a_beats_b(&[0.5], &[0.5, 0.6]), None);
        assert_eq!(prob_a_beats_b(&[f64::NAN], &[0.5]), None);
    }
}
