//! Several datasets in one sweep: `[[datasets]]` entries or one `[datasets]` table (a folder,
//! names and a file-name pattern) → named [`Dataset`]s, each with its full `[data]`
//! configuration. Datasets are the outermost axis of the plan (`spec::plan`).
//!
//! `[data]` holds the keys every dataset shares: the resampling protocol (`reserve_every`,
//! `reserve_fraction`, `resample`, `folds`, `stratify`), which no dataset may override (the
//! protocol is the experiment's, and its runs are compared dataset by dataset), and defaults
//! for the per-dataset keys (`format`, `length`, …), which an entry may override.

use super::config::DataConfig;
use super::problems::{suggest, Collector};
use super::sweep::{check_name, parse_data_at, resolve_data_path, DataFiles, Place, DATA_KEYS};
use serde::Serialize;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// At most this many datasets in one sweep (each is loaded and validated before anything runs).
pub(crate) const MAX_DATASETS: usize = 1000;

/// What a `[[datasets]]` entry may set: its name, its files and how they are read.
pub(crate) const DATASET_KEYS: &[&str] =
    &["name", "train", "test", "format", "class_attribute", "length", "series_length", "missing"];

/// `[data]` keys shared by every dataset: the validation protocol.
pub(crate) const SHARED_KEYS: &[&str] = &["reserve_every", "reserve_fraction", "resample", "folds", "stratify"];

/// The keys of the one-table form, `[datasets] dir = …, names = […], pattern = …`.
const TABLE_KEYS: &[&str] = &["dir", "names", "pattern"];
/// The table form's default file-name pattern: the aeon archive's (`GunPoint_TRAIN.ts.gz`).
pub(crate) const DEFAULT_PATTERN: &str = "{name}_{split}.ts.gz";

/// One dataset of a sweep: its name (a path segment of its run ids) and its data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dataset {
    pub name: String,
    pub data: DataConfig,
}

/// The dataset a training file holds: its name without extensions and a `_TRAIN` suffix
/// (`GunPoint_TRAIN.ts.gz` → `GunPoint`), as `pinniped rank` names a results directory's.
pub(crate) fn name_of(train_file: &Path) -> String {
    let file = train_file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let mut stem = file.as_str();
    for ext in [".gz", ".tsv", ".ts", ".arff", ".csv", ".txt"] {
        stem = stem.strip_suffix(ext).unwrap_or(stem);
    }
    stem.strip_suffix("_TRAIN").or_else(|| stem.strip_suffix("_train")).unwrap_or(stem).to_string()
}

/// Reads `datasets` (an array of tables or one table) with the shared `[data]` table `shared`.
/// Every problem of every dataset is collected in `c`; `None` when there was one.
pub(super) fn parse(c: &mut Collector, shared: &Table, datasets: &Value, files: DataFiles) -> Option<Vec<Dataset>> {
    let before = c.problems.len();
    for key in ["train", "test"] {
        if shared.contains_key(key) {
            Place::data().report(
                c,
                key,
                format!(
                    "a sweep with [datasets] names each dataset's files there: remove `{key}` from [data] (or \
                     make it a [[datasets]] entry)"
                ),
            );
        }
    }
    let entries: Vec<(Table, Place)> = match datasets {
        Value::Array(items) => {
            let mut entries = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let place = Place { table: "datasets", entry: Some(i), label: format!("datasets[{i}]") };
                match item {
                    Value::Table(t) => entries.push((t.clone(), place)),
                    _ => place.report(c, "", "must be a table: [[datasets]] with name, train and test"),
                }
            }
            entries
        }
        Value::Table(t) => from_folder(c, t),
        _ => {
            c.at(None, "datasets", "datasets", "must be [[datasets]] entries or one [datasets] table (dir, names)");
            Vec::new()
        }
    };
    if entries.is_empty() && c.problems.len() == before {
        c.at(None, "datasets", "datasets", "names no dataset: give at least one");
    }
    if entries.len() > MAX_DATASETS {
        c.at(
            None,
            "datasets",
            "datasets",
            format!(
                "{} datasets, more than the {MAX_DATASETS} one sweep may hold; split it into sweeps",
                entries.len()
            ),
        );
        return None;
    }
    let mut out: Vec<Dataset> = Vec::new();
    for (entry, place) in entries {
        let mut merged: Table = shared.clone();
        for (key, value) in &entry {
            if SHARED_KEYS.contains(&key.as_str()) {
                place.report(
                    c,
                    key,
                    "is shared by every dataset (the validation protocol is the sweep's): set it in [data]",
                );
            } else if key == "name" {
            } else if !DATASET_KEYS.contains(&key.as_str()) {
                let hint = if DATA_KEYS.contains(&key.as_str()) { String::new() } else { suggest(key, DATASET_KEYS) };
                place.report(c, key, format!("unknown key{hint}"));
            } else {
                merged.insert(key.clone(), value.clone());
            }
        }
        let name = match entry.get("name") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                place.report(c, "name", "must be a string, e.g. name = \"GunPoint\"");
                None
            }
            None => entry.get("train").and_then(Value::as_str).map(|t| name_of(Path::new(t))),
        };
        let entry_keys: Vec<String> = entry.keys().cloned().collect();
        let where_of = |key: &str| {
            if key.is_empty() || entry_keys.iter().any(|k| k == key) || !shared.contains_key(key) {
                place.clone()
            } else {
                Place::data()
            }
        };
        let data = parse_data_at(c, &merged, files, &where_of);
        let Some(name) = name else { continue };
        if let Err(why) = check_name(&name) {
            let why = if entry.contains_key("name") {
                why
            } else {
                format!("the name taken from the train file, {why}: give `name = \"...\"`")
            };
            place.report(c, if entry.contains_key("name") { "name" } else { "" }, why);
            continue;
        }
        if out.iter().any(|d| d.name == name) {
            place.report(
                c,
                if entry.contains_key("name") { "name" } else { "" },
                format!(
                    "dataset `{name}` is named twice: each dataset needs its own name (its runs' ids start with it)"
                ),
            );
            continue;
        }
        if let Some(data) = data {
            out.push(Dataset { name, data });
        }
    }
    (c.problems.len() == before && !out.is_empty()).then_some(out)
}

