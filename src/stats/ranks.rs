//! Comparing several methods over several datasets (Demšar 2006): the Friedman test on ranks, the
//! average ranks, and the cliques of a critical-difference diagram built the way aeon's
//! `plot_critical_difference` builds them with its defaults (`test="wilcoxon"`, `correction="holm"`).
//!
//! `scores[d][m]` is the score of method m on dataset d; higher is better (rank 1 = best).

use super::wilcoxon::{average_ranks, wilcoxon, Alternative};
use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal};

#[derive(Debug, Clone, PartialEq)]
pub struct Friedman {
    /// Tie-corrected χ² statistic, as `scipy.stats.friedmanchisquare(*columns)`.
    pub statistic: f64,
    pub df: f64,
    pub p: f64,
    /// Mean over datasets of each method's rank (1 = highest score, ties share the average rank).
    pub(crate) average_ranks: Vec<f64>,
}

/// Friedman test that all methods rank alike. `None` with fewer than 3 methods (SciPy refuses too),
/// no dataset, ragged rows, non-finite scores, or when every dataset ties every method.
pub fn friedman(scores: &[Vec<f64>]) -> Option<Friedman> {
    let methods = scores.first()?.len();
    if methods < 3 || scores.iter().any(|row| row.len() != methods || !row.iter().all(|x| x.is_finite())) {
        return None;
    }
    let (n, k) = (scores.len() as f64, methods as f64);
    let mut rank_sums = vec![0.0; methods];
    let mut ties = 0.0;
    for row in scores {
        let negated: Vec<f64> = row.iter().map(|x| -x).collect();
        let (ranks, sizes) = average_ranks(&negated);
        for (sum, r) in rank_sums.iter_mut().zip(ranks) {
            *sum += r;
        }
        ties += sizes.iter().map(|&t| (t as f64).powi(3) - t as f64).sum::<f64>();
    }
    let c = 1.0 - ties / (k * (k * k - 1.0) * n);
    if c <= 0.0 {
        return None;
    }
    let ssbn: f64 = rank_sums.iter().map(|r| r * r).sum();
    let statistic = (12.0 / (k * n * (k + 1.0)) * ssbn - 3.0 * n * (k + 1.0)) / c;
    let df = k - 1.0;
    let p = ChiSquared::new(df).ok()?.sf(statistic);
    Some(Friedman { statistic, df, p, average_ranks: rank_sums.iter().map(|s| s / n).collect() })
}

#[derive(Debug, Clone, PartialEq)]
pub struct CriticalDifference {
    pub friedman: Friedman,
    /// Method indices from best to worst average rank (ties: lower index first; aeon breaks them by
    /// label).
    pub order: Vec<usize>,
    /// `p_values[i][j]` for i < j (positions in `order`): one-sided Wilcoxon p that `order[i]` scores
    /// higher than `order[j]`; 1 where the two have identical scores everywhere. NaN elsewhere, and
    /// everywhere when the Friedman test is not significant (no pairwise tests are made then).
    pub p_values: Vec<Vec<f64>>,
    /// Groups of methods (indices, best first) not shown to differ; each has at least two members.
    pub cliques: Vec<Vec<usize>>,
}

/// Which pairwise comparison decides the cliques (aeon's `test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairTest {
    /// One-sided Wilcoxon signed-rank tests at aeon's "holm" alpha, `alpha / (methods − 1)`.
    Wilcoxon,
    /// Nemenyi: average ranks closer than [`nemenyi_cd`]'s critical difference.
    Nemenyi,
}

/// Cliques of a critical-difference diagram, following aeon:
/// 1. if the Friedman p is not below `alpha`, every method is in one clique;
/// 2. otherwise, with the methods sorted by average rank, test each pair with a one-sided Wilcoxon
///    signed-rank test (the better-ranked one scores higher; [`wilcoxon`], SciPy defaults) and call
///    the pair "not different" when `p > alpha / (methods − 1)` (aeon's "holm" alpha);
/// 3. each method i opens a run of successive methods not different from it, ending before the
///    first one that is; runs of one are dropped, and so is a run contained in an earlier run.
///
/// `None` where [`friedman`] is.
pub fn critical_difference(scores: &[Vec<f64>], alpha: f64) -> Option<CriticalDifference> {
    critical_difference_with(scores, alpha, PairTest::Wilcoxon)
}

