//! The live view and the machine-readable stream: `events.jsonl` (one started and one
//! finished line per run, several processes appending), `--message-format json` on stdout,
//! and `pinniped watch` on finished, half-finished and wrong directories.

mod common;

use common::*;
use predicates::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// 3 learning rates × 2 repeats: 0.2 diverges half way under the fake trainer.
fn sweep(dir: &Path, name: &str) -> PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 3\nrepeats = 2\n{}\n[train]\nhidden = [8]\nepochs = 6\nplots = false\n\
             [sweep]\nlearning_rate = [0.01, 0.02, 0.2]\n",
            data_table(true)
        ),
    )
}

/// The run ids in plan order (plan.csv's second column).
fn plan_ids(root: &Path) -> Vec<String> {
    let mut plan = csv::Reader::from_path(root.join("plan.csv")).unwrap();
    plan.records().map(|r| r.unwrap()[1].to_string()).collect()
}

/// Every line of a JSON-lines text, each checked to be one object with `"schema":1` first.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            assert!(line.starts_with("{\"schema\":1,\"event\":\""), "not a schema-1 event: {line}");
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let time = v["time"].as_str().unwrap();
            // RFC 3339 in UTC with milliseconds: 2026-12-01T15:40:59.123Z.
            assert!(time.len() == 24 && time.ends_with('Z') && &time[10..11] == "T", "{time}");
            assert!(v["pid"].as_u64().is_some(), "{line}");
            v
        })
        .collect()
}

fn events(root: &Path) -> Vec<Value> {
    json_lines(&fs::read_to_string(root.join("events.jsonl")).unwrap())
}

