//! Matrix products on row-major slices, single-threaded.
//!
//! Runs are parallel across a rayon pool, one run per thread, so each product must
//! stay on its own thread (`Parallelism::None`): that is also what makes results
//! bit-identical whatever the number of workers.

use super::real::Real;

/// A row-major matrix operand, possibly read transposed.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    /// Read as the transpose of the stored `rows × cols` matrix.
    pub t: bool,
}

impl<'a, T> Mat<'a, T> {
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        debug_assert!(data.len() >= rows * cols);
        Mat { data, rows, cols, t: false }
    }
    pub fn t(self) -> Self {
        Mat { t: !self.t, ..self }
    }
    /// Shape as read: (rows, cols) of the operand.
    fn shape(&self) -> (usize, usize) {
        if self.t {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }
    /// (column stride, row stride) as read.
    fn strides(&self) -> (isize, isize) {
        if self.t {
            (self.cols as isize, 1)
        } else {
            (1, self.cols as isize)
        }
    }
}

/// `dst (m×n) = a·b`.
pub fn matmul<T: Real>(dst: &mut [T], a: Mat<T>, b: Mat<T>) {
    gemm_into(dst, a, b, None, T::one())
}

/// `dst (m×n) = beta·dst + alpha·a·b` with `Some(beta)`, else `dst = alpha·a·b`.
pub(crate) fn gemm_into<T: Real>(dst: &mut [T], a: Mat<T>, b: Mat<T>, beta: Option<T>, alpha: T) {
    let accumulate = beta.is_some();
    let beta = beta.unwrap_or(T::zero());
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    assert_eq!(k, k2, "inner dimensions differ");
    assert!(dst.len() >= m * n, "destination too small");
    assert!(a.data.len() >= m * k && b.data.len() >= k * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::zero());
        }
        return;
    }
    let (a_cs, a_rs) = a.strides();
    let (b_cs, b_rs) = b.strides();
    // SAFETY: the asserts above bound every index gemm touches: dst is m×n with
    // row stride n, a is m×k and b is k×n with the strides of their stored layout.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn transpose(a: &[f64], r: usize, c: usize) -> Vec<f64> {
        let mut t = vec![0.0; r * c];
        for i in 0..r {
            for j in 0..c {
                t[j * r + i] = a[i * c + j];
            }
        }
        t
    }

    #[test]
    fn products_match_the_definition_in_every_orientation() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        let want = naive(&a, &b, m, k, n);
        let at = transpose(&a, m, k);
        let bt = transpose(&b, k, n);
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let am = if ta { Mat::new(&at, k, m).t() } else { Mat::new(&a, m, k) };
            let bm = if tb { Mat::new(&bt, n, k).t() } else { Mat::new(&b, k, n) };
            let mut c = vec![0.0; m * n];
            matmul(&mut c, am, bm);
            for (x, y) in c.iter().zip(&want) {
                assert!((x - y).abs() < 1e-12, "{ta} {tb}: {x} vs {y}");
            }
            // accumulate: c = 2c − 0.5ab = 1.5ab
            gemm_into(&mut c, am, bm, Some(2.0), -0.5);
            for (x, y) in c.iter().zip(&want) {
                assert!((x - 1.5 * y).abs() < 1e-12);
            }
        }
    }
}
