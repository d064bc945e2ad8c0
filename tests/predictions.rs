//! Every run keeps its predictions (`runs/<id>/predictions.npz`): they are the kept model's,
//! to the last bit of the accuracies the run reports; numpy reads them; `predictions = false`
//! writes none; ensembles of repeats come from them.

mod common;

use common::*;
use pinniped::report::ensemble::{config_ensemble, ensemble_test_acc, Ensemble};
use pinniped::report::summary::Records;
use pinniped::results::predictions::{self, Predictions, PREDICTIONS_FILE};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// `pinniped train` on the shipped Phoneme split into `dir/<name>`.
fn train(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(train_tsv())
        .arg("--test")
        .arg(test_tsv())
        .args(["--reserve-every", "4", "--hidden", "16", "--set", "plots=false", "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    out
}

fn status(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join("status.json")).unwrap()).unwrap()
}

/// The last row of metrics.csv as (valid_acc, test_acc).
fn last_metrics(dir: &Path) -> (f64, f64) {
    let text = fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let last: Vec<&str> = text.lines().last().unwrap().split(',').collect();
    (last[4].parse().unwrap(), last[6].parse().unwrap())
}

/// The class of each row of the training file, by name.
fn training_labels() -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(fs::File::open(train_tsv()).unwrap()).read_to_string(&mut text).unwrap();
    text.lines().map(|l| l.split('\t').next().unwrap().to_string()).collect()
}

/// The run's class list, in its index order (the confusion matrices' columns).
fn classes(dir: &Path) -> Vec<String> {
    let text = common::read_table(&dir.join("confusion-valid.csv.gz"));
    text.lines().next().unwrap().split(',').skip(2).map(str::to_string).collect()
}

#[test]
fn predictions_are_the_kept_models_and_match_the_accuracies_the_run_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let file_labels = training_labels();
    // (case, flags, where the run's reported accuracies come from)
    let cases: [(&str, &[&str], bool); 5] = [
        ("last epoch, native engine (gram method)", &["--epochs", "12"], false),
        ("last epoch, candle engine", &["--epochs", "12", "--set", "engine=\"candle\""], false),
        ("early stopping", &["--epochs", "60", "--set", "patience=4"], true),
        ("refit", &["--epochs", "30", "--set", "refit=true"], true),
        (
            "refit after early stopping, candle",
            &["--epochs", "60", "--set", "patience=4", "--set", "refit=true", "--set", "engine=\"candle\""],
            true,
        ),
    ];
    for (i, (case, flags, selected)) in cases.into_iter().enumerate() {
        let dir = train(tmp.path(), &format!("run-{i}"), flags);
        let p = predictions::read(&dir.join(PREDICTIONS_FILE)).unwrap_or_else(|e| panic!("{case}: {e}"));
        let test = p.test.as_ref().unwrap_or_else(|| panic!("{case}: no test predictions"));
        let (valid_acc, test_acc) = if selected {
            let s = &status(&dir)["selected"];
            (s["valid_acc"].as_f64().unwrap(), s["test_acc"].as_f64().unwrap())
        } else {
            assert!(status(&dir).get("selected").is_none(), "{case}");
            last_metrics(&dir)
        };
        assert_eq!(p.valid.accuracy(), Some(valid_acc), "{case}: validation predictions are the selected model's");
        assert_eq!(test.accuracy(), Some(test_acc), "{case}: test predictions are the returned model's");
        assert_eq!((p.classes, test.rows(), p.valid.rows()), (39, 1896, 54), "{case}");
        // valid_row names the training file's rows, and valid_label their classes.
        let names = classes(&dir);
        for ((&row, &label), k) in p.valid_row.iter().zip(&p.valid.label).zip(0..) {
            assert_eq!(file_labels[row], names[label as usize], "{case}: validation row {k} (file row {row})");
        }
        let mut rows = p.valid_row.clone();
        rows.sort_unstable();
        rows.dedup();
        assert_eq!(rows.len(), 54, "{case}: distinct validation rows");
        // Probabilities: rows sum to 1 (to half precision), argmax agrees with the prediction
        // wherever the rounded maximum is unique.
        for (set, s) in [("valid", &p.valid), ("test", test)] {
            for (r, row) in s.prob.chunks_exact(p.classes).enumerate() {
                let sum: f32 = row.iter().sum();
                assert!((sum - 1.0).abs() < 0.02, "{case}: {set} row {r} sums to {sum}");
                let max = row.iter().cloned().fold(f32::MIN, f32::max);
                if row.iter().filter(|&&v| v == max).count() == 1 {
                    assert_eq!(row[s.predicted[r] as usize], max, "{case}: {set} row {r}");
                }
            }
        }
    }
}

