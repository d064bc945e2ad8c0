//! Attacks through the filesystem: planted markers and symlinks where pinniped writes or
//! reads back its own files. Whatever is planted, the files outside stay byte-identical.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A finished two-configuration fake sweep: returns (sweep file, results directory).
fn finished_sweep(tmp: &Path) -> (PathBuf, PathBuf) {
    let file = write(
        tmp,
        "s.toml",
        &format!("name = \"s\"\nseed = 3\nrepeats = 1\n{}[train]\nhidden = [4]\nepochs = 2\n[sweep]\nbatch_size = [40, 80]\n", data_table(true)),
    );
    let out = tmp.join("out");
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    (file, out.join("s"))
}

/// Files of a user's own, outside any results directory.
fn outside(tmp: &Path) -> PathBuf {
    let dir = tmp.join("elsewhere");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("secret.txt"), "name = \"not a sweep\"\n").unwrap();
    dir
}

#[test]
fn a_marker_pinniped_did_not_write_does_not_make_user_files_replaceable() {
    for (case, marker) in [("empty (touch)", &b""[..]), ("other text", &b"mine\n"[..])] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("mine");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join(".pinniped-run"), marker).unwrap();
        fs::write(out.join("metrics.csv"), "my own metrics\n").unwrap();
        fs::write(out.join("status.json"), "{}\n").unwrap();
        let before = snapshot(&out);
        let result = pinniped()
            .args(["train", "-q", "--train"])
            .arg(train_tsv())
            .args(["--epochs", "2", "--hidden", "4", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{case}: {err}");
        assert!(err.contains(".pinniped-run") && err.contains("did not write"), "{case}: {err}");
        assert_eq!(snapshot(&out), before, "{case}: the user's files changed");
    }
}

#[test]
fn a_symlink_planted_at_a_plot_is_replaced_never_written_through() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, root) = finished_sweep(tmp.path());
    let elsewhere = outside(tmp.path());
    let before = snapshot(&elsewhere);
    let plot = root.join("plots/axis-batch_size-error.png");
    assert!(plot.is_file(), "the sweep draws {}", plot.display());
    fs::remove_file(&plot).unwrap();
    symlink(elsewhere.join("secret.txt"), &plot).unwrap();
    pinniped().arg("report").arg(&root).assert().success();
    assert_eq!(snapshot(&elsewhere), before, "a plot was written through its symlink");
    assert!(fs::symlink_metadata(&plot).unwrap().is_file(), "the plot is a file of its own again");

    // A train output's plots too.
    let out = tmp.path().join("train");
    let train = || {
        let mut c = pinniped();
        c.args(["train", "-q", "--train"]).arg(train_tsv()).args(["--epochs", "2", "--hidden", "4", "--out"]).arg(&out);
        c
    };
    train().assert().success();
    let plot = out.join("plots/error.png");
    fs::remove_file(&plot).unwrap();
    symlink(elsewhere.join("secret.txt"), &plot).unwrap();
    train().assert().success();
    assert_eq!(snapshot(&elsewhere), before, "a train plot was written through its symlink");
}

#[test]
fn a_symlinked_stored_file_is_refused_by_every_command_before_it_is_read() {
    let commands: [(&str, &[&str]); 6] = [
        ("status", &["status"]),
        ("summarize", &["summarize"]),
        ("report", &["report"]),
        ("rerun --failed", &["rerun", "--fake-trainer", "--failed"]),
        ("run", &["run", "--fake-trainer"]),
        ("slurm", &["slurm", "--tasks", "2"]),
    ];
    for stored in pinniped::results::layout::ROOT_FILES {
        for (name, args) in commands {
            let case = format!("{stored} under {name}");
            let tmp = tempfile::tempdir().unwrap();
            let (file, root) = finished_sweep(tmp.path());
            let elsewhere = outside(tmp.path());
            let before = snapshot(&elsewhere);
            let link = root.join(stored);
            // Every root file a finished sweep has is replaced; one it lacks is planted.
            let _ = fs::remove_file(&link);
            symlink(elsewhere.join("secret.txt"), &link).unwrap();
            let mut cmd = pinniped();
            cmd.args(args);
            if matches!(name, "run" | "slurm") {
                // These take the sweep file and write to <out>/<name>.
                cmd.arg("--out").arg(root.parent().unwrap()).arg(&file);
            } else {
                cmd.arg(&root);
            }
            let result = cmd.output().unwrap();
            let err = String::from_utf8_lossy(&result.stderr);
            assert_eq!(result.status.code(), Some(2), "{case}: {err}");
            assert!(err.contains(stored) && err.contains("symlink"), "{case}: {err}");
            assert!(!err.contains("not a sweep"), "{case}: the target's content was read: {err}");
            assert_eq!(snapshot(&elsewhere), before, "{case}: the target changed");
            assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "{case}: the symlink is kept");
        }
    }
}

