//! Where a results directory keeps its files: the paths every reader and writer share.

use std::path::{Path, PathBuf};

pub const SWEEP_FILE: &str = "sweep.toml";
pub const DATA_DIGEST_FILE: &str = "data.sha256";

pub fn run_dir(root: &Path, run_id: &str) -> PathBuf {
    root.join("runs").join(run_id)
}
