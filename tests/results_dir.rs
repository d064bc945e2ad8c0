//! The results directory's integrity: pinniped never deletes or overwrites what it
//! did not write, never follows a symlink out of a results directory, and a results
//! directory works from any working directory, moved, without its data.

mod common;

use common::*;
use predicates::prelude::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A two-configuration sweep (4 runs) on copies of the shipped data in `data_dir`,
/// written to `dir/<name>.toml` with data paths `data_ref` (as written in the file).
fn sweep_file(dir: &Path, name: &str, data_ref: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 5\nrepeats = 2\n[data]\ntrain = \"{data_ref}/TRAIN.tsv.gz\"\n\
             test = \"{data_ref}/TEST.tsv.gz\"\nreserve_every = 4\n[train]\nhidden = [4]\nepochs = 3\n\
             [sweep]\nbatch_size = [40, 80]\n"
        ),
    )
}

fn copy_data(to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::copy(train_tsv(), to.join("TRAIN.tsv.gz")).unwrap();
    fs::copy(test_tsv(), to.join("TEST.tsv.gz")).unwrap();
}

/// A finished fake sweep `name` in `tmp/out/<name>`, its data in `tmp/data`.
fn finished_sweep(tmp: &Path, name: &str) -> (PathBuf, PathBuf) {
    copy_data(&tmp.join("data"));
    let file = sweep_file(&tmp.join("exp"), name, "../data");
    let out = tmp.join("out");
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    (file, out.join(name))
}

fn user_files(dir: &Path) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("notes.txt"), "my notes\n").unwrap();
    fs::write(dir.join("sub/data.tsv"), "1\t0.5\n").unwrap();
}

fn train_cmd(out: &Path) -> assert_cmd::Command {
    let mut c = pinniped();
    c.args(["train", "-q", "--train"]).arg(train_tsv()).args(["--epochs", "2", "--hidden", "4", "--out"]).arg(out);
    c
}

#[test]
fn train_out_refuses_a_directory_with_files_it_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("work");
    user_files(&dir);
    let before = snapshot(&dir);
    train_cmd(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out").and(predicate::str::contains("not empty")));
    assert_eq!(snapshot(&dir), before);
    // `--out .` is the same case, seen from inside.
    let mut c = pinniped();
    c.current_dir(&dir).args(["train", "-q", "--train"]).arg(train_tsv()).args(["--epochs", "2", "--out", "."]);
    c.assert().code(2);
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn train_out_refuses_a_finished_sweep_and_leaves_it_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, root) = finished_sweep(tmp.path(), "paper");
    let before = snapshot(&root);
    train_cmd(&root).assert().code(2).stderr(predicate::str::contains("sweep"));
    assert_eq!(snapshot(&root), before);
}

#[test]
fn default_train_out_refuses_a_sweep_named_train() {
    let tmp = tempfile::tempdir().unwrap();
    copy_data(&tmp.path().join("data"));
    let file = sweep_file(tmp.path(), "train", "data");
    let mut run = pinniped();
    run.current_dir(tmp.path()).args(["run", "-q", "--fake-trainer"]).arg(&file).assert().success();
    let root = tmp.path().join("results/train");
    let before = snapshot(&root);
    let mut train = pinniped();
    train.current_dir(tmp.path()).args(["train", "-q", "--train"]).arg(train_tsv()).args(["--epochs", "2"]);
    train.assert().code(2).stderr(predicate::str::contains("results/train"));
    assert_eq!(snapshot(&root), before);
}

