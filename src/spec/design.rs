//! The design of a sweep: which configurations its `[sweep]` table asks for, and the points
//! (overrides of the baseline) they are made of, before `plan` turns them into runs.
//!
//! - `grid` / `one-at-a-time`: lists of values per key (axes); `zip = [["a", "b"]]` makes axes
//!   of equal length vary together (value i of each), as one axis.
//! - `random` / `sobol` / `lhs`: `samples = N` points, a distribution per key. Point i is a pure
//!   function of (sweep seed, block, i): random draws each key's unit number from a SHA-256 of
//!   (seed, block, i, key); sobol takes the unscrambled Sobol' sequence ([`crate::stats::sobol`],
//!   as SciPy's `scramble=False`) from index 1 on (skipping the origin), the keys in file order
//!   being its dimensions, so it does not depend on the seed; lhs (a Latin hypercube: each key's
//!   N strata hold one point each) draws a permutation and jitter per key from (seed, block, key,
//!   N), so its points depend on N and an lhs sweep cannot be extended. Raising `samples` of
//!   random or sobol keeps every earlier point (so every id and seed).
//! - `list`: explicit `[[sweep.point]]` tables.
//! - `[[sweep.block]]`: sub-designs, each with its own `design` and keys, concatenated (how
//!   conditional parameters are written); duplicate configurations run once (`plan` keeps the
//!   first).
//!
//! Drawn numbers are rounded to 6 significant digits (so a run id and its `config.toml` show the
//! value trained), integers are drawn as integers and choices as the listed values.

use super::config::{format_value, limits::MAX_RUNS, TrainConfig};
use super::problems::{locate, suggest, Collector, Problem};
use crate::stats::sobol;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::{Table, Value};

/// `[[sweep.block]]` tables one sweep may have.
pub(crate) const MAX_BLOCKS: usize = 1000;
/// Keys one Sobol' design may draw (the direction numbers' dimensions).
pub(crate) const MAX_SOBOL_KEYS: usize = sobol::MAX_DIMS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Design {
    #[serde(rename = "grid")]
    Grid,
    #[serde(rename = "one-at-a-time")]
    OneAtATime,
    #[serde(rename = "random")]
    Random,
    #[serde(rename = "sobol")]
    Sobol,
    #[serde(rename = "lhs")]
    Lhs,
    #[serde(rename = "list")]
    List,
    /// `[[sweep.block]]` sub-designs concatenated.
    #[serde(rename = "blocks")]
    Blocks,
}

impl Design {
    /// What `design = "..."` may say (blocks are named by their `[[sweep.block]]` tables).
    pub(crate) const WORDS: [&'static str; 6] = ["grid", "one-at-a-time", "random", "sobol", "lhs", "list"];

    pub fn word(self) -> &'static str {
        match self {
            Design::Grid => "grid",
            Design::OneAtATime => "one-at-a-time",
            Design::Random => "random",
            Design::Sobol => "sobol",
            Design::Lhs => "lhs",
            Design::List => "list",
            Design::Blocks => "blocks",
        }
    }

    fn from_word(word: &str) -> Option<Design> {
        [Design::Grid, Design::OneAtATime, Design::Random, Design::Sobol, Design::Lhs, Design::List]
            .into_iter()
            .find(|d| d.word() == word)
    }

    fn is_sampled(self) -> bool {
        matches!(self, Design::Random | Design::Sobol | Design::Lhs)
    }
}

/// One swept `[train]` key and its values, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<Value>,
}

/// A distribution of a sampled design's key (bounds inclusive).
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Uniform(f64, f64),
    LogUniform(f64, f64),
    IntUniform(i64, i64),
    IntLogUniform(i64, i64),
    Choice(Vec<Value>),
}

const DIST_WORDS: [&str; 5] = ["uniform", "log_uniform", "int_uniform", "int_log_uniform", "choice"];

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub key: String,
    pub dist: Dist,
}

/// What one design (the `[sweep]` table, or one block) holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// grid / one-at-a-time: the axes, and the groups of axes zipped together.
    Axes { axes: Vec<Axis>, zip: Vec<Vec<String>> },
    /// random / sobol / lhs.
    Sampled { samples: usize, params: Vec<Param> },
    /// list: each point's overrides, in file order.
    List { points: Vec<Vec<(String, Value)>> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub design: Design,
    pub body: Body,
    /// `None` for the `[sweep]` table itself, else the block's 0-based index: part of the
    /// random and lhs streams, and of the points' labels.
    pub block: Option<usize>,
}

/// The whole design of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    pub design: Design,
    pub blocks: Vec<Block>,
    /// The `[sweep]` table as written, for the designs that `sweep.toml` stores verbatim (all but
    /// a grid or one-at-a-time design without `zip`, which are stored as before).
    pub(crate) stated: Option<Table>,
}

/// One point of the design: the overrides of the baseline, and where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// "point 3 of the sobol design", "block 2, point 1": for messages.
    pub label: String,
    pub(crate) overrides: Vec<(String, Value)>,
}

