//! The `Trainer` trait: what the sweep machinery needs from training. The real one
//! trains an MLP and writes its files; a fake one writes synthetic curves in
//! microseconds so that planning, scheduling, resume and summaries are testable
//! without training anything.

use super::atomic::write_atomic;
use super::error::RunError;
use super::rundir::{write_status, SelectedModel, State, Status, STATE_FILE};
use crate::data::split::PerSplit;
use crate::data::SeriesPolicy;
use crate::features::{Pipeline, Prepared};
use crate::report::plots::plot_run;
use crate::results::layout::{CHECKPOINTS_DIR, CONFIG_FILE, MODEL_FILE};
use crate::results::predictions::{self, Predictions, SetPredictions};
use crate::results::{cams, metrics, node_tables};
use crate::spec::config::ScheduleConfig;
use crate::spec::schema::{RESULTS_SCHEMA, SCHEMA_KEY};
use crate::spec::{DataConfig, Split, TrainConfig};
use crate::train::checkpoint::{self, CheckpointMeta};
use crate::train::engine::NetRef;
use crate::train::fit::{fit_resumable, Boundary, FitError, Resume, ResumeError};
use crate::train::state::{FitState, PhaseKind};
use crate::train::strategy::Cadence;
use crate::train::{DType, Device, Engine, EpochMetrics, EpochView, History, Outcome, Real, SetMetrics};
use crate::train::{Net, NetShape};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Instant;

/// Everything one run needs to know about itself.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub id: String,
    pub seed: u64,
    /// The validation rows and shuffles (shared by paired runs).
    pub split: Split,
    pub train: TrainConfig,
    pub data: DataConfig,
    /// Hash of (train, data options, data digest, seed, split): decides whether a finished run is stale.
    pub config_hash: String,
    /// Index of the run's dataset in a multi-dataset sweep (`SweepFile::datasets`).
    pub dataset: Option<usize>,
    /// Successive halving: stop after this epoch with the state saved and `metrics.csv` written
    /// up to it (the rung). Where a run pauses changes nothing it trains: not in the hash.
    pub pause_at: Option<usize>,
    /// Successive halving: the rungs' epochs. Continuing from a rung is the plan, not a
    /// resume worth a line; resuming from anywhere else is said.
    pub rung_epochs: Vec<usize>,
}

impl RunSpec {
    /// The files this run writes (`train`'s artifact switches, resolved by [`RunSpec::new`]).
    pub(crate) fn artifacts(&self) -> crate::spec::Artifacts {
        self.train.artifacts()
    }
}

impl RunSpec {
    /// `train.seed` becomes `seed`: one seed in the config hash, `config.toml` and the
    /// checkpoint, so `pinniped train runs/<id>/config.toml` reproduces the run exactly.
    /// Unset artifact switches are those of a single run; a sweep resolves them for its
    /// size first (`TrainConfig::resolve_artifacts`), so `config.toml` records what is kept.
    pub fn new(id: String, seed: u64, split: Split, train: TrainConfig, data: DataConfig, data_digest: &str) -> Self {
        let mut train = train.resolve_artifacts(1);
        train.schedule.seed = seed;
        let mut config_hash = config_hash(&train, &data, data_digest, seed);
        // A split of the run's own seed is what every run did before pairing: its hash stays.
        if !split.is_own(seed) {
            config_hash = hash_text(&format!("{config_hash}\n{}", split_toml(&split)));
        }
        RunSpec { id, seed, split, train, data, config_hash, dataset: None, pause_at: None, rung_epochs: Vec::new() }
    }

    /// The run's `[train]` table as recorded (in `config.toml` and every checkpoint): `engine =
    /// "auto"` replaced by the engine it chose, and the run's own seed, not the sweep's default.
    /// `diagnostics` and `checkpoints` appear only when off: kept is what runs did before the
    /// switches existed, so the files of such runs stay byte-identical.
    pub(crate) fn recorded_train(&self) -> TrainConfig {
        let mut train = self.train.clone();
        (train.model.engine, train.schedule.seed) = (self.train.resolved_engine(), self.seed);
        for switch in [&mut train.outputs.diagnostics, &mut train.outputs.checkpoints] {
            if *switch == Some(true) {
                *switch = None;
            }
        }
        train
    }

