//! Sweep files (and the single-run files of `pinniped train`): TOML text →
//! validated values. Stage one of two; `plan` turns a sweep into runs.

use super::config::{format_value, DataConfig, Resample, Split, TrainConfig};
pub use super::design::Design;
pub(crate) use super::design::{Axis, Space};
use super::problems::{line_col, suggest, Collector, InputError};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// What runs of different configurations share (top-level `pairing`). Runs with equal
/// `repeat` are paired: with `split` they validate on the same rows and see the same epoch
/// shuffles (common random numbers), so a comparison between configurations cancels the
/// split-to-split noise; `all` also shares the initial weights' seed (and so the weights,
/// where the shapes agree); `none` gives every run its own split, as pinniped did before
/// `pairing` existed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairing {
    Split,
    All,
    None,
}

impl Pairing {
    pub(crate) const WORDS: [&'static str; 3] = ["split", "all", "none"];

    pub fn word(self) -> &'static str {
        match self {
            Pairing::Split => "split",
            Pairing::All => "all",
            Pairing::None => "none",
        }
    }

    pub(crate) fn from_word(word: &str) -> Option<Pairing> {
        match word {
            "split" => Some(Pairing::Split),
            "all" => Some(Pairing::All),
            "none" => Some(Pairing::None),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SweepFile {
    pub path: PathBuf,
    pub name: String,
    pub seed: u64,
    /// Repetitions: runs per configuration, or k-fold partitions (each of `folds` runs).
    pub repeats: usize,
    pub pairing: Pairing,
    /// Whether the file says `pairing` (else `pairing` is the default: `split` for a sweep
    /// file, `none` for a stored sweep made before the key existed). A sweep that does not
    /// say it resumes a results directory with the directory's scheme.
    pub(crate) pairing_stated: bool,
    /// The data of every run; with `[datasets]`, the first dataset's (the resampling keys, which
    /// every dataset shares, are what the rest of a sweep reads from it).
    pub data: DataConfig,
    /// `[datasets]` / `[[datasets]]`: the datasets, the outermost axis (empty: one dataset, `[data]`).
    pub datasets: Vec<super::datasets::Dataset>,
    /// The `[train]` table as written, on top of the defaults.
    pub baseline: TrainConfig,
    pub design: Design,
    /// The axes of a grid or one-at-a-time `[sweep]` table (empty for other designs).
    pub axes: Vec<Axis>,
    /// The whole design (every design, blocks included): what `plan` expands.
    pub space: Space,
    /// `[sweep.prune]`: successive halving (`None`: every run trains all its epochs).
    pub prune: Option<super::prune::Prune>,
}

/// A `pinniped train` file: `[data]`, `[train]` and, in a sweep run's `config.toml`, `[split]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RunFile {
    pub data: Option<DataConfig>,
    pub train: TrainConfig,
    /// The run's split; `None`: drawn from the run's seed (`Split::own`).
    pub split: Option<Split>,
}

const SPLIT_KEYS: &[&str] = &["seed", "repetition", "fold"];

const TOP_KEYS: &[&str] = &["schema", "name", "seed", "repeats", "pairing", "data", "datasets", "train", "sweep"];
pub(super) const DATA_KEYS: &[&str] = &[
    "train",
    "test",
    "format",
    "class_attribute",
    "reserve_every",
    "reserve_fraction",
    "length",
    "series_length",
    "missing",
    "resample",
    "folds",
    "stratify",
];
/// `[data]` keys whose value no other key's check reads: a wrong one is reported beside the
/// other keys' problems rather than instead of them.
const INDEPENDENT_DATA_KEYS: &[&str] = &["format"];

pub(crate) fn read_source(path: &Path) -> Result<String, InputError> {
    crate::fsx::read_text(path, crate::fsx::MAX_TEXT_BYTES)
        .map_err(|e| InputError::one(path, None, None, format!("cannot read this file: {e} (check the path)")))
}

fn parse_toml(path: &Path, source: &str) -> Result<Table, InputError> {
    source.parse::<Table>().map_err(|e| {
        let (line, col) = e.span().map_or((None, None), |s| {
            let (l, c) = line_col(source, s.start);
            (Some(l), Some(c))
        });
        let msg = e.message().trim().to_string();
        let at = col.map(|c| format!("column {c}: ")).unwrap_or_default();
        // The key of that line, when it has one: the place in the user's terms.
        let key = line
            .and_then(|l| source.lines().nth(l - 1))
            .and_then(|text| text.split_once('='))
            .map(|(k, _)| k.trim())
            .filter(|k| {
                !k.is_empty() && k.len() <= 60 && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
            });
        let hint = if msg.contains("too large") {
            " (whole numbers go up to 9223372036854775807)"
        } else if msg.contains("floating-point") {
            " (write a finite number, e.g. 0.001 or 1e300)"
        } else {
            ""
        };
        InputError::one(path, line, key, format!("{at}TOML syntax error: {msg}{hint}"))
    })
}

/// Whether parsing checks that the data files exist: a sweep about to run needs
/// them; the copy stored in a results directory is read without them (`status`,
/// `summarize` and `report` never read the data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DataFiles {
    MustExist,
    MayBeAbsent,
}

pub fn load_sweep(path: &Path) -> Result<SweepFile, InputError> {
    let source = read_source(path)?;
    parse_sweep(path, &source)
}

/// The resolved sweep stored in a results directory (`<out>/<name>/sweep.toml`).
pub fn load_stored_sweep(path: &Path) -> Result<SweepFile, InputError> {
    let source = read_source(path)?;
    parse_stored_sweep(path, &source)
}

pub fn parse_sweep(path: &Path, source: &str) -> Result<SweepFile, InputError> {
    parse_sweep_as(path, source, DataFiles::MustExist)
}

pub fn parse_stored_sweep(path: &Path, source: &str) -> Result<SweepFile, InputError> {
    parse_sweep_as(path, source, DataFiles::MayBeAbsent)
}

/// A data path as written in the file at `file`: relative paths start at that file's
/// own directory (not the working directory), and come back absolute, so that what
/// pinniped stores keeps working after `cd` or after the results directory moves.
pub(crate) fn resolve_data_path(file: &Path, written: &Path) -> PathBuf {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let joined = dir.join(written);
    std::path::absolute(&joined).unwrap_or(joined)
}

fn parse_sweep_as(path: &Path, source: &str, files: DataFiles) -> Result<SweepFile, InputError> {
    let table = parse_toml(path, source)?;
    // A later schema's other keys may mean anything: refused before they are read.
    super::schema::check_toml(path, source, &table)?;
    let mut c = Collector::new(path, source);
    for key in table.keys() {
        if key == "split" {
            c.at(
                None,
                "",
                "split",
                "is one run's split (a run's config.toml records it); a sweep derives every run's split \
                 from `seed` and `pairing`: remove [split]",
            );
        } else if !TOP_KEYS.contains(&key.as_str()) {
            c.at(None, key, key.clone(), format!("unknown key{}", suggest(key, TOP_KEYS)));
        }
    }
    let name = match table.get("name") {
        Some(Value::String(s)) => {
            if let Err(why) = check_name(s) {
                c.at(None, "name", "name", why);
            }
            s.clone()
        }
        Some(_) => {
            c.at(None, "name", "name", "must be a string, e.g. name = \"paper\"");
            String::new()
        }
        None => {
            c.general(None, "missing `name = \"...\"` (results go to <out>/<name>/)");
            String::new()
        }
    };
    let seed = match table.get("seed") {
        None => 0,
        Some(Value::Integer(i)) if *i >= 0 => *i as u64, // TOML integers stop at 2^63 - 1
        Some(_) => {
            c.at(None, "seed", "seed", "must be a non-negative integer");
            0
        }
    };
    let repeats = match table.get("repeats") {
        None => 3,
        Some(Value::Integer(i)) if *i >= 1 && *i <= 10_000 => *i as usize,
        Some(_) => {
            c.at(None, "repeats", "repeats", "must be an integer from 1 to 10000");
            1
        }
    };
    let pairing = match table.get("pairing") {
        // A stored sweep without the key was made before it existed, when no run was paired.
        None if files == DataFiles::MayBeAbsent => Pairing::None,
        None => Pairing::Split,
        Some(Value::String(s)) if Pairing::from_word(s).is_some() => Pairing::from_word(s).expect("checked"),
        Some(v) => {
            // Only a close word helps here; the message lists every word already.
            let hint = v.as_str().map(|s| suggest(s, &Pairing::WORDS)).filter(|h| h.contains("did you mean"));
            let hint = hint.unwrap_or_default();
            c.at(
                None,
                "pairing",
                "pairing",
                format!(
                    "must be \"split\" (runs with the same repeat share their split and shuffles), \"all\" (also \
                     their initial weights' seed) or \"none\" (every run draws its own split){hint}"
                ),
            );
            Pairing::Split
        }
    };
    let (data, datasets) = match (table.get("data"), table.get("datasets")) {
        (Some(d), Some(sets)) if !matches!(d, Value::Table(_)) => {
            c.at(None, "data", "data", "must be a table: [data]");
            super::datasets::parse(&mut c, &Table::new(), sets, files);
            (None, Vec::new())
        }
        (data, Some(sets)) => {
            let shared = data.and_then(Value::as_table).cloned().unwrap_or_default();
            let datasets = super::datasets::parse(&mut c, &shared, sets, files);
            (datasets.as_ref().map(|d| d[0].data.clone()), datasets.unwrap_or_default())
        }
        (Some(Value::Table(t)), None) => (parse_data(&mut c, t, files), Vec::new()),
        (Some(_), None) => {
            c.at(None, "data", "data", "must be a table: [data]");
            (None, Vec::new())
        }
        (None, None) => {
            c.general(
                None,
                "missing [data] table with at least `train = \"path/to/TRAIN.tsv.gz\"` (or [[datasets]] entries)",
            );
            (None, Vec::new())
        }
    };
    let empty = Table::new();
    let train_table = match table.get("train") {
        Some(Value::Table(t)) => t,
        Some(_) => {
            c.at(None, "train", "train", "must be a table: [train]");
            &empty
        }
        None => &empty,
    };
    if train_table.contains_key("seed") {
        c.at(
            Some("train"),
            "seed",
            "train.seed",
            "sweep runs derive their seeds from the top-level `seed`: move it there",
        );
    }
    let baseline = parse_train(&mut c, train_table);
    // `[sweep.prune]` says how the design's runs are scheduled, not which points it has.
    let mut prune = None;
    let sweep_table = table.get("sweep").map(|v| match v {
        Value::Table(t) => {
            let mut t = t.clone();
            if let Some(p) = t.remove("prune") {
                prune = super::prune::parse(&mut c, &p);
            }
            Value::Table(t)
        }
        other => other.clone(),
    });
    if let (Some(_), Some(d)) = (&prune, &data) {
        if !d.has_validation() {
            c.at(
                Some("sweep.prune"),
                "",
                "sweep.prune",
                "ranks configurations on validation rows, and [data] holds none back: add reserve_every = 4 (or \
                 reserve_fraction, or resample = \"kfold\")",
            );
        }
    }
    if let (Some(p), Some(b)) = (&prune, &baseline) {
        if p.rungs.last().is_some_and(|&r| r > b.schedule.epochs) {
            c.at(
                Some("sweep.prune"),
                "rungs",
                "sweep.prune.rungs",
                format!(
                    "the last rung ({}) is beyond train.epochs ({}): rungs are epochs at which runs pause, up to \
                     epochs",
                    p.rungs.last().expect("checked"),
                    b.schedule.epochs
                ),
            );
        }
    }
    let space = match sweep_table.as_ref() {
        Some(Value::Table(t)) => super::design::parse_space(&mut c, t, baseline.as_ref(), &with_value),
        Some(_) => {
            c.at(None, "sweep", "sweep", "must be a table: [sweep]");
            super::design::parse_space(&mut c, &Table::new(), None, &with_value)
        }
        None => super::design::parse_space(&mut c, &Table::new(), None, &with_value),
    };
    let design = space.design;
    let axes = match space.blocks.as_slice() {
        [super::design::Block { body: super::design::Body::Axes { axes, .. }, block: None, .. }] => axes.clone(),
        _ => Vec::new(),
    };
    if let Some(data) = &data {
        if data.resample() == Resample::Kfold && table.contains_key("repeats") && repeats > 1 {
            c.at(
                None,
                "repeats",
                "repeats",
                format!(
                    "resample = \"kfold\" is one k-fold partition, not {repeats}: use resample = \"repeated-kfold\" \
                     for {repeats} partitions, or drop repeats"
                ),
            );
        }
    }
    c.finish()?;
    Ok(SweepFile {
        path: path.to_path_buf(),
        name,
        seed,
        repeats: if data.as_ref().is_some_and(|d| d.resample() == Resample::Kfold) { 1 } else { repeats },
        pairing,
        pairing_stated: table.contains_key("pairing"),
        data: data.expect("checked"),
        datasets,
        baseline: baseline.expect("checked"),
        design,
        axes,
        space,
        prune,
    })
}

/// `pinniped train FILE`: a `[data]` and a `[train]` table, nothing else.
pub(crate) fn parse_run_file(path: &Path, source: &str) -> Result<RunFile, InputError> {
    let table = parse_toml(path, source)?;
    super::schema::check_toml(path, source, &table)?;
    // A sweep file given to `train` is a mix-up of commands, not a file of unknown keys.
    let sweep_keys: Vec<&str> =
        ["name", "seed", "repeats", "sweep"].into_iter().filter(|k| table.contains_key(*k)).collect();
    if !sweep_keys.is_empty() {
        let file = super::problems::echo_path(path);
        return Err(InputError::one(
            path,
            None,
            None,
            format!(
                "this is a sweep file (it has {}): run it with `pinniped run {file}` \
                 (`--dry-run` lists its runs); to train one configuration, keep only its [data] and [train] \
                 tables in a file of their own, or give them as flags: `pinniped train --train PATH --set KEY=VALUE`",
                sweep_keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let mut c = Collector::new(path, source);
    for key in table.keys() {
        if !["schema", "data", "train", "split"].contains(&key.as_str()) {
            c.at(None, key, key.clone(), format!("unknown key{}", suggest(key, &["data", "train", "split"])));
        }
    }
    let data = match table.get("data") {
        Some(Value::Table(t)) => parse_data(&mut c, t, DataFiles::MustExist),
        _ => None,
    };
    let empty = Table::new();
    let train = match table.get("train") {
        Some(Value::Table(t)) => t,
        _ => &empty,
    };
    let train = parse_train(&mut c, train);
    let split = match table.get("split") {
        None => None,
        Some(Value::Table(t)) => parse_split(&mut c, t, data.as_ref(), train.as_ref().map_or(0, |t| t.schedule.seed)),
        Some(_) => {
            c.at(None, "split", "split", "must be a table: [split]");
            None
        }
    };
    if let Some(data) = &data {
        let has_fold = split.as_ref().is_some_and(|s| s.fold.is_some());
        if data.is_kfold() && !has_fold && !c.problems.iter().any(|p| p.key.as_deref() == Some("split.fold")) {
            c.at(
                Some("data"),
                "resample",
                "data.resample",
                format!(
                    "one run trains one fold of resample = \"{}\": add [split] with fold = 1 to {} (and the \
                     partition's seed), or run every fold as a sweep",
                    data.resample().word(),
                    data.folds().unwrap_or_default()
                ),
            );
        }
    }
    c.finish()?;
    Ok(RunFile { data, train: train.expect("checked"), split })
}

/// A run's `[split]`: `seed` (default: the run's seed), `repetition` (default 1) and `fold`
/// (k-fold only).
fn parse_split(c: &mut Collector, t: &Table, data: Option<&DataConfig>, run_seed: u64) -> Option<Split> {
    let before = c.problems.len();
    for key in t.keys() {
        if !SPLIT_KEYS.contains(&key.as_str()) {
            c.at(Some("split"), key, format!("split.{key}"), format!("unknown key{}", suggest(key, SPLIT_KEYS)));
        }
    }
    let mut whole = |key: &str, min: i64, max: i64| -> Option<i64> {
        match t.get(key) {
            None => None,
            Some(Value::Integer(i)) if (min..=max).contains(i) => Some(*i),
            Some(_) => {
                c.at(Some("split"), key, format!("split.{key}"), format!("must be a whole number from {min} to {max}"));
                None
            }
        }
    };
    let seed = whole("seed", 0, i64::MAX).map_or(run_seed, |s| s as u64);
    let repetition = whole("repetition", 1, 10_000).map_or(1, |r| r as usize);
    let fold = whole("fold", 1, super::config::limits::MAX_FOLDS as i64).map(|f| f as usize);
    if let Some(f) = fold {
        match data.and_then(DataConfig::folds) {
            None => c.at(
                Some("split"),
                "fold",
                "split.fold",
                "a fold needs [data] resample = \"kfold\" or \"repeated-kfold\": drop fold for a holdout",
            ),
            Some(k) if f > k => {
                c.at(Some("split"), "fold", "split.fold", format!("must be from 1 to folds = {k}, not {f}"))
            }
            Some(_) => {}
        }
    }
    (c.problems.len() == before).then_some(Split { seed, repetition, fold })
}

/// Sweep names become directory names: keep them portable and inside `<out>`.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` cannot be a directory name: use 1 to 100 letters, digits, `.`, `_` or `-`, not starting with `.`",
            name.escape_default()
        ))
    }
}

fn parse_data(c: &mut Collector, t: &Table, files: DataFiles) -> Option<DataConfig> {
    parse_data_at(c, t, files, &|_| Place::data())
}

/// Where a data key was written: its table (with `[[datasets]]`, which entry) and the label
/// a problem is shown with (`data`, `datasets[2]`).
#[derive(Clone, Debug)]
pub(super) struct Place {
    pub table: &'static str,
    pub entry: Option<usize>,
    pub label: String,
}

impl Place {
    pub fn data() -> Self {
        Place { table: "data", entry: None, label: "data".into() }
    }

