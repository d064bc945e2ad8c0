//! One training run: split, initialise, then per epoch shuffle, train on batches,
//! evaluate every set and record the diagnostics; optionally stop early (keeping
//! the best epoch's weights) and refit on training + validation rows.

use super::candle_conv::scores_of;
use super::checkpoint::Standardization;
use super::diagnostics::{confusion, net_weight_change, snapshot, tracked_weights, Histogram};
use super::engine::{self, Model, NetRef};
use super::memory::{try_filled, try_with_capacity, AllocError};
use super::model::{argmax_rows, loss_sum, Workspace};
use super::net::{Net, NetShape};
use super::options::Activation;
use super::predictions::{Predictions, SetPredictions};
use super::real::Real;
use super::state::{FitState, LoopState, MainEnd, PhaseKind, WithinEpoch};
use super::strategy::{Best, Cadence, EarlyStopping};
use crate::data::split::{self as data_split, PerSplit};
use crate::features::spectral::{standardize_apply, standardize_fit};
use crate::features::RunData;
use crate::spec::config::{DataConfig, TrainConfig};
use crate::spec::Split;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

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
    /// Per split; `None` when the set is empty or not evaluated this epoch.
    pub sets: PerSplit<Option<SetMetrics>>,
    /// Wall seconds since the run started.
    pub seconds: f64,
}

#[derive(Clone, Debug, Default)]
pub struct History {
    pub metrics: Vec<EpochMetrics>,
    pub weight_changes: Vec<WeightChange>,
    pub(crate) histograms: Vec<LayerHistogram>,
    pub(crate) confusions: Vec<EpochConfusion>,
}

/// How much one node's incoming weights moved in one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightChange {
    pub epoch: usize,
    pub layer: usize,
    pub node: usize,
    /// ‖Δw‖
    pub dnorm: f64,
    /// The angle Δθ between the weights before and after.
    pub dtheta: f64,
}

/// One hidden layer's activation histogram over one epoch's training passes.
#[derive(Clone, Debug)]
pub struct LayerHistogram {
    pub epoch: usize,
    pub layer: usize,
    pub(crate) histogram: Histogram,
}

/// One split's confusion matrix after one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochConfusion {
    pub epoch: usize,
    pub split: data_split::Split,
    /// `counts[actual * classes + predicted]`
    pub counts: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Done,
    Diverged { epoch: usize, reason: String },
}

/// Which model the run returns and how it scores.
#[derive(Clone, Debug, PartialEq)]
pub struct Selected {
    /// The epoch whose weights are returned (early stopping), or the refit's epoch count.
    pub epoch: usize,
    /// Accuracy of the returned model on train, valid, test. After a refit, train is
    /// measured on training + validation rows and valid is the first phase's score at
    /// `epoch` (the refit model has seen those rows).
    pub accs: PerSplit<Option<f64>>,
    pub refit: bool,
}

pub struct Fit<T> {
    /// The returned network.
    pub net: Net<T>,
    /// The z-score the returned model expects (`standardize = true`).
    pub standardization: Option<(Vec<f64>, Vec<f64>)>,
    pub history: History,
    pub outcome: Outcome,
    pub selected: Option<Selected>,
    pub train_rows: Vec<usize>,
    pub valid_rows: Vec<usize>,
    /// The kept model's per-row predictions (`predictions = true`, runs that did not diverge):
    /// validation rows by the model validation selected (before any refit), test rows by the
    /// returned model, each from the very scores its reported accuracy comes from.
    pub predictions: Option<Predictions>,
}

/// What the epoch hook sees: enough to write a self-contained checkpoint.
pub struct EpochView<'a, T> {
    pub metrics: &'a EpochMetrics,
    /// Everything recorded so far, this epoch included.
    pub history: &'a History,
    pub net: NetRef<'a, T>,
    /// The z-score the model's inputs went through (`standardize = true`).
    pub standardization: Option<&'a (Vec<f64>, Vec<f64>)>,
}

/// Called after every epoch (for checkpoints and progress); an error fails the run.
pub(crate) type EpochHook<'h, T> = dyn FnMut(EpochView<'_, T>) -> anyhow::Result<()> + 'h;

/// Writes a run's training state (`train::state`); an error fails the run.
pub(crate) type SaveState<'s, T> = dyn FnMut(&FitState<T>) -> anyhow::Result<()> + 's;

/// Where a run stands when it asks whether to stop ([`Resume::suspend`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boundary {
    /// The epoch of its phase in progress, or just ended (1-based).
    pub epoch: usize,
    /// Batches of that epoch trained so far, with more to come; `None` once the epoch is over
    /// (trained, evaluated, recorded).
    pub batch: Option<usize>,
}

impl std::fmt::Display for Boundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.batch {
            None => write!(f, "after epoch {}", self.epoch),
            Some(b) => write!(f, "in epoch {} after batch {b}", self.epoch),
        }
    }
}

/// Asked at every batch boundary (after each batch but an epoch's last) and between epochs:
/// `true` stops the run there, its state saved.
pub type SuspendPoll<'r> = dyn Fn(Boundary) -> bool + 'r;

