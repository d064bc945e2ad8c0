//! Successive halving (`[sweep.prune]`) end to end, with real training on the shipped data:
//! the decisions are a function of the runs' files, so `rungs.csv` and the summaries are the
//! same for `--jobs 1`, `--jobs 2`, two shards and a SIGKILL + resume; a kept run ends exactly
//! as it would have without pruning; `summarize` recomputes `rungs.csv`; bad tables exit 2.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

const GRID: &str = "design = \"grid\"\nbatch_size = [20, 40, 80]\nmomentum = [0.0, 0.5]";

fn sweep_file(dir: &Path, name: &str, prune: &str, data_extra: &str, axes: &str) -> PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 11\nrepeats = 2\n{}{data_extra}\n[train]\nhidden = [8]\nepochs = 9\nplots = false\n\
             [sweep]\n{axes}\n{prune}",
            data_table(true)
        ),
    )
}

const PRUNE: &str = "[sweep.prune]\nmethod = \"halving\"\nrungs = [3, 6]\neta = 2\nmetric = \"valid-acc\"\n";

fn run(out: &Path, file: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    pinniped().args(["run", "-q", "--out"]).arg(out).arg(file).args(extra).assert()
}

/// summary.csv without its wall-clock columns (`seconds_*`).
fn summary_without_time(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len()).filter(|&i| !header[i].starts_with("seconds")).collect();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            keep.iter().map(|&i| r.get(i).unwrap_or("").to_string()).collect::<Vec<_>>().join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What must not depend on how the sweep was run: rungs.csv, the summary, each run's state
/// and metrics (without wall seconds).
fn outcome(root: &Path) -> Vec<(String, String)> {
    let mut out = vec![
        ("rungs.csv".to_string(), fs::read_to_string(root.join("rungs.csv")).unwrap()),
        ("summary.csv".to_string(), summary_without_time(&root.join("summary.csv"))),
    ];
    for f in files(&root.join("runs")) {
        let path = root.join("runs").join(&f);
        if f.ends_with("status.json") {
            let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            out.push((f, format!("{} {} {}", v["state"], v["epoch"], v["message"])));
        } else if f.ends_with("metrics.csv") {
            out.push((f, metrics_without_time(&path)));
        } else if f.ends_with(".lock") {
            continue;
        } else {
            out.push((f.clone(), format!("{:x?}", sha(&fs::read(&path).unwrap()))));
        }
    }
    out
}

