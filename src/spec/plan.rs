//! Stage two: a validated sweep → configurations and runs with stable ids and seeds.

use super::config::TrainConfig;
use super::problems::{InputError, Problem};
use super::sweep::{with_value, Design, SweepFile};
use sha2::{Digest, Sha256};
use toml::Value;

/// One point of the design: the baseline with some keys overridden.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `baseline`, or the overrides that differ from it: `batch_size=40,momentum=0.5`.
    pub id: String,
    /// The value of every axis for this configuration, in axis order (summary columns).
    pub axis_values: Vec<String>,
    pub train: TrainConfig,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRun {
    /// Position in the plan: configurations in design order, repeats within each.
    pub index: usize,
    pub config: usize,
    /// 1-based.
    pub repeat: usize,
    /// `<config id>/rep-<repeat>`: also the run's directory under `runs/`.
    pub id: String,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// How the configurations were built from the axes: what `importance.csv` can analyse.
    pub design: Design,
    pub axes: Vec<String>,
    pub configs: Vec<Config>,
    pub runs: Vec<PlannedRun>,
}

/// Values as they appear in ids and summary columns: integers and floats in their
/// shortest exact form (`0.001`, `1.0`), lists joined by `x` (`16x16`).
pub fn format_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Boolean(b) => b.to_string(),
        Value::Array(a) if a.is_empty() => "none".into(),
        Value::Array(a) => a.iter().map(format_value).collect::<Vec<_>>().join("x"),
        other => other.to_string(),
    }
}

/// Every `[train]` key of `config` with its value as [`format_value`] writes it: the
/// configuration in full, as `compare` matches it.
pub fn resolved_values(config: &TrainConfig) -> std::collections::BTreeMap<String, String> {
    match Value::try_from(config) {
        Ok(Value::Table(t)) => t.iter().map(|(k, v)| (k.clone(), format_value(v))).collect(),
        _ => unreachable!("TrainConfig serialises to a table"),
    }
}

/// The current value of `key` in `config`, as a TOML value.
fn value_of(config: &TrainConfig, key: &str) -> Value {
    match Value::try_from(config) {
        Ok(Value::Table(t)) => t.get(key).cloned().unwrap_or(Value::Boolean(false)),
        _ => unreachable!("TrainConfig serialises to a table"),
    }
}

/// Keeps ids usable as one path segment on every OS and never `..`.
fn safe_segment(s: &str) -> String {
    let cleaned: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || "._=,+-".contains(c) { c } else { '_' }).collect();
    let cleaned = match cleaned.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None => cleaned,
    };
    if cleaned.len() <= 150 {
        cleaned
    } else {
        // Long grids: keep a readable prefix and make it unique with a hash.
        let digest = hex(&Sha256::digest(s.as_bytes())[..6]);
        format!("{}~{digest}", &cleaned[..130])
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seed of one run from (sweep seed, configuration id, repeat): independent of the
/// plan's order, so adding values to an axis changes no existing seed.
pub fn derive_seed(sweep_seed: u64, config_id: &str, repeat: usize) -> u64 {
    let digest = Sha256::digest(format!("pinniped/seed/v1\0{sweep_seed}\0{config_id}\0{repeat}").as_bytes());
    // 63 bits: TOML integers are signed, and config.toml must hold the seed.
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) >> 1
}

/// Runs one sweep may plan (configurations × repeats): the plan, `plan.csv` and the
/// summary are held in memory and rewritten whole, so their size needs a bound.
pub const MAX_RUNS: usize = 100_000;

/// Refuses a design whose size passes [`MAX_RUNS`], counted from the axis lengths before
/// a single point is built.
fn check_plan_size(sweep: &SweepFile) -> Result<(), InputError> {
    let lengths = sweep.axes.iter().map(|a| a.values.len());
    let configs = match sweep.design {
        Design::Grid => lengths.map(Some).try_fold(1usize, |acc, n| acc.checked_mul(n?)),
        Design::OneAtATime => lengths.map(Some).try_fold(1usize, |acc, n| acc.checked_add(n?)),
    };
    let runs = configs.and_then(|c| c.checked_mul(sweep.repeats));
    if runs.is_some_and(|r| r <= MAX_RUNS) {
        return Ok(());
    }
    let show = |n: Option<usize>| n.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
    Err(InputError::one(
        &sweep.path,
        None,
        Some("sweep"),
        format!(
            "the {} design has {} configurations × {} repeats = {} runs, more than the limit of {MAX_RUNS} \
             runs per sweep; use fewer axis values or repeats, or split it into several sweeps",
            sweep.design.word(),
            show(configs),
            sweep.repeats,
            show(runs)
        ),
    ))
}

