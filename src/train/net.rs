//! The parameters of whichever network a run trains, as the epoch loop, diagnostics,
//! checkpoints, training states and `eval` see them between epochs: an [`Mlp`] (the native
//! engine's layout) or a [`ConvNet`] (named tensors in PyTorch's names and layouts).

use super::conv::{ConvArch, ConvNet, InputLayout};
use super::init::initialise;
use super::memory::AllocError;
use super::model::Mlp;
use super::real::Real;
use crate::spec::config::TrainConfig;
use rand::Rng;

#[derive(Clone, Debug, PartialEq)]
pub enum Net<T> {
    Mlp(Mlp<T>),
    Conv(ConvNet<T>),
}

/// What a run's network is made of, before its parameters are drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum NetShape {
    /// Layer widths, inputs first, classes last.
    Mlp(Vec<usize>),
    Conv(ConvArch),
}

impl NetShape {
    /// The network `cfg` asks for on rows of `cols` values of `channels`-channel series, `classes` classes.
    pub fn of(cfg: &TrainConfig, cols: usize, channels: usize, classes: usize) -> Result<Self, String> {
        if cfg.model.family.is_mlp() {
            let mut dims = vec![cols];
            dims.extend(&cfg.model.hidden);
            dims.push(classes);
            return Ok(NetShape::Mlp(dims));
        }
        let input = InputLayout::of(cfg.pipeline.features, cols, channels, cfg.pipeline.mel_bands)?;
        Ok(NetShape::Conv(ConvArch::new(&cfg.model, input, classes)))
    }

    /// Draws the initial parameters (`init` for an MLP; PyTorch's defaults for a conv net).
    pub fn initialise<T: Real>(&self, cfg: &TrainConfig, rng: &mut impl Rng) -> Result<Net<T>, AllocError> {
        Ok(match self {
            NetShape::Mlp(dims) => Net::Mlp(initialise(dims, cfg.model.activation, cfg.model.init, rng)?),
            NetShape::Conv(arch) => Net::Conv(ConvNet::initialise(arch, rng)?),
        })
    }
}

impl<T: Real> Net<T> {
    pub fn is_finite(&self) -> bool {
        match self {
            Net::Mlp(m) => m.is_finite(),
            Net::Conv(c) => c.is_finite(),
        }
    }

    /// Values of one input row.
    pub fn inputs(&self) -> usize {
        match self {
            Net::Mlp(m) => m.inputs(),
            Net::Conv(c) => c.arch.inputs(),
        }
    }

    /// Classes of the output layer.
    pub fn classes(&self) -> usize {
        match self {
            Net::Mlp(m) => m.classes(),
            Net::Conv(c) => c.arch.classes,
        }
    }

    pub fn as_mlp(&self) -> Option<&Mlp<T>> {
        match self {
            Net::Mlp(m) => Some(m),
            Net::Conv(_) => None,
        }
    }

    pub fn shape(&self) -> NetShape {
        match self {
            Net::Mlp(m) => NetShape::Mlp(m.dims.clone()),
            Net::Conv(c) => NetShape::Conv(c.arch.clone()),
        }
    }

    /// Per hidden layer (MLP) or block (conv net): the nodes of its activation histogram
    /// (units; filters) and the activations one input row gives it (units; filters × time steps).
    pub fn hidden_shapes(&self) -> Vec<(usize, usize)> {
        match self {
            Net::Mlp(m) => m.dims[1..m.dims.len() - 1].iter().map(|&w| (w, w)).collect(),
            Net::Conv(c) => c.arch.block_channels().iter().map(|&f| (f, f * c.arch.input.length)).collect(),
        }
    }
}
