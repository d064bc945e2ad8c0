//! `pinniped report DIR`: redraw the sweep's plots and write report.html.

use super::error::{exit, AppError};
use super::results_dir::open_results;
use super::run::finish;
use crate::report::comparisons::Protocol;
use crate::report::summary;
use std::path::Path;

pub fn report(dir: &Path) -> Result<u8, AppError> {
    let (sweep, plan) = open_results(dir)?;
    finish(dir, &plan, &summary::Records::read(dir, &plan), &Protocol::of(&sweep), false)?;
    Ok(exit::OK)
}
