//! Exact mid-run resume at the library level: a run that saves its whole training state
//! (`train::state`) every few epochs, resumed from each of those states (after a round
//! trip through the file format), ends bit for bit as the uninterrupted run: history,
//! diagnostics, model, selection and predictions. Both engines, f32 and f64, SGD with
//! either momentum rule, Adam, dropout, the Gram method, early stopping and refit. So does a
//! run suspended at a batch boundary inside an epoch (SIGUSR1's save).
//! (The process-level kills, SIGUSR1 and refused states are in `faults.rs`.)

use pinniped::spec::{DataConfig, Split, TrainConfig};
use pinniped::train::fit::{fit_resumable, stream_rng, Boundary, FitError, Resume, ResumeError};
use pinniped::train::state::{FitState, PhaseKind};
use pinniped::train::{Engine, EpochView, Fit, Method, MomentumRule, NetShape, OptimizerKind, Real, RunData};

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
        history, f.net, f.outcome, f.selected, f.predictions, f.train_rows, f.standardization
    )
}

/// A state's bytes with its wall seconds zeroed (the one thing a resumed run may change).
fn without_time<T: Real>(bytes: &[u8], dims: &[usize], cfg: &TrainConfig) -> Vec<u8> {
    let mut s = FitState::<T>::decode(bytes, &NetShape::Mlp(dims.to_vec()), cfg.model.activation).unwrap();
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
    let resume = Resume { from, config_hash: "h".into(), every, suspend: None, pause_at: None, save: Some(&mut save) };
    let fit = fit_resumable::<T>(cfg, &data_cfg(), 11, &Split::own(11), data, &mut hook, resume).unwrap();
    (fit, states)
}

fn with(mut c: TrainConfig, change: impl FnOnce(&mut TrainConfig)) -> TrainConfig {
    change(&mut c);
    c
}

fn cases() -> Vec<(&'static str, TrainConfig)> {
    let base = with(TrainConfig::default(), |c| {
        c.model.hidden = vec![6, 5];
        c.schedule.epochs = 11;
        (c.optimiser.batch_size, c.optimiser.learning_rate) = (7, 0.05);
        (c.pipeline.minmax, c.pipeline.normalize) = (false, false);
        (c.outputs.plots, c.outputs.test_every, c.outputs.confusion_every) = (Some(false), 2, 3);
    });
    let sgd = |rule, momentum| {
        with(base.clone(), |c| {
            (c.optimiser.momentum, c.optimiser.momentum_rule, c.optimiser.weight_decay) = (momentum, rule, 1e-3)
        })
    };
    vec![
        ("native sgd damped momentum", sgd(MomentumRule::Damped, 0.9)),
        (
            "native sgd classic momentum gram",
            with(sgd(MomentumRule::Classic, 0.5), |c| (c.model.method, c.model.hidden) = (Method::Gram, vec![6])),
        ),
        (
            "native adam dropout",
            with(base.clone(), |c| {
                (c.optimiser.optimizer, c.model.dropout, c.optimiser.learning_rate) = (OptimizerKind::Adam, 0.3, 0.01)
            }),
        ),
        (
            "native early stopping",
            with(sgd(MomentumRule::Damped, 0.5), |c| (c.schedule.patience, c.schedule.epochs) = (2, 30)),
        ),
        (
            "native refit dropout",
            with(sgd(MomentumRule::Damped, 0.9), |c| (c.schedule.refit, c.model.dropout) = (true, 0.2)),
        ),
        (
            "candle sgd classic dropout",
            with(sgd(MomentumRule::Classic, 0.9), |c| (c.model.engine, c.model.dropout) = (Engine::Candle, 0.25)),
        ),
        (
            "candle adam early stopping refit",
            with(base.clone(), |c| {
                (c.model.engine, c.optimiser.optimizer, c.optimiser.learning_rate) =
                    (Engine::Candle, OptimizerKind::Adam, 0.01);
                (c.schedule.patience, c.schedule.refit) = (3, true);
            }),
        ),
        (
            "candle gram",
            with(sgd(MomentumRule::Damped, 0.9), |c| {
                (c.model.engine, c.model.method, c.model.hidden) = (Engine::Candle, Method::Gram, vec![6])
            }),
        ),
    ]
}

