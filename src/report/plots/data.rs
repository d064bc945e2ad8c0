//! Readers for the files a run or sweep directory holds. A missing or empty file is
//! `Ok(None)` (that plot is skipped); a malformed one is an error naming the file.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The three evaluation sets, in the order every plot lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Set {
    Train,
    Valid,
    Test,
}

impl Set {
    pub const ALL: [Set; 3] = [Set::Train, Set::Valid, Set::Test];

    /// The word in file and column names (`confusion-valid.csv`, `valid_acc`).
    pub fn word(self) -> &'static str {
        match self {
            Set::Train => "train",
            Set::Valid => "valid",
            Set::Test => "test",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Set::Train => "Train",
            Set::Valid => "Validation",
            Set::Test => "Test",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

type Reader = csv::Reader<Box<dyn Read>>;

/// Opens a CSV file with headers (gzip-compressed when it ends in `.gz`, as the diagnostics
/// tables are); `None` when it is absent or has no bytes at all.
fn open(path: &Path) -> Result<Option<Reader>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        Ok(m) if m.len() == 0 => return Ok(None),
        Ok(_) => {}
    }
    let file = crate::results::diagnostics::open_table(path, crate::fsx::MAX_TABLE_BYTES)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(file)))
}

fn headers(reader: &mut Reader, path: &Path) -> Result<Vec<String>> {
    Ok(reader
        .headers()
        .with_context(|| format!("reading the header of {}", path.display()))?
        .iter()
        .map(str::to_owned)
        .collect())
}

/// An empty cell is `None` (set not evaluated); `NaN`/`inf` parse as themselves.
fn cell(rec: &csv::StringRecord, i: usize, path: &Path) -> Result<Option<f64>> {
    match rec.get(i).map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<f64>() {
            Ok(v) => Ok(Some(v)),
            Err(_) => {
                bail!("{}: line {}: `{s}` is not a number", path.display(), rec.position().map_or(0, |p| p.line()))
            }
        },
    }
}

/// A cell that must hold a non-negative integer (epoch, layer, node, count).
fn index(rec: &csv::StringRecord, i: usize, path: &Path) -> Result<usize> {
    match cell(rec, i, path)? {
        Some(v) if v >= 0.0 && v.fract() == 0.0 && v.is_finite() => Ok(v as usize),
        _ => bail!(
            "{}: line {}: column {} must be a non-negative integer",
            path.display(),
            rec.position().map_or(0, |p| p.line()),
            i + 1
        ),
    }
}

fn records(mut reader: Reader, path: &Path) -> impl Iterator<Item = Result<csv::StringRecord>> + '_ {
    let mut rec = csv::StringRecord::new();
    std::iter::from_fn(move || match reader.read_record(&mut rec) {
        Ok(true) => Some(Ok(rec.clone())),
        Ok(false) => None,
        Err(e) => Some(Err(e).with_context(|| format!("reading {}", path.display()))),
    })
}

/// One row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// Accuracy per [`Set`] (by `Set::index`); `None` where the set was not evaluated.
    pub acc: [Option<f64>; 3],
}

/// `metrics.csv`: one row per epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub rows: Vec<EpochMetrics>,
}

impl Metrics {
    /// `(epoch, accuracy)` of every row where `set` has a value (possibly NaN).
    pub fn acc(&self, set: Set) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.rows.iter().filter_map(move |r| r.acc[set.index()].map(|a| (r.epoch, a)))
    }

    /// The last finite accuracy of `set`: what "final" means when a set is evaluated
    /// only every few epochs.
    pub fn final_acc(&self, set: Set) -> Option<f64> {
        self.rows.iter().rev().find_map(|r| r.acc[set.index()].filter(|a| a.is_finite()))
    }

    pub fn last_epoch(&self) -> Option<usize> {
        self.rows.iter().map(|r| r.epoch).max()
    }
}

pub fn read_metrics(path: &Path) -> Result<Option<Metrics>> {
    let Some(mut reader) = open(path)? else {
        return Ok(None);
    };
    let head = headers(&mut reader, path)?;
    let col = |name: &str| head.iter().position(|h| h == name);
    let Some(epoch_col) = col("epoch") else { bail!("{}: no `epoch` column", path.display()) };
    let acc_cols = Set::ALL.map(|s| col(&format!("{}_acc", s.word())));
    let mut rows = Vec::new();
    for rec in records(reader, path) {
        let rec = rec?;
        let mut acc = [None; 3];
        for (slot, c) in acc.iter_mut().zip(acc_cols) {
            if let Some(c) = c {
                *slot = cell(&rec, c, path)?;
            }
        }
        rows.push(EpochMetrics { epoch: index(&rec, epoch_col, path)?, acc });
    }
    Ok((!rows.is_empty()).then_some(Metrics { rows }))
}