/// How a run saves and resumes its whole training state.
pub struct Resume<'r, T> {
    /// The state to continue from: decoded, of this run's config hash (the caller checks).
    pub from: Option<FitState<T>>,
    /// The run's config hash, written into every state.
    pub config_hash: String,
    /// Save the state every `every` epochs of a phase (0: never), between epochs.
    pub every: usize,
    /// Once this answers `true` (SIGUSR1, `pinniped slurm --requeue`), the run saves its
    /// state at that boundary, inside an epoch too, and stops with [`ResumeError::Suspended`]:
    /// a conv epoch can outlast Slurm's warning, a batch does not.
    pub suspend: Option<&'r SuspendPoll<'r>>,
    /// Successive halving's rung: after this epoch of the main phase (unless it is the last),
    /// the state is saved and the run stops with [`ResumeError::Paused`].
    pub pause_at: Option<usize>,
    pub save: Option<&'r mut SaveState<'r, T>>,
}

impl<T> Resume<'_, T> {
    /// Neither saves nor resumes.
    pub fn none() -> Self {
        Resume { from: None, config_hash: String::new(), every: 0, suspend: None, pause_at: None, save: None }
    }
}

/// How a resumable run ends other than with a [`Fit`].
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The saved state does not fit the run (another network, method, dropout, epochs):
    /// the caller starts the run afresh.
    #[error("the saved state does not fit the run: {0}")]
    Refused(String),
    /// Asked to stop (see [`Resume::suspend`]): the state at this boundary is saved.
    #[error("suspended {0}, its state saved")]
    Suspended(Boundary),
    /// Reached its rung ([`Resume::pause_at`]): the state after this epoch is saved.
    #[error("paused at its rung, epoch {0}, its state saved")]
    Paused(usize),
}

/// Why [`fit_resumable`] returned no [`Fit`]: it stopped as `resume` allows (a refused state,
/// a suspension), which the caller handles, or it failed, which fails the run.
#[derive(Debug)]
pub enum FitError {
    Resume(ResumeError),
    Failed(anyhow::Error),
}

impl FitError {
    /// As one error for callers that only report it (a refused state or a suspension included).
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            FitError::Resume(r) => r.into(),
            FitError::Failed(e) => e,
        }
    }
}

impl From<ResumeError> for FitError {
    fn from(e: ResumeError) -> Self {
        FitError::Resume(e)
    }
}

impl From<anyhow::Error> for FitError {
    fn from(e: anyhow::Error) -> Self {
        FitError::Failed(e)
    }
}

impl From<crate::memory::AllocError> for FitError {
    fn from(e: crate::memory::AllocError) -> Self {
        FitError::Failed(e.into())
    }
}

// Defined in `stats` (the bootstrap draws from it too), which lies below `train`.
pub use crate::stats::stream_rng;
const INIT_STREAM: u64 = 0;
const SHUFFLE_STREAM: u64 = 1;
const DROPOUT_STREAM: u64 = 2;
const REFIT_SHUFFLE_STREAM: u64 = 3;
const REFIT_DROPOUT_STREAM: u64 = 4;