/// `with_value` of `sweep`: a `[train]` key set to a value, or why it does not fit the key.
pub(crate) type Apply<'a> = &'a dyn Fn(&TrainConfig, &str, &Value) -> Result<TrainConfig, String>;

/// Where a design's table is in the file: the labels and lines of its problems.
#[derive(Clone, Copy)]
enum Place {
    Sweep,
    Block(usize),
}

impl Place {
    fn label(self, key: &str) -> String {
        match self {
            Place::Sweep => format!("sweep.{key}"),
            Place::Block(b) => format!("sweep.block[{b}].{key}"),
        }
    }
}

/// Records a problem at `key` of the design's table.
fn problem(c: &mut Collector, place: Place, key: &str, label: String, message: impl Into<String>) {
    let line = match place {
        Place::Sweep => locate(c.source, Some("sweep"), key),
        Place::Block(b) => locate_in_array_table(c.source, "sweep.block", b, key),
    };
    c.problems.push(Problem { file: c.file.to_path_buf(), line, key: Some(label), message: message.into() });
}

/// 1-based line of `key = ` inside the `n`-th `[[header]]` table (0-based), or of that header
/// when `key` is empty. Inline tables have no line of their own: `None`.
fn locate_in_array_table(source: &str, header: &str, n: usize, key: &str) -> Option<usize> {
    let mut seen: Option<usize> = None;
    let mut inside = false;
    for (i, raw) in source.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            let name = line.trim_start_matches('[').split(']').next().unwrap_or("").trim();
            inside = line.starts_with("[[") && name == header;
            if inside {
                seen = Some(seen.map_or(0, |s| s + 1));
                if key.is_empty() && seen == Some(n) {
                    return Some(i + 1);
                }
            }
            continue;
        }
        if inside && seen == Some(n) && !key.is_empty() {
            if let Some(rest) = line.strip_prefix(key) {
                if rest.trim_start().starts_with('=') {
                    return Some(i + 1);
                }
            }
        }
    }
    None
}

/// The problems of `key = value` on `base`: the key's own (not those of its combination with
/// other keys, which `plan` reports per configuration).
fn value_problems(base: &TrainConfig, key: &str, value: &Value, apply: Apply) -> Vec<String> {
    match apply(base, key, value) {
        Ok(cfg) => {
            let combined = cfg.combination_problems();
            cfg.problems()
                .into_iter()
                .filter(|(k, msg)| *k == key && !combined.iter().any(|(_, m)| m == msg))
                .map(|(_, msg)| msg)
                .collect()
        }
        Err(msg) => {
            let hint = if key == "hidden" {
                " (each value is a list of layer widths: hidden = [[16], [64], [32, 32]])"
            } else if key == "filters" || key == "kernels" {
                " (each value is a list, one entry per block: filters = [[64, 128, 128], [32]])"
            } else {
                ""
            };
            vec![format!("{msg}{hint}")]
        }
    }
}

/// Parses the `[sweep]` table.
pub(crate) fn parse_space(c: &mut Collector, t: &Table, baseline: Option<&TrainConfig>, apply: Apply) -> Space {
    let Some(blocks) = t.get("block") else {
        let block = parse_block(c, t, Place::Sweep, baseline, apply);
        let legacy = matches!(&block.body, Body::Axes { zip, .. } if zip.is_empty());
        return Space { design: block.design, blocks: vec![block], stated: (!legacy).then(|| t.clone()) };
    };
    for key in t.keys().filter(|k| *k != "block") {
        if key == "design" && t.get(key).and_then(Value::as_str) == Some("blocks") {
            continue;
        }
        problem(
            c,
            Place::Sweep,
            key,
            format!("sweep.{key}"),
            "with [[sweep.block]] tables every key belongs in a block (each has its own design): move it \
             into one",
        );
    }
    let tables: Vec<&Table> = match blocks {
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_table) => {
            items.iter().filter_map(Value::as_table).collect()
        }
        _ => {
            problem(
                c,
                Place::Sweep,
                "block",
                "sweep.block".into(),
                "must be one or more [[sweep.block]] tables, each a design with its own keys",
            );
            Vec::new()
        }
    };
    if tables.len() > MAX_BLOCKS {
        problem(
            c,
            Place::Sweep,
            "block",
            "sweep.block".into(),
            format!("has {} blocks, more than the limit of {MAX_BLOCKS}", tables.len()),
        );
        return Space { design: Design::Blocks, blocks: Vec::new(), stated: Some(t.clone()) };
    }
    let blocks =
        tables.iter().enumerate().map(|(b, bt)| parse_block(c, bt, Place::Block(b), baseline, apply)).collect();
    Space { design: Design::Blocks, blocks, stated: Some(t.clone()) }
}

