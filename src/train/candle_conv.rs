//! The candle engine for convolutional networks (`train::conv`): candle's `conv1d` with
//! PyTorch's `padding="same"`, batch normalisation written from candle ops with PyTorch's
//! semantics (batch statistics in training passes, biased variance to normalise, running
//! statistics updated with momentum 0.1 from the unbiased variance, eps 1e-5; running
//! statistics in evaluation), ReLU, global average pooling and a linear head; autograd,
//! and pinniped's optimisers over the candle `Var`s (`candle_engine::CandleOptimizer`).
//!
//! The variables are filled from the [`ConvNet`] drawn from the run's seeded stream; one
//! thread per run on the CPU (as for the MLP), so a run is bit-identical whatever `--jobs`.

use super::candle_engine::{device, loss_of, scalar, CandleOptimizer, OptimConfig};
use super::conv::{Block, ConvArch, ConvNet, NamedTensor, Unit};
use super::engine::{Model, NetRef};
use super::net::Net;
use super::options::Loss;
use super::real::Real;
use super::state::EngineState;
use crate::spec::config::TrainConfig;
use candle_core::{Device, Tensor, Var, D};
use std::ops::Range;

/// PyTorch's `BatchNorm1d` defaults.
const BN_MOMENTUM: f64 = 0.1;
const BN_EPS: f64 = 1e-5;

/// Where one unit's tensors are among the variables and buffers.
#[derive(Clone, Copy)]
struct Slots {
    /// Weight and bias variables, kernel width.
    conv: Option<(usize, usize, usize)>,
    /// Weight and bias variables, running mean buffer (the variance follows it).
    bn: Option<(usize, usize, usize)>,
}

/// A training pass or an evaluation pass.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Train,
    Eval,
}

/// A convolutional network as candle variables.
pub struct CandleConv<T> {
    arch: ConvArch,
    device: Device,
    names: Vec<(String, Vec<usize>)>,
    buffer_names: Vec<(String, Vec<usize>)>,
    vars: Vec<Var>,
    /// Running statistics (no gradients): per batch norm, mean then variance.
    buffers: Vec<Tensor>,
    slots: Vec<Slots>,
    blocks: Vec<Block>,
    _dtype: std::marker::PhantomData<T>,
}

/// A forward pass's output: class scores, each block's activations `[rows, filters, time]`,
/// and (training passes) the running statistics the batch moves the buffers to.
pub struct Forward {
    pub scores: Tensor,
    pub blocks: Vec<Tensor>,
    pub buffers: Vec<Tensor>,
}

