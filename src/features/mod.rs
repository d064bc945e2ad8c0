//! Input features: the data loaded once per sweep and preprocessed once per
//! distinct pipeline, then shared read-only by every run that uses it.

use crate::data::{self, Dataset};
use crate::spec::{DataConfig, InputError, TrainConfig};
use crate::train::RunData;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The preprocessing a run asks for; runs that agree share one copy of the features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pipeline {
    pub minmax: bool,
    pub normalize: bool,
}

impl Pipeline {
    pub fn of(cfg: &TrainConfig) -> Self {
        Pipeline { minmax: cfg.minmax, normalize: cfg.normalize }
    }

    fn apply(self, x: &mut [f64], cols: usize) {
        if self.minmax {
            data::minmax_rows(x, cols);
        }
        if self.normalize {
            data::normalize_rows(x, cols, 1e-5);
        }
    }
}

pub struct Prepared {
    pub dataset: Dataset,
    /// SHA-256 of the data files' bytes: part of every run's config hash.
    pub digest: String,
    variants: Vec<(Pipeline, Vec<f64>, Option<Vec<f64>>)>,
}

pub fn data_error(path: &Path, e: impl std::fmt::Display) -> InputError {
    InputError::one(path, None, None, e.to_string())
}

impl Prepared {
    /// Loads the data and computes every pipeline in `pipelines`.
    pub fn load(cfg: &DataConfig, pipelines: &[Pipeline]) -> Result<Self, InputError> {
        let format = match cfg.format.as_deref() {
            None => None,
            Some(f) => Some(f.parse::<data::Format>().map_err(|e| data_error(&cfg.train, e))?),
        };
        let dataset = data::load_dataset(&cfg.train, cfg.test.as_deref(), format, cfg.class_attribute.as_deref())
            .map_err(|e| data_error(&cfg.train, e))?;
        let mut hasher = Sha256::new();
        for path in std::iter::once(&cfg.train).chain(cfg.test.as_ref()) {
            let bytes = std::fs::read(path).map_err(|e| data_error(path, format!("cannot read: {e}")))?;
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        let digest = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let mut prepared = Prepared { dataset, digest, variants: Vec::new() };
        for &p in pipelines {
            prepared.add(p);
        }
        Ok(prepared)
    }

    fn add(&mut self, p: Pipeline) {
        if self.variants.iter().any(|(q, ..)| *q == p) {
            return;
        }
        let cols = self.dataset.cols;
        let mut train = self.dataset.train.x.clone();
        p.apply(&mut train, cols);
        let test = self.dataset.test.as_ref().map(|t| {
            let mut x = t.x.clone();
            p.apply(&mut x, cols);
            x
        });
        self.variants.push((p, train, test));
    }

    /// The features of pipeline `p` (which must have been requested in `load`).
    pub fn run_data(&self, p: Pipeline) -> RunData<'_> {
        let (_, train, test) = self.variants.iter().find(|(q, ..)| *q == p).expect("pipeline prepared at load");
        RunData {
            cols: self.dataset.cols,
            classes: self.dataset.classes.len(),
            train_x: train,
            train_y: &self.dataset.train.y,
            test: match (test, &self.dataset.test) {
                (Some(x), Some(t)) => Some((x.as_slice(), t.y.as_slice())),
                _ => None,
            },
        }
    }

    pub fn classes(&self) -> &[String] {
        &self.dataset.classes
    }
}
