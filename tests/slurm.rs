//! Against a real single-node Slurm (`scripts/slurm-local.sh up`; `.ci/run` brings
//! it up and down): a sweep as a 4-task job array plus a merge job gives the same
//! results as the same sweep run locally; a task cancelled with `scancel` leaves
//! runs that `rerun --failed` completes; a task warned as `--requeue` asks (SIGUSR1)
//! saves its runs' state, requeues itself and ends with the local run's bytes. Ignored
//! by default: it needs the daemons.
//!
//!     scripts/slurm-local.sh up && cargo test --release --test slurm -- --ignored; scripts/slurm-local.sh down

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn sweep(dir: &Path, name: &str, epochs: usize, method: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 3\nrepeats = 2\n{}\n[train]\nhidden = [8]\nbatch_size = 40\nepochs = {epochs}\nmethod = \"{method}\"\ntest_every = 0\nplots = false\n[sweep]\ndesign = \"grid\"\nbatch_size = [40, 80]\nmomentum = [0.0, 0.5]\n",
            data_table(true)
        ),
    )
}

/// Job ids from `pinniped slurm --submit`'s output.
fn job_ids(stdout: &str) -> (String, String) {
    let line = stdout.lines().find(|l| l.starts_with("submitted array job")).expect("submitted line");
    let words: Vec<&str> = line.split_whitespace().collect();
    (words[3].to_string(), words[7].to_string())
}

fn wait_gone(jobs: &[&str], limit: Duration) {
    let start = Instant::now();
    loop {
        let out = Command::new("squeue").args(["-h", "-j", &jobs.join(",")]).output().expect("squeue runs");
        if String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "jobs {jobs:?} still queued after {limit:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// summary.csv without the wall-clock columns (the only ones that differ between machines).
fn summary_without_time(path: &Path) -> String {
    // The wall-time columns are the only ones that may differ; found by name, not position.
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    let keep: Vec<usize> = (0..header.len()).filter(|&i| !header[i].starts_with("seconds_")).collect();
    let row = |r: &csv::StringRecord| keep.iter().map(|&i| r[i].to_string()).collect::<Vec<_>>().join(",");
    let mut lines = vec![row(&header)];
    lines.extend(reader.records().map(|r| row(&r.unwrap())));
    lines.join("\n")
}

#[test]
#[ignore = "needs a running Slurm: scripts/slurm-local.sh up"]
fn array_plus_merge_equals_a_local_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep(tmp.path(), "arr", 6, "auto");
    let (local, cluster) = (tmp.path().join("local"), tmp.path().join("cluster"));
    pinniped().args(["run", "-q", "--out"]).arg(&local).arg(&file).assert().success();

    let out = pinniped()
        .args(["slurm", "--tasks", "4", "--max-parallel", "2", "--submit", "--out"])
        .arg(&cluster)
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let (array, merge) = job_ids(&stdout);
    wait_gone(&[&array, &merge], Duration::from_secs(240));

    let dir = cluster.join("arr");
    let array_script = fs::read_to_string(dir.join("slurm/array.sbatch")).unwrap();
    assert!(array_script.contains("--array=0-3%2") && array_script.contains("--shard \"$SLURM_ARRAY_TASK_ID/4\""));
    for k in 0..4 {
        assert!(dir.join(format!("slurm/task-{k}.out")).exists(), "task {k} log");
    }
    let merged = fs::read_to_string(dir.join("slurm/merge.out")).unwrap();
    assert!(merged.contains("8 runs: 8 done"), "merge job output: {merged}");
    assert_eq!(summary_without_time(&local.join("arr/summary.csv")), summary_without_time(&dir.join("summary.csv")));
    for f in files(&local.join("arr/runs")) {
        let (a, b) = (local.join("arr/runs").join(&f), dir.join("runs").join(&f));
        if f.ends_with("metrics.csv") {
            assert_eq!(metrics_without_time(&a), metrics_without_time(&b), "{f}");
        } else if f.ends_with(".safetensors") || f.ends_with("weights.csv.gz") {
            assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap(), "{f}");
        }
    }
}

