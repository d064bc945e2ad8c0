//! Per-row (per-series) scaling, in place on row-major `f64` data.
//!
//! Scaling each series on its own removes amplitude and offset differences between
//! recordings, which is the comparison these experiments are about. Both functions are
//! total: constant rows give zeros, never NaN, so a flat series cannot poison training.

/// Scales each row to `[0, 1]`: `(v - min) / (max - min)`. A constant row becomes all zeros.
///
/// # Panics
/// If `cols` is zero while `x` is not empty, or `x.len()` is not a multiple of `cols`
/// (a caller bug, never a property of the input data).
pub(crate) fn minmax_rows(x: &mut [f64], cols: usize) {
    for row in rows_mut(x, cols) {
        let (min, max) = row.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let range = max - min;
        if range > 0.0 && range.is_finite() {
            row.iter_mut().for_each(|v| *v = (*v - min) / range);
        } else if range.is_infinite() && min.is_finite() && max.is_finite() {
            // max - min overflowed (values near ±f64::MAX): halve everything first.
            let (half_min, half_range) = (min / 2.0, max / 2.0 - min / 2.0);
            row.iter_mut().for_each(|v| *v = (*v / 2.0 - half_min) / half_range);
        } else {
            row.fill(0.0);
        }
    }
}

/// Standardises each row: `(v - mean) / sqrt(var + eps)` with the biased variance, exactly
/// PyTorch's `LayerNorm` without the affine part (callers pass `eps = 1e-5` to match it).
///
/// # Panics
/// As [`minmax_rows`].
pub(crate) fn normalize_rows(x: &mut [f64], cols: usize, eps: f64) {
    for row in rows_mut(x, cols) {
        let (mean, var) = mean_var(row.iter().copied());
        let denom = (var + eps).sqrt();
        if mean.is_finite() && var.is_finite() {
            if denom > 0.0 && denom.is_finite() {
                row.iter_mut().for_each(|v| *v = (*v - mean) / denom);
            } else {
                // eps = 0 on a constant row would divide 0 by 0.
                row.fill(0.0);
            }
            continue;
        }
        // The sum or the squares overflowed (values beyond about 1e154): the same formula on
        // the row divided by its largest magnitude s, as (v/s − m) / sqrt(var + eps/s²).
        // Only such rows take this path, so every other row keeps its exact result.
        let scale = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let (mean, var) = mean_var(row.iter().map(|v| v / scale));
        let denom = (var + eps / scale / scale).sqrt();
        if denom > 0.0 && denom.is_finite() {
            row.iter_mut().for_each(|v| *v = (*v / scale - mean) / denom);
        } else {
            row.fill(0.0);
        }
    }
}

/// Mean and biased variance in two passes (the one-pass formula loses precision on rows
/// with a large offset).
fn mean_var(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var)
}

fn rows_mut(x: &mut [f64], cols: usize) -> std::slice::ChunksExactMut<'_, f64> {
    // `is_multiple_of(0)` holds only for 0, so this also rejects cols = 0 with data.
    assert!(x.len().is_multiple_of(cols), "preprocess: {} values is not a whole number of rows of {cols}", x.len());
    x.chunks_exact_mut(cols.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn minmax_per_row() {
        let mut x = vec![1.0, 3.0, 2.0, -4.0, 0.0, 4.0];
        minmax_rows(&mut x, 3);
        close(&x, &[0.0, 1.0, 0.5, 0.0, 0.5, 1.0]);
    }

    #[test]
    fn minmax_constant_row_is_zero() {
        let mut x = vec![7.0, 7.0, 7.0, 1.0, 2.0, 3.0];
        minmax_rows(&mut x, 3);
        close(&x, &[0.0, 0.0, 0.0, 0.0, 0.5, 1.0]);
    }

    #[test]
    fn minmax_huge_range_does_not_overflow() {
        let mut x = vec![-f64::MAX, 0.0, f64::MAX];
        minmax_rows(&mut x, 3);
        close(&x, &[0.0, 0.5, 1.0]);
    }

    #[test]
    fn normalize_matches_pytorch_layernorm() {
        // torch.nn.functional.layer_norm(torch.tensor([[1.,2.,3.,4.]], dtype=torch.float64), (4,))
        // -> [-1.3416345, -0.4472115, 0.4472115, 1.3416345] (eps 1e-5, biased variance 1.25)
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        normalize_rows(&mut x, 4, 1e-5);
        let d = (1.25f64 + 1e-5).sqrt();
        close(&x, &[-1.5 / d, -0.5 / d, 0.5 / d, 1.5 / d]);
        assert!((x[0] + 1.341_634_5).abs() < 1e-6);
    }

    #[test]
    fn normalize_constant_row_is_zero_even_with_zero_eps() {
        let mut x = vec![5.0; 4];
        normalize_rows(&mut x, 4, 0.0);
        close(&x, &[0.0; 4]);
        let mut x = vec![5.0; 4];
        normalize_rows(&mut x, 4, 1e-5);
        close(&x, &[0.0; 4]);
    }

    #[test]
    fn normalize_huge_values_like_small_ones() {
        // numpy: x = np.array([1., 2., 3., 4.]); (x - x.mean()) / x.std()
        //   -> [-1.3416407864998738, -0.4472135954999579, 0.4472135954999579, 1.3416407864998738]
        // eps = 1e-5 is negligible next to a variance of 1.25e400, so 1e200·x gives the same.
        let want = [-1.3416407864998738, -0.4472135954999579, 0.4472135954999579, 1.3416407864998738];
        for scale in [1e200, -1e300, f64::MAX / 4.0] {
            let mut x: Vec<f64> = [1.0, 2.0, 3.0, 4.0].iter().map(|v| v * scale).collect();
            normalize_rows(&mut x, 4, 1e-5);
            let want: Vec<f64> = want.iter().map(|w| w * scale.signum()).collect();
            close(&x, &want);
        }
        // A constant huge row is still zeros, and a row of f64::MAX does not overflow to NaN.
        let mut x = vec![1e300; 3];
        normalize_rows(&mut x, 3, 1e-5);
        close(&x, &[0.0; 3]);
        let mut x = vec![f64::MAX, -f64::MAX];
        normalize_rows(&mut x, 2, 1e-5);
        close(&x, &[1.0, -1.0]);
    }

    #[test]
    fn empty_input_is_fine() {
        let mut x: Vec<f64> = vec![];
        minmax_rows(&mut x, 0);
        normalize_rows(&mut x, 0, 1e-5);
        minmax_rows(&mut x, 5);
    }
}