/// A dense row-major matrix for a heatmap; NaN marks a missing cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Grid {
    pub fn new(rows: usize, cols: usize, fill: f64) -> Self {
        Self { rows, cols, data: vec![fill; rows * cols] }
    }

    pub fn get(&self, row: usize, col: usize) -> f64 {
        self.data[row * self.cols + col]
    }

    pub fn set(&mut self, row: usize, col: usize, v: f64) {
        self.data[row * self.cols + col] = v;
    }

    pub fn add(&mut self, row: usize, col: usize, v: f64) {
        let c = &mut self.data[row * self.cols + col];
        *c = if c.is_nan() { v } else { *c + v };
    }
}

/// One layer of `weights.csv` as node × epoch grids.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerWeights {
    pub layer: usize,
    /// The column epochs, ascending.
    pub epochs: Vec<usize>,
    /// Rows are nodes, columns `epochs`.
    pub dnorm: Grid,
    pub dtheta: Grid,
}

pub fn read_weights(path: &Path) -> Result<Vec<LayerWeights>> {
    let Some(mut reader) = open(path)? else {
        return Ok(Vec::new());
    };
    let head = headers(&mut reader, path)?;
    let col = |name: &str| {
        head.iter().position(|h| h == name).with_context(|| format!("{}: no `{name}` column", path.display()))
    };
    let (ce, cl, cn, cd, ct) = (col("epoch")?, col("layer")?, col("node")?, col("dnorm")?, col("dtheta")?);
    // layer → rows of (epoch, node, dnorm, dtheta)
    let mut layers: BTreeMap<usize, Vec<(usize, usize, f64, f64)>> = BTreeMap::new();
    for rec in records(reader, path) {
        let rec = rec?;
        let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
        layers.entry(index(&rec, cl, path)?).or_default().push((
            index(&rec, ce, path)?,
            index(&rec, cn, path)?,
            nan(cell(&rec, cd, path)?),
            nan(cell(&rec, ct, path)?),
        ));
    }
    Ok(layers
        .into_iter()
        .map(|(layer, rows)| {
            let mut epochs: Vec<usize> = rows.iter().map(|r| r.0).collect();
            epochs.sort_unstable();
            epochs.dedup();
            let nodes = rows.iter().map(|r| r.1 + 1).max().unwrap_or(0);
            let mut dnorm = Grid::new(nodes, epochs.len(), f64::NAN);
            let mut dtheta = dnorm.clone();
            for (e, n, dn, dt) in rows {
                let c = epochs.binary_search(&e).expect("epoch collected above");
                dnorm.set(n, c, dn);
                dtheta.set(n, c, dt);
            }
            LayerWeights { layer, epochs, dnorm, dtheta }
        })
        .collect())
}

/// One hidden layer of `activations.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerActivations {
    pub layer: usize,
    /// Epochs summed into `total`.
    pub epochs: usize,
    pub last_epoch: usize,
    /// Rows are nodes, columns bins; counts summed over all epochs.
    pub total: Grid,
    /// The same for `last_epoch` alone.
    pub last: Grid,
}

/// `activations.csv` and its bins' column names (lower edges, maybe `over_<max>`).
#[derive(Clone, Debug, PartialEq)]
pub struct Activations {
    pub bins: Vec<String>,
    pub layers: Vec<LayerActivations>,
}

