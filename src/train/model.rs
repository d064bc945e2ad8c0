//! The multi-layer perceptron and its hand-written forward and backward passes.
//!
//! Weights are stored `[in × out]` row-major, so a batch's forward pass is one
//! product `A·W` and the weight gradient is `Aᵀ·Δ`. Gradients are analytic: no
//! autograd graph is built per step, and every buffer is allocated once per run.

use super::linalg::{gemm_into, matmul, Mat};
use super::memory::{try_filled, AllocError};
use super::options::{Activation, Loss};
use super::real::Real;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A network's parameters. Its shapes are fixed by [`Mlp::from_parts`] (which checks them)
/// or by initialisation; outside the crate they are read through [`Mlp::dims`],
/// [`Mlp::weights`] and [`Mlp::biases`], so that no caller can break them.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp<T> {
    /// Layer widths including input and output: `[1024, 64, 39]`.
    pub(crate) dims: Vec<usize>,
    pub(crate) activation: Activation,
    /// `weights[l][i * out + j]`: from input `i` to output `j` of layer `l`.
    pub(crate) weights: Vec<Vec<T>>,
    pub(crate) biases: Vec<Vec<T>>,
}

/// Gradients, shaped like the parameters.
#[derive(Clone, Debug)]
pub struct Grads<T> {
    pub w: Vec<Vec<T>>,
    pub b: Vec<Vec<T>>,
}

impl<T: Real> Grads<T> {
    pub fn zeros_like(mlp: &Mlp<T>) -> Self {
        Self::try_zeros_like(mlp).expect("memory for the gradients")
    }

    /// [`Grads::zeros_like`], failing instead of aborting when memory runs out.
    pub(crate) fn try_zeros_like(mlp: &Mlp<T>) -> Result<Self, AllocError> {
        let zeros = |p: &[Vec<T>]| -> Result<Vec<Vec<T>>, AllocError> {
            p.iter().map(|v| try_filled(v.len(), T::zero(), "the gradients")).collect()
        };
        Ok(Grads { w: zeros(&mlp.weights)?, b: zeros(&mlp.biases)? })
    }
}

impl<T: Real> Mlp<T> {
    pub fn from_parts(dims: &[usize], activation: Activation, weights: Vec<Vec<T>>, biases: Vec<Vec<T>>) -> Self {
        assert!(dims.len() >= 2, "an MLP needs an input and an output width");
        assert_eq!(weights.len(), dims.len() - 1);
        assert_eq!(biases.len(), dims.len() - 1);
        for l in 0..dims.len() - 1 {
            assert_eq!(weights[l].len(), dims[l] * dims[l + 1], "layer {l} weights");
            assert_eq!(biases[l].len(), dims[l + 1], "layer {l} biases");
        }
        Mlp { dims: dims.to_vec(), activation, weights, biases }
    }

    pub fn layers(&self) -> usize {
        self.dims.len() - 1
    }
    /// Layer widths including input and output: `[1024, 64, 39]`.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }
    pub fn activation(&self) -> Activation {
        self.activation
    }
    /// `weights()[l][i * out + j]`: from input `i` to output `j` of layer `l` (`[in × out]`).
    pub fn weights(&self) -> &[Vec<T>] {
        &self.weights
    }
    /// `biases()[l][j]`: of output `j` of layer `l`.
    pub fn biases(&self) -> &[Vec<T>] {
        &self.biases
    }
    pub fn inputs(&self) -> usize {
        self.dims[0]
    }
    pub fn classes(&self) -> usize {
        *self.dims.last().unwrap()
    }

    /// No parameter is infinite or NaN. Checked once or twice an epoch over every parameter:
    /// a bitwise fold (no early exit) lets the compiler vectorise it, which `all` does not.
    pub fn is_finite(&self) -> bool {
        self.weights.iter().chain(&self.biases).all(|p| !p.iter().fold(false, |bad, v| bad | !v.is_finite()))
    }

    /// The linear output for `rows` rows of `x` (convenience; allocates).
    pub fn forward(&self, x: &[T], rows: usize) -> Vec<T> {
        let mut ws = Workspace::new(self, rows);
        ws.forward(self, x, rows).to_vec()
    }