    /// `config.toml`: a `pinniped train` file that reruns this run alone.
    pub(crate) fn to_toml(&self) -> String {
        let mut doc = toml::Table::new();
        doc.insert(SCHEMA_KEY.into(), toml::Value::Integer(RESULTS_SCHEMA.into()));
        doc.insert("data".into(), toml::Value::try_from(&self.data).expect("data serialises"));
        doc.insert("train".into(), toml::Value::try_from(self.recorded_train()).expect("train serialises"));
        if !self.split.is_own(self.seed) {
            doc.insert("split".into(), toml::Value::Table(split_table(&self.split)));
        }
        format!(
            "# run {} (config hash {})\n# rerun alone with: pinniped train <this file>\n{}",
            self.id,
            self.config_hash,
            toml::to_string(&doc).expect("serialises")
        )
    }
}

pub fn config_hash(train: &TrainConfig, data: &DataConfig, data_digest: &str, seed: u64) -> String {
    // The engine that runs, not the word that chose it: `auto` and what it resolves to are
    // the same run (so `config.toml`, which records the resolved engine, reruns it exactly).
    // The seed is hashed on its own below; the table's copy is a sweep's placeholder or a
    // `pinniped train` run's seed, and must not make a run and its `config.toml` rerun differ.
    // Unset artifact switches keep every file, as every run did before they could be unset
    // (`plots = true` was always in the hash; `diagnostics` and `checkpoints` came later).
    let mut resolved = train.clone().resolve_artifacts(1);
    (resolved.model.engine, resolved.schedule.seed) = (train.resolved_engine(), ScheduleConfig::default().seed);
    let Ok(toml::Value::Table(mut train)) = toml::Value::try_from(&resolved) else {
        unreachable!("TrainConfig serialises to a table")
    };
    // What every run did before these keys existed leaves the hash as it was, so earlier
    // results directories are not stale.
    for (key, before) in [("engine", Engine::Native.word()), ("device", Device::Cpu.word())] {
        if train.get(key).and_then(toml::Value::as_str) == Some(before) {
            train.remove(key);
        }
    }
    // A run that leaves a file out is not the finished run that has it (so `--force`
    // writes what is now asked for); keeping it is what runs did before the switch.
    for key in ["predictions", "diagnostics", "checkpoints"] {
        if train.get(key).and_then(toml::Value::as_bool) == Some(true) {
            train.remove(key);
        }
    }
    // How often the training state is saved changes nothing the run trains.
    train.remove("state_every");
    let text = format!(
        "{}\n{}\n{data_digest}\n{seed}",
        toml::to_string(&train).expect("serialises"),
        // Where the files lie is not part of a run's identity; their bytes (the digest) are.
        toml::to_string(&data.without_paths()).expect("serialises")
    );
    hash_text(&text)
}

fn hash_text(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The `[split]` table of a run's `config.toml` (read back by `parse_run_file`).
fn split_table(split: &Split) -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("seed".into(), toml::Value::Integer(split.seed as i64));
    t.insert("repetition".into(), toml::Value::Integer(split.repetition as i64));
    if let Some(fold) = split.fold {
        t.insert("fold".into(), toml::Value::Integer(fold as i64));
    }
    t
}

fn split_toml(split: &Split) -> String {
    toml::to_string(&split_table(split)).expect("serialises")
}

/// Called after each epoch with its metrics (the event log records losses and accuracies).
pub(crate) type Progress<'a> = dyn FnMut(&EpochMetrics) + 'a;

