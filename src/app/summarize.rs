//! `pinniped summarize DIR`: rebuild summary.csv from the run directories.

use super::error::{exit, AppError};
use super::results_dir::open_results;
use crate::report::comparisons::Protocol;
use crate::report::summary;
use std::path::Path;

pub fn summarize(dir: &Path) -> Result<u8, AppError> {
    let (sweep, plan) = open_results(dir)?;
    summary::write(dir, &plan, &Protocol::of(&sweep))?;
    outln!("{}", dir.join(crate::results::layout::SUMMARY_FILE).display());
    Ok(exit::OK)
}
