//! Statistics for comparing configurations: confidence intervals, paired tests, multiple-testing
//! correction, resampling, ANOVA importance, rank tests and stratified folds.
//!
//! Every function is pure and pinned against SciPy / statsmodels / scikit-learn values computed by
//! `tests/fixtures/stats_reference.py` (the snippet that produced each number sits beside it).
//! Undefined results (too few samples, zero spread where a ratio needs one, mismatched lengths,
//! non-finite input) are `None`, so that callers write an empty cell rather than a misleading number.

pub mod anova;
pub mod bootstrap;
pub mod folds;
pub mod mcnemar;
pub mod ranks;
pub mod wilcoxon;

use crate::report::stats::mean_std;
use statrs::distribution::{ContinuousCDF, StudentsT};

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
fn t_interval_from(mean: f64, se: f64, df: f64, level: f64) -> Option<MeanCi> {
    if !(level > 0.0 && level < 1.0) || !mean.is_finite() || !se.is_finite() {
        return None;
    }
    let half = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf((1.0 + level) / 2.0) * se;
    Some(MeanCi { mean, low: mean - half, high: mean + half })
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
        .map(|(x, y)| match x.total_cmp(y) {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.0,
        })
        .sum();
    Some(wins / a.len() as f64)
}
