//! The keys of one run (`[train]`) and of its data (`[data]`), with their defaults.
//! A sweep axis is any `[train]` key given as a list, so every field here can be swept.
//! `[train]` is one flat table in files; in code it is [`TrainConfig`]'s typed parts
//! ([`ModelConfig`], [`OptimiserConfig`], [`PipelineConfig`], [`ScheduleConfig`], [`OutputConfig`]).

use super::options::{
    Activation, DType, Device, Engine, Features, Init, Loss, Method, ModelFamily, MomentumRule, OptimizerKind, StopOn,
};
use super::reading::{Format, SeriesPolicy};
use crate::stats::folds::fold_of_row;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use toml::Value;

/// Upper bounds of the count and size keys (README, "Limits"): far above any useful value,
/// low enough that no key alone can ask for an unbounded loop or allocation. Memory is
/// bounded separately, per configuration, once the data's shape is known.
pub(crate) mod limits {
    /// Runs one sweep may plan (configurations × repeats × folds): the plan, `plan.csv` and the
    /// summary are held in memory and rewritten whole, so their size needs a bound.
    pub(crate) const MAX_RUNS: usize = 100_000;
    pub(crate) const MAX_HIDDEN_LAYERS: usize = 64;
    pub(crate) const MAX_WIDTH: usize = 1 << 20;
    pub(crate) const MAX_EPOCHS: usize = 1_000_000;
    /// `batch_size`; anything above the training set's size means the whole set.
    pub(crate) const MAX_BATCH_SIZE: usize = 1 << 30;
    /// `frame` and `hop`, in samples.
    pub(crate) const MAX_FRAME: usize = 1 << 20;
    pub(crate) const MAX_MEL_BANDS: usize = 4096;
    pub(crate) const MAX_HISTOGRAM_BINS: usize = 10_000;
    /// `test_every`, `save_every`, `confusion_every`, `plot_every`, `patience`: epochs.
    pub(crate) const MAX_EVERY: usize = MAX_EPOCHS;
    /// `[data] reserve_every`.
    pub(crate) const MAX_RESERVE_EVERY: usize = 1 << 30;
    /// `[data] folds`: each fold is a run of every configuration, and more than 100 folds
    /// validate on so few rows that a fold's score says little.
    pub(crate) const MAX_FOLDS: usize = 100;
    /// `blocks` of a convolutional model (conv blocks of an FCN, residual blocks of a ResNet).
    pub(crate) const MAX_CONV_BLOCKS: usize = 64;
    /// Each entry of `filters`.
    pub(crate) const MAX_FILTERS: usize = 4096;
    /// Each entry of `kernels`, in time steps.
    pub(crate) const MAX_KERNEL: usize = 1024;
    /// Convolutions inside one residual block (the length of a ResNet's `kernels`).
    pub(crate) const MAX_RESIDUAL_CONVS: usize = 16;
}

/// Wang et al. 2017's kernel sizes: of each FCN block, and of the three convolutions inside
/// every ResNet block.
pub const DEFAULT_KERNELS: [usize; 3] = [8, 5, 3];

/// `state_every` when not given: off. A state holds the run's history so far, so saving it
/// every 10 epochs made the paper sweep ~29% slower with 8-byte integers and ~8% with the
/// varints of state format 2 (BENCHMARKS.md); runs of a second or two lose little when
/// restarted, long runs opt in (`state_every = 50`). SIGUSR1 (`slurm --requeue`) saves a
/// state whatever this is, at the next batch boundary.
pub(crate) const DEFAULT_STATE_EVERY: usize = 0;

/// Folds of `resample = "kfold"` when `folds` is not given.
pub(crate) const DEFAULT_FOLDS: usize = 5;

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

/// Everything that defines one training run, apart from the data, in typed parts.
///
/// Its TOML form is flat (`[train] learning_rate = 0.01`, every key a possible sweep axis): it
/// goes through `TrainKeys`, so that unknown keys, type errors and the order of the keys in
/// `config.toml` (which the config hash is taken over) are exactly those of one flat table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "TrainKeys", into = "TrainKeys")]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub optimiser: OptimiserConfig,
    pub pipeline: PipelineConfig,
    pub schedule: ScheduleConfig,
    pub outputs: OutputConfig,
}