#[test]
fn train_out_replaces_its_own_earlier_output_file_by_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t");
    train_cmd(&dir).args(["--save-every", "1"]).assert().success();
    assert!(dir.join("checkpoints/epoch-0002.safetensors").is_file());
    fs::write(dir.join("notes.txt"), "kept\n").unwrap();
    fs::write(dir.join("checkpoints/mine.txt"), "kept too\n").unwrap();
    train_cmd(&dir).args(["--seed", "9"]).assert().success();
    assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "kept\n");
    assert_eq!(fs::read_to_string(dir.join("checkpoints/mine.txt")).unwrap(), "kept too\n");
    // The old run's files are gone: no checkpoints without save_every, a new seed.
    assert!(!dir.join("checkpoints/epoch-0002.safetensors").exists());
    assert!(fs::read_to_string(dir.join("config.toml")).unwrap().contains("seed = 9"));
    assert!(dir.join("status.json").is_file());
}

#[test]
fn train_out_refuses_a_sweeps_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, root) = finished_sweep(tmp.path(), "rd");
    let run = root.join("runs/batch_size=40/rep-1");
    let before = snapshot(&root);
    train_cmd(&run).assert().code(2).stderr(predicate::str::contains("marker"));
    assert_eq!(snapshot(&root), before);
}

#[test]
fn run_out_naming_a_file_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    copy_data(&tmp.path().join("data"));
    let file = sweep_file(&tmp.path().join("exp"), "of", "../data");
    let not_dir = write(tmp.path(), "out.txt", "keep\n");
    for out in [not_dir.clone(), tmp.path().to_path_buf()] {
        if out == tmp.path() {
            fs::write(tmp.path().join("of"), "keep\n").unwrap();
        }
        pinniped()
            .args(["run", "-q", "--fake-trainer", "--out"])
            .arg(&out)
            .arg(&file)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not a directory"));
    }
    assert_eq!(fs::read_to_string(&not_dir).unwrap(), "keep\n");
    assert_eq!(fs::read_to_string(tmp.path().join("of")).unwrap(), "keep\n");
}

#[test]
fn train_out_naming_a_file_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "precious.txt", "do not touch\n");
    train_cmd(&file).assert().code(2).stderr(predicate::str::contains("not a directory"));
    assert_eq!(fs::read_to_string(&file).unwrap(), "do not touch\n");
}

/// The symlinks an adversary (or an accident) may place inside a results directory.
const SYMLINK_CASES: &[(&str, &str)] = &[
    ("config directory", "runs/batch_size=40"),
    ("run directory", "runs/batch_size=40/rep-1"),
    ("runs", "runs"),
    ("sweep plots", "plots"),
];

