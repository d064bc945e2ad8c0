//! A sweep's data, loaded and checked before anything runs (`run`, `rerun`, `slurm`):
//! memory, folds and training rows, for every dataset of the sweep.

use crate::features::{Pipeline, Prepared};
use crate::spec::{Config, DataConfig, InputError, Plan, SweepFile};
use std::path::Path;

/// A sweep's data, validated: one dataset's, loaded and featurised; or, with `[datasets]`,
/// every dataset's digest and pipelines (each dataset was loaded, checked and let go; it is
/// loaded again while its runs train, see `DatasetsTrainer`).
pub(crate) enum Loaded {
    One(Prepared),
    Many { digest: String, pipelines: Vec<Vec<Pipeline>> },
}

impl Loaded {
    /// What `data.sha256` holds (per dataset for several).
    pub fn digest(&self) -> &str {
        match self {
            Loaded::One(p) => &p.digest,
            Loaded::Many { digest, .. } => digest,
        }
    }
}

/// Loads and prepares the data every planned configuration needs; with `[datasets]`, checks
/// every dataset before anything runs (each problem of each dataset reported together).
pub(crate) fn prepare(sweep: &SweepFile, plan: &Plan) -> Result<Loaded, InputError> {
    if sweep.datasets.is_empty() {
        let configs: Vec<&Config> = plan.configs.iter().collect();
        return prepare_one(sweep, &sweep.data, &configs, "").map(|(p, _)| Loaded::One(p));
    }
    let mut problems = Vec::new();
    let mut digests = Vec::new();
    let mut pipelines = Vec::new();
    for (d, dataset) in sweep.datasets.iter().enumerate() {
        let configs: Vec<&Config> = plan.configs.iter().filter(|c| c.dataset == Some(d)).collect();
        match prepare_one(sweep, &dataset.data, &configs, &format!("dataset {}: ", dataset.name)) {
            // Only its digest is kept: memory must not grow with the number of datasets.
            Ok((prepared, p)) => {
                digests.push((dataset.name.clone(), prepared.digest.clone()));
                pipelines.push(p);
            }
            Err(e) => problems.extend(e.0),
        }
    }
    if !problems.is_empty() {
        return Err(InputError(problems));
    }
    Ok(Loaded::Many { digest: crate::results::data_digest::of_datasets(&digests), pipelines })
}

/// One dataset's data for `configs`, checked (memory, folds, training rows), with the pipelines
/// it was featurised for; `label` leads the keys of its problems.
fn prepare_one(
    sweep: &SweepFile,
    data: &DataConfig,
    configs: &[&Config],
    label: &str,
) -> Result<(Prepared, Vec<Pipeline>), InputError> {
    let mut pipelines: Vec<Pipeline> = configs.iter().map(|c| Pipeline::of(&c.train)).collect();
    pipelines.dedup();
    let prepared = Prepared::load(data, &pipelines)?;
    let labelled = configs.iter().map(|c| (format!("{label}configuration {}", c.id), &c.train));
    prepared.check_memory(&sweep.path, data, labelled)?;
    let rows = prepared.dataset.train.rows;
    check_folds(&sweep.path, data, rows)?;
    let (train_rows, _) = data.split(&(0..rows).collect::<Vec<_>>());
    if train_rows.is_empty() {
        return Err(InputError::one(
            &sweep.path,
            None,
            Some(&format!("{label}data")),
            format!("the validation reserve leaves no training rows out of {rows}; reserve fewer"),
        ));
    }
    Ok((prepared, pipelines))
}

/// k-fold needs a row per fold: known only once the training file is read.
pub(crate) fn check_folds(file: &Path, data: &DataConfig, rows: usize) -> Result<(), InputError> {
    match data.folds() {
        Some(folds) if folds > rows => Err(InputError::one(
            file,
            None,
            Some("data.folds"),
            crate::stats::folds::FoldError::MoreFoldsThanRows { folds, rows }.to_string(),
        )),
        _ => Ok(()),
    }
}