impl<T: Real> CandleConv<T> {
    pub fn new(net: &ConvNet<T>, device: &Device) -> anyhow::Result<Self> {
        let vars = net
            .params
            .iter()
            .map(|p| Var::from_slice(&p.data, p.shape.as_slice(), device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let buffers = net
            .buffers
            .iter()
            .map(|b| Tensor::from_slice(&b.data, b.shape.as_slice(), device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let (units, blocks) = net.arch.layout();
        let (mut p, mut q) = (0, 0);
        let slots = units
            .iter()
            .map(|u: &Unit| {
                let conv = u.conv.map(|c| {
                    p += 2;
                    (p - 2, p - 1, c.kernel)
                });
                let bn = u.bn.map(|_| {
                    p += 2;
                    q += 2;
                    (p - 2, p - 1, q - 2)
                });
                Slots { conv, bn }
            })
            .collect();
        Ok(CandleConv {
            arch: net.arch.clone(),
            device: device.clone(),
            names: net.params.iter().map(|t| (t.name.clone(), t.shape.clone())).collect(),
            buffer_names: net.buffers.iter().map(|t| (t.name.clone(), t.shape.clone())).collect(),
            vars,
            buffers,
            slots,
            blocks,
            _dtype: std::marker::PhantomData,
        })
    }

    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// `rows` input rows as `[rows, channels, time]` (log-mel bands become channels).
    pub fn input(&self, x: &[T], rows: usize) -> anyhow::Result<Tensor> {
        let l = self.arch.input;
        let t = Tensor::from_slice(x, (rows, l.groups, l.length, l.bands), &self.device)?;
        let t = if l.bands == 1 { t } else { t.transpose(2, 3)?.contiguous()? };
        Ok(t.reshape((rows, l.channels(), l.length))?)
    }

    fn param(&self, k: usize, pass: Pass) -> Tensor {
        match pass {
            Pass::Train => self.vars[k].as_tensor().clone(),
            // Evaluation builds no graph.
            Pass::Eval => self.vars[k].as_detached_tensor(),
        }
    }

    fn unit(&self, u: usize, x: &Tensor, pass: Pass, moved: &mut [Tensor]) -> anyhow::Result<Tensor> {
        let s = self.slots[u];
        let mut a = x.clone();
        if let Some((w, b, k)) = s.conv {
            let bias = self.param(b, pass);
            a = conv1d_same(&a, &self.param(w, pass), k)?.broadcast_add(&bias.reshape((1, (), 1))?)?;
        }
        if let Some((g, beta, m)) = s.bn {
            let (gamma, beta) = (self.param(g, pass).reshape((1, (), 1))?, self.param(beta, pass).reshape((1, (), 1))?);
            let (mean, var) = match pass {
                Pass::Train => {
                    let mean = a.mean_keepdim((0, 2))?;
                    let centred = a.broadcast_sub(&mean)?;
                    let var = centred.sqr()?.mean_keepdim((0, 2))?;
                    // Running statistics from the detached batch statistics, the variance unbiased.
                    let n = (a.dim(0)? * a.dim(2)?) as f64;
                    let unbiased = (var.detach() * (n / (n - 1.0).max(1.0)))?.flatten_all()?;
                    let keep = 1.0 - BN_MOMENTUM;
                    moved[m] = ((&self.buffers[m] * keep)? + (mean.detach().flatten_all()? * BN_MOMENTUM)?)?;
                    moved[m + 1] = ((&self.buffers[m + 1] * keep)? + (unbiased * BN_MOMENTUM)?)?;
                    (mean, var)
                }
                Pass::Eval => (self.buffers[m].reshape((1, (), 1))?, self.buffers[m + 1].reshape((1, (), 1))?),
            };
            let normed = a.broadcast_sub(&mean)?.broadcast_div(&(var + BN_EPS)?.sqrt()?)?;
            a = normed.broadcast_mul(&gamma)?.broadcast_add(&beta)?;
        }
        Ok(a)
    }

    /// The forward pass on `x` (`[rows, channels, time]`).
    pub fn forward(&self, x: &Tensor, pass: Pass) -> anyhow::Result<Forward> {
        let mut moved = self.buffers.clone();
        let mut a = x.clone();
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            a = match block {
                Block::Plain(u) => self.unit(*u, &a, pass, &mut moved)?.relu()?,
                Block::Residual { units, shortcut } => {
                    let mut h = a.clone();
                    for (j, &u) in units.iter().enumerate() {
                        h = self.unit(u, &h, pass, &mut moved)?;
                        if j + 1 < units.len() {
                            h = h.relu()?;
                        }
                    }
                    let skip = match shortcut {
                        Some(u) => self.unit(*u, &a, pass, &mut moved)?,
                        None => a.clone(),
                    };
                    (h + skip)?.relu()?
                }
            };
            blocks.push(a.clone());
        }
        let pooled = a.mean(D::Minus1)?;
        let n = self.vars.len();
        let (w, b) = (self.param(n - 2, pass), self.param(n - 1, pass));
        let scores = pooled.matmul(&w.t()?)?.broadcast_add(&b)?;
        Ok(Forward { scores, blocks, buffers: moved })
    }

    /// Takes the running statistics a training pass moved the buffers to.
    pub fn commit(&mut self, buffers: Vec<Tensor>) {
        self.buffers = buffers;
    }

    /// Class scores of `rows` rows `x` in evaluation mode, `chunk` rows at a time (the
    /// activations of a whole set at once could need far more memory than a batch).
    pub fn scores(&self, x: &[T], rows: usize, chunk: usize) -> anyhow::Result<Vec<T>> {
        let cols = self.arch.inputs();
        let mut out = Vec::with_capacity(rows * self.arch.classes);
        let mut start = 0;
        while start < rows {
            let n = chunk.max(1).min(rows - start);
            let t = self.input(&x[start * cols..(start + n) * cols], n)?;
            out.extend(self.forward(&t, Pass::Eval)?.scores.flatten_all()?.to_vec1::<T>()?);
            start += n;
        }
        Ok(out)
    }

    /// The parameters and running statistics, by name.
    pub fn to_net(&self) -> anyhow::Result<ConvNet<T>> {
        let named = |names: &[(String, Vec<usize>)], ts: &mut dyn Iterator<Item = &Tensor>| {
            names
                .iter()
                .zip(ts)
                .map(|((name, shape), t)| {
                    Ok(NamedTensor { name: name.clone(), shape: shape.clone(), data: t.flatten_all()?.to_vec1::<T>()? })
                })
                .collect::<anyhow::Result<Vec<_>>>()
        };
        Ok(ConvNet {
            arch: self.arch.clone(),
            params: named(&self.names, &mut self.vars.iter().map(Var::as_tensor))?,
            buffers: named(&self.buffer_names, &mut self.buffers.iter())?,
        })
    }

    /// Sets the variables and buffers to `net`'s (of the same architecture).
    pub fn set(&mut self, net: &ConvNet<T>) -> anyhow::Result<()> {
        anyhow::ensure!(net.arch == self.arch, "another network: {:?}, the run's is {:?}", net.arch, self.arch);
        for (v, p) in self.vars.iter().zip(&net.params) {
            v.set(&Tensor::from_slice(&p.data, p.shape.as_slice(), &self.device)?)?;
        }
        for (b, t) in self.buffers.iter_mut().zip(&net.buffers) {
            *b = Tensor::from_slice(&t.data, t.shape.as_slice(), &self.device)?;
        }
        Ok(())
    }
}

/// A stride-1 convolution of `x` (`[rows, in, time]`) by `w` (`[out, in, k]`) padded like
/// PyTorch's `padding="same"` (`(k − 1) / 2` zeros before, the rest after), as an unfolding
/// and a matrix product: candle 0.11's `conv1d` computes the kernel's gradient wrongly
/// (`tests/pinned_conv.rs` caught it against PyTorch), while narrow, stack and matmul
/// differentiate correctly.
pub fn conv1d_same(x: &Tensor, w: &Tensor, k: usize) -> anyhow::Result<Tensor> {
    let (rows, inputs, time) = x.dims3()?;
    let outputs = w.dim(0)?;
    let left = (k - 1) / 2;
    let padded = if k > 1 { x.pad_with_zeros(D::Minus1, left, k - 1 - left)? } else { x.clone() };
    // columns[n, i·k + j, t] = padded[n, i, t + j]
    let shifted = (0..k).map(|j| padded.narrow(D::Minus1, j, time)).collect::<candle_core::Result<Vec<_>>>()?;
    let columns = Tensor::stack(&shifted, 2)?.reshape((rows, inputs * k, time))?;
    Ok(w.reshape((outputs, inputs * k))?.broadcast_matmul(&columns)?)
}

/// Class scores of a returned network on `rows` rows, on the CPU.
pub fn scores_of<T: Real>(net: &ConvNet<T>, x: &[T], rows: usize, chunk: usize) -> anyhow::Result<Vec<T>> {
    CandleConv::new(net, &Device::Cpu)?.scores(x, rows, chunk)
}

/// Class activation maps (Zhou et al. 2016, as Wang et al. 2017 draw them for time series) of
/// `rows` rows: the last block's activations weighted by the head's weights, per class and time
/// step. Global average pooling is linear, so a class's score is its bias plus the mean over
/// time of its map: the map says which time steps drive the class.
pub struct ClassMaps<T> {
    /// Time steps of the last block (the input's: convolutions pad to the same length).
    pub time: usize,
    pub classes: usize,
    /// `[rows, classes]`, as the evaluation pass gives them.
    pub scores: Vec<T>,
    /// `[rows, classes, time]`.
    pub maps: Vec<T>,
    /// The input as the network sees it, averaged over its channels: `[rows, time]`.
    pub input: Vec<T>,
}

/// The class activation maps of a returned network on `rows` rows `x`, on the CPU, in
/// evaluation mode (running statistics), `chunk` rows at a time.
pub fn class_maps_of<T: Real>(net: &ConvNet<T>, x: &[T], rows: usize, chunk: usize) -> anyhow::Result<ClassMaps<T>> {
    let c = CandleConv::new(net, &Device::Cpu)?;
    let (cols, classes, time) = (net.arch.inputs(), net.arch.classes, net.arch.input.length);
    let n = c.vars.len();
    let head = c.param(n - 2, Pass::Eval); // [classes, filters]
    let mut out = ClassMaps { time, classes, scores: Vec::new(), maps: Vec::new(), input: Vec::new() };
    let mut start = 0;
    while start < rows {
        let k = chunk.max(1).min(rows - start);
        let t = c.input(&x[start * cols..(start + k) * cols], k)?;
        let f = c.forward(&t, Pass::Eval)?;
        let last = f.blocks.last().cloned().unwrap_or_else(|| t.clone()); // [k, filters, time]
        out.maps.extend(head.broadcast_matmul(&last)?.flatten_all()?.to_vec1::<T>()?);
        out.scores.extend(f.scores.flatten_all()?.to_vec1::<T>()?);
        out.input.extend(t.mean(1)?.flatten_all()?.to_vec1::<T>()?);
        start += k;
    }
    Ok(out)
}

/// The epoch loop's view of a candle-trained convolutional network.
pub struct ConvEngine<'a, T> {
    net: CandleConv<T>,
    opt: CandleOptimizer,
    loss: Loss,
    record: bool,
    /// Each block's activations of the last training batch, `[rows, time, filters]` (when recording).
    hidden: Vec<Vec<T>>,
    sets: Vec<&'a [T]>,
    /// Rows evaluated at once.
    chunk: usize,
    scores: Vec<T>,
    /// The parameters as of the last `end_epoch`.
    current: Net<T>,
}

impl<'a, T: Real> ConvEngine<'a, T> {
    pub fn new(
        cfg: &TrainConfig,
        conv: ConvNet<T>,
        sets: Vec<&'a [T]>,
        batch: usize,
        record: bool,
    ) -> anyhow::Result<Self> {
        use candle_nn::Optimizer as _;
        let net = CandleConv::new(&conv, &device(cfg.model.device)?)?;
        let opt = CandleOptimizer::new(net.vars().to_vec(), OptimConfig::of(cfg))?;
        Ok(ConvEngine {
            net,
            opt,
            loss: cfg.optimiser.loss,
            record,
            hidden: Vec::new(),
            sets,
            chunk: batch.max(1),
            scores: Vec::new(),
            current: Net::Conv(conv),
        })
    }
}

impl<T: Real> Model<T> for ConvEngine<'_, T> {
    fn begin_epoch(&mut self, _positions: &[usize]) -> anyhow::Result<()> {
        Ok(())
    }

    fn train_batch(&mut self, _range: Range<usize>, x: &[T], y: &[u32]) -> anyhow::Result<f64> {
        use candle_nn::Optimizer as _;
        let input = self.net.input(x, y.len())?;
        let f = self.net.forward(&input, Pass::Train)?;
        let loss = loss_of::<T>(&f.scores, y, self.loss)?;
        let value = scalar(&loss)?;
        // A diverged batch leaves the parameters and running statistics as they were.
        if !value.is_finite() {
            return Ok(value);
        }
        let grads = loss.backward()?;
        self.opt.step(&grads)?;
        self.net.commit(f.buffers);
        if self.record {
            self.hidden = f
                .blocks
                .iter()
                .map(|h| h.detach().transpose(1, 2)?.flatten_all()?.to_vec1::<T>())
                .collect::<Result<_, _>>()?;
        }
        Ok(value)
    }

    fn hidden(&self, l: usize, rows: usize, width: usize) -> &[T] {
        &self.hidden[l][..rows * width]
    }

    fn end_epoch(&mut self) -> anyhow::Result<()> {
        self.current = Net::Conv(self.net.to_net()?);
        Ok(())
    }

    fn scores(&mut self, k: usize) -> anyhow::Result<&[T]> {
        let rows = self.sets[k].len() / self.net.arch.inputs();
        self.scores = self.net.scores(self.sets[k], rows, self.chunk)?;
        Ok(&self.scores)
    }

    fn net(&self) -> NetRef<'_, T> {
        NetRef::of(&self.current)
    }

