//! Stage two: a validated sweep → configurations and runs with stable ids and seeds.

use super::config::TrainConfig;
// Defined below `sweep` (which uses them); re-exported where they were.
pub use super::config::{format_value, Split};
use super::design::Design;
use super::problems::{InputError, Problem};
use super::sweep::{with_value, Pairing, SweepFile};
use sha2::{Digest, Sha256};
use toml::Value;

/// One point of the design: the baseline with some keys overridden.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `baseline`, or the overrides that differ from it: `batch_size=40,momentum=0.5`.
    pub id: String,
    /// The value of every axis for this configuration, in axis order (summary columns).
    pub axis_values: Vec<String>,
    pub train: TrainConfig,
    /// Index into `Plan::datasets` (multi-dataset sweeps: each configuration once per dataset).
    pub dataset: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRun {
    /// Position in the plan: configurations in design order, repeats within each.
    pub index: usize,
    pub config: usize,
    /// 1-based index of the run within its configuration: the pairing key (with pairing other
    /// than `none`, runs of different configurations with equal `repeat` share their split).
    /// A holdout's `repeat` is its repetition; k-fold's is `(repetition - 1) × folds + fold`.
    pub repeat: usize,
    /// `<config id>/rep-<repetition>` (holdout) or `<config id>/rep-<repetition>-fold-<fold>`,
    /// prefixed by `<dataset>/` in a multi-dataset sweep: also the run's directory under `runs/`.
    pub id: String,
    /// Seed of the initial weights and dropout.
    pub seed: u64,
    /// 1-based: the holdout draw, or the k-fold partition.
    pub repetition: usize,
    /// 1-based fold of a k-fold partition; `None` for a holdout.
    pub fold: Option<usize>,
    /// Seed of the split (and, for k-fold, the fold partition) and of every epoch's shuffle.
    pub split_seed: u64,
}

impl PlannedRun {
    pub fn split(&self) -> Split {
        Split { seed: self.split_seed, repetition: self.repetition, fold: self.fold }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// How the configurations were built from the axes: what `importance.csv` can analyse.
    pub design: Design,
    pub axes: Vec<String>,
    pub configs: Vec<Config>,
    pub runs: Vec<PlannedRun>,
    /// The datasets' names (`[datasets]`), the outermost axis: configurations and runs are in
    /// dataset order. Empty for a sweep of one `[data]` table.
    pub datasets: Vec<String>,
}

impl Plan {
    /// Dataset `d`'s part of a multi-dataset plan, as a plan of its own (its configurations
    /// re-indexed from 0, its runs keeping their ids and plan indices), with the positions of its
    /// runs and configurations in `self`: what the per-dataset summaries are computed from.
    pub(crate) fn dataset_part(&self, d: usize) -> (Plan, Vec<usize>, Vec<usize>) {
        let configs: Vec<usize> = (0..self.configs.len()).filter(|&c| self.configs[c].dataset == Some(d)).collect();
        let runs: Vec<usize> =
            (0..self.runs.len()).filter(|&r| self.configs[self.runs[r].config].dataset == Some(d)).collect();
        let first = configs.first().copied().unwrap_or(0);
        let part = Plan {
            design: self.design,
            axes: self.axes.clone(),
            configs: configs.iter().map(|&c| Config { dataset: None, ..self.configs[c].clone() }).collect(),
            runs: runs
                .iter()
                .map(|&r| PlannedRun { config: self.runs[r].config - first, ..self.runs[r].clone() })
                .collect(),
            datasets: Vec::new(),
        };
        (part, runs, configs)
    }

