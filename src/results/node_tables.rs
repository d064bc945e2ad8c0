//! A run's per-node diagnostics tables as values: the writers that turn a run's
//! [`History`] into `weights`, `activations` and `confusion-<split>` tables (stored as
//! `results::diagnostics` says), and the readers that give the plots their grids.

use super::diagnostics::{self, ACTIVATIONS, WEIGHTS};
use super::table::{cell, field, headers, index, open, records};
use crate::data::split::Split;
use crate::train::History;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::csv_number as num;

/// The text of `weights`: per epoch, layer and node, ‖Δw‖ and Δθ.
pub(crate) fn weights_csv(h: &History) -> String {
    let mut s = String::from("epoch,layer,node,dnorm,dtheta\n");
    for w in &h.weight_changes {
        let _ = writeln!(s, "{},{},{},{},{}", w.epoch, w.layer, w.node, num(w.dnorm), num(w.dtheta));
    }
    s
}

/// The text of `activations`: per epoch, hidden layer and node, the histogram's counts.
pub(crate) fn activations_csv(h: &History) -> String {
    let mut s = String::from("epoch,layer,node");
    if let Some(first) = h.histograms.first() {
        for name in first.histogram.column_names() {
            let _ = write!(s, ",{name}");
        }
    }
    s.push('\n');
    for l in &h.histograms {
        let hist = &l.histogram;
        for (node, counts) in hist.counts.chunks_exact(hist.columns()).enumerate() {
            let _ = write!(s, "{},{},{node}", l.epoch, l.layer);
            for c in counts {
                let _ = write!(s, ",{c}");
            }
            s.push('\n');
        }
    }
    s
}

/// The text of `confusion-<split>`: per recorded epoch, one row per actual class;
/// `None` when the split has no recorded matrix.
pub(crate) fn confusion_csv(h: &History, split: Split, classes: &[String]) -> Option<String> {
    let mut s = String::from("epoch,actual");
    for c in classes {
        let _ = write!(s, ",{}", field(c));
    }
    s.push('\n');
    let mut any = false;
    for m in h.confusions.iter().filter(|m| m.split == split) {
        any = true;
        for (a, row) in m.counts.chunks_exact(classes.len()).enumerate() {
            let _ = write!(s, "{},{}", m.epoch, field(&classes[a]));
            for c in row {
                let _ = write!(s, ",{c}");
            }
            s.push('\n');
        }
    }
    any.then_some(s)
}

/// Every diagnostics table of `h` into `dir` (gzip CSV).
pub(crate) fn write_tables(dir: &Path, h: &History, classes: &[String]) -> std::io::Result<()> {
    diagnostics::write_table(dir, WEIGHTS, &weights_csv(h))?;
    diagnostics::write_table(dir, ACTIVATIONS, &activations_csv(h))?;
    for split in Split::ALL {
        if let Some(text) = confusion_csv(h, split, classes) {
            diagnostics::write_table(dir, &diagnostics::confusion_stem(split.name()), &text)?;
        }
    }
    Ok(())
}

/// A dense row-major matrix for a heatmap; NaN marks a missing cell.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Grid {
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
pub(crate) struct LayerWeights {
    pub layer: usize,
    /// The column epochs, ascending.
    pub epochs: Vec<usize>,
    /// Rows are nodes, columns `epochs`.
    pub dnorm: Grid,
    pub dtheta: Grid,
}

pub(crate) fn read_weights(path: &Path) -> Result<Vec<LayerWeights>> {
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
pub(crate) struct LayerActivations {
    pub layer: usize,
    /// Epochs summed into `total`.
    pub epochs: usize,
    pub(crate) last_epoch: usize,
    /// Rows are nodes, columns bins; counts summed over all epochs.
    pub total: Grid,
    /// The same for `last_epoch` alone.
    pub last: Grid,
}

/// `activations.csv` and its bins' column names (lower edges, maybe `over_<max>`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Activations {
    pub(crate) bins: Vec<String>,
    pub layers: Vec<LayerActivations>,
}

pub(crate) fn read_activations(path: &Path) -> Result<Option<Activations>> {
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

/// The confusion matrix of the last recorded epoch (the picture tests check it).
#[cfg(test)]
pub fn read_confusion(path: &Path) -> Result<Option<Confusion>> {
    Ok(read_confusions(path)?.pop())
}

/// Every recorded epoch's confusion matrix, in epoch order.
pub(crate) fn read_confusions(path: &Path) -> Result<Vec<Confusion>> {
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
