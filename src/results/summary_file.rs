//! `summary.csv`: one row per configuration (written by `report::summary` from the runs'
//! records). Its columns and the one reader `compare`, `rank` and report.html use: the axes,
//! `runs, done, failed, diverged, n`, then per metric of [`METRICS`] its mean and std (and
//! for the accuracies the 95% t interval), then the ensemble's test accuracy.

use std::collections::HashMap;

/// The per-run metrics summary.csv summarises, in column order.
pub(crate) const METRICS: [&str; 7] = [
    "final_train_acc",
    "final_valid_acc",
    "final_test_acc",
    "best_valid_acc",
    "test_acc_at_best_valid",
    "best_epoch",
    "seconds",
];

/// The accuracy metrics (the first five of [`METRICS`]): summary.csv gives each a 95% t interval.
pub(crate) const ACC_METRICS: usize = 5;

/// Config label used when a sweep has no axis columns (a single configuration).
pub(crate) const NO_AXES: &str = "(no axes)";

/// The header line of summary.csv (without its newline) for a sweep over `axes`.
pub fn header(axes: &[String]) -> String {
    let mut s = String::new();
    for a in axes {
        s.push_str(a);
        s.push(',');
    }
    s.push_str(&COUNT_COLUMNS.join(","));
    for (k, m) in METRICS.iter().enumerate() {
        s.push_str(&format!(",{m}_mean,{m}_std"));
        if k < ACC_METRICS {
            s.push_str(&format!(",{m}_ci_low,{m}_ci_high"));
        }
    }
    for c in ENSEMBLE_COLUMNS {
        s.push(',');
        s.push_str(c);
    }
    s
}

/// What is wrong with a summary.csv, at which line.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    pub line: u64,
    pub message: String,
}

/// A summary.csv as read: its axis columns and rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SummaryTable {
    /// Axis column names, in file order; possibly empty.
    pub axes: Vec<String>,
    pub rows: Vec<SummaryRow>,
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
    /// Axis values as written, parallel to [`SummaryTable::axes`].
    pub values: Vec<String>,
    /// `done`: the number of runs the means are taken over (n for the t-test).
    pub n: usize,
    /// Per-metric statistics, parallel to [`METRICS`].
    pub metrics: [MeanStd; METRICS.len()],
    /// The line of summary.csv it was read from (for error messages).
    pub line: u64,
    /// The other columns pinniped writes (report.html shows them); empty where a file (a
    /// summary written by hand, say) lacks them.
    pub more: RowDetails,
}

/// The `runs, failed, diverged, n` counts, the accuracies' 95% t intervals and the ensemble's
/// test accuracy of a summary.csv row; `None` for an empty cell or a column the file lacks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowDetails {
    pub runs: Option<usize>,
    pub failed: Option<usize>,
    pub diverged: Option<usize>,
    /// Done runs with a result: the runs the means are over.
    pub n: Option<usize>,
    /// `<metric>_ci_low`, `<metric>_ci_high` of the first [`ACC_METRICS`] metrics.
    pub ci: [(Option<f64>, Option<f64>); ACC_METRICS],
    /// `ensemble_test_acc, ensemble_test_ci_low, ensemble_test_ci_high`.
    pub ensemble: [Option<f64>; 3],
}

/// The count columns after the axes, in file order.
pub(crate) const COUNT_COLUMNS: [&str; 5] = ["runs", "done", "failed", "diverged", "n"];

/// The ensemble's columns, last in the file.
pub(crate) const ENSEMBLE_COLUMNS: [&str; 3] = ["ensemble_test_acc", "ensemble_test_ci_low", "ensemble_test_ci_high"];

impl SummaryRow {
    /// Statistics of `metric`, or `None` for a name not in [`METRICS`].
    pub fn metric(&self, metric: &str) -> Option<MeanStd> {
        METRICS.iter().position(|m| *m == metric).map(|i| self.metrics[i])
    }
}

/// Parses summary.csv content: axes are whatever precedes `runs`, every metric needs its
/// `_mean` and `_std` columns, an empty or NaN cell is undefined, a configuration appears once.
pub fn parse(bytes: &[u8]) -> Result<SummaryTable, Malformed> {
    let malformed = |line: u64, message: String| Malformed { line, message };
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
    // Columns a summary may lack (one written by hand, or before they existed).
    let optional = |name: &str| column(name).ok();
    let [failed_col, diverged_col, n_col] = ["failed", "diverged", "n"].map(optional);
    let ci_cols: [(Option<usize>, Option<usize>); ACC_METRICS] = std::array::from_fn(|k| {
        (optional(&format!("{}_ci_low", METRICS[k])), optional(&format!("{}_ci_high", METRICS[k])))
    });
    let ensemble_cols = ENSEMBLE_COLUMNS.map(optional);

    let mut rows = Vec::new();
    let mut seen: HashMap<Vec<String>, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, csv::Position::line);
        let values: Vec<String> = record.iter().take(runs).map(str::to_string).collect();
        let done = &record[done_col];
        let n = done.parse().map_err(|_| malformed(line, format!("`done` is `{done}`, not a count")))?;
        let number = |col: usize| -> Result<Option<f64>, Malformed> {
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
        let maybe_number = |col: Option<usize>| col.map_or(Ok(None), number);
        let count = |col: Option<usize>| -> Result<Option<usize>, Malformed> {
            let Some(col) = col else { return Ok(None) };
            match &record[col] {
                "" => Ok(None),
                cell => cell
                    .parse()
                    .map(Some)
                    .map_err(|_| malformed(line, format!("`{}` is `{cell}`, not a count", header[col]))),
            }
        };
        let mut ci = [(None, None); ACC_METRICS];
        for (interval, &(low, high)) in ci.iter_mut().zip(&ci_cols) {
            *interval = (maybe_number(low)?, maybe_number(high)?);
        }
        let mut ensemble = [None; 3];
        for (value, &col) in ensemble.iter_mut().zip(&ensemble_cols) {
            *value = maybe_number(col)?;
        }
        let more = RowDetails {
            runs: count(Some(runs))?,
            failed: count(failed_col)?,
            diverged: count(diverged_col)?,
            n: count(n_col)?,
            ci,
            ensemble,
        };
        if let Some(first) = seen.insert(values.clone(), line) {
            let config = config_label(axes.iter().zip(&values));
            return Err(malformed(line, format!("configuration `{config}` already appears on line {first}")));
        }
        rows.push(SummaryRow { values, n, metrics, line, more });
    }
    Ok(SummaryTable { axes, rows })
}

/// `axis=value` pairs sorted by axis name, so a label does not depend on column order.
pub(crate) fn config_label<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    let mut pairs: Vec<_> = pairs.collect();
    if pairs.is_empty() {
        return NO_AXES.to_string();
    }
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}
