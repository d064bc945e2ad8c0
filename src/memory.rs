//! How much memory a run needs, estimated before it starts, and fallible allocation for
//! the big buffers, so that a run that still cannot get its memory fails alone (as
//! `failed`) instead of aborting the process and every other run with it.

use crate::spec::options::{DType, Method, OptimizerKind};
use crate::spec::TrainConfig;
use std::fmt;

/// Overrides the per-run memory bound (bytes); the default is the machine's memory.
pub(crate) const MAX_RUN_MEMORY_VAR: &str = "PINNIPED_MAX_RUN_MEMORY";

/// The bound without a setting where the machine's memory cannot be read.
const FALLBACK_LIMIT: u64 = 16 << 30;

/// A buffer the allocator refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "out of memory: could not allocate {} for {what}; the machine has less free memory than this \
     configuration needs (run fewer runs at once with --jobs, or shrink the configuration)",
    Bytes(*bytes)
)]
pub struct AllocError {
    pub bytes: u64,
    pub what: &'static str,
}

/// `len` copies of `value`, or an [`AllocError`] instead of aborting the process.
pub(crate) fn try_filled<T: Clone>(len: usize, value: T, what: &'static str) -> Result<Vec<T>, AllocError> {
    let mut v = try_with_capacity(len, what)?;
    v.resize(len, value);
    Ok(v)
}

/// An empty vector with room for `len` elements, or an [`AllocError`].
pub(crate) fn try_with_capacity<T>(len: usize, what: &'static str) -> Result<Vec<T>, AllocError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| AllocError { bytes: (len as u64).saturating_mul(std::mem::size_of::<T>() as u64), what })?;
    Ok(v)
}

/// A byte count for people: `1.5 GiB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        let mut v = self.0 as f64;
        let mut unit = 0;
        while v >= 1024.0 && unit + 1 < UNITS.len() {
            v /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            write!(f, "{} bytes", self.0)
        } else {
            write!(f, "{v:.1} {}", UNITS[unit])
        }
    }
}

/// The data a run sees, as the estimate needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Input width after the feature pipeline.
    pub cols: usize,
    pub classes: usize,
    pub train_rows: usize,
    pub valid_rows: usize,
    pub(crate) test_rows: usize,
}

/// The estimated peak memory of one run, by part (bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Weights, gradients, optimiser state, snapshots and copies of the model.
    pub model: u64,
    /// Forward/backward buffers of the training and evaluation passes (and the Gram method).
    pub(crate) workspaces: u64,
    /// The run's own copies of the train, valid and test rows.
    pub sets: u64,
    /// Histograms, weight changes and confusion matrices over all epochs, and their CSV text.
    pub diagnostics: u64,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.model.saturating_add(self.workspaces).saturating_add(self.sets).saturating_add(self.diagnostics)
    }

    /// The largest part, to say what to shrink.
    fn largest(&self) -> (&'static str, u64, &'static str) {
        [
            ("the model (weights, gradients, optimiser state)", self.model, "smaller `hidden` layers"),
            ("the training workspaces", self.workspaces, "a smaller `batch_size` or smaller `hidden` layers"),
            ("the run's copies of the data", self.sets, "fewer or shorter rows"),
            (
                "the diagnostics over all epochs",
                self.diagnostics,
                "fewer `epochs`, fewer `histogram_bins` or a larger `confusion_every`",
            ),
        ]
        .into_iter()
        .max_by_key(|p| p.1)
        .expect("four parts")
    }
}

/// Saturating arithmetic on sizes: an estimate of "too much" must never wrap to "little".
fn mul(parts: &[usize]) -> u64 {
    parts.iter().fold(1u64, |acc, &p| acc.saturating_mul(p as u64))
}