fn parse_block(c: &mut Collector, t: &Table, place: Place, baseline: Option<&TrainConfig>, apply: Apply) -> Block {
    let block = match place {
        Place::Sweep => None,
        Place::Block(b) => Some(b),
    };
    let design = match t.get("design") {
        None => Design::Grid,
        Some(Value::String(s)) if Design::from_word(s).is_some() => Design::from_word(s).expect("checked"),
        Some(v) => {
            let hint = v.as_str().map(|s| suggest(s, &Design::WORDS)).filter(|h| h.contains("did you mean"));
            problem(
                c,
                place,
                "design",
                place.label("design"),
                format!(
                    "must be \"grid\" (Cartesian product), \"one-at-a-time\" (baseline plus each axis varied \
                     alone), \"random\", \"sobol\" or \"lhs\" (`samples` points drawn from a distribution per \
                     key) or \"list\" ([[sweep.point]] tables){}",
                    hint.unwrap_or_default()
                ),
            );
            Design::Grid
        }
    };
    let keys = TrainConfig::keys();
    let known: Vec<&str> = keys.iter().map(String::as_str).filter(|k| *k != "seed").collect();
    let mut all_known = known.clone();
    all_known.extend(["design", "samples", "zip", "point"]);
    let mut train_keys: Vec<(&String, &Value)> = Vec::new();
    for (key, value) in t {
        match key.as_str() {
            "design" => {}
            "samples" if !design.is_sampled() => problem(
                c,
                place,
                key,
                place.label(key),
                format!("is the number of points of a random, sobol or lhs design, not of a {} design", design.word()),
            ),
            "zip" if !matches!(design, Design::Grid | Design::OneAtATime) => problem(
                c,
                place,
                key,
                place.label(key),
                format!("zips axes of a grid or one-at-a-time design, not of a {} design", design.word()),
            ),
            "point" if design != Design::List => problem(
                c,
                place,
                key,
                place.label(key),
                format!("[[sweep.point]] tables make a design = \"list\", not a {} design", design.word()),
            ),
            "samples" | "zip" | "point" => {}
            "block" => problem(
                c,
                place,
                key,
                place.label(key),
                "blocks do not nest: give each sub-design its own [[sweep.block]] at the top",
            ),
            "seed" => problem(
                c,
                place,
                key,
                place.label(key),
                "seeds cannot be swept: use `repeats` for more seeds per configuration",
            ),
            _ if !known.contains(&key.as_str()) => {
                problem(c, place, key, place.label(key), format!("unknown key{}", suggest(key, &all_known)))
            }
            _ => train_keys.push((key, value)),
        }
    }
    let body = match design {
        Design::Grid | Design::OneAtATime | Design::Blocks => {
            let zip = parse_zip(c, t, place, &train_keys);
            let zipped: Vec<&str> = zip.iter().flatten().map(String::as_str).collect();
            let axes = parse_axes(c, place, &train_keys, baseline, apply, &zipped);
            check_zip_lengths(c, place, &zip, &axes);
            Body::Axes { axes, zip }
        }
        Design::Random | Design::Sobol | Design::Lhs => {
            let samples = match t.get("samples") {
                Some(Value::Integer(n)) if *n >= 1 && *n as u128 <= MAX_RUNS as u128 => *n as usize,
                Some(_) => {
                    problem(
                        c,
                        place,
                        "samples",
                        place.label("samples"),
                        format!("must be a whole number of points from 1 to {MAX_RUNS}"),
                    );
                    1
                }
                None => {
                    problem(
                        c,
                        place,
                        "design",
                        place.label("samples"),
                        format!("a {} design needs `samples = N` (how many points to draw)", design.word()),
                    );
                    1
                }
            };
            let params: Vec<Param> = train_keys
                .iter()
                .filter_map(|(key, value)| parse_dist(c, place, design, key, value, baseline, apply))
                .collect();
            if train_keys.is_empty() {
                problem(
                    c,
                    place,
                    "design",
                    place.label("design"),
                    format!(
                        "a {} design draws keys from distributions: add one, e.g. learning_rate = \
                         {{ log_uniform = [1e-4, 1e-1] }}",
                        design.word()
                    ),
                );
            }
            if design == Design::Sobol && train_keys.len() > MAX_SOBOL_KEYS {
                problem(
                    c,
                    place,
                    "design",
                    place.label("design"),
                    format!(
                        "draws {} keys, more than the {MAX_SOBOL_KEYS} dimensions of pinniped's Sobol' direction \
                         numbers: use design = \"random\" or \"lhs\"",
                        train_keys.len()
                    ),
                );
            }
            Body::Sampled { samples, params }
        }
        Design::List => {
            for (key, _) in &train_keys {
                problem(
                    c,
                    place,
                    key,
                    place.label(key),
                    "a list design gives its values in [[sweep.point]] tables: move this key into them (or into \
                     [train] for every point)",
                );
            }
            Body::List { points: parse_points(c, t, place, baseline, apply) }
        }
    };
    Block { design, body, block }
}