/// [`critical_difference`] with the pairs of step 2 judged by `test`: with [`PairTest::Nemenyi`]
/// a pair is "not different" when its average ranks differ by less than
/// [`nemenyi_cd`]`(alpha, methods, datasets)` (and `p_values` stay NaN).
pub fn critical_difference_with(scores: &[Vec<f64>], alpha: f64, test: PairTest) -> Option<CriticalDifference> {
    let friedman = friedman(scores)?;
    let k = friedman.average_ranks.len();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| friedman.average_ranks[a].total_cmp(&friedman.average_ranks[b]));
    let mut p_values = vec![vec![f64::NAN; k]; k];
    if friedman.p >= alpha {
        return Some(CriticalDifference { friedman, order: order.clone(), p_values, cliques: vec![order] });
    }
    let column = |m: usize| scores.iter().map(|row| row[m]).collect::<Vec<f64>>();
    let threshold = alpha / (k - 1) as f64;
    let cd = match test {
        PairTest::Nemenyi => nemenyi_cd(alpha, k, scores.len())?.1,
        PairTest::Wilcoxon => f64::NAN,
    };
    let ranks = &friedman.average_ranks;
    // same[i][j]: order[i] and order[j] are not shown to differ (upper triangle and diagonal).
    let mut same = vec![vec![false; k]; k];
    for i in 0..k {
        same[i][i] = true;
        for j in i + 1..k {
            same[i][j] = match test {
                PairTest::Wilcoxon => {
                    let (a, b) = (column(order[i]), column(order[j]));
                    let p = if a == b { 1.0 } else { wilcoxon(&a, &b, Alternative::Greater)?.p };
                    p_values[i][j] = p;
                    p > threshold
                }
                PairTest::Nemenyi => (ranks[order[j]] - ranks[order[i]]).abs() < cd,
            };
        }
    }
    // Step 3: cut each run at its first difference.
    for (i, row) in same.iter_mut().enumerate() {
        if let Some(cut) = (i + 1..k).find(|&j| !row[j]) {
            row[cut..].iter_mut().for_each(|s| *s = false);
        }
    }
    let mut runs: Vec<Vec<bool>> = same.into_iter().filter(|row| row.iter().filter(|&&s| s).count() > 1).collect();
    // Drop a run contained in an earlier one (later runs first, as aeon does).
    for i in (1..runs.len()).rev() {
        if (0..i).rev().any(|j| (0..k).all(|m| !runs[i][m] || runs[j][m])) {
            runs[i].iter_mut().for_each(|s| *s = false);
        }
    }
    let cliques = runs
        .iter()
        .filter(|row| row.iter().filter(|&&s| s).count() > 1)
        .map(|row| (0..k).filter(|&m| row[m]).map(|m| order[m]).collect())
        .collect();
    Some(CriticalDifference { friedman, order, p_values, cliques })
}

/// P(range of `k` independent standard normals ≤ `q`): the studentized range distribution with
/// infinite degrees of freedom, `k ∫ φ(z) (Φ(z + q) − Φ(z))^(k−1) dz` by Simpson's rule over
/// [−10, 10] (φ is below 1e−22 beyond).
fn studentized_range_cdf(q: f64, k: usize) -> f64 {
    const STEPS: usize = 4000; // even
    let normal = Normal::new(0.0, 1.0).expect("the standard normal");
    let (lo, hi) = (-10.0, 10.0);
    let h = (hi - lo) / STEPS as f64;
    let f = |z: f64| normal.pdf(z) * (normal.cdf(z + q) - normal.cdf(z)).powi(k as i32 - 1);
    let inner: f64 = (1..STEPS).map(|i| f(lo + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 }).sum();
    k as f64 * h / 3.0 * (f(lo) + inner + f(hi))
}