    /// Loss (as `loss` defines it over the batch) and its gradients (convenience; allocates).
    pub fn loss_and_grads(&self, x: &[T], y: &[u32], rows: usize, loss: Loss) -> (f64, Grads<T>) {
        let mut ws = Workspace::new(self, rows);
        let l = ws.forward_backward(self, x, y, rows, loss);
        (l, ws.grads)
    }
}

/// Inverted dropout on hidden units during training passes: a unit is zeroed with
/// probability `p` and the survivors scaled by 1/(1−p), so evaluation needs no change.
struct Dropout<T> {
    p: f64,
    rng: ChaCha8Rng,
    /// Per hidden layer: 0 or 1/(1−p) per unit of the last training pass.
    masks: Vec<Vec<T>>,
    /// Per hidden layer: the activations before masking (derivatives and histograms).
    raw: Vec<Vec<T>>,
}

/// What enters the first layer: input rows, or the first layer's product `X·W₁`
/// computed elsewhere (the Gram method), to which the bias is added.
#[derive(Clone, Copy)]
pub enum Input<'a, T> {
    Rows(&'a [T]),
    FirstLayer(&'a [T]),
}

/// Buffers for passes of up to `capacity` rows, reused across steps.
pub struct Workspace<T> {
    capacity: usize,
    /// Output of each layer (after the activation, and dropout, for hidden layers).
    outs: Vec<Vec<T>>,
    delta: Vec<T>,
    delta_prev: Vec<T>,
    dropout: Option<Dropout<T>>,
    pub grads: Grads<T>,
}

impl<T: Real> Workspace<T> {
    /// Buffers for small passes (evaluation, tests); training uses [`Workspace::try_new`].
    pub fn new(mlp: &Mlp<T>, capacity: usize) -> Self {
        Self::try_new(mlp, capacity).expect("memory for the workspace")
    }

    /// The workspace, or an [`AllocError`] that fails the run instead of aborting the process.
    pub(crate) fn try_new(mlp: &Mlp<T>, capacity: usize) -> Result<Self, AllocError> {
        let widest = mlp.dims[1..].iter().copied().max().unwrap_or(0);
        let buf = |width: usize| try_filled(capacity.saturating_mul(width), T::zero(), "the training workspace");
        Ok(Workspace {
            capacity,
            outs: mlp.dims[1..].iter().map(|&d| buf(d)).collect::<Result<_, _>>()?,
            delta: buf(widest)?,
            delta_prev: buf(widest)?,
            dropout: None,
            grads: Grads::try_zeros_like(mlp)?,
        })
    }

    /// Training passes from now on drop hidden units with probability `p`, drawing
    /// masks from `rng`; plain `forward` (evaluation) never does.
    pub(crate) fn enable_dropout(&mut self, mlp: &Mlp<T>, p: f64, rng: ChaCha8Rng) -> Result<(), AllocError> {
        if p <= 0.0 || mlp.layers() < 2 {
            return Ok(());
        }
        let hidden = &mlp.dims[1..mlp.dims.len() - 1];
        let bufs = || -> Result<Vec<Vec<T>>, AllocError> {
            hidden
                .iter()
                .map(|&d| try_filled(self.capacity.saturating_mul(d), T::zero(), "the dropout masks"))
                .collect()
        };
        self.dropout = Some(Dropout { p, rng, masks: bufs()?, raw: bufs()? });
        Ok(())
    }

    /// The dropout stream's position (in 32-bit words), when training drops units.
    pub(crate) fn dropout_word(&self) -> Option<u128> {
        self.dropout.as_ref().map(|d| d.rng.get_word_pos())
    }

    /// Moves the dropout stream to a saved [`Workspace::dropout_word`].
    pub(crate) fn set_dropout_word(&mut self, word: Option<u128>) -> Result<(), String> {
        match (self.dropout.as_mut(), word) {
            (Some(d), Some(w)) => d.rng.set_word_pos(w),
            (None, None) => {}
            _ => return Err("its dropout stream does not match the run's dropout".into()),
        }
        Ok(())
    }

    /// Activations of hidden layer `l` in the last forward pass (before dropout).
    pub fn hidden(&self, l: usize, rows: usize, width: usize) -> &[T] {
        match &self.dropout {
            Some(d) => &d.raw[l][..rows * width],
            None => &self.outs[l][..rows * width],
        }
    }

    /// Evaluation pass: the linear output for `rows` rows.
    pub fn forward(&mut self, mlp: &Mlp<T>, x: &[T], rows: usize) -> &[T] {
        self.pass(mlp, Input::Rows(x), rows, false)
    }

    /// Evaluation pass from an input given as rows or as the first layer's product.
    pub(crate) fn forward_input(&mut self, mlp: &Mlp<T>, input: Input<'_, T>, rows: usize) -> &[T] {
        self.pass(mlp, input, rows, false)
    }

    /// Δ of the first layer after `forward_backward` (rows × first hidden width).
    pub(crate) fn first_delta(&self, rows: usize, width: usize) -> &[T] {
        &self.delta[..rows * width]
    }

    fn pass(&mut self, mlp: &Mlp<T>, x: Input<'_, T>, rows: usize, training: bool) -> &[T] {
        assert!(rows <= self.capacity, "batch larger than the workspace");
        let n_layers = mlp.layers();
        for l in 0..n_layers {
            let (fan_in, fan_out) = (mlp.dims[l], mlp.dims[l + 1]);
            let (before, rest) = self.outs.split_at_mut(l);
            let out = &mut rest[0][..rows * fan_out];
            for row in out.chunks_exact_mut(fan_out) {
                row.copy_from_slice(&mlp.biases[l]);
            }
            match (l, x) {
                (0, Input::FirstLayer(z)) => out.iter_mut().zip(&z[..rows * fan_out]).for_each(|(o, &z)| *o += z),
                _ => {
                    let input = match x {
                        Input::Rows(x) if l == 0 => &x[..rows * fan_in],
                        _ => &before[l - 1][..rows * fan_in],
                    };
                    gemm_into(
                        out,
                        Mat::new(input, rows, fan_in),
                        Mat::new(&mlp.weights[l], fan_in, fan_out),
                        Some(T::one()),
                        T::one(),
                    );
                }
            }
            if l + 1 < n_layers {
                activate(mlp.activation, out);
                if let (true, Some(d)) = (training, self.dropout.as_mut()) {
                    d.raw[l][..out.len()].copy_from_slice(out);
                    let keep = T::of(1.0 / (1.0 - d.p));
                    for (o, m) in out.iter_mut().zip(d.masks[l].iter_mut()) {
                        *m = if d.rng.random::<f64>() < d.p { T::zero() } else { keep };
                        *o *= *m;
                    }
                }
            }
        }
        &self.outs[n_layers - 1][..rows * mlp.classes()]
    }

    /// Forward, loss and backward for one batch; gradients land in `self.grads`.
    /// Returns the batch loss.
    pub(crate) fn forward_backward(&mut self, mlp: &Mlp<T>, x: &[T], y: &[u32], rows: usize, loss: Loss) -> f64 {
        self.forward_backward_input(mlp, Input::Rows(x), y, rows, loss)
    }

    /// `forward_backward` from an input given as rows or as the first layer's product;
    /// in the latter case the first layer's weight gradient is left to the caller
    /// (`first_delta` has what it needs).
    pub(crate) fn forward_backward_input(
        &mut self,
        mlp: &Mlp<T>,
        x: Input<'_, T>,
        y: &[u32],
        rows: usize,
        loss: Loss,
    ) -> f64 {
        self.pass(mlp, x, rows, true);
        let value = self.output_delta(mlp, y, rows, loss);
        for l in (0..mlp.layers()).rev() {
            let (fan_in, fan_out) = (mlp.dims[l], mlp.dims[l + 1]);
            let input = match x {
                Input::Rows(x) if l == 0 => Some(&x[..rows * fan_in]),
                _ if l == 0 => None,
                _ => Some(&self.outs[l - 1][..rows * fan_in]),
            };
            let delta = &self.delta[..rows * fan_out];
            if let Some(input) = input {
                matmul(&mut self.grads.w[l], Mat::new(input, rows, fan_in).t(), Mat::new(delta, rows, fan_out));
            }
            self.grads.b[l].fill(T::zero());
            add_column_sums(&mut self.grads.b[l], delta, T::one());
            self.backpropagate(mlp, l, rows);
        }
        value
    }

    /// One plain SGD step (`p ← p − lr·g`, no momentum, no decay) without ever
    /// materialising the gradient: each layer's `Δᵀ`-product is accumulated straight
    /// into its weights, after `Δ` has been propagated through the old weights.
    /// Same mathematics as `forward_backward` + `Optimizer::step`, one memory pass less
    /// per parameter: what makes batch-size-1 training fast.
    pub fn sgd_step_fused(&mut self, mlp: &mut Mlp<T>, x: &[T], y: &[u32], rows: usize, loss: Loss, lr: f64) -> f64 {
        self.pass(mlp, Input::Rows(x), rows, true);
        let value = self.output_delta(mlp, y, rows, loss);
        let minus_lr = T::of(-lr);
        for l in (0..mlp.layers()).rev() {
            self.backpropagate(mlp, l, rows);
            let (fan_in, fan_out) = (mlp.dims[l], mlp.dims[l + 1]);
            let input = if l == 0 { &x[..rows * fan_in] } else { &self.outs[l - 1][..rows * fan_in] };
            // After `backpropagate`, layer l's delta sits in `delta_prev` (swapped), or
            // still in `delta` for the input layer.
            let delta = if l > 0 { &self.delta_prev[..rows * fan_out] } else { &self.delta[..rows * fan_out] };
            gemm_into(
                &mut mlp.weights[l],
                Mat::new(input, rows, fan_in).t(),
                Mat::new(delta, rows, fan_out),
                Some(T::one()),
                minus_lr,
            );
            add_column_sums(&mut mlp.biases[l], delta, minus_lr);
        }
        value
    }

    /// `∂loss/∂out` into `delta`; returns the batch loss.
    fn output_delta(&mut self, mlp: &Mlp<T>, y: &[u32], rows: usize, loss: Loss) -> f64 {
        let classes = mlp.classes();
        let out = &self.outs[mlp.layers() - 1][..rows * classes];
        loss_grad(loss, out, y, classes, &mut self.delta[..rows * classes])
    }

    /// Δ_{l-1} = (Δ_l · W_lᵀ) ⊙ act'(out_{l-1}) into `delta`, leaving Δ_l in
    /// `delta_prev`; the input layer (l = 0) needs none and changes nothing.
    fn backpropagate(&mut self, mlp: &Mlp<T>, l: usize, rows: usize) {
        if l == 0 {
            return;
        }
        let (fan_in, fan_out) = (mlp.dims[l], mlp.dims[l + 1]);
        let prev = &mut self.delta_prev[..rows * fan_in];
        matmul(
            prev,
            Mat::new(&self.delta[..rows * fan_out], rows, fan_out),
            Mat::new(&mlp.weights[l], fan_in, fan_out).t(),
        );
        let y = match &self.dropout {
            Some(d) => {
                prev.iter_mut().zip(&d.masks[l - 1]).for_each(|(g, &m)| *g *= m);
                &d.raw[l - 1][..rows * fan_in]
            }
            None => &self.outs[l - 1][..rows * fan_in],
        };
        activation_backward(mlp.activation, prev, y);
        std::mem::swap(&mut self.delta, &mut self.delta_prev);
    }
}

/// `acc[j] += scale · Σ_rows m[row][j]`.
fn add_column_sums<T: Real>(acc: &mut [T], m: &[T], scale: T) {
    for row in m.chunks_exact(acc.len()) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += scale * v;
        }
    }
}