/// `zip = [["loss", "learning_rate"], …]`: groups of two or more axes of this table, each axis
/// in one group at most.
fn parse_zip(c: &mut Collector, t: &Table, place: Place, train_keys: &[(&String, &Value)]) -> Vec<Vec<String>> {
    let Some(value) = t.get("zip") else { return Vec::new() };
    let groups: Option<Vec<Vec<String>>> = value.as_array().and_then(|groups| {
        groups
            .iter()
            .map(|g| g.as_array()?.iter().map(|k| k.as_str().map(str::to_owned)).collect::<Option<Vec<String>>>())
            .collect()
    });
    let Some(groups) = groups.filter(|g| !g.is_empty()) else {
        problem(
            c,
            place,
            "zip",
            place.label("zip"),
            "must be a list of lists of axis names, e.g. zip = [[\"loss\", \"learning_rate\"]]",
        );
        return Vec::new();
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut ok = true;
    for group in &groups {
        if group.len() < 2 {
            problem(
                c,
                place,
                "zip",
                place.label("zip"),
                "each group zips two or more axes, e.g. [\"loss\", \"learning_rate\"]",
            );
            ok = false;
        }
        for key in group {
            if !train_keys.iter().any(|(k, _)| *k == key) {
                let axes: Vec<&str> = train_keys.iter().map(|(k, _)| k.as_str()).collect();
                problem(
                    c,
                    place,
                    "zip",
                    place.label("zip"),
                    format!(
                        "names `{}`, which is not an axis of this design{}",
                        super::problems::echo(key),
                        suggest(key, &axes)
                    ),
                );
                ok = false;
            } else if seen.contains(&key.as_str()) {
                problem(
                    c,
                    place,
                    "zip",
                    place.label("zip"),
                    format!("names `{key}` twice: an axis is in one group at most"),
                );
                ok = false;
            }
            seen.push(key);
        }
    }
    if ok {
        groups
    } else {
        Vec::new()
    }
}

/// The axes zipped together must have one value each per point: equal lengths, and distinct
/// tuples (their values alone may repeat).
fn check_zip_lengths(c: &mut Collector, place: Place, zip: &[Vec<String>], axes: &[Axis]) {
    for group in zip {
        let members: Vec<&Axis> = group.iter().filter_map(|k| axes.iter().find(|a| &a.key == k)).collect();
        if members.len() != group.len() {
            continue; // an axis of the group was refused already
        }
        let lengths: Vec<usize> = members.iter().map(|a| a.values.len()).collect();
        if lengths.iter().any(|&n| n != lengths[0]) {
            let each: Vec<String> = members.iter().map(|a| format!("{} has {}", a.key, a.values.len())).collect();
            problem(
                c,
                place,
                "zip",
                place.label("zip"),
                format!("zipped axes need equal lengths (value i of each goes together): {}", each.join(", ")),
            );
            continue;
        }
        let mut seen = std::collections::HashSet::new();
        for i in 0..lengths[0] {
            let tuple: Vec<String> = members.iter().map(|a| format_value(&a.values[i])).collect();
            if !seen.insert(tuple.clone()) {
                problem(
                    c,
                    place,
                    "zip",
                    place.label("zip"),
                    format!("duplicate zipped values ({}) at position {i}: each must be distinct", tuple.join(", ")),
                );
            }
        }
    }
}

/// The axes of a grid or one-at-a-time design (`zipped` axes may repeat values).
fn parse_axes(
    c: &mut Collector,
    place: Place,
    train_keys: &[(&String, &Value)],
    baseline: Option<&TrainConfig>,
    apply: Apply,
    zipped: &[&str],
) -> Vec<Axis> {
    let mut axes = Vec::new();
    for (key, value) in train_keys {
        let label = place.label(key);
        let Value::Array(values) = value else {
            let hint = if value.is_table() {
                " (distributions are for design = \"random\", \"sobol\" or \"lhs\")"
            } else {
                "; a single value belongs in [train]"
            };
            problem(c, place, key, label, format!("an axis is a list of values, e.g. {key} = [{value}, …]{hint}"));
            continue;
        };
        if values.is_empty() {
            problem(c, place, key, label, "empty axis: give at least one value, or remove the key");
            continue;
        }
        if values.len() > MAX_RUNS {
            problem(
                c,
                place,
                key,
                label,
                format!("has {} values, more than the {} runs a sweep may plan", values.len(), MAX_RUNS),
            );
            continue;
        }
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (i, v) in values.iter().enumerate() {
            let label = format!("{label}[{i}]");
            if let Some(base) = baseline {
                for msg in value_problems(base, key, v, apply) {
                    problem(c, place, key, label.clone(), msg);
                }
            }
            let text = format_value(v);
            if !seen.insert(text.clone()) && !zipped.contains(&key.as_str()) {
                problem(
                    c,
                    place,
                    key,
                    label,
                    format!("duplicate value {text}: each value of an axis must be distinct"),
                );
            }
        }
        axes.push(Axis { key: (*key).clone(), values: values.clone() });
    }
    axes
}

/// Two numbers `[lo, hi]` (whole numbers when `whole`).
fn bounds(value: &Value, whole: bool) -> Option<(Value, Value)> {
    let items = value.as_array().filter(|a| a.len() == 2)?;
    let ok = |v: &Value| match v {
        Value::Integer(_) => true,
        Value::Float(f) => !whole && f.is_finite(),
        _ => false,
    };
    (ok(&items[0]) && ok(&items[1])).then(|| (items[0].clone(), items[1].clone()))
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

fn parse_dist(
    c: &mut Collector,
    place: Place,
    design: Design,
    key: &str,
    value: &Value,
    baseline: Option<&TrainConfig>,
    apply: Apply,
) -> Option<Param> {
    let label = place.label(key);
    let example = "{ log_uniform = [1e-4, 1e-1] }, { uniform = [a, b] }, { int_uniform = [a, b] }, \
                   { int_log_uniform = [a, b] } or { choice = [v1, v2, …] }";
    let Some((word, args)) = value.as_table().filter(|t| t.len() == 1).and_then(|t| t.iter().next()) else {
        let hint = if value.is_array() {
            format!(" (a list of values is {key} = {{ choice = {value} }})")
        } else {
            String::new()
        };
        problem(
            c,
            place,
            key,
            label,
            format!("in a {} design each key is one distribution: {example}{hint}", design.word()),
        );
        return None;
    };
    let before = c.problems.len();
    let fail = |c: &mut Collector, msg: String| problem(c, place, key, format!("{label}.{word}"), msg);
    let dist = match word.as_str() {
        "uniform" | "log_uniform" => {
            let Some((lo, hi)) = bounds(args, false) else {
                fail(c, format!("must be two numbers [lo, hi], e.g. {word} = [0.0001, 0.1]"));
                return None;
            };
            let (lo, hi) = (as_f64(&lo), as_f64(&hi));
            if lo > hi {
                fail(c, format!("lo > hi ({lo} > {hi}): write [lo, hi] with lo ≤ hi"));
            } else if word == "log_uniform" && lo <= 0.0 {
                fail(c, format!("needs bounds > 0 (the log of {lo} is undefined): use uniform, or a lower bound > 0"));
            }
            if word == "uniform" {
                Dist::Uniform(lo, hi)
            } else {
                Dist::LogUniform(lo, hi)
            }
        }
        "int_uniform" | "int_log_uniform" => {
            let Some((Value::Integer(lo), Value::Integer(hi))) = bounds(args, true) else {
                fail(c, format!("must be two whole numbers [lo, hi], e.g. {word} = [16, 256]"));
                return None;
            };
            if lo > hi {
                fail(c, format!("lo > hi ({lo} > {hi}): write [lo, hi] with lo ≤ hi"));
            } else if word == "int_log_uniform" && lo < 1 {
                fail(
                    c,
                    format!("needs bounds ≥ 1 (the log of {lo} is undefined): use int_uniform, or a lower bound ≥ 1"),
                );
            }
            if word == "int_uniform" {
                Dist::IntUniform(lo, hi)
            } else {
                Dist::IntLogUniform(lo, hi)
            }
        }
        "choice" => {
            let Some(items) = args.as_array().filter(|a| !a.is_empty() && a.len() <= MAX_RUNS) else {
                fail(c, format!("must be a list of 1 to {MAX_RUNS} values, e.g. choice = [16, 64, 256]"));
                return None;
            };
            let mut seen = std::collections::HashSet::new();
            for v in items {
                if !seen.insert(format_value(v)) {
                    fail(c, format!("duplicate value {}: each choice must be distinct", format_value(v)));
                }
            }
            Dist::Choice(items.clone())
        }
        other => {
            fail(
                c,
                format!(
                    "unknown distribution `{}`{}: use {example}",
                    super::problems::echo(other),
                    suggest(other, &DIST_WORDS)
                ),
            );
            return None;
        }
    };
    if c.problems.len() > before {
        return None;
    }
    // The bounds (or every choice) are values of the key like any other: a bound that the key
    // refuses would draw points it refuses. The keys' ranges are intervals, so valid bounds make
    // every draw between them valid.
    if let Some(base) = baseline {
        let values: Vec<Value> = match &dist {
            Dist::Uniform(lo, hi) | Dist::LogUniform(lo, hi) => vec![Value::Float(*lo), Value::Float(*hi)],
            Dist::IntUniform(lo, hi) | Dist::IntLogUniform(lo, hi) => vec![Value::Integer(*lo), Value::Integer(*hi)],
            Dist::Choice(items) => items.clone(),
        };
        for v in &values {
            for msg in value_problems(base, key, v, apply) {
                let whole = matches!(&dist, Dist::Uniform(..) | Dist::LogUniform(..))
                    && apply(base, key, &Value::Integer(as_f64(v) as i64)).is_ok();
                let hint =
                    if whole { " (this key takes whole numbers: use int_uniform or int_log_uniform)" } else { "" };
                fail(c, format!("{}: {msg}{hint}", format_value(v)));
            }
        }
    }
    (c.problems.len() == before).then(|| Param { key: key.to_string(), dist })
}

/// `[[sweep.point]]`: each a table of `[train]` keys.
fn parse_points(
    c: &mut Collector,
    t: &Table,
    place: Place,
    baseline: Option<&TrainConfig>,
    apply: Apply,
) -> Vec<Vec<(String, Value)>> {
    let tables: Vec<&Table> = match t.get("point") {
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_table) => {
            items.iter().filter_map(Value::as_table).collect()
        }
        _ => {
            problem(
                c,
                place,
                "design",
                place.label("point"),
                "a list design needs one or more [[sweep.point]] tables, each with the [train] keys of one \
                 configuration, e.g. [[sweep.point]] learning_rate = 0.01",
            );
            return Vec::new();
        }
    };
    if tables.len() > MAX_RUNS {
        problem(
            c,
            place,
            "point",
            place.label("point"),
            format!("has {} points, more than the limit of {MAX_RUNS}", tables.len()),
        );
        return Vec::new();
    }
    let keys = TrainConfig::keys();
    let known: Vec<&str> = keys.iter().map(String::as_str).filter(|k| *k != "seed").collect();
    let mut points = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let mut point = Vec::new();
        for (key, value) in *table {
            let label = place.label(&format!("point[{i}].{key}"));
            // The line of a top-level point's key; a block's points are numbered within the block.
            let line = match place {
                Place::Sweep => locate_in_array_table(c.source, "sweep.point", i, key),
                Place::Block(_) => None,
            };
            let mut at = |message: String| {
                c.problems.push(Problem { file: c.file.to_path_buf(), line, key: Some(label.clone()), message })
            };
            if !known.contains(&key.as_str()) {
                at(format!("unknown key{}", suggest(key, &known)));
                continue;
            }
            if let Some(base) = baseline {
                for msg in value_problems(base, key, value, apply) {
                    at(msg);
                }
            }
            point.push((key.clone(), value.clone()));
        }
        points.push(point);
    }
    points
}