fn sha(bytes: &[u8]) -> u64 {
    // FNV-1a: a short fingerprint of a file's bytes for the comparison's messages.
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

fn rung_rows(root: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(root.join("rungs.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

#[test]
fn decisions_are_the_same_for_jobs_shards_and_a_kill_and_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "h", PRUNE, "", GRID);
    let one = tmp.path().join("one");
    let assert = run(&one, &file, &["--jobs", "1"]).success();
    let root = one.join("h");
    let reference = outcome(&root);

    // 6 configurations: rung 1 keeps ⌈6/2⌉ = 3, rung 2 keeps 2; two runs each.
    let rows = rung_rows(&root);
    assert_eq!(rows.len(), 6 + 3, "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r[0] == "1" && r[7] == "kept").count(), 3);
    assert_eq!(rows.iter().filter(|r| r[0] == "2" && r[7] == "kept").count(), 2);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let statuses: Vec<String> = files(&root.join("runs"))
        .into_iter()
        .filter(|f| f.ends_with("status.json"))
        .map(|f| fs::read_to_string(root.join("runs").join(f)).unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| s.contains("\"pruned\"")).count(), 8, "4 pruned configurations × 2");
    assert_eq!(statuses.iter().filter(|s| s.contains("\"done\"")).count(), 4, "{stdout}");
    // Pruned configurations are never averaged: their summary rows have no mean.
    let summary = fs::read_to_string(root.join("summary.csv")).unwrap();
    let empty_means = summary.lines().skip(1).filter(|l| l.contains(",2,0,0,0,0,,")).count();
    assert_eq!(empty_means, 4, "{summary}");

    // --jobs 2.
    let two = tmp.path().join("two");
    run(&two, &file, &["--jobs", "2"]).success();
    assert_eq!(outcome(&two.join("h")), reference, "--jobs 2");

    // Two shards at once: each waits at a rung for the other's runs.
    let shards = tmp.path().join("shards");
    let bin = assert_cmd::cargo::cargo_bin("pinniped");
    let spawn = |k: usize| {
        std::process::Command::new(&bin)
            .args(["run", "-q", "--jobs", "1", "--rung-wait", "120", "--shard", &format!("{k}/2"), "--out"])
            .arg(&shards)
            .arg(&file)
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn(0));
        let b = s.spawn(|| spawn(1));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success() && b.status.success(), "{a:?}\n{b:?}");
    assert_eq!(outcome(&shards.join("h")), reference, "two concurrent shards");
    // Both shards decide the same prunes; one of them marks each pruned run, once.
    let events = fs::read_to_string(shards.join("h/events.jsonl")).unwrap();
    assert_eq!(events.lines().filter(|l| l.contains("\"state\":\"pruned\"")).count(), 8, "{events}");

    // Shards one after the other: a shard that cannot decide a rung exits 75 and carries on
    // when run again.
    let serial = tmp.path().join("serial");
    let mut codes = Vec::new();
    for attempt in 0..8 {
        let k = attempt % 2;
        let out = pinniped()
            .args(["run", "-q", "--jobs", "1", "--rung-wait", "0", "--shard", &format!("{k}/2"), "--out"])
            .arg(&serial)
            .arg(&file)
            .output()
            .unwrap();
        codes.push(out.status.code());
        if codes.len() >= 2 && codes[codes.len() - 2..] == [Some(0), Some(0)] {
            break;
        }
        assert!(matches!(out.status.code(), Some(0) | Some(75)), "{out:?}");
    }
    assert!(codes.contains(&Some(75)), "shard 0 had to wait for shard 1 once: {codes:?}");
    assert_eq!(outcome(&serial.join("h")), reference, "shards one after the other: {codes:?}");

    // SIGKILL in a kept run between its rungs, then resume.
    let kept = rows.iter().find(|r| r[0] == "2" && r[7] == "kept").unwrap()[2].clone();
    let killed = tmp.path().join("killed");
    let out = pinniped()
        .args(["run", "-q", "--jobs", "1", "--out"])
        .arg(&killed)
        .arg(&file)
        .args(["--fake-kill-at", &format!("{kept}/rep-1@5")])
        .output()
        .unwrap();
    assert!(!out.status.success(), "killed: {out:?}");
    run(&killed, &file, &["--jobs", "2"]).success();
    assert_eq!(outcome(&killed.join("h")), reference, "SIGKILL at epoch 5 of {kept}/rep-1, then resumed");

    // `summarize` recomputes the decisions from the runs alone.
    fs::remove_file(root.join("rungs.csv")).unwrap();
    pinniped().args(["summarize"]).arg(&root).assert().success();
    assert_eq!(outcome(&root), reference, "summarize rebuilt rungs.csv");
    pinniped()
        .args(["summarize"])
        .arg(&root)
        .assert()
        .success()
        .stdout(predicates::str::contains("the decisions recomputed from the runs agree"));
}

#[test]
fn a_kept_run_ends_exactly_as_it_would_have_without_pruning() {
    let tmp = tempfile::tempdir().unwrap();
    let pruned = sweep_file(tmp.path(), "h", PRUNE, "", GRID);
    let full = sweep_file(tmp.path(), "f", "", "", GRID);
    let out = tmp.path().join("out");
    let halved = run(&out, &pruned, &[]).success();
    // Continuing from a rung is the plan: no "resuming" line for each kept run at each rung.
    let stderr = String::from_utf8_lossy(&halved.get_output().stderr).to_string();
    assert!(!stderr.contains("resuming"), "{stderr}");
    // The same sweep under another name trains every run to its end.
    fs::write(&full, fs::read_to_string(&full).unwrap().replace("name = \"f\"", "name = \"h\"")).unwrap();
    let plain = tmp.path().join("plain");
    run(&plain, &full, &[]).success();
    let rows = rung_rows(&out.join("h"));
    let survivors: Vec<&String> = rows.iter().filter(|r| r[0] == "2" && r[7] == "kept").map(|r| &r[2]).collect();
    assert_eq!(survivors.len(), 2);
    // The event log says where each run paused and which were pruned, as their files do.
    let events: Vec<serde_json::Value> = fs::read_to_string(out.join("h/events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let runs_with = |kind: &str, state: Option<&str>| -> std::collections::BTreeSet<String> {
        events
            .iter()
            .filter(|e| e["event"] == kind && state.is_none_or(|s| e["state"] == s))
            .map(|e| e["run"].as_str().unwrap().to_string())
            .collect()
    };
    let pruned_status: std::collections::BTreeSet<String> = files(&out.join("h/runs"))
        .into_iter()
        .filter(|f| f.ends_with("status.json"))
        .filter(|f| fs::read_to_string(out.join("h/runs").join(f)).unwrap().contains("\"pruned\""))
        .map(|f| f.trim_end_matches("/status.json").to_string())
        .collect();
    assert_eq!(pruned_status.len(), 8, "4 of 6 configurations pruned, 2 repeats each");
    assert_eq!(runs_with("finished", Some("pruned")), pruned_status);
    assert_eq!(runs_with("paused", None).len(), 12, "every run paused at the first rung");
    assert!(events.iter().filter(|e| e["event"] == "paused").all(|e| e["epoch"] == 3 || e["epoch"] == 6));
    for config in survivors {
        for rep in ["rep-1", "rep-2"] {
            let (a, b) = (out.join("h/runs").join(config).join(rep), plain.join("h/runs").join(config).join(rep));
            assert_eq!(files(&a), files(&b), "{config}/{rep}: the same files");
            for f in files(&a) {
                match f.as_str() {
                    "metrics.csv" => assert_eq!(metrics_without_time(&a.join(&f)), metrics_without_time(&b.join(&f))),
                    "status.json" => {}
                    _ => assert_eq!(fs::read(a.join(&f)).unwrap(), fs::read(b.join(&f)).unwrap(), "{config}/{rep}/{f}"),
                }
            }
        }
    }
}

#[test]
fn halving_works_with_a_sobol_design_and_with_kfold_repeats() {
    let tmp = tempfile::tempdir().unwrap();
    let sobol = "design = \"sobol\"\nsamples = 5\nlearning_rate = { log_uniform = [1e-4, 3e-3] }";
    let prune =
        "[sweep.prune]\nmethod = \"halving\"\nrungs = [3]\nkeep = 0.5\nmetric = \"valid-loss\"\nguard = \"paired\"\n";
    let kfold = "resample = \"kfold\"\nfolds = 3\n";
    let file = sweep_file(tmp.path(), "s", prune, "", sobol);
    let text = fs::read_to_string(&file).unwrap().replace("reserve_every = 4\n", kfold).replace("repeats = 2\n", "");
    fs::write(&file, text).unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    run(&one, &file, &["--jobs", "1"]).success();
    run(&two, &file, &["--jobs", "2"]).success();
    assert_eq!(outcome(&one.join("s")), outcome(&two.join("s")));
    let rows = rung_rows(&one.join("s"));
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows.iter().all(|r| r[3] == "3" && r[4] == "3"), "every fold's run scored: {rows:?}");
    // The guard tested every configuration below the kept ones against the best.
    assert!(rows.iter().filter(|r| r[6] != "1" && r[6] != "2" && r[6] != "3").all(|r| !r[8].is_empty()), "{rows:?}");
    assert!(files(&one.join("s/runs")).iter().any(|f| f.contains("rep-1-fold-3/status.json")));
}

#[test]
fn dry_run_shows_the_rungs_and_the_epoch_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "h", PRUNE, "", GRID);
    // 6 configurations × 2 runs: 6 × 3, then 3 × 3, then 2 × 3 epochs per run.
    let budget = (6 * 3 + 3 * 3 + 2 * 3) * 2;
    pinniped().args(["run", "--dry-run"]).arg(&file).assert().success().stdout(predicates::str::contains(format!(
        "successive halving: rungs at epochs 3, 6 rank on valid-acc and keep the best 1/2: at most {budget} \
             epochs of the full sweep's 108"
    )));
    // With the guard the fraction is a floor on what continues, so the budget holds only if it keeps no more.
    let guarded =
        sweep_file(tmp.path(), "g", &PRUNE.replace("[sweep.prune]\n", "[sweep.prune]\nguard = \"paired\"\n"), "", GRID);
    pinniped().args(["run", "--dry-run"]).arg(&guarded).assert().success().stdout(predicates::str::contains(format!(
        "at most {budget} epochs of the full sweep's 108 ({:.1}%) if the paired guard keeps no more",
        100.0 * budget as f64 / 108.0
    )));
}

