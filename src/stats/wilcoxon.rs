//! Wilcoxon signed-rank test, matching `scipy.stats.wilcoxon(a, b)` with its defaults (SciPy 1.17):
//! `zero_method="wilcox"`, `correction=False`, `method="auto"`.
//!
//! - Zeros (`a[i] == b[i]`) are dropped before ranking ("wilcox"); ties in |d| get average ranks.
//! - The p-value comes from, with n the number of pairs *including* zeros (SciPy's rule):
//!   - n ≤ 50, no zeros and no ties: the exact null distribution of R+ ([`WilcoxonMethod::Exact`]);
//!   - otherwise n ≤ 13: the exact sign-flip permutation distribution of R+ over all 2ⁿ flips, which
//!     is what SciPy's `PermutationMethod` computes exhaustively there ([`WilcoxonMethod::Permutation`]);
//!   - otherwise the normal approximation with the tie-corrected variance
//!     `(m(m+1)(2m+1) − Σ(t³−t)/2) / 24` (m non-zero differences, t the tie-group sizes) and no
//!     continuity correction ([`WilcoxonMethod::Normal`]).
//! - The statistic is `min(R+, R−)` for the two-sided test and `R+` for one-sided ones.
//!
//! All differences zero: statistic 0 and p = 1 (SciPy gives 1 for n ≤ 13 and NaN above).

use statrs::distribution::{ContinuousCDF, Normal};

/// Which way the alternative hypothesis points, for `d = a − b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    TwoSided,
    /// `a` tends to be greater than `b`.
    Greater,
    /// `a` tends to be less than `b`.
    Less,
}

/// How the p-value was computed (see the module doc for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WilcoxonMethod {
    Exact,
    Permutation,
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wilcoxon {
    pub statistic: f64,
    pub p: f64,
    pub method: WilcoxonMethod,
}

/// Wilcoxon signed-rank test of `a − b` (see the module doc). `None` for no pairs, mismatched lengths
/// or non-finite values.
pub fn wilcoxon(a: &[f64], b: &[f64], alternative: Alternative) -> Option<Wilcoxon> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    if !d.iter().all(|x| x.is_finite()) {
        return None;
    }
    let n = d.len();
    let nonzero: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
    if nonzero.is_empty() {
        return Some(Wilcoxon { statistic: 0.0, p: 1.0, method: WilcoxonMethod::Permutation });
    }
    let abs: Vec<f64> = nonzero.iter().map(|x| x.abs()).collect();
    let (ranks, tie_sizes) = average_ranks(&abs);
    // Average ranks are multiples of 1/2: work with doubled ranks, which are exact integers.
    let doubled: Vec<u64> = ranks.iter().map(|r| (2.0 * r).round() as u64).collect();
    let r_plus2: u64 = nonzero.iter().zip(&doubled).filter(|(x, _)| **x > 0.0).map(|(_, r)| r).sum();
    let total2: u64 = doubled.iter().sum();
    let (r_plus, r_minus) = (r_plus2 as f64 / 2.0, (total2 - r_plus2) as f64 / 2.0);
    let statistic = if alternative == Alternative::TwoSided { r_plus.min(r_minus) } else { r_plus };

    let has_ties = tie_sizes.iter().any(|&t| t > 1);
    let has_zeros = nonzero.len() < n;
    let method = if n > 50 {
        WilcoxonMethod::Normal
    } else if !has_ties && !has_zeros {
        WilcoxonMethod::Exact
    } else if n <= 13 {
        WilcoxonMethod::Permutation
    } else {
        WilcoxonMethod::Normal
    };
    let p = match method {
        // With distinct ranks 1..m the sign-flip distribution *is* the exact distribution of R+.
        WilcoxonMethod::Exact | WilcoxonMethod::Permutation => {
            let counts = subset_sum_counts(&doubled);
            let all: f64 = counts.iter().sum();
            let below: f64 = counts[..=r_plus2 as usize].iter().sum();
            let above: f64 = counts[r_plus2 as usize..].iter().sum();
            let (p_less, p_greater) = (below / all, above / all);
            match alternative {
                Alternative::Less => p_less,
                Alternative::Greater => p_greater,
                Alternative::TwoSided => (2.0 * p_less.min(p_greater)).min(1.0),
            }
        }
        WilcoxonMethod::Normal => {
            let m = nonzero.len() as f64;
            let ties: f64 = tie_sizes.iter().map(|&t| (t as f64).powi(3) - t as f64).sum();
            let se = ((m * (m + 1.0) * (2.0 * m + 1.0) - ties / 2.0) / 24.0).sqrt();
            let z = (r_plus - m * (m + 1.0) / 4.0) / se;
            let normal = Normal::standard();
            match alternative {
                Alternative::Less => normal.cdf(z),
                Alternative::Greater => normal.sf(z),
                Alternative::TwoSided => (2.0 * normal.cdf(-z.abs())).min(1.0),
            }
        }
    };
    Some(Wilcoxon { statistic, p, method })
}

