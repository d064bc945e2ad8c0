//! What to run: sweep files and run files (TOML) → validated configuration → a plan
//! of runs with stable ids and seeds.

pub mod config;
pub mod datasets;
pub mod design;
pub mod options;
pub mod plan;
pub mod problems;
pub mod prune;
pub mod reading;
pub mod schema;
pub mod sweep;

pub use config::{Artifacts, DataConfig, Resample, TrainConfig};
pub use plan::{expand, Config, Plan, PlannedRun, Split};
pub use problems::{InputError, Problem};
pub use sweep::{load_stored_sweep, load_sweep, parse_stored_sweep, parse_sweep, Design, Pairing, SweepFile};
