//! Exact mid-run resume at the library level: a run that saves its whole training state
//! (`train::state`) every few epochs, resumed from each of those states (after a round
//! trip through the file format), ends bit for bit as the uninterrupted run: history,
//! diagnostics, model, selection and predictions. Both engines, f32 and f64, SGD with
//! either momentum rule, Adam, dropout, the Gram method, early stopping and refit.
//! (The process-level kills, SIGUSR1 and refused states are in `faults.rs`.)

use pinniped::spec::{DataConfig, Split, TrainConfig};
use pinniped::train::fit::{fit_resumable, stream_rng, Resume, ResumeError};
use pinniped::train::state::{FitState, PhaseKind};
use pinniped::train::{Engine, EpochView, Fit, Method, MomentumRule, OptimizerKind, Real, RunData};

fn data_cfg() -> DataConfig {
    DataConfig {
        train: "-".into(),
        test: None,
        format: None,
        class_attribute: None,
        reserve_every: Some(4),
        reserve_fraction: None,
        length: None,
        series_length: None,
        missing: None,
        resample: None,
        folds: None,
        stratify: None,
    }
}

/// `n` rows of 8 features: class k has a bump on feature k, plus noise from a seeded stream.
fn blobs(n: usize, classes: usize, seed: u64) -> (Vec<f64>, Vec<u32>) {
    use rand::Rng;
    let mut rng = stream_rng(seed, 7);
    let x =
        (0..n * 8).map(|i| if i % 8 == (i / 8) % classes { 1.0 } else { 0.0 } + rng.random::<f64>() - 0.5).collect();
    let y = (0..n).map(|i| (i % classes) as u32).collect();
    (x, y)
}

/// Everything a run returns, as text with every float's exact digits; wall seconds zeroed.
fn outcome<T: Real>(f: &Fit<T>) -> String {
    let mut history = f.history.clone();
    history.metrics.iter_mut().for_each(|m| m.seconds = 0.0);
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        history, f.mlp, f.outcome, f.selected, f.predictions, f.train_rows, f.standardization
    )
}

/// A state's bytes with its wall seconds zeroed (the one thing a resumed run may change).
fn without_time<T: Real>(bytes: &[u8], dims: &[usize], cfg: &TrainConfig) -> Vec<u8> {
    let mut s = FitState::<T>::decode(bytes, dims, cfg.activation).unwrap();
    s.seconds = 0.0;
    s.history.metrics.iter_mut().for_each(|m| m.seconds = 0.0);
    s.encode()
}

/// Trains `cfg`, saving every `every` epochs; returns the run and its encoded states.
fn run<T: Real>(cfg: &TrainConfig, data: &RunData, every: usize, from: Option<FitState<T>>) -> (Fit<T>, Vec<Vec<u8>>) {
    let mut states = Vec::new();
    let mut save = |s: &FitState<T>| {
        states.push(s.encode());
        Ok(())
    };
    let mut hook = |_: EpochView<'_, T>| Ok(());
    let resume = Resume { from, config_hash: "h".into(), every, suspend: None, save: Some(&mut save) };
    let fit = fit_resumable::<T>(cfg, &data_cfg(), 11, &Split::own(11), data, &mut hook, resume).unwrap();
    (fit, states)
}

fn cases() -> Vec<(&'static str, TrainConfig)> {
    let base = TrainConfig {
        hidden: vec![6, 5],
        epochs: 11,
        batch_size: 7,
        learning_rate: 0.05,
        minmax: false,
        normalize: false,
        plots: Some(false),
        test_every: 2,
        confusion_every: 3,
        ..TrainConfig::default()
    };
    let sgd = |rule, momentum| TrainConfig { momentum, momentum_rule: rule, weight_decay: 1e-3, ..base.clone() };
    vec![
        ("native sgd damped momentum", sgd(MomentumRule::Damped, 0.9)),
        (
            "native sgd classic momentum gram",
            TrainConfig { method: Method::Gram, hidden: vec![6], ..sgd(MomentumRule::Classic, 0.5) },
        ),
        (
            "native adam dropout",
            TrainConfig { optimizer: OptimizerKind::Adam, dropout: 0.3, learning_rate: 0.01, ..base.clone() },
        ),
        ("native early stopping", TrainConfig { patience: 2, epochs: 30, ..sgd(MomentumRule::Damped, 0.5) }),
        ("native refit dropout", TrainConfig { refit: true, dropout: 0.2, ..sgd(MomentumRule::Damped, 0.9) }),
        (
            "candle sgd classic dropout",
            TrainConfig { engine: Engine::Candle, dropout: 0.25, ..sgd(MomentumRule::Classic, 0.9) },
        ),
        (
            "candle adam early stopping refit",
            TrainConfig {
                engine: Engine::Candle,
                optimizer: OptimizerKind::Adam,
                learning_rate: 0.01,
                patience: 3,
                refit: true,
                ..base.clone()
            },
        ),
        (
            "candle gram",
            TrainConfig {
                engine: Engine::Candle,
                method: Method::Gram,
                hidden: vec![6],
                ..sgd(MomentumRule::Damped, 0.9)
            },
        ),
    ]
}