#[test]
fn refit_validation_predictions_come_from_the_selected_model_not_the_refitted_one() {
    // The refitted model has trained on the validation rows; its own validation accuracy
    // would be far higher than what validation measured. Same run, with and without refit:
    // the first phase is the same, so the validation predictions must be identical.
    let tmp = tempfile::tempdir().unwrap();
    let plain = train(tmp.path(), "plain", &["--epochs", "40", "--set", "patience=4"]);
    let refit = train(tmp.path(), "refit", &["--epochs", "40", "--set", "patience=4", "--set", "refit=true"]);
    let read = |d: &Path| predictions::read(&d.join(PREDICTIONS_FILE)).unwrap();
    let (a, b) = (read(&plain), read(&refit));
    assert_eq!(a.valid_row, b.valid_row);
    assert_eq!(a.valid.predicted, b.valid.predicted, "the selected model's validation predictions");
    assert_ne!(a.test, b.test, "the test predictions are the refitted model's");
}

#[test]
fn predictions_false_writes_no_predictions_file_and_is_no_sweep_axis() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = train(tmp.path(), "off", &["--epochs", "2", "--set", "predictions=false"]);
    assert!(dir.join("status.json").is_file());
    assert!(!dir.join(PREDICTIONS_FILE).exists(), "{:?}", files(&dir));
    let on = train(tmp.path(), "on", &["--epochs", "2"]);
    assert!(on.join(PREDICTIONS_FILE).is_file());
    // The same models: turning predictions off changes no metric.
    assert_eq!(metrics_without_time(&dir.join("metrics.csv")), metrics_without_time(&on.join("metrics.csv")));
    // Training over an earlier output with predictions off removes its stale predictions.
    let replaced = train(tmp.path(), "on", &["--epochs", "2", "--set", "predictions=false"]);
    assert!(!replaced.join(PREDICTIONS_FILE).exists(), "{:?}", files(&replaced));

    let sweep = write(
        tmp.path(),
        "axis.toml",
        &format!("name = \"axis\"\n{}\n[train]\nepochs = 2\n[sweep]\npredictions = [true, false]\n", data_table(true)),
    );
    let out = pinniped().args(["run", "--fake-trainer", "--out"]).arg(tmp.path()).arg(&sweep).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("sweep.predictions") && err.contains("set it in [train]"), "{err}");
}