pub trait Trainer: Sync {
    /// Trains `spec` into the (empty, existing) directory `dir`, writing every file,
    /// `status.json` last. An `Err` means the run failed (the caller records it) or was
    /// suspended with its state saved.
    fn train(&self, spec: &RunSpec, dir: &Path, progress: &mut Progress<'_>) -> Result<Status, RunError>;
}

/// The real thing.
pub(crate) struct MlpTrainer<'d> {
    pub data: &'d Prepared,
    pub faults: Faults,
}

impl<'d> MlpTrainer<'d> {
    pub fn new(data: &'d Prepared) -> Self {
        MlpTrainer { data, faults: Faults::default() }
    }
}

/// Faults the test suite injects into real training (hidden options `--fake-kill-at`,
/// `--fake-signal-at`), at a chosen run and epoch rather than after a guessed sleep.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// (run id, epoch): the process SIGKILLs itself after that epoch of that run (before its
    /// state, if one is due, is saved).
    pub(crate) kill_at: Option<(String, usize)>,
    /// (run id, where): the process sends itself SIGUSR1 when that run asks whether to stop
    /// there (after an epoch, or after a batch inside one).
    pub(crate) signal_at: Option<(String, Boundary)>,
}

impl Faults {
    fn after_epoch(&self, id: &str, epoch: usize) {
        let at = |point: &Option<(String, usize)>| point.as_ref().is_some_and(|(r, e)| r == id && *e == epoch);
        if at(&self.kill_at) {
            // SAFETY: kill(2) on our own pid has no memory effects.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        }
    }

    /// Whether run `id` stops at `at`: SIGUSR1 has come (or the injected one, sent now).
    fn suspends(&self, id: &str, at: Boundary) -> bool {
        if self.signal_at.as_ref().is_some_and(|(r, b)| r == id && *b == at) && !crate::output::suspend_requested() {
            // SAFETY: kill(2) on our own pid has no memory effects; the handler only sets a flag.
            unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
            // The handler's thread sets the flag: wait for it, so that the run stops at this
            // very boundary (as a test expects), not at whichever one sees the flag first.
            for _ in 0..10_000 {
                if crate::output::suspend_requested() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        crate::output::suspend_requested()
    }
}

impl Trainer for MlpTrainer<'_> {
    fn train(&self, spec: &RunSpec, dir: &Path, progress: &mut Progress<'_>) -> Result<Status, RunError> {
        match spec.train.model.dtype {
            DType::F32 => train_as::<f32>(self.data, spec, dir, progress, &self.faults),
            DType::F64 => train_as::<f64>(self.data, spec, dir, progress, &self.faults),
        }
    }
}

/// The real trainer of a multi-dataset sweep: a dataset's data is loaded (and featurised) when
/// the first of its runs starts, and let go when a run of another dataset starts. The pool takes
/// runs in plan order, dataset by dataset, so memory holds the data of one dataset (and, while
/// the last runs of the one before finish, theirs), however many datasets the sweep has.
pub(crate) struct DatasetsTrainer<'s> {
    pub datasets: &'s [crate::spec::datasets::Dataset],
    /// The feature pipelines each dataset's configurations need.
    pub pipelines: Vec<Vec<Pipeline>>,
    pub(crate) cache: DatasetCache<Prepared>,
    pub faults: Faults,
}

impl Trainer for DatasetsTrainer<'_> {
    fn train(&self, spec: &RunSpec, dir: &Path, progress: &mut Progress<'_>) -> Result<Status, RunError> {
        let d = spec.dataset.ok_or_else(|| anyhow::anyhow!("run {} has no dataset", spec.id))?;
        let data = self.cache.get(d, || {
            Prepared::load(&self.datasets[d].data, &self.pipelines[d]).map_err(|e| anyhow::anyhow!("{e}"))
        })?;
        MlpTrainer { data: &data, faults: self.faults.clone() }.train(spec, dir, progress)
    }
}

/// Holds the data of one dataset at a time (see [`DatasetsTrainer`]): asking for another
/// dataset lets the held one go first (runs still training on it keep their own handle), and
/// concurrent asks for the same dataset load it once.
pub struct DatasetCache<T> {
    held: std::sync::Mutex<Option<(usize, std::sync::Arc<T>)>>,
    loads: std::sync::atomic::AtomicUsize,
}

