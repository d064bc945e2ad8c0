//! The keys of one run (`[train]`) and of its data (`[data]`), with their defaults.
//! A sweep axis is any `[train]` key given as a list, so every field here can be swept.

use super::options::{
    Activation, DType, Device, Engine, Features, Init, Loss, Method, MomentumRule, OptimizerKind, StopOn,
};
use crate::stats::folds::fold_of_row;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use toml::Value;

/// Upper bounds of the count and size keys (README, "Limits"): far above any useful value,
/// low enough that no key alone can ask for an unbounded loop or allocation. Memory is
/// bounded separately, per configuration, once the data's shape is known.
pub mod limits {
    /// Runs one sweep may plan (configurations × repeats × folds): the plan, `plan.csv` and the
    /// summary are held in memory and rewritten whole, so their size needs a bound.
    pub const MAX_RUNS: usize = 100_000;
    pub const MAX_HIDDEN_LAYERS: usize = 64;
    pub const MAX_WIDTH: usize = 1 << 20;
    pub const MAX_EPOCHS: usize = 1_000_000;
    /// `batch_size`; anything above the training set's size means the whole set.
    pub const MAX_BATCH_SIZE: usize = 1 << 30;
    /// `frame` and `hop`, in samples.
    pub const MAX_FRAME: usize = 1 << 20;
    pub const MAX_MEL_BANDS: usize = 4096;
    pub const MAX_HISTOGRAM_BINS: usize = 10_000;
    /// `test_every`, `save_every`, `confusion_every`, `plot_every`, `patience`: epochs.
    pub const MAX_EVERY: usize = MAX_EPOCHS;
    /// `[data] reserve_every`.
    pub const MAX_RESERVE_EVERY: usize = 1 << 30;
    /// `[data] folds`: each fold is a run of every configuration, and more than 100 folds
    /// validate on so few rows that a fold's score says little.
    pub const MAX_FOLDS: usize = 100;
}

/// `state_every` when not given: a killed run loses at most this many epochs, and the
/// state (about the size of the weights, three times with Adam) is written that rarely.
pub const DEFAULT_STATE_EVERY: usize = 10;

/// Folds of `resample = "kfold"` when `folds` is not given.
pub const DEFAULT_FOLDS: usize = 5;

/// How a run's validation rows are chosen (`[data] resample`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resample {
    /// `reserve_every` / `reserve_fraction` (or no validation rows): one split per repeat.
    #[serde(rename = "holdout")]
    Holdout,
    /// One k-fold partition: `folds` runs per configuration, every row validates once.
    #[serde(rename = "kfold")]
    Kfold,
    /// `repeats` k-fold partitions, each drawn afresh.
    #[serde(rename = "repeated-kfold")]
    RepeatedKfold,
}

impl Resample {
    pub fn word(self) -> &'static str {
        match self {
            Resample::Holdout => "holdout",
            Resample::Kfold => "kfold",
            Resample::RepeatedKfold => "repeated-kfold",
        }
    }
}

