//! `pinniped compare`: set two sweeps' `summary.csv` side by side on one metric,
//! pairing configurations whose whole resolved `[train]` configuration agrees and
//! testing each difference with Welch's t-test (the summaries keep only mean, std and
//! n, so that is the test we can do).

use std::collections::{BTreeMap, HashMap};
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
    #[error("--ignore {0}: not a [train] key or an axis of either summary{1}")]
    UnknownKey(String, String),
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
    /// Every `[train]` key's value for each row, resolved from the `sweep.toml` stored
    /// beside summary.csv; `None` for a bare summary.csv (then only its axes are known).
    pub configs: Option<Vec<BTreeMap<String, String>>>,
    /// The `data.sha256` stored beside summary.csv, if any.
    pub data_digest: Option<String>,
}

impl Summary {
    /// What is known of row `i`'s configuration: every key, or only the axes.
    fn known(&self, i: usize) -> BTreeMap<String, String> {
        match &self.configs {
            Some(c) => c[i].clone(),
            None => self.axes.iter().cloned().zip(self.rows[i].values.iter().cloned()).collect(),
        }
    }
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
    let mut summary = parse_summary(&file, &bytes)?;
    let stored = file.with_file_name(crate::exec::sweep::SWEEP_FILE);
    if stored.is_file() {
        let text = crate::fsx::read_text(&stored, crate::fsx::MAX_TEXT_BYTES)
            .map_err(|e| CompareError::Io { path: stored.clone(), message: e.to_string() })?;
        let configs = resolve_configs(&text, &summary).map_err(|message| CompareError::Malformed {
            path: stored.clone(),
            line: 1,
            message,
        })?;
        summary.configs = Some(configs);
    }
    let digest = file.with_file_name(crate::exec::sweep::DATA_DIGEST_FILE);
    summary.data_digest = crate::fsx::read_text(&digest, crate::fsx::MAX_TEXT_BYTES).ok().map(|d| d.trim().to_string());
    Ok(summary)
}

/// Each summary row's full configuration: the stored baseline with the row's axis
/// values applied, each axis value found among the values the stored `[sweep]` lists.
fn resolve_configs(stored: &str, summary: &Summary) -> Result<Vec<BTreeMap<String, String>>, String> {
    use crate::spec::plan::resolved_values;
    use crate::spec::sweep::with_value;
    let doc: toml::Table = stored.parse().map_err(|e: toml::de::Error| e.message().to_string())?;
    let table = |key: &str| match doc.get(key) {
        Some(toml::Value::Table(t)) => Ok(t.clone()),
        _ => Err(format!("no [{key}] table: not a sweep.toml written by pinniped")),
    };
    let baseline: crate::spec::TrainConfig = toml::Value::Table(table("train")?)
        .try_into()
        .map_err(|e: toml::de::Error| format!("[train]: {}", e.message()))?;
    let axes = table("sweep")?;
    let mut configs = Vec::new();
    for row in &summary.rows {
        let mut config = baseline.clone();
        for (axis, shown) in summary.axes.iter().zip(&row.values) {
            let listed =
                axes.get(axis).and_then(toml::Value::as_array).ok_or_else(|| format!("no axis `{axis}` in [sweep]"))?;
            // The baseline's own value (one-at-a-time rows), or one the axis lists.
            if resolved_values(&config).get(axis) == Some(shown) {
                continue;
            }
            let found = listed.iter().find_map(|v| {
                let c = with_value(&config, axis, v).ok()?;
                (resolved_values(&c).get(axis) == Some(shown)).then_some(c)
            });
            config = found.ok_or_else(|| {
                format!("[sweep] {axis} lists no value `{shown}` (summary.csv and sweep.toml disagree)")
            })?;
        }
        let mut values = resolved_values(&config);
        values.remove("seed"); // each run derives its own
        configs.push(values);
    }
    Ok(configs)
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
    Ok(Summary { path: path.to_path_buf(), axes, rows, configs: None, data_digest: None })
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

/// A configuration that was not compared.
#[derive(Debug, Clone, PartialEq)]
pub struct OneSided {
    pub config: String,
    pub side: Side,
    /// Why: how it differs from the closest row of the other sweep, or which rows it
    /// matches equally well.
    pub why: String,
}

/// The result of [`compare`], ready for the renderers.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub metric: String,
    pub a_path: PathBuf,
    pub b_path: PathBuf,
    /// Pairs of rows with the same configuration, in A's row order.
    pub rows: Vec<MatchedRow>,
    pub only_a: Vec<OneSided>,
    pub only_b: Vec<OneSided>,
    /// How rows were matched and what was not compared: printed first.
    pub notes: Vec<String>,
}

