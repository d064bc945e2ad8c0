//! Training one network: model, initialisation, loss, optimiser, the epoch loop
//! and its diagnostics. Generic over `f32`/`f64` via [`Real`].

pub mod candle_engine;
pub mod checkpoint;
pub mod diagnostics;
pub mod engine;
pub mod fit;
pub mod gram;
pub mod init;
pub mod linalg;
pub mod memory;
pub mod model;
pub mod optim;
pub mod options;
pub mod real;

pub use fit::{fit, EpochMetrics, EpochView, Fit, History, Outcome, RunData, Selected, SetMetrics};
pub use model::{Grads, Input, Mlp, Workspace};
pub use optim::Optimizer;
pub use options::{
    Activation, DType, Device, Engine, Features, Init, Loss, Method, MomentumRule, OptimizerKind, StopOn,
};
pub use real::Real;