fn every_state_resumes_exactly<T: Real>() {
    let (x, y) = blobs(72, 3, 5);
    let (tx, ty) = blobs(24, 3, 6);
    let data = RunData { cols: 8, classes: 3, train_x: &x, train_y: &y, test: Some((&tx, &ty)) };
    for (name, mut cfg) in cases() {
        cfg.standardize = name.contains("refit");
        let (clean, states) = run::<T>(&cfg, &data, 2, None);
        let (plain, none) = run::<T>(&cfg, &data, 0, None);
        assert!(none.is_empty(), "{name}: every = 0 saves nothing");
        assert_eq!(outcome(&plain), outcome(&clean), "{name}: saving changes nothing");
        assert!(!states.is_empty(), "{name}: no state saved");
        let dims: Vec<usize> = [8].into_iter().chain(cfg.hidden.iter().copied()).chain([3]).collect();
        let timeless = |v: &[Vec<u8>]| v.iter().map(|b| without_time::<T>(b, &dims, &cfg)).collect::<Vec<_>>();
        let mut refits = 0;
        for (k, bytes) in states.iter().enumerate() {
            let state = FitState::<T>::decode(bytes, &dims, cfg.activation).unwrap();
            refits += (state.phase == PhaseKind::Refit) as usize;
            let (resumed, again) = run::<T>(&cfg, &data, 2, Some(state));
            assert_eq!(outcome(&resumed), outcome(&clean), "{name} ({}): resumed from state {k}", T::NAME);
            assert!(
                timeless(&again) == timeless(&states[k + 1..]),
                "{name}: the resumed run saves the same later states"
            );
        }
        // A refit of more than `every` epochs saves states of its own, which resume too.
        let refit_epochs = clean.selected.as_ref().filter(|s| s.refit).map_or(0, |s| s.epoch);
        assert_eq!(refits > 0, refit_epochs > 2, "{name}: states saved during a refit of {refit_epochs} epochs");
    }
}

#[test]
fn a_run_resumed_from_any_of_its_states_ends_bit_for_bit_as_the_uninterrupted_one_f32() {
    every_state_resumes_exactly::<f32>();
}

#[test]
fn a_run_resumed_from_any_of_its_states_ends_bit_for_bit_as_the_uninterrupted_one_f64() {
    every_state_resumes_exactly::<f64>();
}

#[test]
fn a_state_that_does_not_fit_the_run_is_refused_before_training() {
    let (x, y) = blobs(72, 3, 5);
    let data = RunData { cols: 8, classes: 3, train_x: &x, train_y: &y, test: None };
    let cfg = cases().remove(0).1;
    let (_, states) = run::<f64>(&cfg, &data, 3, None);
    let dims = [8, 6, 5, 3];
    let state = || FitState::<f64>::decode(&states[0], &dims, cfg.activation).unwrap();
    let refused = |cfg: &TrainConfig, s: FitState<f64>| {
        let mut hook = |_: EpochView<'_, f64>| Ok(());
        let resume = Resume { from: Some(s), ..Resume::none() };
        let e = fit_resumable::<f64>(cfg, &data_cfg(), 11, &Split::own(11), &data, &mut hook, resume).err().unwrap();
        match e.downcast_ref::<ResumeError>() {
            Some(ResumeError::Refused(why)) => why.clone(),
            _ => panic!("not refused: {e:#}"),
        }
    };
    // Adam's moments are not SGD's momentum: another optimiser state.
    let adam = TrainConfig { optimizer: OptimizerKind::Adam, ..cfg.clone() };
    assert!(refused(&adam, state()).contains("optimiser state"));
    // Fewer epochs than the state has trained.
    assert!(refused(&TrainConfig { epochs: 3, ..cfg.clone() }, state()).contains("epoch 3 of a phase of 3"));
    let with_dropout = TrainConfig { dropout: 0.5, ..cfg.clone() };
    assert!(refused(&with_dropout, state()).contains("dropout"));
    let mut bad_order = state();
    bad_order.current.positions[0] = bad_order.current.positions[1];
    assert!(refused(&cfg, bad_order).contains("order of the training rows"));
    let gram = TrainConfig { method: Method::Gram, hidden: vec![6, 5], ..cfg.clone() };
    assert!(refused(&gram, state()).contains("another method"));
}
