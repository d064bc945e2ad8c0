//! The candle engine: the MLP as candle-nn `Linear` layers over a `VarMap`, forward
//! and backward through candle's autograd, pinniped's optimisers over candle `Var`s,
//! on a candle `Device` (CPU by default, CUDA with `--features cuda`).
//!
//! The `VarMap` is filled from the native [`Mlp`] that `init::initialise` drew from
//! the run's seeded stream (candle's CPU RNG cannot be seeded), so both engines start
//! from the same weights; the names and layout are the checkpoints' (`layers.L.weight`
//! is `[out, in]`). Dropout masks come from the run's dropout stream in the native
//! engine's order, so the two engines train the same network up to rounding.
//!
//! A new model family is another struct like [`CandleMlp`] (candle-nn modules over a
//! `VarMap`) plus its config keys; the optimiser, losses and epoch loop are shared.

use super::engine::{Model, Setup};
use super::model::{Grads, Mlp};
use super::options::{Activation, Device as DeviceKind, Loss, MomentumRule, OptimizerKind};
use super::real::Real;
use anyhow::Context;
use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use candle_nn::{Linear, Module, VarBuilder, VarMap};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::marker::PhantomData;
use std::ops::Range;

/// The candle `Device` a run asks for.
pub fn device(kind: DeviceKind) -> anyhow::Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        // `Device::new_cuda` fails clearly (no driver, no GPU) when built with the feature.
        DeviceKind::Cuda if cfg!(feature = "cuda") => {
            Device::new_cuda(0).context("device = \"cuda\": cannot open CUDA device 0")
        }
        DeviceKind::Cuda => anyhow::bail!("device = \"cuda\" needs a pinniped built with `--features cuda`"),
    }
}

/// An MLP made of candle-nn layers: `Linear`, activation, …, `Linear`.
pub struct CandleMlp<T> {
    dims: Vec<usize>,
    activation: Activation,
    device: Device,
    varmap: VarMap,
    layers: Vec<Linear>,
    /// The same layers over detached views of the variables (same storage): evaluation builds no graph.
    eval_layers: Vec<Linear>,
    /// w0, b0, w1, b1, …: the `VarMap` is a hash map, this is the fixed order.
    vars: Vec<Var>,
    _dtype: PhantomData<T>,
}

/// Hidden activations of one training pass, before dropout.
pub type Hidden = Vec<Tensor>;