/// The memory one run of `cfg` on data of `shape` needs at its peak, from the buffers
/// `fit` allocates (an estimate: small per-epoch vectors are left out).
pub fn estimate(cfg: &TrainConfig, shape: &Shape) -> Estimate {
    let t = match cfg.model.dtype {
        DType::F32 => 4,
        DType::F64 => 8,
    };
    if cfg.model.family.is_conv() {
        return conv_estimate(cfg, shape, t);
    }
    let mut dims = vec![shape.cols];
    dims.extend(&cfg.model.hidden);
    dims.push(shape.classes);
    let weights: u64 = dims.windows(2).map(|d| mul(&[d[0], d[1]])).fold(0, u64::saturating_add);
    let params = weights.saturating_add(dims[1..].iter().map(|&d| d as u64).sum());
    // The model, the gradients of two workspaces, the optimiser's first moment (always) and
    // second (Adam), a copy for early stopping or the refit, and the f64 snapshot.
    let copies = 4
        + u64::from(cfg.optimiser.optimizer == OptimizerKind::Adam)
        + u64::from(cfg.schedule.patience > 0 || cfg.schedule.refit);
    let model = params.saturating_mul(copies * t).saturating_add(weights.saturating_mul(8));

    let all_rows = shape.train_rows + shape.valid_rows + shape.test_rows;
    let batch = cfg.optimiser.batch_size.min(shape.train_rows);
    let eval_rows = shape.train_rows.max(shape.valid_rows).max(shape.test_rows);
    let outputs: usize = dims[1..].iter().sum();
    let widest = dims[1..].iter().copied().max().unwrap_or(0);
    let hidden: usize = cfg.model.hidden.iter().sum();
    let dropout = if cfg.model.dropout > 0.0 { mul(&[2, batch, hidden]) } else { 0 };
    let per_pass = |rows: usize| mul(&[rows, outputs]).saturating_add(mul(&[2, rows, widest]));
    let mut workspaces = per_pass(batch).saturating_add(per_pass(eval_rows)).saturating_add(dropout).saturating_mul(t);
    let gram = match cfg.model.method {
        Method::Gram => true,
        Method::Direct => false,
        Method::Auto => cfg.optimiser.optimizer == OptimizerKind::Sgd && 2 * shape.train_rows <= shape.cols,
    };
    if gram {
        let first = dims[1];
        let rows = all_rows + 2 * shape.train_rows;
        workspaces = workspaces.saturating_add(mul(&[rows, shape.train_rows + first, t as usize]));
    }

    // Converted rows of every set, the f64 gather of the training rows and the epoch's batch copy.
    let sets = mul(&[all_rows, shape.cols, t as usize])
        .saturating_add(mul(&[shape.train_rows, shape.cols, 8]))
        .saturating_add(mul(&[shape.train_rows, shape.cols, t as usize]));

    // Per recorded epoch: histograms (8 bytes a count), weight changes (a 40-byte tuple per
    // node), confusion matrices on the epochs that record them. The history is copied once
    // into the result and written as CSV text (about as large again).
    let epochs = cfg.schedule.epochs;
    let columns = cfg.outputs.histogram_bins + 1;
    let per_epoch = mul(&[hidden, columns, 8]).saturating_add(mul(&[outputs, 40]));
    // confusion_every = 0: the last epoch only.
    let confusion_epochs = epochs.checked_div(cfg.outputs.confusion_every).map_or(1, |n| n + 1);
    let confusions = mul(&[confusion_epochs, 3, shape.classes, shape.classes, 4]);
    let diagnostics = per_epoch.saturating_mul(epochs as u64).saturating_add(confusions).saturating_mul(3);

    Estimate { model, workspaces, sets, diagnostics }
}

/// [`estimate`] of a convolutional network (`train::conv`), bounding its time axis and first
/// layer's inputs by the row's width (a multivariate row has fewer time steps): per
/// convolution, its output before and after batch norm and ReLU, their gradients and the
/// unfolded input (`in × k` per time step) of a batch, in training and in evaluation.
fn conv_estimate(cfg: &TrainConfig, shape: &Shape, t: u64) -> Estimate {
    let filters = cfg.model.conv_filters();
    let kernels = cfg.model.conv_kernels();
    let resnet = cfg.model.family == crate::spec::options::ModelFamily::Resnet;
    // (inputs, outputs, kernel) of every convolution, shortcuts included.
    let mut convs = Vec::new();
    let mut inputs = 1usize;
    for (b, &out) in filters.iter().enumerate() {
        if resnet {
            for (j, &k) in kernels.iter().enumerate() {
                convs.push((if j == 0 { inputs } else { out }, out, k));
            }
            convs.push((inputs, out, 1));
        } else {
            convs.push((inputs, out, kernels[b.min(kernels.len() - 1)]));
        }
        inputs = out;
    }
    let params = convs
        .iter()
        .map(|&(i, o, k)| mul(&[o, i, k]).saturating_add(mul(&[4, o])))
        .fold(mul(&[shape.classes, inputs + 1]), u64::saturating_add);
    let copies = 5 + u64::from(cfg.optimiser.optimizer == OptimizerKind::Adam);
    let model = params.saturating_mul(copies * t).saturating_add(params.saturating_mul(8));
    let batch = cfg.optimiser.batch_size.min(shape.train_rows).max(1);
    let per_step: u64 =
        convs.iter().map(|&(i, o, k)| mul(&[8, o]).saturating_add(mul(&[2, i, k]))).fold(0, u64::saturating_add);
    let workspaces = mul(&[batch, shape.cols]).saturating_mul(per_step).saturating_mul(t);
    let all_rows = shape.train_rows + shape.valid_rows + shape.test_rows;
    let sets = mul(&[all_rows, shape.cols, t as usize])
        .saturating_add(mul(&[shape.train_rows, shape.cols, 8]))
        .saturating_add(mul(&[shape.train_rows, shape.cols, t as usize]));
    let nodes: usize = filters.iter().sum::<usize>() + shape.classes;
    let per_epoch = mul(&[nodes, cfg.outputs.histogram_bins + 1, 8]).saturating_add(mul(&[nodes, 40]));
    let diagnostics = per_epoch.saturating_mul(cfg.schedule.epochs as u64).saturating_mul(3);
    Estimate { model, workspaces, sets, diagnostics }
}

