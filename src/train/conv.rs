//! Convolutional networks for time series (Wang et al. 2017, the FCN and ResNet of Fawaz et
//! al. 2019's review): their architecture from the config and the data's shape, their
//! parameters as named tensors in PyTorch's names and layouts, and their initialisation
//! from the run's seeded stream with PyTorch's defaults. The candle engine that trains
//! them is `train::candle_conv`.
//!
//! Names (what checkpoints hold, and the state dict of the equivalent `torch.nn` module in
//! `tests/fixtures/torch_conv.py`):
//! - a *unit* is a convolution and/or a batch norm: `<unit>.conv.weight` `[out, in, k]`,
//!   `<unit>.conv.bias` `[out]`, `<unit>.bn.weight`, `<unit>.bn.bias`, and the buffers
//!   `<unit>.bn.running_mean`, `<unit>.bn.running_var` (`[out]`);
//! - FCN: block `i` is the unit `blocks.i` followed by ReLU;
//! - ResNet: block `i` has the units `blocks.i.convs.j` (ReLU between them) and a shortcut
//!   `blocks.i.shortcut` (a 1-wide convolution and batch norm where the channels change, a
//!   batch norm alone where they do not, nothing without batch norm), added, then ReLU;
//! - then global average pooling over time and the linear head `fc.weight` `[classes,
//!   filters]`, `fc.bias`.
//!
//! Convolutions pad like PyTorch's `padding="same"` (`(k−1)/2` zeros before, the rest after).

use super::memory::{try_filled, AllocError};
use super::options::{Features, ModelFamily};
use super::real::Real;
use crate::spec::config::ModelConfig;
use rand::Rng;

/// How a row's values are laid out as channels over time: a row is `groups` blocks of
/// `length × bands` values, time-major inside a group. A series has `bands = 1` (one channel
/// per group, channel after channel, as the data readers flatten multivariate sets); log-mel
/// features have each group's frames of `bands` mel bands, and become `groups × bands`
/// channels over `length` frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputLayout {
    pub groups: usize,
    pub length: usize,
    pub bands: usize,
}

impl InputLayout {
    /// The layout of `cols`-wide rows of `features` computed from series of `channels` channels.
    pub fn of(features: Features, cols: usize, channels: usize, mel_bands: usize) -> Result<Self, String> {
        let channels = channels.max(1);
        let per_group = cols / channels;
        if per_group == 0 || per_group * channels != cols {
            return Err(format!("rows of {cols} values are not {channels} channels of equal length"));
        }
        match features {
            Features::LogMel => {
                if mel_bands == 0 || !per_group.is_multiple_of(mel_bands) {
                    return Err(format!("{per_group} log-mel values per channel are not frames of {mel_bands} bands"));
                }
                Ok(InputLayout { groups: channels, length: per_group / mel_bands, bands: mel_bands })
            }
            Features::MultiLogMel => {
                Err("features = \"multi-log-mel\" has three frame rates; a convolutional model takes \"log-mel\""
                    .into())
            }
            _ => Ok(InputLayout { groups: channels, length: per_group, bands: 1 }),
        }
    }

    pub fn channels(&self) -> usize {
        self.groups * self.bands
    }
}

/// One convolution's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub inputs: usize,
    pub outputs: usize,
    pub kernel: usize,
}

/// A convolution and/or a batch norm over `channels` channels, under the name `prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub prefix: String,
    pub conv: Option<ConvShape>,
    /// The channels of the unit's batch norm, if it has one.
    pub bn: Option<usize>,
}

/// How the units (indices into [`ConvArch::units`]) make blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// FCN: one unit, then ReLU.
    Plain(usize),
    /// ResNet: units with ReLU between them, plus the shortcut (or the identity), then ReLU.
    Residual { units: Vec<usize>, shortcut: Option<usize> },
}

/// Everything that shapes a convolutional network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvArch {
    pub family: ModelFamily,
    pub input: InputLayout,
    pub classes: usize,
    /// Filters of each block.
    pub filters: Vec<usize>,
    /// FCN: the kernel of each block; ResNet: the kernels inside every block.
    pub kernels: Vec<usize>,
    pub batch_norm: bool,
}