pub(crate) fn activate<T: Real>(a: Activation, z: &mut [T]) {
    match a {
        Activation::Sigmoid => z.iter_mut().for_each(|v| *v = T::one() / (T::one() + (-*v).exp())),
        Activation::Tanh => z.iter_mut().for_each(|v| *v = v.tanh()),
        Activation::Relu => z.iter_mut().for_each(|v| *v = num_traits::Float::max(*v, T::zero())),
    }
}

/// `grad ← grad ⊙ act'(z)`, with the derivative written in terms of the output `y`.
fn activation_backward<T: Real>(a: Activation, grad: &mut [T], y: &[T]) {
    let one = T::one();
    match a {
        Activation::Sigmoid => grad.iter_mut().zip(y).for_each(|(g, &y)| *g = *g * (one - y) * y),
        Activation::Tanh => grad.iter_mut().zip(y).for_each(|(g, &y)| *g *= one - y * y),
        Activation::Relu => grad.iter_mut().zip(y).for_each(|(g, &y)| {
            if y <= T::zero() {
                *g = T::zero()
            }
        }),
    }
}

/// The batch loss and `∂loss/∂out` written into `grad`.
pub(crate) fn loss_grad<T: Real>(loss: Loss, out: &[T], y: &[u32], classes: usize, grad: &mut [T]) -> f64 {
    let rows = y.len();
    let mut total = 0.0f64;
    match loss {
        Loss::MseSum | Loss::MseMean => {
            let scale = match loss {
                Loss::MseSum => 2.0,
                _ => 2.0 / (rows * classes) as f64,
            };
            let scale = T::of(scale);
            for ((o, g), &label) in out.chunks_exact(classes).zip(grad.chunks_exact_mut(classes)).zip(y) {
                for (c, (&o, g)) in o.iter().zip(g.iter_mut()).enumerate() {
                    let diff = if c == label as usize { o - T::one() } else { o };
                    total += (diff * diff).f64();
                    *g = scale * diff;
                }
            }
            if loss == Loss::MseMean {
                total /= (rows * classes) as f64;
            }
        }
        Loss::CrossEntropy => {
            let inv = T::of(1.0 / rows as f64);
            for ((o, g), &label) in out.chunks_exact(classes).zip(grad.chunks_exact_mut(classes)).zip(y) {
                let max = o.iter().copied().fold(T::neg_infinity(), num_traits::Float::max);
                let sum: T = o.iter().map(|&v| (v - max).exp()).sum();
                let log_sum = sum.ln() + max;
                total += (log_sum - o[label as usize]).f64();
                for (c, (&v, g)) in o.iter().zip(g.iter_mut()).enumerate() {
                    let p = (v - log_sum).exp();
                    *g = (if c == label as usize { p - T::one() } else { p }) * inv;
                }
            }
            total /= rows as f64;
        }
    }
    total
}