impl Block {
    /// The configurations this design asks for (before duplicates are merged); `None` past
    /// `usize`.
    fn size(&self) -> Option<usize> {
        match &self.body {
            Body::Axes { .. } => {
                let lengths = self.factors().into_iter().map(|f| f.len());
                match self.design {
                    Design::OneAtATime => lengths.map(Some).try_fold(1usize, |acc, n| acc.checked_add(n?)),
                    _ => lengths.map(Some).try_fold(1usize, |acc, n| acc.checked_mul(n?)),
                }
            }
            Body::Sampled { samples, .. } => Some(*samples),
            Body::List { points } => Some(points.len()),
        }
    }

    /// Grid and one-at-a-time: the factors in axis order, a zip group at the place of its first
    /// axis, each factor the list of its values (one (key, value) per member axis).
    fn factors(&self) -> Vec<Vec<Vec<(String, Value)>>> {
        let Body::Axes { axes, zip } = &self.body else { return Vec::new() };
        let mut done: Vec<&str> = Vec::new();
        let mut factors = Vec::new();
        for axis in axes {
            if done.contains(&axis.key.as_str()) {
                continue;
            }
            let group: Vec<&Axis> = match zip.iter().find(|g| g.contains(&axis.key)) {
                // Members in axis (file) order, so ids read as the file does.
                Some(g) => axes.iter().filter(|a| g.contains(&a.key)).collect(),
                None => vec![axis],
            };
            done.extend(group.iter().map(|a| a.key.as_str()));
            let n = group[0].values.len();
            // Lengths are checked at parsing; the shortest bounds a file that failed it.
            let n = group.iter().map(|a| a.values.len()).min().unwrap_or(n);
            factors
                .push((0..n).map(|i| group.iter().map(|a| (a.key.clone(), a.values[i].clone())).collect()).collect());
        }
        factors
    }

