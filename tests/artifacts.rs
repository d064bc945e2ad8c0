//! Which per-run files a sweep keeps (`plots`, `diagnostics`, `checkpoints`, `predictions` in
//! `[train]`): what is switched off is not written, and everything downstream (summary,
//! report.html, compare, resume, ensembles) still works; large sweeps keep only what the
//! summaries need unless told otherwise; diagnostics are written compressed.

mod common;

use common::*;
use std::fs;
use std::path::Path;

/// The files directly in a run directory, and those of its subdirectories, sorted.
fn run_files(run: &Path) -> Vec<String> {
    files(run)
}

fn sweep_file(dir: &Path, name: &str, train: &str, sweep: &str, repeats: usize, with_test: bool) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 5\nrepeats = {repeats}\npairing = \"split\"\n{}\n[train]\nhidden = [3]\n\
             epochs = 3\nbatch_size = 40\n{train}\n[sweep]\n{sweep}\n",
            data_table(with_test)
        ),
    )
}

#[test]
fn switched_off_artifacts_are_not_written_and_every_summary_still_works() {
    let tmp = tempfile::tempdir().unwrap();
    let off = "plots = false\ndiagnostics = false\ncheckpoints = false";
    let file = sweep_file(tmp.path(), "lean", off, "learning_rate = [0.001, 0.01]", 2, true);
    let out = tmp.path().join("out");
    pinniped().args(["run", "-q", "--out"]).arg(&out).arg(&file).assert().success();
    let root = out.join("lean");
    let run = root.join("runs/baseline/rep-1");
    assert_eq!(run_files(&run), ["config.toml", "metrics.csv", "predictions.npz", "status.json"]);
    let config = fs::read_to_string(run.join("config.toml")).unwrap();
    for line in ["plots = false", "diagnostics = false", "checkpoints = false"] {
        assert!(config.contains(line), "config.toml records `{line}`:\n{config}");
    }

    // The summaries, the ensembles and the report need none of the files left out.
    let summary = fs::read(root.join("summary.csv")).unwrap();
    let text = String::from_utf8(summary.clone()).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let ensemble = header.iter().position(|h| *h == "ensemble_test_acc").expect("an ensemble column");
    for row in text.lines().skip(1) {
        let cells: Vec<&str> = row.split(',').collect();
        assert!(cells[ensemble].parse::<f64>().is_ok(), "ensemble from predictions.npz: {row}");
    }
    pinniped().args(["summarize"]).arg(&root).assert().success();
    assert_eq!(fs::read(root.join("summary.csv")).unwrap(), summary, "summarize rebuilds the same bytes");
    pinniped().args(["report"]).arg(&root).assert().success();
    let html = fs::read_to_string(root.join("report.html")).unwrap();
    assert!(
        html.contains("runs/baseline/rep-1/metrics.csv") && !html.contains("weights.csv"),
        "report lists what is there"
    );
    assert!(root.join("plots/axis-learning_rate-final.png").is_file(), "the sweep plots are drawn");

    // Resume: nothing to train again, nothing written where the switches say no.
    let before = snapshot(&root.join("runs"));
    let resumed = pinniped().args(["run", "--out"]).arg(&out).arg(&file).assert().success();
    assert!(String::from_utf8_lossy(&resumed.get_output().stdout).contains("(4 already finished)"), "{resumed:?}");
    assert_eq!(snapshot(&root.join("runs")), before);

    // Compare: the same sweep with every artifact kept pairs with this one row by row.
    let full = sweep_file(tmp.path(), "full", "", "learning_rate = [0.001, 0.01]", 2, true);
    pinniped().args(["run", "-q", "--out"]).arg(&out).arg(&full).assert().success();
    let kept = run_files(&out.join("full/runs/baseline/rep-1"));
    for f in ["model.safetensors", "weights.csv.gz", "activations.csv.gz", "confusion-test.csv.gz", "plots/error.png"] {
        assert!(kept.iter().any(|k| k == f), "{f} in {kept:?}");
    }
    let compared = pinniped().args(["compare", "--csv"]).arg(&root).arg(out.join("full")).assert().success();
    let csv = String::from_utf8_lossy(&compared.get_output().stdout).into_owned();
    let rows: Vec<&str> =
        csv.lines().filter(|l| l.starts_with("baseline,") || l.starts_with("learning_rate")).collect();
    assert_eq!(rows.len(), 2, "both configurations matched:\n{csv}");
    assert!(rows.iter().all(|r| r.contains("paired-t")), "paired, the files kept aside:\n{csv}");
    // The same runs: the kept files change nothing that was trained.
    assert_eq!(
        metrics_without_time(&run.join("metrics.csv")),
        metrics_without_time(&out.join("full/runs/baseline/rep-1/metrics.csv"))
    );
}

