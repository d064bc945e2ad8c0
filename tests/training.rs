//! Training options on small synthetic data (milliseconds each): early stopping keeps
//! the best epoch's weights, refit trains on train + validation rows, standardisation
//! is fitted on training rows only, dropout is seeded.

use pinniped::spec::config::OptimiserConfig;
use pinniped::spec::{DataConfig, Split, TrainConfig};
use pinniped::train::{fit, EpochView, Fit, Loss, Net, OptimizerKind, RunData};

fn data_cfg(every: Option<usize>) -> DataConfig {
    DataConfig {
        train: "-".into(),
        test: None,
        format: None,
        class_attribute: None,
        reserve_every: every,
        reserve_fraction: None,
        length: None,
        series_length: None,
        missing: None,
        resample: None,
        folds: None,
        stratify: None,
    }
}

fn cfg() -> TrainConfig {
    with(TrainConfig::default(), |c| {
        c.model.hidden = vec![6];
        c.optimiser = OptimiserConfig {
            loss: Loss::CrossEntropy,
            optimizer: OptimizerKind::Adam,
            learning_rate: 0.05,
            batch_size: 8,
            ..OptimiserConfig::default()
        };
        c.schedule.epochs = 40;
        (c.pipeline.minmax, c.pipeline.normalize) = (false, false);
    })
}

/// `c` changed by `change`.
fn with(mut c: TrainConfig, change: impl FnOnce(&mut TrainConfig)) -> TrainConfig {
    change(&mut c);
    c
}

/// `n` rows of 4 features; class k has a bump on feature k (and noise).
fn blobs(n: usize, classes: usize, offset: u32) -> (Vec<f64>, Vec<u32>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let c = (i as u32 + offset) % classes as u32;
        for f in 0..4 {
            let noise = ((i * 7 + f * 13) % 11) as f64 / 11.0 - 0.5;
            x.push(if f == c as usize { 2.0 } else { 0.0 } + noise);
        }
        y.push(c);
    }
    (x, y)
}

fn run(cfg: &TrainConfig, d: &DataConfig, data: &RunData) -> (Fit<f64>, Vec<(usize, Net<f64>)>) {
    let mut seen = Vec::new();
    let mut hook = |v: EpochView<'_, f64>| {
        seen.push((v.metrics.epoch, v.net.to_net()));
        Ok(())
    };
    let f = fit::<f64>(cfg, d, 5, &Split::own(5), data, &mut hook).unwrap();
    (f, seen)
}

#[test]
fn early_stopping_returns_the_best_epochs_weights() {
    let (x, y) = blobs(60, 3, 0);
    let (tx, ty) = blobs(30, 3, 1);
    let data = RunData { cols: 4, channels: 1, classes: 3, train_x: &x, train_y: &y, test: Some((&tx, &ty)) };
    let c = with(cfg(), |c| (c.schedule.patience, c.schedule.epochs) = (5, 200));
    let (f, seen) = run(&c, &data_cfg(Some(3)), &data);
    let sel = f.selected.clone().expect("early stopping selects a model");
    assert!(!sel.refit);
    let last = f.history.metrics.last().unwrap().epoch;
    assert_eq!(last, sel.epoch + 5, "stops `patience` epochs after the best");
    let best_valid = f.history.metrics.iter().map(|m| m.sets.valid.unwrap().acc).fold(f64::MIN, f64::max);
    let first_best = f.history.metrics.iter().find(|m| m.sets.valid.unwrap().acc == best_valid).unwrap().epoch;
    assert_eq!(sel.epoch, first_best);
    let at_best = &seen.iter().find(|(e, _)| *e == sel.epoch).unwrap().1;
    assert_eq!(&f.net, at_best, "the returned weights are the best epoch's");
    assert_ne!(&f.net, &seen.last().unwrap().1);
    assert_eq!(sel.accs.valid, Some(best_valid));
}