/// Fisher–Yates with our own RNG, so that orders depend on the seed alone.
fn shuffle(v: &mut [usize], rng: &mut impl Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

fn gather(x: &[f64], cols: usize, rows: &[usize]) -> Result<Vec<f64>, AllocError> {
    let mut out = try_with_capacity(rows.len().saturating_mul(cols), "the run's copy of the data")?;
    for &r in rows {
        out.extend_from_slice(&x[r * cols..(r + 1) * cols]);
    }
    Ok(out)
}

/// One set's rows, in the run's dtype.
struct Set<T> {
    x: Vec<T>,
    y: Vec<u32>,
}

impl<T: Real> Set<T> {
    /// Converts to `T`, z-scoring first with `z` = (mean, std) when given.
    fn new(x: &[f64], y: Vec<u32>, z: Option<&(Vec<f64>, Vec<f64>)>) -> Result<Self, AllocError> {
        let mut out = try_with_capacity(x.len(), "the run's copy of the data")?;
        match z {
            Some((mean, std)) => {
                let mut scaled = try_with_capacity(x.len(), "the run's copy of the data")?;
                scaled.extend_from_slice(x);
                standardize_apply(&mut scaled, mean.len(), mean, std);
                out.extend(scaled.into_iter().map(T::of));
            }
            None => out.extend(x.iter().map(|&v| T::of(v))),
        }
        Ok(Set { x: out, y })
    }
    fn rows(&self) -> usize {
        self.y.len()
    }
}

/// The train/valid/test sets of one phase; the z-score (if any) is fitted on `train` only.
fn build_sets<T: Real>(
    cfg: &TrainConfig,
    data: &RunData,
    train: &[usize],
    valid: &[usize],
) -> Result<(Vec<Set<T>>, Option<Standardization>), AllocError> {
    let cols = data.cols;
    let train_x = gather(data.train_x, cols, train)?;
    let z = cfg.pipeline.standardize.then(|| standardize_fit(&train_x, cols));
    let labels = |rows: &[usize]| rows.iter().map(|&r| data.train_y[r]).collect::<Vec<_>>();
    let mut sets = vec![
        Set::new(&train_x, labels(train), z.as_ref())?,
        Set::new(&gather(data.train_x, cols, valid)?, labels(valid), z.as_ref())?,
    ];
    if let Some((x, y)) = data.test {
        sets.push(Set::new(x, y.to_vec(), z.as_ref())?);
    }
    Ok((sets, z))
}

/// Trains one run. `seed` draws the initial weights and dropout; `split` the validation rows
/// and every epoch's shuffle, so that runs sharing a split (pairing) see the same rows in the
/// same order whatever their own seed. `Split::own(seed)` is a run's split before pairing.
pub fn fit<T: Real>(
    cfg: &TrainConfig,
    data_cfg: &DataConfig,
    seed: u64,
    split: &Split,
    data: &RunData,
    hook: &mut EpochHook<'_, T>,
) -> anyhow::Result<Fit<T>> {
    fit_resumable(cfg, data_cfg, seed, split, data, hook, Resume::none()).map_err(FitError::into_anyhow)
}

/// [`fit`], saving its training state as `resume` says and continuing from `resume.from`:
/// a resumed run ends bit for bit as the uninterrupted one (its history, model, predictions),
/// apart from the wall seconds.
pub fn fit_resumable<T: Real>(
    cfg: &TrainConfig,
    data_cfg: &DataConfig,
    seed: u64,
    split: &Split,
    data: &RunData,
    hook: &mut EpochHook<'_, T>,
    mut resume: Resume<'_, T>,
) -> Result<Fit<T>, FitError> {
    // A resumed run's clock continues from the seconds it had trained.
    let trained = resume.from.as_ref().map_or(0.0, |f| f.seconds);
    let now = Instant::now();
    let start = now.checked_sub(Duration::from_secs_f64(trained.clamp(0.0, 1e9))).unwrap_or(now);
    let from = resume.from.take();
    if let Some(f) = &from {
        if f.phase == PhaseKind::Refit && !cfg.schedule.refit {
            return Err(ResumeError::Refused("it was saved while refitting, the run does not refit".into()).into());
        }
    }
    let shape = NetShape::of(cfg, data.cols, data.channels, data.classes).map_err(anyhow::Error::msg)?;

    let mut shuffler = stream_rng(split.seed, SHUFFLE_STREAM);
    let mut order: Vec<usize> = (0..data.train_y.len()).collect();
    if cfg.schedule.shuffle {
        shuffle(&mut order, &mut shuffler);
    }
    let (train_rows, valid_rows) = data_cfg.split_rows(&order, data.train_y, split).map_err(anyhow::Error::msg)?;
    if train_rows.is_empty() {
        return Err(anyhow::anyhow!("the split leaves no training rows").into());
    }

    let (sets, z) = build_sets::<T>(cfg, data, &train_rows, &valid_rows)?;
    let init = || shape.initialise::<T>(cfg, &mut stream_rng(seed, INIT_STREAM));
    let phase = Phase { cfg, classes: data.classes, start, record: true, standardization: z.as_ref() };
    let stop = (cfg.schedule.patience > 0 && !valid_rows.is_empty()).then_some(cfg.schedule.patience);
    let (config_hash, every, suspend, pause_at) =
        (resume.config_hash.clone(), resume.every, resume.suspend, resume.pause_at);
    let mut save_state = resume.save.take();
    let (mut history, main_from, refit_from, main_end) = match from {
        None => (History::default(), None, None, None),
        Some(f) => match f.phase {
            PhaseKind::Main => (f.history, Some(f.current), None, None),
            PhaseKind::Refit => (f.history, None, Some(f.current), f.main),
        },
    };
    let saving = Saving { every: Cadence::every(every), suspend, pause_at: None };
    let run = match main_end {
        // The main phase had ended: only its outcome is needed (the refit trains afresh).
        Some(end) => PhaseEnd::Done(None, end.best, Captured { best_valid: end.best_valid, last: [None, None, None] }),
        None => {
            let mut save_main = |current: LoopState<T>, history: &History| -> anyhow::Result<()> {
                let Some(save) = save_state.as_deref_mut() else { return Ok(()) };
                save(&FitState {
                    config_hash: config_hash.clone(),
                    phase: PhaseKind::Main,
                    seconds: start.elapsed().as_secs_f64(),
                    main: None,
                    history: history.clone(),
                    current,
                })
            };
            let resumed = Resumed { from: main_from, saving: Saving { pause_at, ..saving }, save: &mut save_main };
            let start = PhaseStart {
                net: init()?,
                epochs: cfg.schedule.epochs,
                patience: stop,
                shuffler,
                dropout_rng: stream_rng(seed, DROPOUT_STREAM),
            };
            phase.run(start, &sets, &mut history, hook, resumed)?
        }
    };
    let fit = |net, standardization, outcome, selected, predictions| Fit {
        net,
        standardization,
        history: history.clone(),
        outcome,
        selected,
        train_rows: train_rows.clone(),
        valid_rows: valid_rows.clone(),
        predictions,
    };
    let (mlp, best, captured) = match run {
        PhaseEnd::Diverged(mlp, epoch, reason) => {
            return Ok(fit(mlp, z, Outcome::Diverged { epoch, reason }, None, None))
        }
        PhaseEnd::Done(mlp, best, captured) => (mlp, best, captured),
    };
    // Resuming a refit leaves no main-phase model, and none is needed: a refit returns its own.
    let main_model = |net: Option<Net<T>>| net.ok_or_else(|| anyhow::anyhow!("internal: no main-phase model"));
    // Predictions come from the scores each reported accuracy comes from, so that their
    // accuracy is the run's, to the last bit.
    let want = cfg.outputs.predictions;
    let of = |scores: Option<&Vec<T>>, set: Option<&Set<T>>| -> Result<Option<SetPredictions>, AllocError> {
        match (scores, set) {
            (Some(out), Some(set)) if want => Ok(Some(SetPredictions::from_scores(out, &set.y, data.classes)?)),
            _ => Ok(None),
        }
    };
    let predictions = |valid: Option<SetPredictions>, test: Option<SetPredictions>| {
        want.then(|| Predictions {
            classes: data.classes,
            valid_row: valid_rows.clone(),
            valid: valid.unwrap_or_default(),
            test: data.test.map(|_| test.unwrap_or_default()),
        })
    };
    // A returned model's accuracies, and the class scores behind them, by the native forward
    // pass (an MLP) or on candle's CPU device in evaluation mode (a conv net, by training batches).
    let kept = |net: &Net<T>, sets: &[Set<T>]| -> anyhow::Result<(PerSplit<Option<f64>>, SetScores<T>)> {
        let mut ws = match net {
            Net::Mlp(mlp) => Some(Workspace::try_new(mlp, sets.iter().map(Set::rows).max().unwrap_or(0))?),
            Net::Conv(_) => None,
        };
        let chunk = cfg.optimiser.batch_size.min(sets[0].rows()).max(1);
        let (mut accs, mut scores) = (PerSplit::default(), [None, None, None]);
        for (k, s) in sets.iter().enumerate() {
            if s.rows() > 0 {
                let conv_out;
                let out: &[T] = match (net, ws.as_mut()) {
                    (Net::Mlp(mlp), Some(ws)) => ws.forward(mlp, &s.x, s.rows()),
                    (Net::Conv(c), _) => {
                        conv_out = scores_of(c, &s.x, s.rows(), chunk)?;
                        &conv_out
                    }
                    (Net::Mlp(_), None) => unreachable!("an MLP has its workspace"),
                };
                accs[data_split::Split::ALL[k]] = Some(phase.evaluate(out, s, None).acc);
                if want && k > 0 {
                    scores[k] = Some(copy_scores(out)?);
                }
            }
        }
        Ok((accs, scores))
    };
    if !cfg.schedule.refit {
        let net = main_model(mlp)?;
        let (selected, [_, valid, test]) = match stop {
            // Early stopping: the best epoch's model, scored again.
            Some(_) => {
                let (accs, scores) = kept(&net, &sets)?;
                (Some(Selected { epoch: best.epoch, accs, refit: false }), scores)
            }
            // The last epoch's model: the scores of metrics.csv's last row.
            None => (None, captured.last),
        };
        let p = predictions(of(valid.as_ref(), sets.get(1))?, of(test.as_ref(), sets.get(2))?);
        return Ok(fit(net, z, Outcome::Done, selected, p));
    }

    // Refit: the same initial weights, trained on train + valid for the best epoch count.
    let all: Vec<usize> = train_rows.iter().chain(&valid_rows).copied().collect();
    let (refit_sets, refit_z) = build_sets::<T>(cfg, data, &all, &[])?;
    let quiet = Phase { record: false, standardization: refit_z.as_ref(), ..phase };
    let mut scratch = History::default();
    let mut no_hook = |_: EpochView<'_, T>| Ok(());
    let main_end = MainEnd { best, best_valid: captured.best_valid.clone() };
    let mut save_refit = |current: LoopState<T>, _: &History| -> anyhow::Result<()> {
        let Some(save) = save_state.as_deref_mut() else { return Ok(()) };
        save(&FitState {
            config_hash: config_hash.clone(),
            phase: PhaseKind::Refit,
            seconds: start.elapsed().as_secs_f64(),
            main: Some(main_end.clone()),
            history: history.clone(),
            current,
        })
    };
    let start = PhaseStart {
        net: init()?,
        epochs: best.epoch,
        patience: None,
        shuffler: stream_rng(split.seed, REFIT_SHUFFLE_STREAM),
        dropout_rng: stream_rng(seed, REFIT_DROPOUT_STREAM),
    };
    let resumed = Resumed { from: refit_from, saving, save: &mut save_refit };
    let end = quiet.run(start, &refit_sets, &mut scratch, &mut no_hook, resumed)?;
    match end {
        PhaseEnd::Diverged(mlp, epoch, reason) => Ok(fit(
            mlp,
            refit_z,
            Outcome::Diverged { epoch, reason: format!("while refitting on train + valid: {reason}") },
            None,
            None,
        )),
        PhaseEnd::Done(refitted, _, _) => {
            let refitted = main_model(refitted)?;
            let (a, scores) = kept(&refitted, &refit_sets)?;
            let selected = Selected { epoch: best.epoch, accs: PerSplit { valid: best.valid_acc, ..a }, refit: true };
            // Validation rows by the selected model (the refitted one has trained on them).
            let p =
                predictions(of(captured.best_valid.as_ref(), sets.get(1))?, of(scores[2].as_ref(), refit_sets.get(2))?);
            Ok(fit(refitted, refit_z, Outcome::Done, Some(selected), p))
        }
    }
}

/// A fallible copy of a set's class scores.
fn copy_scores<T: Real>(out: &[T]) -> Result<Vec<T>, AllocError> {
    let mut v = try_with_capacity(out.len(), "the run's predictions")?;
    v.extend_from_slice(out);
    Ok(v)
}

/// Class scores of train, valid and test, where kept.
type SetScores<T> = [Option<Vec<T>>; 3];

/// Class scores kept for the run's predictions (main phase, `predictions = true`).
struct Captured<T> {
    /// Of the validation set at the best epoch.
    best_valid: Option<Vec<T>>,
    /// Of each set at the last epoch (validation and test only).
    last: SetScores<T>,
}

enum PhaseEnd<T> {
    /// The model to return (the best epoch's when stopping early), the best epoch and the
    /// scores kept for predictions. No model when a resumed refit skipped the main phase.
    Done(Option<Net<T>>, Best, Captured<T>),
    Diverged(Net<T>, usize, String),
}

/// When a phase saves its state.
#[derive(Clone, Copy)]
struct Saving<'a> {
    every: Cadence,
    suspend: Option<&'a SuspendPoll<'a>>,
    /// The main phase's rung (see [`Resume::pause_at`]); never set for a refit.
    pause_at: Option<usize>,
}

