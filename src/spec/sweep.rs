//! Sweep files (and the single-run files of `pinniped train`): TOML text →
//! validated values. Stage one of two; `plan` turns a sweep into runs.

use super::config::{DataConfig, TrainConfig};
use super::problems::{line_col, suggest, Collector, InputError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Design {
    #[serde(rename = "grid")]
    Grid,
    #[serde(rename = "one-at-a-time")]
    OneAtATime,
}

impl Design {
    pub fn word(self) -> &'static str {
        match self {
            Design::Grid => "grid",
            Design::OneAtATime => "one-at-a-time",
        }
    }
}

/// One swept `[train]` key and its values, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SweepFile {
    pub path: PathBuf,
    pub name: String,
    pub seed: u64,
    pub repeats: usize,
    pub data: DataConfig,
    /// The `[train]` table as written, on top of the defaults.
    pub baseline: TrainConfig,
    pub design: Design,
    pub axes: Vec<Axis>,
}

/// A `pinniped train` file: `[data]` and `[train]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFile {
    pub data: Option<DataConfig>,
    pub train: TrainConfig,
}

const TOP_KEYS: &[&str] = &["name", "seed", "repeats", "data", "train", "sweep"];
const DATA_KEYS: &[&str] = &["train", "test", "format", "class_attribute", "reserve_every", "reserve_fraction"];

pub fn read_source(path: &Path) -> Result<String, InputError> {
    crate::fsx::read_text(path, crate::fsx::MAX_TEXT_BYTES)
        .map_err(|e| InputError::one(path, None, None, format!("cannot read this file: {e} (check the path)")))
}

fn parse_toml(path: &Path, source: &str) -> Result<Table, InputError> {
    source.parse::<Table>().map_err(|e| {
        let (line, col) = e.span().map_or((None, None), |s| {
            let (l, c) = line_col(source, s.start);
            (Some(l), Some(c))
        });
        let msg = e.message().trim().to_string();
        let at = col.map(|c| format!("column {c}: ")).unwrap_or_default();
        InputError::one(path, line, None, format!("{at}TOML syntax error: {msg}"))
    })
}

pub fn load_sweep(path: &Path) -> Result<SweepFile, InputError> {
    let source = read_source(path)?;
    parse_sweep(path, &source)
}

pub fn parse_sweep(path: &Path, source: &str) -> Result<SweepFile, InputError> {
    let table = parse_toml(path, source)?;
    let mut c = Collector::new(path, source);
    for key in table.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            c.at(None, key, key.clone(), format!("unknown key{}", suggest(key, TOP_KEYS)));
        }
    }
    let name = match table.get("name") {
        Some(Value::String(s)) => {
            if let Err(why) = check_name(s) {
                c.at(None, "name", "name", why);
            }
            s.clone()
        }
        Some(_) => {
            c.at(None, "name", "name", "must be a string, e.g. name = \"paper\"");
            String::new()
        }
        None => {
            c.general(None, "missing `name = \"...\"` (results go to <out>/<name>/)");
            String::new()
        }
    };
    let seed = match table.get("seed") {
        None => 0,
        Some(Value::Integer(i)) if *i >= 0 => *i as u64, // TOML integers stop at 2^63 - 1
        Some(_) => {
            c.at(None, "seed", "seed", "must be a non-negative integer");
            0
        }
    };
    let repeats = match table.get("repeats") {
        None => 3,
        Some(Value::Integer(i)) if *i >= 1 && *i <= 10_000 => *i as usize,
        Some(_) => {
            c.at(None, "repeats", "repeats", "must be an integer from 1 to 10000");
            1
        }
    };
    let data = match table.get("data") {
        Some(Value::Table(t)) => parse_data(&mut c, t),
        Some(_) => {
            c.at(None, "data", "data", "must be a table: [data]");
            None
        }
        None => {
            c.general(None, "missing [data] table with at least `train = \"path/to/TRAIN.tsv.gz\"`");
            None
        }
    };
    let empty = Table::new();
    let train_table = match table.get("train") {
        Some(Value::Table(t)) => t,
        Some(_) => {
            c.at(None, "train", "train", "must be a table: [train]");
            &empty
        }
        None => &empty,
    };
    if train_table.contains_key("seed") {
        c.at(
            Some("train"),
            "seed",
            "train.seed",
            "sweep runs derive their seeds from the top-level `seed`: move it there",
        );
    }
    let baseline = parse_train(&mut c, train_table);
    let (design, axes) = match table.get("sweep") {
        Some(Value::Table(t)) => parse_axes(&mut c, t, baseline.as_ref()),
        Some(_) => {
            c.at(None, "sweep", "sweep", "must be a table: [sweep]");
            (Design::Grid, Vec::new())
        }
        None => (Design::Grid, Vec::new()),
    };
    c.finish()?;
    Ok(SweepFile {
        path: path.to_path_buf(),
        name,
        seed,
        repeats,
        data: data.expect("checked"),
        baseline: baseline.expect("checked"),
        design,
        axes,
    })
}

