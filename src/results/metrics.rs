//! A run's `metrics.csv`: one row per epoch with each split's loss and accuracy and the
//! wall seconds so far. The trainer writes it through [`metrics_csv`]; the summary, the
//! plots and the report read it through [`read_metrics`].

use super::atomic::write_atomic;
use super::csv_number as num;
use super::layout::METRICS_FILE;
use super::table::{cell, headers, index, open, records};
use crate::data::split::{PerSplit, Split};
use crate::train::EpochMetrics;
use anyhow::{bail, Result};
use std::fmt::Write as _;
use std::path::Path;

/// The header pandas code reads; its columns are those of [`metrics_csv`].
pub(crate) const METRICS_HEADER: &str = "epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds";

/// The text of `metrics.csv` (a split not evaluated in an epoch leaves its two cells empty).
pub(crate) fn metrics_csv(rows: &[EpochMetrics]) -> String {
    let mut s = String::from(METRICS_HEADER);
    s.push('\n');
    for m in rows {
        let _ = write!(s, "{}", m.epoch);
        for (_, set) in m.sets.iter() {
            match set {
                Some(v) => {
                    let _ = write!(s, ",{},{}", num(v.loss), num(v.acc));
                }
                None => s.push_str(",,"),
            }
        }
        let _ = writeln!(s, ",{:.4}", m.seconds);
    }
    s
}

/// Writes `dir/metrics.csv`, atomically.
pub fn write(dir: &Path, rows: &[EpochMetrics]) -> std::io::Result<()> {
    write_atomic(&dir.join(METRICS_FILE), metrics_csv(rows).as_bytes())
}

/// One row of `metrics.csv` as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsRow {
    pub epoch: usize,
    /// Accuracy per split; `None` where the split was not evaluated.
    pub acc: PerSplit<Option<f64>>,
    /// Mean loss per split, likewise.
    pub loss: PerSplit<Option<f64>>,
}

/// `metrics.csv`: one row per epoch, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub rows: Vec<MetricsRow>,
}

impl Metrics {
    /// `(epoch, accuracy)` of every row where `split` has a value (possibly NaN).
    pub fn acc(&self, split: Split) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.rows.iter().filter_map(move |r| r.acc[split].map(|a| (r.epoch, a)))
    }

    /// The last finite accuracy of `split`: what "final" means when a split is evaluated
    /// only every few epochs.
    pub fn final_acc(&self, split: Split) -> Option<f64> {
        self.rows.iter().rev().find_map(|r| r.acc[split].filter(|a| a.is_finite()))
    }

    pub fn last_epoch(&self) -> Option<usize> {
        self.rows.iter().map(|r| r.epoch).max()
    }

    /// The last row's accuracies (empty cells `None`): the last epoch's model.
    pub fn last_accs(&self) -> PerSplit<Option<f64>> {
        self.rows.last().map_or_else(PerSplit::default, |r| r.acc)
    }

    /// (validation accuracy, epoch, test accuracy) of the first epoch that reaches the best
    /// validation accuracy (a NaN first value stays: nothing is greater than it).
    pub fn best_valid(&self) -> Option<(f64, usize, Option<f64>)> {
        let mut best: Option<(f64, usize, Option<f64>)> = None;
        for r in &self.rows {
            if let Some(v) = r.acc.valid {
                if best.is_none_or(|(b, _, _)| v > b) {
                    best = Some((v, r.epoch, r.acc.test));
                }
            }
        }
        best
    }
}

/// `metrics.csv` at `path`; `None` when it is absent, empty or has no rows.
pub(crate) fn read_metrics(path: &Path) -> Result<Option<Metrics>> {
    let Some(mut reader) = open(path)? else {
        return Ok(None);
    };
    let head = headers(&mut reader, path)?;
    let col = |name: &str| head.iter().position(|h| h == name);
    let Some(epoch_col) = col("epoch") else { bail!("{}: no `epoch` column", path.display()) };
    let acc_cols = PerSplit::from_fn(|s| col(&format!("{}_acc", s.name())));
    let loss_cols = PerSplit::from_fn(|s| col(&format!("{}_loss", s.name())));
    let mut rows = Vec::new();
    for rec in records(reader, path) {
        let rec = rec?;
        let (mut acc, mut loss) = (PerSplit::default(), PerSplit::default());
        for split in Split::ALL {
            if let Some(c) = acc_cols[split] {
                acc[split] = cell(&rec, c, path)?;
            }
            if let Some(c) = loss_cols[split] {
                loss[split] = cell(&rec, c, path)?;
            }
        }
        rows.push(MetricsRow { epoch: index(&rec, epoch_col, path)?, acc, loss });
    }
    Ok((!rows.is_empty()).then_some(Metrics { rows }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::SetMetrics;

    fn row(epoch: usize, valid: Option<f64>, test: Option<f64>) -> EpochMetrics {
        let m = |acc: f64| SetMetrics { loss: 1.0 - acc, acc };
        EpochMetrics {
            epoch,
            sets: PerSplit { train: Some(m(0.5)), valid: valid.map(m), test: test.map(m) },
            seconds: 0.25 * epoch as f64,
        }
    }

    #[test]
    fn what_the_trainer_writes_reads_back_split_by_split() {
        let dir = tempfile::tempdir().unwrap();
        // Test only every other epoch; the best validation accuracy first reached in epoch 2.
        let rows = [row(1, Some(0.6), Some(0.55)), row(2, Some(0.8), None), row(3, Some(0.8), Some(0.7))];
        write(dir.path(), &rows).unwrap();
        let text = std::fs::read_to_string(dir.path().join(METRICS_FILE)).unwrap();
        assert_eq!(text.lines().next(), Some(METRICS_HEADER));
        assert_eq!(text.lines().nth(2), Some("2,0.5,0.5,0.19999999999999996,0.8,,,0.5000"), "an empty pair of cells");
        let m = read_metrics(&dir.path().join(METRICS_FILE)).unwrap().unwrap();
        assert_eq!(m.rows.len(), 3);
        assert_eq!(m.acc(Split::Test).collect::<Vec<_>>(), [(1, 0.55), (3, 0.7)]);
        assert_eq!(m.last_accs(), PerSplit { train: Some(0.5), valid: Some(0.8), test: Some(0.7) });
        assert_eq!(m.best_valid(), Some((0.8, 2, None)), "the first epoch that reaches the best");
        assert_eq!((m.final_acc(Split::Valid), m.last_epoch()), (Some(0.8), Some(3)));
    }

    #[test]
    fn absent_empty_and_malformed_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(METRICS_FILE);
        assert_eq!(read_metrics(&path).unwrap(), None, "absent");
        std::fs::write(&path, "").unwrap();
        assert_eq!(read_metrics(&path).unwrap(), None, "empty");
        std::fs::write(&path, format!("{METRICS_HEADER}\n1,0.5,x,,,,,0.1\n")).unwrap();
        let e = read_metrics(&path).unwrap_err().to_string();
        assert!(e.contains("metrics.csv: line 2: `x` is not a number"), "{e}");
    }
}