#[test]
fn no_command_follows_a_symlink_inside_a_results_directory() {
    for (case, link) in SYMLINK_CASES {
        let tmp = tempfile::tempdir().unwrap();
        let (file, root) = finished_sweep(tmp.path(), "s");
        // The target holds what was there plus a file of the user's.
        let elsewhere = tmp.path().join("elsewhere");
        fs::rename(root.join(link), &elsewhere).unwrap();
        fs::write(elsewhere.join("mine.txt"), "mine\n").unwrap();
        symlink(&elsewhere, root.join(link)).unwrap();
        let before = snapshot(&elsewhere);
        let commands: Vec<Vec<String>> = vec![
            vec!["rerun".into(), "-q".into(), "--fake-trainer".into(), root.display().to_string(), "--failed".into()],
            vec![
                "rerun".into(),
                "-q".into(),
                "--fake-trainer".into(),
                root.display().to_string(),
                "--run".into(),
                "batch_size=40/rep-1".into(),
            ],
            vec![
                "run".into(),
                "-q".into(),
                "--fake-trainer".into(),
                "--force".into(),
                "--out".into(),
                tmp.path().join("out").display().to_string(),
                file.display().to_string(),
            ],
            vec!["status".into(), root.display().to_string()],
            vec!["report".into(), root.display().to_string()],
        ];
        for args in commands {
            let out = pinniped().args(&args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{case}: {args:?} must exit 2: {err}");
            assert!(err.contains("symlink"), "{case}: {args:?} must say why: {err}");
            assert_eq!(snapshot(&elsewhere), before, "{case}: {args:?} changed the symlink's target");
        }
    }
}

#[test]
fn a_symlink_among_a_runs_own_files_is_removed_not_followed() {
    for link in ["plots", "checkpoints", "status.json", "metrics.csv"] {
        let tmp = tempfile::tempdir().unwrap();
        let (_, root) = finished_sweep(tmp.path(), "own");
        let run = root.join("runs/batch_size=40/rep-1");
        let elsewhere = tmp.path().join("elsewhere");
        user_files(&elsewhere);
        let _ = fs::remove_dir_all(run.join(link));
        let _ = fs::remove_file(run.join(link));
        let target = if link.contains('.') { elsewhere.join("notes.txt") } else { elsewhere.clone() };
        symlink(&target, run.join(link)).unwrap();
        let before = snapshot(&elsewhere);
        pinniped()
            .args(["rerun", "-q", "--fake-trainer"])
            .arg(&root)
            .args(["--run", "batch_size=40/rep-1"])
            .assert()
            .success();
        assert_eq!(snapshot(&elsewhere), before, "{link}: the symlink's target changed");
        assert!(!run.join(link).is_symlink(), "{link}: still a symlink after the rerun");
    }
}

#[test]
fn results_work_from_any_directory_moved_and_without_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, root) = finished_sweep(tmp.path(), "mv");
    let moved = tmp.path().join("moved");
    fs::rename(&root, &moved).unwrap();
    fs::remove_dir_all(tmp.path().join("data")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    for cmd in ["status", "summarize", "report"] {
        let out = pinniped().current_dir(elsewhere.path()).arg(cmd).arg(&moved).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(moved.join("summary.csv").is_file() && moved.join("report.html").is_file());
}

#[test]
fn relative_data_paths_resolve_against_the_sweep_files_directory() {
    let tmp = tempfile::tempdir().unwrap();
    copy_data(&tmp.path().join("project/data"));
    let file = sweep_file(&tmp.path().join("project/experiments"), "rel", "../data");
    let cwd = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    pinniped()
        .current_dir(cwd.path())
        .args(["run", "-q", "--fake-trainer", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .success();
    // Stored absolute: it names the data wherever the results are read from.
    let stored = fs::read_to_string(out.join("rel/sweep.toml")).unwrap();
    let data = tmp.path().join("project/experiments/../data/TRAIN.tsv.gz");
    assert!(stored.contains(&format!("{:?}", data.display().to_string())), "{stored}");
    // So do those of a `pinniped train` file.
    let run_file = write(
        &tmp.path().join("project/experiments"),
        "one.toml",
        "[data]\ntrain = \"../data/TRAIN.tsv.gz\"\n[train]\nhidden = [4]\nepochs = 2\n",
    );
    pinniped()
        .current_dir(cwd.path())
        .args(["train", "-q"])
        .arg(&run_file)
        .arg("--out")
        .arg(tmp.path().join("one"))
        .assert()
        .success();
    // A missing relative file is reported with the path it resolved to.
    let bad = sweep_file(&tmp.path().join("project/experiments"), "bad", "nowhere");
    pinniped()
        .current_dir(cwd.path())
        .args(["run", "-q", "--fake-trainer", "--out"])
        .arg(&out)
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("project/experiments/nowhere/TRAIN.tsv.gz"));
}

#[test]
fn rerun_after_the_data_changed_is_refused_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, root) = finished_sweep(tmp.path(), "dc");
    // One unfinished run, so that `--failed` has something to retrain.
    fs::remove_file(root.join("runs/batch_size=80/rep-2/status.json")).unwrap();
    // Other bytes, still valid data.
    fs::copy(test_tsv(), tmp.path().join("data/TRAIN.tsv.gz")).unwrap();
    let before = snapshot(&root);
    for args in [vec!["--failed"], vec!["--run", "batch_size=40/rep-1"]] {
        pinniped()
            .args(["rerun", "-q", "--fake-trainer"])
            .arg(&root)
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--force").and(predicate::str::contains("data")));
        assert_eq!(snapshot(&root), before, "{args:?} changed the results");
    }
    pinniped()
        .args(["rerun", "-q", "--fake-trainer", "--force"])
        .arg(&root)
        .args(["--run", "batch_size=40/rep-1"])
        .assert()
        .success();
    assert_ne!(snapshot(&root), before);
}