impl ConvArch {
    pub fn new(model: &ModelConfig, input: InputLayout, classes: usize) -> Self {
        ConvArch {
            family: model.family,
            input,
            classes,
            filters: model.conv_filters(),
            kernels: model.conv_kernels(),
            batch_norm: model.batch_norm(),
        }
    }

    /// Values of one input row.
    pub fn inputs(&self) -> usize {
        self.input.channels() * self.input.length
    }

    /// The units in parameter order, and the blocks they make.
    pub fn layout(&self) -> (Vec<Unit>, Vec<Block>) {
        let bn = |c: usize| self.batch_norm.then_some(c);
        let (mut units, mut blocks) = (Vec::new(), Vec::new());
        let mut channels = self.input.channels();
        for (i, &out) in self.filters.iter().enumerate() {
            match self.family {
                ModelFamily::Resnet => {
                    let mut inner = Vec::new();
                    for (j, &k) in self.kernels.iter().enumerate() {
                        let inputs = if j == 0 { channels } else { out };
                        inner.push(units.len());
                        units.push(Unit {
                            prefix: format!("blocks.{i}.convs.{j}"),
                            conv: Some(ConvShape { inputs, outputs: out, kernel: k }),
                            bn: bn(out),
                        });
                    }
                    let conv = (channels != out).then_some(ConvShape { inputs: channels, outputs: out, kernel: 1 });
                    let shortcut = (conv.is_some() || self.batch_norm).then(|| {
                        units.push(Unit { prefix: format!("blocks.{i}.shortcut"), conv, bn: bn(out) });
                        units.len() - 1
                    });
                    blocks.push(Block::Residual { units: inner, shortcut });
                }
                _ => {
                    let k = self.kernels[i.min(self.kernels.len() - 1)];
                    blocks.push(Block::Plain(units.len()));
                    units.push(Unit {
                        prefix: format!("blocks.{i}"),
                        conv: Some(ConvShape { inputs: channels, outputs: out, kernel: k }),
                        bn: bn(out),
                    });
                }
            }
            channels = out;
        }
        (units, blocks)
    }

    /// The parameters' names and shapes, in order: per unit its convolution's weight and
    /// bias and its batch norm's weight and bias, then the head's weight and bias.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (units, _) = self.layout();
        let mut out = Vec::new();
        for u in &units {
            if let Some(c) = u.conv {
                out.push((format!("{}.conv.weight", u.prefix), vec![c.outputs, c.inputs, c.kernel]));
                out.push((format!("{}.conv.bias", u.prefix), vec![c.outputs]));
            }
            if let Some(c) = u.bn {
                out.push((format!("{}.bn.weight", u.prefix), vec![c]));
                out.push((format!("{}.bn.bias", u.prefix), vec![c]));
            }
        }
        let last = self.filters.last().copied().unwrap_or(self.input.channels());
        out.push(("fc.weight".into(), vec![self.classes, last]));
        out.push(("fc.bias".into(), vec![self.classes]));
        out
    }

    /// The batch norms' running statistics: per unit with a batch norm, mean then variance.
    pub fn buffer_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (units, _) = self.layout();
        let mut out = Vec::new();
        for u in &units {
            if let Some(c) = u.bn {
                out.push((format!("{}.bn.running_mean", u.prefix), vec![c]));
                out.push((format!("{}.bn.running_var", u.prefix), vec![c]));
            }
        }
        out
    }

    /// Channels of each block's output (the nodes of its activation histogram).
    pub fn block_channels(&self) -> &[usize] {
        &self.filters
    }
}

/// A named tensor: row-major values of `shape`.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor<T> {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

/// A convolutional network's parameters and batch-norm running statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvNet<T> {
    pub arch: ConvArch,
    pub params: Vec<NamedTensor<T>>,
    pub buffers: Vec<NamedTensor<T>>,
}