impl<T> Default for DatasetCache<T> {
    fn default() -> Self {
        DatasetCache { held: std::sync::Mutex::new(None), loads: Default::default() }
    }
}

impl<T> DatasetCache<T> {
    pub fn get(&self, dataset: usize, load: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<std::sync::Arc<T>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((d, data)) = held.as_ref() {
            if *d == dataset {
                return Ok(data.clone());
            }
        }
        // Before loading the next one: never two datasets held by the cache.
        *held = None;
        let data = std::sync::Arc::new(load()?);
        self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *held = Some((dataset, data.clone()));
        Ok(data)
    }

    /// How many times a dataset was loaded.
    pub fn loads(&self) -> usize {
        self.loads.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The state a killed run left in `dir`, if any and if it fits the run. A state that does not
/// (another configuration, a damaged file) is refused with a warning and the run's files are
/// cleared: it starts from scratch, never from a wrong state.
fn saved_state<T: Real>(spec: &RunSpec, dir: &Path, shape: &NetShape) -> anyhow::Result<Option<FitState<T>>> {
    let path = dir.join(STATE_FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let state = crate::fsx::read_own(&path, crate::fsx::MAX_STATE_BYTES)
        .map_err(|e| format!("cannot read it ({e})"))
        .and_then(|bytes| FitState::<T>::decode(&bytes, shape, spec.train.model.activation))
        .and_then(|s| {
            if s.config_hash == spec.config_hash {
                Ok(s)
            } else {
                Err(format!("it is of config hash {}, the run's is {}", s.config_hash, spec.config_hash))
            }
        });
    match state {
        Ok(s) => Ok(Some(s)),
        Err(why) => {
            refuse_state(spec, dir, &why)?;
            Ok(None)
        }
    }
}

/// Says why a saved state is not resumed, and clears the run's files for a fresh start.
fn refuse_state(spec: &RunSpec, dir: &Path, why: &str) -> anyhow::Result<()> {
    errln!("warning: {} not resumed: {why}; run {} starts from scratch", dir.join(STATE_FILE).display(), spec.id);
    super::rundir::clear_run_files(dir)?;
    Ok(())
}

fn train_as<T: Real>(
    data: &Prepared,
    spec: &RunSpec,
    dir: &Path,
    progress: &mut Progress<'_>,
    faults: &Faults,
) -> Result<Status, RunError> {
    let start = Instant::now();
    let cfg = &spec.train;
    let keep = spec.artifacts();
    let run_data = data.run_data(Pipeline::of(cfg));
    let shape = NetShape::of(cfg, run_data.cols, run_data.channels, run_data.classes).map_err(anyhow::Error::msg)?;
    let mut from = saved_state::<T>(spec, dir, &shape)?;
    write_atomic(&dir.join(CONFIG_FILE), spec.to_toml().as_bytes())?;
    // Killed between saving its rung's state and writing its metrics: it is at its rung.
    if let Some(s) = from.as_ref().filter(|s| s.at_epoch_end(PhaseKind::Main, spec.pause_at)) {
        metrics::write(dir, &s.history.metrics)?;
        return Err(RunError::Paused(s.epoch()));
    }
    let meta = |epoch: usize| CheckpointMeta {
        seed: spec.seed,
        config_hash: spec.config_hash.clone(),
        epoch,
        classes: data.classes().to_vec(),
        activation: cfg.model.activation,
        dtype: cfg.model.dtype,
        minmax: cfg.pipeline.minmax,
        normalize: cfg.pipeline.normalize,
        raw_cols: data.dataset.cols,
        series: SeriesPolicy {
            series_length: Some(data.dataset.series_length),
            ..spec.data.series_policy().unwrap_or_default()
        },
        config: toml::to_string(&spec.recorded_train()).expect("serialises"),
    };
    let checkpoints = dir.join(CHECKPOINTS_DIR);
    let (save, redraw) = (Cadence::every(cfg.outputs.save_every), Cadence::every(cfg.outputs.plot_every));
    let mut hook = |v: EpochView<'_, T>| -> anyhow::Result<()> {
        let m = v.metrics;
        progress(m);
        faults.after_epoch(&spec.id, m.epoch);
        if keep.checkpoints && save.due(m.epoch) {
            std::fs::create_dir_all(&checkpoints)?;
            let bytes = checkpoint::encode(v.net, &meta(m.epoch), v.standardization)?;
            write_atomic(&checkpoints.join(format!("epoch-{:04}.safetensors", m.epoch)), &bytes)?;
        }
        // Live pictures of a long run: the files so far, then the plots from them.
        if keep.plots && redraw.due(m.epoch) && m.epoch < cfg.schedule.epochs {
            write_history(dir, v.history, data.classes(), keep.diagnostics)?;
            plot_run(dir)?;
        }
        Ok(())
    };
    let state_path = dir.join(STATE_FILE);
    let mut save = |s: &FitState<T>| -> anyhow::Result<()> {
        if s.phase == PhaseKind::Refit {
            faults.after_epoch(&format!("{}#refit", spec.id), s.epoch());
        }
        write_atomic(&state_path, &s.encode())?;
        // At its rung a run leaves the metrics the rung's decision reads (after the state: a
        // run with its rung's row in metrics.csv can always continue).
        if s.at_epoch_end(PhaseKind::Main, spec.pause_at) {
            metrics::write(dir, &s.history.metrics)?;
        }
        Ok(())
    };
    let result = loop {
        // A state at a rung's end is the plan's own stop: continuing from it is not worth a line.
        let at_rung = |s: &FitState<T>| spec.rung_epochs.iter().any(|&r| s.at_epoch_end(PhaseKind::Main, Some(r)));
        if let Some(s) = from.as_ref().filter(|s| !at_rung(s)) {
            let refit = if s.phase == PhaseKind::Refit { " of its refit" } else { "" };
            errln!("resuming {} from {}{refit}", spec.id, s.position(cfg.optimiser.batch_size));
        }
        let suspends = |at: Boundary| faults.suspends(&spec.id, at);
        let resume = Resume {
            from: from.take(),
            config_hash: spec.config_hash.clone(),
            every: cfg.state_every(),
            suspend: Some(&suspends),
            pause_at: spec.pause_at,
            save: Some(&mut save),
        };
        match fit_resumable(cfg, &spec.data, spec.seed, &spec.split, &run_data, &mut hook, resume) {
            // Checked before the first epoch: nothing was written yet.
            Err(FitError::Resume(ResumeError::Refused(why))) => {
                refuse_state(spec, dir, &why)?;
                write_atomic(&dir.join(CONFIG_FILE), spec.to_toml().as_bytes())?;
            }
            Err(e) => return Err(e.into()),
            Ok(fit) => break fit,
        }
    };
    if let (true, Outcome::Done, Net::Conv(conv)) = (keep.diagnostics, &result.outcome, &result.net) {
        cams::write(dir, &class_maps(conv, &run_data, result.standardization.as_ref(), data.classes())?)?;
    }
    write_history(dir, &result.history, data.classes(), keep.diagnostics)?;
    if keep.plots {
        plot_run(dir)?;
    }
    let last_epoch = result.history.metrics.last().map_or(0, |m| m.epoch);
    if keep.checkpoints {
        let bytes = checkpoint::encode(NetRef::of(&result.net), &meta(last_epoch), result.standardization.as_ref())?;
        write_atomic(&dir.join(MODEL_FILE), &bytes)?;
    }
    if let Some(p) = &result.predictions {
        predictions::write(dir, p)?;
    }
    let (state, message, epoch) = match &result.outcome {
        Outcome::Done => (State::Done, String::new(), last_epoch),
        Outcome::Diverged { epoch, reason } => {
            (State::Diverged, format!("diverged in epoch {epoch}: {reason}"), *epoch)
        }
    };
    let selected = result.selected.as_ref().map(|s| SelectedModel {
        epoch: s.epoch,
        refit: s.refit,
        train_acc: s.accs.train,
        valid_acc: s.accs.valid,
        test_acc: s.accs.test,
    });
    let status = Status {
        state,
        message,
        epoch,
        seconds: start.elapsed().as_secs_f64(),
        config_hash: spec.config_hash.clone(),
        selected,
    };
    // Before the status: a finished run never keeps a state (killed in between, it trains
    // again from scratch, to the same files).
    match std::fs::remove_file(&state_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    write_status(dir, &status)?;
    Ok(status)
}

/// The class activation maps of a finished conv run (`cams.csv.gz`): the first
/// [`cams::PER_CLASS`] test rows of each of the first [`cams::MAX_CLASSES`] classes (the
/// training rows where the run has no test set), standardised as the run's inputs were.
fn class_maps<T: Real>(
    net: &crate::train::conv::ConvNet<T>,
    data: &crate::features::RunData<'_>,
    z: Option<&(Vec<f64>, Vec<f64>)>,
    classes: &[String],
) -> anyhow::Result<Vec<cams::CamSample>> {
    let (set, x, y) = match data.test {
        Some((x, y)) => ("test", x, y),
        None => ("train", data.train_x, data.train_y),
    };
    let cols = data.cols;
    let mut rows: Vec<usize> = Vec::new();
    for c in 0..classes.len().min(cams::MAX_CLASSES) {
        rows.extend(y.iter().enumerate().filter(|&(_, &l)| l as usize == c).map(|(r, _)| r).take(cams::PER_CLASS));
    }
    let mut picked: Vec<f64> = rows.iter().flat_map(|&r| x[r * cols..(r + 1) * cols].iter().copied()).collect();
    if let Some((mean, std)) = z {
        crate::features::spectral::standardize_apply(&mut picked, cols, mean, std);
    }
    let picked: Vec<T> = picked.into_iter().map(T::of).collect();
    let m = crate::train::candle_conv::class_maps_of(net, &picked, rows.len(), 16)?;
    let (k, time) = (m.classes, m.time);
    let f = |v: &[T]| v.iter().map(|t| t.f64()).collect::<Vec<f64>>();
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            let label = y[r] as usize;
            let scores = &m.scores[i * k..(i + 1) * k];
            let predicted = crate::train::model::argmax_rows(scores, k).next().unwrap_or(label);
            let map = |c: usize| f(&m.maps[(i * k + c) * time..(i * k + c + 1) * time]);
            cams::CamSample {
                set: set.into(),
                row: r,
                label: classes[label].clone(),
                predicted: classes[predicted].clone(),
                input: f(&m.input[i * time..(i + 1) * time]),
                cam: map(label),
                cam_predicted: map(predicted),
            }
        })
        .collect())
}