/// Compare `metric` between sweeps A and B, configuration by configuration.
///
/// Match rule: a row of A and a row of B are compared only when their whole
/// configurations agree: every `[train]` key (seeds aside), as resolved from each
/// sweep's stored `sweep.toml`, except the keys in `ignore`. A bare summary.csv knows
/// only its axis columns, and a key known on one side only never agrees. Each row is
/// paired with at most one row: one that matches several is ambiguous and left out.
/// Values agree when the strings are equal or both parse to the same number
/// (`0.001` = `1e-3`, `64` = `64.0`). Rows left out are listed in `only_a` / `only_b`
/// with the reason, and [`Comparison::notes`] says how the rows were matched.
///
/// # Errors
/// `metric` is not one of [`METRICS`], or an `ignore` key is neither a `[train]` key
/// nor an axis of either summary.
pub fn compare(a: &Summary, b: &Summary, metric: &str, ignore: &[String]) -> Result<Comparison> {
    let mi =
        METRICS.iter().position(|m| *m == metric).ok_or_else(|| CompareError::UnknownMetric(metric.to_string()))?;
    let mut known_keys = crate::spec::TrainConfig::keys();
    known_keys.extend(a.axes.iter().chain(&b.axes).cloned());
    for key in ignore {
        if !known_keys.contains(key) {
            let keys: Vec<&str> = known_keys.iter().map(String::as_str).collect();
            return Err(CompareError::UnknownKey(key.clone(), crate::spec::problems::suggest(key, &keys)).into());
        }
    }
    let (ka, kb): (Vec<_>, Vec<_>) =
        ((0..a.rows.len()).map(|i| a.known(i)).collect(), (0..b.rows.len()).map(|i| b.known(i)).collect());
    // The keys on which two rows differ (a key known on one side only differs).
    let differences = |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| -> Vec<String> {
        let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
        keys.into_iter()
            .filter(|k| !ignore.contains(k))
            .filter_map(|k| match (x.get(k), y.get(k)) {
                (Some(u), Some(v)) if same_value(u, v) => None,
                (u, v) => Some(format!(
                    "{k} (A: {}, B: {})",
                    u.map_or("not known", String::as_str),
                    v.map_or("not known", String::as_str)
                )),
            })
            .collect()
    };
    let diffs: Vec<Vec<Vec<String>>> = ka.iter().map(|x| kb.iter().map(|y| differences(x, y)).collect()).collect();
    let a_matches: Vec<Vec<usize>> =
        diffs.iter().map(|d| (0..kb.len()).filter(|&j| d[j].is_empty()).collect()).collect();
    let b_matches: Vec<Vec<usize>> =
        (0..kb.len()).map(|j| (0..ka.len()).filter(|&i| diffs[i][j].is_empty()).collect()).collect();

    let side = |row: &SummaryRow| Side { mean: row.metrics[mi].mean, std: row.metrics[mi].std, n: row.n };
    let a_label = |i: usize| config_label(a.axes.iter().zip(&a.rows[i].values));
    let b_label = |j: usize| config_label(b.axes.iter().zip(&b.rows[j].values));
    // Why a row was left out, given its matches and its differences from each row of the other side.
    let why = |matches: &[usize], diffs: Vec<&Vec<String>>, other: &str, label: &dyn Fn(usize) -> String| -> String {
        if matches.len() > 1 {
            let labels: Vec<String> = matches.iter().map(|&k| format!("`{}`", label(k))).collect();
            return format!("ambiguous: matches {} rows of {other} ({})", matches.len(), labels.join(", "));
        }
        if let [k] = matches {
            return format!("{other}'s `{}` also matches another row of this sweep", label(*k));
        }
        match diffs.iter().enumerate().min_by_key(|(_, d)| d.len()) {
            Some((k, d)) => format!("closest row of {other}, `{}`, differs in {}", label(k), d.join(", ")),
            None => format!("{other} has no rows"),
        }
    };

    let mut rows = Vec::new();
    let mut only_a = Vec::new();
    for (i, ra) in a.rows.iter().enumerate() {
        match a_matches[i][..] {
            [j] if b_matches[j].len() == 1 => {
                let rb = &b.rows[j];
                let mut pairs: BTreeMap<&String, String> =
                    a.axes.iter().zip(&ra.values).map(|(k, v)| (k, v.clone())).collect();
                for (k, v) in b.axes.iter().zip(&rb.values) {
                    let entry = pairs.entry(k).or_insert_with(|| v.clone());
                    if !same_value(entry, v) {
                        *entry = format!("{entry}/{v}"); // an ignored key: A's value / B's
                    }
                }
                let (sa, sb) = (side(ra), side(rb));
                let diff = sa.mean.zip(sb.mean).map(|(ma, mb)| mb - ma);
                let p = match (sa.mean, sa.std, sb.mean, sb.std) {
                    (Some(m1), Some(s1), Some(m2), Some(s2)) => welch(m1, s1, sa.n, m2, s2, sb.n).map(|w| w.p),
                    _ => None,
                };
                let label = config_label(pairs.iter().map(|(k, v)| (*k, v)));
                rows.push(MatchedRow { config: label, a: sa, b: sb, diff, p });
            }
            _ => only_a.push(OneSided {
                config: a_label(i),
                side: side(ra),
                why: why(&a_matches[i], diffs[i].iter().collect(), "B", &b_label),
            }),
        }
    }
    let only_b: Vec<OneSided> = (0..b.rows.len())
        .filter(|&j| !(b_matches[j].len() == 1 && a_matches[b_matches[j][0]].len() == 1))
        .map(|j| OneSided {
            config: b_label(j),
            side: side(&b.rows[j]),
            why: why(&b_matches[j], diffs.iter().map(|d| &d[j]).collect(), "A", &a_label),
        })
        .collect();

    let mut notes = Vec::new();
    let how = match (&a.configs, &b.configs) {
        (Some(_), Some(_)) => "rows are compared only where their whole configuration agrees (every [train] key, \
                               from each sweep's sweep.toml)"
            .to_string(),
        _ => {
            let bare: Vec<&str> =
                [("A", &a.configs), ("B", &b.configs)].iter().filter(|(_, c)| c.is_none()).map(|(l, _)| *l).collect();
            format!(
                "no sweep.toml beside the summary.csv of {}, so only axis columns are known: rows are compared \
                 only where every known axis agrees on both sides (give results directories to match whole \
                 configurations)",
                bare.join(" and ")
            )
        }
    };
    notes.push(how);
    if let (Some(da), Some(db)) = (&a.data_digest, &b.data_digest) {
        if da != db {
            notes.push("A and B were trained on different data (their data.sha256 differ)".into());
        }
    }
    if !ignore.is_empty() {
        notes.push(format!("ignored keys (--ignore): {}", ignore.join(", ")));
    }
    let left_out = only_a.len() + only_b.len();
    if left_out > 0 {
        notes.push(format!(
            "{} of A's {} and {} of B's {} configurations have no single match and are not compared (listed below \
             with the keys they differ in; --ignore KEY compares them anyway)",
            only_a.len(),
            a.rows.len(),
            only_b.len(),
            b.rows.len()
        ));
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
    for note in &c.notes {
        let _ = writeln!(out, "note: {note}");
    }
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
            let _ = writeln!(out, "not compared, {label}: {:<w$}  {}  {}", o.config, fmt_side(&o.side), o.why);
        }
    }
    out
}