impl<T: Real> ConvNet<T> {
    /// PyTorch's default initialisation, drawn in f64 from `rng` tensor by tensor in
    /// parameter order, each row-major, then rounded to `T`: `Conv1d` and `Linear` weights
    /// and biases U(−1/√fan_in, 1/√fan_in) (`kaiming_uniform_(a=√5)`; fan_in = inputs × kernel),
    /// batch-norm weights 1 and biases 0, running means 0 and variances 1.
    pub fn initialise(arch: &ConvArch, rng: &mut impl Rng) -> Result<Self, AllocError> {
        let mut params = Vec::new();
        let shapes = arch.param_shapes();
        for (k, (name, shape)) in shapes.iter().enumerate() {
            let n: usize = shape.iter().product();
            let mut data = try_filled(n, T::zero(), "the weights")?;
            if name.ends_with(".bn.weight") {
                data.fill(T::one());
            } else if !name.ends_with(".bn.bias") {
                // A bias takes its weight's fan-in (the tensor before it).
                let weight = if name.ends_with(".bias") { &shapes[k - 1].1 } else { shape };
                let fan_in: usize = weight[1..].iter().product();
                let bound = 1.0 / (fan_in as f64).sqrt();
                data.iter_mut().for_each(|v| *v = T::of((rng.random::<f64>() * 2.0 - 1.0) * bound));
            }
            params.push(NamedTensor { name: name.clone(), shape: shape.clone(), data });
        }
        let mut buffers = Vec::new();
        for (name, shape) in arch.buffer_shapes() {
            let fill = if name.ends_with("running_var") { T::one() } else { T::zero() };
            buffers.push(NamedTensor { data: try_filled(shape[0], fill, "the batch-norm statistics")?, name, shape });
        }
        Ok(ConvNet { arch: arch.clone(), params, buffers })
    }

    pub fn is_finite(&self) -> bool {
        self.params.iter().chain(&self.buffers).all(|t| !t.data.iter().fold(false, |bad, v| bad | !v.f64().is_finite()))
    }

    /// The weights whose change diagnostics follow, one row per output unit (a filter, a
    /// class): every convolution's `[out, in·k]`, then the head's `[classes, filters]`.
    pub fn filter_weights(&self) -> impl Iterator<Item = &NamedTensor<T>> {
        self.params.iter().filter(|t| t.name.ends_with(".conv.weight") || t.name == "fc.weight")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::config::ModelConfig;

    fn arch(family: ModelFamily, filters: Vec<usize>, batch_norm: bool) -> ConvArch {
        let model = ModelConfig { family, filters: Some(filters), batch_norm: Some(batch_norm), ..Default::default() };
        ConvArch::new(&model, InputLayout { groups: 2, length: 10, bands: 1 }, 3)
    }

    #[test]
    fn resnet_shortcuts_convolve_only_where_the_channels_change() {
        let a = arch(ModelFamily::Resnet, vec![4, 4], true);
        let names: Vec<String> = a.param_shapes().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"blocks.0.shortcut.conv.weight".to_string()));
        assert!(!names.contains(&"blocks.1.shortcut.conv.weight".to_string()));
        assert!(names.contains(&"blocks.1.shortcut.bn.weight".to_string()));
        let (_, blocks) = arch(ModelFamily::Resnet, vec![2, 2], false).layout();
        assert_eq!(blocks[0], Block::Residual { units: vec![0, 1, 2], shortcut: None }, "identity, no batch norm");
    }

    #[test]
    fn fcn_shapes_are_pytorchs() {
        let a = arch(ModelFamily::Fcn, vec![5, 6], true);
        let shapes = a.param_shapes();
        assert_eq!(shapes[0], ("blocks.0.conv.weight".into(), vec![5, 2, 8]));
        assert_eq!(shapes[4], ("blocks1.conv.weight".replace("blocks1", "blocks.1"), vec![6, 5, 5]));
        assert_eq!(shapes.last().unwrap(), &("fc.bias".to_string(), vec![3]));
        assert_eq!(a.buffer_shapes().len(), 4);
    }

    #[test]
    fn log_mel_bands_become_channels_and_multi_scale_is_refused() {
        let l = InputLayout::of(Features::LogMel, 2 * 7 * 40, 2, 40).unwrap();
        assert_eq!((l.channels(), l.length), (80, 7));
        assert!(InputLayout::of(Features::MultiLogMel, 100, 1, 40).is_err());
        assert_eq!(InputLayout::of(Features::Amplitude, 150, 1, 40).unwrap().length, 150);
    }
}