/// `pinniped train FILE`: a `[data]` and a `[train]` table, nothing else.
pub fn parse_run_file(path: &Path, source: &str) -> Result<RunFile, InputError> {
    let table = parse_toml(path, source)?;
    let mut c = Collector::new(path, source);
    for key in table.keys() {
        if !["data", "train"].contains(&key.as_str()) {
            c.at(None, key, key.clone(), format!("unknown key{}", suggest(key, &["data", "train"])));
        }
    }
    let data = match table.get("data") {
        Some(Value::Table(t)) => parse_data(&mut c, t),
        _ => None,
    };
    let empty = Table::new();
    let train = match table.get("train") {
        Some(Value::Table(t)) => t,
        _ => &empty,
    };
    let train = parse_train(&mut c, train);
    c.finish()?;
    Ok(RunFile { data, train: train.expect("checked") })
}

/// Sweep names become directory names: keep them portable and inside `<out>`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` cannot be a directory name: use 1 to 100 letters, digits, `.`, `_` or `-`, not starting with `.`",
            name.escape_default()
        ))
    }
}

fn parse_data(c: &mut Collector, t: &Table) -> Option<DataConfig> {
    let before = c.problems.len();
    for key in t.keys() {
        if !DATA_KEYS.contains(&key.as_str()) {
            c.at(Some("data"), key, format!("data.{key}"), format!("unknown key{}", suggest(key, DATA_KEYS)));
        }
    }
    if !t.contains_key("train") {
        c.at(
            Some("data"),
            "",
            "data.train",
            "missing: the training file, e.g. train = \"data/phoneme/Phoneme_TRAIN.tsv.gz\"",
        );
    }
    // Type-check key by key so that each wrong value gets its own message.
    let mut base = Table::new();
    base.insert("train".into(), Value::String("-".into()));
    for (key, value) in t {
        if !DATA_KEYS.contains(&key.as_str()) {
            continue;
        }
        let mut probe = base.clone();
        probe.insert(key.clone(), value.clone());
        if let Err(e) = Value::Table(probe).try_into::<DataConfig>() {
            c.at(Some("data"), key, format!("data.{key}"), type_message(&e));
        }
    }
    if c.problems.len() > before {
        return None;
    }
    let data: DataConfig = Value::Table(t.clone()).try_into().ok()?;
    for (key, msg) in data.problems() {
        c.at(Some("data"), key, format!("data.{key}"), msg);
    }
    (c.problems.len() == before).then_some(data)
}

/// Applies `[train]` keys to the defaults; every problem is reported with its key.
fn parse_train(c: &mut Collector, t: &Table) -> Option<TrainConfig> {
    let before = c.problems.len();
    let keys = TrainConfig::keys();
    let known: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut config = TrainConfig::default();
    for (key, value) in t {
        if !known.contains(&key.as_str()) {
            c.at(Some("train"), key, format!("train.{key}"), format!("unknown key{}", suggest(key, &known)));
            continue;
        }
        match with_value(&config, key, value) {
            Ok(next) => config = next,
            Err(msg) => c.at(Some("train"), key, format!("train.{key}"), msg),
        }
    }
    for (key, msg) in config.problems() {
        c.at(Some("train"), key, format!("train.{key}"), msg);
    }
    (c.problems.len() == before).then_some(config)
}