/// Everything that defines one training run, apart from the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Hidden layer widths; `[]` is a linear model.
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub learning_rate: f64,
    /// Rows per update; larger than the training set means the whole set.
    pub batch_size: usize,
    pub momentum: f64,
    pub momentum_rule: MomentumRule,
    pub optimizer: OptimizerKind,
    /// L2 penalty added to the gradient (`wd·p`).
    pub weight_decay: f64,
    pub loss: Loss,
    pub init: Init,
    pub epochs: usize,
    /// Permute the rows once before reserving validation rows, and every epoch.
    pub shuffle: bool,
    pub dtype: DType,
    /// `auto`, `direct`, or `gram` (SGD only): the first layer through the training rows' Gram matrix.
    pub method: Method,
    /// `auto`, `candle` or `native`: what trains the network (`auto` picks native where it covers the run).
    pub engine: Engine,
    /// `cpu` or `cuda` (candle engine only; `cuda` needs a build with `--features cuda`).
    pub device: Device,
    /// Per-sample min–max scaling to [0, 1] (the paper's `compress`).
    pub minmax: bool,
    /// Per-sample zero mean, unit variance (the paper's LayerNorm head, eps 1e-5).
    pub normalize: bool,
    /// Input representation, computed after min–max and normalisation.
    pub features: Features,
    /// log-mel: samples per short-time frame.
    pub frame: usize,
    /// log-mel: samples between frame starts.
    pub hop: usize,
    /// log-mel: triangular mel filters.
    pub mel_bands: usize,
    /// log-mel: nominal sampling rate in Hz (sets the mel scale's frequencies).
    pub sample_rate: f64,
    /// Evaluate the test set every N epochs (and always at the last); 0 = last epoch only.
    pub test_every: usize,
    /// Save `checkpoints/epoch-NNNN.safetensors` every N epochs; 0 = final model only.
    pub save_every: usize,
    /// Record confusion matrices every N epochs (and always at the last); 0 = last only.
    pub confusion_every: usize,
    /// Draw the run's plots (PNG) at the end, and every `plot_every` epochs if > 0.
    /// Unset: as [`Artifacts::default_for`] a sweep of its size (`resolve_artifacts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plots: Option<bool>,
    /// Redraw the plots every N epochs while training (0: at the end only).
    pub plot_every: usize,
    /// Save the run's whole training state (`runs/<id>/state.bin`) every N epochs, so that a
    /// killed run resumes from it (0: never). Unset: [`DEFAULT_STATE_EVERY`]. Changes nothing
    /// a run trains, so it is not in the config hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_every: Option<usize>,
    /// Write `predictions.npz` (the kept model's per-row validation and test predictions,
    /// for ensembles and test-row statistics; `results::predictions`).
    pub predictions: bool,
    /// Write the per-node diagnostics (`weights.csv.gz`, `activations.csv.gz`,
    /// `confusion-<set>.csv.gz`; `results::diagnostics`). Unset: as `plots`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<bool>,
    /// Write `model.safetensors` (and `checkpoints/` with `save_every`). Unset: as `plots`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<bool>,
    /// Bins of the per-node activation histograms.
    pub histogram_bins: usize,
    /// Upper end of the ReLU histogram; larger activations go to an overflow bin.
    pub histogram_relu_max: f64,
    /// Probability of dropping a hidden unit in training passes (inverted dropout).
    pub dropout: f64,
    /// Stop after this many epochs without a better validation score, keeping the
    /// best epoch's weights; 0 = never stop early.
    pub patience: usize,
    /// The validation score early stopping and refit go by.
    pub early_stopping: StopOn,
    /// Retrain from scratch on training + validation rows for the best epoch count,
    /// then evaluate the test set with that model.
    pub refit: bool,
    /// Per-feature z-score, fitted on the training rows only.
    pub standardize: bool,
    /// Seed of a single `pinniped train` run (sweep runs derive theirs).
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        // The paper's baseline (§3.1), in f32.
        TrainConfig {
            hidden: vec![64],
            activation: Activation::Sigmoid,
            learning_rate: 0.001,
            batch_size: 160,
            momentum: 0.0,
            momentum_rule: MomentumRule::Damped,
            optimizer: OptimizerKind::Sgd,
            weight_decay: 0.0,
            loss: Loss::MseSum,
            init: Init::Paper,
            epochs: 256,
            shuffle: true,
            dtype: DType::F32,
            method: Method::Auto,
            engine: Engine::Auto,
            device: Device::Cpu,
            minmax: true,
            normalize: true,
            features: Features::Amplitude,
            frame: 256,
            hop: 128,
            mel_bands: 40,
            sample_rate: 16000.0,
            test_every: 1,
            save_every: 0,
            confusion_every: 0,
            plots: None,
            plot_every: 0,
            state_every: None,
            predictions: true,
            diagnostics: None,
            checkpoints: None,
            histogram_bins: 20,
            histogram_relu_max: 1.0,
            dropout: 0.0,
            patience: 0,
            early_stopping: StopOn::ValidAcc,
            refit: false,
            standardize: false,
            seed: 2019,
        }
    }
}

