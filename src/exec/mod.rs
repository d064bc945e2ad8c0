//! Executing runs: claims, the `Trainer` trait, the worker pool and its events, refits
//! and Slurm scripts (the results directory's files belong to `results`); [`error`] says why an operation
//! or a run stopped.

pub(crate) mod claim;
pub mod error;
pub mod events;
pub mod halving;
pub mod refit;
pub mod slurm;
pub mod sweep;
pub mod trainer;

// The results directory's files moved to `results` (below `report`); their old paths stay.
pub(crate) use crate::results::{atomic, rundir};
pub(crate) use error::{ExecError, RunError};