/// CSV with columns `config,a_mean,a_std,a_n,b_mean,b_std,b_n,diff,p,not_compared`;
/// configurations not compared come last with the other side's cells empty and the
/// reason in `not_compared`, so nothing is lost.
pub fn render_csv(c: &Comparison) -> String {
    fn num(x: Option<f64>) -> String {
        x.map_or_else(String::new, super::csv_number)
    }
    let p_cell = num;
    fn side(s: Option<&Side>) -> [String; 3] {
        s.map_or_else(Default::default, |s| [num(s.mean), num(s.std), s.n.to_string()])
    }
    fn line(out: &mut String, config: &str, a: [String; 3], b: [String; 3], diff: String, p: String, why: &str) {
        let fields = std::iter::once(csv_field(config)).chain(a).chain(b).chain([diff, p, csv_field(why)]);
        out.push_str(&fields.collect::<Vec<_>>().join(","));
        out.push('\n');
    }

    let mut out = String::from("config,a_mean,a_std,a_n,b_mean,b_std,b_n,diff,p,not_compared\n");
    for r in &c.rows {
        line(&mut out, &r.config, side(Some(&r.a)), side(Some(&r.b)), num(r.diff), p_cell(r.p), "");
    }
    for o in &c.only_a {
        line(&mut out, &o.config, side(Some(&o.side)), side(None), String::new(), String::new(), &o.why);
    }
    for o in &c.only_b {
        line(&mut out, &o.config, side(None), side(Some(&o.side)), String::new(), String::new(), &o.why);
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
    for note in &c.notes {
        let _ = writeln!(out, "> Note: {note}\n");
    }
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
        let _ = writeln!(out, "\nNot compared, {label}:\n");
        for o in list {
            let _ = writeln!(out, "- `{}`: {} — {}", o.config, fmt_side(&o.side), cell(&o.why));
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
        let c = compare(&a, &b, "final_test_acc", &[]).unwrap();
        let configs: Vec<&str> = c.rows.iter().map(|r| r.config.as_str()).collect();
        assert_eq!(configs, ["batch_size=40, hidden=64", "batch_size=100, hidden=64", "batch_size=100, hidden=128"]);
        assert_eq!(c.only_a.len(), 1);
        assert_eq!(c.only_a[0].config, "batch_size=40, hidden=128");
        assert_eq!(c.only_a[0].side, Side { mean: Some(0.95), std: None, n: 1 });
        assert_eq!(c.only_b.len(), 1);
        assert_eq!(c.only_b[0].config, "batch_size=40, hidden=32");
        assert_eq!(c.only_a[0].why, "closest row of B, `batch_size=40, hidden=64`, differs in hidden (A: 128, B: 64)");
        assert!(c.notes[0].contains("only axis columns are known"), "{:?}", c.notes);
        assert!(c.notes[1].starts_with("1 of A's 4 and 1 of B's 4 configurations"), "{:?}", c.notes);
        assert!(!c.notes.iter().any(|n| n.contains("different data")));
        // Results directories that record different data digests say so.
        fs::write(dir.path().join("a/data.sha256"), "aaaa\n").unwrap();
        fs::write(dir.path().join("b/data.sha256"), "bbbb\n").unwrap();
        let (a2, b2) = (read_summary(&a.path).unwrap(), read_summary(&b.path).unwrap());
        let notes = compare(&a2, &b2, "final_test_acc", &[]).unwrap().notes;
        assert!(notes.iter().any(|n| n.contains("trained on different data")), "{notes:?}");

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
        let c = compare(&a, &b, "final_test_acc", &[]).unwrap();
        let csv = render_csv(&c);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(header, ["config", "a_mean", "a_std", "a_n", "b_mean", "b_std", "b_n", "diff", "p", "not_compared"]);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 5, "3 pairs, then one row of each side");
        let cell = |r: usize, k: usize| records[r][k].parse::<f64>().ok();
        for (r, row) in c.rows.iter().enumerate() {
            assert_eq!(&records[r][0], row.config);
            // Numbers are exact: they parse back to the very values compared.
            assert_eq!((cell(r, 1), cell(r, 2), cell(r, 7), cell(r, 8)), (row.a.mean, row.a.std, row.diff, row.p));
            assert_eq!(&records[r][9], "");
        }
        assert_eq!(&records[0][1], "0.9275");
        assert_eq!(&records[2][2], "", "undefined std stays empty");
        assert_eq!(
            (&records[3][0], &records[3][4], &records[3][9]),
            ("batch_size=40, hidden=128", "", c.only_a[0].why.as_str())
        );
        assert_eq!((&records[4][0], &records[4][1], &records[4][6]), ("batch_size=40, hidden=32", "", "2"));
    }

    #[test]
    fn renders_markdown() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = fixture(dir.path());
        let c = compare(&a, &b, "final_test_acc", &[]).unwrap();
        let md = render_markdown(&c);
        let lines: Vec<&str> = md.lines().collect();
        assert!(
            lines[2].starts_with("> Note: no sweep.toml beside the summary.csv of A and B"),
            "notes come first: {md}"
        );
        for expected in [
            "| config | A | B | B − A | p |",
            "| batch_size=40, hidden=64 | 0.9275 ± 0.0171 (n=4) | 0.8900 ± 0.0100 (n=3) | -0.0375 | 0.0158 |",
            "| batch_size=100, hidden=64 | 0.8067 ± 0.0252 (n=3) | 0.9000 ± 0.0361 (n=3) | +0.0933 | 0.0259 |",
            "| batch_size=100, hidden=128 | 0.9000 (n=1) | 0.9100 ± 0.0100 (n=3) | +0.0100 | - |",
            "Not compared, A:",
            "- `batch_size=40, hidden=128`: 0.9500 (n=1) — closest row of B, `batch_size=40, hidden=64`, differs in hidden (A: 128, B: 64)",
            "Not compared, B:",
        ] {
            assert!(lines.contains(&expected), "no line `{expected}` in\n{md}");
        }
    }

    #[test]
    fn renders_table() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = fixture(dir.path());
        let c = compare(&a, &b, "final_test_acc", &[]).unwrap();
        let table = render_table(&c);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], format!("A: {}", a.path.display()));
        assert_eq!(lines[1], format!("B: {}", b.path.display()));
        assert!(lines[3].starts_with("note: no sweep.toml beside the summary.csv of A and B"), "{table}");
        let start = lines.iter().position(|l| l.starts_with("config ")).unwrap();
        assert_eq!(
            &lines[start..start + 4],
            [
                "config                                          A                      B      B-A       p",
                "batch_size=40, hidden=64    0.9275 ± 0.0171 (n=4)  0.8900 ± 0.0100 (n=3)  -0.0375  0.0158",
                "batch_size=100, hidden=64   0.8067 ± 0.0252 (n=3)  0.9000 ± 0.0361 (n=3)  +0.0933  0.0259",
                "batch_size=100, hidden=128           0.9000 (n=1)  0.9100 ± 0.0100 (n=3)  +0.0100       -",
            ]
        );
        assert!(lines
            .iter()
            .any(|l| l.starts_with("not compared, A: batch_size=40, hidden=128  0.9500 (n=1)  closest")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("not compared, B: batch_size=40, hidden=32   0.8000 ± 0.0200 (n=2)")));
    }

    #[test]
    fn small_p_formatting() {
        // stats.ttest_ind_from_stats(0.5, 0.001, 5, 0.6, 0.001, 5, equal_var=False)
        // # statistic=-158.11388300841892, pvalue=2.8638994063718378e-15
        let dir = tempfile::tempdir().unwrap();
        let a = write_summary(dir.path(), "a", &[], &[(&[], 5, "0.500000", "0.001000")]);
        let b = write_summary(dir.path(), "b", &[], &[(&[], 5, "0.600000", "0.001000")]);
        let c = compare(&read_summary(&a).unwrap(), &read_summary(&b).unwrap(), "final_test_acc", &[]).unwrap();
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.rows[0].config, "(no axes)");
        let p = c.rows[0].p.unwrap();
        assert!((p / 2.8638994063718378e-15 - 1.0).abs() < 1e-6, "{p}");
        assert!(render_table(&c).contains("  <1e-4\n"));
        let csv = render_csv(&c);
        let p_cell = csv.lines().nth(1).unwrap().split(',').nth(8).unwrap();
        assert_eq!(p_cell.parse::<f64>().unwrap(), p, "exact, in exponent form: {p_cell}");
        assert!(p_cell.contains('e'), "{p_cell}");
    }

    /// Axes present on one side only are not known on the other: no row is paired
    /// with several, nothing is compared across an unshared axis unless `--ignore`d.
    #[test]
    fn different_axis_sets_compare_nothing_unless_ignored() {
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
        let (a, b) = (read_summary(&a).unwrap(), read_summary(&b).unwrap());
        let c = compare(&a, &b, "final_test_acc", &[]).unwrap();
        assert!(c.rows.is_empty(), "{:?}", c.rows);
        assert_eq!((c.only_a.len(), c.only_b.len()), (3, 2));
        assert!(c.only_a[0].why.contains("learning_rate (A: not known, B: 1e-3)"), "{}", c.only_a[0].why);
        assert!(c.only_a[0].why.contains("momentum (A: 0.9, B: not known)"), "{}", c.only_a[0].why);

        // Ignoring both one-sided axes: B's hidden=64 row matches two A rows, which is ambiguous.
        let ignore = ["momentum".to_string(), "learning_rate".to_string()];
        let c = compare(&a, &b, "final_test_acc", &ignore).unwrap();
        assert!(c.rows.is_empty(), "{:?}", c.rows);
        assert!(c.only_b[0].why.starts_with("ambiguous: matches 2 rows of A"), "{}", c.only_b[0].why);
        assert!(c.notes.iter().any(|n| n == "ignored keys (--ignore): momentum, learning_rate"));

        // With one A row per hidden value the pairing is one to one.
        let a1 =
            write_summary(dir.path(), "a1", &["hidden", "momentum"], &[(&["64", "0.9"], 3, "0.900000", "0.010000")]);
        let c = compare(&read_summary(&a1).unwrap(), &b, "final_test_acc", &ignore).unwrap();
        let configs: Vec<&str> = c.rows.iter().map(|r| r.config.as_str()).collect();
        assert_eq!(configs, ["hidden=64, learning_rate=1e-3, momentum=0.9"]);
        assert_close(c.rows[0].diff.unwrap(), -0.05);
        assert_eq!(c.only_b[0].config, "hidden=256, learning_rate=1e-3");

        let err = compare(&a, &b, "final_test_acc", &["momentun".to_string()]).unwrap_err().to_string();
        assert!(err.contains("--ignore momentun") && err.contains("did you mean `momentum`"), "{err}");
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
        let err = compare(&a, &b, "accuracy", &[]).unwrap_err().to_string();
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