    fn into_net(self: Box<Self>) -> anyhow::Result<Net<T>> {
        Ok(Net::Conv(self.net.to_net()?))
    }

    fn state(&self) -> anyhow::Result<EngineState<T>> {
        let flat = |t: &Tensor| -> anyhow::Result<Vec<T>> { Ok(t.flatten_all()?.to_vec1::<T>()?) };
        let all = |ts: &[Tensor]| ts.iter().map(flat).collect::<anyhow::Result<Vec<_>>>();
        Ok(EngineState {
            // The variables, not `current` (which is of the last epoch's end): also inside an epoch.
            net: Net::Conv(self.net.to_net()?),
            first: all(&self.opt.first)?,
            second: all(&self.opt.second)?,
            steps: self.opt.steps,
            gram: None,
            dropout_word: None,
        })
    }

    fn restore(&mut self, s: EngineState<T>) -> Result<(), String> {
        let Net::Conv(conv) = &s.net else {
            return Err("it is of an MLP, the run trains a convolutional network".into());
        };
        if conv.arch != self.net.arch {
            return Err("its network has another architecture than the run's".into());
        }
        if s.gram.is_some() || s.dropout_word.is_some() {
            return Err("it was saved with the Gram method or dropout, which convolutional runs do not use".into());
        }
        let device = self.net.device.clone();
        let e = |e: candle_core::Error| format!("candle: {e}");
        let shaped = |moments: Vec<Vec<T>>, vars: &[Var]| -> Result<Vec<Tensor>, String> {
            if moments.len() != vars.len() || moments.iter().zip(vars).any(|(m, v)| m.len() != v.elem_count()) {
                return Err("its optimiser state has other shapes than the run's optimiser".into());
            }
            moments.into_iter().zip(vars).map(|(m, v)| Tensor::from_vec(m, v.shape(), &device).map_err(e)).collect()
        };
        let first = shaped(s.first, &self.net.vars)?;
        let second =
            if self.opt.second.is_empty() { shaped(s.second, &[])? } else { shaped(s.second, &self.net.vars)? };
        self.net.set(conv).map_err(|e| e.to_string())?;
        (self.opt.first, self.opt.second, self.opt.steps) = (first, second, s.steps);
        self.current = s.net;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::config::ModelConfig;
    use crate::train::conv::InputLayout;
    use crate::train::options::ModelFamily;

    #[test]
    fn log_mel_rows_become_band_channels_over_frames() {
        let model = ModelConfig { family: ModelFamily::Fcn, filters: Some(vec![2]), ..Default::default() };
        let arch = ConvArch::new(&model, InputLayout { groups: 1, length: 3, bands: 2 }, 2);
        let net = ConvNet::<f64>::initialise(&arch, &mut crate::stats::stream_rng(1, 0)).unwrap();
        let c = CandleConv::new(&net, &Device::Cpu).unwrap();
        // Frame-major: frame 0's bands (1, 2), frame 1's (3, 4), frame 2's (5, 6).
        let t = c.input(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 1).unwrap();
        assert_eq!(t.to_vec3::<f64>().unwrap(), vec![vec![vec![1.0, 3.0, 5.0], vec![2.0, 4.0, 6.0]]]);
    }

    #[test]
    fn a_class_score_is_its_bias_plus_the_mean_of_its_map() {
        for family in [ModelFamily::Fcn, ModelFamily::Resnet] {
            let model =
                ModelConfig { family, filters: Some(vec![3, 4]), kernels: Some(vec![3, 1]), ..Default::default() };
            let arch = ConvArch::new(&model, InputLayout { groups: 2, length: 9, bands: 1 }, 3);
            let mut rng = crate::stats::stream_rng(4, 0);
            let net = ConvNet::<f64>::initialise(&arch, &mut rng).unwrap();
            let x: Vec<f64> = (0..5 * 18).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
            let m = class_maps_of(&net, &x, 5, 2).unwrap();
            assert_eq!((m.maps.len(), m.scores.len(), m.input.len()), (5 * 3 * 9, 5 * 3, 5 * 9));
            assert_eq!(m.scores, scores_of(&net, &x, 5, 5).unwrap(), "{family:?}: the evaluation pass's scores");
            let bias = &net.params.iter().find(|p| p.name == "fc.bias").unwrap().data;
            for r in 0..5 {
                for (c, b) in bias.iter().enumerate() {
                    let map = &m.maps[(r * 3 + c) * 9..(r * 3 + c + 1) * 9];
                    let mean = map.iter().sum::<f64>() / 9.0;
                    assert!((b + mean - m.scores[r * 3 + c]).abs() < 1e-12, "{family:?} row {r} class {c}");
                }
                // The two channels' mean, time step by time step.
                let row = &x[r * 18..(r + 1) * 18];
                assert!((m.input[r * 9 + 4] - (row[4] + row[9 + 4]) / 2.0).abs() < 1e-15);
            }
            // Not a degenerate map: the time steps differ.
            assert!(m.maps[..9].iter().any(|&v| (v - m.maps[0]).abs() > 1e-9), "{:?}", &m.maps[..9]);
        }
    }
}