    /// The dataset name of configuration `config` (None: a single-dataset sweep).
    pub(crate) fn dataset_of(&self, config: usize) -> Option<&str> {
        self.configs[config].dataset.map(|d| self.datasets[d].as_str())
    }
}

/// Every `[train]` key of `config` with its value as [`format_value`] writes it: the
/// configuration in full, as `compare` matches it.
pub(crate) fn resolved_values(config: &TrainConfig) -> std::collections::BTreeMap<String, String> {
    match Value::try_from(config) {
        Ok(Value::Table(t)) => t.iter().map(|(k, v)| (k.clone(), format_value(v))).collect(),
        _ => unreachable!("TrainConfig serialises to a table"),
    }
}

/// The current value of `key` in `config`, as a TOML value.
fn value_of(config: &TrainConfig, key: &str) -> Value {
    match Value::try_from(config) {
        Ok(Value::Table(t)) => t.get(key).cloned().unwrap_or(Value::Boolean(false)),
        _ => unreachable!("TrainConfig serialises to a table"),
    }
}

/// Keeps ids usable as one path segment on every OS and never `..`.
fn safe_segment(s: &str) -> String {
    let cleaned: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || "._=,+-".contains(c) { c } else { '_' }).collect();
    let cleaned = match cleaned.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None => cleaned,
    };
    if cleaned.len() <= 150 {
        cleaned
    } else {
        // Long grids: keep a readable prefix and make it unique with a hash.
        let digest = hex(&Sha256::digest(s.as_bytes())[..6]);
        format!("{}~{digest}", &cleaned[..130])
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seed of one run from (sweep seed, configuration id, repeat): independent of the
/// plan's order, so adding values to an axis changes no existing seed.
pub(crate) fn derive_seed(sweep_seed: u64, config_id: &str, repeat: usize) -> u64 {
    let digest = Sha256::digest(format!("pinniped/seed/v1\0{sweep_seed}\0{config_id}\0{repeat}").as_bytes());
    // 63 bits: TOML integers are signed, and config.toml must hold the seed.
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) >> 1
}

/// The seed a multi-dataset sweep's derivations start from on dataset `name`, in place of the
/// sweep's seed: datasets draw from their own streams, while within a dataset seeds, splits and
/// pairing are derived exactly as in a sweep of that dataset alone; from names only, so adding a
/// dataset changes no other dataset's seeds.
pub(crate) fn derive_dataset_seed(sweep_seed: u64, name: &str) -> u64 {
    hashed_seed(&format!("pinniped/dataset/v1\0{sweep_seed}\0{name}"))
}

/// Seed of the split shared by every configuration's runs of one repetition (pairing
/// `split` and `all`): from (sweep seed, repetition) only.
pub(crate) fn derive_split_seed(sweep_seed: u64, repetition: usize) -> u64 {
    hashed_seed(&format!("pinniped/split/v1\0{sweep_seed}\0{repetition}"))
}

/// With pairing `none`, a k-fold partition is still shared by the folds of one configuration's
/// repetition (so that its folds partition the rows), but not by other configurations.
fn derive_own_partition_seed(sweep_seed: u64, config_id: &str, repetition: usize) -> u64 {
    hashed_seed(&format!("pinniped/split/v1\0{sweep_seed}\0{config_id}\0{repetition}"))
}

/// Seed of the initial weights shared by every configuration's run `repeat` (pairing `all`).
pub(crate) fn derive_shared_seed(sweep_seed: u64, repeat: usize) -> u64 {
    hashed_seed(&format!("pinniped/shared-seed/v1\0{sweep_seed}\0{repeat}"))
}

/// Seed of refit run `k` (1-based) of configuration `config_id` (`pinniped refit`): from
/// (sweep seed, "refit", configuration id, k) only, never from the sweep's run seeds, so a
/// refit is reproducible, independent of `--jobs`, and its runs are new draws.
pub(crate) fn derive_refit_seed(sweep_seed: u64, config_id: &str, k: usize) -> u64 {
    hashed_seed(&format!("pinniped/seed/v1\0{sweep_seed}\0refit\0{config_id}\0{k}"))
}

fn hashed_seed(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    // 63 bits, as `derive_seed`.
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) >> 1
}