    pub fn report(&self, c: &mut Collector, key: &str, message: impl Into<String>) {
        // A key pinniped filled in (a folder's file names) is shown at its table's header.
        let line = super::problems::locate_entry(c.source, Some(self.table), self.entry, key)
            .or_else(|| super::problems::locate_entry(c.source, Some(self.table), self.entry, ""));
        let label = if key.is_empty() { self.label.clone() } else { format!("{}.{key}", self.label) };
        c.problems.push(super::problems::Problem {
            file: c.file.to_path_buf(),
            line,
            key: Some(label),
            message: message.into(),
        });
    }
}

/// A `[data]` table (or a dataset's, merged with the shared `[data]` keys): `place_of(key)`
/// says where each key was written, so that a problem names that line.
pub(super) fn parse_data_at(
    c: &mut Collector,
    t: &Table,
    files: DataFiles,
    place_of: &dyn Fn(&str) -> Place,
) -> Option<DataConfig> {
    let before = c.problems.len();
    for key in t.keys() {
        if key == "fold" {
            place_of(key).report(
                c,
                key,
                "a sweep trains every fold of resample = \"kfold\" (set their number with folds); one run's fold \
                 goes in its own [split] table (as a run's config.toml records it)",
            );
        } else if !DATA_KEYS.contains(&key.as_str()) {
            place_of(key).report(c, key, format!("unknown key{}", suggest(key, DATA_KEYS)));
        }
    }
    if !t.contains_key("train") {
        let place = place_of("train");
        Place { label: format!("{}.train", place.label), ..place }.report(
            c,
            "",
            "missing: the training file, e.g. train = \"data/phoneme/Phoneme_TRAIN.tsv.gz\"",
        );
    }
    // Type-check key by key so that each wrong value gets its own message.
    let mut base = Table::new();
    base.insert("train".into(), Value::String("-".into()));
    let clean_before_types = c.problems.len() == before;
    let mut checked = t.clone();
    let mut only_independent = true;
    for (key, value) in t {
        if !DATA_KEYS.contains(&key.as_str()) {
            continue;
        }
        let mut probe = base.clone();
        probe.insert(key.clone(), value.clone());
        if let Err(e) = Value::Table(probe).try_into::<DataConfig>() {
            place_of(key).report(c, key, type_message(&e, None, value));
            checked.remove(key);
            only_independent &= INDEPENDENT_DATA_KEYS.contains(&key.as_str());
        }
    }
    // A wrong value of a key that no other key's check reads still leaves the others
    // checked; any other problem stops here, as the checks below would only echo it.
    if !(clean_before_types && only_independent) {
        return None;
    }
    let mut data: DataConfig = Value::Table(checked).try_into().ok()?;
    data.train = resolve_data_path(c.file, &data.train);
    data.test = data.test.map(|p| resolve_data_path(c.file, &p));
    let mut problems = data.value_problems();
    if files == DataFiles::MustExist {
        problems.extend(
            data.file_problems().into_iter().map(|(key, msg)| {
                (key, format!("{msg} (relative paths start at the directory of {})", c.file.display()))
            }),
        );
    }
    for (key, msg) in problems {
        place_of(key).report(c, key, msg);
    }
    (c.problems.len() == before).then_some(data)
}

/// Applies `[train]` keys to the defaults; every problem is reported with its key.
fn parse_train(c: &mut Collector, t: &Table) -> Option<TrainConfig> {
    let before = c.problems.len();
    let (config, problems) = apply_train_keys(TrainConfig::default(), t.iter().map(|(k, v)| (k.as_str(), v)));
    let whole = config.problems().into_iter().map(|(key, msg)| (key.to_string(), msg));
    for (key, msg) in problems.into_iter().chain(whole) {
        c.at(Some("train"), &key, format!("train.{key}"), msg);
    }
    (c.problems.len() == before).then_some(config)
}

/// `[train]` keys applied in order on top of `config`, each checked as a sweep file's
/// `[train]` table checks it: a key that is not one (with the closest that is), or a value
/// that does not fit its key, as (key, message). The one validator of `[train]` tables and of
/// `pinniped train`'s flags; [`TrainConfig::problems`] then checks the result as a whole.
pub(crate) fn apply_train_keys<'a>(
    mut config: TrainConfig,
    keys: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> (TrainConfig, Vec<(String, String)>) {
    let known = TrainConfig::keys();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let mut problems = Vec::new();
    for (key, value) in keys {
        if !known.contains(&key) {
            problems.push((key.to_string(), format!("unknown key{}", suggest(key, &known))));
            continue;
        }
        match with_value(&config, key, value) {
            Ok(next) => config = next,
            Err(msg) => problems.push((key.to_string(), msg)),
        }
    }
    (config, problems)
}

/// `config` with `key` set to `value`, or why the value does not fit the key.
pub(crate) fn with_value(config: &TrainConfig, key: &str, value: &Value) -> Result<TrainConfig, String> {
    let Ok(Value::Table(mut table)) = Value::try_from(config) else {
        unreachable!("TrainConfig serialises to a table")
    };
    table.insert(key.to_string(), value.clone());
    Value::Table(table).try_into::<TrainConfig>().map_err(|e| type_message(&e, default_of(key).as_ref(), value))
}

/// The default value of a `[train]` key (None for optional keys unset by default).
fn default_of(key: &str) -> Option<Value> {
    match Value::try_from(TrainConfig::default()) {
        Ok(Value::Table(mut t)) => t.remove(key),
        _ => None,
    }
}

/// What a value of the same kind as `example` is, with `example` shown.
fn kind_of(example: &Value) -> String {
    match example {
        Value::Integer(i) => format!("a whole number, e.g. {i}"),
        Value::Float(_) => format!("a number, e.g. {}", format_value(example)),
        Value::Boolean(_) => "true or false".into(),
        Value::String(s) => format!("a string, e.g. {s:?}"),
        Value::Array(items) => match items.first() {
            Some(first) => {
                let items = match first {
                    Value::Integer(_) => "whole numbers",
                    Value::Float(_) => "numbers",
                    Value::String(_) => "strings",
                    _ => "values",
                };
                format!("a list of {items}, e.g. {example}")
            }
            None => "a list, e.g. [64]".into(),
        },
        _ => "a table".into(),
    }
}

/// The kind serde names after "expected", in words.
fn kind_of_serde(expected: &str) -> String {
    let e = expected.trim();
    if ["u8", "u16", "u32", "u64", "usize"].contains(&e) {
        "a whole number ≥ 0".into()
    } else if ["i8", "i16", "i32", "i64", "isize"].contains(&e) {
        "a whole number".into()
    } else if e == "f32" || e == "f64" {
        "a number".into()
    } else if e.contains("sequence") {
        "a list, e.g. [64]".into()
    } else if e.contains("bool") {
        "true or false".into()
    } else {
        e.trim_start_matches("a ").trim_start_matches("an ").to_string()
    }
}

/// What the user wrote, in words: "the string \"x\"", "the number 3", "a list".
fn described(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string \"{}\"", super::problems::echo(s)),
        Value::Integer(_) | Value::Float(_) => format!("the number {}", format_value(value)),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(_) => "a date".into(),
        Value::Array(_) => "a list".into(),
        Value::Table(_) => "a table".into(),
    }
}

