//! One training run: split, initialise, then per epoch shuffle, train on batches,
//! evaluate every set and record the diagnostics.

use super::diagnostics::{confusion, snapshot, weight_change, Histogram};
use super::init::initialise;
use super::model::{argmax_rows, loss_sum, Mlp, Workspace};
use super::optim::Optimizer;
use super::options::OptimizerKind;
use super::real::Real;
use crate::spec::config::{DataConfig, TrainConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// The evaluation sets, in the column order of `metrics.csv`.
pub const SETS: [&str; 3] = ["train", "valid", "test"];

/// Preprocessed features shared by every run of a sweep.
pub struct RunData<'a> {
    pub cols: usize,
    pub classes: usize,
    pub train_x: &'a [f64],
    pub train_y: &'a [u32],
    pub test: Option<(&'a [f64], &'a [u32])>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SetMetrics {
    /// Mean per-sample loss (see `model::loss_sum`).
    pub loss: f64,
    pub acc: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// train, valid, test; `None` when the set is empty or not evaluated this epoch.
    pub sets: [Option<SetMetrics>; 3],
    /// Wall seconds since the run started.
    pub seconds: f64,
}

#[derive(Clone, Debug, Default)]
pub struct History {
    pub metrics: Vec<EpochMetrics>,
    /// (epoch, layer, node, ‖Δw‖, Δθ)
    pub weight_changes: Vec<(usize, usize, usize, f64, f64)>,
    /// (epoch, hidden layer, histogram of that epoch's training passes)
    pub histograms: Vec<(usize, usize, Histogram)>,
    /// (epoch, set index, counts[actual * classes + predicted])
    pub confusions: Vec<(usize, usize, Vec<u32>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Done,
    Diverged { epoch: usize, reason: String },
}

pub struct Fit<T> {
    pub mlp: Mlp<T>,
    pub history: History,
    pub outcome: Outcome,
    pub train_rows: Vec<usize>,
    pub valid_rows: Vec<usize>,
}

/// Called after every epoch (for checkpoints and progress); an error fails the run.
pub type EpochHook<'h, T> = dyn FnMut(&EpochMetrics, &Mlp<T>) -> anyhow::Result<()> + 'h;

/// Independent random streams of one run, so that (say) adding dropout never
/// changes the initial weights or the shuffles.
pub fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}
const INIT_STREAM: u64 = 0;
const SHUFFLE_STREAM: u64 = 1;

/// Fisher–Yates with our own RNG, so that orders depend on the seed alone.
fn shuffle(v: &mut [usize], rng: &mut impl Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

fn gather<T: Real>(x: &[f64], cols: usize, rows: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(rows.len() * cols);
    for &r in rows {
        out.extend(x[r * cols..(r + 1) * cols].iter().map(|&v| T::of(v)));
    }
    out
}

struct EvalSet<T> {
    x: Vec<T>,
    y: Vec<u32>,
}

pub fn fit<T: Real>(
    cfg: &TrainConfig,
    data_cfg: &DataConfig,
    seed: u64,
    data: &RunData,
    hook: &mut EpochHook<'_, T>,
) -> anyhow::Result<Fit<T>> {
    let start = Instant::now();
    let (cols, classes) = (data.cols, data.classes);
    let n_rows = data.train_y.len();

    let mut dims = vec![cols];
    dims.extend(&cfg.hidden);
    dims.push(classes);
    let mut mlp: Mlp<T> = initialise(&dims, cfg.activation, cfg.init, &mut stream_rng(seed, INIT_STREAM));

    let mut shuffler = stream_rng(seed, SHUFFLE_STREAM);
    let mut order: Vec<usize> = (0..n_rows).collect();
    if cfg.shuffle {
        shuffle(&mut order, &mut shuffler);
    }
    let (train_rows, valid_rows) = data_cfg.split(&order);
    anyhow::ensure!(!train_rows.is_empty(), "the split leaves no training rows");

    let sets: Vec<EvalSet<T>> = {
        let pick = |rows: &[usize]| EvalSet {
            x: gather(data.train_x, cols, rows),
            y: rows.iter().map(|&r| data.train_y[r]).collect(),
        };
        let mut sets = vec![pick(&train_rows), pick(&valid_rows)];
        if let Some((x, y)) = data.test {
            sets.push(EvalSet { x: x.iter().map(|&v| T::of(v)).collect(), y: y.to_vec() });
        }
        sets
    };

    let n_train = train_rows.len();
    let batch = cfg.batch_size.min(n_train);
    let mut ws = Workspace::new(&mlp, batch);
    let mut eval_ws = Workspace::new(&mlp, sets.iter().map(|s| s.y.len()).max().unwrap_or(0));
    let mut opt = Optimizer::new(cfg.optimizer, cfg.learning_rate, cfg.momentum, cfg.momentum_rule, cfg.weight_decay, &mlp);
    let mut hists: Vec<Histogram> = cfg
        .hidden
        .iter()
        .map(|&w| Histogram::new(cfg.activation, cfg.histogram_bins, cfg.histogram_relu_max, w))
        .collect();

    // p ← p − lr·g under both momentum rules: the update can be fused into the backward pass.
    let plain_sgd = cfg.optimizer == OptimizerKind::Sgd && cfg.momentum == 0.0 && cfg.weight_decay == 0.0;
    let mut history = History::default();
    let mut positions: Vec<usize> = (0..n_train).collect();
    let mut xb: Vec<T> = vec![T::zero(); n_train * cols];
    let mut yb: Vec<u32> = vec![0; n_train];
    let every = |n: usize, epoch: usize, last: bool| last || (n > 0 && epoch % n == 0);

    for epoch in 1..=cfg.epochs {
        let last = epoch == cfg.epochs;
        if cfg.shuffle {
            shuffle(&mut positions, &mut shuffler);
        }
        // One gather per epoch; batches are then contiguous row ranges.
        let train = &sets[0];
        for (dst, &p) in positions.iter().enumerate() {
            xb[dst * cols..(dst + 1) * cols].copy_from_slice(&train.x[p * cols..(p + 1) * cols]);
            yb[dst] = train.y[p];
        }
        let before = snapshot(&mlp);
        hists.iter_mut().for_each(Histogram::clear);

        let mut start_row = 0;
        while start_row < n_train {
            let rows = batch.min(n_train - start_row);
            let (xs, ys) = (&xb[start_row * cols..(start_row + rows) * cols], &yb[start_row..start_row + rows]);
            let loss = if plain_sgd {
                ws.sgd_step_fused(&mut mlp, xs, ys, rows, cfg.loss, cfg.learning_rate)
            } else {
                ws.forward_backward(&mlp, xs, ys, rows, cfg.loss)
            };
            if !loss.is_finite() {
                return Ok(diverged(mlp, history, train_rows, valid_rows, epoch, format!("training loss became {loss}")));
            }
            for (l, h) in hists.iter_mut().enumerate() {
                h.add(ws.hidden(l, rows, cfg.hidden[l]));
            }
            if !plain_sgd {
                opt.step(&mut mlp, &ws.grads);
            }
            start_row += rows;
        }

        let mut metrics = EpochMetrics { epoch, sets: [None; 3], seconds: 0.0 };
        for (k, set) in sets.iter().enumerate() {
            let rows = set.y.len();
            if rows == 0 || (k == 2 && !every(cfg.test_every, epoch, last)) {
                continue;
            }
            let out = eval_ws.forward(&mlp, &set.x, rows);
            let loss = loss_sum(cfg.loss, out, &set.y, classes) / rows as f64;
            let predicted: Vec<usize> = argmax_rows(out, classes).collect();
            let hits = predicted.iter().zip(&set.y).filter(|(p, y)| **p == **y as usize).count();
            metrics.sets[k] = Some(SetMetrics { loss, acc: hits as f64 / rows as f64 });
            if every(cfg.confusion_every, epoch, last) {
                history.confusions.push((epoch, k, confusion(&set.y, &predicted, classes)));
            }
        }
        metrics.seconds = start.elapsed().as_secs_f64();

        for (l, nodes) in weight_change(&before, &mlp).into_iter().enumerate() {
            for (node, (dnorm, dtheta)) in nodes.into_iter().enumerate() {
                history.weight_changes.push((epoch, l, node, dnorm, dtheta));
            }
        }
        for (l, h) in hists.iter().enumerate() {
            history.histograms.push((epoch, l, h.clone()));
        }
        let bad = metrics.sets.iter().flatten().find(|m| !m.loss.is_finite()).map(|m| m.loss);
        history.metrics.push(metrics);
        if let Some(loss) = bad.or_else(|| (!mlp.is_finite()).then_some(f64::NAN)) {
            return Ok(diverged(mlp, history, train_rows, valid_rows, epoch, format!("evaluation loss became {loss}")));
        }
        hook(history.metrics.last().unwrap(), &mlp)?;
    }
    Ok(Fit { mlp, history, outcome: Outcome::Done, train_rows, valid_rows })
}

fn diverged<T>(
    mlp: Mlp<T>,
    history: History,
    train_rows: Vec<usize>,
    valid_rows: Vec<usize>,
    epoch: usize,
    reason: String,
) -> Fit<T> {
    Fit { mlp, history, outcome: Outcome::Diverged { epoch, reason }, train_rows, valid_rows }
}
