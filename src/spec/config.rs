//! The keys of one run (`[train]`) and of its data (`[data]`), with their defaults.
//! A sweep axis is any `[train]` key given as a list, so every field here can be swept.

use crate::train::options::{Activation, DType, Features, Init, Loss, Method, MomentumRule, OptimizerKind, StopOn};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    pub plots: bool,
    /// Redraw the plots every N epochs while training (0: at the end only).
    pub plot_every: usize,
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
            plots: true,
            plot_every: 0,
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
}

impl TrainConfig {
    /// Every key `[train]` accepts, in declaration order.
    pub fn keys() -> Vec<String> {
        match toml::Value::try_from(TrainConfig::default()) {
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
        if self.batch_size == 0 {
            p.push(("batch_size", "must be at least 1".into()));
        }
        if self.hidden.contains(&0) {
            p.push(("hidden", "a hidden layer needs at least 1 node (use [] for a linear model)".into()));
        }
        if self.epochs == 0 {
            p.push(("epochs", "must be at least 1".into()));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            p.push(("weight_decay", format!("must be a finite number >= 0, not {}", self.weight_decay)));
        }
        if self.histogram_bins == 0 {
            p.push(("histogram_bins", "must be at least 1".into()));
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
        if self.mel_bands == 0 {
            p.push(("mel_bands", "must be at least 1".into()));
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
        p
    }
}

impl DataConfig {
    pub fn has_validation(&self) -> bool {
        self.reserve_every.is_some() || self.reserve_fraction.is_some()
    }

    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if self.reserve_every.is_some() && self.reserve_fraction.is_some() {
            p.push(("reserve_every", "give either reserve_every or reserve_fraction, not both".into()));
        }
        if self.reserve_every == Some(0) {
            p.push(("reserve_every", "must be at least 2 (every Nth row is reserved)".into()));
        }
        if self.reserve_every == Some(1) {
            p.push(("reserve_every", "1 would reserve every row and leave none to train on; use 2 or more".into()));
        }
        if let Some(f) = self.reserve_fraction {
            if !(f > 0.0 && f < 1.0) {
                p.push(("reserve_fraction", format!("must be strictly between 0 and 1, not {f}")));
            }
        }
        if let Some(f) = &self.format {
            if f.parse::<crate::data::Format>().is_err() {
                p.push(("format", format!("`{f}` is not one of: ucr, arff, ts")));
            }
        }
        for (key, path) in [("train", Some(&self.train)), ("test", self.test.as_ref())] {
            if let Some(path) = path {
                if !path.is_file() {
                    p.push((
                        if key == "train" { "train" } else { "test" },
                        format!("{} does not exist or is not a file (paths are relative to the directory you run pinniped from)", path.display()),
                    ));
                }
            }
        }
        p
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

#[cfg(test)]
mod tests {
    use super::*;

    fn data(every: Option<usize>, fraction: Option<f64>) -> DataConfig {
        DataConfig {
            train: "x".into(),
            test: None,
            format: None,
            class_attribute: None,
            reserve_every: every,
            reserve_fraction: fraction,
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
}
