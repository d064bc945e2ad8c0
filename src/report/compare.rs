//! `pinniped compare`: set two sweeps' `summary.csv` side by side on one metric,
//! joining configurations on their parameters and testing each difference with
//! Welch's t-test (the summaries keep only mean, std and n, so that is the test we can do).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use thiserror::Error;

use super::stats::welch;

/// Metrics a summary.csv carries, in column order; each has `<metric>_mean,<metric>_std`.
pub use super::summary::METRICS;

/// Config label used when a sweep has no axis columns (a single configuration).
const NO_AXES: &str = "(no axes)";

/// Errors of reading and comparing summaries; each names the file it is about.
#[derive(Debug, Error)]
pub enum CompareError {
    #[error("{}: no such file or directory", .0.display())]
    NotFound(PathBuf),
    #[error("{p}: no summary.csv here; run `pinniped summarize {p}` first", p = .0.display())]
    NoSummary(PathBuf),
    #[error("{}: cannot read: {message}", .path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}: line {line}: {message}", .path.display())]
    Malformed { path: PathBuf, line: u64, message: String },
    #[error("unknown metric `{0}`; valid metrics: {list}", list = METRICS.join(", "))]
    UnknownMetric(String),
}

/// Mean and sample std of one metric over a configuration's done runs; `None` when
/// summary.csv left the cell empty (undefined).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MeanStd {
    pub mean: Option<f64>,
    pub std: Option<f64>,
}

/// One configuration (row) of a summary.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Axis values as written, parallel to [`Summary::axes`].
    pub values: Vec<String>,
    /// `done`: the number of runs the means are taken over (n for the t-test).
    pub n: usize,
    /// Per-metric statistics, parallel to [`METRICS`].
    pub metrics: [MeanStd; METRICS.len()],
}

impl SummaryRow {
    /// Statistics of `metric`, or `None` for a name not in [`METRICS`].
    pub fn metric(&self, metric: &str) -> Option<MeanStd> {
        METRICS.iter().position(|m| *m == metric).map(|i| self.metrics[i])
    }
}

/// A parsed summary.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The summary.csv file that was read (not the directory given, if one was).
    pub path: PathBuf,
    /// Axis column names, in file order; possibly empty.
    pub axes: Vec<String>,
    pub rows: Vec<SummaryRow>,
}

/// Read a summary.csv, given either the file or the sweep directory holding it.
///
/// # Errors
/// A missing path, a directory without summary.csv (the message says to run
/// `pinniped summarize`), an unreadable file, or malformed content (file and line named).
pub fn read_summary(path: &Path) -> Result<Summary> {
    let file = if path.is_dir() {
        let file = path.join("summary.csv");
        if !file.is_file() {
            return Err(CompareError::NoSummary(path.to_path_buf()).into());
        }
        file
    } else if path.exists() {
        path.to_path_buf()
    } else {
        return Err(CompareError::NotFound(path.to_path_buf()).into());
    };
    let bytes = crate::fsx::read_bounded(&file, crate::fsx::MAX_TABLE_BYTES)
        .map_err(|e| CompareError::Io { path: file.clone(), message: e.to_string() })?;
    Ok(parse_summary(&file, &bytes)?)
}

