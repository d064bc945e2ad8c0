//! McNemar's test between two classifiers scored on the same rows, from per-row correctness.
//!
//! Only the discordant rows carry information: `only_a` rows that A gets right and B wrong, `only_b`
//! the reverse. Under the null both are Binomial(only_a + only_b, 1/2). As statsmodels
//! `mcnemar(table, exact=..., correction=True)`:
//! - exact: statistic `min(only_a, only_b)`, p = `min(1, 2 · BinomCDF(statistic; only_a + only_b, 1/2))`;
//! - chi-square: statistic `(|only_a − only_b| − 1)² / (only_a + only_b)`, p from χ²(1).
//!
//! Switch rule of [`mcnemar`]: exact when fewer than [`EXACT_BELOW`] rows are discordant (the usual
//! rule of thumb for when the χ² approximation becomes adequate), chi-square otherwise.

use statrs::distribution::{Binomial, ChiSquared, ContinuousCDF, DiscreteCDF};

/// Below this many discordant rows the exact binomial test is used.
pub const EXACT_BELOW: u64 = 25;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McNemar {
    /// Rows A gets right and B wrong.
    pub only_a: u64,
    /// Rows B gets right and A wrong.
    pub only_b: u64,
    pub statistic: f64,
    pub p: f64,
    /// Whether the exact binomial test was used (else χ² with continuity correction).
    pub exact: bool,
}

/// McNemar's test from two classifiers' correctness on the same rows, with the switch rule of the
/// module doc. `None` for mismatched lengths.
pub fn mcnemar(a_correct: &[bool], b_correct: &[bool]) -> Option<McNemar> {
    if a_correct.len() != b_correct.len() {
        return None;
    }
    let only_a = a_correct.iter().zip(b_correct).filter(|&(&a, &b)| a && !b).count() as u64;
    let only_b = a_correct.iter().zip(b_correct).filter(|&(&a, &b)| !a && b).count() as u64;
    Some(mcnemar_counts(only_a, only_b, only_a + only_b < EXACT_BELOW))
}

/// McNemar's test from the discordant counts, exact or χ² with continuity correction as asked.
/// No discordant rows: the models never disagree, p = 1 either way.
pub fn mcnemar_counts(only_a: u64, only_b: u64, exact: bool) -> McNemar {
    let n = only_a + only_b;
    let (statistic, p) = if n == 0 {
        (0.0, 1.0)
    } else if exact {
        let k = only_a.min(only_b);
        let binomial = Binomial::new(0.5, n).expect("valid binomial");
        (k as f64, (2.0 * binomial.cdf(k)).min(1.0))
    } else {
        let stat = ((only_a.abs_diff(only_b) as f64) - 1.0).powi(2) / n as f64;
        (stat, ChiSquared::new(1.0).expect("valid chi-square").sf(stat))
    };
    McNemar { only_a, only_b, statistic, p, exact }
}