fn every_state_resumes_exactly<T: Real>() {
    let (x, y) = blobs(72, 3, 5);
    let (tx, ty) = blobs(24, 3, 6);
    let data = RunData { cols: 8, channels: 1, classes: 3, train_x: &x, train_y: &y, test: Some((&tx, &ty)) };
    for (name, mut cfg) in cases() {
        cfg.pipeline.standardize = name.contains("refit");
        let (clean, states) = run::<T>(&cfg, &data, 2, None);
        let (plain, none) = run::<T>(&cfg, &data, 0, None);
        assert!(none.is_empty(), "{name}: every = 0 saves nothing");
        assert_eq!(outcome(&plain), outcome(&clean), "{name}: saving changes nothing");
        assert!(!states.is_empty(), "{name}: no state saved");
        let dims: Vec<usize> = [8].into_iter().chain(cfg.model.hidden.iter().copied()).chain([3]).collect();
        let timeless = |v: &[Vec<u8>]| v.iter().map(|b| without_time::<T>(b, &dims, &cfg)).collect::<Vec<_>>();
        let mut refits = 0;
        for (k, bytes) in states.iter().enumerate() {
            let state = FitState::<T>::decode(bytes, &NetShape::Mlp(dims.to_vec()), cfg.model.activation).unwrap();
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

/// Trains `cfg` from `from`, saving every 2 epochs, and stops at its `stop_at`-th question
/// (`Resume::suspend`: after every batch but an epoch's last, and between epochs). Returns
/// where it stopped, with the state it saved there, or `None` when it finished first.
fn suspended_at<T: Real>(cfg: &TrainConfig, data: &RunData, stop_at: usize) -> Option<(Boundary, FitState<T>)> {
    let asked = std::cell::Cell::new(0);
    let poll = |_: Boundary| {
        asked.set(asked.get() + 1);
        asked.get() == stop_at
    };
    let mut last = None;
    let mut save = |s: &FitState<T>| {
        last = Some(s.encode());
        Ok(())
    };
    let mut hook = |_: EpochView<'_, T>| Ok(());
    let resume = Resume {
        from: None,
        config_hash: "h".into(),
        every: 2,
        suspend: Some(&poll),
        pause_at: None,
        save: Some(&mut save),
    };
    match fit_resumable::<T>(cfg, &data_cfg(), 11, &Split::own(11), data, &mut hook, resume) {
        Ok(_) => None,
        Err(FitError::Resume(ResumeError::Suspended(at))) => {
            let dims: Vec<usize> = [8].into_iter().chain(cfg.model.hidden.iter().copied()).chain([3]).collect();
            let bytes = last.expect("a suspended run saved its state");
            Some((at, FitState::<T>::decode(&bytes, &NetShape::Mlp(dims), cfg.model.activation).unwrap()))
        }
        Err(e) => panic!("{:#}", e.into_anyhow()),
    }
}

fn a_run_suspended_anywhere_resumes_exactly<T: Real>() {
    let (x, y) = blobs(72, 3, 5);
    let (tx, ty) = blobs(24, 3, 6);
    let data = RunData { cols: 8, channels: 1, classes: 3, train_x: &x, train_y: &y, test: Some((&tx, &ty)) };
    for (name, mut cfg) in cases() {
        cfg.pipeline.standardize = name.contains("refit");
        let (clean, _) = run::<T>(&cfg, &data, 2, None);
        // 54 training rows in batches of 7: 8 batches, 7 questions inside each epoch and one
        // after it. Questions 1, 7 and 8: inside epoch 1 after its first and last batch but
        // one, then after it; five more spread over the main phase, and one in the refit.
        // A main phase of E epochs asks 8 E - 1 questions; then the refit's fourth question
        // comes inside its first epoch.
        let refit_epochs = clean.selected.as_ref().filter(|s| s.refit).map_or(0, |s| s.epoch);
        let main_questions = 8 * clean.history.metrics.len() - 1;
        let spread = (1..6).map(|k| main_questions * k / 6 + k % 2);
        let in_refit = (refit_epochs > 0).then_some(main_questions + 4);
        let (mut inside, mut refit) = (0, 0);
        for stop_at in [1, 7, 8, 9].into_iter().chain(spread).chain(in_refit) {
            let Some((at, state)) = suspended_at::<T>(&cfg, &data, stop_at) else { continue };
            assert_eq!(at.batch.is_some(), state.current.within.is_some(), "{name}: {at}");
            if stop_at == 1 {
                assert_eq!(at, Boundary { epoch: 1, batch: Some(1) }, "{name}");
            }
            if stop_at == 8 {
                assert_eq!(at, Boundary { epoch: 1, batch: None }, "{name}");
            }
            inside += at.batch.is_some() as usize;
            refit += (state.phase == PhaseKind::Refit) as usize;
            let (resumed, _) = run::<T>(&cfg, &data, 2, Some(state));
            assert_eq!(outcome(&resumed), outcome(&clean), "{name} ({}): suspended {at} (question {stop_at})", T::NAME);
        }
        assert!(inside >= 5, "{name}: {inside} stops inside an epoch");
        assert_eq!(refit > 0, refit_epochs > 0, "{name}: stops during a refit of {refit_epochs} epochs");
    }
}

#[test]
fn a_run_suspended_at_any_batch_or_epoch_boundary_ends_bit_for_bit_as_the_uninterrupted_one() {
    a_run_suspended_anywhere_resumes_exactly::<f32>();
    a_run_suspended_anywhere_resumes_exactly::<f64>();
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
    let data = RunData { cols: 8, channels: 1, classes: 3, train_x: &x, train_y: &y, test: None };
    let cfg = cases().remove(0).1;
    let (_, states) = run::<f64>(&cfg, &data, 3, None);
    let dims = [8, 6, 5, 3];
    let state = || FitState::<f64>::decode(&states[0], &NetShape::Mlp(dims.to_vec()), cfg.model.activation).unwrap();
    let refused = |cfg: &TrainConfig, s: FitState<f64>| {
        let mut hook = |_: EpochView<'_, f64>| Ok(());
        let resume = Resume { from: Some(s), ..Resume::none() };
        let e = fit_resumable::<f64>(cfg, &data_cfg(), 11, &Split::own(11), &data, &mut hook, resume).err().unwrap();
        match e {
            FitError::Resume(ResumeError::Refused(why)) => why,
            e => panic!("not refused: {:#}", e.into_anyhow()),
        }
    };
    // Adam's moments are not SGD's momentum: another optimiser state.
    let adam = with(cfg.clone(), |c| c.optimiser.optimizer = OptimizerKind::Adam);
    assert!(refused(&adam, state()).contains("optimiser state"));
    // Fewer epochs than the state has trained.
    assert!(refused(&with(cfg.clone(), |c| c.schedule.epochs = 3), state()).contains("epoch 3 of a phase of 3"));
    let with_dropout = with(cfg.clone(), |c| c.model.dropout = 0.5);
    assert!(refused(&with_dropout, state()).contains("dropout"));
    let mut bad_order = state();
    bad_order.current.positions[0] = bad_order.current.positions[1];
    assert!(refused(&cfg, bad_order).contains("order of the training rows"));
    let gram = with(cfg.clone(), |c| (c.model.method, c.model.hidden) = (Method::Gram, vec![6, 5]));
    assert!(refused(&gram, state()).contains("another method"));
    // Inside an epoch: its rows must end one of the run's batches (of 7), its diagnostics fit.
    let (_, inside) = suspended_at::<f64>(&cfg, &data, 3).unwrap();
    assert_eq!(inside.current.within.as_ref().unwrap().rows, 21);
    let mut odd = inside.clone();
    odd.current.within.as_mut().unwrap().rows = 20;
    assert!(refused(&cfg, odd).contains("stopped after row 20 of an epoch"));
    let mut other = inside.clone();
    other.current.within.as_mut().unwrap().hists.pop();
    assert!(refused(&cfg, other).contains("other diagnostics"));
    let mut fewer = inside;
    fewer.current.within.as_mut().unwrap().before.as_mut().unwrap()[0].pop();
    assert!(refused(&cfg, fewer).contains("other diagnostics"));
}