/// The runs of one configuration: (repetition, fold, repeat, id suffix), in plan order.
fn run_slots(repeats: usize, folds: Option<usize>) -> impl Iterator<Item = (usize, Option<usize>, usize, String)> {
    (1..=repeats).flat_map(move |repetition| match folds {
        None => vec![(repetition, None, repetition, format!("rep-{repetition}"))],
        Some(k) => (1..=k)
            .map(|f| (repetition, Some(f), (repetition - 1) * k + f, format!("rep-{repetition}-fold-{f}")))
            .collect(),
    })
}

pub(crate) use super::config::limits::MAX_RUNS;

/// Refuses a design whose size passes [`MAX_RUNS`], counted from the axis lengths, samples
/// and points before a single point is built.
fn check_plan_size(sweep: &SweepFile) -> Result<(), InputError> {
    let configs = sweep.space.size();
    let folds = sweep.data.folds();
    let datasets = sweep.datasets.len().max(1);
    let configs = configs.and_then(|c| c.checked_mul(datasets));
    let runs = configs.and_then(|c| c.checked_mul(sweep.repeats)).and_then(|r| r.checked_mul(folds.unwrap_or(1)));
    if runs.is_some_and(|r| r <= MAX_RUNS) {
        return Ok(());
    }
    let show = |n: Option<usize>| n.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
    let (folds_text, fewer) = match folds {
        Some(k) => (format!(" × {k} folds"), "axis values, samples, points, repeats or folds"),
        None => (String::new(), "axis values, samples, points or repeats"),
    };
    Err(InputError::one(
        &sweep.path,
        None,
        Some("sweep"),
        format!(
            "the {} design has {} configurations × {} repeats{folds_text} = {} runs, more than the limit of \
             {MAX_RUNS} runs per sweep; use fewer {fewer}, or split it into several sweeps",
            sweep.design.word(),
            show(configs),
            sweep.repeats,
            show(runs)
        ),
    ))
}