/// `metrics.csv`, and with `diagnostics` the per-node tables (gzip CSV, `results::node_tables`).
fn write_history(dir: &Path, h: &History, classes: &[String], with_tables: bool) -> anyhow::Result<()> {
    metrics::write(dir, &h.metrics)?;
    if with_tables {
        node_tables::write_tables(dir, h, classes)?;
    }
    Ok(())
}

/// Synthetic runs for tests (`--fake-trainer` and the other hidden test-mode options):
/// deterministic curves from the seed, a delay per epoch, failure for ids containing a
/// pattern, a self-inflicted SIGKILL at a chosen run and epoch, and divergence at learning
/// rates ≥ 0.1 (as the paper's settings do).
///
/// Scores are "configuration effect + split effect + noise": the curve rises faster with
/// fewer hidden nodes (the configuration effect), every epoch adds noise from the run's seed
/// (uniform in [0, 0.02]), and the valid and test accuracies get a "split effect" drawn from
/// the split seed alone (uniform in ±[`FAKE_SPLIT_EFFECT`]), as an easy or hard validation set
/// would: the same for every configuration on the same split, so that tests can show what
/// pairing cancels.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeTrainer {
    /// Slept once per epoch, so that tests can catch a sweep mid-run.
    pub delay: std::time::Duration,
    /// Runs whose id contains this fail before training.
    pub fail: Option<String>,
    /// (run id, epoch): the whole process is SIGKILLed when that run reaches that epoch.
    pub(crate) kill_at: Option<(String, usize)>,
}