    fn label(&self, i: usize) -> String {
        match self.block {
            None => format!("point {} of the {} design", i + 1, self.design.word()),
            Some(b) => format!("block {}, point {}", b + 1, i + 1),
        }
    }

    fn points(&self, seed: u64) -> Vec<Point> {
        let overrides: Vec<Vec<(String, Value)>> = match &self.body {
            Body::Axes { .. } => {
                let factors = self.factors();
                let mut points: Vec<Vec<(String, Value)>> = vec![Vec::new()];
                match self.design {
                    Design::OneAtATime => {
                        for factor in &factors {
                            points.extend(factor.iter().cloned());
                        }
                    }
                    _ => {
                        for factor in &factors {
                            points = points
                                .iter()
                                .flat_map(|p| {
                                    factor.iter().map(move |values| {
                                        let mut q = p.clone();
                                        q.extend(values.iter().cloned());
                                        q
                                    })
                                })
                                .collect();
                        }
                    }
                }
                points
            }
            Body::Sampled { samples, params } => {
                let units = unit_points(self.design, *samples, params, seed, self.block);
                units
                    .iter()
                    .map(|u| params.iter().zip(u).map(|(p, &u)| (p.key.clone(), draw(&p.dist, u))).collect())
                    .collect()
            }
            Body::List { points } => points.clone(),
        };
        overrides.into_iter().enumerate().map(|(i, overrides)| Point { label: self.label(i), overrides }).collect()
    }
}

/// The name of a block's streams: the `[sweep]` table's, or block b's.
fn stream_name(block: Option<usize>) -> String {
    match block {
        None => "sweep".into(),
        Some(b) => format!("block-{b}"),
    }
}

