//! `pinniped refit DIR`: the selected configuration trained again on all training rows for the
//! median epoch its runs kept, with the real trainer on the shipped Phoneme data.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

const SWEEP: &str = "name = \"r\"\nseed = 11\nrepeats = 4\n";
/// Early stopping makes the runs keep different epochs; 4 repeats: an even count.
const TRAIN: &str =
    "[train]\nhidden = [8]\nepochs = 12\npatience = 3\nloss = \"cross-entropy\"\nlearning_rate = 0.1\nmomentum = 0.9\n\
     batch_size = 16\nplots = false\n\
     [sweep]\nhidden = [[4], [16]]\n";

/// A finished real sweep in `tmp/out/r` (2 configurations × 4 repeats); returns its directory
/// and what `run` printed.
fn finished_sweep(tmp: &Path, with_test: bool) -> (PathBuf, String) {
    let file = write(tmp, "r.toml", &format!("{SWEEP}{}{TRAIN}", data_table(with_test)));
    let out = tmp.join("out");
    let run = pinniped().args(["run", "-j", "2", "--out"]).arg(&out).arg(&file).assert().success();
    (out.join("r"), String::from_utf8_lossy(&run.get_output().stdout).into_owned())
}

fn refit(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    pinniped().arg("refit").arg(dir).args(args).assert()
}

fn refit_csv(dir: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(dir.join("refit.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let row: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    assert_eq!(lines.next(), None, "one row");
    header.into_iter().zip(row).collect()
}

fn cell(csv: &[(String, String)], column: &str) -> String {
    csv.iter().find(|(c, _)| c == column).unwrap_or_else(|| panic!("no column {column}")).1.clone()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// Each refit run directory (`rep-1`, `rep-2`, …) of `config`.
fn refit_runs(dir: &Path, config: &str) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = fs::read_dir(dir.join("refit").join(config))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    runs.sort();
    runs
}

#[test]
fn the_refit_trains_the_best_by_validation_on_all_training_rows_for_the_lower_median_kept_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, run_out) = finished_sweep(tmp.path(), true);
    let best = run_out
        .lines()
        .find_map(|l| l.strip_prefix("best by validation: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the sweep names its best configuration")
        .to_string();
    let out = refit(&dir, &["-q"]).success();
    assert!(out.get_output().stdout.is_empty(), "-q prints nothing");
    let csv = refit_csv(&dir);
    assert_eq!(cell(&csv, "config"), best, "the configuration the end-of-sweep line names");

    // The kept epoch of each of its runs, read from status.json here.
    let mut kept: Vec<u64> = (1..=4)
        .map(|r| {
            let s = json(&dir.join("runs").join(&best).join(format!("rep-{r}")).join("status.json"));
            assert_eq!(s["state"], "done");
            s.get("selected").map_or(s["epoch"].as_u64(), |sel| sel["epoch"].as_u64()).unwrap()
        })
        .collect();
    kept.sort();
    assert_ne!(kept[0], kept[3], "the runs kept different epochs, so the median means something");
    let median = kept[1];
    assert_eq!(cell(&csv, "epochs"), median.to_string(), "lower median of {kept:?}");
    assert_eq!((cell(&csv, "runs"), cell(&csv, "done")), ("4".into(), "4".into()), "as many runs as the sweep's");

    let runs = refit_runs(&dir, &best);
    assert_eq!(runs.len(), 4);
    let mut test_accs = Vec::new();
    for run in &runs {
        let config: toml::Table = fs::read_to_string(run.join("config.toml")).unwrap().parse().unwrap();
        let data = config["data"].as_table().unwrap();
        for key in ["reserve_every", "reserve_fraction", "resample", "folds"] {
            assert!(!data.contains_key(key), "{}: nothing reserved, yet [data] has {key}", run.display());
        }
        assert!(!config.contains_key("split"), "{}: no split", run.display());
        let train = config["train"].as_table().unwrap();
        assert_eq!(train["epochs"].as_integer(), Some(median as i64));
        assert_eq!(train["patience"].as_integer(), Some(0));
        assert_eq!(train["refit"].as_bool(), Some(false));
        let metrics = fs::read_to_string(run.join("metrics.csv")).unwrap();
        let rows: Vec<Vec<&str>> = metrics.lines().skip(1).map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), median as usize, "{}: every epoch trained", run.display());
        for row in &rows {
            assert_eq!((row[3], row[4]), ("", ""), "{}: no validation rows, no valid columns", run.display());
        }
        test_accs.push(rows.last().unwrap()[6].parse::<f64>().unwrap());
        for file in ["model.safetensors", "predictions.npz", "status.json"] {
            assert!(run.join(file).is_file(), "{}: {file}", run.display());
        }
    }
    let mean = test_accs.iter().sum::<f64>() / 4.0;
    let reported: f64 = cell(&csv, "test_acc_mean").parse().unwrap();
    assert!((reported - mean).abs() < 1e-12, "{reported} vs {mean}");
    let (low, high): (f64, f64) =
        (cell(&csv, "test_acc_ci_low").parse().unwrap(), cell(&csv, "test_acc_ci_high").parse().unwrap());
    assert!(low < mean && mean < high, "[{low}, {high}]");
    let ensemble: f64 = cell(&csv, "ensemble_test_acc").parse().unwrap();
    assert!((0.0..=1.0).contains(&ensemble));

    // A refit run's config.toml reruns it alone, bit for bit.
    let alone = tmp.path().join("alone");
    pinniped().args(["train", "-q", "--out"]).arg(&alone).arg(runs[0].join("config.toml")).assert().success();
    assert_eq!(metrics_without_time(&alone.join("metrics.csv")), metrics_without_time(&runs[0].join("metrics.csv")));

    let printed = refit(&dir, &[]).success();
    let printed = String::from_utf8_lossy(&printed.get_output().stdout).into_owned();
    let line = format!("refit {best} on all 214 training rows for {median} epoch");
    assert!(printed.contains(&line), "{printed}");
    assert!(printed.contains("(n=4), ensemble "), "{printed}");
}