/// serde's "invalid type: string \"0.1\", expected f64" in the user's words: "must be
/// a number, e.g. 0.01 (not the string \"0.1\")". The kind and the example come from
/// the key's default value when it has one (so every key is covered), else from serde;
/// what was written is described from `written` itself, never in serde's terms
/// ("unit variant", "sequence").
fn type_message(e: &toml::de::Error, default: Option<&Value>, written: &Value) -> String {
    let msg = e.message().trim();
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        // "`gelu`, expected one of `sigmoid`, `tanh`"
        if let Some((got, expected)) = rest.split_once(", expected ") {
            return format!(
                "must be {}, not {}",
                expected.replace('`', "\""),
                super::problems::echo(got).replace('`', "\"")
            );
        }
    }
    let Some(detail) = msg.strip_prefix("invalid type: ").or_else(|| msg.strip_prefix("invalid value: ")) else {
        return msg.to_string(); // a message of our own (e.g. a custom deserializer's)
    };
    let (got, expected) = detail.rsplit_once(", expected ").unwrap_or((detail, ""));
    let kind = match (default, expected) {
        (Some(v), _) => kind_of(v),
        (None, e) => kind_of_serde(e),
    };
    let got = match written {
        // The wrong part is inside the list: name it as serde saw it, in our words.
        Value::Array(_) => {
            let got = super::problems::echo(got).replace('`', "");
            [("string ", "the string "), ("floating point ", "the number "), ("integer ", "the number ")]
                .iter()
                .find_map(|(serde, ours)| got.strip_prefix(serde).map(|rest| format!("a list holding {ours}{rest}")))
                .unwrap_or_else(|| "this list".into())
        }
        _ => described(written),
    };
    format!("must be {kind} (not {got})")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SWEEP: &str = "name = \"p\"\n[data]\ntrain = \"../data/TRAIN.tsv\"\ntest = \"/abs/TEST.tsv\"\n";

    #[test]
    fn data_paths_are_relative_to_the_files_directory_and_stored_absolute() {
        let file = Path::new("/project/experiments/p.toml");
        let sweep = parse_stored_sweep(file, SWEEP).unwrap();
        assert_eq!(sweep.data.train, Path::new("/project/experiments/../data/TRAIN.tsv"));
        assert_eq!(sweep.data.test.as_deref(), Some(Path::new("/abs/TEST.tsv")));
        // A file named without a directory: its directory is the working directory.
        let here = parse_stored_sweep(Path::new("p.toml"), SWEEP).unwrap();
        assert_eq!(here.data.train, std::env::current_dir().unwrap().join("../data/TRAIN.tsv"));
    }

    #[test]
    fn only_a_sweep_about_to_run_needs_its_data_files() {
        let file = Path::new("/nowhere/experiments/p.toml");
        assert!(parse_stored_sweep(file, SWEEP).is_ok());
        let err = parse_sweep(file, SWEEP).unwrap_err().to_string();
        assert!(err.contains("/nowhere/experiments/../data/TRAIN.tsv does not exist"), "{err}");
        assert!(err.contains("relative paths start at the directory of"), "{err}");
    }

    #[test]
    fn pairing_is_read_from_the_top_level_with_split_as_a_new_sweeps_default() {
        let file = Path::new("/p/s.toml");
        let with = |line: &str| format!("name = \"p\"\n{line}\n{}", &SWEEP["name = \"p\"\n".len()..]);
        for (line, stored, fresh) in [
            ("", Pairing::None, Pairing::Split),
            ("pairing = \"none\"", Pairing::None, Pairing::None),
            ("pairing = \"all\"", Pairing::All, Pairing::All),
            ("pairing = \"split\"", Pairing::Split, Pairing::Split),
        ] {
            let s = parse_stored_sweep(file, &with(line)).unwrap();
            assert_eq!((s.pairing, s.pairing_stated), (stored, !line.is_empty()), "stored, `{line}`");
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("TRAIN.tsv"), "1\t0.5\n").unwrap();
            let text = with(line).replace("../data/TRAIN.tsv", "TRAIN.tsv").replace("test = \"/abs/TEST.tsv\"\n", "");
            let s = parse_sweep(&dir.path().join("s.toml"), &text).unwrap();
            assert_eq!(s.pairing, fresh, "sweep file, `{line}`");
        }
    }

    #[test]
    fn a_bad_pairing_word_is_named_with_the_choices() {
        let text = format!("pairing = \"splt\"\n{SWEEP}");
        let err = parse_stored_sweep(Path::new("/p/s.toml"), &text).unwrap_err().to_string();
        assert!(err.contains("s.toml:1: pairing: must be \"split\""), "{err}");
        assert!(err.contains("\"none\"") && err.contains("did you mean `split`"), "{err}");
    }

    #[test]
    fn kfold_is_one_partition_and_points_repeats_to_repeated_kfold() {
        let text = format!("repeats = 4\n{SWEEP}resample = \"kfold\"\n");
        let err = parse_stored_sweep(Path::new("/p/s.toml"), &text).unwrap_err().to_string();
        assert!(err.contains("repeats: ") && err.contains("resample = \"repeated-kfold\""), "{err}");
        let one = parse_stored_sweep(Path::new("/p/s.toml"), &format!("{SWEEP}resample = \"kfold\"\n")).unwrap();
        assert_eq!(one.repeats, 1, "kfold without repeats: one partition, not the default 3");
    }

    #[test]
    fn resample_keys_that_contradict_each_other_are_refused_with_the_fix() {
        for (case, keys, key, fix) in [
            (
                "kfold with reserve_every",
                "resample = \"kfold\"\nreserve_every = 4",
                "data.reserve_every",
                "drop reserve_every",
            ),
            (
                "kfold with reserve_fraction",
                "resample = \"repeated-kfold\"\nreserve_fraction = 0.2",
                "data.reserve_fraction",
                "resample = \"holdout\"",
            ),
            ("folds without k-fold", "folds = 5", "data.folds", "needs resample"),
            ("one fold", "resample = \"kfold\"\nfolds = 1", "data.folds", "from 2 to 100"),
            ("too many folds", "resample = \"kfold\"\nfolds = 101", "data.folds", "from 2 to 100"),
            ("stratified reserve_every", "reserve_every = 4\nstratify = true", "data.stratify", "use reserve_fraction"),
            ("stratify without validation", "stratify = true", "data.stratify", "add reserve_fraction"),
        ] {
            let text = format!("{SWEEP}{keys}\n");
            let err = parse_stored_sweep(Path::new("/p/s.toml"), &text).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(&format!("{key}: ")) && err.contains(fix), "{case}: {err}");
        }
        let ok = format!("{SWEEP}reserve_fraction = 0.25\nstratify = true\n");
        assert!(parse_stored_sweep(Path::new("/p/s.toml"), &ok).is_ok(), "a stratified holdout");
    }
}
