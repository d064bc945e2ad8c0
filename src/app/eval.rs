//! `pinniped eval --model M --data D`: a saved model's accuracy and confusion matrix on a
//! data file (an MLP's or a convolutional network's checkpoint), scored through the model seam (`train::engine::Model`), as a run scores its
//! evaluation sets.

use super::args::EvalArgs;
use super::error::{exit, AppError};
use super::render::sparse_confusion;
use crate::features::Pipeline;
use crate::output::count;
use crate::spec::problems::{echo, echo_path};
use crate::spec::{InputError, TrainConfig};
use crate::train::checkpoint::{self, AnyNet};
use crate::train::engine;
use crate::train::model::argmax_rows;
use crate::train::{Device, Method, Net, Real};
use anyhow::Context;
use std::path::Path;

pub fn eval(a: EvalArgs) -> Result<u8, AppError> {
    if let Some(path) = &a.confusion {
        check_output_file(path, "--confusion")?;
    }
    let ckpt = checkpoint::load(&a.model).map_err(|e| InputError::message(format!("{e:#}")))?;
    let meta = &ckpt.meta;
    let cfg: TrainConfig = toml::from_str(&meta.config)
        .map_err(|e| InputError::one(&a.model, None, None, format!("the checkpoint's config does not parse: {e}")))?;
    let format = match a.format.as_deref() {
        Some(f) => {
            Some(f.parse::<crate::data::Format>().map_err(|e| InputError::one(&a.data, None, None, e.to_string()))?)
        }
        None => None,
    };
    // The training file's policies, fitting to the length its series were brought to.
    let split = crate::data::load_with_classes(&a.data, format, None, &meta.series, &meta.classes, meta.raw_cols)
        .map_err(|error| AppError::Data {
            error,
            expected: format!(
                "the model was trained on series of {} values and {}",
                meta.raw_cols,
                count(meta.classes.len(), "class")
            ),
        })?;
    let mut x = Pipeline::of(&cfg)
        .apply(split.x, meta.raw_cols, meta.channels())
        .map_err(|e| InputError::one(&a.model, None, None, e.to_string()))?;
    let inputs = ckpt.net.inputs();
    if let Some((mean, std)) = &ckpt.standardization {
        crate::features::spectral::standardize_apply(&mut x, inputs, mean, std);
    }
    let predicted = match ckpt.net {
        AnyNet::F32(n) => predict(&cfg, n, &x)?,
        AnyNet::F64(n) => predict(&cfg, n, &x)?,
    };
    let classes = meta.classes.len();
    let m = crate::train::diagnostics::confusion(&split.y, &predicted, classes);
    let hits: u32 = (0..classes).map(|c| m[c * classes + c]).sum();
    let acc = hits as f64 / split.rows as f64;
    // Results are labelled by their data file: eval runs on any file, not only a test set.
    let label = a.data.file_name().map_or_else(|| echo_path(&a.data), |n| echo(&n.to_string_lossy()));
    if a.csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["accuracy", "hits", "rows", "data"])?;
        w.write_record([acc.to_string(), hits.to_string(), split.rows.to_string(), a.data.display().to_string()])?;
        out!("{}", String::from_utf8_lossy(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?));
    } else {
        outln!("{label}: {hits}/{} correct, accuracy {acc}", split.rows);
        out!("{}", sparse_confusion(&m, &meta.classes));
    }
    if let Some(path) = &a.confusion {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(std::iter::once("actual").chain(meta.classes.iter().map(String::as_str)))?;
        for (r, row) in m.chunks_exact(classes).enumerate() {
            w.write_record(std::iter::once(meta.classes[r].clone()).chain(row.iter().map(u32::to_string)))?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::results::atomic::write_atomic(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(exit::OK)
}

/// Each row's predicted class: the checkpoint's network (an MLP or a convolutional one) built
/// as the engine its configuration names and scored as a run scores an evaluation set. On the
/// CPU (a model trained on a GPU evaluates anywhere) and by the direct method (the Gram method
/// stands for the first layer through the training rows, which `eval` does not have).
fn predict<T: Real>(cfg: &TrainConfig, net: Net<T>, x: &[f64]) -> anyhow::Result<Vec<usize>> {
    let classes = net.classes();
    let x: Vec<T> = x.iter().map(|&v| T::of(v)).collect();
    let mut cfg = cfg.clone();
    (cfg.model.method, cfg.model.device) = (Method::Direct, Device::Cpu);
    // Scoring draws nothing; the engine still wants its dropout stream.
    let dropout_rng = crate::stats::stream_rng(cfg.schedule.seed, 0);
    // Evaluated a batch's worth of rows at a time, as a run evaluates its sets.
    let batch = cfg.optimiser.batch_size.clamp(1, 256);
    let mut model = engine::build_net(&cfg, net, vec![&x], batch, dropout_rng, false)?;
    Ok(argmax_rows(model.scores(0)?, classes).collect())
}

/// A file the user names for pinniped to write: a regular file or a new one in an
/// existing directory (checked before any work, so a typo costs nothing).
fn check_output_file(path: &Path, flag: &str) -> Result<(), InputError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let why = if path.exists() && !path.is_file() {
        "exists and is not a regular file: give a file name"
    } else if path.is_file() && !is_confusion_csv(path) {
        // Never overwrite what pinniped did not write: only an earlier matrix is replaced.
        "exists and is not an earlier --confusion matrix: give a new file name (it is not overwritten)"
    } else if !parent.is_dir() {
        "its directory does not exist: create it or give another path"
    } else {
        return Ok(());
    };
    Err(InputError::one(path, None, Some(flag), why))
}

/// Whether `path` starts like the matrix `eval --confusion` writes (`actual,<class>,…`).
fn is_confusion_csv(path: &Path) -> bool {
    let Ok(file) = crate::fsx::open_regular(path) else { return false };
    let mut first = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(file, 8), &mut first);
    first.starts_with(b"actual,")
}