/// A phase's state to continue from, and where its states go.
struct Resumed<'a, 's, T> {
    from: Option<LoopState<T>>,
    saving: Saving<'a>,
    save: &'s mut dyn FnMut(LoopState<T>, &History) -> anyhow::Result<()>,
}

/// How one training phase behaves.
#[derive(Clone, Copy)]
struct Phase<'c> {
    cfg: &'c TrainConfig,
    standardization: Option<&'c (Vec<f64>, Vec<f64>)>,
    classes: usize,
    start: Instant,
    /// Record diagnostics and call the hook (the main phase, not a refit).
    record: bool,
}

impl<'c> Phase<'c> {
    /// Loss and accuracy of the class scores `out` on `set`.
    fn evaluate<T: Real>(&self, out: &[T], set: &Set<T>, conf: Option<&mut Vec<u32>>) -> SetMetrics {
        let rows = set.rows();
        let loss = loss_sum(self.cfg.optimiser.loss, out, &set.y, self.classes) / rows as f64;
        let predicted: Vec<usize> = argmax_rows(out, self.classes).collect();
        let hits = predicted.iter().zip(&set.y).filter(|(p, y)| **p == **y as usize).count();
        if let Some(c) = conf {
            *c = confusion(&set.y, &predicted, self.classes);
        }
        SetMetrics { loss, acc: hits as f64 / rows as f64 }
    }

