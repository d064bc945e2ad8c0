//! `comparisons.csv` and `selection.csv` (written by `report::comparisons`): their columns
//! and the typed readers report.html uses. Cells are read by [`super::table`]'s rules: an
//! empty cell, or a column the file lacks, is `None`; a cell that is not a number is an
//! error naming the file and line.

use super::table;
use anyhow::{bail, Result};
use std::path::Path;

/// The two metrics compared, as column prefixes (final validation and test accuracy).
pub(crate) const COMPARED_SETS: [&str; 2] = ["valid", "test"];
/// The columns of each compared metric, after its prefix.
pub(crate) const SET_COLUMNS: [&str; 8] =
    ["pairs", "diff", "diff_ci_low", "diff_ci_high", "p", "p_holm", "wilcoxon_p", "p_a_beats_b"];

/// The header of comparisons.csv.
pub fn header() -> Vec<String> {
    let mut h: Vec<String> =
        ["config", "reference", "pairing", "test", "n", "reference_n"].iter().map(|s| s.to_string()).collect();
    for set in COMPARED_SETS {
        for col in SET_COLUMNS {
            h.push(format!("{set}_{col}"));
        }
    }
    h.push("indistinguishable_from_best".into());
    h.extend(["ensemble_test_diff".into(), "ensemble_mcnemar_p".into()]);
    h
}

/// One compared metric of a configuration against the reference.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SetComparison {
    pub pairs: Option<usize>,
    pub diff: Option<f64>,
    pub(crate) diff_ci_low: Option<f64>,
    pub(crate) diff_ci_high: Option<f64>,
    pub p: Option<f64>,
    pub p_holm: Option<f64>,
    pub wilcoxon_p: Option<f64>,
    pub p_a_beats_b: Option<f64>,
}

/// One row of comparisons.csv: a configuration against the reference.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ComparisonRow {
    pub config: String,
    pub reference: String,
    /// How the runs pair (`paired`, `unpaired`) and the test that follows from it.
    pub pairing: String,
    pub test: String,
    pub n: Option<usize>,
    pub(crate) reference_n: Option<usize>,
    /// Per metric of [`COMPARED_SETS`].
    pub sets: [SetComparison; 2],
    /// `best`, `yes`, `no` or empty: like the best by validation.
    pub indistinguishable_from_best: String,
    pub(crate) ensemble_test_diff: Option<f64>,
    pub(crate) ensemble_mcnemar_p: Option<f64>,
}

/// A CSV file's header, with a lookup by column name.
struct Columns(Vec<String>);

impl Columns {
    fn at(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|h| h == name)
    }
}

fn text(rec: &csv::StringRecord, col: Option<usize>) -> String {
    col.and_then(|i| rec.get(i)).unwrap_or_default().to_string()
}

fn number(rec: &csv::StringRecord, col: Option<usize>, path: &Path) -> Result<Option<f64>> {
    col.map_or(Ok(None), |i| table::cell(rec, i, path))
}

fn count(rec: &csv::StringRecord, col: Option<usize>, path: &Path) -> Result<Option<usize>> {
    match number(rec, col, path)? {
        None => Ok(None),
        Some(v) if v >= 0.0 && v.fract() == 0.0 && v.is_finite() => Ok(Some(v as usize)),
        Some(v) => bail!("{}: line {}: `{v}` is not a count", path.display(), rec.position().map_or(0, |p| p.line())),
    }
}

/// Reads comparisons.csv; `None` when it is absent or empty (not written yet).
pub(crate) fn read_comparisons(path: &Path) -> Result<Option<Vec<ComparisonRow>>> {
    let Some(mut reader) = table::open(path)? else { return Ok(None) };
    let columns = Columns(table::headers(&mut reader, path)?);
    let mut rows = Vec::new();
    for rec in table::records(reader, path) {
        let rec = rec?;
        let col = |name: &str| columns.at(name);
        let mut sets: [SetComparison; 2] = Default::default();
        for (set, out) in COMPARED_SETS.iter().zip(&mut sets) {
            let c = |name: &str| col(&format!("{set}_{name}"));
            *out = SetComparison {
                pairs: count(&rec, c("pairs"), path)?,
                diff: number(&rec, c("diff"), path)?,
                diff_ci_low: number(&rec, c("diff_ci_low"), path)?,
                diff_ci_high: number(&rec, c("diff_ci_high"), path)?,
                p: number(&rec, c("p"), path)?,
                p_holm: number(&rec, c("p_holm"), path)?,
                wilcoxon_p: number(&rec, c("wilcoxon_p"), path)?,
                p_a_beats_b: number(&rec, c("p_a_beats_b"), path)?,
            };
        }
        rows.push(ComparisonRow {
            config: text(&rec, col("config")),
            reference: text(&rec, col("reference")),
            pairing: text(&rec, col("pairing")),
            test: text(&rec, col("test")),
            n: count(&rec, col("n"), path)?,
            reference_n: count(&rec, col("reference_n"), path)?,
            sets,
            indistinguishable_from_best: text(&rec, col("indistinguishable_from_best")),
            ensemble_test_diff: number(&rec, col("ensemble_test_diff"), path)?,
            ensemble_mcnemar_p: number(&rec, col("ensemble_mcnemar_p"), path)?,
        });
    }
    Ok(Some(rows))
}