#[test]
fn refit_trains_on_training_and_validation_rows() {
    // Class 2 appears only in validation rows (every 2nd row, no shuffle; half of them
    // class 2, half class 0): without refit the model never sees it; refit on
    // train + valid learns it.
    // Positions 0, 4, 8, …: class 2 (validation); 2, 6, …: class 0 (validation);
    // odd positions (training): classes 0 and 1 alternately.
    let class_at = |pos: usize| {
        if pos.is_multiple_of(4) {
            2
        } else if pos.is_multiple_of(2) {
            0
        } else {
            ((pos / 2) % 2) as u32
        }
    };
    let y: Vec<u32> = (0..40).map(class_at).collect();
    let x: Vec<f64> = (0..160)
        .map(|i| {
            let (pos, f) = (i / 4, i % 4);
            let noise = ((pos * 7 + f * 13) % 11) as f64 / 22.0 - 0.25;
            (if f == y[pos] as usize { 2.5 } else { 0.0 }) + noise
        })
        .collect();
    let tx = vec![0.0, 0.0, 2.5, 0.0, 0.0, 0.0, 2.4, 0.0];
    let ty = vec![2, 2];
    let data = RunData { cols: 4, channels: 1, classes: 3, train_x: &x, train_y: &y, test: Some((&tx, &ty)) };
    // Batch 1: even a single refit epoch (if validation peaks at once) has 40 steps.
    let base = with(cfg(), |c| {
        (c.schedule.shuffle, c.schedule.epochs) = (false, 60);
        (c.optimiser.batch_size, c.optimiser.learning_rate) = (1, 0.05);
    });
    let (plain, _) = run(&base, &data_cfg(Some(2)), &data);
    assert!(plain.valid_rows.iter().all(|&r| r % 2 == 0));
    let plain_test = plain.history.metrics.last().unwrap().sets.test.unwrap().acc;
    assert_eq!(plain_test, 0.0, "class 2 was never trained on");
    let (refit, _) = run(&with(base, |c| c.schedule.refit = true), &data_cfg(Some(2)), &data);
    let sel = refit.selected.expect("refit selects a model");
    assert!(sel.refit);
    let best = plain.history.metrics.iter().map(|m| m.sets.valid.unwrap().acc).fold(f64::MIN, f64::max);
    assert_eq!(sel.accs.valid, Some(best), "valid accuracy is the first phase's best");
    assert!(sel.epoch >= 1);
    assert_eq!(sel.accs.test, Some(1.0), "the refit model learned class 2 from the validation rows");
}

#[test]
fn standardisation_is_fitted_on_training_rows_only() {
    let (x, y) = blobs(40, 3, 0);
    let (tx, ty) = blobs(20, 3, 2);
    let c = with(cfg(), |c| c.pipeline.standardize = true);
    let d = data_cfg(Some(4));
    let (a, _) =
        run(&c, &d, &RunData { cols: 4, channels: 1, classes: 3, train_x: &x, train_y: &y, test: Some((&tx, &ty)) });
    // Wildly different validation rows and test set: if their statistics leaked into the
    // z-score, the training rows' features and so the whole training would change.
    let mut x2 = x.clone();
    for &r in &a.valid_rows {
        for f in 0..4 {
            x2[r * 4 + f] = 1000.0 + r as f64;
        }
    }
    let tx2: Vec<f64> = tx.iter().map(|v| v * 50.0 - 300.0).collect();
    let (b, _) =
        run(&c, &d, &RunData { cols: 4, channels: 1, classes: 3, train_x: &x2, train_y: &y, test: Some((&tx2, &ty)) });
    assert_eq!(a.train_rows, b.train_rows);
    assert_eq!(a.net, b.net, "training depends on the training rows alone");
    let train_acc = |f: &Fit<f64>| f.history.metrics.iter().map(|m| m.sets.train.unwrap().acc).collect::<Vec<_>>();
    assert_eq!(train_acc(&a), train_acc(&b));
    // And it does something: without it, the same data trains differently.
    let (raw, _) = run(
        &cfg(),
        &d,
        &RunData { cols: 4, channels: 1, classes: 3, train_x: &x, train_y: &y, test: Some((&tx, &ty)) },
    );
    assert_ne!(raw.net, a.net);
}