/// The network and what computes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    /// `mlp`, `fcn` or `resnet`.
    pub family: ModelFamily,
    /// Hidden layer widths; `[]` is a linear model (MLP only).
    pub hidden: Vec<usize>,
    /// Convolutional models, as written (unset: Wang et al.'s; see [`ModelConfig::conv_filters`]).
    pub filters: Option<Vec<usize>>,
    pub kernels: Option<Vec<usize>>,
    pub blocks: Option<usize>,
    pub batch_norm: Option<bool>,
    pub activation: Activation,
    /// Probability of dropping a hidden unit in training passes (inverted dropout).
    pub dropout: f64,
    pub init: Init,
    pub dtype: DType,
    /// `auto`, `direct`, or `gram` (SGD only): the first layer through the training rows' Gram matrix.
    pub method: Method,
    /// `auto`, `candle` or `native`: what trains the network (`auto` picks native where it covers the run).
    pub engine: Engine,
    /// `cpu` or `cuda` (candle engine only; `cuda` needs a build with `--features cuda`).
    pub device: Device,
}

impl ModelConfig {
    /// Blocks of a convolutional model: `blocks`, else as many as `filters` lists, else 3.
    pub fn conv_blocks(&self) -> usize {
        self.blocks.or_else(|| self.filters.as_ref().filter(|f| f.len() > 1).map(Vec::len)).unwrap_or(3)
    }

    /// Filters of each block: `filters` (one value for every block, or one per block), else
    /// Wang et al.'s (FCN 128/256/128, ResNet 64/128/128), the last repeated past three blocks.
    pub fn conv_filters(&self) -> Vec<usize> {
        per_block(self.filters.as_deref(), self.family.default_filters(), self.conv_blocks())
    }

    /// FCN: the kernel of each block (as `filters`); ResNet: the kernels of the convolutions
    /// inside every residual block (as written). Unset: 8, 5, 3.
    pub fn conv_kernels(&self) -> Vec<usize> {
        match self.family {
            ModelFamily::Resnet => self.kernels.clone().unwrap_or_else(|| DEFAULT_KERNELS.to_vec()),
            _ => per_block(self.kernels.as_deref(), &DEFAULT_KERNELS, self.conv_blocks()),
        }
    }

    /// Batch normalisation after every convolution (default true).
    pub fn batch_norm(&self) -> bool {
        self.batch_norm.unwrap_or(true)
    }

    /// Problems of the convolutional keys, as (key, message).
    fn conv_problems(&self) -> Vec<(&'static str, String)> {
        use limits::*;
        let mut p = Vec::new();
        let blocks = self.conv_blocks();
        if !(1..=MAX_CONV_BLOCKS).contains(&blocks) {
            p.push(("blocks", format!("must be within 1..={MAX_CONV_BLOCKS}, not {blocks}")));
        }
        // A ResNet's kernels are those inside every block, not one per block.
        let per_block_keys: &[(&'static str, &Option<Vec<usize>>)] = match self.family {
            ModelFamily::Resnet => &[("filters", &self.filters)],
            _ => &[("filters", &self.filters), ("kernels", &self.kernels)],
        };
        for &(key, list) in per_block_keys {
            if let Some(list) = list {
                if list.len() != 1 && list.len() != blocks {
                    p.push((
                        key,
                        format!(
                            "has {} values for {blocks} blocks: give one value for every block, or one per block",
                            list.len()
                        ),
                    ));
                }
            }
        }
        for (key, list, max) in [("filters", &self.filters, MAX_FILTERS), ("kernels", &self.kernels, MAX_KERNEL)] {
            if let Some(list) = list {
                if list.is_empty() {
                    p.push((key, "needs at least one value".into()));
                }
                if let Some(v) = list.iter().find(|&&v| v == 0 || v > max) {
                    p.push((key, format!("each value must be within 1..={max}, not {v}")));
                }
            }
        }
        if self.family == ModelFamily::Resnet {
            let convs = self.conv_kernels().len();
            if convs > MAX_RESIDUAL_CONVS {
                p.push((
                    "kernels",
                    format!("a residual block holds at most {MAX_RESIDUAL_CONVS} convolutions, not {convs}"),
                ));
            }
        }
        p
    }
}

/// `given` (one value for all, or one per block), else `default` cut to `blocks`, its last
/// value repeated beyond.
fn per_block(given: Option<&[usize]>, default: &[usize], blocks: usize) -> Vec<usize> {
    let list = given.unwrap_or(default);
    if list.len() == 1 {
        return vec![list[0]; blocks];
    }
    (0..blocks).map(|b| list.get(b).or(list.last()).copied().unwrap_or(1)).collect()
}

/// The loss and how each batch updates the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimiserConfig {
    pub optimizer: OptimizerKind,
    pub learning_rate: f64,
    pub momentum: f64,
    pub momentum_rule: MomentumRule,
    /// L2 penalty added to the gradient (`wd·p`).
    pub weight_decay: f64,
    pub loss: Loss,
    /// Rows per update; larger than the training set means the whole set.
    pub batch_size: usize,
}

/// What the network sees of a row: scaling, then the input representation.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineConfig {
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
    /// Per-feature z-score, fitted on the training rows only.
    pub standardize: bool,
}

