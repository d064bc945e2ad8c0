//! Shared helpers for the integration tests: temp dirs, the shipped data, the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn train_tsv() -> PathBuf {
    repo().join("data/phoneme/Phoneme_TRAIN.tsv.gz")
}

pub fn test_tsv() -> PathBuf {
    repo().join("data/phoneme/Phoneme_TEST.tsv.gz")
}

/// A `[data]` table on the shipped Phoneme files (absolute paths, so tests can run anywhere).
pub fn data_table(with_test: bool) -> String {
    let mut s = format!("[data]\ntrain = {:?}\nreserve_every = 4\n", train_tsv().display().to_string());
    if with_test {
        s.push_str(&format!("test = {:?}\n", test_tsv().display().to_string()));
    }
    s
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn pinniped() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("pinniped").unwrap()
}

/// metrics.csv without its wall-clock `seconds` column: the part that must be
/// bit-identical between runs of the same configuration.
pub fn metrics_without_time(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every file below `dir`, relative, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The ids a `pinniped run` reported as trained (done or diverged) on its stdout.
pub fn finished_ids(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| l.split_once("] ").map(|(_, rest)| rest))
        .filter(|rest| rest.starts_with("done") || rest.starts_with("diverged"))
        .filter_map(|rest| rest.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

/// Two processes shared a sweep: together they trained every one of its `runs` runs, none twice
/// (judged from the runs each says it finished).
pub fn assert_each_run_trained_once(a: &[u8], b: &[u8], runs: usize) {
    let (ia, ib) = (finished_ids(a), finished_ids(b));
    let mut all: Vec<String> = ia.iter().chain(&ib).cloned().collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(n, all.len(), "a run was trained twice: {ia:?} / {ib:?}");
    assert_eq!(n, runs, "every run trained: {ia:?} / {ib:?}");
}

/// Every file below `dir` with its bytes (symlinks are not followed).
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let kind = e.file_type().unwrap();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            if kind.is_symlink() {
                out.insert(rel, format!("-> {}", std::fs::read_link(&p).unwrap().display()).into_bytes());
            } else if kind.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A diagnostics table's text: gunzipped when the name ends in `.gz` (`weights.csv.gz`).
pub fn read_table(path: &Path) -> String {
    use std::io::Read;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "gz") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
        text
    } else {
        String::from_utf8(bytes).unwrap()
    }
}