#[test]
fn bad_prune_tables_are_refused_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    for (case, table, key, hint) in [
        ("no method", "rungs = [3]\neta = 2", "sweep.prune.method", "missing"),
        ("another method", "method = \"hyperband\"\nrungs = [3]\neta = 2", "sweep.prune.method", "\"halving\""),
        (
            "decreasing rungs",
            "method = \"halving\"\nrungs = [6, 3]\neta = 2",
            "sweep.prune.rungs",
            "strictly increasing",
        ),
        ("a rung beyond epochs", "method = \"halving\"\nrungs = [3, 12]\neta = 2", "sweep.prune.rungs", "beyond"),
        ("no rungs", "method = \"halving\"\neta = 2", "sweep.prune.rungs", "missing"),
        ("eta 1", "method = \"halving\"\nrungs = [3]\neta = 1", "sweep.prune.eta", "from 2"),
        ("keep 1", "method = \"halving\"\nrungs = [3]\nkeep = 1.0", "sweep.prune.keep", "between 0 and 1"),
        ("both", "method = \"halving\"\nrungs = [3]\neta = 2\nkeep = 0.5", "sweep.prune.keep", "not both"),
        ("neither", "method = \"halving\"\nrungs = [3]", "sweep.prune.eta", "missing"),
        (
            "metric",
            "method = \"halving\"\nrungs = [3]\neta = 2\nmetric = \"test-acc\"",
            "sweep.prune.metric",
            "valid-acc",
        ),
        ("guard", "method = \"halving\"\nrungs = [3]\neta = 2\nguard = \"wilcoxon\"", "sweep.prune.guard", "paired"),
        ("alpha alone", "method = \"halving\"\nrungs = [3]\neta = 2\nalpha = 0.1", "sweep.prune.alpha", "guard"),
        ("unknown key", "method = \"halving\"\nrungs = [3]\neta = 2\nrung = [3]", "sweep.prune.rung", "did you mean"),
    ] {
        let file = sweep_file(tmp.path(), "bad", &format!("[sweep.prune]\n{table}\n"), "", GRID);
        let out = tmp.path().join("out");
        let assert = pinniped().args(["run", "--out"]).arg(&out).arg(&file).assert().code(2);
        let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(err.contains(&format!("{key}: ")) && err.contains(hint), "{case}: {err}");
        assert!(!out.exists(), "{case}: nothing written");
    }
}