/// `[datasets] dir, names, pattern` → one entry per name, with `train` and `test` filled in
/// from the pattern (`{split}` is `TRAIN` / `TEST`), relative to the sweep file like any path.
fn from_folder(c: &mut Collector, t: &Table) -> Vec<(Table, Place)> {
    let place = Place { table: "datasets", entry: None, label: "datasets".into() };
    for key in t.keys() {
        if !TABLE_KEYS.contains(&key.as_str()) {
            let why = if DATASET_KEYS.contains(&key.as_str()) {
                " in the one-table form: set it in [data] for every dataset, or use [[datasets]] entries".into()
            } else {
                suggest(key, TABLE_KEYS)
            };
            place.report(c, key, format!("unknown key{why}"));
        }
    }
    let dir = match t.get("dir") {
        Some(Value::String(d)) => Some(PathBuf::from(d)),
        Some(_) => {
            place.report(c, "dir", "must be a string: the folder holding the datasets' files");
            None
        }
        None => {
            place.report(c, "", "missing `dir = \"...\"`: the folder holding the datasets' files");
            None
        }
    };
    let pattern = match t.get("pattern") {
        None => Some(DEFAULT_PATTERN.to_string()),
        Some(Value::String(p)) if p.contains("{name}") && p.contains("{split}") => {
            let rest = p.replace("{name}", "").replace("{split}", "");
            if rest.contains(['{', '}']) {
                place.report(c, "pattern", "knows only {name} and {split}, e.g. \"{name}/{name}_{split}.tsv\"");
                None
            } else {
                Some(p.clone())
            }
        }
        Some(_) => {
            place.report(
                c,
                "pattern",
                "must be a string with {name} and {split} (TRAIN or TEST), e.g. \"{name}_{split}.ts.gz\"",
            );
            None
        }
    };
    let names: Vec<String> = match t.get("names") {
        Some(Value::Array(items)) if items.iter().all(Value::is_str) => {
            items.iter().filter_map(|v| v.as_str().map(String::from)).collect()
        }
        Some(_) => {
            place.report(c, "names", "must be a list of dataset names, e.g. names = [\"GunPoint\", \"ArrowHead\"]");
            Vec::new()
        }
        None => {
            place.report(c, "", "missing `names = [...]`: the datasets to run");
            Vec::new()
        }
    };
    let (Some(dir), Some(pattern)) = (dir, pattern) else { return Vec::new() };
    let mut entries = Vec::new();
    for name in names {
        if let Err(why) = check_name(&name) {
            place.report(c, "names", why);
            continue;
        }
        let file = |split: &str| {
            let rel = dir.join(pattern.replace("{name}", &name).replace("{split}", split));
            Value::String(resolve_data_path(c.file, &rel).display().to_string())
        };
        let mut entry = Table::new();
        entry.insert("name".into(), Value::String(name.clone()));
        entry.insert("train".into(), file("TRAIN"));
        entry.insert("test".into(), file("TEST"));
        entries.push((entry, Place { label: format!("datasets.{name}"), ..place.clone() }));
    }
    entries
}

/// The stored form of the datasets (in a results directory's `sweep.toml`): `[data]` with the
/// shared keys, and one `[[datasets]]` entry per dataset with its name and per-dataset keys.
pub(crate) fn stored_tables(datasets: &[Dataset]) -> (Table, Vec<Value>) {
    let table = |d: &DataConfig| match Value::try_from(d) {
        Ok(Value::Table(t)) => t,
        _ => unreachable!("DataConfig serialises to a table"),
    };
    let shared: Table =
        table(&datasets[0].data).into_iter().filter(|(k, _)| SHARED_KEYS.contains(&k.as_str())).collect();
    let entries = datasets
        .iter()
        .map(|d| {
            let mut t = Table::new();
            t.insert("name".into(), Value::String(d.name.clone()));
            t.extend(table(&d.data).into_iter().filter(|(k, _)| !SHARED_KEYS.contains(&k.as_str())));
            Value::Table(t)
        })
        .collect();
    (shared, entries)
}
