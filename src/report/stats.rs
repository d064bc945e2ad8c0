//! Small statistics helpers for reports: sample mean/std and Welch's t-test (with the
//! interval of the difference) from summary statistics, which is all a bare summary.csv keeps.

use crate::stats::MeanCi;
use statrs::distribution::{ContinuousCDF, StudentsT};

// Defined in `stats` (its intervals use it), which lies below `report`.
pub use crate::stats::mean_std;

/// Result of a two-sided Welch's t-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// `(m1 − m2) / se`, the same sign convention as `scipy.stats.ttest_ind(a, b)`.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Two-sided Welch's t-test (unequal variances) from summary statistics.
///
/// Returns `None` when the test is undefined: fewer than two samples on a side,
/// a negative std, or a non-finite input.
///
/// When both stds are 0 the standard error is 0 and Welch–Satterthwaite is 0/0.
/// Rather than refusing, we take the limit that matches intuition for repeats that
/// all landed on the same value (e.g. a deterministic run or a saturated accuracy):
/// equal means give `t = 0, p = 1`, different means give `t = ±inf, p = 0`.
/// `df` is then reported as the pooled `n1 + n2 − 2`, since the Welch value has no limit.
pub fn welch(m1: f64, s1: f64, n1: usize, m2: f64, s2: f64, n2: usize) -> Option<Welch> {
    let (se, df) = welch_se_df(s1, n1, s2, n2)?;
    if !m1.is_finite() || !m2.is_finite() {
        return None;
    }
    if se == 0.0 {
        return Some(if m1 == m2 {
            Welch { t: 0.0, df, p: 1.0 }
        } else {
            let t = if m1 > m2 { f64::INFINITY } else { f64::NEG_INFINITY };
            Welch { t, df, p: 0.0 }
        });
    }
    let t = (m1 - m2) / se;
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    // 2·cdf(−|t|) rather than 2·(1 − cdf(|t|)) keeps precision for tiny p.
    let p = (2.0 * dist.cdf(-t.abs())).min(1.0);
    Some(Welch { t, df, p })
}

