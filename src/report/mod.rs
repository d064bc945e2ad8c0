//! What comes out of a sweep: summaries, statistics, comparisons, plots and the
//! HTML report.

pub mod compare;
pub mod html;
pub mod plots;
pub mod stats;
pub mod summary;