    /// Trains `start.epochs` epochs (fewer when early stopping ends the phase), recording
    /// diagnostics and calling the hook after each epoch when `record` is set. `Err`: a buffer
    /// the machine refused or a hook that failed (the run fails), or a stop its `Resumed`
    /// allows (a refused state, a suspension, a rung).
    fn run<T: Real>(
        &self,
        start: PhaseStart<T>,
        sets: &[Set<T>],
        history: &mut History,
        hook: &mut EpochHook<'_, T>,
        resumed: Resumed<'_, '_, T>,
    ) -> Result<PhaseEnd<T>, FitError> {
        let epochs = start.epochs;
        let mut progress = self.begin(start, sets)?;
        let mut first_epoch = 1;
        if let Some(from) = resumed.from {
            let epoch = from.epoch;
            progress.restore(from, epochs).map_err(ResumeError::Refused)?;
            first_epoch = epoch + 1;
        }
        let Saving { every: state_cadence, suspend, pause_at } = resumed.saving;
        let asks = |at: Boundary| suspend.is_some_and(|poll| poll(at));
        for epoch in first_epoch..=epochs {
            let last = epoch == epochs;
            match progress.train_epoch(sets, &|batch| asks(Boundary { epoch, batch: Some(batch) }))? {
                Trained::Epoch => {}
                Trained::Diverged(loss) => {
                    let net = progress.model.into_net()?;
                    return Ok(PhaseEnd::Diverged(net, epoch, format!("training loss became {loss}")));
                }
                Trained::Stopped { rows, batch } => {
                    (resumed.save)(progress.state_within(epoch - 1, rows)?, &*history)?;
                    return Err(ResumeError::Suspended(Boundary { epoch, batch: Some(batch) }).into());
                }
            }
            if self.record {
                match self.record_epoch(&mut progress, sets, epoch, last, history, hook)? {
                    EpochEnd::Continue => {}
                    EpochEnd::Stop => break,
                    EpochEnd::Diverged(end) => return Ok(*end),
                }
            }
            // Between epochs, after everything of this one: the state a resumed run starts from.
            let suspended = !last && asks(Boundary { epoch, batch: None });
            let paused = pause_at == Some(epoch);
            if !last && (suspended || paused || state_cadence.due(epoch)) {
                (resumed.save)(progress.state(epoch)?, &*history)?;
                if suspended {
                    return Err(ResumeError::Suspended(Boundary { epoch, batch: None }).into());
                }
                if paused {
                    return Err(ResumeError::Paused(epoch).into());
                }
            }
        }
        Ok(progress.finish()?)
    }

