//! `pinniped compare`: set two sweeps' `summary.csv` side by side on one metric,
//! matching configurations whose whole resolved `[train]` configuration agrees, and
//! testing each difference.
//!
//! Two results directories made with the same data, seed, pairing scheme, resampling
//! and repeats are compared **paired**: run `r` of a configuration in A and run `r` of it
//! in B saw the same split, so the per-repeat differences cancel the split-to-split
//! noise (paired t-test, Nadeau–Bengio corrected for k-fold, and Wilcoxon signed-rank).
//! Otherwise the runs' values are compared **unpaired** (Welch's t-test), and the
//! output says why. p-values are also given Holm-adjusted across the compared rows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use thiserror::Error;

use super::stats::{mean_std, welch, welch_interval};
use crate::spec::sweep::Pairing;
use crate::spec::InputError;
use crate::stats::wilcoxon::{wilcoxon, Alternative};
use crate::stats::{corrected_resampled_t, holm, paired_t};

use crate::results::summary_file;
/// Metrics a summary.csv carries, in column order; each has `<metric>_mean,<metric>_std`.
pub(crate) use crate::results::summary_file::{config_label, SummaryRow, METRICS};

/// Confidence level of the intervals of the differences.
const LEVEL: f64 = 0.95;

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
    /// The sweep stored beside summary.csv (or its run directories) is refused as input.
    #[error(transparent)]
    Input(#[from] InputError),
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
    pub(crate) data_digest: Option<String>,
    /// How the runs were made and each row's done runs, from the results directory;
    /// `None` for a bare summary.csv.
    pub stored: Option<StoredSweep>,
}

/// What a results directory says about how its runs were made: what decides whether
/// two sweeps' runs pair, repeat by repeat.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSweep {
    pub seed: u64,
    pub repeats: usize,
    /// The stored scheme; a sweep.toml without `pairing` (made before it existed) is `none`.
    pub pairing: Pairing,
    /// The `[data]` keys other than the file paths (whose bytes data.sha256 covers), as
    /// TOML values: the split depends on them.
    pub data: BTreeMap<String, String>,
    /// Folds of k-fold resampling (the Nadeau–Bengio correction); `None` for a holdout.
    pub folds: Option<usize>,
    /// Per summary row: its done runs.
    pub runs: Vec<Vec<RunValues>>,
    /// Per summary row: its configuration's id in the plan (`baseline`, `batch_size=40`).
    pub(crate) config_ids: Vec<String>,
    /// The sweep's `name` and `[data] train` file: what `pinniped rank` names a dataset by.
    pub name: String,
    pub(crate) train_file: PathBuf,
}

/// One done run's metric values (non-finite ones as `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunValues {
    /// The run's `repeat` (plan.csv): the pairing key.
    pub repeat: usize,
    pub metrics: [Option<f64>; METRICS.len()],
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
pub fn read_summary(path: &Path) -> Result<Summary, CompareError> {
    let file = if path.is_dir() {
        let file = path.join(crate::results::layout::SUMMARY_FILE);
        if !file.is_file() {
            return Err(CompareError::NoSummary(path.to_path_buf()));
        }
        file
    } else if path.exists() {
        path.to_path_buf()
    } else {
        return Err(CompareError::NotFound(path.to_path_buf()));
    };
    let bytes = crate::fsx::read_bounded(&file, crate::fsx::MAX_TABLE_BYTES)
        .map_err(|e| CompareError::Io { path: file.clone(), message: e.to_string() })?;
    let mut summary = parse_summary(&file, &bytes)?;
    let stored = file.with_file_name(crate::results::layout::SWEEP_FILE);
    if stored.is_file() {
        let root = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        read_stored(root, &stored, &mut summary)?;
    }
    summary.data_digest = crate::results::data_digest::read(file.parent().unwrap_or(Path::new("")));
    Ok(summary)
}

