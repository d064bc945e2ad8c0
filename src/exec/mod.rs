//! Executing runs: atomic files, run directories, the `Trainer` trait, the worker
//! pool and its events.

pub mod atomic;
pub mod claim;
pub mod events;
pub mod refit;
pub mod rundir;
pub mod slurm;
pub mod sweep;
pub mod trainer;
