//! The model seam: what the epoch loop (`fit`) needs from whatever trains the
//! network. Three engines implement it: [`Native`] (the hand-written fused CPU code:
//! Gram method, fused SGD) and [`super::candle_engine::CandleEngine`] (candle-nn
//! layers, autograd, a candle `Device`) for MLPs, and
//! [`super::candle_conv::ConvEngine`] for convolutional networks. Between epochs they
//! expose their parameters as a [`NetRef`] (the native [`Mlp`], or a
//! [`super::conv::ConvNet`]'s named tensors), which diagnostics, checkpoints and `eval` read.

use super::candle_conv::ConvEngine;
use super::candle_engine::CandleEngine;
use super::conv::ConvNet;
use super::gram::Gram;
use super::memory::{try_filled, AllocError};
use super::model::{Input, Mlp, Workspace};
use super::net::Net;
use super::optim::Optimizer;
use super::options::{Engine, Method, OptimizerKind};
use super::real::Real;
use super::state::EngineState;
use crate::spec::config::TrainConfig;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// One network being trained on one phase's sets (`sets[0]` is the training set).
pub trait Model<T: Real> {
    /// Start of an epoch: `positions` is the epoch's order of the training rows.
    fn begin_epoch(&mut self, positions: &[usize]) -> anyhow::Result<()>;
    /// Forward, loss, backward and optimiser step on the rows `range` of the epoch's
    /// order (`x`, `y` hold exactly those rows). Returns the batch loss before the step.
    fn train_batch(&mut self, range: Range<usize>, x: &[T], y: &[u32]) -> anyhow::Result<f64>;
    /// Activations of hidden layer `l` (`rows × width`, before dropout) of the last training batch.
    fn hidden(&self, l: usize, rows: usize, width: usize) -> &[T];
    /// End of an epoch: afterwards `mlp()` holds the current parameters.
    fn end_epoch(&mut self) -> anyhow::Result<()>;
    /// Linear class scores (`rows × classes`) of evaluation set `k`, without dropout.
    fn scores(&mut self, k: usize) -> anyhow::Result<&[T]>;
    /// The parameters as of the last `end_epoch` (or the start).
    fn net(&self) -> NetRef<'_, T>;
    /// The current parameters, also in the middle of an epoch.
    fn into_net(self: Box<Self>) -> anyhow::Result<Net<T>>;
    /// Everything training moves (parameters, optimiser and Gram state, the dropout stream's
    /// position), between epochs or between two batches of one: what a resumed run continues
    /// from (`train::state`). Under the Gram method the first layer's weights are those of
    /// the last `end_epoch`; its coefficients hold the rest.
    fn state(&self) -> anyhow::Result<EngineState<T>>;
    /// Continues from a saved [`Model::state`], on an engine just built for the same run;
    /// `Err` says why the state does not fit it (and nothing is half restored that matters:
    /// the caller starts the run afresh).
    fn restore(&mut self, state: EngineState<T>) -> Result<(), String>;
}

/// A view of an engine's parameters between epochs.
#[derive(Clone, Copy, Debug)]
pub enum NetRef<'a, T> {
    Mlp(&'a Mlp<T>),
    Conv(&'a ConvNet<T>),
}

impl<'a, T: Real> NetRef<'a, T> {
    pub fn of(net: &'a Net<T>) -> Self {
        match net {
            Net::Mlp(m) => NetRef::Mlp(m),
            Net::Conv(c) => NetRef::Conv(c),
        }
    }
    pub fn to_net(self) -> Net<T> {
        match self {
            NetRef::Mlp(m) => Net::Mlp(m.clone()),
            NetRef::Conv(c) => Net::Conv(c.clone()),
        }
    }
    pub fn as_mlp(self) -> Option<&'a Mlp<T>> {
        match self {
            NetRef::Mlp(m) => Some(m),
            NetRef::Conv(_) => None,
        }
    }
    pub fn is_finite(self) -> bool {
        match self {
            NetRef::Mlp(m) => m.is_finite(),
            NetRef::Conv(c) => c.is_finite(),
        }
    }
    /// Values of one input row.
    pub fn inputs(self) -> usize {
        match self {
            NetRef::Mlp(m) => m.inputs(),
            NetRef::Conv(c) => c.arch.inputs(),
        }
    }
}