/// From the sweep stored beside summary.csv and its plan: each row's full configuration
/// (seeds aside), its done runs, and how the runs were made ([`StoredSweep`]).
fn read_stored(root: &Path, stored: &Path, summary: &mut Summary) -> Result<(), CompareError> {
    use crate::spec::plan::resolved_values;
    // Nothing pinniped reads here (sweep.toml, run directories) may lead outside the results directory.
    crate::results::layout::check_no_symlinked_files(root)?;
    let sweep = crate::spec::load_stored_sweep(stored)?;
    if !sweep.datasets.is_empty() {
        return Err(InputError::message(format!(
            "{} holds a sweep over {} datasets; compare matches the configurations of two one-dataset sweeps: \
             rank the configurations across the datasets with `pinniped rank {}`",
            root.display(),
            sweep.datasets.len(),
            root.display()
        ))
        .into());
    }
    let plan = crate::spec::expand(&sweep)?;
    crate::results::layout::check_no_symlinks(root, &plan)?;
    let malformed = |line: u64, message: String| CompareError::Malformed { path: summary.path.clone(), line, message };
    let stale = format!(
        "summary.csv and {} disagree; run `pinniped summarize {}` to rebuild it",
        stored.display(),
        root.display()
    );
    let mut columns = Vec::new();
    for axis in &summary.axes {
        let k = plan.axes.iter().position(|a| a == axis);
        columns.push(k.ok_or_else(|| malformed(1, format!("`{axis}` is not an axis of the stored sweep: {stale}")))?);
    }
    if let Some(missing) = plan.axes.iter().find(|a| !summary.axes.contains(a)) {
        return Err(malformed(1, format!("no column for the sweep's axis `{missing}`: {stale}")));
    }
    let mut configs = Vec::new();
    let mut runs = Vec::new();
    let mut config_ids = Vec::new();
    for row in &summary.rows {
        let k = plan
            .configs
            .iter()
            .position(|c| columns.iter().zip(&row.values).all(|(&col, v)| same_value(&c.axis_values[col], v)))
            .ok_or_else(|| {
                let label = config_label(summary.axes.iter().zip(&row.values));
                malformed(row.line, format!("configuration `{label}` is not in the stored sweep's plan: {stale}"))
            })?;
        let mut values = resolved_values(&plan.configs[k].train);
        values.remove("seed"); // each run derives its own
                               // Which files a run keeps changes nothing it trained.
        for key in ["plots", "plot_every", "diagnostics", "checkpoints", "predictions", "state_every"] {
            values.remove(key);
        }
        configs.push(values);
        config_ids.push(plan.configs[k].id.clone());
        runs.push(
            plan.runs
                .iter()
                .filter(|r| r.config == k)
                .filter_map(|r| {
                    let rec = super::summary::read_run(&crate::results::layout::run_dir(root, &r.id));
                    // Only done runs count, as in summary.csv: a diverged run's NaNs never do.
                    (rec.state == Some(crate::results::rundir::State::Done)).then(|| RunValues {
                        repeat: r.repeat,
                        metrics: rec.metrics().map(|v| v.filter(|v| v.is_finite())),
                    })
                })
                .collect(),
        );
    }
    // Defaults spelled out, so that `resample = "holdout"` written and left out agree.
    let mut data = sweep.data.without_paths();
    (data.resample, data.folds, data.stratify) = (Some(data.resample()), data.folds(), Some(data.stratify()));
    let data = match toml::Value::try_from(data) {
        Ok(toml::Value::Table(t)) => {
            t.into_iter().filter(|(k, _)| k != "train" && k != "test").map(|(k, v)| (k, v.to_string())).collect()
        }
        _ => BTreeMap::new(),
    };
    summary.configs = Some(configs);
    summary.stored = Some(StoredSweep {
        seed: sweep.seed,
        repeats: sweep.repeats,
        pairing: sweep.pairing,
        data,
        folds: sweep.data.folds(),
        runs,
        config_ids,
        name: sweep.name.clone(),
        train_file: sweep.data.train.clone(),
    });
    Ok(())
}

/// Parse summary.csv content (`results::summary_file`); `path` is only used in error messages
/// and the result.
fn parse_summary(path: &Path, bytes: &[u8]) -> Result<Summary, CompareError> {
    let table = summary_file::parse(bytes).map_err(|summary_file::Malformed { line, message }| {
        CompareError::Malformed { path: path.to_path_buf(), line, message }
    })?;
    Ok(Summary {
        path: path.to_path_buf(),
        axes: table.axes,
        rows: table.rows,
        configs: None,
        data_digest: None,
        stored: None,
    })
}

/// One side of a compared configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Side {
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// Done runs (those with a value of the metric, where the runs are known).
    pub n: usize,
}

/// A configuration found in both sweeps.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedRow {
    /// `axis=value` pairs sorted by axis name, e.g. `batch_size=40, hidden=64`.
    pub config: String,
    pub a: Side,
    pub b: Side,
    /// Paired: the mean of the per-repeat differences B − A (over the repeats done on both
    /// sides). Unpaired: B mean − A mean. `None` when undefined.
    pub diff: Option<f64>,
    /// 95% confidence interval of `diff` (low, high), from the same test as `p`.
    pub ci: Option<(f64, f64)>,
    /// Two-sided p-value of the row's test (see [`Test`]); `None` when undefined (fewer
    /// than 2 runs, or pairs, on a side).
    pub p: Option<f64>,
    /// `p` Holm-adjusted across the compared rows whose `p` is defined.
    pub p_holm: Option<f64>,
    /// Paired only: two-sided Wilcoxon signed-rank p of the per-repeat differences.
    pub wilcoxon_p: Option<f64>,
    /// Paired only: the number of repeats done on both sides.
    pub pairs: Option<usize>,
}