/// A number in [0, 1) from the SHA-256 of `text` (53 bits).
fn hashed_unit(text: &str) -> f64 {
    let digest = Sha256::digest(text.as_bytes());
    let bits = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

fn hashed_seed(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The design's points in [0, 1)^keys, one row per point, one column per key (file order).
pub(crate) fn unit_points(
    design: Design,
    samples: usize,
    params: &[Param],
    seed: u64,
    block: Option<usize>,
) -> Vec<Vec<f64>> {
    let stream = stream_name(block);
    match design {
        Design::Sobol => {
            let sequence = sobol::Sequence::new(params.len());
            (1..=samples as u64).map(|i| sequence.point(i)).collect()
        }
        Design::Lhs => {
            // Per key: stratum π(i) of N for point i, jittered uniformly inside it.
            let columns: Vec<Vec<f64>> = params
                .iter()
                .map(|p| {
                    let key_seed = hashed_seed(&format!("pinniped/lhs/v1\0{seed}\0{stream}\0{}\0{samples}", p.key));
                    let mut rng = crate::stats::stream_rng(key_seed, 0);
                    let mut strata: Vec<usize> = (0..samples).collect();
                    strata.shuffle(&mut rng);
                    strata.iter().map(|&s| (s as f64 + rng.random::<f64>()) / samples as f64).collect()
                })
                .collect();
            (0..samples).map(|i| columns.iter().map(|col| col[i]).collect()).collect()
        }
        _ => (0..samples)
            .map(|i| {
                params
                    .iter()
                    .map(|p| hashed_unit(&format!("pinniped/random/v1\0{seed}\0{stream}\0{i}\0{}", p.key)))
                    .collect()
            })
            .collect(),
    }
}

/// `x` at 6 significant digits, inside [lo, hi].
fn rounded(x: f64, lo: f64, hi: f64) -> f64 {
    let r: f64 = format!("{x:.5e}").parse().unwrap_or(x);
    r.clamp(lo, hi)
}

/// The value of `dist` at the unit number `u` ∈ [0, 1) (its quantile).
pub fn draw(dist: &Dist, u: f64) -> Value {
    match dist {
        Dist::Uniform(lo, hi) => Value::Float(rounded(lo + u * (hi - lo), *lo, *hi)),
        Dist::LogUniform(lo, hi) => Value::Float(rounded((lo.ln() + u * (hi.ln() - lo.ln())).exp(), *lo, *hi)),
        Dist::IntUniform(lo, hi) => {
            let span = (*hi as f64) - (*lo as f64) + 1.0;
            Value::Integer((*lo as f64 + (u * span).floor()).clamp(*lo as f64, *hi as f64) as i64)
        }
        Dist::IntLogUniform(lo, hi) => {
            // Log-uniform over [lo, hi + 1), floored: each integer k gets the mass of [k, k + 1).
            let (a, b) = ((*lo as f64).ln(), (*hi as f64 + 1.0).ln());
            Value::Integer((a + u * (b - a)).exp().floor().clamp(*lo as f64, *hi as f64) as i64)
        }
        Dist::Choice(items) => items[((u * items.len() as f64) as usize).min(items.len() - 1)].clone(),
    }
}

impl Space {
    /// The keys the design varies, in order of first appearance: the summary's columns.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        let mut add = |k: &String| {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        };
        for block in &self.blocks {
            match &block.body {
                Body::Axes { axes, .. } => axes.iter().for_each(|a| add(&a.key)),
                Body::Sampled { params, .. } => params.iter().for_each(|p| add(&p.key)),
                Body::List { points } => points.iter().flatten().for_each(|(k, _)| add(k)),
            }
        }
        keys
    }

    /// The configurations the design asks for (duplicates included); `None` past `usize`.
    pub fn size(&self) -> Option<usize> {
        self.blocks.iter().map(Block::size).try_fold(0usize, |acc, n| acc.checked_add(n?))
    }

    /// Every point, blocks in order.
    pub fn points(&self, seed: u64) -> Vec<Point> {
        self.blocks.iter().flat_map(|b| b.points(seed)).collect()
    }

    /// Why results made with the design `old` cannot be resumed with this one, if they cannot:
    /// a Latin hypercube drawn for another `samples` (its strata, so every point, depend on it).
    pub(crate) fn extension_problem(&self, old: &Space) -> Option<String> {
        for (i, (new, old)) in self.blocks.iter().zip(&old.blocks).enumerate() {
            let (Body::Sampled { samples: n, .. }, Body::Sampled { samples: was, .. }) = (&new.body, &old.body) else {
                continue;
            };
            if new.design == Design::Lhs && old.design == Design::Lhs && n != was {
                let which = if self.design == Design::Blocks {
                    format!("block {}'s lhs design", i + 1)
                } else {
                    "the lhs design".into()
                };
                return Some(format!(
                    "{which} was drawn with samples = {was}, not {n}: a Latin hypercube's strata depend on samples \
                     (each key's {was} strata hold one point each), so another count redraws every point and \
                     leaves the runs made so far outside the design. Keep samples = {was}, or start a new results \
                     directory (another `name` or `--out`); design = \"sobol\" or \"random\" can be extended"
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(key: &str, dist: Dist) -> Param {
        Param { key: key.into(), dist }
    }

    #[test]
    fn each_lhs_stratum_holds_one_point_per_key() {
        let params = [param("a", Dist::Uniform(0.0, 1.0)), param("b", Dist::Uniform(0.0, 1.0))];
        for n in [1, 7, 32] {
            let points = unit_points(Design::Lhs, n, &params, 11, None);
            for d in 0..2 {
                let mut strata: Vec<usize> = points.iter().map(|p| (p[d] * n as f64) as usize).collect();
                strata.sort_unstable();
                assert_eq!(strata, (0..n).collect::<Vec<_>>(), "n = {n}, key {d}");
            }
        }
        let other_seed = unit_points(Design::Lhs, 32, &params, 12, None);
        assert_ne!(unit_points(Design::Lhs, 32, &params, 11, None), other_seed, "the seed moves the points");
    }

    #[test]
    fn random_and_sobol_points_depend_on_the_seed_and_index_only() {
        let params = [param("a", Dist::Uniform(0.0, 1.0)), param("b", Dist::Uniform(0.0, 1.0))];
        for design in [Design::Random, Design::Sobol] {
            let few = unit_points(design, 5, &params, 3, None);
            let more = unit_points(design, 50, &params, 3, None);
            assert_eq!(few[..], more[..5], "{design:?}: a prefix");
        }
        assert_eq!(unit_points(Design::Sobol, 1, &params, 3, None), vec![vec![0.5, 0.5]], "the origin is skipped");
        assert_ne!(unit_points(Design::Random, 5, &params, 3, None), unit_points(Design::Random, 5, &params, 4, None));
        // A random key's draws are its own: adding a key changes no other's.
        let one = unit_points(Design::Random, 5, &params[1..], 3, None);
        let two = unit_points(Design::Random, 5, &params, 3, None);
        assert!(one.iter().zip(&two).all(|(o, t)| o[0] == t[1]));
    }

    #[test]
    fn draws_respect_their_bounds_and_kinds() {
        let points: Vec<f64> = unit_points(Design::Random, 2000, &[param("x", Dist::Uniform(0.0, 1.0))], 5, None)
            .into_iter()
            .map(|p| p[0])
            .collect();
        let mut logs = Vec::new();
        for &u in points.iter().chain(&[0.0, 1.0 - f64::EPSILON]) {
            let Value::Float(x) = draw(&Dist::LogUniform(1e-4, 1e-1), u) else { panic!("a float") };
            assert!((1e-4..=1e-1).contains(&x), "{x}");
            assert_eq!(x, format!("{x:.5e}").parse::<f64>().unwrap(), "6 significant digits");
            logs.push(x.log10());
            let Value::Integer(k) = draw(&Dist::IntUniform(2, 5), u) else { panic!("an integer") };
            assert!((2..=5).contains(&k));
            let Value::Integer(k) = draw(&Dist::IntLogUniform(16, 256), u) else { panic!("an integer") };
            assert!((16..=256).contains(&k));
        }
        // Log-uniform: the decades [1e-4, 1e-3), [1e-3, 1e-2), [1e-2, 1e-1] get a third each.
        for decade in [-4.0, -3.0, -2.0] {
            let share = logs.iter().filter(|l| **l >= decade && **l < decade + 1.0).count() as f64 / logs.len() as f64;
            assert!((share - 1.0 / 3.0).abs() < 0.04, "decade {decade}: {share}");
        }
        // Integers: every value of [2, 5] about equally often; int_log_uniform favours the small.
        let counts = |dist: &Dist, k: i64| points.iter().filter(|&&u| draw(dist, u) == Value::Integer(k)).count();
        for k in 2..=5 {
            let share = counts(&Dist::IntUniform(2, 5), k) as f64 / points.len() as f64;
            assert!((share - 0.25).abs() < 0.04, "{k}: {share}");
        }
        assert!(counts(&Dist::IntLogUniform(16, 256), 16) > 3 * counts(&Dist::IntLogUniform(16, 256), 256));
        let choices = Dist::Choice(vec![Value::from("a"), Value::from("b"), Value::from("c")]);
        for (k, v) in ["a", "b", "c"].iter().enumerate() {
            let n = points.iter().filter(|&&u| draw(&choices, u) == Value::from(*v)).count();
            assert!((n as f64 / points.len() as f64 - 1.0 / 3.0).abs() < 0.04, "choice {k}");
        }
        assert_eq!(draw(&choices, 1.0 - f64::EPSILON), Value::from("c"));
    }

    #[test]
    fn the_nth_array_table_is_located() {
        let text = "[sweep]\n[[sweep.block]]\nhidden = [[1]]\n[[sweep.block]]\nx = 1\nhidden = [[2]]\n";
        assert_eq!(locate_in_array_table(text, "sweep.block", 1, "hidden"), Some(6));
        assert_eq!(locate_in_array_table(text, "sweep.block", 0, "hidden"), Some(3));
        assert_eq!(locate_in_array_table(text, "sweep.block", 1, ""), Some(4));
        assert_eq!(locate_in_array_table(text, "sweep.block", 2, "hidden"), None);
    }
}
