//! pinniped: hyper-parameter sweeps of small neural networks, declared in TOML.
//!
//! Data flows one way: sweep file → [`spec`] (validated plan of runs) → [`exec`]
//! (a pool of workers, each: [`data`] → [`features`] → [`train`] → run files) →
//! events → reporter → [`report`] (summary, comparisons). [`app`] is the command line
//! on top of it all.
//!
//! # The facade
//!
//! The binary is the product; the library is what it and the test suite are built from.
//! What a library user is meant to call, each validated as the binary validates it:
//!
//! - **A whole command**, exactly as `pinniped …` runs it: parse an [`app::args::Cli`] (clap's
//!   `Cli::try_parse_from`) and call [`app::dispatch`]; it returns the exit code or an
//!   [`app::AppError`] whose `exit_code()` the binary would exit with.
//! - **Sweep files**: [`spec::load_sweep`] / [`spec::parse_sweep`] (TOML → [`spec::SweepFile`],
//!   every problem an [`spec::InputError`] naming file, line and key), then [`spec::expand`]
//!   (→ [`spec::Plan`]: every run's id, seed, split and [`spec::TrainConfig`]).
//! - **Data**: [`data::read_table`] and [`data::load_dataset`] (UCR, ARFF, aeon .ts, gzip),
//!   [`features::Prepared::load`] (a dataset and its feature pipelines, as a sweep loads them).
//! - **Training one network**: [`train::fit`] over a [`train::RunData`], through the model seam
//!   [`train::engine::Model`] (native or candle engine); [`train::checkpoint::load`] reads a
//!   checkpoint back.
//! - **Results**: [`report::compare::read_summary`] (a results directory's summary.csv with the
//!   stored sweep), [`results::predictions`] (a run's predictions.npz), and the statistics in
//!   [`stats`] (pinned against SciPy).
//!
//! Public for the integration tests (and the examples) only, not an interface to build on:
//! [`exec`] (the trainers, the pool and its events), most of [`results`] (the files' names and
//! readers the tests read back: `layout`, `metrics`, `plan`, `events`, `diagnostics`, `table`),
//! [`report`] beyond `compare` (summary, comparisons, html, rank, plots, …), [`memory`],
//! [`fsx`], [`output`] (its print macros are exported), and the submodules of [`spec`],
//! [`data`], [`train`] and [`stats`] beyond the facade. Every other item is `pub(crate)`:
//! `scripts/public-surface.py` lists the `pub` items and finds those no test, example or
//! `main.rs` names (issue 12 §7).

// First: its print macros are used by every module below.
#[macro_use]
pub mod output;
pub mod app;
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
