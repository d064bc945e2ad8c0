//! Input features: the data loaded once per sweep and preprocessed once per
//! distinct pipeline, then shared read-only by every run that uses it.

pub mod spectral;

use crate::data::{self, Dataset};
use crate::memory::{self, Bytes, Shape};
use crate::spec::options::Features;
use crate::spec::{DataConfig, InputError, Problem, TrainConfig};
use sha2::{Digest, Sha256};
use spectral::{SpectralError, SpectralParams};
use std::path::Path;

/// Preprocessed features shared by every run of a sweep.
pub struct RunData<'a> {
    pub cols: usize,
    /// Channels of the series the rows were computed from (1 unless multivariate).
    pub channels: usize,
    pub classes: usize,
    pub train_x: &'a [f64],
    pub train_y: &'a [u32],
    pub test: Option<(&'a [f64], &'a [u32])>,
}

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
        // Frame parameters only matter to the log-mels: other pipelines ignore them, so
        // runs that differ only there share features.
        let params = if cfg.pipeline.features.uses_frames() {
            SpectralParams {
                frame: cfg.pipeline.frame,
                hop: cfg.pipeline.hop,
                mel_bands: cfg.pipeline.mel_bands,
                sample_rate: cfg.pipeline.sample_rate,
            }
        } else {
            SpectralParams::default()
        };
        Pipeline {
            minmax: cfg.pipeline.minmax,
            normalize: cfg.pipeline.normalize,
            features: cfg.pipeline.features,
            params,
        }
    }

    /// Width of the features computed from rows of `cols` values holding `channels` channels
    /// (1 for a univariate series).
    pub fn output_width(self, cols: usize, channels: usize) -> Result<usize, spectral::SpectralError> {
        spectral::output_width_channels(self.features, cols, channels, &self.params)
    }

    /// min–max, then per-sample normalisation (both over the whole row), then the transform of
    /// each of the row's `channels` channels, concatenated channel-major.
    pub fn apply(self, mut x: Vec<f64>, cols: usize, channels: usize) -> Result<Vec<f64>, spectral::SpectralError> {
        if self.minmax {
            data::minmax_rows(&mut x, cols);
        }
        if self.normalize {
            data::normalize_rows(&mut x, cols, 1e-5);
        }
        match self.features {
            Features::Amplitude => Ok(x),
            _ => spectral::transform_channels(self.features, &x, cols, channels, &self.params),
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

pub(crate) fn data_error(path: &Path, e: impl std::fmt::Display) -> InputError {
    InputError::one(path, None, None, e.to_string())
}

/// Hashes the file's length and bytes, streaming (the file was just parsed within its
/// limits, but the digest must not hold a second copy of it in memory).
fn hash_file(hasher: &mut Sha256, path: &Path) -> std::io::Result<()> {
    let mut file = crate::fsx::open_regular(path)?;
    hasher.update(file.metadata()?.len().to_le_bytes());
    std::io::copy(&mut file, hasher)?;
    Ok(())
}

impl Prepared {
    /// Loads the data and computes every pipeline in `pipelines`.
    pub fn load(cfg: &DataConfig, pipelines: &[Pipeline]) -> Result<Self, InputError> {
        let policy = cfg
            .series_policy()
            .map_err(|(key, e)| InputError::one(&cfg.train, None, Some(&format!("data.{key}")), e))?;
        let dataset = data::load_dataset_with(
            &cfg.train,
            cfg.test.as_deref(),
            cfg.format,
            cfg.class_attribute.as_deref(),
            &policy,
        )
        .map_err(|e| InputError::message(e.to_string()))?;
        let mut hasher = Sha256::new();
        for path in std::iter::once(&cfg.train).chain(cfg.test.as_ref()) {
            hash_file(&mut hasher, path).map_err(|e| data_error(path, format!("cannot read: {e}")))?;
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
        let (cols, channels) = (self.dataset.cols, self.dataset.channels());
        let out_cols = p.output_width(cols, channels)?;
        // The features of every row are held for the whole sweep: refuse what cannot fit.
        let rows = self.dataset.train.rows + self.dataset.test.as_ref().map_or(0, |t| t.rows);
        let bytes = (out_cols as u64).saturating_mul(rows as u64).saturating_mul(8);
        let limit = memory::run_memory_limit().map_err(SpectralError::Limit)?;
        if bytes > limit {
            return Err(SpectralError::TooLarge { width: out_cols, rows, bytes: Bytes(bytes), limit: Bytes(limit) });
        }
        let train = p.apply(self.dataset.train.x.clone(), cols, channels)?;
        let test = match &self.dataset.test {
            Some(t) => Some(p.apply(t.x.clone(), cols, channels)?),
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
            channels: self.dataset.channels(),
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

    /// The data's shape as runs see it, before the feature pipeline (`cols` is the raw width).
    pub fn shape(&self, data: &DataConfig) -> Shape {
        let rows = self.dataset.train.rows;
        let (train, valid) = data.split(&(0..rows).collect::<Vec<_>>());
        Shape {
            cols: self.dataset.cols,
            classes: self.dataset.classes.len(),
            train_rows: train.len(),
            valid_rows: valid.len(),
            test_rows: self.dataset.test.as_ref().map_or(0, |t| t.rows),
        }
    }

    /// Refuses, before anything is written, every configuration whose estimated memory
    /// ([`memory::estimate`]) passes the per-run bound; `configs` are (label, config), an
    /// empty label for a single run.
    pub(crate) fn check_memory<'c>(
        &self,
        file: &Path,
        data: &DataConfig,
        configs: impl IntoIterator<Item = (String, &'c TrainConfig)>,
    ) -> Result<(), InputError> {
        let limit = memory::run_memory_limit().map_err(InputError::message)?;
        let raw = self.shape(data);
        let problems: Vec<Problem> = configs
            .into_iter()
            .filter_map(|(label, cfg)| {
                // The pipeline (prepared at load) sets the width the run's inputs have.
                let shape = Shape { cols: self.run_data(Pipeline::of(cfg)).cols, ..raw };
                let why = memory::over_limit(&memory::estimate(cfg, &shape), limit)?;
                Some(Problem {
                    file: file.to_path_buf(),
                    line: None,
                    key: (!label.is_empty()).then_some(label),
                    message: why,
                })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InputError(problems))
        }
    }
}