/// How long training goes on, in what order, and which epoch's model is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleConfig {
    pub epochs: usize,
    /// Permute the rows once before reserving validation rows, and every epoch.
    pub shuffle: bool,
    /// Stop after this many epochs without a better validation score, keeping the
    /// best epoch's weights; 0 = never stop early.
    pub patience: usize,
    /// The validation score early stopping and refit go by.
    pub early_stopping: StopOn,
    /// Retrain from scratch on training + validation rows for the best epoch count,
    /// then evaluate the test set with that model.
    pub refit: bool,
    /// Seed of a single `pinniped train` run (sweep runs derive theirs).
    pub seed: u64,
}

/// What a run records, and how often: evaluation cadence and the per-run files.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputConfig {
    /// Evaluate the test set every N epochs (and always at the last); 0 = last epoch only.
    pub test_every: usize,
    /// Save `checkpoints/epoch-NNNN.safetensors` every N epochs; 0 = final model only.
    pub save_every: usize,
    /// Record confusion matrices every N epochs (and always at the last); 0 = last only.
    pub confusion_every: usize,
    /// Draw the run's plots (PNG) at the end, and every `plot_every` epochs if > 0.
    /// Unset: as [`Artifacts::default_for`] a sweep of its size (`resolve_artifacts`).
    pub plots: Option<bool>,
    /// Redraw the plots every N epochs while training (0: at the end only).
    pub plot_every: usize,
    /// Save the run's whole training state (`runs/<id>/state.bin`) every N epochs, so that a
    /// killed run resumes from it (0: never). Unset: [`DEFAULT_STATE_EVERY`]. Changes nothing
    /// a run trains, so it is not in the config hash.
    pub state_every: Option<usize>,
    /// Write `predictions.npz` (the kept model's per-row validation and test predictions,
    /// for ensembles and test-row statistics; `results::predictions`).
    pub predictions: bool,
    /// Write the per-node diagnostics (`weights.csv.gz`, `activations.csv.gz`,
    /// `confusion-<set>.csv.gz`; `results::diagnostics`). Unset: as `plots`.
    pub diagnostics: Option<bool>,
    /// Write `model.safetensors` (and `checkpoints/` with `save_every`). Unset: as `plots`.
    pub checkpoints: Option<bool>,
    /// Bins of the per-node activation histograms.
    pub histogram_bins: usize,
    /// Upper end of the ReLU histogram; larger activations go to an overflow bin.
    pub histogram_relu_max: f64,
}

// The defaults are the paper's baseline (§3.1), in f32.

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            family: ModelFamily::Mlp,
            hidden: vec![64],
            filters: None,
            kernels: None,
            blocks: None,
            batch_norm: None,
            activation: Activation::Sigmoid,
            dropout: 0.0,
            init: Init::Paper,
            dtype: DType::F32,
            method: Method::Auto,
            engine: Engine::Auto,
            device: Device::Cpu,
        }
    }
}

impl Default for OptimiserConfig {
    fn default() -> Self {
        OptimiserConfig {
            optimizer: OptimizerKind::Sgd,
            learning_rate: 0.001,
            momentum: 0.0,
            momentum_rule: MomentumRule::Damped,
            weight_decay: 0.0,
            loss: Loss::MseSum,
            batch_size: 160,
        }
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            minmax: true,
            normalize: true,
            features: Features::Amplitude,
            frame: 256,
            hop: 128,
            mel_bands: 40,
            sample_rate: 16000.0,
            standardize: false,
        }
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            epochs: 256,
            shuffle: true,
            patience: 0,
            early_stopping: StopOn::ValidAcc,
            refit: false,
            seed: 2019,
        }
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
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
        }
    }
}

/// The `[train]` table as written: one flat table whose keys are [`TrainConfig`]'s fields
/// (documented there). The field order is the order of `config.toml`, and so of the config
/// hash: reordering these fields changes every run's hash. serde's `flatten` over the typed
/// parts would reorder the keys and lose `deny_unknown_fields` and the key in type errors.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TrainKeys {
    hidden: Vec<usize>,
    // The convolutional keys are left out of an MLP's `config.toml`, so that its bytes and
    // config hash are those from before they existed.
    #[serde(skip_serializing_if = "ModelFamily::is_mlp")]
    model: ModelFamily,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filters: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kernels: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blocks: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch_norm: Option<bool>,
    activation: Activation,
    learning_rate: f64,
    batch_size: usize,
    momentum: f64,
    momentum_rule: MomentumRule,
    optimizer: OptimizerKind,
    weight_decay: f64,
    loss: Loss,
    init: Init,
    epochs: usize,
    shuffle: bool,
    dtype: DType,
    method: Method,
    engine: Engine,
    device: Device,
    minmax: bool,
    normalize: bool,
    features: Features,
    frame: usize,
    hop: usize,
    mel_bands: usize,
    sample_rate: f64,
    test_every: usize,
    save_every: usize,
    confusion_every: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plots: Option<bool>,
    plot_every: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state_every: Option<usize>,
    predictions: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    diagnostics: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoints: Option<bool>,
    histogram_bins: usize,
    histogram_relu_max: f64,
    dropout: f64,
    patience: usize,
    early_stopping: StopOn,
    refit: bool,
    standardize: bool,
    seed: u64,
}