/// `config` with `key` set to `value`, or why the value does not fit the key.
pub fn with_value(config: &TrainConfig, key: &str, value: &Value) -> Result<TrainConfig, String> {
    let Ok(Value::Table(mut table)) = Value::try_from(config) else {
        unreachable!("TrainConfig serialises to a table")
    };
    table.insert(key.to_string(), value.clone());
    Value::Table(table).try_into::<TrainConfig>().map_err(|e| type_message(&e))
}

fn type_message(e: &toml::de::Error) -> String {
    let msg = e.message().trim();
    // serde says "invalid type: string \"x\", expected usize": keep it, add what to write.
    msg.to_string()
}

fn parse_axes(c: &mut Collector, t: &Table, baseline: Option<&TrainConfig>) -> (Design, Vec<Axis>) {
    let keys = TrainConfig::keys();
    let mut known: Vec<&str> = keys.iter().map(String::as_str).filter(|k| *k != "seed").collect();
    known.push("design");
    let design = match t.get("design") {
        None => Design::Grid,
        Some(Value::String(s)) if s == "grid" => Design::Grid,
        Some(Value::String(s)) if s == "one-at-a-time" => Design::OneAtATime,
        Some(_) => {
            c.at(
                Some("sweep"),
                "design",
                "sweep.design",
                "must be \"grid\" (Cartesian product) or \"one-at-a-time\" (baseline plus each axis varied alone)",
            );
            Design::Grid
        }
    };
    let mut axes = Vec::new();
    for (key, value) in t {
        if key == "design" {
            continue;
        }
        if key == "seed" {
            c.at(
                Some("sweep"),
                key,
                "sweep.seed",
                "seeds cannot be swept: use `repeats` for more seeds per configuration",
            );
            continue;
        }
        if !known.contains(&key.as_str()) {
            c.at(Some("sweep"), key, format!("sweep.{key}"), format!("unknown key{}", suggest(key, &known)));
            continue;
        }
        let Value::Array(values) = value else {
            c.at(
                Some("sweep"),
                key,
                format!("sweep.{key}"),
                format!("an axis is a list of values, e.g. {key} = [{value}, …]; a single value belongs in [train]"),
            );
            continue;
        };
        if values.is_empty() {
            c.at(Some("sweep"), key, format!("sweep.{key}"), "empty axis: give at least one value, or remove the key");
            continue;
        }
        if values.len() > super::plan::MAX_RUNS {
            c.at(
                Some("sweep"),
                key,
                format!("sweep.{key}"),
                format!("has {} values, more than the {} runs a sweep may plan", values.len(), super::plan::MAX_RUNS),
            );
            continue;
        }
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (i, v) in values.iter().enumerate() {
            let label = format!("sweep.{key}[{i}]");
            if let Some(base) = baseline {
                match with_value(base, key, v) {
                    Ok(cfg) => {
                        let combined = cfg.combination_problems();
                        for (k, msg) in cfg.problems() {
                            if k == key && !combined.iter().any(|(_, m)| *m == msg) {
                                c.at(Some("sweep"), key, label.clone(), msg);
                            }
                        }
                    }
                    Err(msg) => {
                        let hint = if key == "hidden" {
                            " (each value is a list of layer widths: hidden = [[16], [64], [32, 32]])"
                        } else {
                            ""
                        };
                        c.at(Some("sweep"), key, label.clone(), format!("{msg}{hint}"));
                    }
                }
            }
            let text = super::plan::format_value(v);
            if !seen.insert(text.clone()) {
                c.at(
                    Some("sweep"),
                    key,
                    label,
                    format!("duplicate value {text}: each value of an axis must be distinct"),
                );
            }
        }
        axes.push(Axis { key: key.clone(), values: values.clone() });
    }
    (design, axes)
}