pub fn expand(sweep: &SweepFile) -> Result<Plan, InputError> {
    check_plan_size(sweep)?;
    let base = &sweep.baseline;
    // Each point of the design as its (key, value) overrides of the baseline.
    let points = sweep.space.points(sweep.seed);
    let axes = sweep.space.keys();

    let mut configs: Vec<Config> = Vec::new();
    // id → index into `configs`: a linear search would make large grids quadratic.
    let mut by_id: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut problems = Vec::new();
    for point in points {
        let mut train = base.clone();
        let mut parts = Vec::new();
        for (key, value) in &point.overrides {
            train = with_value(&train, key, value)
                .map_err(|m| InputError::one(&sweep.path, None, Some(&format!("sweep.{key} ({})", point.label)), m))?;
            let now = value_of(&train, key);
            if value_of(base, key) != now {
                parts.push(format!("{key}={}", format_value(&now)));
            }
        }
        let id = if parts.is_empty() { "baseline".to_string() } else { safe_segment(&parts.join(",")) };
        // The baseline (or any point equal to an earlier one) is counted once.
        if let Some(&existing) = by_id.get(&id) {
            if configs[existing].train != train {
                problems.push(Problem {
                    file: sweep.path.clone(),
                    line: None,
                    key: None,
                    message: format!("two configurations map to the run id `{id}`; make the axis values distinct"),
                });
            }
            continue;
        }
        let name = if parts.is_empty() { "baseline".to_string() } else { parts.join(",") };
        let combination = train.combination_problems();
        for (key, msg) in &combination {
            problems.push(Problem {
                file: sweep.path.clone(),
                line: None,
                key: Some(format!("configuration {name}: train.{key}")),
                message: msg.clone(),
            });
        }
        // An axis value this configuration ignores would train a copy of another configuration.
        for (key, why) in train.ignored_keys(&sweep.data) {
            let Some(part) = parts.iter().position(|p| p.split_once('=').is_some_and(|(k, _)| k == key)) else {
                continue;
            };
            if combination.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let others: Vec<&str> =
                parts.iter().enumerate().filter(|(i, _)| *i != part).map(|(_, p)| p.as_str()).collect();
            let twin = if others.is_empty() { "baseline".to_string() } else { others.join(",") };
            problems.push(Problem {
                file: sweep.path.clone(),
                line: None,
                key: Some(format!("configuration {name}: sweep.{key}")),
                message: format!(
                    "has no effect here: {why}. This configuration would train the same model as `{twin}`: \
                     drop the value, or sweep `{key}` only where it matters"
                ),
            });
        }
        if let Some(key) = train.needs_validation().filter(|_| !sweep.data.has_validation()) {
            problems.push(Problem {
                file: sweep.path.clone(),
                line: None,
                key: Some(format!("train.{key}")),
                message:
                    "needs a validation set: add reserve_every, reserve_fraction or resample = \"kfold\" to [data]"
                        .into(),
            });
        }
        let axis_values = train.shown_values(&axes);
        by_id.insert(id.clone(), configs.len());
        configs.push(Config { id, axis_values, train, dataset: None });
    }
    if !problems.is_empty() {
        return Err(InputError(problems));
    }
    // Datasets are the outermost axis: every configuration once per dataset, dataset by dataset,
    // so that a dataset's runs are scheduled together (its data is loaded only while they run).
    if !sweep.datasets.is_empty() {
        configs = (0..sweep.datasets.len())
            .flat_map(|d| configs.iter().map(move |c| Config { dataset: Some(d), ..c.clone() }))
            .collect();
    }
    let datasets: Vec<String> = sweep.datasets.iter().map(|d| d.name.clone()).collect();

    let mut runs = Vec::new();
    for (ci, config) in configs.iter().enumerate() {
        let (base_seed, prefix) = match config.dataset {
            Some(d) => (derive_dataset_seed(sweep.seed, &datasets[d]), format!("{}/", datasets[d])),
            None => (sweep.seed, String::new()),
        };
        for (repetition, fold, repeat, suffix) in run_slots(sweep.repeats, sweep.data.folds()) {
            // Every seed comes from names, never from positions in the plan: adding a
            // configuration (or a dataset) changes no existing id or seed.
            let seed = match sweep.pairing {
                Pairing::All => derive_shared_seed(base_seed, repeat),
                Pairing::Split | Pairing::None => derive_seed(base_seed, &config.id, repeat),
            };
            let split_seed = match (sweep.pairing, fold) {
                (Pairing::None, None) => seed,
                (Pairing::None, Some(_)) => derive_own_partition_seed(base_seed, &config.id, repetition),
                (Pairing::Split | Pairing::All, _) => derive_split_seed(base_seed, repetition),
            };
            runs.push(PlannedRun {
                index: runs.len(),
                config: ci,
                repeat,
                id: format!("{prefix}{}/{suffix}", config.id),
                seed,
                repetition,
                fold,
                split_seed,
            });
        }
    }
    Ok(Plan { design: sweep.design, axes, configs, runs, datasets })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::config::DEFAULT_FOLDS;
    use crate::spec::sweep::parse_stored_sweep;
    use std::path::Path;

    /// A stored sweep without `pairing` means `none`: these say `split` unless told otherwise.
    fn plan(top: &str, data: &str, axis: &str) -> Plan {
        let top = if top.contains("pairing") { top.to_string() } else { format!("{top}\npairing = \"split\"") };
        let text =
            format!("name = \"p\"\nseed = 7\n{top}\n[data]\ntrain = \"/x.tsv\"\n{data}\n[sweep]\nhidden = {axis}\n");
        expand(&parse_stored_sweep(Path::new("/s.toml"), &text).unwrap()).unwrap()
    }

    fn run<'p>(plan: &'p Plan, id: &str) -> &'p PlannedRun {
        plan.runs.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no run {id}"))
    }

    #[test]
    fn pairing_none_keeps_todays_ids_and_seeds_and_splits_by_the_runs_own_seed() {
        let p = plan("repeats = 2\npairing = \"none\"", "reserve_every = 4", "[[16], [32]]");
        let ids: Vec<&str> = p.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["hidden=16/rep-1", "hidden=16/rep-2", "hidden=32/rep-1", "hidden=32/rep-2"]);
        for r in &p.runs {
            assert_eq!(r.seed, derive_seed(7, &p.configs[r.config].id, r.repeat), "{}", r.id);
            assert_eq!((r.split_seed, r.repetition, r.fold), (r.seed, r.repeat, None), "{}", r.id);
        }
    }

    #[test]
    fn pairing_split_shares_the_split_seed_of_equal_repeats_only() {
        let p = plan("repeats = 3", "reserve_every = 4", "[[16], [32]]");
        let (a, b) = (run(&p, "hidden=16/rep-2"), run(&p, "hidden=32/rep-2"));
        assert_eq!(a.split_seed, b.split_seed, "same repeat, same split");
        assert_ne!(a.seed, b.seed, "initial weights stay per configuration");
        assert_eq!(a.seed, derive_seed(7, "hidden=16", 2), "seeds as with pairing none");
        assert_ne!(a.split_seed, run(&p, "hidden=16/rep-3").split_seed, "another repetition, another split");
    }

    #[test]
    fn pairing_all_shares_the_seed_too() {
        let p = plan("pairing = \"all\"", "reserve_every = 4", "[[16], [32]]");
        let (a, b) = (run(&p, "hidden=16/rep-1"), run(&p, "hidden=32/rep-1"));
        assert_eq!((a.seed, a.split_seed), (b.seed, b.split_seed));
        assert_ne!(a.seed, run(&p, "hidden=16/rep-2").seed);
    }

    #[test]
    fn kfold_plans_repeats_times_folds_runs_per_configuration() {
        let p = plan("repeats = 2", "resample = \"repeated-kfold\"\nfolds = 3", "[[16], [32]]");
        assert_eq!(p.runs.len(), 2 * 2 * 3);
        let r = run(&p, "hidden=32/rep-2-fold-3");
        assert_eq!((r.repetition, r.fold, r.repeat), (2, Some(3), 6));
        // Every fold of a repetition shares one partition, across configurations too.
        let partition = |rep: usize| {
            let mut seeds: Vec<u64> = p.runs.iter().filter(|r| r.repetition == rep).map(|r| r.split_seed).collect();
            seeds.dedup();
            seeds
        };
        assert_eq!(partition(1).len(), 1);
        assert_ne!(partition(1), partition(2));
        let kfold = plan("", "resample = \"kfold\"", "[[16]]");
        assert_eq!(kfold.runs.len(), DEFAULT_FOLDS, "kfold is one partition of the default folds");
    }

    #[test]
    fn kfold_with_pairing_none_partitions_each_configuration_on_its_own() {
        let p = plan("pairing = \"none\"", "resample = \"kfold\"\nfolds = 2", "[[16], [32]]");
        let seeds = |c: &str| [1, 2].map(|f| run(&p, &format!("{c}/rep-1-fold-{f}")).split_seed);
        let (a, b) = (seeds("hidden=16"), seeds("hidden=32"));
        assert_eq!(a[0], a[1], "the folds of one repetition partition the same rows");
        assert_ne!(a[0], b[0], "unpaired: configurations draw their own partitions");
    }

    #[test]
    fn adding_a_configuration_changes_no_existing_id_or_seed() {
        for (case, data) in [("holdout", "reserve_every = 4"), ("k-fold", "resample = \"repeated-kfold\"\nfolds = 3")] {
            for pairing in Pairing::WORDS {
                let top = format!("repeats = 2\npairing = \"{pairing}\"");
                let small = plan(&top, data, "[[16], [32]]");
                let grown = plan(&top, data, "[[8], [16], [24], [32]]");
                for r in &small.runs {
                    let g = run(&grown, &r.id);
                    assert_eq!(
                        (r.seed, r.split_seed, r.repeat, r.repetition, r.fold),
                        (g.seed, g.split_seed, g.repeat, g.repetition, g.fold),
                        "{case}, pairing {pairing}: {}",
                        r.id
                    );
                }
            }
        }
    }
}