#[test]
fn jobs_1_and_jobs_2_refit_the_same_bytes_and_a_second_call_retrains_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = finished_sweep(tmp.path(), true);
    let copy = tmp.path().join("copy");
    assert!(std::process::Command::new("cp").arg("-r").arg(&dir).arg(&copy).status().unwrap().success());
    refit(&dir, &["-q", "-j", "1", "--config", "hidden=16", "--repeats", "3"]).success();
    refit(&copy, &["-q", "-j", "2", "--config", "hidden=16", "--repeats", "3"]).success();
    assert_eq!(fs::read(dir.join("refit.csv")).unwrap(), fs::read(copy.join("refit.csv")).unwrap());
    let (a, b) = (refit_runs(&dir, "hidden=16"), refit_runs(&copy, "hidden=16"));
    assert_eq!(a.len(), 3);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(metrics_without_time(&x.join("metrics.csv")), metrics_without_time(&y.join("metrics.csv")));
        assert_eq!(fs::read(x.join("predictions.npz")).unwrap(), fs::read(y.join("predictions.npz")).unwrap());
    }
    assert_ne!(
        metrics_without_time(&a[0].join("metrics.csv")),
        metrics_without_time(&a[1].join("metrics.csv")),
        "each refit run has its own seed"
    );

    let before = snapshot(&dir.join("refit"));
    let csv = fs::read(dir.join("refit.csv")).unwrap();
    let again = refit(&dir, &["-j", "2", "--config", "hidden=16", "--repeats", "3"]).success();
    let again = String::from_utf8_lossy(&again.get_output().stdout).into_owned();
    assert!(again.contains("(3 already finished)"), "{again}");
    assert!(!again.contains("done      refit/"), "nothing trained: {again}");
    assert_eq!(snapshot(&dir.join("refit")), before, "no refit file rewritten");
    assert_eq!(fs::read(dir.join("refit.csv")).unwrap(), csv);
}