/// numpy's `np.load` reads the file a real run wrote, and finds what pinniped's reader finds.
/// Needs python3 with numpy (`$PINNIPED_NUMPY_PYTHON` names another interpreter); without
/// one it says so and checks nothing more: the layout itself is checked in Rust by
/// `results::predictions::tests::the_file_is_a_zip_of_npy_arrays_in_numpy_layout`.
#[test]
fn numpy_loads_a_runs_predictions() {
    let python = std::env::var("PINNIPED_NUMPY_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_numpy =
        std::process::Command::new(&python).args(["-c", "import numpy"]).output().is_ok_and(|o| o.status.success());
    if !has_numpy {
        eprintln!("skipped: {python} cannot import numpy (set PINNIPED_NUMPY_PYTHON to an interpreter that can)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = train(tmp.path(), "run", &["--epochs", "5"]);
    let path = dir.join(PREDICTIONS_FILE);
    let out = std::process::Command::new(&python)
        .arg(repo().join("tests/fixtures/check_predictions.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p: Predictions = predictions::read(&path).unwrap();
    let test = p.test.as_ref().unwrap();
    let expect = serde_json::json!({
        "test_label": ["<i2", [1896]], "test_pred": ["<i2", [1896]], "test_prob": ["<f2", [1896, 39]],
        "valid_label": ["<i2", [54]], "valid_pred": ["<i2", [54]], "valid_prob": ["<f2", [54, 39]],
        "valid_row": ["<i4", [54]],
    });
    assert_eq!(found["arrays"], expect);
    assert_eq!(found["valid_acc"].as_f64(), p.valid.accuracy());
    assert_eq!(found["test_acc"].as_f64(), test.accuracy());
    assert_eq!(found["valid_row"], serde_json::json!(p.valid_row));
    let sum: f64 = test.prob.iter().map(|&v| v as f64).sum();
    assert!((found["test_prob_sum"].as_f64().unwrap() - sum).abs() < 1e-6 * sum);
    assert!(found["test_max_row_sum_error"].as_f64().unwrap() < 0.02);
}

/// A fake-trainer sweep: 2 configurations × 3 repeats, one of them diverging.
fn fake_sweep(dir: &Path, name: &str, train: &str, jobs: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let sweep = write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 9\nrepeats = 3\n{}\n[train]\nepochs = 6\n{train}\n[sweep]\ndesign = \"grid\"\nlearning_rate = [0.01, 0.2]\nhidden = [[4], [8]]\n",
            data_table(true)
        ),
    );
    pinniped().args(["run", "-q", "--fake-trainer", "--jobs", jobs, "--out"]).arg(dir).arg(&sweep).assert().success();
    dir.join(name)
}

fn open(root: &Path) -> (pinniped::spec::Plan, Records) {
    let sweep = pinniped::spec::load_stored_sweep(&root.join("sweep.toml")).unwrap();
    let plan = pinniped::spec::expand(&sweep).unwrap();
    let records = Records::read(root, &plan);
    (plan, records)
}

#[test]
fn fake_runs_write_predictions_and_each_configuration_gets_the_ensemble_of_its_done_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = fake_sweep(tmp.path(), "fake", "", "1");
    let (plan, records) = open(&root);
    // summary.csv (written live by the sweep) carries each configuration's ensemble.
    let mut summary = csv::Reader::from_path(root.join("summary.csv")).unwrap();
    let column = summary.headers().unwrap().iter().position(|h| h == "ensemble_test_acc").expect("column");
    let cells: Vec<String> = summary.records().map(|r| r.unwrap()[column].to_string()).collect();
    assert_eq!(cells.len(), plan.configs.len());
    let mut ensembles = 0;
    for (c, config) in plan.configs.iter().enumerate() {
        let runs: Vec<_> = plan.runs.iter().filter(|r| r.config == c).collect();
        let diverged = config.train.optimiser.learning_rate >= 0.1;
        let mut members = Vec::new();
        for run in &runs {
            let path = root.join("runs").join(&run.id).join(PREDICTIONS_FILE);
            assert_eq!(path.exists(), !diverged, "{}: a diverged run writes no predictions", run.id);
            if let Ok(p) = predictions::read(&path) {
                members.push(p.test.unwrap());
            }
        }
        let got = config_ensemble(&root, &plan, c, &records).unwrap();
        if diverged {
            assert_eq!(got, None, "{}", config.id);
            assert_eq!(cells[c], "", "{}: no ensemble, an empty cell", config.id);
            assert_eq!(ensemble_test_acc(&root, &plan, c, &records), None);
            continue;
        }
        // The ensemble by hand: mean probability per row and class, then the first maximum.
        let e = got.unwrap();
        assert_eq!(e.members, 3, "{}", config.id);
        let by_hand = Ensemble::of(&members, 3).unwrap().unwrap();
        assert_eq!(e, by_hand, "{}", config.id);
        for (r, row) in e.mean_prob.chunks_exact(3).enumerate() {
            let mean = |k: usize| members.iter().map(|m| m.prob[r * 3 + k] as f64).sum::<f64>() / 3.0;
            assert_eq!(row, [mean(0), mean(1), mean(2)], "{} row {r}", config.id);
        }
        assert_eq!(ensemble_test_acc(&root, &plan, c, &records), e.accuracy());
        let acc = e.accuracy().unwrap();
        assert_eq!(cells[c].parse::<f64>().ok(), Some(acc), "{}: summary.csv's ensemble_test_acc", config.id);
        assert!((0.0..=1.0).contains(&acc));
        ensembles += 1;
    }
    assert_eq!(ensembles, 2);

    // The same sweep with 3 jobs writes the same bytes; with predictions off, no ensemble.
    let again = fake_sweep(&tmp.path().join("again"), "fake", "", "3");
    for run in &plan.runs {
        let a = fs::read(root.join("runs").join(&run.id).join(PREDICTIONS_FILE)).ok();
        let b = fs::read(again.join("runs").join(&run.id).join(PREDICTIONS_FILE)).ok();
        assert_eq!(a, b, "{}", run.id);
    }
    let off = fake_sweep(&tmp.path().join("off"), "fake", "predictions = false", "1");
    let (plan, records) = open(&off);
    for c in 0..plan.configs.len() {
        assert_eq!(config_ensemble(&off, &plan, c, &records).unwrap(), None);
    }
    assert!(plan.runs.iter().all(|r| !off.join("runs").join(&r.id).join(PREDICTIONS_FILE).exists()));
}

#[test]
fn a_corrupt_member_file_is_an_error_naming_it_and_an_empty_summary_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let root = fake_sweep(tmp.path(), "fake", "", "1");
    let (plan, records) = open(&root);
    let c = plan.configs.iter().position(|c| c.train.optimiser.learning_rate < 0.1).unwrap();
    let run = plan.runs.iter().find(|r| r.config == c).unwrap();
    let path = root.join("runs").join(&run.id).join(PREDICTIONS_FILE);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 30]).unwrap();
    let e = config_ensemble(&root, &plan, c, &records).unwrap_err().to_string();
    assert!(e.contains(&path.display().to_string()) && e.contains("pinniped rerun"), "{e}");
    assert_eq!(ensemble_test_acc(&root, &plan, c, &records), None);
    // A missing member (a run from before predictions existed): no partial ensemble.
    fs::remove_file(&path).unwrap();
    assert_eq!(config_ensemble(&root, &plan, c, &records).unwrap(), None);
}

#[test]
fn predictions_on_hashes_like_runs_from_before_the_key_and_off_is_another_run() {
    use pinniped::exec::trainer::config_hash;
    use pinniped::spec::{DataConfig, TrainConfig};
    let data: DataConfig = toml::from_str("train = \"t.tsv\"\nreserve_every = 4").unwrap();
    let hash = |predictions| {
        let mut train = TrainConfig::default();
        train.outputs.predictions = predictions;
        config_hash(&train, &data, "d", 1)
    };
    let Ok(toml::Value::Table(mut old)) = toml::Value::try_from(TrainConfig::default().resolve_artifacts(1)) else {
        unreachable!()
    };
    for key in ["engine", "device", "predictions", "diagnostics", "checkpoints"] {
        old.remove(key);
    }
    let text = format!("{}\n{}\nd\n1", toml::to_string(&old).unwrap(), toml::to_string(&data.without_paths()).unwrap());
    use sha2::Digest;
    let old_hash: String = sha2::Sha256::digest(text.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hash(true), old_hash, "earlier results directories stay fresh");
    assert_ne!(hash(false), hash(true), "a run without predictions.npz is not the finished run with one");
}