/// Average ranks (1-based, ties share the mean of their positions) and the size of every tie group.
pub(crate) fn average_ranks(xs: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&i, &j| xs[i].total_cmp(&xs[j]));
    let mut ranks = vec![0.0; xs.len()];
    let mut sizes = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && xs[order[end]] == xs[order[start]] {
            end += 1;
        }
        // Positions start+1 ..= end share their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        sizes.push(end - start);
        start = end;
    }
    (ranks, sizes)
}

/// `counts[s]` = how many of the 2^len sign assignments put total weight `s` on the positive side.
/// Counts are f64: exact up to 2^53, and n ≤ 50 here.
fn subset_sum_counts(weights: &[u64]) -> Vec<f64> {
    let total: u64 = weights.iter().sum();
    let mut counts = vec![0.0; total as usize + 1];
    counts[0] = 1.0;
    let mut reach = 0usize;
    for &w in weights {
        let w = w as usize;
        for s in (0..=reach).rev() {
            counts[s + w] += counts[s];
        }
        reach += w;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::super::reference::*;
    use super::super::testing::assert_close;
    use super::*;
    use Alternative::*;
    use WilcoxonMethod::*;

    /// (name, differences, alternative, method SciPy picks, [statistic, p]).
    type Case<'a> = (&'a str, &'a [f64], Alternative, WilcoxonMethod, [f64; 2]);

    /// The reference cases pass the differences as `a` and zeros as `b`, as the fixture does.
    #[test]
    fn wilcoxon_matches_scipy_defaults_in_every_mode() {
        let cases: [Case; 11] = [
            ("distinct, two-sided", &W_DISTINCT, TwoSided, Exact, W_DISTINCT_TWO_SIDED),
            ("distinct, greater", &W_DISTINCT, Greater, Exact, W_DISTINCT_GREATER),
            ("distinct, less", &W_DISTINCT, Less, Exact, W_DISTINCT_LESS),
            ("ties and zeros, two-sided", &W_TIES_ZEROS, TwoSided, Permutation, W_TIES_ZEROS_TWO_SIDED),
            ("ties and zeros, greater", &W_TIES_ZEROS, Greater, Permutation, W_TIES_ZEROS_GREATER),
            ("ties, n = 12", &W_TIES, TwoSided, Permutation, W_TIES_TWO_SIDED),
            ("ties and zeros, n = 20", &W_NORMAL_TIES_ZEROS, TwoSided, Normal, W_NORMAL_TIES_ZEROS_TWO_SIDED),
            ("ties and zeros, n = 20, less", &W_NORMAL_TIES_ZEROS, Less, Normal, W_NORMAL_TIES_ZEROS_LESS),
            ("distinct, n = 30", &W_EXACT_30, TwoSided, Exact, W_EXACT_30_TWO_SIDED),
            ("n = 60", &W_LARGE_60, TwoSided, Normal, W_LARGE_60_TWO_SIDED),
            ("n = 60, greater", &W_LARGE_60, Greater, Normal, W_LARGE_60_GREATER),
        ];
        for (case, d, alternative, method, [statistic, p]) in cases {
            let w = wilcoxon(d, &vec![0.0; d.len()], alternative).unwrap();
            assert_eq!(w.method, method, "{case}: method");
            assert_close(&format!("{case}: statistic"), w.statistic, statistic);
            assert_close(&format!("{case}: p"), w.p, p);
        }
    }

    #[test]
    fn wilcoxon_depends_only_on_the_differences_and_flips_with_the_arguments() {
        let a: Vec<f64> = W_DISTINCT.iter().map(|d| d + 10.0).collect();
        let b = vec![10.0; a.len()];
        let shifted = wilcoxon(&a, &b, Greater).unwrap();
        assert_close("shifted p", shifted.p, W_DISTINCT_GREATER[1]);
        let swapped = wilcoxon(&b, &a, Less).unwrap();
        assert_close("swapped p", swapped.p, W_DISTINCT_GREATER[1]);
        let two = wilcoxon(&b, &a, TwoSided).unwrap();
        assert_close("swapped two-sided p", two.p, W_DISTINCT_TWO_SIDED[1]);
    }

    #[test]
    fn wilcoxon_edge_cases() {
        assert_eq!(wilcoxon(&[], &[], TwoSided), None, "no pairs");
        assert_eq!(wilcoxon(&[1.0, 2.0], &[1.0], TwoSided), None, "mismatched lengths");
        assert_eq!(wilcoxon(&[1.0, f64::NAN], &[0.0, 0.0], TwoSided), None, "NaN");
        let same = wilcoxon(&[0.5, 0.6, 0.7], &[0.5, 0.6, 0.7], TwoSided).unwrap();
        assert_eq!((same.statistic, same.p), (0.0, 1.0), "all differences zero");
        // One pair: the exact distribution has two equally likely outcomes.
        let one = wilcoxon(&[1.0], &[0.0], TwoSided).unwrap();
        assert_eq!((one.statistic, one.p, one.method), (0.0, 1.0, Exact));
        assert_eq!(wilcoxon(&[1.0], &[0.0], Greater).unwrap().p, 0.5);
    }

    #[test]
    fn average_ranks_share_the_mean_position_of_ties() {
        let (ranks, sizes) = average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]);
        assert_eq!(ranks, vec![4.0, 1.0, 4.0, 2.0, 4.0]);
        assert_eq!(sizes, vec![1, 1, 3]);
    }
}