impl<T: Real> CandleMlp<T> {
    /// The network with `mlp`'s parameters (transposed into candle's `[out, in]` layout).
    pub fn new(mlp: &Mlp<T>, device: &Device) -> anyhow::Result<Self> {
        let varmap = VarMap::new();
        let mut vars = Vec::new();
        {
            let mut data = varmap.data().lock().expect("the VarMap is ours alone");
            for l in 0..mlp.layers() {
                let (fan_in, fan_out) = (mlp.dims[l], mlp.dims[l + 1]);
                let w = Tensor::from_slice(&mlp.weights[l], (fan_in, fan_out), device)?.t()?.contiguous()?;
                let w = Var::from_tensor(&w)?;
                let b = Var::from_slice(&mlp.biases[l], fan_out, device)?;
                data.insert(format!("layers.{l}.weight"), w.clone());
                data.insert(format!("layers.{l}.bias"), b.clone());
                vars.extend([w, b]);
            }
        }
        // The variables exist already: `linear` finds them by name and draws nothing.
        let vb = VarBuilder::from_varmap(&varmap, T::DTYPE, device);
        let layers = (0..mlp.layers())
            .map(|l| candle_nn::linear(mlp.dims[l], mlp.dims[l + 1], vb.pp(format!("layers.{l}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let eval_layers = vars
            .chunks_exact(2)
            .map(|p| Linear::new(p[0].as_detached_tensor(), Some(p[1].as_detached_tensor())))
            .collect();
        Ok(CandleMlp {
            dims: mlp.dims.clone(),
            activation: mlp.activation,
            device: device.clone(),
            varmap,
            layers,
            eval_layers,
            vars,
            _dtype: PhantomData,
        })
    }

    /// The trainable variables in the order w0, b0, w1, b1, … (for an optimiser).
    pub fn vars(&self) -> Vec<Var> {
        self.vars.clone()
    }

    /// The variables by checkpoint name (`layers.L.weight`, `layers.L.bias`).
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// `rows × inputs` as a tensor on the network's device.
    pub fn input(&self, x: &[T], rows: usize) -> anyhow::Result<Tensor> {
        Ok(Tensor::from_slice(x, (rows, self.dims[0]), &self.device)?)
    }

    /// Linear output of the last layer. With `dropout`, hidden units are dropped by
    /// its masks (inverted dropout) and the activations before dropout are returned too.
    pub fn forward(&self, x: &Tensor, dropout: Option<&mut Dropout>) -> anyhow::Result<(Tensor, Hidden)> {
        self.pass(&self.layers, x, dropout)
    }

    /// Linear output of the last layer for evaluation: no dropout, no autograd graph.
    pub fn scores(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        Ok(self.pass(&self.eval_layers, x, None)?.0)
    }

    fn pass(
        &self,
        layers: &[Linear],
        x: &Tensor,
        mut dropout: Option<&mut Dropout>,
    ) -> anyhow::Result<(Tensor, Hidden)> {
        let mut a = x.clone();
        let mut hidden = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            a = layer.forward(&a)?;
            if l + 1 < layers.len() {
                a = match self.activation {
                    Activation::Sigmoid => candle_nn::ops::sigmoid(&a)?,
                    Activation::Tanh => a.tanh()?,
                    Activation::Relu => a.relu()?,
                };
                hidden.push(a.clone());
                if let Some(d) = dropout.as_deref_mut() {
                    a = a.mul(&d.mask::<T>(a.dims2()?, &self.device)?)?;
                }
            }
        }
        Ok((a, hidden))
    }

    /// The batch loss as `loss` defines it (a scalar tensor with a graph).
    pub fn loss(&self, out: &Tensor, y: &[u32], loss: Loss) -> anyhow::Result<Tensor> {
        let (rows, classes) = out.dims2()?;
        Ok(match loss {
            Loss::MseSum | Loss::MseMean => {
                let onehot: Vec<T> = (0..rows * classes)
                    .map(|i| if y[i / classes] as usize == i % classes { T::one() } else { T::zero() })
                    .collect();
                let sq = out.sub(&Tensor::from_vec(onehot, (rows, classes), &self.device)?)?.sqr()?;
                if loss == Loss::MseSum {
                    sq.sum_all()?
                } else {
                    sq.mean_all()?
                }
            }
            Loss::CrossEntropy => candle_nn::loss::cross_entropy(out, &Tensor::from_slice(y, rows, &self.device)?)?,
        })
    }

    /// Loss and gradients (native layout) at the current parameters, without dropout.
    pub fn loss_and_grads(&self, x: &[T], y: &[u32], loss: Loss) -> anyhow::Result<(f64, Grads<T>, GradStore)> {
        let (out, _) = self.forward(&self.input(x, y.len())?, None)?;
        let value = self.loss(&out, y, loss)?;
        let store = value.backward()?;
        let (mut w, mut b) = (Vec::new(), Vec::new());
        for pair in self.vars.chunks_exact(2) {
            let grad = |v: &Var| store.get(v.as_tensor()).context("a parameter got no gradient").cloned();
            w.push(grad(&pair[0])?.t()?.contiguous()?.flatten_all()?.to_vec1::<T>()?);
            b.push(grad(&pair[1])?.to_vec1::<T>()?);
        }
        Ok((scalar(&value)?, Grads { w, b }, store))
    }

    /// The parameters as the native model (`[in, out]` layout).
    pub fn to_mlp(&self) -> anyhow::Result<Mlp<T>> {
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for pair in self.vars.chunks_exact(2) {
            weights.push(pair[0].as_tensor().t()?.contiguous()?.flatten_all()?.to_vec1::<T>()?);
            biases.push(pair[1].as_tensor().to_vec1::<T>()?);
        }
        Ok(Mlp::from_parts(&self.dims, self.activation, weights, biases))
    }
}

fn scalar(t: &Tensor) -> anyhow::Result<f64> {
    Ok(t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?)
}

/// Inverted-dropout masks drawn from the run's dropout stream, element by element
/// in the native engine's order (layer by layer, row-major).
pub struct Dropout {
    pub p: f64,
    pub rng: ChaCha8Rng,
}

impl Dropout {
    fn mask<T: Real>(&mut self, (rows, width): (usize, usize), device: &Device) -> anyhow::Result<Tensor> {
        let keep = T::of(1.0 / (1.0 - self.p));
        let m: Vec<T> =
            (0..rows * width).map(|_| if self.rng.random::<f64>() < self.p { T::zero() } else { keep }).collect();
        Ok(Tensor::from_vec(m, (rows, width), device)?)
    }
}

/// pinniped's optimisers (`train::optim`, pinned against PyTorch) over candle `Var`s.
#[derive(Clone, Copy, Debug)]
pub struct OptimConfig {
    pub kind: OptimizerKind,
    pub lr: f64,
    pub momentum: f64,
    pub rule: MomentumRule,
    pub weight_decay: f64,
}

pub struct CandleOptimizer {
    vars: Vec<Var>,
    config: OptimConfig,
    /// SGD velocity or Adam's first moment, per variable.
    first: Vec<Tensor>,
    /// Adam's second moment.
    second: Vec<Tensor>,
    steps: u64,
}

impl candle_nn::Optimizer for CandleOptimizer {
    type Config = OptimConfig;

    fn new(vars: Vec<Var>, config: OptimConfig) -> candle_core::Result<Self> {
        let zeros = || vars.iter().map(|v| v.as_tensor().zeros_like()).collect::<candle_core::Result<Vec<_>>>();
        let first = zeros()?;
        let second = if config.kind == OptimizerKind::Adam { zeros()? } else { Vec::new() };
        Ok(CandleOptimizer { vars, config, first, second, steps: 0 })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        self.steps += 1;
        let c = self.config;
        for (k, var) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else { continue };
            let p = var.as_tensor();
            // The same operations, in the same order, as `train::optim`.
            let g = (g + (p * c.weight_decay)?)?;
            let next = match c.kind {
                OptimizerKind::Sgd => match c.rule {
                    MomentumRule::Damped => {
                        // v ← lr·(1−m)·(g + wd·p) + m·v ; p ← p − v
                        let v = ((g * (c.lr * (1.0 - c.momentum)))? + (&self.first[k] * c.momentum)?)?;
                        let next = (p - &v)?;
                        self.first[k] = v;
                        next
                    }
                    MomentumRule::Classic => {
                        // PyTorch: v ← d on the first step, else m·v + d; p ← p − lr·v
                        let step = if c.momentum == 0.0 || self.steps == 1 {
                            g
                        } else {
                            ((&self.first[k] * c.momentum)? + g)?
                        };
                        let next = (p - (&step * c.lr)?)?;
                        self.first[k] = step;
                        next
                    }
                },
                OptimizerKind::Adam => {
                    // PyTorch's single-tensor Adam, operation for operation.
                    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
                    let t = self.steps as i32;
                    let step_size = c.lr / (1.0 - b1.powi(t));
                    let bc2_sqrt = Tensor::new((1.0 - b2.powi(t)).sqrt(), p.device())?.to_dtype(p.dtype())?;
                    let m1 = (&self.first[k] + ((&g - &self.first[k])? * (1.0 - b1))?)?;
                    let m2 = ((&self.second[k] * b2)? + ((&g * (1.0 - b2))? * &g)?)?;
                    let denom = (m2.sqrt()?.broadcast_div(&bc2_sqrt)? + eps)?;
                    let next = (p - ((&m1 / &denom)? * step_size)?)?;
                    self.first[k] = m1;
                    self.second[k] = m2;
                    next
                }
            };
            var.set(&next)?;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}

/// The epoch loop's view of a candle-trained network.
pub struct CandleEngine<'a, T> {
    net: CandleMlp<T>,
    opt: CandleOptimizer,
    loss: Loss,
    dropout: Option<Dropout>,
    record: bool,
    /// Hidden activations of the last training batch (when recording).
    hidden: Vec<Vec<T>>,
    sets: Vec<&'a [T]>,
    /// The evaluation sets as tensors, made on first use.
    set_tensors: Vec<Option<Tensor>>,
    scores: Vec<T>,
    /// The parameters as of the last `end_epoch`.
    mlp: Mlp<T>,
}

impl<'a, T: Real> CandleEngine<'a, T> {
    pub fn new(s: Setup<'a, T>) -> anyhow::Result<Self> {
        use candle_nn::Optimizer as _;
        let cfg = s.cfg;
        let net = CandleMlp::new(&s.mlp, &device(cfg.device)?)?;
        let config = OptimConfig {
            kind: cfg.optimizer,
            lr: cfg.learning_rate,
            momentum: cfg.momentum,
            rule: cfg.momentum_rule,
            weight_decay: cfg.weight_decay,
        };
        let opt = CandleOptimizer::new(net.vars(), config)?;
        let dropout =
            (cfg.dropout > 0.0 && s.mlp.layers() > 1).then_some(Dropout { p: cfg.dropout, rng: s.dropout_rng });
        Ok(CandleEngine {
            net,
            opt,
            loss: cfg.loss,
            dropout,
            record: s.record,
            hidden: Vec::new(),
            set_tensors: vec![None; s.sets.len()],
            sets: s.sets,
            scores: Vec::new(),
            mlp: s.mlp,
        })
    }
}

impl<T: Real> Model<T> for CandleEngine<'_, T> {
    fn begin_epoch(&mut self, _positions: &[usize]) {}

    fn train_batch(&mut self, _range: Range<usize>, x: &[T], y: &[u32]) -> anyhow::Result<f64> {
        use candle_nn::Optimizer as _;
        let (out, hidden) = self.net.forward(&self.net.input(x, y.len())?, self.dropout.as_mut())?;
        let loss = self.net.loss(&out, y, self.loss)?;
        let value = scalar(&loss)?;
        if !value.is_finite() {
            return Ok(value);
        }
        self.opt.backward_step(&loss)?;
        if self.record {
            self.hidden = hidden.iter().map(|h| h.flatten_all()?.to_vec1::<T>()).collect::<Result<_, _>>()?;
        }
        Ok(value)
    }

    fn hidden(&self, l: usize, rows: usize, width: usize) -> &[T] {
        &self.hidden[l][..rows * width]
    }

    fn end_epoch(&mut self) -> anyhow::Result<()> {
        self.mlp = self.net.to_mlp()?;
        Ok(())
    }

    fn scores(&mut self, k: usize) -> anyhow::Result<&[T]> {
        if self.set_tensors[k].is_none() {
            let rows = self.sets[k].len() / self.mlp.inputs();
            self.set_tensors[k] = Some(self.net.input(self.sets[k], rows)?);
        }
        let x = self.set_tensors[k].as_ref().expect("just made");
        self.scores = self.net.scores(x)?.flatten_all()?.to_vec1::<T>()?;
        Ok(&self.scores)
    }

    fn mlp(&self) -> &Mlp<T> {
        &self.mlp
    }

    fn into_mlp(self: Box<Self>) -> anyhow::Result<Mlp<T>> {
        self.net.to_mlp()
    }
}
