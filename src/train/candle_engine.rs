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

use super::engine::{uses_gram, Model, NetRef, Setup};
use super::model::{Grads, Mlp};
use super::net::Net;
use super::options::{Activation, Device as DeviceKind, Loss, MomentumRule, OptimizerKind};
use super::real::Real;
use super::state::{EngineState, GramState};
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
        self.pass(&self.layers, Input::Rows(x), dropout)
    }

    /// Linear output of the last layer for evaluation: no dropout, no autograd graph.
    pub fn scores(&self, x: &Tensor) -> anyhow::Result<Tensor> {
        Ok(self.pass(&self.eval_layers, Input::Rows(x), None)?.0)
    }

    fn pass(
        &self,
        layers: &[Linear],
        x: Input<'_>,
        mut dropout: Option<&mut Dropout>,
    ) -> anyhow::Result<(Tensor, Hidden)> {
        let mut a = match x {
            Input::Rows(x) => x.clone(),
            Input::FirstLayer(z) => z.clone(),
        };
        let mut hidden = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            a = match (l, x) {
                // The first layer's product is given: only its bias is left to add.
                (0, Input::FirstLayer(_)) => a.broadcast_add(layer.bias().expect("layers have biases"))?,
                _ => layer.forward(&a)?,
            };
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
        loss_of::<T>(out, y, loss)
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

/// The batch loss of class scores `out` (`rows × classes`) as `loss` defines it, with a graph.
pub fn loss_of<T: Real>(out: &Tensor, y: &[u32], loss: Loss) -> anyhow::Result<Tensor> {
    let (rows, classes) = out.dims2()?;
    Ok(match loss {
        Loss::MseSum | Loss::MseMean => {
            let onehot: Vec<T> = (0..rows * classes)
                .map(|i| if y[i / classes] as usize == i % classes { T::one() } else { T::zero() })
                .collect();
            let sq = out.sub(&Tensor::from_vec(onehot, (rows, classes), out.device())?)?.sqr()?;
            if loss == Loss::MseSum {
                sq.sum_all()?
            } else {
                sq.mean_all()?
            }
        }
        Loss::CrossEntropy => candle_nn::loss::cross_entropy(out, &Tensor::from_slice(y, rows, out.device())?)?,
    })
}

/// What enters the first layer: input rows, or the first layer's product `X·W₁ᵀ`
/// computed elsewhere (the Gram method), to which the bias is added.
#[derive(Clone, Copy)]
enum Input<'t> {
    Rows(&'t Tensor),
    FirstLayer(&'t Tensor),
}

/// The Gram method (`train::gram`) in candle ops: `W₁ = s·W₁(0) + Aᵀ·X_train` in
/// candle's layout, so every first-layer product is `s·(X·W₁(0)ᵀ) + (X·X_trainᵀ)·A`.
/// The first layer's weight variable only receives the materialised weights at the
/// end of each epoch; SGD moves `s` and `A` (the same operations as `Gram::step`).
struct CandleGram<T> {
    s: T,
    vs: T,
    a: Tensor,
    va: Tensor,
    steps: u64,
    w0: Tensor,
    x_train: Tensor,
    /// Per evaluation set: `X·X_trainᵀ` and `X·W₁(0)ᵀ`.
    gram: Vec<Tensor>,
    base: Vec<Tensor>,
    /// The training set's rows of both in this epoch's order, and that order.
    gram_epoch: Tensor,
    base_epoch: Tensor,
    positions: Tensor,
}

impl<T: Real> CandleGram<T> {
    /// `sets[0]` must be the training rows.
    fn new(w0: &Tensor, sets: &[Tensor]) -> anyhow::Result<Self> {
        let x_train = sets[0].clone();
        let (n_train, hidden) = (x_train.dim(0)?, w0.dim(0)?);
        let gram = sets.iter().map(|x| x.matmul(&x_train.t()?)).collect::<candle_core::Result<Vec<_>>>()?;
        let base = sets.iter().map(|x| x.matmul(&w0.t()?)).collect::<candle_core::Result<Vec<_>>>()?;
        let zeros = Tensor::zeros((n_train, hidden), w0.dtype(), w0.device())?;
        Ok(CandleGram {
            s: T::one(),
            vs: T::zero(),
            a: zeros.clone(),
            va: zeros,
            steps: 0,
            w0: w0.copy()?,
            x_train,
            gram_epoch: gram[0].clone(),
            base_epoch: base[0].clone(),
            positions: Tensor::arange(0u32, n_train as u32, w0.device())?,
            gram,
            base,
        })
    }

    /// This epoch's order of the training rows.
    fn gather_epoch(&mut self, positions: &[usize]) -> anyhow::Result<()> {
        let p: Vec<u32> = positions.iter().map(|&p| p as u32).collect();
        self.positions = Tensor::from_vec(p, positions.len(), self.a.device())?;
        self.gram_epoch = self.gram[0].index_select(&self.positions, 0)?;
        self.base_epoch = self.base[0].index_select(&self.positions, 0)?;
        Ok(())
    }

    fn product(&self, gram: &Tensor, base: &Tensor) -> anyhow::Result<Tensor> {
        Ok(((base * self.s.f64())? + gram.matmul(&self.a)?)?)
    }

    /// The first layer's product for rows `range` of this epoch's training order.
    fn batch(&self, range: &Range<usize>) -> anyhow::Result<Tensor> {
        let (start, rows) = (range.start, range.len());
        self.product(&self.gram_epoch.narrow(0, start, rows)?, &self.base_epoch.narrow(0, start, rows)?)
    }

    /// The first layer's product for every row of evaluation set `k`.
    fn set(&self, k: usize) -> anyhow::Result<Tensor> {
        self.product(&self.gram[k], &self.base[k])
    }

    /// One SGD step of the first layer for the rows `range` of this epoch's order,
    /// whose first-layer deltas are `delta`.
    fn step(&mut self, range: &Range<usize>, delta: &Tensor, c: &OptimConfig) -> anyhow::Result<()> {
        self.steps += 1;
        // Detached for the same reason as the optimiser's gradients (`CandleOptimizer::step`).
        let delta = &delta.detach();
        let rows = self.positions.narrow(0, range.start, range.len())?;
        if c.momentum == 0.0 && c.weight_decay == 0.0 {
            // Both rules: W ← W − lr·Xᵀ·D, so only the batch's rows of A move.
            self.a = self.a.index_add(&rows, &(delta * -c.lr)?, 0)?;
            return Ok(());
        }
        // With g = Xᵀ·D and W = s·W₁(0) + Xᵀ·A, both rules keep V in the same form.
        let (m, wd) = (T::of(c.momentum), T::of(c.weight_decay));
        let (keep, scale) = match c.rule {
            MomentumRule::Damped => (m, T::of(c.lr * (1.0 - c.momentum))),
            MomentumRule::Classic => (if self.steps == 1 { T::zero() } else { m }, T::one()),
        };
        self.vs = keep * self.vs + scale * wd * self.s;
        let va = ((&self.va * keep.f64())? + (&self.a * (scale * wd).f64())?)?;
        self.va = va.index_add(&rows, &(delta * scale.f64())?, 0)?;
        let step = match c.rule {
            MomentumRule::Damped => T::one(),
            MomentumRule::Classic => T::of(c.lr),
        };
        self.s -= step * self.vs;
        self.a = (&self.a - (&self.va * step.f64())?)?;
        Ok(())
    }

    /// `s·W₁(0) + Aᵀ·X_train`, in candle's `[out, in]` layout.
    fn materialize(&self) -> anyhow::Result<Tensor> {
        Ok(((&self.w0 * self.s.f64())? + self.a.t()?.matmul(&self.x_train)?)?)
    }
}

pub(crate) fn scalar(t: &Tensor) -> anyhow::Result<f64> {
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
    pub(crate) config: OptimConfig,
    /// SGD velocity or Adam's first moment, per variable.
    pub(crate) first: Vec<Tensor>,
    /// Adam's second moment.
    pub(crate) second: Vec<Tensor>,
    pub(crate) steps: u64,
}

impl OptimConfig {
    /// The optimiser `cfg` asks for.
    pub fn of(cfg: &crate::spec::config::TrainConfig) -> Self {
        let o = &cfg.optimiser;
        OptimConfig {
            kind: o.optimizer,
            lr: o.learning_rate,
            momentum: o.momentum,
            rule: o.momentum_rule,
            weight_decay: o.weight_decay,
        }
    }
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
            // Detached: the variable and its gradient (which refers to this step's forward
            // graph) are tracked, and optimiser state computed from them would chain every
            // step's graph to the last one (a batch-1 run overflowed the stack dropping it).
            let (p, g) = (&var.as_tensor().detach(), g.detach());
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
pub(crate) struct CandleEngine<'a, T> {
    net: CandleMlp<T>,
    opt: CandleOptimizer,
    gram: Option<CandleGram<T>>,
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
        let net = CandleMlp::new(&s.mlp, &device(cfg.model.device)?)?;
        let opt = CandleOptimizer::new(net.vars(), OptimConfig::of(cfg))?;
        let cols = s.mlp.inputs();
        let mut set_tensors = vec![None; s.sets.len()];
        let gram = if uses_gram(cfg, s.sets[0].len() / cols, cols) {
            let xs = s.sets.iter().map(|x| net.input(x, x.len() / cols)).collect::<anyhow::Result<Vec<_>>>()?;
            let gram = CandleGram::new(net.vars[0].as_tensor(), &xs)?;
            set_tensors = xs.into_iter().map(Some).collect();
            Some(gram)
        } else {
            None
        };
        let dropout = (cfg.model.dropout > 0.0 && s.mlp.layers() > 1)
            .then_some(Dropout { p: cfg.model.dropout, rng: s.dropout_rng });
        Ok(CandleEngine {
            net,
            opt,
            loss: cfg.optimiser.loss,
            dropout,
            record: s.record,
            hidden: Vec::new(),
            gram,
            set_tensors,
            sets: s.sets,
            scores: Vec::new(),
            mlp: s.mlp,
        })
    }
}

impl<T: Real> Model<T> for CandleEngine<'_, T> {
    fn begin_epoch(&mut self, positions: &[usize]) -> anyhow::Result<()> {
        match self.gram.as_mut() {
            Some(g) => g.gather_epoch(positions),
            None => Ok(()),
        }
    }

    fn train_batch(&mut self, range: Range<usize>, x: &[T], y: &[u32]) -> anyhow::Result<f64> {
        use candle_nn::Optimizer as _;
        // Under the Gram method the first layer's product is a leaf whose gradient is the first delta.
        let first = match self.gram.as_ref() {
            Some(g) => Some(Var::from_tensor(&g.batch(&range)?)?),
            None => None,
        };
        let (out, hidden) = match &first {
            Some(z) => self.net.pass(&self.net.layers, Input::FirstLayer(z.as_tensor()), self.dropout.as_mut())?,
            None => self.net.forward(&self.net.input(x, y.len())?, self.dropout.as_mut())?,
        };
        let loss = self.net.loss(&out, y, self.loss)?;
        let value = scalar(&loss)?;
        if !value.is_finite() {
            return Ok(value);
        }
        let grads = loss.backward()?;
        // The first layer's weights are not in the graph under Gram: the optimiser skips them.
        self.opt.step(&grads)?;
        if let (Some(g), Some(z)) = (self.gram.as_mut(), &first) {
            let delta = grads.get(z.as_tensor()).context("the first layer got no gradient")?;
            g.step(&range, delta, &self.opt.config)?;
        }
        if self.record {
            self.hidden = hidden.iter().map(|h| h.flatten_all()?.to_vec1::<T>()).collect::<Result<_, _>>()?;
        }
        Ok(value)
    }

    fn hidden(&self, l: usize, rows: usize, width: usize) -> &[T] {
        &self.hidden[l][..rows * width]
    }

    fn end_epoch(&mut self) -> anyhow::Result<()> {
        if let Some(g) = self.gram.as_ref() {
            self.net.vars[0].set(&g.materialize()?)?;
        }
        self.mlp = self.net.to_mlp()?;
        Ok(())
    }

    fn scores(&mut self, k: usize) -> anyhow::Result<&[T]> {
        if self.set_tensors[k].is_none() {
            let rows = self.sets[k].len() / self.mlp.inputs();
            self.set_tensors[k] = Some(self.net.input(self.sets[k], rows)?);
        }
        let x = self.set_tensors[k].as_ref().expect("just made");
        let out = match self.gram.as_ref() {
            Some(g) => self.net.pass(&self.net.eval_layers, Input::FirstLayer(&g.set(k)?), None)?.0,
            None => self.net.scores(x)?,
        };
        self.scores = out.flatten_all()?.to_vec1::<T>()?;
        Ok(&self.scores)
    }

    fn net(&self) -> NetRef<'_, T> {
        NetRef::Mlp(&self.mlp)
    }

    fn into_net(self: Box<Self>) -> anyhow::Result<Net<T>> {
        Ok(Net::Mlp(self.net.to_mlp()?))
    }

    fn state(&self) -> anyhow::Result<EngineState<T>> {
        let flat = |t: &Tensor| -> anyhow::Result<Vec<T>> { Ok(t.flatten_all()?.to_vec1::<T>()?) };
        let all = |ts: &[Tensor]| ts.iter().map(flat).collect::<anyhow::Result<Vec<_>>>();
        let gram = match self.gram.as_ref() {
            Some(g) => Some(GramState { s: g.s, vs: g.vs, a: flat(&g.a)?, va: flat(&g.va)?, steps: g.steps }),
            None => None,
        };
        Ok(EngineState {
            // The variables, not `mlp` (which is of the last epoch's end): also inside an epoch.
            net: Net::Mlp(self.net.to_mlp()?),
            first: all(&self.opt.first)?,
            second: all(&self.opt.second)?,
            steps: self.opt.steps,
            gram,
            dropout_word: self.dropout.as_ref().map(|d| d.rng.get_word_pos()),
        })
    }

    fn restore(&mut self, s: EngineState<T>) -> Result<(), String> {
        let Net::Mlp(saved) = s.net else {
            return Err("it is of a convolutional network, the run trains an MLP".into());
        };
        super::engine::same_shape(&self.mlp, &saved)?;
        let e = |e: candle_core::Error| format!("candle: {e}");
        let device = self.net.device.clone();
        // Each moment shaped like its variable (weights in candle's `[out, in]` layout).
        let shaped = |moments: Vec<Vec<T>>, vars: &[Var]| -> Result<Vec<Tensor>, String> {
            if moments.len() != vars.len() || moments.iter().zip(vars).any(|(m, v)| m.len() != v.elem_count()) {
                return Err("its optimiser state has other shapes than the run's optimiser".into());
            }
            moments.into_iter().zip(vars).map(|(m, v)| Tensor::from_vec(m, v.shape(), &device).map_err(e)).collect()
        };
        let first = shaped(s.first, &self.net.vars)?;
        let second =
            if self.opt.second.is_empty() { shaped(s.second, &[])? } else { shaped(s.second, &self.net.vars)? };
        match (self.gram.as_mut(), s.gram) {
            (Some(g), Some(state)) => {
                let shape = g.a.shape().clone();
                if state.a.len() != shape.elem_count() || state.va.len() != shape.elem_count() {
                    return Err("its Gram-method coefficients have another shape than the run's".into());
                }
                g.a = Tensor::from_vec(state.a, &shape, &device).map_err(e)?;
                g.va = Tensor::from_vec(state.va, &shape, &device).map_err(e)?;
                (g.s, g.vs, g.steps) = (state.s, state.vs, state.steps);
            }
            (None, None) => {}
            _ => return Err("it was saved with another method (gram / direct)".into()),
        }
        match (self.dropout.as_mut(), s.dropout_word) {
            (Some(d), Some(w)) => d.rng.set_word_pos(w),
            (None, None) => {}
            _ => return Err("its dropout stream does not match the run's dropout".into()),
        }
        // The variables take the saved parameters, transposed into candle's layout as at the start.
        for (l, pair) in self.net.vars.chunks_exact(2).enumerate() {
            let (fan_in, fan_out) = (saved.dims[l], saved.dims[l + 1]);
            let w = Tensor::from_slice(&saved.weights[l], (fan_in, fan_out), &device)
                .and_then(|w| w.t()?.contiguous())
                .map_err(e)?;
            pair[0].set(&w).map_err(e)?;
            pair[1].set(&Tensor::from_slice(&saved.biases[l], fan_out, &device).map_err(e)?).map_err(e)?;
        }
        (self.opt.first, self.opt.second, self.opt.steps) = (first, second, s.steps);
        self.mlp = saved;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::Optimizer as _;

    /// Every optimiser's state after a step is a plain tensor: kept tracked, it would hold
    /// the previous step's graph, and a long run's chain overflowed the stack when dropped.
    #[test]
    fn optimiser_state_holds_no_graph_from_one_step_to_the_next() {
        for (kind, rule, momentum) in [
            (OptimizerKind::Sgd, MomentumRule::Damped, 0.0),
            (OptimizerKind::Sgd, MomentumRule::Damped, 0.9),
            (OptimizerKind::Sgd, MomentumRule::Classic, 0.9),
            (OptimizerKind::Adam, MomentumRule::Damped, 0.0),
        ] {
            let var = Var::from_slice(&[1.0f64, -2.0, 0.5], 3, &Device::Cpu).unwrap();
            let config = OptimConfig { kind, rule, lr: 0.1, momentum, weight_decay: 0.01 };
            let mut opt = CandleOptimizer::new(vec![var.clone()], config).unwrap();
            for _ in 0..3 {
                let loss = var.as_tensor().sqr().unwrap().sum_all().unwrap();
                opt.step(&loss.backward().unwrap()).unwrap();
            }
            let state = opt.first.iter().chain(&opt.second);
            for t in state {
                assert!(!t.track_op(), "{kind:?} {rule:?} m={momentum}: the state keeps a graph");
            }
            assert!(var.as_tensor().is_variable());
        }
    }

    #[test]
    fn gram_state_holds_no_graph_from_one_step_to_the_next() {
        let dev = &Device::Cpu;
        let w0 = Tensor::from_slice(&[0.1f64, 0.2, 0.3, -0.1, 0.0, 0.4], (2, 3), dev).unwrap();
        let x =
            Tensor::from_slice(&[1.0f64, 0.0, 2.0, 0.5, 1.5, -1.0, 0.0, 1.0, 1.0, 2.0, 0.0, 1.0], (4, 3), dev).unwrap();
        for momentum in [0.0, 0.9] {
            let mut gram = CandleGram::<f64>::new(&w0, std::slice::from_ref(&x)).unwrap();
            gram.gather_epoch(&[2, 0, 3, 1]).unwrap();
            let config = OptimConfig {
                kind: OptimizerKind::Sgd,
                rule: MomentumRule::Damped,
                lr: 0.1,
                momentum,
                weight_decay: 0.0,
            };
            for start in [0, 2] {
                // A gradient as backward returns it: tracked, referring to a forward graph.
                let z = Var::from_tensor(&gram.batch(&(start..start + 2)).unwrap()).unwrap();
                let delta = (z.as_tensor() * 2.0).unwrap();
                gram.step(&(start..start + 2), &delta, &config).unwrap();
            }
            assert!(!gram.a.track_op() && !gram.va.track_op(), "m={momentum}: the Gram state keeps a graph");
        }
    }
}