pub fn read_activations(path: &Path) -> Result<Option<Activations>> {
    let Some(mut reader) = open(path)? else {
        return Ok(None);
    };
    let head = headers(&mut reader, path)?;
    if head.len() < 4 || head[..3] != ["epoch", "layer", "node"] {
        // `epoch,layer,node` alone: a network without hidden layers.
        return Ok(None);
    }
    let bins: Vec<String> = head[3..].to_vec();
    let mut rows: BTreeMap<usize, Vec<(usize, usize, Vec<f64>)>> = BTreeMap::new();
    for rec in records(reader, path) {
        let rec = rec?;
        let counts = (3..head.len()).map(|i| Ok(cell(&rec, i, path)?.unwrap_or(0.0))).collect::<Result<Vec<_>>>()?;
        rows.entry(index(&rec, 1, path)?).or_default().push((index(&rec, 0, path)?, index(&rec, 2, path)?, counts));
    }
    let layers = rows
        .into_iter()
        .map(|(layer, rows)| {
            let nodes = rows.iter().map(|r| r.1 + 1).max().unwrap_or(0);
            let last_epoch = rows.iter().map(|r| r.0).max().unwrap_or(0);
            let mut epochs: Vec<usize> = rows.iter().map(|r| r.0).collect();
            epochs.sort_unstable();
            epochs.dedup();
            let mut total = Grid::new(nodes, bins.len(), 0.0);
            let mut last = total.clone();
            for (e, n, counts) in rows {
                for (b, c) in counts.into_iter().enumerate() {
                    total.add(n, b, c);
                    if e == last_epoch {
                        last.add(n, b, c);
                    }
                }
            }
            LayerActivations { layer, epochs: epochs.len(), last_epoch, total, last }
        })
        .collect();
    Ok(Some(Activations { bins, layers }))
}

/// The last recorded epoch of a `confusion-<set>.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Confusion {
    pub epoch: usize,
    /// Class labels: the header's columns after `epoch,actual`.
    pub labels: Vec<String>,
    /// Rows are actual classes, columns predicted, both in `labels` order.
    pub counts: Grid,
}

/// The confusion matrix of the last recorded epoch.
pub fn read_confusion(path: &Path) -> Result<Option<Confusion>> {
    Ok(read_confusions(path)?.pop())
}

/// Every recorded epoch's confusion matrix, in epoch order.
pub fn read_confusions(path: &Path) -> Result<Vec<Confusion>> {
    let Some(mut reader) = open(path)? else {
        return Ok(Vec::new());
    };
    let head = headers(&mut reader, path)?;
    if head.len() < 3 {
        return Ok(Vec::new());
    }
    let labels: Vec<String> = head[2..].to_vec();
    let mut all: Vec<Confusion> = Vec::new();
    for rec in records(reader, path) {
        let rec = rec?;
        let e = index(&rec, 0, path)?;
        if all.last().is_some_and(|c| e < c.epoch) {
            continue;
        }
        if all.last().map(|c| c.epoch) != Some(e) {
            // A later epoch: start its matrix afresh.
            all.push(Confusion {
                epoch: e,
                labels: labels.clone(),
                counts: Grid::new(labels.len(), labels.len(), 0.0),
            });
        }
        let counts = &mut all.last_mut().expect("just pushed").counts;
        let actual = rec.get(1).unwrap_or("");
        let Some(row) = labels.iter().position(|l| l == actual) else {
            bail!("{}: actual class `{actual}` is not among the header's classes", path.display())
        };
        for (c, i) in (2..head.len()).enumerate() {
            counts.set(row, c, cell(&rec, i, path)?.unwrap_or(0.0));
        }
    }
    Ok(all)
}