#[test]
fn a_sweep_whose_data_moved_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    copy_data(&tmp.path().join("data"));
    let file = sweep_file(&tmp.path().join("exp"), "moved", "../data");
    let out = tmp.path().join("out");
    pinniped().args(["run", "-q", "--fake-trainer", "--shard", "0/2", "--out"]).arg(&out).arg(&file).assert().success();
    let done_before = snapshot(&out.join("moved/runs"));
    fs::rename(tmp.path().join("data"), tmp.path().join("new-data")).unwrap();
    let file = sweep_file(&tmp.path().join("exp"), "moved", "../new-data");
    pinniped()
        .args(["run", "--fake-trainer", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("(2 already finished)"));
    let after = snapshot(&out.join("moved/runs"));
    for (path, bytes) in &done_before {
        if path.ends_with("status.json") || path.ends_with("metrics.csv") {
            assert_eq!(after.get(path), Some(bytes), "{path} was retrained");
        }
    }
    pinniped().arg("status").arg(out.join("moved")).assert().success().stdout(predicate::str::contains("4 done"));
    // The new path is stored: rerun finds the data there.
    pinniped()
        .args(["rerun", "-q", "--fake-trainer"])
        .arg(out.join("moved"))
        .args(["--run", "batch_size=40/rep-1"])
        .assert()
        .success();
}

#[test]
fn rerun_without_its_data_says_where_it_looked_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, root) = finished_sweep(tmp.path(), "nd");
    // One unfinished run, so that `--failed` has something to retrain.
    fs::remove_file(root.join("runs/batch_size=80/rep-2/status.json")).unwrap();
    fs::remove_dir_all(tmp.path().join("data")).unwrap();
    let before = snapshot(&root);
    pinniped()
        .args(["rerun", "-q", "--fake-trainer"])
        .arg(&root)
        .arg("--failed")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("TRAIN.tsv.gz").and(predicate::str::contains("pinniped run FILE")));
    assert_eq!(snapshot(&root), before);
}

#[test]
fn no_lock_file_stays_beside_a_finished_run_with_either_lock() {
    for mode in ["flock", "file"] {
        let tmp = tempfile::tempdir().unwrap();
        copy_data(&tmp.path().join("data"));
        let file = sweep_file(&tmp.path().join("exp"), "lk", "../data");
        let out = tmp.path().join("out");
        pinniped()
            .env("PINNIPED_LOCK", mode)
            .args(["run", "-q", "--fake-trainer", "--jobs", "2", "--out"])
            .arg(&out)
            .arg(&file)
            .assert()
            .success();
        let left: Vec<String> =
            files(&out.join("lk")).into_iter().filter(|f| f.ends_with(".lock") || f.contains("lock-probe")).collect();
        assert!(left.is_empty(), "PINNIPED_LOCK={mode}: {left:?}");
        pinniped().arg("status").arg(out.join("lk")).assert().success().stdout(predicate::str::contains("4 done"));
    }
}