/// Standard error of `m1 − m2` and the Welch–Satterthwaite degrees of freedom (the pooled
/// `n1 + n2 − 2` when both stds are 0, see [`welch`]); `None` where [`welch`] is undefined.
fn welch_se_df(s1: f64, n1: usize, s2: f64, n2: usize) -> Option<(f64, f64)> {
    if n1 < 2 || n2 < 2 || !s1.is_finite() || !s2.is_finite() || s1 < 0.0 || s2 < 0.0 {
        return None;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let (v1, v2) = (s1 * s1 / n1f, s2 * s2 / n2f);
    let se2 = v1 + v2;
    if se2 == 0.0 {
        return Some((0.0, n1f + n2f - 2.0));
    }
    Some((se2.sqrt(), se2 * se2 / (v1 * v1 / (n1f - 1.0) + v2 * v2 / (n2f - 1.0))))
}

/// The `level` confidence interval of `m1 − m2` that goes with [`welch`]: `(m1 − m2) ± t(df,
/// (1+level)/2) · se` (`scipy.stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)`).
/// `None` where [`welch`] is undefined or the level is not in (0, 1); both stds 0 give the
/// zero-width interval.
pub(crate) fn welch_interval(m1: f64, s1: f64, n1: usize, m2: f64, s2: f64, n2: usize, level: f64) -> Option<MeanCi> {
    let (se, df) = welch_se_df(s1, n1, s2, n2)?;
    crate::stats::t_interval_from(m1 - m2, se, df, level)
}

/// `0.8123 ± 0.0100 [0.7900, 0.8300]`: a mean with its spread and interval, each part only
/// when defined; `-` without a mean. The one text of a result for the terminal (run, refit, watch).
pub(crate) fn mean_spread_ci(mean: Option<f64>, std: Option<f64>, ci: Option<MeanCi>) -> String {
    let Some(mean) = mean else { return "-".into() };
    let mut s = format!("{mean:.4}");
    if let Some(std) = std {
        s += &format!(" ± {std:.4}");
    }
    if let Some(ci) = ci {
        s += &format!(" [{:.4}, {:.4}]", ci.low, ci.high);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    fn assert_welch(w: Welch, t: f64, df: f64, p: f64) {
        assert!(close(w.t, t, 1e-12), "t: {} vs {}", w.t, t);
        assert!(close(w.df, df, 1e-12), "df: {} vs {}", w.df, df);
        assert!(close(w.p, p, 1e-9), "p: {} vs {}", w.p, p);
    }

    /// Welch from raw samples, via `mean_std`, so the reference can be the scipy call on the same data.
    fn welch_samples(a: &[f64], b: &[f64]) -> Welch {
        let (m1, s1) = mean_std(a);
        let (m2, s2) = mean_std(b);
        welch(m1.unwrap(), s1.unwrap(), a.len(), m2.unwrap(), s2.unwrap(), b.len()).unwrap()
    }

    #[test]
    fn mean_std_basic() {
        assert_eq!(mean_std(&[]), (None, None));
        assert_eq!(mean_std(&[3.5]), (Some(3.5), None));
        // [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, sum of squares 32, sample var 32/7.
        let (m, s) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m, Some(5.0));
        assert!(close(s.unwrap(), (32.0f64 / 7.0).sqrt(), 1e-15));
    }

    // Reference values:
    //   from scipy import stats
    //   stats.ttest_ind([0.91, 0.92, 0.93, 0.95], [0.88, 0.90, 0.89], equal_var=False)
    //   # statistic=3.6380343755449958, pvalue=0.015752005371269483, df=4.84959602237415
    // By hand: m1 = 3.71/4 = 0.9275, s1² = (0.0175²+0.0075²+0.0025²+0.0225²)/3 = 0.000875/3,
    //   v1 = s1²/4 = 7.2917e-5; m2 = 0.89, s2² = (0.01²+0.01²+0)/2 = 1e-4, v2 = s2²/3 = 3.3333e-5.
    //   t = (0.9275 − 0.89)/√(v1+v2) = 0.0375/0.0103078 = 3.63803
    //   df = (v1+v2)² / (v1²/3 + v2²/2) = 1.12891e-8 / (1.77228e-9 + 5.55556e-10) = 4.84960
    #[test]
    fn welch_unequal_n_unequal_var() {
        let w = welch_samples(&[0.91, 0.92, 0.93, 0.95], &[0.88, 0.90, 0.89]);
        assert_welch(w, 3.6380343755449958, 4.84959602237415, 0.015752005371269483);
    }

    // stats.ttest_ind([1, 2, 3, 4, 5], [2, 4, 6, 8, 10, 12, 14], equal_var=False)
    // # statistic=-2.809757434745082, pvalue=0.02274725527967092, df=8.037105751391467
    // By hand: m1 = 3, s1² = 10/4 = 2.5, v1 = 0.5; m2 = 8, s2² = 112/6 = 18.667, v2 = 2.6667.
    //   t = −5/√3.1667 = −2.80976; df = 3.1667² / (0.25/4 + 7.1111/6) = 10.0278/1.24769 = 8.03711
    #[test]
    fn welch_large_variance_ratio() {
        let w = welch_samples(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
        assert_welch(w, -2.809757434745082, 8.037105751391467, 0.02274725527967092);
    }

    // stats.ttest_ind([10.1, 9.8, 10.3], [10.9, 11.4, 10.7], equal_var=False)
    // # statistic=-3.6765801200722295, pvalue=0.025852646652123577, df=3.574920297555789
    // By hand: m1 = 10.0667, s1² = 0.063333, v1 = 0.021111; m2 = 11, s2² = 0.13, v2 = 0.043333.
    //   t = −0.93333/√0.064444 = −3.67658; df = 0.064444² / (0.021111²/2 + 0.043333²/2) = 3.57492
    #[test]
    fn welch_equal_n() {
        let w = welch_samples(&[10.1, 9.8, 10.3], &[10.9, 11.4, 10.7]);
        assert_welch(w, -3.6765801200722295, 3.574920297555789, 0.025852646652123577);
    }

    // One side constant: df collapses to n2 − 1.
    // stats.ttest_ind([1., 1., 1.], [2., 3., 4.], equal_var=False)
    // # statistic=-3.464101615137755, pvalue=0.07417990022744854, df=2.0
    #[test]
    fn welch_one_side_zero_std() {
        let w = welch(1.0, 0.0, 3, 3.0, 1.0, 3).unwrap();
        assert_welch(w, -3.464101615137755, 2.0, 0.07417990022744854);
    }

    /// `stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)` on the samples above:
    /// `[0.91, 0.92, 0.93, 0.95]` vs `[0.88, 0.90, 0.89]` at 95% → (0.010753961409800176, 0.06424603859019978);
    /// `[1, 2, 3, 4, 5]` vs `[2, 4, …, 14]` at 95% → (-9.100269077562459, -0.8997309224375414), at 90% → (-8.307110518019389, -1.6928894819806128);
    /// `[1., 1., 1.]` vs `[2., 3., 4.]` at 95% → (-4.48413771175033, 0.4841377117503298).
    #[test]
    fn welch_interval_matches_scipy_confidence_interval() {
        /// (case, a, b, level, SciPy's interval of mean(a) − mean(b))
        type Case = (&'static str, &'static [f64], &'static [f64], f64, [f64; 2]);
        let cases: [Case; 4] = [
            (
                "large variance ratio",
                &[1.0, 2.0, 3.0, 4.0, 5.0],
                &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0],
                0.95,
                [-9.100269077562459, -0.8997309224375414],
            ),
            (
                "unequal n",
                &[0.91, 0.92, 0.93, 0.95],
                &[0.88, 0.90, 0.89],
                0.95,
                [0.010753961409800176, 0.06424603859019978],
            ),
            (
                "90%",
                &[1.0, 2.0, 3.0, 4.0, 5.0],
                &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0],
                0.9,
                [-8.307110518019389, -1.6928894819806128],
            ),
            ("one side constant", &[1.0, 1.0, 1.0], &[2.0, 3.0, 4.0], 0.95, [-4.48413771175033, 0.4841377117503298]),
        ];
        for (case, a, b, level, [low, high]) in cases {
            let ((m1, s1), (m2, s2)) = (mean_std(a), mean_std(b));
            let ci =
                welch_interval(m1.unwrap(), s1.unwrap(), a.len(), m2.unwrap(), s2.unwrap(), b.len(), level).unwrap();
            assert!(close(ci.low, low, 1e-10) && close(ci.high, high, 1e-10), "{case}: {ci:?} vs ({low}, {high})");
            assert!(close(ci.mean, m1.unwrap() - m2.unwrap(), 1e-15), "{case}: centre");
        }
        assert_eq!(welch_interval(0.5, 0.1, 1, 0.4, 0.1, 3, 0.95), None, "one value on a side");
        assert_eq!(welch_interval(0.5, 0.1, 3, 0.4, 0.1, 3, 1.0), None, "level 1");
        let flat = welch_interval(0.7, 0.0, 3, 0.5, 0.0, 4, 0.95).unwrap();
        assert!(close(flat.low, 0.2, 1e-15) && close(flat.high, 0.2, 1e-15), "zero spread: {flat:?}");
    }

    #[test]
    fn welch_is_antisymmetric() {
        let ab = welch(0.9275, 0.017, 4, 0.89, 0.01, 3).unwrap();
        let ba = welch(0.89, 0.01, 3, 0.9275, 0.017, 4).unwrap();
        assert_eq!(ab.t, -ba.t);
        assert_eq!(ab.df, ba.df);
        assert_eq!(ab.p, ba.p);
    }

    #[test]
    fn welch_edge_cases() {
        assert_eq!(welch(1.0, 0.1, 1, 2.0, 0.1, 5), None);
        assert_eq!(welch(1.0, 0.1, 5, 2.0, 0.1, 0), None);
        assert_eq!(welch(f64::NAN, 0.1, 5, 2.0, 0.1, 5), None);
        assert_eq!(welch(1.0, -0.1, 5, 2.0, 0.1, 5), None);
        assert_eq!(welch(0.5, 0.0, 3, 0.5, 0.0, 4), Some(Welch { t: 0.0, df: 5.0, p: 1.0 }));
        let w = welch(0.5, 0.0, 3, 0.7, 0.0, 4).unwrap();
        assert_eq!((w.t, w.p), (f64::NEG_INFINITY, 0.0));
        let w = welch(0.7, 0.0, 3, 0.5, 0.0, 4).unwrap();
        assert_eq!((w.t, w.p), (f64::INFINITY, 0.0));
    }

    #[test]
    fn welch_tiny_p_keeps_precision() {
        // Huge separation: p must be a small positive number, not 0 from 1 − cdf cancellation.
        let w = welch(0.0, 0.01, 20, 1.0, 0.01, 20).unwrap();
        assert!(w.p > 0.0 && w.p < 1e-30, "p = {}", w.p);
    }
}
