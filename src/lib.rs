//! pinniped: hyper-parameter sweeps of small neural networks, declared in TOML.
//!
//! Data flows one way: sweep file → [`spec`] (validated plan of runs) → [`exec`]
//! (a pool of workers, each: [`data`] → [`features`] → [`train`] → run files) →
//! events → reporter → [`report`] (summary, comparisons).

// First: its print macros are used by every module below.
#[macro_use]
pub mod output;
pub mod cli;
pub mod commands;
pub mod data;
pub mod exec;
pub mod features;
pub mod fsx;
pub mod memory;
pub mod report;
pub mod results;
pub mod spec;
pub mod stats;
pub mod train;