#[test]
fn an_unknown_lock_setting_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    copy_data(&tmp.path().join("data"));
    let file = sweep_file(&tmp.path().join("exp"), "ul", "../data");
    pinniped()
        .env("PINNIPED_LOCK", "nfs")
        .args(["run", "-q", "--fake-trainer", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PINNIPED_LOCK"));
}

#[test]
fn status_tells_running_runs_from_pending_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, root) = finished_sweep(tmp.path(), "st");
    // Two unfinished runs: one claimed by a live process on this host (this test), one
    // whose claimer died.
    for id in ["batch_size=40/rep-1", "batch_size=80/rep-2"] {
        fs::remove_file(root.join("runs").join(id).join("status.json")).unwrap();
    }
    let host = String::from_utf8(std::process::Command::new("hostname").output().unwrap().stdout).unwrap();
    let live = format!("host={}\npid={}\n", host.trim(), std::process::id());
    fs::write(root.join("runs/batch_size=40/rep-1.lock"), live).unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    fs::write(root.join("runs/batch_size=80/rep-2.lock"), format!("host={}\npid={dead}\n", host.trim())).unwrap();
    pinniped().arg("status").arg(&root).assert().success().stdout(
        predicate::str::contains("2 done, 0 diverged, 0 failed, 1 running, 1 pending")
            .and(predicate::str::contains("running   batch_size=40/rep-1")),
    );
}

#[test]
fn status_of_a_missing_or_parent_directory_says_which() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, root) = finished_sweep(tmp.path(), "pa");
    pinniped()
        .arg("status")
        .arg(tmp.path().join("nope"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such directory"));
    pinniped()
        .arg("status")
        .arg(root.parent().unwrap())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("parent").and(predicate::str::contains(root.display().to_string())));
}

#[test]
fn lock_files_keep_two_processes_from_training_the_same_run() {
    let tmp = tempfile::tempdir().unwrap();
    copy_data(&tmp.path().join("data"));
    let file = write(
        tmp.path(),
        "two.toml",
        &format!(
            "name = \"two\"\nseed = 3\nrepeats = 2\n[data]\ntrain = {:?}\nreserve_every = 4\n[train]\nhidden = [4]\n\
             epochs = 4\n[sweep]\nbatch_size = [40, 80, 120]\nmomentum = [0.0, 0.5]\n",
            tmp.path().join("data/TRAIN.tsv.gz").display().to_string()
        ),
    );
    let out = tmp.path().join("out");
    let bin = assert_cmd::cargo::cargo_bin("pinniped");
    let spawn = || {
        std::process::Command::new(&bin)
            .args(["run", "--fake-trainer", "--jobs", "1", "--out"])
            .arg(&out)
            .arg(&file)
            .env("PINNIPED_LOCK", "file")
            .args(["--fake-delay-ms", "10"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    assert_each_run_trained_once(&a.stdout, &b.stdout, 12);
    pinniped().arg("status").arg(out.join("two")).assert().success().stdout(predicate::str::contains("12 done"));
}

#[test]
fn a_stale_lock_file_is_taken_over_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, root) = finished_sweep(tmp.path(), "so");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let host = String::from_utf8(std::process::Command::new("hostname").output().unwrap().stdout).unwrap();
    // A claimer on this host that died, and one on another node whose heartbeat stopped.
    let stale = [
        ("batch_size=40/rep-1", format!("host={}\npid={dead}\n", host.trim()), false),
        ("batch_size=80/rep-2", "host=gone-node\npid=1\nslurm_job=77_3\n".to_string(), true),
    ];
    for (id, text, old) in &stale {
        fs::remove_file(root.join("runs").join(id).join("status.json")).unwrap();
        let lock = root.join("runs").join(format!("{id}.lock"));
        fs::write(&lock, text).unwrap();
        if *old {
            let then = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
            fs::File::options().write(true).open(&lock).unwrap().set_modified(then).unwrap();
        }
    }
    pinniped().arg("status").arg(&root).assert().success().stdout(predicate::str::contains("0 running, 2 pending"));
    pinniped()
        .env("PINNIPED_LOCK", "file")
        .args(["run", "-q", "--fake-trainer", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&file)
        .assert()
        .success();
    pinniped().arg("status").arg(&root).assert().success().stdout(predicate::str::contains("4 done"));
    for (id, _, _) in &stale {
        assert!(!root.join("runs").join(format!("{id}.lock")).exists(), "{id}: lock file left behind");
    }
}
