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
pub(crate) const EXACT_BELOW: u64 = 25;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct McNemar {
    /// Rows A gets right and B wrong.
    pub(crate) only_a: u64,
    /// Rows B gets right and A wrong.
    pub(crate) only_b: u64,
    pub statistic: f64,
    pub p: f64,
    /// Whether the exact binomial test was used (else χ² with continuity correction).
    pub exact: bool,
}

/// McNemar's test from two classifiers' correctness on the same rows, with the switch rule of the
/// module doc. `None` for mismatched lengths.
pub(crate) fn mcnemar(a_correct: &[bool], b_correct: &[bool]) -> Option<McNemar> {
    if a_correct.len() != b_correct.len() {
        return None;
    }
    let only_a = a_correct.iter().zip(b_correct).filter(|&(&a, &b)| a && !b).count() as u64;
    let only_b = a_correct.iter().zip(b_correct).filter(|&(&a, &b)| !a && b).count() as u64;
    Some(mcnemar_counts(only_a, only_b, only_a + only_b < EXACT_BELOW))
}

/// McNemar's test from the discordant counts, exact or χ² with continuity correction as asked.
/// No discordant rows: the models never disagree, p = 1 either way.
pub(crate) fn mcnemar_counts(only_a: u64, only_b: u64, exact: bool) -> McNemar {
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

#[cfg(test)]
mod tests {
    use super::super::reference::*;
    use super::super::testing::assert_close;
    use super::*;

    /// Per-row correctness with the given discordant counts, plus concordant rows that must not matter.
    fn rows(only_a: usize, only_b: usize) -> (Vec<bool>, Vec<bool>) {
        // 7 rows both right first, 4 both wrong last.
        let (mut a, mut b) = (vec![true; 7], vec![true; 7]);
        a.extend(std::iter::repeat_n(true, only_a).chain(std::iter::repeat_n(false, only_b + 4)));
        b.extend(std::iter::repeat_n(false, only_a).chain(std::iter::repeat_n(true, only_b)));
        b.extend([false; 4]);
        (a, b)
    }

    #[test]
    fn mcnemar_matches_statsmodels_on_both_sides_of_the_switch() {
        for (case, only_a, only_b, exact, [statistic, p]) in [
            ("3 / 9", 3, 9, true, MCNEMAR_3_9_EXACT),
            ("5 / 5", 5, 5, true, MCNEMAR_5_5_EXACT),
            ("0 / 7", 0, 7, true, MCNEMAR_0_7_EXACT),
            ("24 / 0 (last exact count)", 24, 0, true, MCNEMAR_24_0_EXACT),
            ("13 / 12 (first chi-square count)", 13, 12, false, MCNEMAR_13_12_CHI2),
            ("10 / 25", 10, 25, false, MCNEMAR_10_25_CHI2),
            ("40 / 20", 40, 20, false, MCNEMAR_40_20_CHI2),
        ] {
            let (a, b) = rows(only_a, only_b);
            let m = mcnemar(&a, &b).unwrap();
            assert_eq!((m.only_a, m.only_b, m.exact), (only_a as u64, only_b as u64, exact), "{case}: counts and rule");
            assert_close(&format!("{case}: statistic"), m.statistic, statistic);
            assert_close(&format!("{case}: p"), m.p, p);
        }
    }

    #[test]
    fn mcnemar_is_symmetric_and_needs_disagreement() {
        let (a, b) = rows(3, 9);
        let (ab, ba) = (mcnemar(&a, &b).unwrap(), mcnemar(&b, &a).unwrap());
        assert_eq!((ab.statistic, ab.p), (ba.statistic, ba.p));
        assert_eq!((ab.only_a, ab.only_b), (ba.only_b, ba.only_a));
        let agree = mcnemar(&[true, false, true], &[true, false, true]).unwrap();
        assert_eq!((agree.p, agree.exact), (1.0, true), "no discordant rows");
        assert_eq!(mcnemar_counts(0, 0, false).p, 1.0, "no discordant rows, chi-square asked");
        assert_eq!(mcnemar(&[true], &[true, false]), None, "mismatched lengths");
    }
}