/// Per-sample loss summed over `out`'s rows (for evaluation: divide by the rows).
pub(crate) fn loss_sum<T: Real>(loss: Loss, out: &[T], y: &[u32], classes: usize) -> f64 {
    let mut total = 0.0;
    for (o, &label) in out.chunks_exact(classes).zip(y) {
        total += match loss {
            Loss::MseSum | Loss::MseMean => {
                let s: f64 = o
                    .iter()
                    .enumerate()
                    .map(|(c, &v)| {
                        let d = if c == label as usize { v.f64() - 1.0 } else { v.f64() };
                        d * d
                    })
                    .sum();
                if loss == Loss::MseMean {
                    s / classes as f64
                } else {
                    s
                }
            }
            Loss::CrossEntropy => {
                let max = o.iter().map(|v| v.f64()).fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = o.iter().map(|v| (v.f64() - max).exp()).sum();
                sum.ln() + max - o[label as usize].f64()
            }
        };
    }
    total
}

/// The softmax of each row of `out` (`rows × classes`), appended to `dst`: class
/// probabilities from the scores, computed in f64 with the row maximum subtracted.
pub(crate) fn softmax_rows<T: Real>(out: &[T], classes: usize, dst: &mut Vec<f32>) {
    for row in out.chunks_exact(classes) {
        let max = row.iter().map(|v| v.f64()).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|v| (v.f64() - max).exp()).sum();
        dst.extend(row.iter().map(|v| ((v.f64() - max).exp() / sum) as f32));
    }
}

/// Index of the largest output per row; the first one wins ties (as `argmax` does).
pub fn argmax_rows<T: Real>(out: &[T], classes: usize) -> impl Iterator<Item = usize> + '_ {
    out.chunks_exact(classes).map(|row| {
        let mut best = 0;
        for (c, v) in row.iter().enumerate() {
            // NaN never wins, so a diverged output cannot panic here.
            if *v > row[best] {
                best = c;
            }
        }
        best
    })
}