    /// The engine, buffers and policies of a phase, before its first epoch.
    fn begin<'s, T: Real>(&self, start: PhaseStart<T>, sets: &'s [Set<T>]) -> anyhow::Result<Progress<'s, T>>
    where
        'c: 's,
    {
        let cfg = self.cfg;
        let n_train = sets[0].rows();
        let batch = cfg.optimiser.batch_size.min(n_train);
        let sets_x = sets.iter().map(|s| s.x.as_slice()).collect();
        let hidden_shapes = start.net.hidden_shapes();
        let widths: Vec<usize> = hidden_shapes.iter().map(|&(_, per_row)| per_row).collect();
        let model = engine::build_net(cfg, start.net, sets_x, batch, start.dropout_rng, self.record)?;
        let batches = Batches::new(model.net().inputs(), n_train, batch)?;
        // A convolutional network's blocks are ReLU.
        let activation = if cfg.model.family.is_conv() { Activation::Relu } else { cfg.model.activation };
        let hists = hidden_shapes
            .iter()
            .map(|&(nodes, _)| {
                Histogram::try_new(activation, cfg.outputs.histogram_bins, cfg.outputs.histogram_relu_max, nodes)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // What `fit` makes the predictions from (see there): the best epoch's validation
        // scores for a refit, the last epoch's scores when the last epoch's model is returned.
        let capture = self.record && cfg.outputs.predictions;
        Ok(Progress {
            model,
            batches,
            record: self.record,
            hists,
            shuffler: start.shuffler,
            shuffle: cfg.schedule.shuffle,
            stopping: EarlyStopping::new(cfg.schedule.early_stopping, start.patience, start.epochs),
            best_net: None,
            widths,
            captured: Captured { best_valid: None, last: [None, None, None] },
            keep_best_valid: capture && cfg.schedule.refit,
            keep_last: capture && !cfg.schedule.refit && start.patience.is_none(),
            before: None,
            within: None,
        })
    }

    /// After a recorded epoch's training: evaluates the sets, records metrics, confusions and
    /// diagnostics, calls the hook, and asks early stopping whether the phase goes on.
    fn record_epoch<T: Real>(
        &self,
        progress: &mut Progress<'_, T>,
        sets: &[Set<T>],
        epoch: usize,
        last: bool,
        history: &mut History,
        hook: &mut EpochHook<'_, T>,
    ) -> anyhow::Result<EpochEnd<T>> {
        let cfg = self.cfg;
        let (test_cadence, confusion_cadence) =
            (Cadence::every(cfg.outputs.test_every), Cadence::every(cfg.outputs.confusion_every));
        let mut metrics = EpochMetrics { epoch, sets: PerSplit::default(), seconds: 0.0 };
        let mut confusions: [Option<Vec<u32>>; 3] = Default::default();
        let mut improved_valid: Option<Vec<T>> = None;
        // Train and validation first: they decide whether this epoch is the phase's last
        // (early stopping, divergence), and the last epoch always gets the test set and
        // confusion matrices, whatever `test_every` and `confusion_every` say.
        let mut ends = last;
        for (k, set) in sets.iter().enumerate() {
            let split = data_split::Split::ALL[k];
            if k == 2 {
                let stops = progress.stopping.would_stop(epoch, metrics.sets.valid);
                let bad = metrics.sets.iter().filter_map(|(_, m)| *m).any(|m| !m.loss.is_finite())
                    || !progress.model.net().is_finite();
                ends = ends || stops || bad;
            }
            if set.rows() == 0 || (k == 2 && !test_cadence.due_or_last(epoch, ends)) {
                continue;
            }
            let out = progress.model.scores(k)?;
            let mut conf = Vec::new();
            let m = self.evaluate(out, set, Some(&mut conf));
            metrics.sets[split] = Some(m);
            confusions[k] = Some(conf);
            if progress.keep_best_valid && k == 1 && progress.stopping.improves(m) {
                improved_valid = Some(copy_scores(out)?);
            }
            if progress.keep_last && last && k > 0 {
                progress.captured.last[k] = Some(copy_scores(out)?);
            }
        }
        if confusion_cadence.due_or_last(epoch, ends) {
            for (split, c) in data_split::Split::ALL.into_iter().zip(confusions) {
                if let Some(counts) = c {
                    history.confusions.push(EpochConfusion { epoch, split, counts });
                }
            }
        }
        metrics.seconds = self.start.elapsed().as_secs_f64();
        if let Some(before) = progress.before.take() {
            record_diagnostics(history, epoch, &before, progress.model.net(), &progress.hists);
        }
        let bad = metrics.sets.iter().filter_map(|(_, m)| *m).find(|m| !m.loss.is_finite()).map(|m| m.loss);
        let valid = metrics.sets.valid;
        history.metrics.push(metrics);
        if let Some(loss) = bad.or_else(|| (!progress.model.net().is_finite()).then_some(f64::NAN)) {
            let net = progress.model.net().to_net();
            return Ok(EpochEnd::Diverged(Box::new(PhaseEnd::Diverged(
                net,
                epoch,
                format!("evaluation loss became {loss}"),
            ))));
        }
        hook(EpochView {
            metrics: history.metrics.last().expect("just pushed"),
            history,
            net: progress.model.net(),
            standardization: self.standardization,
        })?;
        if let Some(v) = valid {
            if progress.stopping.observe(epoch, v) {
                progress.captured.best_valid = improved_valid.take();
                if progress.stopping.keeps_best_model() {
                    progress.best_net = Some(progress.model.net().to_net());
                }
            }
            if progress.stopping.should_stop(epoch) {
                return Ok(EpochEnd::Stop);
            }
        }
        Ok(EpochEnd::Continue)
    }
}

/// What a phase starts from.
struct PhaseStart<T> {
    net: Net<T>,
    epochs: usize,
    /// Early stopping's patience; `None` trains every epoch.
    patience: Option<usize>,
    /// Every epoch's order of the training rows.
    shuffler: ChaCha8Rng,
    dropout_rng: ChaCha8Rng,
}

/// How a recorded epoch ends the loop, or not.
enum EpochEnd<T> {
    Continue,
    /// Early stopping's patience ran out.
    Stop,
    /// Boxed: the run's network rides in it, once per run.
    Diverged(Box<PhaseEnd<T>>),
}

/// What a phase carries from one epoch to the next: the engine, the epoch's batches, the
/// policies' state and the scores kept for predictions. Everything a resumed run restores.
struct Progress<'s, T: Real> {
    model: Box<dyn Model<T> + 's>,
    batches: Batches<T>,
    /// Diagnostics are recorded (the main phase).
    record: bool,
    hists: Vec<Histogram>,
    shuffler: ChaCha8Rng,
    shuffle: bool,
    stopping: EarlyStopping,
    /// The best epoch's weights (early stopping with a patience).
    best_net: Option<Net<T>>,
    /// Per hidden layer (or block), the values one row records (the histograms' widths).
    widths: Vec<usize>,
    captured: Captured<T>,
    /// Keep the best epoch's validation scores (a refit's predictions).
    keep_best_valid: bool,
    /// Keep the last epoch's scores (the last epoch's model is returned).
    keep_last: bool,
    /// The parameters before the epoch being recorded (its weight changes).
    before: Option<Vec<Vec<f64>>>,
    /// Restored from a state saved inside an epoch: the next `train_epoch` continues it.
    within: Option<WithinEpoch>,
}