pub fn expand(sweep: &SweepFile) -> Result<Plan, InputError> {
    check_plan_size(sweep)?;
    let base = &sweep.baseline;
    // Each configuration as the list of (key, value) overrides that differ from the baseline.
    let mut points: Vec<Vec<(String, Value)>> = Vec::new();
    match sweep.design {
        Design::OneAtATime => {
            points.push(Vec::new());
            for axis in &sweep.axes {
                for v in &axis.values {
                    points.push(vec![(axis.key.clone(), v.clone())]);
                }
            }
        }
        Design::Grid => {
            points.push(Vec::new());
            for axis in &sweep.axes {
                points = points
                    .iter()
                    .flat_map(|p| {
                        axis.values.iter().map(move |v| {
                            let mut q = p.clone();
                            q.push((axis.key.clone(), v.clone()));
                            q
                        })
                    })
                    .collect();
            }
        }
    }

    let mut configs: Vec<Config> = Vec::new();
    // id → index into `configs`: a linear search would make large grids quadratic.
    let mut by_id: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut problems = Vec::new();
    for overrides in points {
        let mut train = base.clone();
        let mut parts = Vec::new();
        for (key, value) in &overrides {
            train = with_value(&train, key, value)
                .map_err(|m| InputError::one(&sweep.path, None, Some(&format!("sweep.{key}")), m))?;
            let now = value_of(&train, key);
            if value_of(base, key) != now {
                parts.push(format!("{key}={}", format_value(&now)));
            }
        }
        let id = if parts.is_empty() { "baseline".to_string() } else { safe_segment(&parts.join(",")) };
        // The baseline (or any point equal to an earlier one) is counted once.
        if let Some(&existing) = by_id.get(&id) {
            if configs[existing].train != train {
                problems.push(Problem {
                    file: sweep.path.clone(),
                    line: None,
                    key: None,
                    message: format!("two configurations map to the run id `{id}`; make the axis values distinct"),
                });
            }
            continue;
        }
        let name = if parts.is_empty() { "baseline".to_string() } else { parts.join(",") };
        let combination = train.combination_problems();
        for (key, msg) in &combination {
            problems.push(Problem {
                file: sweep.path.clone(),
                line: None,
                key: Some(format!("configuration {name}: train.{key}")),
                message: msg.clone(),
            });
        }
        // An axis value this configuration ignores would train a copy of another configuration.
        for (key, why) in train.ignored_keys(&sweep.data) {
            let Some(part) = parts.iter().position(|p| p.split_once('=').is_some_and(|(k, _)| k == key)) else {
                continue;
            };
            if combination.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let others: Vec<&str> =
                parts.iter().enumerate().filter(|(i, _)| *i != part).map(|(_, p)| p.as_str()).collect();
            let twin = if others.is_empty() { "baseline".to_string() } else { others.join(",") };
            problems.push(Problem {
                file: sweep.path.clone(),
                line: None,
                key: Some(format!("configuration {name}: sweep.{key}")),
                message: format!(
                    "has no effect here: {why}. This configuration would train the same model as `{twin}`: \
                     drop the value, or sweep `{key}` only where it matters"
                ),
            });
        }
        if let Some(key) = train.needs_validation().filter(|_| !sweep.data.has_validation()) {
            problems.push(Problem {
                file: sweep.path.clone(),
                line: None,
                key: Some(format!("train.{key}")),
                message: "needs a validation set: add reserve_every or reserve_fraction to [data]".into(),
            });
        }
        let axis_values = sweep.axes.iter().map(|a| format_value(&value_of(&train, &a.key))).collect();
        by_id.insert(id.clone(), configs.len());
        configs.push(Config { id, axis_values, train });
    }
    if !problems.is_empty() {
        return Err(InputError(problems));
    }

    let mut runs = Vec::new();
    for (ci, config) in configs.iter().enumerate() {
        for repeat in 1..=sweep.repeats {
            runs.push(PlannedRun {
                index: runs.len(),
                config: ci,
                repeat,
                id: format!("{}/rep-{repeat}", config.id),
                seed: derive_seed(sweep.seed, &config.id, repeat),
            });
        }
    }
    Ok(Plan { design: sweep.design, axes: sweep.axes.iter().map(|a| a.key.clone()).collect(), configs, runs })
}