/// Where the data comes from and how validation rows are reserved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub train: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<PathBuf>,
    /// `ucr`, `arff` or `ts`; guessed from the file name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// ARFF: the nominal attribute holding the class (default: the last one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_attribute: Option<String>,
    /// Every Nth row (after the initial shuffle) is a validation row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_every: Option<usize>,
    /// The last fraction of the (shuffled) rows are validation rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_fraction: Option<f64>,
    /// Unequal lengths: `error` (default), `pad`, `truncate` or `resample`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<String>,
    /// The length the `length` policy brings every series to (default: the longest for pad and
    /// resample, the shortest for truncate, of the training file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_length: Option<usize>,
    /// Missing values: `error` (default), `interpolate` or `zero`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    /// `holdout` (default), `kfold` or `repeated-kfold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resample: Option<Resample>,
    /// k of k-fold (default [`DEFAULT_FOLDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<usize>,
    /// Split each class alike: default true for k-fold, false for a holdout (the paper's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratify: Option<bool>,
}

/// Sweeps with more runs than this keep, by default, only what the summaries need.
pub const FULL_ARTIFACTS_MAX_RUNS: usize = 500;

/// Which per-run files a run writes beyond `config.toml`, `metrics.csv` and `status.json`
/// (always written: the summaries, the sweep plots and `report.html` read only those and
/// `predictions.npz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Artifacts {
    /// `plots/*.png`.
    pub plots: bool,
    /// `weights.csv.gz`, `activations.csv.gz`, `confusion-<set>.csv.gz`.
    pub diagnostics: bool,
    /// `model.safetensors`, `checkpoints/epoch-NNNN.safetensors`.
    pub checkpoints: bool,
    /// `predictions.npz` (ensembles).
    pub predictions: bool,
}

impl Artifacts {
    /// What an unset `plots`, `diagnostics` or `checkpoints` means in a sweep of `runs`
    /// runs: kept up to [`FULL_ARTIFACTS_MAX_RUNS`] runs, left out above (about 1 MB per
    /// run of the paper's grid, of which nobody looks at thousands; `pinniped train
    /// runs/<id>/config.toml` with them set to true retrains any one run bit for bit).
    pub fn default_for(runs: usize) -> bool {
        runs <= FULL_ARTIFACTS_MAX_RUNS
    }
}

impl TrainConfig {
    /// The unset artifact switches decided for a sweep of `runs` runs (1: `pinniped train`,
    /// a refit), so that `config.toml` and the config hash record what the run writes.
    pub fn resolve_artifacts(mut self, runs: usize) -> Self {
        let default = Artifacts::default_for(runs);
        for switch in [&mut self.plots, &mut self.diagnostics, &mut self.checkpoints] {
            switch.get_or_insert(default);
        }
        self
    }

    /// The files this configuration's runs write (unset switches: as for a single run).
    pub fn artifacts(&self) -> Artifacts {
        let default = Artifacts::default_for(1);
        Artifacts {
            plots: self.plots.unwrap_or(default),
            diagnostics: self.diagnostics.unwrap_or(default),
            checkpoints: self.checkpoints.unwrap_or(default),
            predictions: self.predictions,
        }
    }

    /// Every how many epochs a run saves its training state (0: never).
    pub fn state_every(&self) -> usize {
        self.state_every.unwrap_or(DEFAULT_STATE_EVERY)
    }

    /// Every key `[train]` accepts, in declaration order.
    pub fn keys() -> Vec<String> {
        // The artifact switches are unset by default, and unset keys are not written.
        let all = TrainConfig { state_every: Some(DEFAULT_STATE_EVERY), ..TrainConfig::default().resolve_artifacts(1) };
        match toml::Value::try_from(all) {
            Ok(toml::Value::Table(t)) => t.keys().cloned().collect(),
            _ => unreachable!("TrainConfig serialises to a table"),
        }
    }