/// How [`Progress::train_epoch`] ended.
enum Trained {
    Epoch,
    /// A batch loss was not finite.
    Diverged(f64),
    /// Asked to stop after `batch` batches (`rows` rows) of the epoch.
    Stopped {
        rows: usize,
        batch: usize,
    },
}

impl<T: Real> Progress<'_, T> {
    /// Continues from a saved state; `Err` says why it does not fit this phase.
    fn restore(&mut self, from: LoopState<T>, epochs: usize) -> Result<(), String> {
        let n_train = self.batches.positions.len();
        if from.epoch >= epochs {
            return Err(format!("it is of epoch {} of a phase of {epochs} epochs", from.epoch));
        }
        let permutation = {
            let mut seen = vec![false; n_train];
            from.positions.len() == n_train
                && from.positions.iter().all(|&p| p < n_train && !std::mem::replace(&mut seen[p], true))
        };
        if !permutation {
            return Err(format!("its order of the training rows is not one of the run's {n_train} rows"));
        }
        if let Some(w) = &from.within {
            self.check_within(w)?;
        }
        self.model.restore(from.engine)?;
        self.shuffler.set_word_pos(from.shuffle_word);
        self.batches.positions = from.positions;
        self.within = from.within;
        self.stopping.restore(from.best, from.best_score);
        self.best_net = from.best_net;
        self.captured.best_valid = from.best_valid;
        Ok(())
    }

    /// A state saved inside an epoch fits this phase: its rows end a batch, and its weight
    /// snapshot and histograms are shaped as this phase's.
    fn check_within(&self, w: &WithinEpoch) -> Result<(), String> {
        let (rows, batch) = (self.batches.positions.len(), self.batches.batch);
        if w.rows == 0 || w.rows >= rows || !w.rows.is_multiple_of(batch) {
            return Err(format!(
                "it stopped after row {} of an epoch, not inside one of {rows} rows in batches of {batch}",
                w.rows
            ));
        }
        let lens = |v: &[Vec<f64>]| v.iter().map(Vec::len).collect::<Vec<_>>();
        let fits = match (&w.before, self.before_shapes()) {
            (Some(saved), Some(ours)) => lens(saved) == ours,
            (None, None) => true,
            _ => false,
        };
        let same = |a: &Histogram, b: &Histogram| {
            (a.lo, a.hi, a.bins, a.overflow, a.nodes, a.counts.len())
                == (b.lo, b.hi, b.bins, b.overflow, b.nodes, b.counts.len())
        };
        if !fits || w.hists.len() != self.hists.len() || !w.hists.iter().zip(&self.hists).all(|(a, b)| same(a, b)) {
            return Err("its epoch in progress has other diagnostics than the run's".into());
        }
        Ok(())
    }

    /// The lengths of the weight snapshot a recorded epoch starts with (`None`: not recorded).
    fn before_shapes(&self) -> Option<Vec<usize>> {
        self.record.then(|| tracked_weights(self.model.net()).iter().map(|w| w.len()).collect())
    }

    /// The state after `epoch`, for a resumed run to continue from.
    fn state(&self, epoch: usize) -> anyhow::Result<LoopState<T>> {
        let (best, best_score) = self.stopping.saved();
        Ok(LoopState {
            epoch,
            engine: self.model.state()?,
            shuffle_word: self.shuffler.get_word_pos(),
            positions: self.batches.positions.clone(),
            best,
            best_score,
            best_net: self.best_net.clone(),
            best_valid: self.captured.best_valid.clone(),
            within: None,
        })
    }

    /// The state inside the epoch after `epoch`, its first `rows` rows trained: that
    /// epoch's order, the parameters before it and its histograms so far come along.
    fn state_within(&self, epoch: usize, rows: usize) -> anyhow::Result<LoopState<T>> {
        let within = WithinEpoch { rows, before: self.before.clone(), hists: self.hists.clone() };
        Ok(LoopState { within: Some(within), ..self.state(epoch)? })
    }

    /// Shuffles and trains one epoch (or the rest of the one a state was saved in), asking
    /// `stop` after every batch but the last. When recording, keeps the parameters before it
    /// and counts the hidden activations.
    fn train_epoch(&mut self, sets: &[Set<T>], stop: &dyn Fn(usize) -> bool) -> anyhow::Result<Trained> {
        let record = self.record;
        let from = match self.within.take() {
            Some(w) => {
                (self.before, self.hists) = (w.before, w.hists);
                w.rows
            }
            None => {
                if self.shuffle {
                    self.batches.shuffle(&mut self.shuffler);
                }
                self.before = if record { Some(snapshot(self.model.net())?) } else { None };
                self.hists.iter_mut().for_each(Histogram::clear);
                0
            }
        };
        self.batches.gather(&sets[0]);
        let counting = if record { Some(&mut self.hists) } else { None };
        self.batches.train(self.model.as_mut(), counting, &self.widths, from, stop)
    }

    /// The model to return (the best epoch's when stopping early) and the best epoch.
    fn finish(self) -> anyhow::Result<PhaseEnd<T>> {
        let best = self.stopping.best();
        let net = match self.best_net {
            Some(net) => net,
            None => self.model.into_net()?,
        };
        Ok(PhaseEnd::Done(Some(net), best, self.captured))
    }
}

