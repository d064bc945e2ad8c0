//! The two engines train the same network: `engine = "native"` (hand-written, fused)
//! and `engine = "candle"` (candle-nn layers, autograd). Per-step losses, gradients
//! and parameters agree in f64 to `TOL` for every loss × activation × optimiser rule;
//! short runs make the same predictions; the candle engine is deterministic; and a
//! checkpoint written by either engine loads in `eval` and in candle's own `VarBuilder`.
//! (The PyTorch-pinned numbers run through both engines in `pinned_torch.rs`.)

mod common;

use candle_core::{DType, Device, Module, Tensor};
use pinniped::spec::config::OptimiserConfig;
use pinniped::spec::{DataConfig, Split, TrainConfig};
use pinniped::train::candle_engine::CandleMlp;
use pinniped::train::engine::{self, Setup};
use pinniped::train::fit::stream_rng;
use pinniped::train::init::initialise;
use pinniped::train::{
    fit, Activation, Engine, EpochView, Fit, Init, Loss, Method, Mlp, MomentumRule, OptimizerKind, RunData,
};

/// `c` changed by `change`.
fn with(mut c: TrainConfig, change: impl FnOnce(&mut TrainConfig)) -> TrainConfig {
    change(&mut c);
    c
}

/// |a − b| ≤ TOL · max(1, |b|): both engines compute in f64, in different orders.
const TOL: f64 = 1e-10;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOL * b.abs().max(1.0)
}

/// The first element where `a` and `b` disagree, as a message.
fn compare(what: &str, a: &[f64], b: &[f64]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{what}: {} vs {} values", a.len(), b.len()));
    }
    a.iter().zip(b).position(|(&x, &y)| !close(x, y)).map(|i| format!("{what}[{i}]: {} vs {}", a[i], b[i]))
}

fn compare_mlps(what: &str, a: &Mlp<f64>, b: &Mlp<f64>) -> Option<String> {
    (0..a.layers()).find_map(|l| {
        compare(&format!("{what} weights[{l}]"), &a.weights()[l], &b.weights()[l])
            .or_else(|| compare(&format!("{what} biases[{l}]"), &a.biases()[l], &b.biases()[l]))
    })
}

/// `rows` rows of `cols` values in [−1, 1) and labels, from a seeded stream.
fn random_data(rows: usize, cols: usize, classes: u32, seed: u64) -> (Vec<f64>, Vec<u32>) {
    use rand::Rng;
    let mut rng = stream_rng(seed, 7);
    let x = (0..rows * cols).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
    let y = (0..rows).map(|_| rng.random_range(0..classes)).collect();
    (x, y)
}

/// The optimiser settings each case is trained under, by name.
fn rules() -> Vec<(&'static str, TrainConfig)> {
    let sgd = |momentum, momentum_rule, weight_decay, method| {
        with(TrainConfig::default(), |c| {
            c.optimiser = OptimiserConfig {
                optimizer: OptimizerKind::Sgd,
                learning_rate: 0.1,
                momentum,
                momentum_rule,
                weight_decay,
                ..OptimiserConfig::default()
            };
            c.model.method = method;
        })
    };
    vec![
        ("plain sgd (fused)", sgd(0.0, MomentumRule::Damped, 0.0, Method::Direct)),
        ("damped momentum + decay", sgd(0.9, MomentumRule::Damped, 0.01, Method::Direct)),
        ("classic momentum + decay", sgd(0.9, MomentumRule::Classic, 0.01, Method::Direct)),
        ("damped momentum, gram method", sgd(0.5, MomentumRule::Damped, 0.0, Method::Gram)),
        (
            "adam + decay",
            with(TrainConfig::default(), |c| {
                c.optimiser = OptimiserConfig {
                    optimizer: OptimizerKind::Adam,
                    learning_rate: 0.01,
                    weight_decay: 0.01,
                    ..OptimiserConfig::default()
                }
            }),
        ),
    ]
}

