//! Parameter updates, in place. candle-nn's SGD has no momentum, and the paper's
//! damped rule exists nowhere else, so the optimisers are written here.

use super::memory::{try_filled, AllocError};
use super::model::{Grads, Mlp};
use super::options::{MomentumRule, OptimizerKind};
use super::real::Real;

pub struct Optimizer<T> {
    kind: OptimizerKind,
    lr: f64,
    momentum: f64,
    rule: MomentumRule,
    weight_decay: f64,
    /// SGD velocity or Adam's first moment, one buffer per parameter tensor
    /// in the order w0, b0, w1, b1, …
    first: Vec<Vec<T>>,
    /// Adam's second moment.
    second: Vec<Vec<T>>,
    steps: u64,
    /// The first layer's weights are updated elsewhere (the Gram method).
    skip_first_weights: bool,
}

impl<T: Real> Optimizer<T> {
    pub fn new(
        kind: OptimizerKind,
        lr: f64,
        momentum: f64,
        rule: MomentumRule,
        weight_decay: f64,
        mlp: &Mlp<T>,
    ) -> Self {
        Self::try_new(kind, lr, momentum, rule, weight_decay, mlp).expect("memory for the optimiser state")
    }

    /// [`Optimizer::new`], failing instead of aborting when memory runs out.
    pub(crate) fn try_new(
        kind: OptimizerKind,
        lr: f64,
        momentum: f64,
        rule: MomentumRule,
        weight_decay: f64,
        mlp: &Mlp<T>,
    ) -> Result<Self, AllocError> {
        let zeros = || -> Result<Vec<Vec<T>>, AllocError> {
            params(mlp).map(|p| try_filled(p.len(), T::zero(), "the optimiser state")).collect()
        };
        Ok(Optimizer {
            kind,
            lr,
            momentum,
            rule,
            weight_decay,
            first: zeros()?,
            second: if kind == OptimizerKind::Adam { zeros()? } else { Vec::new() },
            steps: 0,
            skip_first_weights: false,
        })
    }

    /// Leaves the first layer's weights alone (their update is the caller's).
    pub(crate) fn without_first_weights(mut self) -> Self {
        self.skip_first_weights = true;
        self
    }

    /// Moments (first, second) and step count, for a run's state (`train::state`).
    pub fn state(&self) -> (Vec<Vec<T>>, Vec<Vec<T>>, u64) {
        (self.first.clone(), self.second.clone(), self.steps)
    }

    /// Continues from a saved [`Optimizer::state`]; `Err` when its shapes are not this optimiser's.
    pub fn restore(&mut self, first: Vec<Vec<T>>, second: Vec<Vec<T>>, steps: u64) -> Result<(), String> {
        let shapes = |v: &[Vec<T>]| v.iter().map(Vec::len).collect::<Vec<_>>();
        if shapes(&first) != shapes(&self.first) || shapes(&second) != shapes(&self.second) {
            return Err("its optimiser state has other shapes than the run's optimiser".into());
        }
        (self.first, self.second, self.steps) = (first, second, steps);
        Ok(())
    }

    pub fn step(&mut self, mlp: &mut Mlp<T>, grads: &Grads<T>) {
        self.steps += 1;
        let wd = T::of(self.weight_decay);
        let mut k = 0;
        for l in 0..mlp.weights.len() {
            for (p, g) in [(&mut mlp.weights[l], &grads.w[l]), (&mut mlp.biases[l], &grads.b[l])] {
                if self.skip_first_weights && k == 0 {
                    k += 1;
                    continue;
                }
                match self.kind {
                    OptimizerKind::Sgd => self.sgd(p, g, k, wd),
                    OptimizerKind::Adam => self.adam(p, g, k, wd),
                }
                k += 1;
            }
        }
    }

    fn sgd(&mut self, p: &mut [T], g: &[T], k: usize, wd: T) {
        let v = &mut self.first[k];
        let m = T::of(self.momentum);
        match self.rule {
            MomentumRule::Damped => {
                // v ← lr·(1−m)·(g + wd·p) + m·v ; p ← p − v
                let c = T::of(self.lr * (1.0 - self.momentum));
                for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                    *v = c * (g + wd * *p) + m * *v;
                    *p -= *v;
                }
            }
            MomentumRule::Classic => {
                // PyTorch: d = g + wd·p; v ← d on the first step, else m·v + d; p ← p − lr·v
                let lr = T::of(self.lr);
                let first = self.steps == 1;
                for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                    let d = g + wd * *p;
                    let step = if self.momentum == 0.0 {
                        d
                    } else {
                        *v = if first { d } else { m * *v + d };
                        *v
                    };
                    *p -= lr * step;
                }
            }
        }
    }

    fn adam(&mut self, p: &mut [T], g: &[T], k: usize, wd: T) {
        // PyTorch's single-tensor Adam, operation for operation.
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        let t = self.steps as i32;
        let step_size = T::of(self.lr / (1.0 - b1.powi(t)));
        let bc2_sqrt = T::of((1.0 - b2.powi(t)).sqrt());
        let (one_b1, b2t, one_b2, eps) = (T::of(1.0 - b1), T::of(b2), T::of(1.0 - b2), T::of(eps));
        let (m1, m2) = (&mut self.first[k], &mut self.second[k]);
        for (((p, &g), m1), m2) in p.iter_mut().zip(g).zip(m1.iter_mut()).zip(m2.iter_mut()) {
            let g = g + wd * *p;
            *m1 = *m1 + one_b1 * (g - *m1);
            *m2 = *m2 * b2t + one_b2 * g * g;
            let denom = m2.sqrt() / bc2_sqrt + eps;
            *p -= step_size * (*m1 / denom);
        }
    }
}

fn params<T>(mlp: &Mlp<T>) -> impl Iterator<Item = &Vec<T>> {
    mlp.weights.iter().zip(&mlp.biases).flat_map(|(w, b)| [w, b])
}