/// The parameters' shapes agree (a state of another network is refused).
pub(crate) fn same_shape<T>(a: &Mlp<T>, b: &Mlp<T>) -> Result<(), String> {
    let lens = |m: &Mlp<T>| (m.dims.clone(), m.weights.iter().chain(&m.biases).map(Vec::len).collect::<Vec<_>>());
    if lens(a) != lens(b) || a.activation != b.activation {
        return Err(format!("its network is {:?}, the run's is {:?}", b.dims, a.dims));
    }
    Ok(())
}

/// Everything an engine is built from.
pub struct Setup<'a, T> {
    pub cfg: &'a TrainConfig,
    pub mlp: Mlp<T>,
    /// Inputs of each set of the phase, row-major; `sets[0]` is the training set.
    pub sets: Vec<&'a [T]>,
    /// The largest batch.
    pub batch: usize,
    pub dropout_rng: ChaCha8Rng,
    /// Whether `hidden` will be read (histograms).
    pub record: bool,
}

/// The engine that trains `net` (see [`Setup`] for the other arguments): [`build`] for an
/// MLP, the candle conv engine for a convolutional network.
pub fn build_net<'a, T: Real>(
    cfg: &'a TrainConfig,
    net: Net<T>,
    sets: Vec<&'a [T]>,
    batch: usize,
    dropout_rng: ChaCha8Rng,
    record: bool,
) -> anyhow::Result<Box<dyn Model<T> + 'a>> {
    match net {
        Net::Mlp(mlp) => build(Setup { cfg, mlp, sets, batch, dropout_rng, record }),
        Net::Conv(conv) => Ok(Box::new(ConvEngine::new(cfg, conv, sets, batch, record)?)),
    }
}

/// The MLP engine `cfg` resolves to (see `TrainConfig::resolved_engine`).
pub fn build<'a, T: Real>(setup: Setup<'a, T>) -> anyhow::Result<Box<dyn Model<T> + 'a>> {
    Ok(match setup.cfg.resolved_engine() {
        Engine::Candle => Box::new(CandleEngine::new(setup)?),
        Engine::Native | Engine::Auto => Box::new(Native::new(setup)?),
    })
}

/// Whether a phase computes the first layer through the Gram matrix of its training
/// rows (`train::gram`): asked for, or `auto` where it is valid (SGD) and cheaper.
pub(crate) fn uses_gram(cfg: &TrainConfig, n_train: usize, inputs: usize) -> bool {
    match cfg.model.method {
        Method::Gram => true,
        Method::Direct => false,
        // Gram pays off while the training rows are fewer than the inputs (160 vs 1024 for Phoneme).
        Method::Auto => cfg.optimiser.optimizer == OptimizerKind::Sgd && 2 * n_train <= inputs,
    }
}

/// The hand-written engine: buffers allocated once, the Gram method where it pays,
/// and plain SGD fused into the backward pass.
pub struct Native<'a, T> {
    cfg: &'a TrainConfig,
    mlp: Mlp<T>,
    sets: Vec<&'a [T]>,
    ws: Workspace<T>,
    eval_ws: Workspace<T>,
    opt: Optimizer<T>,
    gram: Option<Gram<T>>,
    /// The first layer's products under the Gram method.
    first: Vec<T>,
    /// p ← p − lr·g under both momentum rules: the update is fused into the backward pass.
    plain_sgd: bool,
    positions: Vec<usize>,
}

impl<'a, T: Real> Native<'a, T> {
    /// Every buffer is allocated fallibly: one the machine refuses fails this run only.
    pub fn new(s: Setup<'a, T>) -> Result<Self, AllocError> {
        let cfg = s.cfg;
        let mlp = s.mlp;
        let cols = mlp.inputs();
        let n_train = s.sets[0].len() / cols;
        let most_rows = s.sets.iter().map(|x| x.len() / cols).max().unwrap_or(0);
        let mut ws = Workspace::try_new(&mlp, s.batch)?;
        ws.enable_dropout(&mlp, cfg.model.dropout, s.dropout_rng)?;
        let eval_ws = Workspace::try_new(&mlp, most_rows)?;
        let opt = Optimizer::try_new(
            cfg.optimiser.optimizer,
            cfg.optimiser.learning_rate,
            cfg.optimiser.momentum,
            cfg.optimiser.momentum_rule,
            cfg.optimiser.weight_decay,
            &mlp,
        )?;
        let gram = uses_gram(cfg, n_train, cols).then(|| Gram::new(&mlp.weights[0], &s.sets, cols, mlp.dims[1]));
        // Under the Gram method the first layer's weights move through `gram`, not `opt`.
        let opt = if gram.is_some() { opt.without_first_weights() } else { opt };
        let first = try_filled(
            if gram.is_some() { most_rows * mlp.dims[1] } else { 0 },
            T::zero(),
            "the Gram method's products",
        )?;
        let plain_sgd = gram.is_none()
            && cfg.optimiser.optimizer == OptimizerKind::Sgd
            && cfg.optimiser.momentum == 0.0
            && cfg.optimiser.weight_decay == 0.0;
        Ok(Native { cfg, mlp, sets: s.sets, ws, eval_ws, opt, gram, first, plain_sgd, positions: Vec::new() })
    }
}

