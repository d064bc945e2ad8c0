//! `pinniped compare A B`: two sweeps configuration by configuration, as a table, CSV or Markdown.

use super::args::CompareArgs;
use super::error::{exit, AppError};
use crate::report::compare;

pub fn compare(a: CompareArgs) -> Result<u8, AppError> {
    let (x, y) = (compare::read_summary(&a.a)?, compare::read_summary(&a.b)?);
    let c = compare::compare(&x, &y, &a.metric, &a.ignore)?;
    let text = if a.csv {
        compare::render_csv(&c)
    } else if a.markdown {
        compare::render_markdown(&c)
    } else {
        compare::render_table(&c)
    };
    out!("{text}");
    Ok(exit::OK)
}