/// Parse summary.csv content; `path` is only used in error messages and the result.
fn parse_summary(path: &Path, bytes: &[u8]) -> Result<Summary, CompareError> {
    let malformed = |line: u64, message: String| CompareError::Malformed { path: path.to_path_buf(), line, message };
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(1, csv::Position::line);
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("{len} fields, but the header has {expected_len}")
            }
            csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
            _ => e.to_string(),
        };
        malformed(line, message)
    };

    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let header: Vec<String> = reader.headers().map_err(csv_err)?.iter().map(str::to_string).collect();
    if header.iter().all(String::is_empty) {
        return Err(malformed(1, "empty file; expected a summary.csv header".into()));
    }
    // Axes are whatever precedes `runs`; the fixed columns are looked up by name after it.
    let runs =
        header.iter().position(|h| h == "runs").ok_or_else(|| malformed(1, "header has no `runs` column".into()))?;
    let axes = header[..runs].to_vec();
    for (i, axis) in axes.iter().enumerate() {
        if axes[..i].contains(axis) {
            return Err(malformed(1, format!("axis column `{axis}` appears twice")));
        }
    }
    let column = |name: &str| {
        header[runs..]
            .iter()
            .position(|h| h == name)
            .map(|i| i + runs)
            .ok_or_else(|| malformed(1, format!("header has no `{name}` column")))
    };
    let done_col = column("done")?;
    let mut metric_cols = [(0, 0); METRICS.len()];
    for (cols, metric) in metric_cols.iter_mut().zip(METRICS) {
        *cols = (column(&format!("{metric}_mean"))?, column(&format!("{metric}_std"))?);
    }

    let mut rows = Vec::new();
    let mut seen: HashMap<Vec<String>, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, csv::Position::line);
        let values: Vec<String> = record.iter().take(runs).map(str::to_string).collect();
        let done = &record[done_col];
        let n = done.parse().map_err(|_| malformed(line, format!("`done` is `{done}`, not a count")))?;
        let number = |col: usize| -> Result<Option<f64>, CompareError> {
            let cell = &record[col];
            if cell.is_empty() {
                return Ok(None);
            }
            let x: f64 =
                cell.parse().map_err(|_| malformed(line, format!("`{}` is `{cell}`, not a number", header[col])))?;
            // A NaN written by a buggy producer means "undefined" just like an empty cell.
            Ok(x.is_finite().then_some(x))
        };
        let mut metrics = [MeanStd::default(); METRICS.len()];
        for (stat, &(mean_col, std_col)) in metrics.iter_mut().zip(&metric_cols) {
            *stat = MeanStd { mean: number(mean_col)?, std: number(std_col)? };
        }
        if let Some(first) = seen.insert(values.clone(), line) {
            let config = config_label(axes.iter().zip(&values));
            return Err(malformed(line, format!("configuration `{config}` already appears on line {first}")));
        }
        rows.push(SummaryRow { values, n, metrics });
    }
    Ok(Summary { path: path.to_path_buf(), axes, rows })
}

/// One side of a compared configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Side {
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// Done runs.
    pub n: usize,
}

/// A configuration found in both sweeps.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedRow {
    /// `axis=value` pairs sorted by axis name, e.g. `batch_size=40, hidden=64`.
    pub config: String,
    pub a: Side,
    pub b: Side,
    /// B mean − A mean, when both are defined.
    pub diff: Option<f64>,
    /// Two-sided Welch p-value; `None` when either side has fewer than 2 done runs or no std.
    pub p: Option<f64>,
}

/// A configuration found in only one sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct OneSided {
    pub config: String,
    pub side: Side,
}

/// The result of [`compare`], ready for the renderers.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub metric: String,
    pub a_path: PathBuf,
    pub b_path: PathBuf,
    /// In A's row order (then B's, where one A row matches several).
    pub rows: Vec<MatchedRow>,
    pub only_a: Vec<OneSided>,
    pub only_b: Vec<OneSided>,
    /// Caveats about the join, e.g. axes present on one side only.
    pub notes: Vec<String>,
}