/// `[train]` of a run's `config.toml` as a short title: `h=64 sigmoid lr=0.001 bs=160 m=0.0`.
pub fn run_title(config: &Path) -> Option<String> {
    let text = crate::fsx::read_own_text(config, crate::fsx::MAX_TEXT_BYTES).ok()?;
    let doc: toml::Table = text.parse().ok()?;
    let train = doc.get("train")?.as_table()?;
    let mut parts = Vec::new();
    for (key, prefix) in
        [("hidden", "h="), ("activation", ""), ("learning_rate", "lr="), ("batch_size", "bs="), ("momentum", "m=")]
    {
        if let Some(v) = train.get(key) {
            parts.push(format!("{prefix}{}", format_value(v)));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Values as pinniped writes them in ids and plan columns (`0.001`, `1.0`, `16x16`).
pub fn format_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => format!("{f:?}"),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(a) if a.is_empty() => "none".into(),
        toml::Value::Array(a) => a.iter().map(format_value).collect::<Vec<_>>().join("x"),
        other => other.to_string(),
    }
}

/// A run's `status.json` `state` (`done`, `diverged`, `failed`); `None` if unreadable.
/// A tiny scan rather than a JSON parser: the file is pinniped's own, flat object.
pub fn run_state(run_dir: &Path) -> Option<String> {
    let text = crate::fsx::read_own_text(&run_dir.join("status.json"), crate::fsx::MAX_TEXT_BYTES).ok()?;
    let rest = &text[text.find("\"state\"")? + "\"state\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

/// One row of a sweep's `plan.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRun {
    /// `<config id>/rep-<k>`: the run's directory under `runs/`.
    pub id: String,
    pub config: String,
    /// Axis values in `Plan::axes` order, as pinniped formats them.
    pub values: Vec<String>,
}

/// A sweep's `plan.csv`: the axes (the columns after `seed`, `repetition`, `fold`,
/// `split_seed`; directories made before pairing have none of the last three) and every planned run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub axes: Vec<String>,
    pub runs: Vec<PlannedRun>,
}

impl Plan {
    /// Axis values of config `baseline`, if the design has one.
    pub fn baseline(&self) -> Option<&[String]> {
        self.runs.iter().find(|r| r.config == "baseline").map(|r| r.values.as_slice())
    }
}

pub fn read_plan(path: &Path) -> Result<Option<Plan>> {
    let Some(mut reader) = open(path)? else {
        return Ok(None);
    };
    let head = headers(&mut reader, path)?;
    let col = |name: &str| {
        head.iter().position(|h| h == name).with_context(|| format!("{}: no `{name}` column", path.display()))
    };
    let (ci, cc, cs) = (col("id")?, col("config")?, col("seed")?);
    // No `[train]` key is named `split_seed`, so the column cannot be an axis.
    let first_axis = head.iter().position(|h| h == "split_seed").map_or(cs, |i| i.max(cs)) + 1;
    let axes = head[first_axis..].to_vec();
    let mut runs = Vec::new();
    for rec in records(reader, path) {
        let rec = rec?;
        let fields: Vec<&str> = rec.iter().collect();
        // pinniped has written ids like `a=1,b=2/rep-1` unquoted; then the extra
        // commas split id and config alike (the config id is the run id's prefix).
        let extra = fields.len().saturating_sub(head.len());
        let standard = (ci, cc, cs) == (1, 2, 4);
        let k = extra / 2;
        if extra > 0 && !(standard && extra % 2 == 0) {
            bail!(
                "{}: line {}: {} fields for {} columns",
                path.display(),
                rec.position().map_or(0, |p| p.line()),
                fields.len(),
                head.len()
            );
        }
        let span = |from: usize, to: usize| fields.get(from..=to).map(|f| f.join(",")).unwrap_or_default();
        let get = |i: usize| fields.get(i + if i > cc { extra } else { 0 }).map_or(String::new(), |f| (*f).to_owned());
        let (id, config) = if extra > 0 { (span(1, 1 + k), span(2 + k, 2 + 2 * k)) } else { (get(ci), get(cc)) };
        runs.push(PlannedRun { id, config, values: (first_axis..head.len()).map(get).collect() });
    }
    Ok(Some(Plan { axes, runs }))
}

/// What the plots need from a sweep's resolved `sweep.toml`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepSpec {
    pub name: Option<String>,
    /// `grid`, `one-at-a-time`, or another design (`spec::design`).
    pub design: Option<String>,
    /// Each axis's values in the order the sweep lists them, formatted like `plan.csv`.
    pub axes: Vec<(String, Vec<String>)>,
}

/// `sweep.toml`, or the default (no name, no design) when absent or unparsable:
/// the plots then fall back to the plan's own order and marginalising.
pub fn read_sweep_spec(path: &Path) -> SweepSpec {
    let Some(doc) =
        crate::fsx::read_text(path, crate::fsx::MAX_TEXT_BYTES).ok().and_then(|t| t.parse::<toml::Table>().ok())
    else {
        return SweepSpec::default();
    };
    let name = doc.get("name").and_then(|v| v.as_str()).map(str::to_owned);
    let sweep = doc.get("sweep").and_then(|v| v.as_table());
    let design = sweep.and_then(|s| s.get("design")).and_then(|v| v.as_str()).map(str::to_owned);
    let axes = sweep
        .into_iter()
        .flatten()
        // `zip`, `[[sweep.point]]` and `[[sweep.block]]` are lists too, but not axes.
        .filter(|(k, _)| !["zip", "point", "block"].contains(&k.as_str()))
        .filter_map(|(k, v)| Some((k.clone(), v.as_array()?.iter().map(format_value).collect())))
        .collect();
    SweepSpec { name, design, axes }
}