/// The per-run memory bound: `PINNIPED_MAX_RUN_MEMORY` if set, else the machine's memory.
/// `Err` names the setting when it is not a number.
pub(crate) fn run_memory_limit() -> Result<u64, String> {
    Ok(bytes_setting(MAX_RUN_MEMORY_VAR)?.unwrap_or_else(|| physical_memory().unwrap_or(FALLBACK_LIMIT)))
}

/// A size limit from the environment variable `name`: `None` when unset, `Err` (a message
/// naming the variable) when it is not a positive whole number of bytes.
pub(crate) fn bytes_setting(name: &str) -> Result<Option<u64>, String> {
    let Some(raw) = std::env::var_os(name) else { return Ok(None) };
    let text = raw.to_string_lossy();
    match text.trim().parse::<u64>() {
        Ok(v) if v > 0 => Ok(Some(v)),
        _ => Err(format!(
            "{name}={}: must be a whole number of bytes greater than 0, e.g. 1073741824",
            text.chars().take(40).collect::<String>().escape_debug()
        )),
    }
}

/// Total memory from /proc/meminfo (Linux); `None` elsewhere.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Why `estimate` does not fit under `limit`, or `None` when it does.
pub(crate) fn over_limit(estimate: &Estimate, limit: u64) -> Option<String> {
    let total = estimate.total();
    if total <= limit {
        return None;
    }
    let (part, bytes, fix) = estimate.largest();
    Some(format!(
        "a run needs about {} of memory ({} of it for {part}), more than the {} limit per run \
         (the machine's memory, or {MAX_RUN_MEMORY_VAR}); use {fix}",
        Bytes(total),
        Bytes(bytes),
        Bytes(limit)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape { cols: 1024, classes: 39, train_rows: 160, valid_rows: 54, test_rows: 1896 }
    }

    #[test]
    fn estimate_counts_the_model_from_its_layer_widths() {
        let mut cfg = TrainConfig::default();
        (cfg.model.hidden, cfg.model.method) = (vec![64], Method::Direct);
        let e = estimate(&cfg, &shape());
        // 1024·64 + 64·39 weights, 64 + 39 biases; four f32 copies plus an f64 snapshot.
        let (weights, params) = (1024 * 64 + 64 * 39, 1024 * 64 + 64 * 39 + 64 + 39);
        assert_eq!(e.model, params * 4 * 4 + weights * 8);
        cfg.model.hidden = vec![128];
        let bigger = estimate(&cfg, &shape());
        assert!(bigger.model > e.model && bigger.workspaces > e.workspaces);
    }

    #[test]
    fn huge_sizes_saturate_and_are_refused_with_the_estimate() {
        let mut cfg = TrainConfig::default();
        cfg.model.hidden = vec![1 << 20; 64];
        let e = estimate(&cfg, &shape());
        let why = over_limit(&e, 8 << 30).expect("far over 8 GiB");
        assert!(why.contains("8.0 GiB") && why.contains("hidden"), "{why}");
        let small = estimate(&TrainConfig::default(), &shape());
        assert!(small.total() < 100 << 20, "{small:?}");
        assert_eq!(over_limit(&small, 8 << 30), None);
    }

    #[test]
    fn long_diagnostics_count_every_epoch() {
        let mut cfg = TrainConfig::default();
        (cfg.outputs.histogram_bins, cfg.schedule.epochs) = (10_000, 1_000_000);
        let e = estimate(&cfg, &shape());
        assert!(e.diagnostics > 64 * 10_000 * 8 * 1_000_000, "{e:?}");
        let why = over_limit(&e, 8 << 30).unwrap();
        assert!(why.contains("diagnostics") && why.contains("epochs"), "{why}");
    }

    #[test]
    fn failed_allocation_is_an_error_not_an_abort() {
        let e = try_filled(usize::MAX / 2, 0u64, "a test buffer").unwrap_err();
        assert!(e.to_string().contains("a test buffer") && e.to_string().contains("out of memory"), "{e}");
        assert_eq!(try_filled(3, 7u8, "x").unwrap(), [7, 7, 7]);
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Bytes(12).to_string(), "12 bytes");
    }
}
