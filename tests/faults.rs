//! Faults: SIGKILL at ten moments then resume (of the sweep, and of real training inside
//! runs, from their saved states), SIGUSR1 (save and exit 75), damaged or foreign states,
//! a disk that fills up (injected, and a real 800 KiB tmpfs), diverging runs. Finished work
//! is never lost, resume is exact, and no partial file is ever left where a result belongs.

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

/// A real sweep whose runs save their state every 4 epochs: both engines, f32 and f64, SGD
/// with momentum (the Gram method) and Adam, dropout, early stopping and refit.
fn resumable_sweep(dir: &Path, name: &str) -> std::path::PathBuf {
    let point = |keys: &str| format!("[[sweep.point]]\n{}\n", keys.replace(", ", "\n"));
    let points = [
        point("engine = \"native\", momentum = 0.9, method = \"gram\""),
        point("engine = \"native\", dtype = \"f64\", optimizer = \"adam\", dropout = 0.2, patience = 4"),
        point("engine = \"candle\", momentum = 0.5, momentum_rule = \"classic\", dropout = 0.2"),
        point("engine = \"candle\", dtype = \"f64\", optimizer = \"adam\", refit = true, patience = 3"),
        point("engine = \"native\", refit = true, momentum = 0.9, dropout = 0.1"),
    ];
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 5\nrepeats = 1\n{}\n[train]\nhidden = [8]\nepochs = 14\nbatch_size = 30\n\
             learning_rate = 0.01\nstate_every = 4\nsave_every = 3\nconfusion_every = 2\nplots = true\n\
             diagnostics = true\ncheckpoints = true\n[sweep]\ndesign = \"list\"\n{}",
            data_table(true),
            points.concat()
        ),
    )
}

/// A run directory's files, wall-clock fields left out: `seconds` of `status.json` and the
/// last column of `metrics.csv`. Everything else, byte for byte.
fn run_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = snapshot(dir);
    for (name, bytes) in all.iter_mut() {
        if name.ends_with("metrics.csv") {
            *bytes = metrics_without_time(&dir.join(name)).into_bytes();
        } else if name.ends_with("status.json") {
            let text = String::from_utf8(bytes.clone()).unwrap();
            *bytes =
                text.lines().filter(|l| !l.trim_start().starts_with("\"seconds\"")).collect::<String>().into_bytes();
        }
    }
    all
}

fn runs_of(root: &Path) -> BTreeMap<String, Vec<u8>> {
    run_files(&root.join("runs"))
}

/// The plan's run ids and how many epochs each trained (from an uninterrupted sweep).
fn epochs_of(root: &Path) -> Vec<(String, usize)> {
    let plan = fs::read_to_string(root.join("plan.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(plan.as_bytes());
    let id = reader.headers().unwrap().iter().position(|h| h == "id").unwrap();
    reader
        .records()
        .map(|r| {
            let run = r.unwrap()[id].to_string();
            let rows =
                fs::read_to_string(root.join("runs").join(&run).join("metrics.csv")).unwrap().lines().count() - 1;
            (run, rows)
        })
        .collect()
}

#[test]
fn a_real_trainer_killed_at_ten_moments_inside_runs_resumes_to_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let file = resumable_sweep(tmp.path(), "r");
    let (clean, killed) = (tmp.path().join("clean"), tmp.path().join("killed"));
    pinniped().args(["run", "-q", "--jobs", "1", "--out"]).arg(&clean).arg(&file).assert().success();
    let runs = epochs_of(&clean.join("r"));
    assert!(files(&clean.join("r/runs")).iter().all(|f| !f.ends_with("state.bin")), "a finished run keeps no state");

    // Ten (run, epoch) points from a fixed xorshift stream, in plan order, each inside its run
    // (before its last epoch); state_every = 4, so most fall between two states.
    let mut state = 0x2545f4914f6cdd1du64;
    let mut points = Vec::new();
    while points.len() < 10 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let r = (state % runs.len() as u64) as usize;
        let epoch = 1 + ((state >> 16) % (runs[r].1 as u64 - 1)) as usize;
        if !points.contains(&(r, epoch)) {
            points.push((r, epoch));
        }
    }
    points.sort();
    let mut resumed = 0;
    for (r, epoch) in points {
        let out = pinniped()
            .args(["run", "-q", "--jobs", "1", "--out"])
            .arg(&killed)
            .arg(&file)
            .args(["--fake-kill-at", &format!("{}@{epoch}", runs[r].0)])
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(9), "killed in {} at epoch {epoch}", runs[r].0);
        let stderr = String::from_utf8_lossy(&out.stderr);
        resumed += stderr.matches("resuming ").count();
        let dir = killed.join("r/runs").join(&runs[r].0);
        assert!(!dir.join("status.json").exists(), "a killed run is unfinished");
        assert_eq!(dir.join("state.bin").exists(), epoch > 4, "state after epoch {}", epoch / 4 * 4);
    }
    let last = pinniped().args(["run", "-q", "--jobs", "1", "--out"]).arg(&killed).arg(&file).assert().success();
    let stderr = String::from_utf8_lossy(&last.get_output().stderr).to_string();
    resumed += stderr.matches("resuming ").count();
    assert!(resumed >= 5, "most kills came after a state was saved ({resumed} resumes)");
    assert_eq!(runs_of(&clean.join("r")), runs_of(&killed.join("r")), "every run file, byte for byte");
    assert!(files(&killed.join("r")).iter().all(|f| !f.ends_with("state.bin") && !f.contains(".tmp-")));
}