/// Nemenyi's critical difference (Demšar 2006) for `k` methods over `n` datasets at `alpha`:
/// `(q_alpha, q_alpha · sqrt(k (k + 1) / (6 n)))`, q_alpha the (1 − alpha) quantile of the
/// studentized range of k means (infinite df) over √2. `None` for k < 2, n = 0 or alpha outside (0, 1).
pub(crate) fn nemenyi_cd(alpha: f64, k: usize, n: usize) -> Option<(f64, f64)> {
    if k < 2 || n == 0 || !(alpha > 0.0 && alpha < 1.0) || k > 10_000 {
        return None;
    }
    let (mut lo, mut hi) = (0.0, 40.0);
    // Bisection: the CDF is increasing in q; 100 halvings of 40 are far below f64 resolution.
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if studentized_range_cdf(mid, k) < 1.0 - alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let q = (lo + hi) / 2.0 / std::f64::consts::SQRT_2;
    Some((q, q * (k as f64 * (k as f64 + 1.0) / (6.0 * n as f64)).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::super::reference::*;
    use super::super::testing::assert_close;
    use super::*;

    fn matrix<const K: usize>(rows: &[[f64; K]]) -> Vec<Vec<f64>> {
        rows.iter().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn friedman_matches_scipy_with_ties() {
        let f = friedman(&matrix(&FRIEDMAN_SCORES)).unwrap();
        assert_close("statistic", f.statistic, FRIEDMAN[0]);
        assert_close("p", f.p, FRIEDMAN[1]);
        assert_eq!(f.df, 3.0);
        for (m, (&got, &want)) in f.average_ranks.iter().zip(&FRIEDMAN_AVERAGE_RANKS).enumerate() {
            assert_close(&format!("average rank of method {m}"), got, want);
        }
    }

    #[test]
    fn friedman_is_undefined_for_fewer_than_three_methods_or_all_ties() {
        assert_eq!(friedman(&[]), None, "no dataset");
        assert_eq!(friedman(&[vec![0.5, 0.6], vec![0.7, 0.8]]), None, "two methods");
        assert_eq!(friedman(&[vec![0.5, 0.6, 0.7], vec![0.7, 0.8]]), None, "ragged");
        assert_eq!(friedman(&[vec![0.5, f64::NAN, 0.7]]), None, "NaN");
        assert_eq!(friedman(&[vec![0.5; 3], vec![0.7; 3]]), None, "every dataset ties every method");
    }

    #[test]
    fn critical_difference_cliques_match_the_aeon_algorithm() {
        let scores = matrix(&CD_SCORES);
        for (case, alpha, expected) in
            [("alpha 0.1", 0.1, CD_CLIQUES_ALPHA_10), ("alpha 0.01", 0.01, CD_CLIQUES_ALPHA_01)]
        {
            let cd = critical_difference(&scores, alpha).unwrap();
            assert_close(&format!("{case}: Friedman statistic"), cd.friedman.statistic, CD_FRIEDMAN[0]);
            assert_close(&format!("{case}: Friedman p"), cd.friedman.p, CD_FRIEDMAN[1]);
            for (m, (&got, &want)) in cd.friedman.average_ranks.iter().zip(&CD_AVERAGE_RANKS).enumerate() {
                assert_close(&format!("{case}: average rank of method {m}"), got, want);
            }
            for (i, (got, want)) in cd.p_values.iter().zip(&CD_P_VALUES).enumerate() {
                for j in i + 1..5 {
                    assert_close(&format!("{case}: p[{i}][{j}]"), got[j], want[j]);
                }
            }
            let expected: Vec<Vec<usize>> = expected.iter().map(|c| c.to_vec()).collect();
            assert_eq!(cd.cliques, expected, "{case}: cliques");
        }
    }

    #[test]
    fn critical_difference_drops_a_clique_contained_in_an_earlier_one() {
        // Methods 0, 1, 2 are indistinguishable: the run opened by 1 ([1, 2]) lies inside 0's ([0, 1, 2]).
        let cd = critical_difference(&matrix(&CD_NESTED_SCORES), 0.05).unwrap();
        let expected: Vec<Vec<usize>> = CD_NESTED_CLIQUES.iter().map(|c| c.to_vec()).collect();
        assert_eq!(cd.cliques, expected);
    }

    #[test]
    fn nemenyi_critical_difference_matches_scipy_studentized_range() {
        for (case, alpha, k, n, want) in [
            ("alpha 0.1, 5 methods, 16 datasets", 0.1, 5, 16, NEMENYI_5_16_A10),
            ("alpha 0.05, 3 methods, 4 datasets", 0.05, 3, 4, NEMENYI_3_4_A05),
            ("alpha 0.01, 12 methods, 40 datasets", 0.01, 12, 40, NEMENYI_12_40_A01),
        ] {
            let (q, cd) = nemenyi_cd(alpha, k, n).unwrap();
            // SciPy's quantile is itself a root of a quadrature, good to about 1e-9: closer is noise.
            for (what, got, want) in [("q_alpha", q, want[0]), ("critical difference", cd, want[1])] {
                assert!((got - want).abs() <= 1e-8 * want, "{case}: {what}: got {got}, expected {want}");
            }
        }
        assert_eq!(nemenyi_cd(0.1, 1, 5), None, "one method");
        assert_eq!(nemenyi_cd(1.5, 3, 5), None, "alpha outside (0, 1)");
    }

    #[test]
    fn nemenyi_cliques_match_the_aeon_algorithm() {
        for (case, scores, alpha, expected) in [
            ("alpha 0.1", matrix(&CD_SCORES), 0.1, NEMENYI_CLIQUES_ALPHA_10),
            ("alpha 0.05", matrix(&CD_SCORES), 0.05, NEMENYI_CLIQUES_ALPHA_05),
            ("nested", matrix(&CD_NESTED_SCORES), 0.05, NEMENYI_NESTED_CLIQUES),
        ] {
            let cd = critical_difference_with(&scores, alpha, PairTest::Nemenyi).unwrap();
            let expected: Vec<Vec<usize>> = expected.iter().map(|c| c.to_vec()).collect();
            assert_eq!(cd.cliques, expected, "{case}: cliques");
        }
    }

    #[test]
    fn critical_difference_is_one_clique_when_friedman_is_not_significant() {
        // Same scores up to noise: Friedman cannot reject, so every method is in one clique.
        let scores = vec![vec![0.80, 0.81, 0.79], vec![0.70, 0.69, 0.71], vec![0.60, 0.60, 0.61]];
        let cd = critical_difference(&scores, 0.05).unwrap();
        assert!(cd.friedman.p >= 0.05, "p = {}", cd.friedman.p);
        assert_eq!(cd.cliques, vec![cd.order.clone()]);
        assert_eq!(cd.cliques[0].len(), 3);
    }
}
