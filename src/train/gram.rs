//! The Gram method: cheaper first-layer products for SGD.
//!
//! Under SGD (either momentum rule, with L2 decay) every update of the first
//! layer's weights lies in the span of the training rows, so
//! `W₁(t) = s(t)·W₁(0) + Xᵀ_train·A(t)` with one coefficient row per training row
//! (`A` is rows × hidden, 160 × 64 for the paper) and a scalar `s` that only weight
//! decay moves. Every product `X·W₁` then becomes `s·(X·W₁(0)) + (X·Xᵀ_train)·A`:
//! the Gram matrices `X·Xᵀ_train` and `X·W₁(0)` are computed once, and each epoch's
//! forward passes cost `rows × n_train × hidden` instead of `rows × inputs × hidden`
//! (about 6× fewer operations for Phoneme). Exact in real arithmetic; in floating
//! point the trajectory differs from the direct method by rounding, so it is a
//! run key (`method = "gram"`), not a silent switch. Adam (elementwise scaling) and
//! input dropout would leave the span; `method = "gram"` requires `optimizer = "sgd"`.

use super::linalg::{gemm_into, matmul, Mat};
use super::options::MomentumRule;
use super::real::Real;
use super::state::GramState;

pub struct Gram<T> {
    inputs: usize,
    hidden: usize,
    n_train: usize,
    w0: Vec<T>,
    s: T,
    /// One row per training row, in the training set's own order.
    a: Vec<T>,
    /// Velocity in the same representation: `V = vs·W₁(0) + Xᵀ·va`.
    vs: T,
    va: Vec<T>,
    steps: u64,
    /// Per evaluation set: `X·Xᵀ_train` (rows × n_train) and `X·W₁(0)` (rows × hidden).
    gram: Vec<Vec<T>>,
    base: Vec<Vec<T>>,
    /// The training set's rows of both, in this epoch's shuffled order.
    gram_epoch: Vec<T>,
    base_epoch: Vec<T>,
}

impl<T: Real> Gram<T> {
    /// `sets[0]` must be the training rows.
    pub fn new(w0: &[T], sets: &[&[T]], inputs: usize, hidden: usize) -> Self {
        let x_train = sets[0];
        let n_train = x_train.len() / inputs;
        let mut gram = Vec::new();
        let mut base = Vec::new();
        for x in sets {
            let rows = x.len() / inputs;
            let mut g = vec![T::zero(); rows * n_train];
            matmul(&mut g, Mat::new(x, rows, inputs), Mat::new(x_train, n_train, inputs).t());
            let mut b = vec![T::zero(); rows * hidden];
            matmul(&mut b, Mat::new(x, rows, inputs), Mat::new(w0, inputs, hidden));
            gram.push(g);
            base.push(b);
        }
        Gram {
            inputs,
            hidden,
            n_train,
            w0: w0.to_vec(),
            s: T::one(),
            a: vec![T::zero(); n_train * hidden],
            vs: T::zero(),
            va: vec![T::zero(); n_train * hidden],
            steps: 0,
            gram_epoch: gram[0].clone(),
            base_epoch: base[0].clone(),
            gram,
            base,
        }
    }

    /// This epoch's order of the training rows (`positions[i]` is the i-th row trained on).
    pub(crate) fn gather_epoch(&mut self, positions: &[usize]) {
        let (n, h) = (self.n_train, self.hidden);
        for (dst, &src) in positions.iter().enumerate() {
            self.gram_epoch[dst * n..(dst + 1) * n].copy_from_slice(&self.gram[0][src * n..(src + 1) * n]);
            self.base_epoch[dst * h..(dst + 1) * h].copy_from_slice(&self.base[0][src * h..(src + 1) * h]);
        }
    }

    fn product(&self, gram: &[T], base: &[T], rows: usize, out: &mut [T]) {
        let (n, h) = (self.n_train, self.hidden);
        let out = &mut out[..rows * h];
        for (o, &b) in out.iter_mut().zip(base) {
            *o = self.s * b;
        }
        gemm_into(out, Mat::new(gram, rows, n), Mat::new(&self.a, n, h), Some(T::one()), T::one());
    }