    /// Problems with values that parse but make no sense, as (key, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            p.push(("learning_rate", format!("must be a finite number > 0, not {}", self.learning_rate)));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            p.push(("momentum", format!("must be within [0, 1], not {}", self.momentum)));
        }
        use limits::*;
        if self.hidden.contains(&0) {
            p.push(("hidden", "a hidden layer needs at least 1 node (use [] for a linear model)".into()));
        }
        if self.hidden.len() > MAX_HIDDEN_LAYERS {
            p.push((
                "hidden",
                format!("must have at most {MAX_HIDDEN_LAYERS} hidden layers, not {}", self.hidden.len()),
            ));
        }
        if let Some(w) = self.hidden.iter().find(|&&w| w > MAX_WIDTH) {
            p.push(("hidden", format!("a layer must have at most {MAX_WIDTH} nodes, not {w}")));
        }
        for (key, value, min, max, unit) in [
            ("batch_size", self.batch_size, 1, MAX_BATCH_SIZE, " rows"),
            ("epochs", self.epochs, 1, MAX_EPOCHS, ""),
            ("histogram_bins", self.histogram_bins, 1, MAX_HISTOGRAM_BINS, ""),
            ("mel_bands", self.mel_bands, 1, MAX_MEL_BANDS, ""),
            ("test_every", self.test_every, 0, MAX_EVERY, " epochs"),
            ("save_every", self.save_every, 0, MAX_EVERY, " epochs"),
            ("confusion_every", self.confusion_every, 0, MAX_EVERY, " epochs"),
            ("plot_every", self.plot_every, 0, MAX_EVERY, " epochs"),
            ("state_every", self.state_every(), 0, MAX_EVERY, " epochs"),
            ("patience", self.patience, 0, MAX_EVERY, " epochs"),
            ("frame", self.frame, 2, MAX_FRAME, " samples"),
            ("hop", self.hop, 1, MAX_FRAME, " samples"),
        ] {
            if value > max {
                p.push((key, format!("must be at most {max}{unit}, not {value}")));
            } else if value < min && !matches!(key, "frame" | "hop") {
                p.push((key, format!("must be at least {min}")));
            }
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            p.push(("weight_decay", format!("must be a finite number >= 0, not {}", self.weight_decay)));
        }
        if !(self.histogram_relu_max > 0.0 && self.histogram_relu_max.is_finite()) {
            p.push(("histogram_relu_max", "must be a finite number > 0".into()));
        }
        if self.frame < 2 {
            p.push(("frame", "must be at least 2 samples".into()));
        }
        if self.hop == 0 {
            p.push(("hop", "must be at least 1 sample (e.g. half the frame)".into()));
        }
        if !(self.sample_rate > 0.0 && self.sample_rate.is_finite()) {
            p.push(("sample_rate", "must be a finite number of Hz > 0".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            p.push(("dropout", format!("must be within [0, 1), not {}", self.dropout)));
        }
        p.extend(self.combination_problems());
        p
    }

    /// The key (`patience` or `refit`) that needs a validation set, if any does.
    pub fn needs_validation(&self) -> Option<&'static str> {
        if self.refit {
            Some("refit")
        } else if self.patience > 0 {
            Some("patience")
        } else {
            None
        }
    }

    /// The keys this configuration ignores, with the reason: changing one of them trains
    /// exactly the same model and writes the same files (`predictions` aside, which only
    /// adds or leaves out a file). `data` matters for `test_every`.
    pub fn ignored_keys(&self, data: &DataConfig) -> Vec<(&'static str, String)> {
        let mut ignored = Vec::new();
        let mut because = |keys: &[&'static str], why: String| ignored.extend(keys.iter().map(|&k| (k, why.clone())));
        if !self.features.uses_frames() {
            because(
                &["frame", "hop", "mel_bands", "sample_rate"],
                format!(
                    "features = \"{}\" uses no frames; only \"log-mel\" and \"multi-log-mel\" do",
                    self.features.word()
                ),
            );
        }
        if self.hidden.is_empty() {
            because(
                &["activation", "dropout", "histogram_bins", "histogram_relu_max"],
                "hidden = [] is a linear model, with no hidden units to activate, drop or histogram".into(),
            );
        } else if self.activation != Activation::Relu {
            because(
                &["histogram_relu_max"],
                format!(
                    "activation = \"{}\" is bounded; only relu's histogram has an upper end to set",
                    self.activation.word()
                ),
            );
        }
        if self.optimizer == OptimizerKind::Adam {
            because(&["momentum", "momentum_rule"], "optimizer = \"adam\" keeps its own moment estimates".into());
            because(&["method"], "optimizer = \"adam\" always trains directly (gram is for sgd only)".into());
        } else if self.momentum == 0.0 {
            because(&["momentum_rule"], "momentum = 0 leaves no velocity to update".into());
        }
        if self.patience == 0 && !self.refit {
            because(
                &["early_stopping"],
                "with patience = 0 and refit = false no validation score picks an epoch".into(),
            );
        }
        if data.test.is_none() {
            because(&["test_every"], "[data] has no test file".into());
        }
        if self.plots == Some(false) {
            because(&["plot_every"], "plots = false draws nothing".into());
        }
        // Output switches, never sweep axes: set them in [train] for the whole sweep.
        because(&["predictions"], "it only decides whether predictions.npz is written; set it in [train]".into());
        because(
            &["diagnostics", "checkpoints"],
            "it only decides which files a run keeps, not what it trains; set it in [train]".into(),
        );
        ignored
    }

    /// Problems that come from two keys together, judged on a whole configuration
    /// (a sweep checks them on each expanded configuration, not on axis values alone).
    pub fn combination_problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if self.momentum != 0.0 && self.optimizer == OptimizerKind::Adam {
            p.push(("momentum", "has no effect with optimizer = \"adam\": set it to 0".into()));
        }
        if self.method == Method::Gram && self.optimizer != OptimizerKind::Sgd {
            p.push((
                "method",
                "\"gram\" needs optimizer = \"sgd\" (Adam's updates leave the span of the training rows)".into(),
            ));
        }
        if self.device == Device::Cuda && self.engine == Engine::Native {
            p.push(("device", "\"cuda\" needs engine = \"candle\" (the native engine runs on the CPU only)".into()));
        }
        if self.device == Device::Cuda && !cfg!(feature = "cuda") {
            p.push(("device", "\"cuda\" needs a pinniped built with `cargo build --release --features cuda`".into()));
        }
        p
    }

    /// The engine that trains this configuration: `auto` is native wherever native
    /// covers it (every configuration on the CPU), candle otherwise.
    pub fn resolved_engine(&self) -> Engine {
        match self.engine {
            Engine::Auto if self.device == Device::Cpu => Engine::Native,
            Engine::Auto => Engine::Candle,
            e => e,
        }
    }
}