impl<T: Real> Model<T> for Native<'_, T> {
    fn begin_epoch(&mut self, positions: &[usize]) -> anyhow::Result<()> {
        if let Some(g) = self.gram.as_mut() {
            g.gather_epoch(positions);
            self.positions.clear();
            self.positions.extend_from_slice(positions);
        }
        Ok(())
    }

    fn train_batch(&mut self, range: Range<usize>, x: &[T], y: &[u32]) -> anyhow::Result<f64> {
        let (cfg, rows) = (self.cfg, y.len());
        let loss = if let Some(g) = self.gram.as_ref() {
            g.batch(range.clone(), &mut self.first);
            self.ws.forward_backward_input(&self.mlp, Input::FirstLayer(&self.first), y, rows, cfg.optimiser.loss)
        } else if self.plain_sgd {
            self.ws.sgd_step_fused(&mut self.mlp, x, y, rows, cfg.optimiser.loss, cfg.optimiser.learning_rate)
        } else {
            self.ws.forward_backward(&self.mlp, x, y, rows, cfg.optimiser.loss)
        };
        // A diverged batch leaves the parameters as they were before it.
        if !loss.is_finite() {
            return Ok(loss);
        }
        if !self.plain_sgd {
            self.opt.step(&mut self.mlp, &self.ws.grads);
        }
        if let Some(g) = self.gram.as_mut() {
            let delta = self.ws.first_delta(rows, self.mlp.dims[1]);
            g.step(
                &self.positions[range],
                delta,
                cfg.optimiser.learning_rate,
                cfg.optimiser.momentum,
                cfg.optimiser.momentum_rule,
                cfg.optimiser.weight_decay,
            );
        }
        Ok(loss)
    }

    fn hidden(&self, l: usize, rows: usize, width: usize) -> &[T] {
        self.ws.hidden(l, rows, width)
    }

    fn end_epoch(&mut self) -> anyhow::Result<()> {
        if let Some(g) = self.gram.as_ref() {
            g.materialize(self.sets[0], &mut self.mlp.weights[0]);
        }
        Ok(())
    }

    fn scores(&mut self, k: usize) -> anyhow::Result<&[T]> {
        let rows = self.sets[k].len() / self.mlp.inputs();
        let input = match self.gram.as_ref() {
            Some(g) => {
                g.set(k, &mut self.first);
                Input::FirstLayer(&self.first)
            }
            None => Input::Rows(self.sets[k]),
        };
        Ok(self.eval_ws.forward_input(&self.mlp, input, rows))
    }

    fn net(&self) -> NetRef<'_, T> {
        NetRef::Mlp(&self.mlp)
    }

    fn into_net(self: Box<Self>) -> anyhow::Result<Net<T>> {
        Ok(Net::Mlp(self.mlp))
    }

    fn state(&self) -> anyhow::Result<EngineState<T>> {
        let (first, second, steps) = self.opt.state();
        Ok(EngineState {
            net: Net::Mlp(self.mlp.clone()),
            first,
            second,
            steps,
            gram: self.gram.as_ref().map(Gram::state),
            dropout_word: self.ws.dropout_word(),
        })
    }

    fn restore(&mut self, s: EngineState<T>) -> Result<(), String> {
        let Net::Mlp(saved) = s.net else {
            return Err("it is of a convolutional network, the run trains an MLP".into());
        };
        same_shape(&self.mlp, &saved)?;
        match (self.gram.as_mut(), s.gram) {
            (Some(g), Some(state)) => g.restore(state)?,
            (None, None) => {}
            _ => return Err("it was saved with another method (gram / direct)".into()),
        }
        self.opt.restore(s.first, s.second, s.steps)?;
        self.ws.set_dropout_word(s.dropout_word)?;
        self.mlp = saved;
        Ok(())
    }
}