/// Steps `model` full-batch `steps` times; the loss and parameters after each step.
fn trajectory(cfg: &TrainConfig, mlp: &Mlp<f64>, x: &[f64], y: &[u32], steps: usize) -> Vec<(f64, Mlp<f64>)> {
    let rows = y.len();
    let setup =
        Setup { cfg, mlp: mlp.clone(), sets: vec![x], batch: rows, dropout_rng: stream_rng(3, 2), record: true };
    let mut model = engine::build(setup).unwrap();
    let positions: Vec<usize> = (0..rows).collect();
    (0..steps)
        .map(|_| {
            model.begin_epoch(&positions).unwrap();
            let loss = model.train_batch(0..rows, x, y).unwrap();
            model.end_epoch().unwrap();
            (loss, model.net().as_mlp().unwrap().clone())
        })
        .collect()
}

#[test]
fn engines_agree_per_step_for_every_loss_activation_and_optimiser_rule() {
    let rows = 12;
    let (x, y) = random_data(rows, 6, 3, 1);
    let mut failures = Vec::new();
    let mut cases = 0;
    // Two hidden layers, and a linear model (no hidden layer: nothing to drop).
    for dims in [&[6, 5, 4, 3][..], &[6, 3][..]] {
        for loss in [Loss::MseSum, Loss::MseMean, Loss::CrossEntropy] {
            for act in [Activation::Sigmoid, Activation::Tanh, Activation::Relu] {
                for (rule, base) in rules() {
                    for dropout in [0.0, 0.3] {
                        cases += 1;
                        let name = format!("{dims:?} × {loss} × {act} × {rule} × dropout {dropout}");
                        let cfg = with(base.clone(), |c| {
                            (c.optimiser.loss, c.model.activation, c.model.dropout) = (loss, act, dropout)
                        });
                        let mlp = initialise::<f64>(dims, act, Init::Pytorch, &mut stream_rng(9, 0)).unwrap();
                        let native =
                            trajectory(&with(cfg.clone(), |c| c.model.engine = Engine::Native), &mlp, &x, &y, 4);
                        let candle =
                            trajectory(&with(cfg.clone(), |c| c.model.engine = Engine::Candle), &mlp, &x, &y, 4);
                        let mut before = mlp.clone();
                        for (s, ((ln, mn), (lc, mc))) in native.iter().zip(&candle).enumerate() {
                            let mut problem = (!close(*lc, *ln)).then(|| format!("step {s}: loss {lc} vs {ln}"));
                            if dropout == 0.0 {
                                // Gradients at the same parameters, by hand and by autograd.
                                let (_, gn) = before.loss_and_grads(&x, &y, rows, loss);
                                let (_, gc, _) = CandleMlp::new(&before, &Device::Cpu)
                                    .unwrap()
                                    .loss_and_grads(&x, &y, loss)
                                    .unwrap();
                                problem = problem.or_else(|| {
                                    (0..mlp.layers()).find_map(|l| {
                                        compare(&format!("step {s}: grad w[{l}]"), &gc.w[l], &gn.w[l])
                                            .or_else(|| compare(&format!("step {s}: grad b[{l}]"), &gc.b[l], &gn.b[l]))
                                    })
                                });
                            }
                            problem = problem.or_else(|| compare_mlps(&format!("after step {s}:"), mc, mn));
                            if let Some(p) = problem {
                                failures.push(format!("{name}: {p}"));
                                break;
                            }
                            before = mn.clone();
                        }
                        // The steps moved the network: agreeing on a frozen network would prove nothing.
                        if compare_mlps("", &native.last().unwrap().1, &mlp).is_none() {
                            failures.push(format!("{name}: the parameters did not move"));
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * 3 * 3 * 5 * 2);
    assert!(failures.is_empty(), "{} of {cases} cases disagree:\n{}", failures.len(), failures.join("\n"));
}

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

/// `n` rows of 8 features; class k has a bump on feature k (and noise).
fn blobs(n: usize, classes: usize, offset: u32) -> (Vec<f64>, Vec<u32>) {
    let (noise, _) = random_data(n, 8, 1, offset as u64 + 100);
    let x =
        (0..n * 8).map(|i| if i % 8 == (i / 8 + offset as usize) % classes { 1.5 } else { 0.0 } + noise[i]).collect();
    let y = (0..n).map(|i| ((i + offset as usize) % classes) as u32).collect();
    (x, y)
}

fn fit_as<T: pinniped::train::Real>(cfg: &TrainConfig, data: &RunData) -> Fit<T> {
    let mut hook = |_: EpochView<'_, T>| Ok(());
    fit::<T>(cfg, &data_cfg(), 11, &Split::own(11), data, &mut hook).unwrap()
}

fn short_run(engine: Engine) -> TrainConfig {
    with(TrainConfig::default(), |c| {
        (c.model.engine, c.model.hidden) = (engine, vec![7]);
        (c.optimiser.batch_size, c.optimiser.learning_rate) = (5, 0.05);
        (c.pipeline.minmax, c.pipeline.normalize) = (false, false);
        c.schedule.epochs = 12;
        c.outputs.plots = Some(false);
    })
}

#[test]
fn engines_make_the_same_predictions_after_a_short_run() {
    let (x, y) = blobs(48, 4, 0);
    let (tx, ty) = blobs(40, 4, 1);
    let data = RunData { cols: 8, channels: 1, classes: 4, train_x: &x, train_y: &y, test: Some((&tx, &ty)) };
    let configs = [
        ("sgd, mse-sum, sigmoid", short_run(Engine::Auto)),
        (
            "adam, cross-entropy, relu, dropout",
            with(short_run(Engine::Auto), |c| {
                (c.optimiser.optimizer, c.optimiser.loss, c.optimiser.learning_rate) =
                    (OptimizerKind::Adam, Loss::CrossEntropy, 0.01);
                (c.model.activation, c.model.dropout) = (Activation::Relu, 0.2);
            }),
        ),
        (
            "classic momentum, tanh, early stopping",
            with(short_run(Engine::Auto), |c| {
                (c.optimiser.momentum, c.optimiser.momentum_rule, c.optimiser.learning_rate) =
                    (0.9, MomentumRule::Classic, 0.005);
                c.model.activation = Activation::Tanh;
                c.schedule.patience = 4;
            }),
        ),
    ];
    for (name, c) in configs {
        let cfg = |engine| with(c.clone(), |c| c.model.engine = engine);
        let native = fit_as::<f64>(&cfg(Engine::Native), &data);
        let candle = fit_as::<f64>(&cfg(Engine::Candle), &data);
        assert_eq!(native.history.metrics.len(), candle.history.metrics.len(), "{name}: epochs trained");
        for (n, k) in native.history.metrics.iter().zip(&candle.history.metrics) {
            for (split, a) in n.sets.iter() {
                let (set, a, b) = (split.name(), a.unwrap(), k.sets[split].unwrap());
                assert!(close(b.loss, a.loss), "{name}: epoch {} {set} loss {} vs {}", n.epoch, b.loss, a.loss);
                assert_eq!(b.acc, a.acc, "{name}: epoch {} {set} accuracy", n.epoch);
            }
        }
        let predict =
            |m: &Mlp<f64>| pinniped::train::model::argmax_rows(&m.forward(&tx, ty.len()), 4).collect::<Vec<_>>();
        assert_eq!(
            predict(candle.net.as_mlp().unwrap()),
            predict(native.net.as_mlp().unwrap()),
            "{name}: test-set predictions"
        );
        assert_eq!(native.selected, candle.selected, "{name}: selected model");
        assert!(
            compare_mlps(name, candle.net.as_mlp().unwrap(), native.net.as_mlp().unwrap()).is_none(),
            "{name}: final weights"
        );
    }
}

#[test]
fn candle_engine_is_bit_identical_across_repeats_and_threads() {
    let (x, y) = blobs(48, 4, 0);
    let data = RunData { cols: 8, channels: 1, classes: 4, train_x: &x, train_y: &y, test: None };
    let cfg =
        with(short_run(Engine::Candle), |c| (c.model.dropout, c.optimiser.optimizer) = (0.2, OptimizerKind::Adam));
    let alone = fit_as::<f32>(&cfg, &data);
    // Two more runs side by side on their own threads (as `--jobs 2` runs them).
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| fit_as::<f32>(&cfg, &data));
        let b = s.spawn(|| fit_as::<f32>(&cfg, &data));
        (a.join().unwrap(), b.join().unwrap())
    });
    for (which, other) in [("a repeat", &a), ("a concurrent repeat", &b)] {
        assert_eq!(other.net, alone.net, "{which}: weights");
        assert_eq!(other.history.weight_changes, alone.history.weight_changes, "{which}: weight changes");
        let losses =
            |f: &Fit<f32>| f.history.metrics.iter().map(|m| m.sets.map(|s| s.map(|s| s.loss))).collect::<Vec<_>>();
        assert_eq!(losses(other), losses(&alone), "{which}: losses");
    }
    // Another seed gives another network (the seed reaches the engine).
    let mut hook = |_: EpochView<'_, f32>| Ok(());
    let other_seed = fit::<f32>(&cfg, &data_cfg(), 12, &Split::own(12), &data, &mut hook).unwrap();
    assert_ne!(other_seed.net, alone.net);
}

#[test]
fn checkpoints_of_either_engine_load_in_eval_and_in_candle_varbuilder() {
    let tmp = tempfile::tempdir().unwrap();
    let test = common::test_tsv();
    for engine in ["native", "candle"] {
        let out = tmp.path().join(engine);
        common::pinniped()
            .args(["train", "--train"])
            .arg(common::train_tsv())
            .arg("--test")
            .arg(&test)
            .args(["--reserve-every", "4", "--epochs", "3", "--out"])
            .arg(&out)
            .args(["--set", &format!("engine=\"{engine}\""), "--set", "plots=false"])
            .assert()
            .success();
        let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
        assert!(config.contains(&format!("engine = \"{engine}\"")), "{engine}: config.toml records the engine");
        let model = out.join("model.safetensors");
        // config.toml reruns the run in another process, bit for bit.
        let again = tmp.path().join(format!("{engine}-again"));
        common::pinniped()
            .args(["train", "-q"])
            .arg(out.join("config.toml"))
            .arg("--out")
            .arg(&again)
            .assert()
            .success();
        assert_eq!(std::fs::read(&model).unwrap(), std::fs::read(again.join("model.safetensors")).unwrap(), "{engine}");

        // `eval` scores the checkpoint as the run scored its model at the last epoch.
        let eval = common::pinniped().args(["eval", "--csv", "--model"]).arg(&model).arg("--data").arg(&test).output();
        let eval = eval.unwrap();
        assert!(eval.status.success(), "{engine}: eval failed: {}", String::from_utf8_lossy(&eval.stderr));
        let stdout = String::from_utf8(eval.stdout).unwrap();
        let acc: f64 = stdout.lines().nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
        let last: Vec<&str> = metrics.lines().last().unwrap().split(',').collect();
        assert_eq!(acc, last[6].parse::<f64>().unwrap(), "{engine}: eval accuracy vs the run's test accuracy");

        // candle's own loader finds `layers.L.weight` as `[out, in]`, and a candle-nn layer runs on it.
        let vb =
            unsafe { candle_nn::VarBuilder::from_mmaped_safetensors(&[&model], DType::F32, &Device::Cpu) }.unwrap();
        assert_eq!(vb.get((64, 1024), "layers.0.weight").unwrap().dims(), &[64, 1024], "{engine}");
        assert_eq!(vb.get(64, "layers.0.bias").unwrap().dims(), &[64], "{engine}");
        assert_eq!(vb.get((39, 64), "layers.1.weight").unwrap().dims(), &[39, 64], "{engine}");
        let hidden = candle_nn::linear(1024, 64, vb.pp("layers.0")).unwrap();
        let zeros = Tensor::zeros((1, 1024), DType::F32, &Device::Cpu).unwrap();
        let bias = vb.get(64, "layers.0.bias").unwrap();
        assert_eq!(
            hidden.forward(&zeros).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            bias.to_vec1::<f32>().unwrap(),
            "{engine}: a zero input gives the bias"
        );
    }
}

#[test]
#[cfg(not(feature = "cuda"))]
fn device_cuda_without_the_cuda_feature_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    for (setting, says) in [("device=\"cuda\"", "--features cuda"), ("engine=\"native\"", "needs engine = \"candle\"")]
    {
        let run = common::pinniped()
            .args(["train", "--train"])
            .arg(common::train_tsv())
            .args(["--reserve-every", "4", "--out"])
            .arg(&out)
            .args(["--set", "device=\"cuda\"", "--set", setting])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{setting}: {stderr}");
        assert!(stderr.contains("device") && stderr.contains(says), "{setting}: {stderr}");
        assert!(!out.exists(), "{setting}: nothing is written");
    }
}

#[test]
fn auto_hashes_like_the_engine_it_chooses_and_like_runs_from_before_the_key() {
    use pinniped::exec::trainer::config_hash;
    let data = data_cfg();
    let hash = |engine| config_hash(&with(TrainConfig::default(), |c| c.model.engine = engine), &data, "digest", 1);
    assert_eq!(hash(Engine::Auto), hash(Engine::Native), "auto runs native on the CPU: the same run");
    assert_ne!(hash(Engine::Candle), hash(Engine::Native), "another engine is another run");
    // Without the engine and device keys (nor the later predictions), as pinniped wrote
    // configurations before they existed.
    // (`plots = true` was written then; `diagnostics` and `checkpoints` came later still.)
    let Ok(toml::Value::Table(mut old)) = toml::Value::try_from(TrainConfig::default().resolve_artifacts(1)) else {
        unreachable!()
    };
    for key in ["engine", "device", "predictions", "diagnostics", "checkpoints"] {
        old.remove(key);
    }
    let text =
        format!("{}\n{}\ndigest\n1", toml::to_string(&old).unwrap(), toml::to_string(&data.without_paths()).unwrap());
    use sha2::Digest;
    let old_hash: String = sha2::Sha256::digest(text.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hash(Engine::Auto), old_hash, "earlier results directories stay fresh");
}

#[test]
fn candle_sweeps_are_bit_identical_whatever_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = format!(
        "name = \"det\"\nseed = 11\nrepeats = 2\n{}\n[train]\nengine = \"candle\"\nhidden = [8]\nbatch_size = 40\n\
         epochs = 4\nplots = false\ndropout = 0.1\n[sweep]\noptimizer = [\"sgd\", \"adam\"]\n",
        common::data_table(true)
    );
    let file = common::write(tmp.path(), "det.toml", &sweep);
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    for (jobs, out) in [("1", &one), ("2", &two)] {
        common::pinniped().args(["run", "-q", "--jobs", jobs, "--out"]).arg(out).arg(&file).assert().success();
    }
    let runs = common::files(&one.join("det"));
    assert_eq!(runs, common::files(&two.join("det")));
    let mut compared = 0;
    for f in &runs {
        let (a, b) = (one.join("det").join(f), two.join("det").join(f));
        if f.ends_with("metrics.csv") {
            assert_eq!(common::metrics_without_time(&a), common::metrics_without_time(&b), "{f}");
            compared += 1;
        } else if f.ends_with("model.safetensors") || f.ends_with("weights.csv.gz") || f.ends_with("activations.csv.gz")
        {
            assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "{f}");
            compared += 1;
        } else if f.ends_with("config.toml") {
            assert!(std::fs::read_to_string(&a).unwrap().contains("engine = \"candle\""), "{f}");
        }
    }
    assert_eq!(compared, 4 * 4, "4 runs × (metrics, model, weights, activations)");
}

#[test]
fn engines_agree_in_f32_up_to_rounding() {
    let (x, y) = blobs(48, 4, 0);
    let (tx, ty) = blobs(40, 4, 1);
    let data = RunData { cols: 8, channels: 1, classes: 4, train_x: &x, train_y: &y, test: Some((&tx, &ty)) };
    let native = fit_as::<f32>(&short_run(Engine::Native), &data);
    let candle = fit_as::<f32>(&short_run(Engine::Candle), &data);
    for (n, k) in native.history.metrics.iter().zip(&candle.history.metrics) {
        for (split, a) in n.sets.iter() {
            let (set, a, b) = (split.name(), a.unwrap(), k.sets[split].unwrap());
            // f32 rounding in another order: far below any difference that changes a prediction here.
            assert!((a.loss - b.loss).abs() <= 1e-4 * a.loss.abs().max(1.0), "epoch {} {set} loss", n.epoch);
            assert_eq!(a.acc, b.acc, "epoch {} {set} accuracy", n.epoch);
        }
    }
    assert_eq!(native.history.metrics.len(), candle.history.metrics.len());
}