/// Compare `metric` between sweeps A and B, configuration by configuration.
///
/// Join rule: each row is keyed by its own `axis=value` pairs (axes whose column a
/// side lacks are simply not in its key). A row of A and a row of B match when they
/// agree on every axis both files have, which is a natural join: an axis present on
/// one side only does not take part in matching and is reported in
/// [`Comparison::notes`], and a B row may then match several A rows (or vice versa)
/// that differ only in that axis — each pair is listed, its label carrying the
/// one-sided values. With no shared axes every A row meets every B row, which is
/// what comparing a sweep against a single baseline configuration needs.
/// Values agree when the strings are equal or both parse to the same number
/// (`0.001` = `1e-3`, `64` = `64.0`), since different sweep files may spell them differently.
/// Rows that match nothing are listed in `only_a` / `only_b`.
///
/// # Errors
/// `metric` is not one of [`METRICS`]; the message lists them.
pub fn compare(a: &Summary, b: &Summary, metric: &str) -> Result<Comparison> {
    let mi =
        METRICS.iter().position(|m| *m == metric).ok_or_else(|| CompareError::UnknownMetric(metric.to_string()))?;

    let shared: Vec<(usize, usize)> = a
        .axes
        .iter()
        .enumerate()
        .filter_map(|(ia, name)| b.axes.iter().position(|n| n == name).map(|ib| (ia, ib)))
        .collect();
    let b_only: Vec<usize> = (0..b.axes.len()).filter(|ib| !shared.iter().any(|&(_, s)| s == *ib)).collect();

    let side = |row: &SummaryRow| Side { mean: row.metrics[mi].mean, std: row.metrics[mi].std, n: row.n };
    let mut rows = Vec::new();
    let mut b_matched = vec![false; b.rows.len()];
    let mut only_a = Vec::new();
    for ra in &a.rows {
        let mut matched = false;
        for (rb, b_hit) in b.rows.iter().zip(&mut b_matched) {
            if !shared.iter().all(|&(ia, ib)| same_value(&ra.values[ia], &rb.values[ib])) {
                continue;
            }
            matched = true;
            *b_hit = true;
            let pairs = a.axes.iter().zip(&ra.values).chain(b_only.iter().map(|&ib| (&b.axes[ib], &rb.values[ib])));
            let (sa, sb) = (side(ra), side(rb));
            let diff = sa.mean.zip(sb.mean).map(|(ma, mb)| mb - ma);
            let p = match (sa.mean, sa.std, sb.mean, sb.std) {
                (Some(m1), Some(s1), Some(m2), Some(s2)) => welch(m1, s1, sa.n, m2, s2, sb.n).map(|w| w.p),
                _ => None,
            };
            rows.push(MatchedRow { config: config_label(pairs), a: sa, b: sb, diff, p });
        }
        if !matched {
            only_a.push(OneSided { config: config_label(a.axes.iter().zip(&ra.values)), side: side(ra) });
        }
    }
    let only_b = b
        .rows
        .iter()
        .zip(&b_matched)
        .filter(|(_, hit)| !**hit)
        .map(|(rb, _)| OneSided { config: config_label(b.axes.iter().zip(&rb.values)), side: side(rb) })
        .collect();

    let shared_names: Vec<&str> = shared.iter().map(|&(ia, _)| a.axes[ia].as_str()).collect();
    let mut notes = Vec::new();
    for (label, summary) in [("A", a), ("B", b)] {
        let one_sided: Vec<&str> =
            summary.axes.iter().map(String::as_str).filter(|name| !shared_names.contains(name)).collect();
        if !one_sided.is_empty() {
            notes.push(format!(
                "axes only in {label}: {}; configurations were matched on the shared axes only ({})",
                one_sided.join(", "),
                if shared_names.is_empty() {
                    "none: every A row meets every B row".to_string()
                } else {
                    shared_names.join(", ")
                }
            ));
        }
    }

    Ok(Comparison {
        metric: metric.to_string(),
        a_path: a.path.clone(),
        b_path: b.path.clone(),
        rows,
        only_a,
        only_b,
        notes,
    })
}

/// Axis values agree as strings or, failing that, as numbers.
fn same_value(x: &str, y: &str) -> bool {
    x == y
        || matches!(
            (x.parse::<f64>(), y.parse::<f64>()),
            (Ok(u), Ok(v)) if u == v
        )
}