impl Default for TrainKeys {
    fn default() -> Self {
        TrainConfig::default().into()
    }
}

impl From<TrainKeys> for TrainConfig {
    fn from(keys: TrainKeys) -> Self {
        // Destructured whole, so that a key added to one side and not the other does not compile.
        let TrainKeys {
            hidden,
            model,
            filters,
            kernels,
            blocks,
            batch_norm,
            activation,
            learning_rate,
            batch_size,
            momentum,
            momentum_rule,
            optimizer,
            weight_decay,
            loss,
            init,
            epochs,
            shuffle,
            dtype,
            method,
            engine,
            device,
            minmax,
            normalize,
            features,
            frame,
            hop,
            mel_bands,
            sample_rate,
            test_every,
            save_every,
            confusion_every,
            plots,
            plot_every,
            state_every,
            predictions,
            diagnostics,
            checkpoints,
            histogram_bins,
            histogram_relu_max,
            dropout,
            patience,
            early_stopping,
            refit,
            standardize,
            seed,
        } = keys;
        TrainConfig {
            model: ModelConfig {
                family: model,
                hidden,
                filters,
                kernels,
                blocks,
                batch_norm,
                activation,
                dropout,
                init,
                dtype,
                method,
                engine,
                device,
            },
            optimiser: OptimiserConfig {
                optimizer,
                learning_rate,
                momentum,
                momentum_rule,
                weight_decay,
                loss,
                batch_size,
            },
            pipeline: PipelineConfig { minmax, normalize, features, frame, hop, mel_bands, sample_rate, standardize },
            schedule: ScheduleConfig { epochs, shuffle, patience, early_stopping, refit, seed },
            outputs: OutputConfig {
                test_every,
                save_every,
                confusion_every,
                plots,
                plot_every,
                state_every,
                predictions,
                diagnostics,
                checkpoints,
                histogram_bins,
                histogram_relu_max,
            },
        }
    }
}