#[test]
fn halving_needs_validation_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "nv", PRUNE, "", GRID);
    fs::write(&file, fs::read_to_string(&file).unwrap().replace("reserve_every = 4\n", "")).unwrap();
    let out = tmp.path().join("out");
    pinniped()
        .args(["run", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("sweep.prune: ranks configurations on validation rows"));
    assert!(!out.exists());
}

#[test]
fn a_changed_prune_table_is_refused_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "h", PRUNE, "", GRID);
    let out = tmp.path().join("out");
    run(&out, &file, &[]).success();
    fs::write(&file, fs::read_to_string(&file).unwrap().replace("eta = 2", "eta = 3")).unwrap();
    run(&out, &file, &[]).code(2).stderr(predicates::str::contains("[sweep.prune]"));
}

#[test]
fn the_fake_trainer_pauses_at_rungs_so_halving_sweeps_test_without_training() {
    // Bookkeeping at scale is measured with the fake trainer: it must stop at rungs as real
    // runs do, so that pruned runs keep only their rung's epochs.
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(tmp.path(), "fake", PRUNE, "", "design = \"grid\"\nhidden = [[4], [8], [16], [32]]");
    let out = tmp.path().join("out");
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    let root = out.join("fake");
    let rows = rung_rows(&root);
    let kept = |rung: &str| rows.iter().filter(|r| r[0] == rung && r[7] == "kept").count();
    assert_eq!((kept("1"), kept("2")), (2, 1), "eta 2 of 4 configurations, then of 2: {rows:?}");
    let mut epochs_by_state = std::collections::BTreeMap::<String, Vec<usize>>::new();
    for f in files(&root.join("runs")).into_iter().filter(|f| f.ends_with("status.json")) {
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(root.join("runs").join(&f)).unwrap()).unwrap();
        let metrics = fs::read_to_string(root.join("runs").join(f.replace("status.json", "metrics.csv"))).unwrap();
        epochs_by_state.entry(v["state"].as_str().unwrap().into()).or_default().push(metrics.lines().count() - 1);
    }
    assert_eq!(epochs_by_state["done"], vec![9, 9], "{epochs_by_state:?}");
    let mut pruned = epochs_by_state["pruned"].clone();
    pruned.sort_unstable();
    assert_eq!(pruned, vec![3, 3, 3, 3, 6, 6], "pruned at the first rung (2 configurations) and the second (1)");
}