#[test]
fn a_large_sweep_keeps_only_what_the_summaries_need_and_one_run_retrains_with_everything() {
    let tmp = tempfile::tempdir().unwrap();
    // 501 runs (one more than FULL_ARTIFACTS_MAX_RUNS) of a tiny network for one epoch.
    let file = write(
        tmp.path(),
        "big.toml",
        &format!("name = \"big\"\nseed = 5\nrepeats = 501\n{}\n[train]\nhidden = [1]\nepochs = 1\n", data_table(false)),
    );
    let out = tmp.path().join("out");
    let ran = pinniped().args(["run", "--jobs", "2", "--out"]).arg(&out).arg(&file).assert().success();
    let stdout = String::from_utf8_lossy(&ran.get_output().stdout).into_owned();
    assert!(
        stdout.contains("note: 501 runs (more than 500)") && stdout.contains("plots, diagnostics, checkpoints"),
        "{stdout}"
    );
    let run = out.join("big/runs/baseline/rep-7");
    assert_eq!(run_files(&run), ["config.toml", "metrics.csv", "predictions.npz", "status.json"]);
    assert!(fs::read_to_string(run.join("config.toml")).unwrap().contains("diagnostics = false"));

    // Any one run, retrained alone from its config.toml with every artifact: the same run.
    let again = tmp.path().join("again");
    pinniped()
        .args(["train", "-q"])
        .arg(run.join("config.toml"))
        .args(["--set", "plots=true", "--set", "diagnostics=true", "--set", "checkpoints=true", "--out"])
        .arg(&again)
        .assert()
        .success();
    assert_eq!(metrics_without_time(&run.join("metrics.csv")), metrics_without_time(&again.join("metrics.csv")));
    let weights = read_table(&again.join("weights.csv.gz"));
    assert!(weights.starts_with("epoch,layer,node,dnorm,dtheta\n1,0,0,"), "{weights}");
    assert!(again.join("plots/weight-norm-L0.png").is_file() && again.join("model.safetensors").is_file());

    // Told otherwise, a large sweep keeps what it is told to.
    let kept = write(
        tmp.path(),
        "big-kept.toml",
        &fs::read_to_string(&file)
            .unwrap()
            .replace("name = \"big\"", "name = \"kept\"")
            .replace("epochs = 1\n", "epochs = 1\ndiagnostics = true\n"),
    );
    pinniped().args(["run", "-q", "--jobs", "2", "--shard", "0/100", "--out"]).arg(&out).arg(&kept).assert().success();
    let files = run_files(&out.join("kept/runs/baseline/rep-1"));
    assert!(
        files.iter().any(|f| f == "weights.csv.gz") && !files.iter().any(|f| f == "model.safetensors"),
        "{files:?}"
    );
}

#[test]
fn artifact_switches_of_the_wrong_kind_or_as_axes_are_refused_by_key() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, train, sweep, key) in [
        ("word", "diagnostics = \"yes\"", "learning_rate = [0.01]", "diagnostics"),
        ("number", "checkpoints = 1", "learning_rate = [0.01]", "checkpoints"),
        ("axis", "", "diagnostics = [true, false]", "diagnostics"),
    ] {
        let file = sweep_file(tmp.path(), name, train, sweep, 1, false);
        let out = tmp.path().join("out");
        let result = pinniped().args(["run", "-q", "--out"]).arg(&out).arg(&file).assert().code(2);
        let err = String::from_utf8_lossy(&result.get_output().stderr).into_owned();
        assert!(err.contains(key) && err.contains(&format!("{name}.toml")), "{name}: {err}");
        assert!(!out.join(name).exists(), "{name}: nothing written");
    }
}
