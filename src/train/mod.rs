//! Training one network: model, initialisation, loss, optimiser, the epoch loop
//! and its diagnostics. Generic over `f32`/`f64` via [`Real`].

pub mod candle_conv;
pub mod candle_engine;
pub mod checkpoint;
pub mod conv;
pub mod diagnostics;
pub mod engine;
pub mod fit;
pub mod gram;
pub mod init;
pub(crate) mod linalg;
pub mod model;
pub mod net;
pub mod optim;
pub mod predictions;
pub mod real;
pub mod state;
pub mod strategy;

/// Memory bounds are shared with the data readers, below `train`.
pub use crate::memory;
/// The choices a run is made of live in `spec` (they are words of the sweep file).
pub use crate::spec::options;

pub use crate::features::RunData;
pub use fit::{
    fit, EpochConfusion, EpochMetrics, EpochView, Fit, History, LayerHistogram, Outcome, Selected, SetMetrics,
    WeightChange,
};
pub use model::{Grads, Input, Mlp, Workspace};
pub use net::{Net, NetShape};
pub use optim::Optimizer;
pub use options::{
    Activation, DType, Device, Engine, Features, Init, Loss, Method, ModelFamily, MomentumRule, OptimizerKind, StopOn,
};
pub use real::Real;