#[test]
fn sigusr1_saves_the_running_runs_state_exits_75_and_the_same_command_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let file = resumable_sweep(tmp.path(), "u");
    let (clean, stopped) = (tmp.path().join("clean"), tmp.path().join("stopped"));
    pinniped().args(["run", "-q", "--jobs", "1", "--out"]).arg(&clean).arg(&file).assert().success();
    let runs = epochs_of(&clean.join("u"));
    // Epoch 6 of the candle run with dropout (14 epochs): between two states (4 and 8).
    let (id, epochs) = &runs[2];
    assert_eq!(*epochs, 14);
    let out = pinniped()
        .args(["run", "-q", "--jobs", "1", "--out"])
        .arg(&stopped)
        .arg(&file)
        .args(["--fake-signal-at", &format!("{id}@6")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("SIGUSR1: saving"), "{stderr}");
    let dir = stopped.join("u/runs").join(id);
    assert!(dir.join("state.bin").is_file() && !dir.join("status.json").exists());
    for (later, _) in &runs[3..] {
        assert!(!stopped.join("u/runs").join(later).exists(), "no run starts after the signal: {later}");
    }
    let again = pinniped().args(["run", "--jobs", "1", "--out"]).arg(&stopped).arg(&file).assert().success();
    let stderr = String::from_utf8_lossy(&again.get_output().stderr).to_string();
    assert!(stderr.contains(&format!("resuming {id} from epoch 6")), "{stderr}");
    assert_eq!(runs_of(&clean.join("u")), runs_of(&stopped.join("u")));
}

#[test]
fn sigusr1_inside_an_epoch_saves_at_the_next_batch_boundary_and_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let file = resumable_sweep(tmp.path(), "b");
    let clean = tmp.path().join("clean");
    pinniped().args(["run", "-q", "--jobs", "1", "--out"]).arg(&clean).arg(&file).assert().success();
    let runs = epochs_of(&clean.join("b"));
    // 160 training rows in batches of 30: 6 batches an epoch. The native Gram run and the
    // candle run with dropout, each stopped after batch 2 of epoch 6 (between states 4 and 8).
    for r in [0, 2] {
        let (id, _) = &runs[r];
        let stopped = tmp.path().join(format!("stopped-{r}"));
        let out = pinniped()
            .args(["run", "-q", "--jobs", "1", "--out"])
            .arg(&stopped)
            .arg(&file)
            .args(["--fake-signal-at", &format!("{id}@6:2")])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(75), "{stderr}");
        assert!(stderr.contains("SIGUSR1: saving the running runs' state at their next batch boundary"), "{stderr}");
        let dir = stopped.join("b/runs").join(id);
        assert!(dir.join("state.bin").is_file() && !dir.join("status.json").exists());
        let again = pinniped().args(["run", "--jobs", "1", "--out"]).arg(&stopped).arg(&file).assert().success();
        let stderr = String::from_utf8_lossy(&again.get_output().stderr).to_string();
        assert!(stderr.contains(&format!("resuming {id} from epoch 5 + 2 of the 6 batches of epoch 6")), "{stderr}");
        assert_eq!(runs_of(&clean.join("b")), runs_of(&stopped.join("b")), "run {id}");
    }
}

#[test]
fn a_damaged_or_foreign_state_is_refused_and_the_run_restarts_from_scratch() {
    let tmp = tempfile::tempdir().unwrap();
    let file = resumable_sweep(tmp.path(), "d");
    let (clean, out) = (tmp.path().join("clean"), tmp.path().join("out"));
    pinniped().args(["run", "-q", "--jobs", "1", "--out"]).arg(&clean).arg(&file).assert().success();
    let runs = epochs_of(&clean.join("d"));
    // One invocation, killed in `run` at `epoch` (or finishing, without): its stderr.
    let invoke = |kill: Option<(usize, usize)>| {
        let mut cmd = pinniped();
        cmd.args(["run", "-q", "--jobs", "1", "--out"]).arg(&out).arg(&file);
        if let Some((r, epoch)) = kill {
            cmd.args(["--fake-kill-at", &format!("{}@{epoch}", runs[r].0)]);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.success(), kill.is_none());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let state = |r: usize| out.join("d/runs").join(&runs[r].0).join("state.bin");
    let refused = |stderr: &str, r: usize, why: &str| {
        let line = stderr.lines().find(|l| l.contains("not resumed")).unwrap_or_else(|| panic!("{stderr}"));
        assert!(line.contains(why) && line.contains(&format!("run {} starts from scratch", runs[r].0)), "{line}");
        assert!(!stderr.contains(&format!("resuming {}", runs[r].0)), "{stderr}");
    };

    invoke(Some((0, 6)));
    let foreign = fs::read(state(0)).unwrap();
    fs::write(state(0), &foreign[..foreign.len() - 7]).unwrap();
    refused(&invoke(Some((2, 9))), 0, "checksum does not match (truncated or corrupt)");

    let mut bytes = fs::read(state(2)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    fs::write(state(2), &bytes).unwrap();
    refused(&invoke(Some((4, 5))), 2, "checksum does not match");

    // A sound state of another configuration (run 0's: the same network and dtype as run 4's).
    fs::write(state(4), &foreign).unwrap();
    refused(&invoke(None), 4, "config hash");
    assert_eq!(runs_of(&clean.join("d")), runs_of(&out.join("d")), "every run file, byte for byte");
}