/// Half the range of the fake trainer's split effect.
pub(crate) const FAKE_SPLIT_EFFECT: f64 = 0.05;

impl Trainer for FakeTrainer {
    fn train(&self, spec: &RunSpec, dir: &Path, progress: &mut Progress<'_>) -> Result<Status, RunError> {
        if let Some(pattern) = self.fail.as_deref().filter(|p| !p.is_empty() && spec.id.contains(p)) {
            return Err(anyhow::anyhow!("injected failure (--fake-fail {pattern})").into());
        }
        write_atomic(&dir.join(CONFIG_FILE), spec.to_toml().as_bytes())?;
        let mut rng = crate::train::fit::stream_rng(spec.seed, 99);
        // Folds of one partition are different validation sets: each gets its own stream.
        let fold = spec.split.fold.unwrap_or(0) as u64;
        let mut split_rng = crate::train::fit::stream_rng(spec.split.seed, 98 + (fold << 32));
        let split_effect = (rand::Rng::random::<f64>(&mut split_rng) * 2.0 - 1.0) * FAKE_SPLIT_EFFECT;
        let cfg = &spec.train;
        let tau = 10.0 + cfg.model.hidden.iter().sum::<usize>() as f64 / 4.0;
        let diverge_at = (cfg.optimiser.learning_rate >= 0.1).then_some(cfg.schedule.epochs.div_ceil(2));
        let mut rows = Vec::new();
        for epoch in 1..=cfg.schedule.epochs {
            if Some(epoch) == diverge_at {
                break;
            }
            if self.kill_at.as_ref().is_some_and(|(id, at)| *id == spec.id && *at == epoch) {
                // SIGKILL cannot be caught: nothing of this process runs after it, as in a real kill.
                // SAFETY: kill(2) on our own pid has no memory effects.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            }
            if !self.delay.is_zero() {
                std::thread::sleep(self.delay);
            }
            let base = 1.0 - 0.9 * (-(epoch as f64) / tau).exp();
            let mut set = |scale: f64, effect: f64| {
                let noise: f64 = rand::Rng::random::<f64>(&mut rng) * 0.02;
                Some(SetMetrics {
                    loss: 1.0 - base * scale + noise,
                    acc: (base * scale + noise + effect).clamp(0.0, 1.0),
                })
            };
            // Drawn in this order (train, valid, test): the fake's curves depend on it.
            let (train, valid, test) = (set(1.0, 0.0), set(0.5, split_effect), set(0.45, split_effect));
            rows.push(EpochMetrics { epoch, sets: PerSplit { train, valid, test }, seconds: 0.0 });
            progress(rows.last().unwrap());
            // Successive halving: stop at the rung with the metrics so far, as a real run does
            // (the curves are a function of the seed, so continuing recomputes the same rows).
            if spec.pause_at == Some(epoch) {
                metrics::write(dir, &rows)?;
                return Err(RunError::Paused(epoch));
            }
        }
        metrics::write(dir, &rows)?;
        let (state, message, epoch) = match diverge_at {
            Some(e) => (State::Diverged, format!("diverged in epoch {e}: training loss became NaN"), e),
            None => (State::Done, String::new(), cfg.schedule.epochs),
        };
        if let (State::Done, true, Some(last)) = (state, cfg.outputs.predictions, rows.last()) {
            let accuracy = |m: Option<SetMetrics>| m.map_or(0.0, |m| m.acc);
            predictions::write(dir, &fake_predictions(spec.seed, accuracy(last.sets.valid), accuracy(last.sets.test)))?;
        }
        let status =
            Status { state, message, epoch, seconds: 0.0, config_hash: spec.config_hash.clone(), selected: None };
        write_status(dir, &status)?;
        Ok(status)
    }
}

/// Rows and classes of the fake trainer's synthetic validation and test sets.
pub(crate) const FAKE_VALID_ROWS: usize = 20;
pub(crate) const FAKE_TEST_ROWS: usize = 60;
pub(crate) const FAKE_CLASSES: usize = 3;

/// Deterministic predictions for the fake trainer: the same labelled sets for every run
/// (row i has class i mod 3; validation rows 0, 4, 8, …), each row right with probability
/// about its set's fake accuracy, probabilities from the seed that favour the predicted class.
pub(crate) fn fake_predictions(seed: u64, valid_acc: f64, test_acc: f64) -> Predictions {
    let mut rng = crate::train::fit::stream_rng(seed, 98);
    let mut set = |rows: usize, acc: f64| {
        let label: Vec<u32> = (0..rows).map(|i| (i % FAKE_CLASSES) as u32).collect();
        let mut p = SetPredictions { label: label.clone(), predicted: Vec::new(), prob: Vec::new() };
        for &l in &label {
            let right = rand::Rng::random_bool(&mut rng, acc.clamp(0.0, 1.0));
            let wrong = (l + rand::Rng::random_range(&mut rng, 1..FAKE_CLASSES as u32)) % FAKE_CLASSES as u32;
            let predicted = if right { l } else { wrong };
            let mut row: Vec<f64> = (0..FAKE_CLASSES).map(|_| rand::Rng::random::<f64>(&mut rng)).collect();
            row[predicted as usize] += 1.0;
            let sum: f64 = row.iter().sum();
            p.prob.extend(row.iter().map(|v| (v / sum) as f32));
            p.predicted.push(predicted);
        }
        p
    };
    let valid = set(FAKE_VALID_ROWS, valid_acc);
    let test = set(FAKE_TEST_ROWS, test_acc);
    Predictions {
        classes: FAKE_CLASSES,
        valid_row: (0..FAKE_VALID_ROWS).map(|i| 4 * i).collect(),
        valid,
        test: Some(test),
    }
}

#[cfg(test)]
mod tests {
    use super::DatasetCache;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    /// Stands for a loaded dataset: counts how many are alive at once.
    struct Loaded;
    impl Loaded {
        fn new() -> Self {
            let live = LIVE.fetch_add(1, Ordering::SeqCst) + 1;
            PEAK.fetch_max(live, Ordering::SeqCst);
            Loaded
        }
    }
    impl Drop for Loaded {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_cache_holds_one_dataset_and_loads_each_once_in_plan_order() {
        let cache = DatasetCache::default();
        // Runs in plan order, dataset by dataset, as the pool takes them (three runs each).
        for d in [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3] {
            let data = cache.get(d, || Ok(Loaded::new())).unwrap();
            drop(data); // the run ended
        }
        assert_eq!(cache.loads(), 4, "each dataset loaded once");
        assert_eq!(PEAK.load(Ordering::SeqCst), 1, "never two datasets alive at once");
        drop(cache);
        assert_eq!(LIVE.load(Ordering::SeqCst), 0, "the last one goes with the cache");
    }

    #[test]
    fn a_run_still_training_keeps_its_dataset_until_it_ends() {
        let cache = DatasetCache::default();
        let first = cache.get(0, || Ok(vec![1u8; 16])).unwrap();
        let second = cache.get(1, || Ok(vec![2u8; 16])).unwrap();
        assert_eq!(std::sync::Arc::strong_count(&first), 1, "the cache let dataset 0 go; only its run holds it");
        assert_eq!(std::sync::Arc::strong_count(&second), 2);
        let again = cache.get(0, || Ok(vec![3u8; 16])).unwrap();
        assert_eq!((again[0], cache.loads()), (3, 3), "asked again after another: loaded again");
    }
}