/// The epoch's weight changes per node and activation histograms, into the history.
fn record_diagnostics<T: Real>(
    history: &mut History,
    epoch: usize,
    before: &[Vec<f64>],
    after: NetRef<'_, T>,
    hists: &[Histogram],
) {
    for (l, nodes) in net_weight_change(before, after).into_iter().enumerate() {
        for (node, (dnorm, dtheta)) in nodes.into_iter().enumerate() {
            history.weight_changes.push(WeightChange { epoch, layer: l, node, dnorm, dtheta });
        }
    }
    for (l, h) in hists.iter().enumerate() {
        history.histograms.push(LayerHistogram { epoch, layer: l, histogram: h.clone() });
    }
}

/// One epoch's order of the training rows, gathered once into contiguous batches.
struct Batches<T> {
    cols: usize,
    batch: usize,
    positions: Vec<usize>,
    x: Vec<T>,
    y: Vec<u32>,
}

impl<T: Real> Batches<T> {
    fn new(cols: usize, rows: usize, batch: usize) -> Result<Self, AllocError> {
        let x = try_filled(rows * cols, T::zero(), "the epoch's batch copy")?;
        Ok(Batches { cols, batch, positions: (0..rows).collect(), x, y: vec![0; rows] })
    }

    fn shuffle(&mut self, rng: &mut ChaCha8Rng) {
        shuffle(&mut self.positions, rng);
    }

    /// One gather per epoch; batches are then contiguous row ranges.
    fn gather(&mut self, train: &Set<T>) {
        let cols = self.cols;
        for (dst, &p) in self.positions.iter().enumerate() {
            self.x[dst * cols..(dst + 1) * cols].copy_from_slice(&train.x[p * cols..(p + 1) * cols]);
            self.y[dst] = train.y[p];
        }
    }

    /// Trains on the epoch's batches from row `from` (a batch boundary), asking `stop` after
    /// each but the last. Histograms, when given, count each batch's hidden activations.
    fn train(
        &self,
        model: &mut dyn Model<T>,
        mut hists: Option<&mut Vec<Histogram>>,
        widths: &[usize],
        from: usize,
        stop: &dyn Fn(usize) -> bool,
    ) -> anyhow::Result<Trained> {
        let (cols, rows) = (self.cols, self.y.len());
        model.begin_epoch(&self.positions)?;
        let mut start = from;
        while start < rows {
            let n = self.batch.min(rows - start);
            let loss = model.train_batch(
                start..start + n,
                &self.x[start * cols..(start + n) * cols],
                &self.y[start..start + n],
            )?;
            if !loss.is_finite() {
                return Ok(Trained::Diverged(loss));
            }
            if let Some(hists) = hists.as_deref_mut() {
                for (l, h) in hists.iter_mut().enumerate() {
                    h.add(model.hidden(l, n, widths[l]));
                }
            }
            start += n;
            // Every batch but the last is `self.batch` rows, so rows done name the batch.
            let batch = start / self.batch;
            if start < rows && stop(batch) {
                return Ok(Trained::Stopped { rows: start, batch });
            }
        }
        model.end_epoch()?;
        Ok(Trained::Epoch)
    }
}
