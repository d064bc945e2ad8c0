//! What comes out of a sweep: summaries, statistics, comparisons, plots and the
//! HTML report.

pub mod compare;
pub mod comparisons;
pub mod ensemble;
pub mod halving;
pub mod html;
pub mod importance;
pub mod plots;
pub mod published;
pub mod rank;
pub(crate) mod runs_table;
pub mod stats;
pub mod summary;
pub mod watch;

/// Every CSV number pinniped writes (`results::csv_number`).
pub(crate) use crate::results::csv_number;

#[cfg(test)]
mod tests {
    use super::csv_number;

    #[test]
    fn csv_numbers_round_trip_exactly_and_stay_short() {
        let cases = [
            0.0,
            -0.0,
            1.0,
            0.1,
            0.08021390374331551,
            1e-5,
            9.99e-6,
            1e16,
            9999999999999998.0,
            8742122469506462000000000000000000000000000000000.0,
            -3.4e38,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            1.0 / 3.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for v in cases {
            let text = csv_number(v);
            let back: f64 = text.parse().unwrap_or_else(|e| panic!("{v:?} → {text}: {e}"));
            assert!(back == v && back.is_sign_negative() == v.is_sign_negative(), "{v:?} → {text} → {back:?}");
            assert!(text.len() <= 24, "{v:?} → {text}: too long");
        }
        assert!(csv_number(f64::NAN).parse::<f64>().unwrap().is_nan());
        assert_eq!(csv_number(8742122469506462000000000000000000000000000000000.0), "8.742122469506462e48");
        assert_eq!(csv_number(0.25), "0.25");
        assert_eq!(csv_number(2e-7), "2e-7");
    }
}
