//! Schema versions of a results directory (`spec::schema`): pinniped records the schema in
//! `sweep.toml`, every run's `config.toml` and `status.json`; a directory without the key
//! (made before it existed) reads as schema 1, byte for byte as before; a directory of a later
//! schema is refused with exit 2, naming the file and what reads it, before anything is written.

mod common;
use common::{data_table, pinniped, write};
use std::fs;
use std::path::{Path, PathBuf};

const SUMMARY_FILES: [&str; 5] = ["summary.csv", "comparisons.csv", "selection.csv", "importance.csv", "runs.csv"];

/// A finished fake sweep of two configurations × 2 repeats; returns its results directory.
fn finished_sweep(dir: &Path) -> PathBuf {
    let file = write(
        dir,
        "s.toml",
        &format!(
            "name = \"s\"\nseed = 5\nrepeats = 2\n{}\n[train]\nhidden = [4]\nepochs = 3\n[sweep]\nhidden = [[4], [8]]\n",
            data_table(true)
        ),
    );
    let out = dir.join("out");
    pinniped().args(["run", "-q", "--fake-trainer"]).arg(&file).arg("--out").arg(&out).assert().success();
    out.join("s")
}

/// Every run directory below `root/runs`.
fn run_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for config in fs::read_dir(root.join("runs")).unwrap().flatten() {
        for run in fs::read_dir(config.path()).unwrap().flatten() {
            if run.path().is_dir() {
                dirs.push(run.path());
            }
        }
    }
    dirs.sort();
    dirs
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_file_with_a_key_records_schema_1() {
    let dir = tempfile::tempdir().unwrap();
    let root = finished_sweep(dir.path());
    assert!(read(&root.join("sweep.toml")).lines().any(|l| l == "schema = 1"), "sweep.toml");
    for run in run_dirs(&root) {
        assert!(read(&run.join("config.toml")).lines().any(|l| l == "schema = 1"), "{}", run.display());
        assert!(read(&run.join("status.json")).starts_with("{\n  \"schema\": 1,\n"), "{}", run.display());
    }
}

#[test]
fn a_directory_without_schema_keys_reads_as_schema_1_with_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let root = finished_sweep(dir.path());
    let before: Vec<String> = SUMMARY_FILES.iter().map(|f| read(&root.join(f))).collect();
    // As an older pinniped wrote it: no `schema` anywhere.
    let strip = |path: &Path, line: &str| {
        let text = read(path);
        assert!(text.contains(line), "{}", path.display());
        fs::write(path, text.replacen(line, "", 1)).unwrap();
    };
    strip(&root.join("sweep.toml"), "schema = 1\n");
    for run in run_dirs(&root) {
        strip(&run.join("config.toml"), "schema = 1\n");
        strip(&run.join("status.json"), "  \"schema\": 1,\n");
    }
    for f in SUMMARY_FILES {
        fs::remove_file(root.join(f)).unwrap();
    }
    pinniped().arg("summarize").arg(&root).assert().success();
    for (f, b) in SUMMARY_FILES.iter().zip(&before) {
        assert_eq!(&read(&root.join(f)), b, "{f}");
    }
    let status = pinniped().arg("status").arg(&root).assert().success();
    assert!(String::from_utf8_lossy(&status.get_output().stdout).contains("4 runs: 4 done"));
    // A run's config.toml without the key still trains alone.
    let run = &run_dirs(&root)[0];
    let out = dir.path().join("alone");
    pinniped().args(["train", "-q"]).arg(run.join("config.toml")).arg("--out").arg(&out).assert().success();
    assert!(read(&out.join("config.toml")).lines().any(|l| l == "schema = 1"), "written anew with the key");
}

#[test]
fn a_directory_of_a_later_schema_is_refused_naming_the_file_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = finished_sweep(dir.path());
    let stored = root.join("sweep.toml");
    fs::write(&stored, read(&stored).replacen("schema = 1\n", "schema = 2\n", 1)).unwrap();
    let files_before: Vec<(PathBuf, Vec<u8>)> =
        SUMMARY_FILES.iter().map(|f| (root.join(f), fs::read(root.join(f)).unwrap())).collect();
    for args in [vec!["summarize"], vec!["status"], vec!["report"], vec!["rerun", "-q", "--fake-trainer", "--failed"]] {
        let out = pinniped().args(&args).arg(&root).assert().code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains(&stored.display().to_string()), "{args:?}: names the file: {err}");
        assert!(err.contains("schema") && err.contains("newer pinniped"), "{args:?}: says why: {err}");
        assert!(err.contains("schema 2") && err.contains("reads schemas 1 to 1"), "{args:?}: {err}");
    }
    for (path, bytes) in files_before {
        assert_eq!(fs::read(&path).unwrap(), bytes, "{} unchanged", path.display());
    }
    // A run's config.toml of a later schema is refused by `train` the same way.
    let config = run_dirs(&root)[0].join("config.toml");
    fs::write(&config, read(&config).replacen("schema = 1\n", "schema = 7\n", 1)).unwrap();
    let out = pinniped().args(["train", "-q"]).arg(&config).arg("--out").arg(dir.path().join("t")).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("config.toml") && err.contains("schema 7"), "{err}");
}