/// The header of selection.csv.
pub(crate) const SELECTION_HEADER: [&str; 4] = ["repeat", "config", "final_valid_acc", "final_test_acc"];

/// The rows after the repeats' choices in selection.csv, in order (`config` left empty).
pub(crate) const SELECTION_STATS: [&str; 4] = ["n", "mean", "ci_low", "ci_high"];

/// One repeat's choice by validation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PickRow {
    pub repeat: usize,
    pub config: String,
    pub valid: Option<f64>,
    pub test: Option<f64>,
}

/// selection.csv as read: the repeats' choices and, over them, the test accuracies' count,
/// mean and 95% t interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SelectionTable {
    pub picks: Vec<PickRow>,
    /// The choices with a test accuracy.
    pub n: Option<usize>,
    pub(crate) test_mean: Option<f64>,
    pub(crate) test_ci: (Option<f64>, Option<f64>),
}

/// Reads selection.csv; `None` when it is absent or empty (not written yet).
pub(crate) fn read_selection(path: &Path) -> Result<Option<SelectionTable>> {
    let Some(mut reader) = table::open(path)? else { return Ok(None) };
    let columns = Columns(table::headers(&mut reader, path)?);
    let [repeat, config, valid, test] = SELECTION_HEADER.map(|name| columns.at(name));
    let mut out = SelectionTable::default();
    // A multi-dataset sweep stacks one table per dataset (a `dataset` column first): the
    // statistics are the first dataset's.
    let mut seen = [false; SELECTION_STATS.len()];
    for rec in table::records(reader, path) {
        let rec = rec?;
        let label = text(&rec, repeat);
        if let Some(k) = SELECTION_STATS.iter().position(|s| *s == label) {
            if !std::mem::replace(&mut seen[k], true) {
                match k {
                    0 => out.n = count(&rec, test, path)?,
                    1 => out.test_mean = number(&rec, test, path)?,
                    2 => out.test_ci.0 = number(&rec, test, path)?,
                    _ => out.test_ci.1 = number(&rec, test, path)?,
                }
            }
            continue;
        }
        match label.parse::<usize>() {
            Ok(r) => out.picks.push(PickRow {
                repeat: r,
                config: text(&rec, config),
                valid: number(&rec, valid, path)?,
                test: number(&rec, test, path)?,
            }),
            Err(_) => bail!(
                "{}: line {}: `{label}` is neither a repeat nor one of {}",
                path.display(),
                rec.position().map_or(0, |p| p.line()),
                SELECTION_STATS.join(", ")
            ),
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_are_read_by_column_name_with_missing_cells_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("comparisons.csv");
        // The last two columns left out, as a file from before they existed.
        let cells = "3,0.01,0.001,0.02,0.5,0.6,0.25,0.75";
        std::fs::write(
            &path,
            format!("{}\n\"a=1,b=2\",baseline,paired,paired t,3,,{cells},{cells},yes\n", header().join(",")),
        )
        .unwrap();
        let rows = read_comparisons(&path).unwrap().unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.config.as_str(), r.reference.as_str(), r.test.as_str()), ("a=1,b=2", "baseline", "paired t"));
        assert_eq!((r.n, r.reference_n), (Some(3), None));
        let want = SetComparison {
            pairs: Some(3),
            diff: Some(0.01),
            diff_ci_low: Some(0.001),
            diff_ci_high: Some(0.02),
            p: Some(0.5),
            p_holm: Some(0.6),
            wilcoxon_p: Some(0.25),
            p_a_beats_b: Some(0.75),
        };
        assert_eq!(r.sets, [want.clone(), want]);
        assert_eq!(r.indistinguishable_from_best, "yes");
        assert_eq!((r.ensemble_test_diff, r.ensemble_mcnemar_p), (None, None));
        assert_eq!(read_comparisons(&dir.path().join("absent.csv")).unwrap(), None);
    }

    #[test]
    fn a_comparison_cell_that_is_not_a_number_names_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("comparisons.csv");
        std::fs::write(&path, "config,n,valid_diff\nbaseline,3,0.1\nother,3,high\n").unwrap();
        let e = format!("{:#}", read_comparisons(&path).unwrap_err());
        assert!(e.contains("comparisons.csv") && e.contains("line 3") && e.contains("`high`"), "{e}");
    }

    #[test]
    fn selection_splits_the_choices_from_their_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("selection.csv");
        std::fs::write(
            &path,
            "repeat,config,final_valid_acc,final_test_acc\n1,\"a=<b>,c=1\",0.6,0.5\n2,baseline,0.7,\n\
             n,,2,1\nmean,,0.65,0.5\nci_low,,,\nci_high,,,\n",
        )
        .unwrap();
        let s = read_selection(&path).unwrap().unwrap();
        assert_eq!(
            s.picks,
            [
                PickRow { repeat: 1, config: "a=<b>,c=1".into(), valid: Some(0.6), test: Some(0.5) },
                PickRow { repeat: 2, config: "baseline".into(), valid: Some(0.7), test: None },
            ]
        );
        assert_eq!((s.n, s.test_mean, s.test_ci), (Some(1), Some(0.5), (None, None)));
        std::fs::write(&path, "repeat,config,final_valid_acc,final_test_acc\nmedian,,0.6,0.5\n").unwrap();
        let e = format!("{:#}", read_selection(&path).unwrap_err());
        assert!(e.contains("line 2") && e.contains("`median`"), "{e}");
    }
}