/// How the rows' differences were tested: the same for every row of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Run `r` of A and run `r` of B share their split: per-repeat differences, paired
    /// t-test (Nadeau–Bengio corrected when `folds` is k-fold's) and Wilcoxon signed-rank.
    Paired {
        /// What A and B share, for the output: `seed 3, pairing split, holdout, 2 repeats`.
        shared: String,
        folds: Option<usize>,
    },
    /// Welch's t-test on the runs' values, and why the runs do not pair.
    Unpaired { why: String },
}

impl Test {
    /// The CSV `test` cell: `paired-t`, `nadeau-bengio` or `welch`.
    pub fn word(&self) -> &'static str {
        match self {
            Test::Paired { folds: None, .. } => "paired-t",
            Test::Paired { folds: Some(_), .. } => "nadeau-bengio",
            Test::Unpaired { .. } => "welch",
        }
    }

    /// One sentence for the terminal and Markdown: which test, and why.
    pub fn describe(&self) -> String {
        let holm = "p Holm: p adjusted across the compared rows (Holm)";
        match self {
            Test::Paired { shared, folds } => {
                let t = match folds {
                    None => "paired t-test".to_string(),
                    Some(k) => {
                        format!("paired t-test, Nadeau–Bengio corrected for {k}-fold (n_test/n_train = 1/{})", k - 1)
                    }
                };
                format!(
                    "paired by repeat (A and B share data, {shared}): B-A is the mean of the per-repeat differences; \
                     95% CI and p: {t}; Wilcoxon: signed-rank p; {holm}"
                )
            }
            Test::Unpaired { why } => {
                format!("unpaired: {why}; B-A is the difference of the means; 95% CI and p: Welch's t-test; {holm}")
            }
        }
    }
}

/// Whether the runs of A and B pair repeat by repeat: same data (bytes and `[data]`
/// keys), seed, pairing scheme (not `none`) and repeats; if not, every reason why.
fn test_for(a: &Summary, b: &Summary) -> Test {
    let (Some(sa), Some(sb)) = (&a.stored, &b.stored) else {
        let bare: Vec<&str> =
            [("A", &a.stored), ("B", &b.stored)].iter().filter(|(_, s)| s.is_none()).map(|(l, _)| *l).collect();
        let what = if bare.len() == 2 {
            "are bare summary.csv files (no sweep.toml beside them), so their"
        } else {
            "is a bare summary.csv (no sweep.toml beside it), so its"
        };
        return Test::Unpaired { why: format!("{} {what} runs are not known", bare.join(" and ")) };
    };
    let mut why = Vec::new();
    let none = "(each configuration drew its own split)";
    match (sa.pairing, sb.pairing) {
        (Pairing::None, Pairing::None) => why.push(format!("both sweeps were made with pairing = \"none\" {none}")),
        (Pairing::None, _) | (_, Pairing::None) => {
            let side = if sa.pairing == Pairing::None { "A" } else { "B" };
            why.push(format!("{side} was made with pairing = \"none\" {none}"));
        }
        (x, y) if x != y => {
            why.push(format!("the sweeps were made with different pairing schemes ({}, {})", x.word(), y.word()))
        }
        _ => {}
    }
    if sa.seed != sb.seed {
        why.push(format!("the sweeps were made with different seeds ({}, {})", sa.seed, sb.seed));
    }
    if sa.repeats != sb.repeats {
        why.push(format!("the sweeps have different numbers of repeats ({}, {})", sa.repeats, sb.repeats));
    }
    match (&a.data_digest, &b.data_digest) {
        (Some(x), Some(y)) if x == y => {}
        (Some(_), Some(_)) => why.push("the sweeps were trained on different data (their data.sha256 differ)".into()),
        _ => {
            let missing: Vec<&str> = [("A", &a.data_digest), ("B", &b.data_digest)]
                .iter()
                .filter(|(_, d)| d.is_none())
                .map(|(l, _)| *l)
                .collect();
            why.push(format!(
                "{} has no data.sha256, so the data cannot be shown to be the same",
                missing.join(" and ")
            ));
        }
    }
    let keys: std::collections::BTreeSet<&String> = sa.data.keys().chain(sb.data.keys()).collect();
    let data: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let (x, y) = (sa.data.get(k), sb.data.get(k));
            (x != y)
                .then(|| format!("{k} ({}, {})", x.map_or("unset", String::as_str), y.map_or("unset", String::as_str)))
        })
        .collect();
    if !data.is_empty() {
        why.push(format!("their [data] tables differ in {}", data.join(", ")));
    }
    if !why.is_empty() {
        return Test::Unpaired { why: why.join("; ") };
    }
    use crate::output::count;
    let runs = match sa.folds {
        None => format!("holdout, {}", count(sa.repeats, "repeat")),
        Some(k) => format!("{k}-fold × {}", count(sa.repeats, "repetition")),
    };
    Test::Paired { shared: format!("seed {}, pairing {}, {runs}", sa.seed, sa.pairing.word()), folds: sa.folds }
}