/// How many lines of kind `event` each run has.
fn per_run(events: &[Value], event: &str) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for e in events.iter().filter(|e| e["event"] == event) {
        *n.entry(e["run"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    n
}

fn once_each(ids: &[String]) -> BTreeMap<String, usize> {
    ids.iter().map(|id| (id.clone(), 1)).collect()
}

#[test]
fn the_event_log_has_one_started_and_one_finished_line_per_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = sweep(tmp.path(), "ev");
    pinniped().args(["run", "-q", "--fake-trainer", "--jobs", "2", "--out"]).arg(&out).arg(&file).assert().success();
    let root = out.join("ev");
    let ids = plan_ids(&root);
    let log = events(&root);
    assert_eq!(log[0]["event"], "plan");
    assert_eq!((log[0]["runs"].as_u64(), log[0]["configurations"].as_u64()), (Some(6), Some(3)));
    assert_eq!((log[0]["todo"].as_u64(), &log[0]["shard"]), (Some(6), &Value::Null));
    assert_eq!(per_run(&log, "started"), once_each(&ids));
    assert_eq!(per_run(&log, "finished"), once_each(&ids));
    for e in log.iter().filter(|e| e["event"] == "finished") {
        let id = e["run"].as_str().unwrap();
        let status: Value =
            serde_json::from_str(&fs::read_to_string(root.join("runs").join(id).join("status.json")).unwrap()).unwrap();
        assert_eq!(e["state"], status["state"], "{id}");
        assert_eq!(e["state"] == "diverged", id.contains("learning_rate=0.2"), "{id}");
    }
    // Six epochs: every one is logged (the cadence thins only runs of more than 100 epochs),
    // with the train and valid metrics; a diverged run stops half way.
    let epochs = per_run(&log, "epoch");
    for id in &ids {
        assert_eq!(epochs[id], if id.contains("learning_rate=0.2") { 2 } else { 6 }, "{id}");
    }
    let epoch = log.iter().find(|e| e["event"] == "epoch").unwrap();
    for key in ["train_loss", "train_acc", "valid_loss", "valid_acc"] {
        assert!(epoch[key].as_f64().is_some(), "{key}: {epoch}");
    }
    // A second invocation with nothing left to train leaves the log as it was; a rerun appends.
    let before = fs::read_to_string(root.join("events.jsonl")).unwrap();
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    assert_eq!(fs::read_to_string(root.join("events.jsonl")).unwrap(), before);
    pinniped().args(["rerun", "-q", "--fake-trainer", "--run", &ids[0]]).arg(&root).assert().success();
    let after = fs::read_to_string(root.join("events.jsonl")).unwrap();
    assert!(after.starts_with(&before), "the log was appended to, never rewritten");
    let appended = json_lines(&after[before.len()..]);
    assert_eq!(per_run(&appended, "finished"), once_each(&ids[..1]));
}

#[test]
fn two_shards_appending_to_one_log_write_whole_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = sweep(tmp.path(), "sh");
    let bin = assert_cmd::cargo::cargo_bin("pinniped");
    let shard = |k: &str| {
        std::process::Command::new(&bin)
            .args(["run", "-q", "--fake-trainer", "--fake-delay-ms", "2", "--jobs", "2", "--shard", k, "--out"])
            .arg(&out)
            .arg(&file)
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (shard("0/2"), shard("1/2"));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let root = out.join("sh");
    let log = events(&root);
    let mut shards: Vec<&str> =
        log.iter().filter(|e| e["event"] == "plan").map(|e| e["shard"].as_str().unwrap()).collect();
    shards.sort_unstable();
    assert_eq!(shards, ["0/2", "1/2"]);
    let pids: std::collections::BTreeSet<u64> = log.iter().map(|e| e["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 2);
    let ids = plan_ids(&root);
    assert_eq!(per_run(&log, "started"), once_each(&ids));
    assert_eq!(per_run(&log, "finished"), once_each(&ids));
}

#[test]
fn message_format_json_puts_only_the_events_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = sweep(tmp.path(), "js");
    let run = pinniped()
        .args(["run", "--fake-trainer", "--message-format", "json", "--out"])
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8(run.stdout).unwrap();
    let streamed = json_lines(&stdout);
    // The same lines as the log, in the same order (one process, one reporter).
    assert_eq!(stdout, fs::read_to_string(out.join("js/events.jsonl")).unwrap());
    assert_eq!(per_run(&streamed, "finished"), once_each(&plan_ids(&out.join("js"))));
    // The human report is still there, on stderr.
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(stderr.contains("sweep js:") && stderr.contains("best by validation"), "{stderr}");

    let ids = plan_ids(&out.join("js"));
    let rerun = pinniped()
        .args(["rerun", "--fake-trainer", "--message-format", "json", "--run", &ids[1]])
        .arg(out.join("js"))
        .output()
        .unwrap();
    assert!(rerun.status.success(), "{rerun:?}");
    let streamed = json_lines(&String::from_utf8(rerun.stdout).unwrap());
    assert_eq!(streamed[0]["event"], "plan");
    assert_eq!(per_run(&streamed, "finished"), once_each(&ids[1..2]));

    pinniped()
        .args(["run", "--message-format", "xml"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("human").and(predicate::str::contains("json")));
}

/// The line of `run`'s report naming the best configuration: `best by validation: ID  …`.
fn best_of_report(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().find(|l| l.starts_with("best by validation")).expect("a best line");
    line.split(": ").nth(1).unwrap().split_whitespace().next().unwrap().to_string()
}

#[test]
fn watch_once_shows_the_counts_and_the_best_configuration_of_a_finished_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = sweep(tmp.path(), "w");
    let run = pinniped().args(["run", "--fake-trainer", "--out"]).arg(&out).arg(&file).output().unwrap();
    assert!(run.status.success());
    let best = best_of_report(&run.stdout);
    let watch = pinniped().args(["watch", "--once"]).arg(out.join("w")).output().unwrap();
    assert!(watch.status.success(), "{watch:?}");
    let frame = String::from_utf8(watch.stdout).unwrap();
    assert!(frame.contains("w: 6 runs: 4 done, 2 diverged, 0 failed, 0 running, 0 pending"), "{frame}");
    assert!(frame.contains("every run has ended"), "{frame}");
    // The first of the ranking is the configuration the sweep's own report chose, with its interval.
    let first = frame.lines().find(|l| l.trim_start().starts_with("1. ")).expect("a ranking");
    assert!(
        first.contains(&format!("1. {best} ")) && first.contains(" [") && first.contains("(2/2 runs done)"),
        "{first}"
    );
    // The diverged configuration has no done run: it is not ranked.
    assert!(!frame.contains("3. "), "{frame}");
    // Without --once, a finished sweep is one frame too: watch ends when every run has.
    pinniped().args(["watch", "--interval", "0.1"]).arg(out.join("w")).assert().success();
}

#[test]
fn watch_once_on_a_killed_sweep_shows_the_running_and_pending_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = sweep(tmp.path(), "half");
    pinniped().args(["run", "--fake-trainer", "--dry-run", "--out"]).arg(&out).arg(&file).assert().success();
    // One worker trains in plan order: killed in the third run's fourth epoch (20 ms an epoch:
    // its start and first epochs are in the log by then), the first two have finished, the
    // third is running by the log, the other three are pending.
    let run = std::process::Command::new(assert_cmd::cargo::cargo_bin("pinniped"))
        .args(["run", "-q", "--fake-trainer", "--jobs", "1", "--fake-delay-ms", "20"])
        .args(["--fake-kill-at", "learning_rate=0.02/rep-1@4", "--out"])
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(run.status.signal(), Some(9), "{run:?}");
    let root = out.join("half");
    assert_eq!(plan_ids(&root)[2], "learning_rate=0.02/rep-1", "the victim is the third run");
    let watch = pinniped().args(["watch", "--once"]).arg(&root).output().unwrap();
    assert!(watch.status.success(), "{watch:?}");
    let frame = String::from_utf8(watch.stdout).unwrap();
    assert!(frame.contains("half: 6 runs: 2 done, 0 diverged, 0 failed, 1 running, 3 pending"), "{frame}");
    // Its last epochs' lines may not have been written before the kill: some epoch of it.
    let victim = frame
        .lines()
        .find(|l| l.trim_start().starts_with("learning_rate=0.02/rep-1  "))
        .unwrap_or_else(|| panic!("{frame}"));
    assert!(victim.contains("  epoch ") && victim.contains("/6  valid acc 0."), "{victim}");
    assert!(frame.contains("1. learning_rate=0.01 ") && frame.contains("(2/2 runs done)"), "{frame}");
    assert!(frame.contains("throughput: "), "{frame}");
}

#[test]
fn watch_on_a_directory_that_is_not_a_results_directory_says_which_to_give() {
    let tmp = tempfile::tempdir().unwrap();
    pinniped()
        .args(["watch", "--once"])
        .arg(tmp.path().join("nowhere"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere").and(predicate::str::contains("give <out>/<name>")));
    pinniped()
        .args(["watch", "--interval", "0"])
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("from 0.1 to 3600"));
}

#[test]
fn a_symlink_planted_at_the_event_log_is_refused_and_its_target_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = sweep(tmp.path(), "ln");
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    let root = out.join("ln");
    let victim = write(tmp.path(), "victim.txt", "keep me\n");
    fs::remove_file(root.join("events.jsonl")).unwrap();
    std::os::unix::fs::symlink(&victim, root.join("events.jsonl")).unwrap();
    let ids = plan_ids(&root);
    pinniped()
        .args(["rerun", "-q", "--fake-trainer", "--run", &ids[0]])
        .arg(&root)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("events.jsonl").and(predicate::str::contains("symlink")));
    pinniped().args(["watch", "--once"]).arg(&root).assert().code(2).stderr(predicate::str::contains("events.jsonl"));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me\n");
}