#[test]
fn the_wrong_kind_of_file_where_pinniped_keeps_its_own_is_refused_by_every_command() {
    // (case, what to plant: the path below the results directory and whether it is a directory)
    let cases: [(&str, &str, bool); 6] = [
        ("runs/ is a file", "runs", false),
        ("a configuration directory is a file", "runs/batch_size=80", false),
        ("a run directory is a file", "runs/batch_size=40/rep-1", false),
        ("plots/ is a file", "plots", false),
        ("plan.csv is a directory", "plan.csv", true),
        ("a lock file is a directory", "runs/batch_size=40/rep-1.lock", true),
    ];
    for (case, planted, as_dir) in cases {
        for command in ["status", "summarize", "report", "rerun"] {
            let tmp = tempfile::tempdir().unwrap();
            let (_, root) = finished_sweep(tmp.path());
            let path = root.join(planted);
            let _ = fs::remove_dir_all(&path);
            let _ = fs::remove_file(&path);
            if as_dir {
                fs::create_dir_all(path.join("mine")).unwrap();
            } else {
                fs::write(&path, "mine\n").unwrap();
            }
            let before = snapshot(&root);
            let mut cmd = pinniped();
            cmd.arg(command);
            if command == "rerun" {
                cmd.args(["--fake-trainer", "--failed"]);
            }
            let result = cmd.arg(&root).output().unwrap();
            let err = String::from_utf8_lossy(&result.stderr);
            assert_eq!(result.status.code(), Some(2), "{case} under {command}: {err}");
            assert!(err.contains(planted) && err.contains("move it out"), "{case} under {command}: {err}");
            assert_eq!(snapshot(&root), before, "{case} under {command}: the results directory changed");
        }
    }
}

#[test]
fn an_unreadable_stored_sweep_is_refused_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, root) = finished_sweep(tmp.path());
    let huge = "#".repeat(pinniped::fsx::MAX_TEXT_BYTES as usize + 1);
    fs::write(root.join("sweep.toml"), &huge).unwrap();
    let result = pinniped()
        .args(["run", "-q", "--fake-trainer", "--out"])
        .arg(root.parent().unwrap())
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{err}");
    assert!(err.contains("sweep.toml") && err.contains("--force"), "{err}");
    assert_eq!(fs::read_to_string(root.join("sweep.toml")).unwrap(), huge, "the stored sweep was replaced");
}

#[test]
fn train_out_replacing_its_output_keeps_user_files_with_pinniped_like_names() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("train");
    let train = || {
        let mut c = pinniped();
        c.args(["train", "-q", "--train"]).arg(train_tsv()).args(["--epochs", "2", "--hidden", "4", "--out"]).arg(&out);
        c
    };
    train().assert().success();
    let mine = ["confusion-mine.csv", "metrics-old.csv", "plots/my-figure.png", "checkpoints/notes.txt"];
    for f in mine {
        fs::create_dir_all(out.join(f).parent().unwrap()).unwrap();
        fs::write(out.join(f), format!("{f} is mine\n")).unwrap();
    }
    train().assert().success();
    for f in mine {
        assert_eq!(fs::read_to_string(out.join(f)).unwrap(), format!("{f} is mine\n"), "{f} was replaced or removed");
    }
}

#[test]
fn a_symlink_among_a_runs_files_is_never_read_and_the_run_is_retrained() {
    for file in ["status.json", "metrics.csv", "config.toml"] {
        let tmp = tempfile::tempdir().unwrap();
        let (_, root) = finished_sweep(tmp.path());
        let run = root.join("runs/batch_size=40/rep-1");
        let elsewhere = outside(tmp.path());
        // The target holds the run's own bytes: a follower could not tell it apart.
        fs::copy(run.join(file), elsewhere.join(file)).unwrap();
        let before = snapshot(&elsewhere);
        fs::remove_file(run.join(file)).unwrap();
        symlink(elsewhere.join(file), run.join(file)).unwrap();
        if file == "status.json" {
            let status = pinniped().arg("status").arg(&root).output().unwrap();
            let text = String::from_utf8_lossy(&status.stdout);
            assert!(text.contains("1 done") && text.contains("1 pending"), "{file}: {text}");
        }
        pinniped()
            .args(["rerun", "-q", "--fake-trainer", "--run", "batch_size=40/rep-1"])
            .arg(&root)
            .assert()
            .success();
        assert_eq!(snapshot(&elsewhere), before, "{file}: the symlink's target changed");
        assert!(fs::symlink_metadata(run.join(file)).unwrap().is_file(), "{file}: the run has its own file again");
    }
}