impl DataConfig {
    pub fn has_validation(&self) -> bool {
        self.reserve_every.is_some() || self.reserve_fraction.is_some() || self.is_kfold()
    }

    pub fn resample(&self) -> Resample {
        self.resample.unwrap_or(Resample::Holdout)
    }

    pub fn is_kfold(&self) -> bool {
        self.resample() != Resample::Holdout
    }

    /// k of a k-fold resampling; `None` for a holdout.
    pub fn folds(&self) -> Option<usize> {
        self.is_kfold().then(|| self.folds.unwrap_or(DEFAULT_FOLDS))
    }

    /// Whether validation rows are drawn class by class.
    pub fn stratify(&self) -> bool {
        self.stratify.unwrap_or(self.is_kfold())
    }

    /// Every problem: the values, then whether the files exist.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = self.value_problems();
        p.extend(self.file_problems());
        p
    }

    /// The same data with its file paths left out: what the data *is* is the
    /// digest of the files' bytes, not where they lie (data moved with the same
    /// bytes is the same data).
    pub fn without_paths(&self) -> DataConfig {
        DataConfig { train: PathBuf::new(), test: self.test.as_ref().map(|_| PathBuf::new()), ..self.clone() }
    }

    pub fn value_problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if self.reserve_every.is_some() && self.reserve_fraction.is_some() {
            p.push(("reserve_every", "give either reserve_every or reserve_fraction, not both".into()));
        }
        if self.reserve_every == Some(0) {
            p.push(("reserve_every", "must be at least 2 (every Nth row is reserved)".into()));
        }
        if let Some(n) = self.reserve_every.filter(|&n| n > limits::MAX_RESERVE_EVERY) {
            p.push(("reserve_every", format!("must be at most {}, not {n}", limits::MAX_RESERVE_EVERY)));
        }
        if self.reserve_every == Some(1) {
            p.push(("reserve_every", "1 would reserve every row and leave none to train on; use 2 or more".into()));
        }
        if let Some(f) = self.reserve_fraction {
            if !(f > 0.0 && f < 1.0) {
                p.push(("reserve_fraction", format!("must be strictly between 0 and 1, not {f}")));
            }
        }
        p.extend(self.resample_problems());
        if let Some(f) = &self.format {
            if f.parse::<crate::data::Format>().is_err() {
                p.push(("format", format!("`{f}` is not one of: ucr, arff, ts")));
            }
        }
        if let Err(problem) = self.series_policy() {
            p.push(problem);
        }
        p
    }

    /// `resample`, `folds` and `stratify` against each other and the holdout keys.
    fn resample_problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let holdout_key = if self.reserve_every.is_some() {
            Some("reserve_every")
        } else if self.reserve_fraction.is_some() {
            Some("reserve_fraction")
        } else {
            None
        };
        if self.is_kfold() {
            if let Some(key) = holdout_key {
                p.push((
                    key,
                    format!(
                        "conflicts with resample = \"{}\" (k-fold chooses the validation rows itself): drop {key}, \
                         or use resample = \"holdout\"",
                        self.resample().word()
                    ),
                ));
            }
        } else if self.folds.is_some() {
            p.push(("folds", "needs resample = \"kfold\" or \"repeated-kfold\"; drop folds for a holdout".into()));
        }
        if let Some(k) = self.folds {
            if !(2..=limits::MAX_FOLDS).contains(&k) {
                p.push(("folds", format!("must be from 2 to {}, not {k}", limits::MAX_FOLDS)));
            }
        }
        if self.stratify == Some(true) && !self.is_kfold() {
            if self.reserve_every.is_some() {
                p.push((
                    "stratify",
                    "cannot apply to reserve_every (every Nth row is a fixed rule): use reserve_fraction for a \
                     stratified holdout, or drop stratify"
                        .into(),
                ));
            } else if self.reserve_fraction.is_none() {
                p.push((
                    "stratify",
                    "has no validation rows to stratify: add reserve_fraction (or resample = \"kfold\"), or drop \
                     stratify"
                        .into(),
                ));
            }
        }
        p
    }

    /// The `length`, `series_length` and `missing` keys as a policy, or the first problem.
    pub fn series_policy(&self) -> Result<crate::data::SeriesPolicy, (&'static str, String)> {
        use crate::data::{ts::MAX_SERIES_LENGTH, LengthPolicy, MissingPolicy};
        let length = match &self.length {
            None => LengthPolicy::Error,
            Some(word) => word.parse().map_err(|e| ("length", e))?,
        };
        let missing = match &self.missing {
            None => MissingPolicy::Error,
            Some(word) => word.parse().map_err(|e| ("missing", e))?,
        };
        if let Some(n) = self.series_length {
            if !(1..=MAX_SERIES_LENGTH).contains(&n) {
                return Err(("series_length", format!("must be within 1..={MAX_SERIES_LENGTH}, not {n}")));
            }
            if length == LengthPolicy::Error {
                return Err((
                    "series_length",
                    "is the target of a length policy: also set length = \"pad\", \"truncate\" or \
                     \"resample\", or drop series_length"
                        .into(),
                ));
            }
        }
        Ok(crate::data::SeriesPolicy { length, missing, series_length: self.series_length })
    }

    pub fn file_problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        for (key, path) in [("train", Some(&self.train)), ("test", self.test.as_ref())] {
            if let Some(path) = path {
                if !path.is_file() {
                    p.push((key, format!("{} does not exist or is not a file", path.display())));
                }
            }
        }
        p
    }

    /// Row indices (into the training file) of one run's training and validation rows, given
    /// the order after the initial shuffle (both lists keep that order) and the labels:
    /// - k-fold: the rows of fold `split.fold` validate, the others train; folds come from
    ///   [`fold_of_row`] of (split seed, repetition), stratified by class unless `stratify = false`;
    /// - `stratify = true` with `reserve_fraction`: [`stratified_holdout`];
    /// - otherwise [`DataConfig::split`].
    ///
    /// `Err` (a fold outside 1..=folds, more folds than rows) is why the run cannot train.
    pub fn split_rows(
        &self,
        order: &[usize],
        labels: &[u32],
        split: &Split,
    ) -> Result<(Vec<usize>, Vec<usize>), String> {
        if let Some(k) = self.folds() {
            let fold = split.fold.filter(|f| (1..=k).contains(f)).ok_or_else(|| {
                format!("resample = \"{}\" needs the run's fold, from 1 to {k} ([split] fold)", self.resample().word())
            })?;
            // Unstratified: every row in one stratum, dealt out the same way.
            let strata = if self.stratify() { labels.to_vec() } else { vec![0; labels.len()] };
            let folds = fold_of_row(&strata, k, split.seed, split.repetition).map_err(|e| e.to_string())?;
            return Ok(order.iter().partition(|&&row| folds[row] != fold - 1));
        }
        match self.reserve_fraction {
            Some(f) if self.stratify() => Ok(stratified_holdout(order, labels, f)),
            _ => Ok(self.split(order)),
        }
    }

    /// Row indices (into the training file) of the training and validation rows,
    /// given the order after the initial shuffle.
    pub fn split(&self, order: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let n = order.len();
        if let Some(k) = self.reserve_every {
            let (mut train, mut valid) = (Vec::new(), Vec::new());
            for (pos, &row) in order.iter().enumerate() {
                if pos % k == 0 {
                    valid.push(row)
                } else {
                    train.push(row)
                }
            }
            (train, valid)
        } else if let Some(f) = self.reserve_fraction {
            let reserved = ((n as f64) * f).ceil() as usize;
            let cut = n - reserved.min(n);
            (order[..cut].to_vec(), order[cut..].to_vec())
        } else {
            (order.to_vec(), Vec::new())
        }
    }
}