#[test]
fn dropout_is_seeded_and_changes_training() {
    let (x, y) = blobs(40, 3, 0);
    let data = RunData { cols: 4, channels: 1, classes: 3, train_x: &x, train_y: &y, test: None };
    let c = with(cfg(), |c| c.model.dropout = 0.3);
    let (a, _) = run(&c, &data_cfg(Some(4)), &data);
    let (b, _) = run(&c, &data_cfg(Some(4)), &data);
    assert_eq!(a.net, b.net);
    let (none, _) = run(&cfg(), &data_cfg(Some(4)), &data);
    assert_ne!(a.net, none.net);
    // Same split and initial weights: dropout has its own random stream.
    assert_eq!(a.train_rows, none.train_rows);
}

#[test]
fn gram_method_follows_the_direct_method() {
    use pinniped::train::{Method, MomentumRule};
    let (x, y) = blobs(48, 3, 0);
    let (tx, ty) = blobs(20, 3, 1);
    let data = RunData { cols: 4, channels: 1, classes: 3, train_x: &x, train_y: &y, test: Some((&tx, &ty)) };
    for (momentum, rule, wd, dropout) in [
        (0.0, MomentumRule::Damped, 0.0, 0.0),
        (0.9, MomentumRule::Damped, 0.01, 0.0),
        (0.5, MomentumRule::Classic, 0.0, 0.0),
        (0.9, MomentumRule::Classic, 0.05, 0.3),
    ] {
        let direct = with(cfg(), |c| {
            (c.model.method, c.model.dropout, c.model.hidden) = (Method::Direct, dropout, vec![5, 4]);
            c.optimiser = OptimiserConfig {
                optimizer: OptimizerKind::Sgd,
                learning_rate: 0.05,
                momentum,
                momentum_rule: rule,
                weight_decay: wd,
                ..c.optimiser.clone()
            };
            c.schedule.epochs = 15;
        });
        let gram = with(direct.clone(), |c| c.model.method = Method::Gram);
        let (a, _) = run(&direct, &data_cfg(Some(4)), &data);
        let (b, _) = run(&gram, &data_cfg(Some(4)), &data);
        let what = format!("m={momentum} {rule} wd={wd} dropout={dropout}");
        for l in 0..a.net.as_mlp().unwrap().layers() {
            for (p, q) in a.net.as_mlp().unwrap().weights()[l]
                .iter()
                .zip(&b.net.as_mlp().unwrap().weights()[l])
                .chain(a.net.as_mlp().unwrap().biases()[l].iter().zip(&b.net.as_mlp().unwrap().biases()[l]))
            {
                assert!((p - q).abs() <= 1e-9 * (1.0 + p.abs()), "{what}: layer {l}: {p} vs {q}");
            }
        }
        let accs =
            |f: &Fit<f64>| f.history.metrics.iter().map(|m| m.sets.map(|s| s.map(|s| s.acc))).collect::<Vec<_>>();
        assert_eq!(accs(&a), accs(&b), "{what}");
        assert_ne!(
            a.net.as_mlp().unwrap().weights()[0],
            run(&with(direct, |c| c.schedule.epochs = 1), &data_cfg(Some(4)), &data).0.net.as_mlp().unwrap().weights()
                [0]
        );
    }
}

#[test]
fn a_kfold_run_validates_on_its_fold_and_still_refits() {
    let (x, y) = blobs(60, 3, 0);
    let data = RunData { cols: 4, channels: 1, classes: 3, train_x: &x, train_y: &y, test: None };
    let d = DataConfig { resample: Some(pinniped::spec::Resample::Kfold), folds: Some(3), ..data_cfg(None) };
    let c = with(cfg(), |c| (c.schedule.refit, c.schedule.epochs) = (true, 20));
    let mut hook = |_: EpochView<'_, f64>| Ok(());
    let mut valid_of_folds = Vec::new();
    for fold in 1..=3 {
        let split = Split { seed: 9, repetition: 1, fold: Some(fold) };
        let f = fit::<f64>(&c, &d, 5, &split, &data, &mut hook).unwrap();
        assert_eq!(f.valid_rows.len(), 20, "fold {fold}: a third of the rows");
        assert_eq!(f.train_rows.len(), 40, "fold {fold}: the others train");
        assert!(f.selected.as_ref().is_some_and(|s| s.refit), "fold {fold}: refit on every row");
        valid_of_folds.extend(f.valid_rows);
    }
    valid_of_folds.sort();
    assert_eq!(valid_of_folds, (0..60).collect::<Vec<_>>(), "every row validates once");
}
