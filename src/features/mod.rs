//! Input features: the data loaded once per sweep and preprocessed once per
//! distinct pipeline, then shared read-only by every run that uses it.

pub mod spectral;

use crate::data::{self, Dataset};
use crate::spec::{DataConfig, InputError, TrainConfig};
use crate::train::{Features, RunData};
use sha2::{Digest, Sha256};
use spectral::{Kind, SpectralParams};
use std::path::Path;

/// The preprocessing a run asks for; runs that agree share one copy of the features.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pipeline {
    pub minmax: bool,
    pub normalize: bool,
    pub features: Features,
    pub params: SpectralParams,
}

impl Pipeline {
    pub fn of(cfg: &TrainConfig) -> Self {
        // Frame parameters only matter to log-mel: other pipelines ignore them, so
        // runs that differ only there share features.
        let params = if cfg.features == Features::LogMel {
            SpectralParams { frame: cfg.frame, hop: cfg.hop, mel_bands: cfg.mel_bands, sample_rate: cfg.sample_rate }
        } else {
            SpectralParams::default()
        };
        Pipeline { minmax: cfg.minmax, normalize: cfg.normalize, features: cfg.features, params }
    }

    fn kind(self) -> Kind {
        match self.features {
            Features::Amplitude => Kind::Amplitude,
            Features::Spectrum => Kind::Spectrum,
            Features::LogSpectrum => Kind::LogSpectrum,
            Features::LogMel => Kind::LogMel,
        }
    }

    /// Width of the features computed from series of `cols` values.
    pub fn output_width(self, cols: usize) -> Result<usize, spectral::SpectralError> {
        spectral::output_width(self.kind(), cols, &self.params)
    }

    /// min–max, then per-sample normalisation, then the transform.
    pub fn apply(self, mut x: Vec<f64>, cols: usize) -> Result<Vec<f64>, spectral::SpectralError> {
        if self.minmax {
            data::minmax_rows(&mut x, cols);
        }
        if self.normalize {
            data::normalize_rows(&mut x, cols, 1e-5);
        }
        match self.features {
            Features::Amplitude => Ok(x),
            _ => spectral::transform(self.kind(), &x, cols, &self.params),
        }
    }
}

struct Variant {
    pipeline: Pipeline,
    cols: usize,
    train: Vec<f64>,
    test: Option<Vec<f64>>,
}

pub struct Prepared {
    pub dataset: Dataset,
    /// SHA-256 of the data files' bytes: part of every run's config hash.
    pub digest: String,
    variants: Vec<Variant>,
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
            .map_err(|e| InputError::message(e.to_string()))?;
        let mut hasher = Sha256::new();
        for path in std::iter::once(&cfg.train).chain(cfg.test.as_ref()) {
            let bytes = std::fs::read(path).map_err(|e| data_error(path, format!("cannot read: {e}")))?;
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        let digest = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let mut prepared = Prepared { dataset, digest, variants: Vec::new() };
        for &p in pipelines {
            prepared
                .add(p)
                .map_err(|e| InputError::one(&cfg.train, None, Some(&format!("train.{}", e.key())), format!("{e}")))?;
        }
        Ok(prepared)
    }

    fn add(&mut self, p: Pipeline) -> Result<(), spectral::SpectralError> {
        if self.variants.iter().any(|v| v.pipeline == p) {
            return Ok(());
        }
        let cols = self.dataset.cols;
        let out_cols = p.output_width(cols)?;
        let train = p.apply(self.dataset.train.x.clone(), cols)?;
        let test = match &self.dataset.test {
            Some(t) => Some(p.apply(t.x.clone(), cols)?),
            None => None,
        };
        self.variants.push(Variant { pipeline: p, cols: out_cols, train, test });
        Ok(())
    }

    /// The features of pipeline `p` (which must have been requested in `load`).
    pub fn run_data(&self, p: Pipeline) -> RunData<'_> {
        let v = self.variants.iter().find(|v| v.pipeline == p).expect("pipeline prepared at load");
        RunData {
            cols: v.cols,
            classes: self.dataset.classes.len(),
            train_x: &v.train,
            train_y: &self.dataset.train.y,
            test: match (&v.test, &self.dataset.test) {
                (Some(x), Some(t)) => Some((x.as_slice(), t.y.as_slice())),
                _ => None,
            },
        }
    }

    pub fn classes(&self) -> &[String] {
        &self.dataset.classes
    }
}