#[test]
#[ignore = "needs a running Slurm: scripts/slurm-local.sh up"]
fn a_cancelled_task_is_completed_by_rerun_failed() {
    let tmp = tempfile::tempdir().unwrap();
    // Long enough (about 2 s a run, 2 runs a task) that task 0 is still running when cancelled.
    let file = sweep(tmp.path(), "cancel", 3000, "direct");
    let out_dir = tmp.path().join("cluster");
    let out =
        pinniped().args(["slurm", "--tasks", "4", "--submit", "--out"]).arg(&out_dir).arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let (array, merge) = job_ids(&stdout);
    // Wait until task 0 runs, then cancel it alone.
    let start = Instant::now();
    loop {
        let q = Command::new("squeue").args(["-h", "-t", "R", "-o", "%i", "-j", &array]).output().unwrap();
        if String::from_utf8_lossy(&q.stdout).lines().any(|l| l.trim() == format!("{array}_0")) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "task 0 never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(Command::new("scancel").arg(format!("{array}_0")).status().unwrap().success());
    wait_gone(&[&array, &merge], Duration::from_secs(240));

    let dir = out_dir.join("cancel");
    let status = pinniped().arg("status").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(!text.contains("8 done"), "task 0's runs cannot all be done: {text}");
    assert!(text.contains("pending"), "{text}");
    pinniped().args(["rerun", "-q"]).arg(&dir).arg("--failed").assert().success();
    let after = pinniped().arg("status").arg(&dir).output().unwrap();
    assert!(
        String::from_utf8_lossy(&after.stdout).contains("8 runs: 8 done"),
        "{}",
        String::from_utf8_lossy(&after.stdout)
    );
}

#[test]
#[ignore = "needs a running Slurm: scripts/slurm-local.sh up"]
fn a_warned_task_saves_requeues_itself_and_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    // About 2 s a run, 2 runs a task: task 0 is mid-run when the warning comes.
    let file = sweep(tmp.path(), "warned", 3000, "direct");
    let (local, cluster) = (tmp.path().join("local"), tmp.path().join("cluster"));
    pinniped().args(["run", "-q", "--jobs", "2", "--out"]).arg(&local).arg(&file).assert().success();
    let out = pinniped()
        .args(["slurm", "--tasks", "4", "--requeue", "--warn-seconds", "60", "--submit", "--out"])
        .arg(&cluster)
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let (array, merge) = job_ids(&stdout);
    let dir = cluster.join("warned");
    // Once task 0 trains (a second after it starts: pinniped is up and its first run is
    // training), send it what Slurm sends --warn-seconds before the time limit: SIGUSR1 to
    // the batch script, which passes it on.
    let start = Instant::now();
    loop {
        let q = Command::new("squeue").args(["-h", "-t", "R", "-o", "%i", "-j", &array]).output().unwrap();
        if String::from_utf8_lossy(&q.stdout).lines().any(|l| l.trim() == format!("{array}_0")) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "task 0 never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1000));
    // While the batch step starts, slurmctld may answer "Job can not be altered now" and
    // deliver the signal all the same; once the task is requeued, `--batch` has no step to
    // signal ("Invalid job id"). So: send until one is accepted or the task stops running,
    // then judge by what the task did (its log and its runs, below).
    let running = || {
        let q = Command::new("squeue").args(["-h", "-t", "R", "-o", "%i", "-j", &array]).output().unwrap();
        String::from_utf8_lossy(&q.stdout).lines().any(|l| l.trim() == format!("{array}_0"))
    };
    for _ in 0..40 {
        let sent = Command::new("scancel").args(["--signal=USR1", "--batch"]).arg(format!("{array}_0")).status();
        if sent.unwrap().success() || !running() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    wait_gone(&[&array, &merge], Duration::from_secs(400));

    let log = fs::read_to_string(dir.join("slurm/task-0.out")).unwrap();
    assert!(log.contains("resuming "), "task 0 was not requeued and resumed:\n{log}");
    let merged = fs::read_to_string(dir.join("slurm/merge.out")).unwrap();
    assert!(merged.contains("8 runs: 8 done"), "merge job output: {merged}");
    assert_eq!(summary_without_time(&local.join("warned/summary.csv")), summary_without_time(&dir.join("summary.csv")));
    for f in files(&local.join("warned/runs")) {
        let (a, b) = (local.join("warned/runs").join(&f), dir.join("runs").join(&f));
        if f.ends_with("metrics.csv") {
            assert_eq!(metrics_without_time(&a), metrics_without_time(&b), "{f}");
        } else if f.ends_with(".safetensors") || f.ends_with(".gz") || f.ends_with(".npz") {
            assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap(), "{f}");
        }
    }
}
