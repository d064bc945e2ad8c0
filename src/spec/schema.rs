//! The version of the results format: every file pinniped writes into a results directory
//! and reads back belongs to one schema, recorded in the files that carry a key for it
//! (`schema = N` in `sweep.toml` and a run's `config.toml`, `"schema": N` in `status.json`;
//! the CSVs keep their headers as they are, for the pandas code that reads them, and are
//! of the schema their directory's `sweep.toml` says). A file without the key is of
//! schema 1 (what pinniped wrote before the key existed); a file of a later schema than
//! this pinniped knows is refused, naming the file, before anything else of it is read.
//! It lives in `spec` because the stored files are parsed here; `results::schema` is the
//! results side (status.json).

use super::problems::{locate, InputError};
use std::path::Path;
use toml::{Table, Value};

/// The schema this pinniped writes and the newest it reads.
pub(crate) const RESULTS_SCHEMA: u32 = 1;

/// The key in the TOML files and in `status.json`.
pub(crate) const SCHEMA_KEY: &str = "schema";

/// The first pinniped version that writes each schema (index: schema − 1).
const FIRST_WRITTEN_BY: [&str; RESULTS_SCHEMA as usize] = ["0.1.0"];

/// What a file of schema `found` (newer than [`RESULTS_SCHEMA`]) needs.
pub(crate) fn newer_message(found: u64) -> String {
    format!(
        "written by a newer pinniped: results schema {found}, while this pinniped ({}) reads schemas 1 to \
         {RESULTS_SCHEMA} (schema {RESULTS_SCHEMA} is written by pinniped {} and later). Read this directory \
         with the pinniped that wrote it, or upgrade",
        env!("CARGO_PKG_VERSION"),
        FIRST_WRITTEN_BY[RESULTS_SCHEMA as usize - 1]
    )
}

/// The schema of a parsed TOML file pinniped stores (`sweep.toml`, `config.toml`): 1 without
/// the key; an error naming the file and line for a later schema or a value that is not one.
pub(crate) fn check_toml(path: &Path, source: &str, table: &Table) -> Result<u32, InputError> {
    let problem = |message: String| InputError::one(path, locate(source, None, SCHEMA_KEY), Some(SCHEMA_KEY), message);
    match table.get(SCHEMA_KEY) {
        None => Ok(1),
        Some(Value::Integer(n)) if (1..=i64::from(RESULTS_SCHEMA)).contains(n) => Ok(*n as u32),
        Some(Value::Integer(n)) if *n > i64::from(RESULTS_SCHEMA) => Err(problem(newer_message(*n as u64))),
        Some(_) => Err(problem(format!(
            "must be the results schema pinniped wrote, an integer from 1 to {RESULTS_SCHEMA}; \
             leave it as pinniped wrote it (or remove it: schema 1)"
        ))),
    }
}
