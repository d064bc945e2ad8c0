//! A run's `config.toml` (written by `exec::trainer::RunSpec::to_toml`, a `pinniped train`
//! file parsed by `spec::parse_run_file`): what the pictures read back from it.

use super::layout::CONFIG_FILE;
use std::path::Path;

/// The `[train]` table of `run_dir/config.toml` as written; `None` when the file is absent,
/// unreadable, of a later schema (`spec::schema`) or has no such table.
pub(crate) fn read_train_table(run_dir: &Path) -> Option<toml::Table> {
    let path = run_dir.join(CONFIG_FILE);
    let text = crate::fsx::read_own_text(&path, crate::fsx::MAX_TEXT_BYTES).ok()?;
    let mut doc: toml::Table = text.parse().ok()?;
    crate::spec::schema::check_toml(&path, &text, &doc).ok()?;
    match doc.remove("train")? {
        toml::Value::Table(train) => Some(train),
        _ => None,
    }
}