/// A row's values of metric `mi` by repeat, when its runs are known.
fn run_values(s: &Summary, row: usize, mi: usize) -> Option<Vec<(usize, f64)>> {
    let runs = &s.stored.as_ref()?.runs[row];
    Some(runs.iter().filter_map(|r| r.metrics[mi].map(|v| (r.repeat, v))).collect())
}

/// Difference, CI and tests of one matched row (`p_holm` is filled in across rows later).
fn test_row(
    test: &Test,
    config: String,
    a: Side,
    b: Side,
    va: Option<&[(usize, f64)]>,
    vb: Option<&[(usize, f64)]>,
) -> MatchedRow {
    let mut row =
        MatchedRow { config, a, b, diff: None, ci: None, p: None, p_holm: None, wilcoxon_p: None, pairs: None };
    match (test, va, vb) {
        (Test::Paired { folds, .. }, Some(va), Some(vb)) => {
            // Repeat r of A against repeat r of B; a repeat not done on both sides has no pair.
            let (xa, xb): (Vec<f64>, Vec<f64>) =
                va.iter().filter_map(|(r, x)| vb.iter().find(|(q, _)| q == r).map(|(_, y)| (*x, *y))).unzip();
            row.pairs = Some(xa.len());
            let d: Vec<f64> = xb.iter().zip(&xa).map(|(y, x)| y - x).collect();
            row.diff = mean_std(&d).0;
            let t = match folds {
                // k-fold: a fold validates 1 part in k and trains on k − 1.
                Some(k) => corrected_resampled_t(&xb, &xa, k - 1, 1, LEVEL),
                None => paired_t(&xb, &xa, LEVEL),
            };
            row.ci = t.map(|t| (t.diff.low, t.diff.high));
            row.p = t.map(|t| t.p);
            row.wilcoxon_p = (xa.len() >= 2).then(|| wilcoxon(&xb, &xa, Alternative::TwoSided)).flatten().map(|w| w.p);
        }
        _ => {
            row.diff = a.mean.zip(b.mean).map(|(ma, mb)| mb - ma);
            if let (Some(ma), Some(sa), Some(mb), Some(sb)) = (a.mean, a.std, b.mean, b.std) {
                row.p = welch(ma, sa, a.n, mb, sb, b.n).map(|w| w.p);
                row.ci = welch_interval(mb, sb, b.n, ma, sa, a.n, LEVEL).map(|ci| (ci.low, ci.high));
            }
        }
    }
    row
}

/// A configuration that was not compared.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OneSided {
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
    pub(crate) a_path: PathBuf,
    pub(crate) b_path: PathBuf,
    /// Pairs of rows with the same configuration, in A's row order.
    pub rows: Vec<MatchedRow>,
    pub(crate) only_a: Vec<OneSided>,
    pub(crate) only_b: Vec<OneSided>,
    /// How rows were matched and what was not compared: printed first.
    pub notes: Vec<String>,
    /// Paired or unpaired, and why.
    pub test: Test,
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
/// Test: see [`Test`] and the module doc. A side's mean, std and n are those of its done
/// runs' values when the runs are known (a results directory), else summary.csv's.
///
/// # Errors
/// `metric` is not one of [`METRICS`], or an `ignore` key is neither a `[train]` key
/// nor an axis of either summary.
pub fn compare(a: &Summary, b: &Summary, metric: &str, ignore: &[String]) -> Result<Comparison, CompareError> {
    let mi =
        METRICS.iter().position(|m| *m == metric).ok_or_else(|| CompareError::UnknownMetric(metric.to_string()))?;
    let mut known_keys = crate::spec::TrainConfig::keys();
    known_keys.extend(a.axes.iter().chain(&b.axes).cloned());
    for key in ignore {
        if !known_keys.contains(key) {
            let keys: Vec<&str> = known_keys.iter().map(String::as_str).collect();
            return Err(CompareError::UnknownKey(key.clone(), crate::spec::problems::suggest(key, &keys)));
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

    let test = test_for(a, b);
    let side = |s: &Summary, i: usize| match run_values(s, i, mi) {
        Some(v) => {
            let (mean, std) = mean_std(&v.iter().map(|(_, x)| *x).collect::<Vec<_>>());
            Side { mean, std, n: v.len() }
        }
        None => Side { mean: s.rows[i].metrics[mi].mean, std: s.rows[i].metrics[mi].std, n: s.rows[i].n },
    };
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
                let label = config_label(pairs.iter().map(|(k, v)| (*k, v)));
                let (va, vb) = (run_values(a, i, mi), run_values(b, j, mi));
                rows.push(test_row(&test, label, side(a, i), side(b, j), va.as_deref(), vb.as_deref()));
            }
            _ => only_a.push(OneSided {
                config: a_label(i),
                side: side(a, i),
                why: why(&a_matches[i], diffs[i].iter().collect(), "B", &b_label),
            }),
        }
    }
    let only_b: Vec<OneSided> = (0..b.rows.len())
        .filter(|&j| !(b_matches[j].len() == 1 && a_matches[b_matches[j][0]].len() == 1))
        .map(|j| OneSided {
            config: b_label(j),
            side: side(b, j),
            why: why(&b_matches[j], diffs.iter().map(|d| &d[j]).collect(), "A", &a_label),
        })
        .collect();

    let raw: Vec<f64> = rows.iter().map(|r| r.p.unwrap_or(f64::NAN)).collect();
    for (row, adjusted) in rows.iter_mut().zip(holm(&raw)) {
        row.p_holm = adjusted.is_finite().then_some(adjusted);
    }

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
        test,
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