/// `axis=value` pairs sorted by axis name, so a label does not depend on column order.
fn config_label<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    let mut pairs: Vec<_> = pairs.collect();
    if pairs.is_empty() {
        return NO_AXES.to_string();
    }
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// Four decimals: enough to tell accuracies apart without drowning the table.
fn fmt_num(x: f64) -> String {
    format!("{x:.4}")
}

fn fmt_side(s: &Side) -> String {
    match (s.mean, s.std) {
        (Some(m), Some(sd)) => format!("{} ± {} (n={})", fmt_num(m), fmt_num(sd), s.n),
        (Some(m), None) => format!("{} (n={})", fmt_num(m), s.n),
        (None, _) => format!("- (n={})", s.n),
    }
}

fn fmt_diff(d: Option<f64>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{d:+.4}"))
}

/// p to four decimals, or `<1e-4` where four decimals would print a misleading 0.
fn fmt_p(p: Option<f64>) -> String {
    match p {
        None => "-".to_string(),
        Some(p) if p < 1e-4 => "<1e-4".to_string(),
        Some(p) => format!("{p:.4}"),
    }
}

/// Aligned plain-text table for the terminal.
pub fn render_table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "A: {}", c.a_path.display());
    let _ = writeln!(out, "B: {}", c.b_path.display());
    let _ = writeln!(out, "metric: {} (mean ± std over done runs; p: two-sided Welch's t-test)", c.metric);
    out.push('\n');

    if c.rows.is_empty() {
        out.push_str("no configuration in common\n");
    } else {
        let header = ["config", "A", "B", "B-A", "p"].map(String::from);
        let cells: Vec<[String; 5]> = c
            .rows
            .iter()
            .map(|r| [r.config.clone(), fmt_side(&r.a), fmt_side(&r.b), fmt_diff(r.diff), fmt_p(r.p)])
            .collect();
        let mut width = [0; 5];
        for row in std::iter::once(&header).chain(&cells) {
            for (w, cell) in width.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&cells) {
            // Rust pads by chars, so `±` costs one column like the widths assume.
            let _ = write!(out, "{:<w$}", row[0], w = width[0]);
            for (cell, w) in row.iter().zip(width).skip(1) {
                let _ = write!(out, "  {cell:>w$}");
            }
            out.push('\n');
        }
    }

    let one_sided: Vec<(&str, &OneSided)> =
        c.only_a.iter().map(|o| ("A", o)).chain(c.only_b.iter().map(|o| ("B", o))).collect();
    if !one_sided.is_empty() {
        out.push('\n');
        let w = one_sided.iter().map(|(_, o)| o.config.chars().count()).max().unwrap_or(0);
        for (label, o) in one_sided {
            let _ = writeln!(out, "only in {label}: {:<w$}  {}", o.config, fmt_side(&o.side));
        }
    }
    if !c.notes.is_empty() {
        out.push('\n');
        for note in &c.notes {
            let _ = writeln!(out, "note: {note}");
        }
    }
    out
}

/// CSV with columns `config,a_mean,a_std,a_n,b_mean,b_std,b_n,diff,p`; one-sided
/// configurations come last with the other side's cells empty, so nothing is lost.
pub fn render_csv(c: &Comparison) -> String {
    fn num(x: Option<f64>) -> String {
        x.map_or_else(String::new, |x| format!("{x:.6}"))
    }
    // Small p would round to 0.000000; switch to exponent notation there.
    fn p_cell(p: Option<f64>) -> String {
        match p {
            Some(p) if p != 0.0 && p < 1e-4 => format!("{p:.6e}"),
            p => num(p),
        }
    }
    fn side(s: Option<&Side>) -> [String; 3] {
        s.map_or_else(Default::default, |s| [num(s.mean), num(s.std), s.n.to_string()])
    }
    fn line(out: &mut String, config: &str, a: [String; 3], b: [String; 3], diff: String, p: String) {
        let fields = std::iter::once(csv_field(config)).chain(a).chain(b).chain([diff, p]);
        out.push_str(&fields.collect::<Vec<_>>().join(","));
        out.push('\n');
    }

    let mut out = String::from("config,a_mean,a_std,a_n,b_mean,b_std,b_n,diff,p\n");
    for r in &c.rows {
        line(&mut out, &r.config, side(Some(&r.a)), side(Some(&r.b)), num(r.diff), p_cell(r.p));
    }
    for o in &c.only_a {
        line(&mut out, &o.config, side(Some(&o.side)), side(None), String::new(), String::new());
    }
    for o in &c.only_b {
        line(&mut out, &o.config, side(None), side(Some(&o.side)), String::new(), String::new());
    }
    out
}