/// A holdout of `fraction` of every class: each class reserves round(n × fraction) of its n rows
/// (halves round up), but at most n − 1, so that every class keeps a row to train on (a class
/// of one row never validates). The reserved rows are the class's last in `order`, as the
/// unstratified holdout reserves the last rows. Both lists keep the order of `order`.
pub fn stratified_holdout(order: &[usize], labels: &[u32], fraction: f64) -> (Vec<usize>, Vec<usize>) {
    let mut per_class: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    order.iter().for_each(|&row| *per_class.entry(labels[row]).or_default() += 1);
    // Rows of each class still to be seen before its reserved ones start.
    let mut train_left: std::collections::BTreeMap<u32, usize> = per_class
        .iter()
        .map(|(&class, &n)| {
            let reserved = ((n as f64 * fraction + 0.5).floor() as usize).min(n - 1);
            (class, n - reserved)
        })
        .collect();
    order.iter().partition(|&&row| {
        let left = train_left.get_mut(&labels[row]).expect("counted");
        let trains = *left > 0;
        *left = left.saturating_sub(1);
        trains
    })
}

/// The data split of one run: what `fit` draws its validation rows and shuffles from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub seed: u64,
    /// 1-based.
    pub repetition: usize,
    /// 1-based fold of a k-fold resampling; `None` for a holdout.
    pub fold: Option<usize>,
}