fn fmt_ci(ci: Option<(f64, f64)>) -> String {
    ci.map_or_else(|| "-".to_string(), |(low, high)| format!("[{low:+.4}, {high:+.4}]"))
}

fn fmt_pairs(n: Option<usize>) -> String {
    n.map_or_else(|| "-".to_string(), |n| n.to_string())
}

/// The table's header and cells: the Wilcoxon and pairs columns only for a paired comparison.
fn table_cells(c: &Comparison, diff: &str, holm: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let paired = matches!(c.test, Test::Paired { .. });
    let mut header: Vec<String> = ["config", "A", "B", diff, "95% CI", "p", holm].map(String::from).to_vec();
    if paired {
        header.extend(["Wilcoxon p", "pairs"].map(String::from));
    }
    let cells = c
        .rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.config.clone(),
                fmt_side(&r.a),
                fmt_side(&r.b),
                fmt_diff(r.diff),
                fmt_ci(r.ci),
                fmt_p(r.p),
                fmt_p(r.p_holm),
            ];
            if paired {
                cells.extend([fmt_p(r.wilcoxon_p), fmt_pairs(r.pairs)]);
            }
            cells
        })
        .collect();
    (header, cells)
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
pub(crate) fn render_table(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "A: {}", c.a_path.display());
    let _ = writeln!(out, "B: {}", c.b_path.display());
    let _ = writeln!(out, "metric: {} (mean ± std over done runs)", c.metric);
    for note in &c.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(out, "{}", c.test.describe());
    out.push('\n');

    if c.rows.is_empty() {
        out.push_str("no configuration in common\n");
    } else {
        let (header, cells) = table_cells(c, "B-A", "p Holm");
        let mut width = vec![0; header.len()];
        for row in std::iter::once(&header).chain(&cells) {
            for (w, cell) in width.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&cells) {
            // Rust pads by chars, so `±` costs one column like the widths assume.
            let _ = write!(out, "{:<w$}", row[0], w = width[0]);
            for (cell, w) in row.iter().zip(&width).skip(1) {
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

/// The columns of [`render_csv`].
pub(crate) const CSV_COLUMNS: [&str; 16] = [
    "config",
    "a_mean",
    "a_std",
    "a_n",
    "b_mean",
    "b_std",
    "b_n",
    "diff",
    "ci_low",
    "ci_high",
    "p",
    "p_holm",
    "wilcoxon_p",
    "pairs",
    "test",
    "not_compared",
];

/// CSV with [`CSV_COLUMNS`]: one row per compared configuration (`diff` = B − A, its 95% CI,
/// the test's `p` and `p_holm`; `wilcoxon_p` and `pairs` when paired; `test` names the test),
/// then the configurations not compared, with the other side's cells empty and the reason
/// in `not_compared`, so nothing is lost. Numbers are exact; undefined ones are empty.
pub(crate) fn render_csv(c: &Comparison) -> String {
    fn num(x: Option<f64>) -> String {
        x.map_or_else(String::new, super::csv_number)
    }
    fn side(s: Option<&Side>) -> [String; 3] {
        s.map_or_else(Default::default, |s| [num(s.mean), num(s.std), s.n.to_string()])
    }
    fn line(out: &mut String, config: &str, a: [String; 3], b: [String; 3], tested: [String; 8], why: &str) {
        let fields = std::iter::once(csv_field(config)).chain(a).chain(b).chain(tested).chain([csv_field(why)]);
        out.push_str(&fields.collect::<Vec<_>>().join(","));
        out.push('\n');
    }

    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for r in &c.rows {
        let (low, high) = (r.ci.map(|ci| ci.0), r.ci.map(|ci| ci.1));
        let tested = [
            num(r.diff),
            num(low),
            num(high),
            num(r.p),
            num(r.p_holm),
            num(r.wilcoxon_p),
            r.pairs.map_or_else(String::new, |n| n.to_string()),
            c.test.word().to_string(),
        ];
        line(&mut out, &r.config, side(Some(&r.a)), side(Some(&r.b)), tested, "");
    }
    for o in &c.only_a {
        line(&mut out, &o.config, side(Some(&o.side)), side(None), Default::default(), &o.why);
    }
    for o in &c.only_b {
        line(&mut out, &o.config, side(None), side(Some(&o.side)), Default::default(), &o.why);
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
pub(crate) fn render_markdown(c: &Comparison) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Comparing `{}`: A = `{}`, B = `{}` (mean ± std over done runs)",
        c.metric,
        c.a_path.display(),
        c.b_path.display()
    );
    out.push('\n');
    for note in &c.notes {
        let _ = writeln!(out, "> Note: {note}\n");
    }
    let _ = writeln!(out, "{}\n", cell(&c.test.describe()));
    if c.rows.is_empty() {
        out.push_str("No configuration in common.\n");
    } else {
        let (header, cells) = table_cells(c, "B − A", "p (Holm)");
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "| --- |{}", " ---: |".repeat(header.len() - 1));
        for row in cells {
            let row: Vec<String> = row.iter().map(|s| cell(s)).collect();
            let _ = writeln!(out, "| {} |", row.join(" | "));
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
    use crate::results::summary_file::MeanStd;
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
        // The 95% CI of B − A, Welch's (ttest_ind_from_stats has no confidence_interval):
        // def ci(m1, s1, n1, m2, s2, n2):
        //     v1, v2 = s1**2/n1, s2**2/n2; df = (v1+v2)**2 / (v1**2/(n1-1) + v2**2/(n2-1))
        //     return stats.t.interval(0.95, df, loc=m1-m2, scale=(v1+v2)**0.5)
        // ci(0.89, 0.01, 3, 0.9275, 0.017078, 4)  # (-0.06424573166176295, -0.010754268338236998)
        // ci(0.9, 0.036056, 3, 0.806667, 0.025166, 3)  # (0.01941801546343022, 0.16724798453656978)
        // Holm over the two defined p: 2 · 0.0157513 = 0.0315026 and max(0.0315026, 0.0258539).
        let r = &c.rows[0];
        assert_eq!(r.a, Side { mean: Some(0.9275), std: Some(0.017078), n: 4 });
        assert_eq!(r.b, Side { mean: Some(0.89), std: Some(0.01), n: 3 });
        assert_close(r.diff.unwrap(), -0.0375);
        assert_close(r.p.unwrap(), 0.015751291136949754);
        let (low, high) = r.ci.unwrap();
        assert_close(low, -0.06424573166176295);
        assert_close(high, -0.010754268338236998);
        assert_close(r.p_holm.unwrap(), 2.0 * 0.015751291136949754);
        assert_eq!((r.wilcoxon_p, r.pairs), (None, None), "unpaired");
        let r = &c.rows[1];
        assert_close(r.diff.unwrap(), 0.093333);
        assert_close(r.p.unwrap(), 0.025853937185224902);
        let (low, high) = r.ci.unwrap();
        assert_close(low, 0.01941801546343022);
        assert_close(high, 0.16724798453656978);
        assert_close(r.p_holm.unwrap(), 2.0 * 0.015751291136949754);
        // A has a single done run: difference defined, p and CI not, and no part of the Holm family.
        let r = &c.rows[2];
        assert_close(r.diff.unwrap(), 0.01);
        assert_eq!((r.p, r.ci, r.p_holm), (None, None, None));
        assert_eq!(c.test.word(), "welch");
        assert!(matches!(&c.test, Test::Unpaired { why } if why.contains("bare summary.csv")), "{:?}", c.test);
    }

    #[test]
    fn renders_csv() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = fixture(dir.path());
        let c = compare(&a, &b, "final_test_acc", &[]).unwrap();
        let csv = render_csv(&c);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(
            header,
            [
                "config",
                "a_mean",
                "a_std",
                "a_n",
                "b_mean",
                "b_std",
                "b_n",
                "diff",
                "ci_low",
                "ci_high",
                "p",
                "p_holm",
                "wilcoxon_p",
                "pairs",
                "test",
                "not_compared"
            ]
        );
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 5, "3 pairs, then one row of each side");
        let cell = |r: usize, k: usize| records[r][k].parse::<f64>().ok();
        for (r, row) in c.rows.iter().enumerate() {
            assert_eq!(&records[r][0], row.config);
            // Numbers are exact: they parse back to the very values compared.
            assert_eq!((cell(r, 1), cell(r, 2), cell(r, 7), cell(r, 10)), (row.a.mean, row.a.std, row.diff, row.p));
            assert_eq!((cell(r, 8), cell(r, 9), cell(r, 11)), (row.ci.map(|c| c.0), row.ci.map(|c| c.1), row.p_holm));
            assert_eq!((&records[r][12], &records[r][13], &records[r][14]), ("", "", "welch"), "unpaired");
            assert_eq!(&records[r][15], "");
        }
        assert_eq!(&records[0][1], "0.9275");
        assert_eq!(&records[2][2], "", "undefined std stays empty");
        assert_eq!(
            (&records[3][0], &records[3][4], &records[3][14], &records[3][15]),
            ("batch_size=40, hidden=128", "", "", c.only_a[0].why.as_str())
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
            "unpaired: A and B are bare summary.csv files (no sweep.toml beside them), so their runs are not known; \
             B-A is the difference of the means; 95% CI and p: Welch's t-test; p Holm: p adjusted across the \
             compared rows (Holm)",
            "| config | A | B | B − A | 95% CI | p | p (Holm) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            "| batch_size=40, hidden=64 | 0.9275 ± 0.0171 (n=4) | 0.8900 ± 0.0100 (n=3) | -0.0375 | [-0.0642, -0.0108] \
             | 0.0158 | 0.0315 |",
            "| batch_size=100, hidden=64 | 0.8067 ± 0.0252 (n=3) | 0.9000 ± 0.0361 (n=3) | +0.0933 | [+0.0194, +0.1672] \
             | 0.0259 | 0.0315 |",
            "| batch_size=100, hidden=128 | 0.9000 (n=1) | 0.9100 ± 0.0100 (n=3) | +0.0100 | - | - | - |",
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
        assert!(lines[start - 2].starts_with("unpaired: A and B are bare summary.csv files"), "{table}");
        // CIs and Holm as pinned in `joins_on_parameters`.
        assert_eq!(
            &lines[start..start + 4],
            [
                "config                                          A                      B      B-A              95% CI       p  p Holm",
                "batch_size=40, hidden=64    0.9275 ± 0.0171 (n=4)  0.8900 ± 0.0100 (n=3)  -0.0375  [-0.0642, -0.0108]  0.0158  0.0315",
                "batch_size=100, hidden=64   0.8067 ± 0.0252 (n=3)  0.9000 ± 0.0361 (n=3)  +0.0933  [+0.0194, +0.1672]  0.0259  0.0315",
                "batch_size=100, hidden=128           0.9000 (n=1)  0.9100 ± 0.0100 (n=3)  +0.0100                   -       -       -",
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
        let p_cell = csv.lines().nth(1).unwrap().split(',').nth(10).unwrap();
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

    /// `s` as if read from a results directory: one row whose done runs hold these
    /// `(repeat, final_test_acc)` values, made with `seed`, `pairing` and 4 repeats.
    fn with_runs(mut s: Summary, seed: u64, pairing: Pairing, runs: &[(usize, f64)]) -> Summary {
        let mi = METRICS.iter().position(|m| *m == "final_test_acc").unwrap();
        let runs = runs
            .iter()
            .map(|&(repeat, v)| {
                let mut metrics = [None; METRICS.len()];
                metrics[mi] = Some(v);
                RunValues { repeat, metrics }
            })
            .collect();
        let data = BTreeMap::from([("reserve_every".to_string(), "4".to_string())]);
        s.stored = Some(StoredSweep {
            seed,
            repeats: 4,
            pairing,
            data,
            folds: None,
            runs: vec![runs],
            config_ids: vec!["baseline".into()],
            name: "s".into(),
            train_file: "train.tsv".into(),
        });
        s.data_digest = Some("digest".into());
        s
    }

    /// A and B of one configuration `hidden=64`; B's runs listed out of repeat order, and
    /// A's repeat 5 has no partner in B.
    fn paired_fixture(dir: &Path) -> (Summary, Summary) {
        let bare = |name| read_summary(&write_summary(dir, name, &["hidden"], &[(&["64"], 5, "0.5", "0.1")])).unwrap();
        let a = with_runs(bare("a"), 3, Pairing::Split, &[(1, 0.5), (2, 0.6), (3, 0.7), (4, 0.65), (5, 0.9)]);
        let b = with_runs(bare("b"), 3, Pairing::Split, &[(3, 0.78), (1, 0.55), (4, 0.66), (2, 0.62)]);
        (a, b)
    }

    // a = [0.5, 0.6, 0.7, 0.65]; b = [0.55, 0.62, 0.78, 0.66]  (repeats 1–4)
    // r = stats.ttest_rel(b, a); r.pvalue, r.confidence_interval(0.95)
    // # 0.08543743614799887, (-0.010318894279420343, 0.09031889427942041)
    // stats.wilcoxon(b, a).pvalue  # 0.125
    // Nadeau–Bengio, k = 5: d = b − a, se = √(var(d, ddof=1) · (1/4 + 1/4)), df = 3
    // # p = 0.17158592833347586, CI (-0.031161662733574222, 0.11116166273357429)
    #[test]
    fn paired_comparison_tests_the_per_repeat_differences() {
        let dir = tempfile::tempdir().unwrap();
        let (a, mut b) = paired_fixture(dir.path());
        let c = compare(&a, &b, "final_test_acc", &[]).unwrap();
        assert!(matches!(&c.test, Test::Paired { folds: None, .. }), "{:?}", c.test);
        assert_eq!(c.test.word(), "paired-t");
        let r = &c.rows[0];
        assert_eq!((r.pairs, r.a.n, r.b.n), (Some(4), 5, 4), "repeat 5 is done in A only");
        assert_close(r.diff.unwrap(), 0.04);
        assert_close(r.p.unwrap(), 0.08543743614799887);
        let (low, high) = r.ci.unwrap();
        assert_close(low, -0.010318894279420343);
        assert_close(high, 0.09031889427942041);
        assert_close(r.wilcoxon_p.unwrap(), 0.125);
        assert_eq!(r.p_holm, r.p, "a family of one");
        assert!(c
            .test
            .describe()
            .starts_with("paired by repeat (A and B share data, seed 3, pairing split, holdout, 4 repeats)"));
        let table = render_table(&c);
        assert!(table.contains("Wilcoxon p  pairs\n"), "{table}");
        let csv = render_csv(&c);
        assert!(csv.lines().nth(1).unwrap().ends_with(",0.125,4,paired-t,"), "{csv}");

        // k-fold: the same differences, Nadeau–Bengio corrected.
        let mut a = a;
        for s in [&mut a, &mut b] {
            let stored = s.stored.as_mut().unwrap();
            stored.folds = Some(5);
            stored.data.insert("resample".into(), "\"kfold\"".into());
        }
        let c = compare(&a, &b, "final_test_acc", &[]).unwrap();
        assert_eq!(c.test.word(), "nadeau-bengio");
        let r = &c.rows[0];
        assert_close(r.p.unwrap(), 0.17158592833347586);
        let (low, high) = r.ci.unwrap();
        assert_close(low, -0.031161662733574222);
        assert_close(high, 0.11116166273357429);
        assert_close(r.wilcoxon_p.unwrap(), 0.125);
        assert!(c.test.describe().contains("Nadeau–Bengio corrected for 5-fold"), "{}", c.test.describe());
    }

    #[test]
    fn unpaired_comparison_says_every_reason_why() {
        type Change = fn(&mut Summary);
        let cases: [(&str, Change, &str); 8] = [
            (
                "different seeds",
                |s| s.stored.as_mut().unwrap().seed = 4,
                "the sweeps were made with different seeds (3, 4)",
            ),
            (
                "pairing none",
                |s| s.stored.as_mut().unwrap().pairing = Pairing::None,
                "B was made with pairing = \"none\"",
            ),
            (
                "other scheme",
                |s| s.stored.as_mut().unwrap().pairing = Pairing::All,
                "different pairing schemes (split, all)",
            ),
            ("other repeats", |s| s.stored.as_mut().unwrap().repeats = 5, "different numbers of repeats (4, 5)"),
            ("other data bytes", |s| s.data_digest = Some("other".into()), "trained on different data"),
            ("no digest", |s| s.data_digest = None, "B has no data.sha256"),
            (
                "other [data] key",
                |s| {
                    s.stored.as_mut().unwrap().data.insert("reserve_every".into(), "5".into());
                },
                "their [data] tables differ in reserve_every (4, 5)",
            ),
            ("bare summary", |s| s.stored = None, "B is a bare summary.csv (no sweep.toml beside it)"),
        ];
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = paired_fixture(dir.path());
        for (case, change, why) in cases {
            let mut b = b.clone();
            change(&mut b);
            let c = compare(&a, &b, "final_test_acc", &[]).unwrap();
            let Test::Unpaired { why: said } = &c.test else { panic!("{case}: {:?}", c.test) };
            assert!(said.contains(why), "{case}: `{said}` does not say `{why}`");
            assert!(c.test.describe().starts_with("unpaired: "), "{case}");
            let r = &c.rows[0];
            assert_eq!((r.pairs, r.wilcoxon_p), (None, None), "{case}");
            let w = welch(r.a.mean.unwrap(), r.a.std.unwrap(), r.a.n, r.b.mean.unwrap(), r.b.std.unwrap(), r.b.n);
            assert_eq!(r.p, w.map(|w| w.p), "{case}: Welch on the sides");
            assert_close(r.diff.unwrap(), r.b.mean.unwrap() - r.a.mean.unwrap());
        }
        // Several reasons are all given.
        let mut b2 = b.clone();
        b2.stored.as_mut().unwrap().seed = 9;
        b2.stored.as_mut().unwrap().repeats = 2;
        let Test::Unpaired { why } = compare(&a, &b2, "final_test_acc", &[]).unwrap().test else { panic!() };
        assert!(why.contains("seeds (3, 9)") && why.contains("repeats (4, 2)"), "{why}");
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