/// Quote a CSV field when it holds a separator, quote or newline (labels contain `, `).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// GitHub-flavoured Markdown table, for pasting into issues and reports.
pub fn render_markdown(c: &Comparison) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Comparing `{}`: A = `{}`, B = `{}` (mean ± std over done runs; p: two-sided Welch's t-test)",
        c.metric,
        c.a_path.display(),
        c.b_path.display()
    );
    out.push('\n');
    if c.rows.is_empty() {
        out.push_str("No configuration in common.\n");
    } else {
        out.push_str("| config | A | B | B − A | p |\n");
        out.push_str("| --- | ---: | ---: | ---: | ---: |\n");
        for r in &c.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&r.config),
                fmt_side(&r.a),
                fmt_side(&r.b),
                fmt_diff(r.diff),
                fmt_p(r.p)
            );
        }
    }
    for (label, list) in [("A", &c.only_a), ("B", &c.only_b)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\nOnly in {label}:\n");
        for o in list {
            let _ = writeln!(out, "- `{}`: {}", o.config, fmt_side(&o.side));
        }
    }
    if !c.notes.is_empty() {
        out.push('\n');
        for note in &c.notes {
            let _ = writeln!(out, "> Note: {note}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Write a summary.csv whose `final_test_acc` columns hold the given mean/std
    /// and whose other metrics hold distinct dummies (`<index>.000000`), so reading
    /// the wrong column shows up.
    fn write_summary(dir: &Path, name: &str, axes: &[&str], rows: &[(&[&str], usize, &str, &str)]) -> PathBuf {
        let mut text = axes.iter().map(|a| format!("{a},")).collect::<String>();
        text.push_str("runs,done,failed,diverged");
        for m in METRICS {
            let _ = write!(text, ",{m}_mean,{m}_std");
        }
        text.push('\n');
        for (values, n, mean, std) in rows {
            for v in *values {
                let _ = write!(text, "{v},");
            }
            let _ = write!(text, "{n},{n},0,0");
            for (i, m) in METRICS.iter().enumerate() {
                if *m == "final_test_acc" {
                    let _ = write!(text, ",{mean},{std}");
                } else {
                    let _ = write!(text, ",{i}.000000,");
                }
            }
            text.push('\n');
        }
        let path = dir.join(name);
        fs::create_dir_all(&path).unwrap();
        let file = path.join("summary.csv");
        fs::write(&file, text).unwrap();
        path
    }

    /// A and B share axes hidden and batch_size (in different column orders):
    /// three configurations in common, one only in each.
    fn fixture(dir: &Path) -> (Summary, Summary) {
        let a = write_summary(
            dir,
            "a",
            &["hidden", "batch_size"],
            &[
                (&["64", "40"], 4, "0.927500", "0.017078"),
                (&["64", "100"], 3, "0.806667", "0.025166"),
                (&["128", "40"], 1, "0.950000", ""),
                (&["128", "100"], 1, "0.900000", ""),
            ],
        );
        let b = write_summary(
            dir,
            "b",
            &["batch_size", "hidden"],
            &[
                (&["40", "64"], 3, "0.890000", "0.010000"),
                (&["100", "64"], 3, "0.900000", "0.036056"),
                (&["100", "128"], 3, "0.910000", "0.010000"),
                (&["40", "32"], 2, "0.800000", "0.020000"),
            ],
        );
        (read_summary(&a).unwrap(), read_summary(&b).unwrap())
    }

    fn assert_close(x: f64, y: f64) {
        assert!((x - y).abs() < 1e-9, "{x} vs {y}");
    }

    #[test]
    fn reads_directory_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let sweep = write_summary(dir.path(), "s", &["hidden"], &[(&["64"], 3, "0.500000", "0.010000")]);
        let from_dir = read_summary(&sweep).unwrap();
        let from_file = read_summary(&sweep.join("summary.csv")).unwrap();
        assert_eq!(from_dir, from_file);
        assert_eq!(from_dir.path, sweep.join("summary.csv"));
        assert_eq!(from_dir.axes, ["hidden"]);
        let row = &from_dir.rows[0];
        assert_eq!((row.values.as_slice(), row.n), (&["64".to_string()][..], 3));
        assert_eq!(row.metric("final_test_acc"), Some(MeanStd { mean: Some(0.5), std: Some(0.01) }));
        assert_eq!(row.metric("seconds"), Some(MeanStd { mean: Some(6.0), std: None }));
        assert_eq!(row.metric("nope"), None);
    }

    #[test]
    fn joins_on_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = fixture(dir.path());
        let c = compare(&a, &b, "final_test_acc").unwrap();
        let configs: Vec<&str> = c.rows.iter().map(|r| r.config.as_str()).collect();
        assert_eq!(configs, ["batch_size=40, hidden=64", "batch_size=100, hidden=64", "batch_size=100, hidden=128"]);
        assert_eq!(c.only_a.len(), 1);
        assert_eq!(c.only_a[0].config, "batch_size=40, hidden=128");
        assert_eq!(c.only_a[0].side, Side { mean: Some(0.95), std: None, n: 1 });
        assert_eq!(c.only_b.len(), 1);
        assert_eq!(c.only_b[0].config, "batch_size=40, hidden=32");
        assert!(c.notes.is_empty());

        // from scipy import stats
        // stats.ttest_ind_from_stats(0.9275, 0.017078, 4, 0.89, 0.01, 3, equal_var=False)
        // # statistic=3.6380711102618055, pvalue=0.015751291136949754
        // stats.ttest_ind_from_stats(0.806667, 0.025166, 3, 0.9, 0.036056, 3, equal_var=False)
        // # statistic=-3.6765390744611692, pvalue=0.025853937185224902
        // By hand (row 1): se = √(0.017078²/4 + 0.01²/3) = 0.0103078, t = 0.0375/0.0103078 = 3.638.
        let r = &c.rows[0];
        assert_eq!(r.a, Side { mean: Some(0.9275), std: Some(0.017078), n: 4 });
        assert_eq!(r.b, Side { mean: Some(0.89), std: Some(0.01), n: 3 });
        assert_close(r.diff.unwrap(), -0.0375);
        assert_close(r.p.unwrap(), 0.015751291136949754);
        let r = &c.rows[1];
        assert_close(r.diff.unwrap(), 0.093333);
        assert_close(r.p.unwrap(), 0.025853937185224902);
        // A has a single done run: difference defined, p not.
        let r = &c.rows[2];
        assert_close(r.diff.unwrap(), 0.01);
        assert_eq!(r.p, None);
    }

    #[test]
    fn renders_csv() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = fixture(dir.path());
        let c = compare(&a, &b, "final_test_acc").unwrap();
        assert_eq!(
            render_csv(&c),
            "config,a_mean,a_std,a_n,b_mean,b_std,b_n,diff,p\n\
             \"batch_size=40, hidden=64\",0.927500,0.017078,4,0.890000,0.010000,3,-0.037500,0.015751\n\
             \"batch_size=100, hidden=64\",0.806667,0.025166,3,0.900000,0.036056,3,0.093333,0.025854\n\
             \"batch_size=100, hidden=128\",0.900000,,1,0.910000,0.010000,3,0.010000,\n\
             \"batch_size=40, hidden=128\",0.950000,,1,,,,,\n\
             \"batch_size=40, hidden=32\",,,,0.800000,0.020000,2,,\n"
        );
    }

    #[test]
    fn renders_markdown() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = fixture(dir.path());
        let c = compare(&a, &b, "final_test_acc").unwrap();
        let expected = format!(
            "Comparing `final_test_acc`: A = `{}`, B = `{}` (mean ± std over done runs; p: two-sided Welch's t-test)\n\
             \n\
             | config | A | B | B − A | p |\n\
             | --- | ---: | ---: | ---: | ---: |\n\
             | batch_size=40, hidden=64 | 0.9275 ± 0.0171 (n=4) | 0.8900 ± 0.0100 (n=3) | -0.0375 | 0.0158 |\n\
             | batch_size=100, hidden=64 | 0.8067 ± 0.0252 (n=3) | 0.9000 ± 0.0361 (n=3) | +0.0933 | 0.0259 |\n\
             | batch_size=100, hidden=128 | 0.9000 (n=1) | 0.9100 ± 0.0100 (n=3) | +0.0100 | - |\n\
             \n\
             Only in A:\n\
             \n\
             - `batch_size=40, hidden=128`: 0.9500 (n=1)\n\
             \n\
             Only in B:\n\
             \n\
             - `batch_size=40, hidden=32`: 0.8000 ± 0.0200 (n=2)\n",
            a.path.display(),
            b.path.display()
        );
        assert_eq!(render_markdown(&c), expected);
    }

    #[test]
    fn renders_table() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = fixture(dir.path());
        let c = compare(&a, &b, "final_test_acc").unwrap();
        let table = render_table(&c);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], format!("A: {}", a.path.display()));
        assert_eq!(lines[1], format!("B: {}", b.path.display()));
        assert_eq!(
            &lines[4..],
            [
                "config                                          A                      B      B-A       p",
                "batch_size=40, hidden=64    0.9275 ± 0.0171 (n=4)  0.8900 ± 0.0100 (n=3)  -0.0375  0.0158",
                "batch_size=100, hidden=64   0.8067 ± 0.0252 (n=3)  0.9000 ± 0.0361 (n=3)  +0.0933  0.0259",
                "batch_size=100, hidden=128           0.9000 (n=1)  0.9100 ± 0.0100 (n=3)  +0.0100       -",
                "",
                "only in A: batch_size=40, hidden=128  0.9500 (n=1)",
                "only in B: batch_size=40, hidden=32   0.8000 ± 0.0200 (n=2)",
            ]
        );
    }

    #[test]
    fn small_p_formatting() {
        // stats.ttest_ind_from_stats(0.5, 0.001, 5, 0.6, 0.001, 5, equal_var=False)
        // # statistic=-158.11388300841892, pvalue=2.8638994063718378e-15
        let dir = tempfile::tempdir().unwrap();
        let a = write_summary(dir.path(), "a", &[], &[(&[], 5, "0.500000", "0.001000")]);
        let b = write_summary(dir.path(), "b", &[], &[(&[], 5, "0.600000", "0.001000")]);
        let c = compare(&read_summary(&a).unwrap(), &read_summary(&b).unwrap(), "final_test_acc").unwrap();
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.rows[0].config, "(no axes)");
        let p = c.rows[0].p.unwrap();
        assert!((p / 2.8638994063718378e-15 - 1.0).abs() < 1e-6, "{p}");
        assert!(render_table(&c).contains("  <1e-4\n"));
        assert!(render_csv(&c).ends_with(",0.100000,2.863899e-15\n"));
    }

    #[test]
    fn different_axis_sets() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_summary(
            dir.path(),
            "a",
            &["hidden", "momentum"],
            &[
                (&["64", "0.9"], 3, "0.900000", "0.010000"),
                (&["64", "0"], 3, "0.800000", "0.010000"),
                (&["128", "0.9"], 3, "0.950000", "0.010000"),
            ],
        );
        let b = write_summary(
            dir.path(),
            "b",
            &["hidden", "learning_rate"],
            &[(&["64.0", "1e-3"], 3, "0.850000", "0.010000"), (&["256", "1e-3"], 3, "0.700000", "0.010000")],
        );
        let c = compare(&read_summary(&a).unwrap(), &read_summary(&b).unwrap(), "final_test_acc").unwrap();
        let configs: Vec<&str> = c.rows.iter().map(|r| r.config.as_str()).collect();
        assert_eq!(
            configs,
            ["hidden=64, learning_rate=1e-3, momentum=0.9", "hidden=64, learning_rate=1e-3, momentum=0",]
        );
        assert_close(c.rows[0].diff.unwrap(), -0.05);
        assert_close(c.rows[1].diff.unwrap(), 0.05);
        assert_eq!(c.only_a[0].config, "hidden=128, momentum=0.9");
        assert_eq!(c.only_b[0].config, "hidden=256, learning_rate=1e-3");
        assert_eq!(
            c.notes,
            [
                "axes only in A: momentum; configurations were matched on the shared axes only (hidden)",
                "axes only in B: learning_rate; configurations were matched on the shared axes only (hidden)",
            ]
        );
        assert!(render_table(&c).contains("\nnote: axes only in A: momentum;"));
    }

    #[test]
    fn error_on_missing_summary() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = read_summary(&missing).unwrap_err().to_string();
        assert_eq!(err, format!("{}: no such file or directory", missing.display()));
        let err = read_summary(dir.path()).unwrap_err().to_string();
        let d = dir.path().display();
        assert_eq!(err, format!("{d}: no summary.csv here; run `pinniped summarize {d}` first"));
    }

    #[test]
    fn error_on_unknown_metric() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = fixture(dir.path());
        let err = compare(&a, &b, "accuracy").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown metric `accuracy`; valid metrics: final_train_acc, final_valid_acc, \
             final_test_acc, best_valid_acc, test_acc_at_best_valid, best_epoch, seconds"
        );
    }

    #[test]
    fn malformed_csv_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let sweep =
            write_summary(dir.path(), "s", &["hidden"], &[(&["64"], 3, "0.5", "0.1"), (&["128"], 3, "0.6", "0.1")]);
        let file = sweep.join("summary.csv");
        let good = fs::read_to_string(&file).unwrap();
        let f = file.display();
        let cases = [
            ("", format!("{f}: line 1: empty file; expected a summary.csv header")),
            ("hidden,done\n64,3\n", format!("{f}: line 1: header has no `runs` column")),
            (
                "hidden,runs,done,failed,diverged\n64,3,3,0,0\n",
                format!("{f}: line 1: header has no `final_train_acc_mean` column"),
            ),
            (&good.replacen("0.6,0.1", "0.6", 1), format!("{f}: line 3: 18 fields, but the header has 19")),
            (
                &good.replacen("0.6,0.1", "zero,0.1", 1),
                format!("{f}: line 3: `final_test_acc_mean` is `zero`, not a number"),
            ),
            (&good.replacen("128,3,3", "128,3,x", 1), format!("{f}: line 3: `done` is `x`, not a count")),
            (
                &good.replacen("128,", "64,", 1),
                format!("{f}: line 3: configuration `hidden=64` already appears on line 2"),
            ),
        ];
        for (text, expected) in cases {
            fs::write(&file, text).unwrap();
            let err = read_summary(&sweep).unwrap_err().to_string();
            assert_eq!(err, expected, "for input {text:?}");
        }
        let bytes = good.replacen("128,", "@,", 1).replace('@', "\u{1}").into_bytes();
        let bytes: Vec<u8> = bytes.into_iter().map(|b| if b == 1 { 0xff } else { b }).collect();
        fs::write(&file, bytes).unwrap();
        let err = read_summary(&file).unwrap_err().to_string();
        assert_eq!(err, format!("{f}: line 3: not valid UTF-8"));
    }
}
