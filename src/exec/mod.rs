//! Executing runs: claims, the `Trainer` trait, the worker pool and its events, refits
//! and Slurm scripts (the results directory's files belong to `results`).

pub mod claim;
pub mod events;
pub mod halving;
pub mod refit;
pub mod slurm;
pub mod sweep;
pub mod trainer;

// The results directory's files moved to `results` (below `report`); their old paths stay.
pub use crate::results::{atomic, rundir};
