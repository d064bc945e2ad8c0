//! Faults: SIGKILL at ten moments then resume, a disk that fills up (injected, and a
//! real 800 KiB tmpfs), diverging runs. Finished work is never lost, resume is exact,
//! and no partial file is ever left where a result belongs.

mod common;

use common::*;
use predicates::prelude::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

/// Every file's bytes, but the event log's: a log of what happened (times, pids, the killed
/// attempts' lines), not a result.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir)
        .into_iter()
        .filter(|f| f != "events.jsonl")
        .map(|f| (f.clone(), fs::read(dir.join(&f)).unwrap()))
        .collect()
}

fn sweep(dir: &Path, name: &str, epochs: usize, axes: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        &format!("name = \"{name}\"\nseed = 5\nrepeats = 2\n{}\n[train]\nhidden = [8]\nepochs = {epochs}\nplots = false\n[sweep]\n{axes}\n", data_table(true)),
    )
}

#[test]
fn killed_ten_times_then_resumed_equals_an_uninterrupted_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep(tmp.path(), "k", 12, "design = \"grid\"\nbatch_size = [20, 40, 80]\nmomentum = [0.0, 0.5, 0.9]");
    let (clean, killed) = (tmp.path().join("clean"), tmp.path().join("killed"));
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&clean).arg(&file).assert().success();

    let bin = assert_cmd::cargo::cargo_bin("pinniped");
    let mut state = 0x9e3779b97f4a7c15u64; // xorshift: the same ten moments every time
    for _ in 0..10 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let wait = 20 + state % 160;
        let mut child = std::process::Command::new(&bin)
            .args(["run", "-q", "--fake-trainer", "--jobs", "2", "--out"])
            .arg(&killed)
            .arg(&file)
            .args(["--fake-delay-ms", "1"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(wait));
        let _ = child.kill(); // SIGKILL, wherever it is: training, writing a file, renaming
        let _ = child.wait();
    }
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&killed).arg(&file).assert().success();
    // Every file byte for byte: summary, metrics, statuses, configs; no stray temporaries.
    assert_eq!(snapshot(&clean.join("k")), snapshot(&killed.join("k")));
}

#[test]
fn a_full_disk_fails_the_affected_run_and_keeps_everything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = sweep(tmp.path(), "full", 3, "batch_size = [40, 80]");
    pinniped().args(["run", "-q", "--out"]).arg(&out).arg(&file).assert().success();
    let before = snapshot(&out.join("full/runs"));

    // Grow the sweep; one new run's metrics.csv hits a full disk.
    fs::write(&file, fs::read_to_string(&file).unwrap().replace("[40, 80]", "[40, 80, 120]")).unwrap();
    pinniped()
        .args(["run", "--out"])
        .arg(&out)
        .arg(&file)
        .args(["--inject-write-error", "batch_size=120/rep-2/metrics.csv"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("FAILED    batch_size=120/rep-2")
                .and(predicate::str::contains("No space left on device")),
        );
    let after = snapshot(&out.join("full/runs"));
    for (f, bytes) in &before {
        assert_eq!(after.get(f), Some(bytes), "{f} changed");
    }
    let dir = out.join("full");
    pinniped()
        .arg("status")
        .arg(&dir)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("5 done, 0 diverged, 1 failed"));
    assert!(files(&dir).iter().all(|f| !f.contains(".tmp-")), "no temporary file left behind");
    // The summary still counts it, and a rerun with space again completes it.
    pinniped().args(["rerun", "-q", "--failed"]).arg(&dir).assert().success();
    pinniped().arg("status").arg(&dir).assert().success().stdout(predicate::str::contains("6 done"));

    // The summary itself cannot be written: a clear error, runs kept.
    pinniped()
        .args(["rerun", "-q"])
        .arg(&dir)
        .args(["--run", "batch_size=40/rep-1"])
        .args(["--inject-write-error", "summary.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("summary.csv").and(predicate::str::contains("No space left")));
    assert!(read_status_ok(&dir.join("runs/batch_size=40/rep-1")));
}

fn read_status_ok(run: &Path) -> bool {
    fs::read_to_string(run.join("status.json")).is_ok_and(|s| s.contains("\"done\""))
}

/// A real full filesystem: an 800 KiB tmpfs in a private mount namespace (`unshare -rm`),
/// too small for the sweep (a run with its predictions.npz is about 170 KB: some fit, then the
/// disk is full). Inside, pinniped runs, then the script lists what is left.
#[test]
fn a_real_full_then_read_only_tmpfs_loses_nothing_that_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep(tmp.path(), "tiny", 2, "design = \"grid\"\nbatch_size = [40, 80]\nmomentum = [0.0, 0.5]");
    let mnt = tmp.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("pinniped");
    let script = format!(
        "mount -t tmpfs -o size=800k tmpfs {m} || exit 97\n\
         {b} run --out {m} {f} 2>&1; echo \"exit=$?\"\n\
         mount -o remount,ro {m} || exit 98\n\
         {b} run --out {m} {f} 2>&1; echo \"ro-exit=$?\"\n\
         for d in {m}/tiny/runs/*/rep-*; do\n\
           echo \"run $d $(grep -o '\"state\": \"[a-z]*\"' $d/status.json 2>/dev/null) lines=$(cat $d/metrics.csv 2>/dev/null | wc -l)\"\n\
           grep -h '\"message\"' $d/status.json 2>/dev/null\n\
         done\n\
         find {m} -name '.*.tmp-*' | sed 's/^/temp /'\n",
        m = mnt.display(),
        b = bin.display(),
        f = file.display()
    );
    let out = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .output()
        .expect("unshare (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.code() != Some(97),
        "cannot mount a tmpfs in a user namespace here: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("exit=1"), "some runs must fail on a full disk:\n{text}");
    assert!(text.contains("No space left on device"), "the failure says why:\n{text}");
    let done: Vec<&str> = text.lines().filter(|l| l.contains("\"state\": \"done\"")).collect();
    assert!(!done.is_empty(), "some runs fit before the disk filled:\n{text}");
    for l in &done {
        assert!(l.ends_with("lines=3"), "a finished run has its whole metrics.csv (header + 2 epochs): {l}");
    }
    assert!(!text.contains("\ntemp "), "no temporary file left:\n{text}");
    // Read-only: one clear error, nothing lost (the listing above comes after it).
    assert!(text.contains("ro-exit=1") && text.contains("Read-only file system"), "{text}");
}

#[test]
fn diverged_runs_are_counted_but_never_averaged() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = sweep(tmp.path(), "div", 10, "learning_rate = [0.001, 0.1]");
    pinniped()
        .args(["run", "--fake-trainer", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("diverged  learning_rate=0.1/rep-1  diverged in epoch 5"));
    let summary = fs::read_to_string(out.join("div/summary.csv")).unwrap();
    // By column name: summary.csv gains columns (n, intervals) between and after these.
    let mut lines = summary.lines().map(|l| l.split(',').collect::<Vec<_>>());
    let header = lines.next().unwrap();
    let row = lines.find(|r| r[0] == "0.1").unwrap();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name}"))];
    assert_eq!(["runs", "done", "failed", "diverged", "n"].map(cell), ["2", "0", "0", "2", "0"], "diverged: counted");
    for (h, v) in header.iter().zip(&row) {
        assert!(!h.contains("_acc") || v.is_empty(), "diverged: no means, no intervals: {h} = {v}");
    }
    let metrics = fs::read_to_string(out.join("div/runs/learning_rate=0.1/rep-1/metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 5, "the 4 epochs before the divergence are kept");
}