    /// The first layer's product for rows `range` of this epoch's training order.
    pub fn batch(&self, range: std::ops::Range<usize>, out: &mut [T]) {
        let (n, h) = (self.n_train, self.hidden);
        self.product(
            &self.gram_epoch[range.start * n..range.end * n],
            &self.base_epoch[range.start * h..range.end * h],
            range.len(),
            out,
        );
    }

    /// The first layer's product for every row of evaluation set `k`.
    pub fn set(&self, k: usize, out: &mut [T]) {
        let rows = self.base[k].len() / self.hidden;
        self.product(&self.gram[k], &self.base[k], rows, out);
    }

    /// One SGD step of the first layer's weights: `batch[i]` is the training row
    /// whose first-layer delta is row i of `delta`.
    pub fn step(&mut self, batch: &[usize], delta: &[T], lr: f64, momentum: f64, rule: MomentumRule, wd: f64) {
        self.steps += 1;
        let h = self.hidden;
        let (m, wd_t, lr_t) = (T::of(momentum), T::of(wd), T::of(lr));
        if momentum == 0.0 && wd == 0.0 {
            // Both rules: W ← W − lr·Xᵀ·D, so only the batch's rows of A move.
            for (&row, d) in batch.iter().zip(delta.chunks_exact(h)) {
                for (a, &d) in self.a[row * h..(row + 1) * h].iter_mut().zip(d) {
                    *a -= lr_t * d;
                }
            }
            return;
        }
        // With g = Xᵀ·D and W = s·W₁(0) + Xᵀ·A, both rules keep V in the same form.
        let (keep, scale) = match rule {
            // V ← lr(1−m)(g + wd·W) + m·V ; W ← W − V
            MomentumRule::Damped => (m, T::of(lr * (1.0 - momentum))),
            // V ← g + wd·W (first step) or m·V + g + wd·W ; W ← W − lr·V
            MomentumRule::Classic => (if self.steps == 1 { T::zero() } else { m }, T::one()),
        };
        self.vs = keep * self.vs + scale * wd_t * self.s;
        for (v, &a) in self.va.iter_mut().zip(&self.a) {
            *v = keep * *v + scale * wd_t * a;
        }
        for (&row, d) in batch.iter().zip(delta.chunks_exact(h)) {
            for (v, &d) in self.va[row * h..(row + 1) * h].iter_mut().zip(d) {
                *v += scale * d;
            }
        }
        let step = match rule {
            MomentumRule::Damped => T::one(),
            MomentumRule::Classic => lr_t,
        };
        self.s -= step * self.vs;
        self.a.iter_mut().zip(&self.va).for_each(|(a, &v)| *a -= step * v);
    }

    /// What moves during training, for a run's state (`train::state`).
    pub fn state(&self) -> GramState<T> {
        GramState { s: self.s, vs: self.vs, a: self.a.clone(), va: self.va.clone(), steps: self.steps }
    }

    /// Continues from a saved [`Gram::state`]; `Err` when its shapes are not this run's.
    pub fn restore(&mut self, g: GramState<T>) -> Result<(), String> {
        if g.a.len() != self.a.len() || g.va.len() != self.va.len() {
            return Err("its Gram-method coefficients have another shape than the run's".into());
        }
        (self.s, self.vs, self.a, self.va, self.steps) = (g.s, g.vs, g.a, g.va, g.steps);
        Ok(())
    }

    /// The weights themselves, `s·W₁(0) + Xᵀ_train·A`, for diagnostics and checkpoints.
    pub(crate) fn materialize(&self, x_train: &[T], w: &mut [T]) {
        for (o, &b) in w.iter_mut().zip(&self.w0) {
            *o = self.s * b;
        }
        gemm_into(
            w,
            Mat::new(x_train, self.n_train, self.inputs).t(),
            Mat::new(&self.a, self.n_train, self.hidden),
            Some(T::one()),
            T::one(),
        );
    }
}
