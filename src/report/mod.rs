//! What comes out of a sweep: summaries, statistics and comparisons.

pub mod compare;
pub mod stats;
pub mod summary;