impl Split {
    /// A run's split before `pairing` existed: drawn from the run's own seed.
    pub fn own(seed: u64) -> Split {
        Split { seed, repetition: 1, fold: None }
    }

    /// Whether this split trains as [`Split::own`] of `seed` does (a holdout's repetition
    /// number draws nothing).
    pub fn is_own(&self, seed: u64) -> bool {
        self.seed == seed && self.fold.is_none()
    }
}

/// Values as they appear in ids and summary columns: integers and floats in their
/// shortest exact form (`0.001`, `1.0`), lists joined by `x` (`16x16`).
pub fn format_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Boolean(b) => b.to_string(),
        Value::Array(a) if a.is_empty() => "none".into(),
        Value::Array(a) => a.iter().map(format_value).collect::<Vec<_>>().join("x"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(every: Option<usize>, fraction: Option<f64>) -> DataConfig {
        DataConfig {
            length: None,
            series_length: None,
            missing: None,
            train: "x".into(),
            test: None,
            format: None,
            class_attribute: None,
            reserve_every: every,
            reserve_fraction: fraction,
            resample: None,
            folds: None,
            stratify: None,
        }
    }

    #[test]
    fn splits_are_disjoint_and_cover_the_training_file() {
        let order: Vec<usize> = (0..214).rev().collect();
        for (cfg, valid_len) in [(data(Some(4), None), 54), (data(None, Some(0.25)), 54), (data(None, None), 0)] {
            let (train, valid) = cfg.split(&order);
            assert_eq!(valid.len(), valid_len);
            let mut all: Vec<usize> = train.iter().chain(&valid).copied().collect();
            all.sort();
            assert_eq!(all, (0..214).collect::<Vec<_>>(), "disjoint and complete");
        }
        // Every 4th position after the shuffle, starting with the first (the paper's §2.2).
        let (_, valid) = data(Some(4), None).split(&order);
        assert_eq!(&valid[..3], &[213, 209, 205]);
        // The last fraction.
        let (train, valid) = data(None, Some(0.25)).split(&order);
        assert_eq!((train.last(), valid.first()), (Some(&54), Some(&53)));
    }

    #[test]
    fn a_stratified_holdout_reserves_the_same_fraction_of_every_class_and_keeps_one_to_train() {
        // Class sizes 1, 2, 5, 8, a quarter reserved: round(n / 4) with halves up, at most n - 1.
        let sizes = [1usize, 2, 5, 8];
        let by_class: Vec<u32> =
            sizes.iter().enumerate().flat_map(|(c, &n)| std::iter::repeat_n(c as u32, n)).collect();
        // A fixed interleaving, so that a class's rows are not adjacent.
        let labels: Vec<u32> = (0..by_class.len()).map(|i| by_class[(i * 7) % by_class.len()]).collect();
        let order: Vec<usize> = (0..labels.len()).rev().collect();
        let (train, valid) = stratified_holdout(&order, &labels, 0.25);
        for (class, (&n, want)) in sizes.iter().zip([0, 1, 1, 2]).enumerate() {
            let got = valid.iter().filter(|&&r| labels[r] == class as u32).count();
            assert_eq!(got, want, "class {class} of {n} rows");
        }
        let mut all: Vec<usize> = train.iter().chain(&valid).copied().collect();
        all.sort();
        assert_eq!(all, (0..labels.len()).collect::<Vec<_>>(), "disjoint and complete");
        // Both keep the shuffled order; a class's reserved rows are its last in that order.
        assert!(train.windows(2).all(|w| w[0] > w[1]) && valid.windows(2).all(|w| w[0] > w[1]));
        let last_of_class_3 = *order.iter().rev().find(|&&r| labels[r] == 3).unwrap();
        assert!(valid.contains(&last_of_class_3));
    }
}