#[test]
fn a_stored_refit_of_another_epoch_count_is_refused_until_force() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = finished_sweep(tmp.path(), true);
    refit(&dir, &["-q", "--config", "hidden=4", "--repeats", "2"]).success();
    let epochs = cell(&refit_csv(&dir), "epochs");
    // Every run of the configuration now says it kept epoch 9: the median moves to 9.
    for r in 1..=4 {
        let path = dir.join("runs/hidden=4").join(format!("rep-{r}")).join("status.json");
        let mut s = json(&path);
        s["selected"] =
            serde_json::json!({"epoch": 9, "refit": false, "train_acc": 0.5, "valid_acc": 0.5, "test_acc": 0.5});
        fs::write(&path, serde_json::to_string(&s).unwrap()).unwrap();
    }
    assert_ne!(epochs, "9");
    let before = snapshot(&dir.join("refit"));
    let refused = refit(&dir, &["-q", "--config", "hidden=4", "--repeats", "2"]).code(2);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains(&format!("train.epochs {epochs} → 9")) && err.contains("--force"), "{err}");
    assert_eq!(snapshot(&dir.join("refit")), before, "nothing changed");
    refit(&dir, &["-q", "--config", "hidden=4", "--repeats", "2", "--force"]).success();
    assert_eq!(cell(&refit_csv(&dir), "epochs"), "9");
    for run in refit_runs(&dir, "hidden=4") {
        assert_eq!(fs::read_to_string(run.join("metrics.csv")).unwrap().lines().count(), 1 + 9);
    }
}

/// A finished fake sweep (fast) in `tmp/out/f`, for the errors; `test_mode`: more hidden test-mode options.
fn fake_sweep(tmp: &Path, with_test: bool, test_mode: &[&str]) -> PathBuf {
    fs::create_dir_all(tmp).unwrap();
    let file = write(
        tmp,
        "f.toml",
        &format!(
            "name = \"f\"\nrepeats = 2\n{}[train]\nepochs = 3\n[sweep]\nhidden = [[4], [16]]\n",
            data_table(with_test)
        ),
    );
    let out = tmp.join("out");
    let mut run = pinniped();
    run.args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file);
    run.args(test_mode);
    // Injected failures make the sweep exit 1.
    run.assert().code(if test_mode.is_empty() { 0 } else { 1 });
    out.join("f")
}

#[test]
fn refit_errors_exit_2_with_one_message_naming_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let with_test = fake_sweep(&tmp.path().join("a"), true, &["--fake-fail", "hidden=16"]);
    let without_test = fake_sweep(&tmp.path().join("b"), false, &[]);
    let all_failed = fake_sweep(&tmp.path().join("d"), true, &["--fake-fail", "rep-"]);
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let linked = fake_sweep(&tmp.path().join("c"), true, &[]);
    std::os::unix::fs::symlink(tmp.path(), linked.join("refit")).unwrap();
    for (case, dir, args, wanted) in [
        ("not a results directory", &empty, &[][..], "no sweep.toml"),
        ("an unknown --config", &with_test, &["--config", "hiden=4"][..], "did you mean `hidden=4`"),
        ("a configuration without done runs", &with_test, &["--config", "hidden=16"][..], "no done runs"),
        ("no configuration to choose", &all_failed, &[][..], "name one with --config"),
        ("a sweep without test data", &without_test, &[][..], "add `test = PATH`"),
        ("a symlinked refit directory", &linked, &[][..], "symlink"),
    ] {
        let before = snapshot(dir);
        let out = pinniped().arg("refit").arg(dir).args(args).arg("--fake-trainer").assert();
        let output = out.get_output();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{case}: {err}");
        assert!(err.contains(wanted), "{case}: wanted {wanted:?} in {err}");
        assert_eq!(snapshot(dir), before, "{case}: nothing written");
    }
}