impl From<TrainConfig> for TrainKeys {
    fn from(config: TrainConfig) -> Self {
        let TrainConfig {
            model:
                ModelConfig {
                    family: model,
                    hidden,
                    filters,
                    kernels,
                    blocks,
                    batch_norm,
                    activation,
                    dropout,
                    init,
                    dtype,
                    method,
                    engine,
                    device,
                },
            optimiser:
                OptimiserConfig { optimizer, learning_rate, momentum, momentum_rule, weight_decay, loss, batch_size },
            pipeline: PipelineConfig { minmax, normalize, features, frame, hop, mel_bands, sample_rate, standardize },
            schedule: ScheduleConfig { epochs, shuffle, patience, early_stopping, refit, seed },
            outputs:
                OutputConfig {
                    test_every,
                    save_every,
                    confusion_every,
                    plots,
                    plot_every,
                    state_every,
                    predictions,
                    diagnostics,
                    checkpoints,
                    histogram_bins,
                    histogram_relu_max,
                },
        } = config;
        TrainKeys {
            hidden,
            model,
            filters,
            kernels,
            blocks,
            batch_norm,
            activation,
            learning_rate,
            batch_size,
            momentum,
            momentum_rule,
            optimizer,
            weight_decay,
            loss,
            init,
            epochs,
            shuffle,
            dtype,
            method,
            engine,
            device,
            minmax,
            normalize,
            features,
            frame,
            hop,
            mel_bands,
            sample_rate,
            test_every,
            save_every,
            confusion_every,
            plots,
            plot_every,
            state_every,
            predictions,
            diagnostics,
            checkpoints,
            histogram_bins,
            histogram_relu_max,
            dropout,
            patience,
            early_stopping,
            refit,
            standardize,
            seed,
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
    pub format: Option<Format>,
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
    pub(crate) fn default_for(runs: usize) -> bool {
        runs <= FULL_ARTIFACTS_MAX_RUNS
    }
}

impl TrainConfig {
    /// The unset artifact switches decided for a sweep of `runs` runs (1: `pinniped train`,
    /// a refit), so that `config.toml` and the config hash record what the run writes.
    pub fn resolve_artifacts(mut self, runs: usize) -> Self {
        let default = Artifacts::default_for(runs);
        for switch in [&mut self.outputs.plots, &mut self.outputs.diagnostics, &mut self.outputs.checkpoints] {
            switch.get_or_insert(default);
        }
        self
    }

    /// The files this configuration's runs write (unset switches: as for a single run).
    pub(crate) fn artifacts(&self) -> Artifacts {
        let default = Artifacts::default_for(1);
        Artifacts {
            plots: self.outputs.plots.unwrap_or(default),
            diagnostics: self.outputs.diagnostics.unwrap_or(default),
            checkpoints: self.outputs.checkpoints.unwrap_or(default),
            predictions: self.outputs.predictions,
        }
    }

    /// Every how many epochs a run saves its training state (0: never).
    pub fn state_every(&self) -> usize {
        self.outputs.state_every.unwrap_or(DEFAULT_STATE_EVERY)
    }

    /// `key`'s value as tables (`--dry-run`, summary columns) show it: as `config.toml` writes
    /// it, or, for a key it leaves out while unset, what the unset key means (`model = "mlp"`, a
    /// conv model's default filters; `-` for a conv key of an MLP, and for an MLP key of a conv
    /// model). Ids compare the written values.
    pub fn shown_value(&self, key: &str) -> Option<toml::Value> {
        self.shown_in(&self.written(), key)
    }

    /// [`TrainConfig::shown_value`] of each of `keys`, formatted as ids and summary columns
    /// write values (`-` for a key `[train]` does not have); the config is serialised once.
    pub fn shown_values(&self, keys: &[String]) -> Vec<String> {
        let written = self.written();
        keys.iter().map(|k| self.shown_in(&written, k).map_or_else(|| "-".to_string(), |v| format_value(&v))).collect()
    }

    /// The table `config.toml` writes.
    fn written(&self) -> toml::Table {
        match toml::Value::try_from(self) {
            Ok(toml::Value::Table(t)) => t,
            _ => unreachable!("TrainConfig serialises to a table"),
        }
    }

    fn shown_in(&self, written: &toml::Table, key: &str) -> Option<toml::Value> {
        use toml::Value;
        // The other family's keys say nothing about this model.
        if self.other_family_keys().contains(&key) {
            return Some(Value::String("-".into()));
        }
        if let Some(v) = written.get(key) {
            return Some(v.clone());
        }
        let list = |v: Vec<usize>| Value::Array(v.into_iter().map(|n| Value::Integer(n as i64)).collect());
        let artifacts = self.artifacts();
        Some(match key {
            "model" => Value::String(self.model.family.word().into()),
            "filters" => list(self.model.conv_filters()),
            "kernels" => list(self.model.conv_kernels()),
            "blocks" => Value::Integer(self.model.conv_blocks() as i64),
            "batch_norm" => Value::Boolean(self.model.batch_norm()),
            "plots" => Value::Boolean(artifacts.plots),
            "diagnostics" => Value::Boolean(artifacts.diagnostics),
            "checkpoints" => Value::Boolean(artifacts.checkpoints),
            "state_every" => Value::Integer(self.state_every() as i64),
            _ => return None,
        })
    }

    /// The keys of the other model family, which this configuration's model does not use: an
    /// MLP's for a conv model, the convolutional ones for an MLP.
    fn other_family_keys(&self) -> &'static [&'static str] {
        if self.model.family.is_conv() {
            &["hidden", "activation", "dropout", "init", "method"]
        } else {
            &["filters", "kernels", "blocks", "batch_norm"]
        }
    }

    /// Every key `[train]` accepts, in declaration order.
    pub fn keys() -> Vec<String> {
        // The artifact switches are unset by default, and unset keys are not written.
        let mut all = TrainConfig::default().resolve_artifacts(1);
        all.outputs.state_every = Some(DEFAULT_STATE_EVERY);
        // Unset (and an MLP) leaves the convolutional keys out of `config.toml`.
        all.model.family = ModelFamily::Fcn;
        all.model.filters = Some(ModelFamily::Fcn.default_filters().to_vec());
        all.model.kernels = Some(DEFAULT_KERNELS.to_vec());
        all.model.blocks = Some(3);
        all.model.batch_norm = Some(true);
        match toml::Value::try_from(all) {
            Ok(toml::Value::Table(t)) => t.keys().cloned().collect(),
            _ => unreachable!("TrainConfig serialises to a table"),
        }
    }

    /// Problems with values that parse but make no sense, as (key, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if !(self.optimiser.learning_rate > 0.0 && self.optimiser.learning_rate.is_finite()) {
            p.push(("learning_rate", format!("must be a finite number > 0, not {}", self.optimiser.learning_rate)));
        }
        if !(0.0..=1.0).contains(&self.optimiser.momentum) {
            p.push(("momentum", format!("must be within [0, 1], not {}", self.optimiser.momentum)));
        }
        use limits::*;
        if self.model.hidden.contains(&0) {
            p.push(("hidden", "a hidden layer needs at least 1 node (use [] for a linear model)".into()));
        }
        if self.model.hidden.len() > MAX_HIDDEN_LAYERS {
            p.push((
                "hidden",
                format!("must have at most {MAX_HIDDEN_LAYERS} hidden layers, not {}", self.model.hidden.len()),
            ));
        }
        if let Some(w) = self.model.hidden.iter().find(|&&w| w > MAX_WIDTH) {
            p.push(("hidden", format!("a layer must have at most {MAX_WIDTH} nodes, not {w}")));
        }
        for (key, value, min, max, unit) in [
            ("batch_size", self.optimiser.batch_size, 1, MAX_BATCH_SIZE, " rows"),
            ("epochs", self.schedule.epochs, 1, MAX_EPOCHS, ""),
            ("histogram_bins", self.outputs.histogram_bins, 1, MAX_HISTOGRAM_BINS, ""),
            ("mel_bands", self.pipeline.mel_bands, 1, MAX_MEL_BANDS, ""),
            ("test_every", self.outputs.test_every, 0, MAX_EVERY, " epochs"),
            ("save_every", self.outputs.save_every, 0, MAX_EVERY, " epochs"),
            ("confusion_every", self.outputs.confusion_every, 0, MAX_EVERY, " epochs"),
            ("plot_every", self.outputs.plot_every, 0, MAX_EVERY, " epochs"),
            ("state_every", self.state_every(), 0, MAX_EVERY, " epochs"),
            ("patience", self.schedule.patience, 0, MAX_EVERY, " epochs"),
            ("frame", self.pipeline.frame, 2, MAX_FRAME, " samples"),
            ("hop", self.pipeline.hop, 1, MAX_FRAME, " samples"),
        ] {
            if value > max {
                p.push((key, format!("must be at most {max}{unit}, not {value}")));
            } else if value < min && !matches!(key, "frame" | "hop") {
                p.push((key, format!("must be at least {min}")));
            }
        }
        if !(self.optimiser.weight_decay >= 0.0 && self.optimiser.weight_decay.is_finite()) {
            p.push(("weight_decay", format!("must be a finite number >= 0, not {}", self.optimiser.weight_decay)));
        }
        if !(self.outputs.histogram_relu_max > 0.0 && self.outputs.histogram_relu_max.is_finite()) {
            p.push(("histogram_relu_max", "must be a finite number > 0".into()));
        }
        if self.pipeline.frame < 2 {
            p.push(("frame", "must be at least 2 samples".into()));
        }
        if self.pipeline.hop == 0 {
            p.push(("hop", "must be at least 1 sample (e.g. half the frame)".into()));
        }
        if !(self.pipeline.sample_rate > 0.0 && self.pipeline.sample_rate.is_finite()) {
            p.push(("sample_rate", "must be a finite number of Hz > 0".into()));
        }
        if !(0.0..1.0).contains(&self.model.dropout) {
            p.push(("dropout", format!("must be within [0, 1), not {}", self.model.dropout)));
        }
        p.extend(self.model.conv_problems());
        p.extend(self.combination_problems());
        p
    }

    /// The key (`patience` or `refit`) that needs a validation set, if any does.
    pub(crate) fn needs_validation(&self) -> Option<&'static str> {
        if self.schedule.refit {
            Some("refit")
        } else if self.schedule.patience > 0 {
            Some("patience")
        } else {
            None
        }
    }

    /// The keys this configuration ignores, with the reason: changing one of them trains
    /// exactly the same model and writes the same files (`predictions` aside, which only
    /// adds or leaves out a file). `data` matters for `test_every`.
    pub(crate) fn ignored_keys(&self, data: &DataConfig) -> Vec<(&'static str, String)> {
        let mut ignored = Vec::new();
        let mut because = |keys: &[&'static str], why: String| ignored.extend(keys.iter().map(|&k| (k, why.clone())));
        if !self.pipeline.features.uses_frames() {
            because(
                &["frame", "hop", "mel_bands", "sample_rate"],
                format!(
                    "features = \"{}\" uses no frames; only \"log-mel\" and \"multi-log-mel\" do",
                    self.pipeline.features.word()
                ),
            );
        }
        let why = if self.model.family.is_conv() {
            format!(
                "model = \"{}\" is convolutional: its blocks (`filters`, `kernels`, `blocks`) use ReLU, \
                 PyTorch's initialisation and no dropout",
                self.model.family.word()
            )
        } else {
            "model = \"mlp\" has no convolutions (set model = \"fcn\" or \"resnet\")".into()
        };
        because(self.other_family_keys(), why);
        if self.model.family.is_conv() {
            // Its blocks are ReLU: `histogram_relu_max` sets their histograms' upper end.
        } else if self.model.hidden.is_empty() {
            because(
                &["activation", "dropout", "histogram_bins", "histogram_relu_max"],
                "hidden = [] is a linear model, with no hidden units to activate, drop or histogram".into(),
            );
        } else if self.model.activation != Activation::Relu {
            because(
                &["histogram_relu_max"],
                format!(
                    "activation = \"{}\" is bounded; only relu's histogram has an upper end to set",
                    self.model.activation.word()
                ),
            );
        }
        if self.optimiser.optimizer == OptimizerKind::Adam {
            because(&["momentum", "momentum_rule"], "optimizer = \"adam\" keeps its own moment estimates".into());
            because(&["method"], "optimizer = \"adam\" always trains directly (gram is for sgd only)".into());
        } else if self.optimiser.momentum == 0.0 {
            because(&["momentum_rule"], "momentum = 0 leaves no velocity to update".into());
        }
        if self.schedule.patience == 0 && !self.schedule.refit {
            because(
                &["early_stopping"],
                "with patience = 0 and refit = false no validation score picks an epoch".into(),
            );
        }
        if data.test.is_none() {
            because(&["test_every"], "[data] has no test file".into());
        }
        if self.outputs.plots == Some(false) {
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
    pub(crate) fn combination_problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if self.optimiser.momentum != 0.0 && self.optimiser.optimizer == OptimizerKind::Adam {
            p.push(("momentum", "has no effect with optimizer = \"adam\": set it to 0".into()));
        }
        if self.model.method == Method::Gram && self.optimiser.optimizer != OptimizerKind::Sgd {
            p.push((
                "method",
                "\"gram\" needs optimizer = \"sgd\" (Adam's updates leave the span of the training rows)".into(),
            ));
        }
        if self.model.device == Device::Cuda && self.model.engine == Engine::Native {
            p.push(("device", "\"cuda\" needs engine = \"candle\" (the native engine runs on the CPU only)".into()));
        }
        if self.model.family.is_conv() && self.pipeline.features == Features::MultiLogMel {
            p.push((
                "features",
                format!(
                    "\"multi-log-mel\" joins three frame rates, which are no one time axis for model = \"{}\": \
                     use \"log-mel\" (mel bands as channels over frames) or a series",
                    self.model.family.word()
                ),
            ));
        }
        if self.model.family.is_conv() && self.model.engine == Engine::Native {
            p.push((
                "engine",
                format!(
                    "\"native\" trains MLPs only: model = \"{}\" needs engine = \"candle\" (or \"auto\")",
                    self.model.family.word()
                ),
            ));
        }
        if self.model.device == Device::Cuda && !cfg!(feature = "cuda") {
            p.push(("device", "\"cuda\" needs a pinniped built with `cargo build --release --features cuda`".into()));
        }
        p
    }

    /// The engine that trains this configuration: `auto` is native wherever native
    /// covers it (every configuration on the CPU), candle otherwise.
    pub(crate) fn resolved_engine(&self) -> Engine {
        if self.model.family.is_conv() {
            return Engine::Candle;
        }
        match self.model.engine {
            Engine::Auto if self.model.device == Device::Cpu => Engine::Native,
            Engine::Auto => Engine::Candle,
            e => e,
        }
    }
}

impl DataConfig {
    pub(crate) fn has_validation(&self) -> bool {
        self.reserve_every.is_some() || self.reserve_fraction.is_some() || self.is_kfold()
    }

    pub fn resample(&self) -> Resample {
        self.resample.unwrap_or(Resample::Holdout)
    }

    pub(crate) fn is_kfold(&self) -> bool {
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

    pub(crate) fn value_problems(&self) -> Vec<(&'static str, String)> {
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
    pub(crate) fn series_policy(&self) -> Result<SeriesPolicy, (&'static str, String)> {
        use super::reading::{LengthPolicy, MissingPolicy, MAX_SERIES_LENGTH};
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
        Ok(SeriesPolicy { length, missing, series_length: self.series_length })
    }

    pub(crate) fn file_problems(&self) -> Vec<(&'static str, String)> {
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
pub(crate) fn stratified_holdout(order: &[usize], labels: &[u32], fraction: f64) -> (Vec<usize>, Vec<usize>) {
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
    pub(crate) fn is_own(&self, seed: u64) -> bool {
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

    #[test]
    fn tables_show_what_unset_keys_mean_not_a_placeholder() {
        let shown = |cfg: &TrainConfig, key: &str| format_value(&cfg.shown_value(key).unwrap());
        let mlp = TrainConfig::default();
        assert_eq!(
            (shown(&mlp, "model"), shown(&mlp, "filters"), shown(&mlp, "hidden")),
            ("mlp".into(), "-".into(), "64".into())
        );
        let mut fcn = TrainConfig::default();
        fcn.model.family = ModelFamily::Fcn;
        assert_eq!(shown(&fcn, "model"), "fcn");
        assert_eq!((shown(&fcn, "filters"), shown(&fcn, "kernels")), ("128x256x128".into(), "8x5x3".into()));
        assert_eq!((shown(&fcn, "hidden"), shown(&fcn, "dropout")), ("-".into(), "-".into()));
        assert_eq!(shown(&fcn, "learning_rate"), format_value(&toml::Value::Float(fcn.optimiser.learning_rate)));
        assert!(mlp.shown_value("no_such_key").is_none());
    }

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

    /// Every `[train]` key set off its default, in the order `config.toml` writes them.
    const EVERY_KEY: &str = r#"hidden = [3, 2]
activation = "relu"
learning_rate = 0.5
batch_size = 7
momentum = 0.25
momentum_rule = "classic"
optimizer = "adam"
weight_decay = 0.125
loss = "cross-entropy"
init = "pytorch"
epochs = 9
shuffle = false
dtype = "f64"
method = "direct"
engine = "candle"
device = "cuda"
minmax = false
normalize = false
features = "log-mel"
frame = 64
hop = 32
mel_bands = 12
sample_rate = 8000.0
test_every = 2
save_every = 3
confusion_every = 4
plots = false
plot_every = 5
state_every = 7
predictions = false
diagnostics = true
checkpoints = false
histogram_bins = 6
histogram_relu_max = 2.5
dropout = 0.375
patience = 8
early_stopping = "valid-loss"
refit = true
standardize = true
seed = 11
"#;

    #[test]
    fn each_flat_key_is_one_typed_field_and_is_written_back_in_its_place() {
        let typed = TrainConfig {
            model: ModelConfig {
                hidden: vec![3, 2],
                activation: Activation::Relu,
                dropout: 0.375,
                init: Init::Pytorch,
                dtype: DType::F64,
                method: Method::Direct,
                engine: Engine::Candle,
                device: Device::Cuda,
                ..ModelConfig::default()
            },
            optimiser: OptimiserConfig {
                optimizer: OptimizerKind::Adam,
                learning_rate: 0.5,
                momentum: 0.25,
                momentum_rule: MomentumRule::Classic,
                weight_decay: 0.125,
                loss: Loss::CrossEntropy,
                batch_size: 7,
            },
            pipeline: PipelineConfig {
                minmax: false,
                normalize: false,
                features: Features::LogMel,
                frame: 64,
                hop: 32,
                mel_bands: 12,
                sample_rate: 8000.0,
                standardize: true,
            },
            schedule: ScheduleConfig {
                epochs: 9,
                shuffle: false,
                patience: 8,
                early_stopping: StopOn::ValidLoss,
                refit: true,
                seed: 11,
            },
            outputs: OutputConfig {
                test_every: 2,
                save_every: 3,
                confusion_every: 4,
                plots: Some(false),
                plot_every: 5,
                state_every: Some(7),
                predictions: false,
                diagnostics: Some(true),
                checkpoints: Some(false),
                histogram_bins: 6,
                histogram_relu_max: 2.5,
            },
        };
        assert_eq!(toml::from_str::<TrainConfig>(EVERY_KEY).unwrap(), typed);
        // The order is that of every config.toml written so far, and so of every config hash.
        assert_eq!(toml::to_string(&typed).unwrap(), EVERY_KEY);
        let mut keys: Vec<&str> = EVERY_KEY.lines().map(|l| l.split(" = ").next().unwrap()).collect();
        // The convolutional keys follow `hidden`; an MLP's config.toml leaves them out.
        keys.splice(1..1, ["model", "filters", "kernels", "blocks", "batch_norm"]);
        assert_eq!(TrainConfig::keys(), keys);
    }

    #[test]
    fn the_flat_table_refuses_unknown_keys_and_names_the_key_of_a_wrong_type() {
        let unknown = toml::from_str::<TrainConfig>("learning_rat = 0.1").unwrap_err().to_string();
        assert!(unknown.contains("unknown field `learning_rat`, expected one of `hidden`"), "{unknown}");
        let wrong = toml::from_str::<TrainConfig>("hop = \"x\"").unwrap_err();
        assert_eq!(wrong.message().trim(), "invalid type: string \"x\", expected usize");
        assert!(wrong.to_string().contains("hop"), "{wrong}");
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
