//! The live summary (kept in memory during a sweep) against `summarize` (rebuilt
//! from disk): the same bytes, whatever mix of outcomes and processes made the runs.

mod common;
use common::{data_table, pinniped, write};
use std::fs;
use std::path::Path;

/// The files a sweep's summary consists of: written live during a sweep and by `summarize`.
const SUMMARY_FILES: [&str; 3] = ["summary.csv", "importance.csv", "runs.csv"];

/// Runs `pinniped run` on a sweep, then checks that `summarize` rebuilds every summary file
/// with exactly the bytes the run left behind.
fn assert_live_equals_summarize(case: &str, dir: &Path) {
    let live: Vec<Vec<u8>> = SUMMARY_FILES
        .iter()
        .map(|f| fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{case}: no live {f}: {e}")))
        .collect();
    for f in SUMMARY_FILES {
        fs::remove_file(dir.join(f)).unwrap();
    }
    pinniped().arg("summarize").arg(dir).assert().success();
    for (f, live) in SUMMARY_FILES.iter().zip(live) {
        let rebuilt = fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{case}: `summarize` wrote no {f}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&live),
            String::from_utf8_lossy(&rebuilt),
            "{case}: live {f} differs from `summarize`'s"
        );
    }
}

/// The text of every status.json below `dir/runs` (runs not finished have none).
fn statuses(dir: &Path) -> Vec<String> {
    let Ok(configs) = fs::read_dir(dir.join("runs")) else { return Vec::new() };
    configs
        .flatten()
        .flat_map(|config| fs::read_dir(config.path()).into_iter().flatten().flatten())
        .filter_map(|run| fs::read_to_string(run.path().join("status.json")).ok())
        .collect()
}

fn sweep_file(dir: &Path, name: &str, train: &str, axes: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 5\nrepeats = 2\n{}\n[train]\nhidden = [4]\nbatch_size = 80\n{train}\n[sweep]\n{axes}\n",
            data_table(true)
        ),
    )
}

#[test]
fn live_summary_equals_summarize_with_failures_divergence_and_early_stopping() {
    // (case, trainer flags, PINNIPED_FAKE_FAIL, [train], [sweep], states the case must produce)
    type Case<'a> = (&'a str, &'a [&'a str], &'a str, &'a str, &'a str, &'a [&'a str]);
    let cases: [Case; 2] = [
        (
            "fake trainer: done, failed and diverged runs",
            &["--fake-trainer"],
            "momentum=0.5",
            "epochs = 6",
            "design = \"grid\"\nlearning_rate = [0.01, 0.1]\nmomentum = [0.0, 0.5]",
            &["done", "failed", "diverged"],
        ),
        (
            "real trainer: early stopping keeps an earlier model",
            &[],
            "",
            "epochs = 40\nlearning_rate = 0.01\npatience = 2\ntest_every = 0",
            "design = \"one-at-a-time\"\nbatch_size = [40]",
            &["done"],
        ),
    ];
    for (case, flags, fail, train, axes, states) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let name = "live";
        let file = sweep_file(tmp.path(), name, train, axes);
        let out = tmp.path().join("out");
        let mut cmd = pinniped();
        cmd.args(["run", "-q", "--jobs", "2"]).args(flags).arg("--out").arg(&out).arg(&file);
        if !fail.is_empty() {
            cmd.env("PINNIPED_FAKE_FAIL", fail);
        }
        cmd.output().unwrap();
        let dir = out.join(name);
        let statuses = statuses(&dir);
        for state in states {
            assert!(
                statuses.iter().any(|s| s.contains(&format!("\"state\": \"{state}\""))),
                "{case}: the case needs a `{state}` run: {statuses:?}"
            );
        }
        if case.contains("early stopping") {
            assert!(
                statuses.iter().any(|s| s.contains("\"selected\": {")),
                "{case}: the case needs a run with a selected model: {statuses:?}"
            );
        }
        assert_live_equals_summarize(case, &dir);
    }
}

#[test]
fn runs_finished_by_another_process_during_a_sweep_appear_in_its_final_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "shared";
    let file = sweep_file(tmp.path(), name, "epochs = 4", "design = \"grid\"\nmomentum = [0.0, 0.5, 0.9]");
    let out = tmp.path().join("out");
    let dir = out.join(name);
    // Shard 0/2, slowed down, reads the directory when it starts; shard 1/2 runs to the
    // end while the slow one is still training.
    let slow_bin = assert_cmd::cargo::cargo_bin("pinniped");
    let mut slow = std::process::Command::new(slow_bin)
        .args(["run", "-q", "--fake-trainer", "--jobs", "1", "--shard", "0/2", "--out"])
        .arg(&out)
        .arg(&file)
        .env("PINNIPED_FAKE_DELAY_MS", "150")
        .env_remove("PINNIPED_FAKE_FAIL")
        .spawn()
        .unwrap();
    // Wait (bounded) until the slow shard has finished one run: it has read the directory.
    let any_finished = || !statuses(&dir).is_empty();
    for _ in 0..600 {
        if any_finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(any_finished(), "the slow shard never finished its first run");
    pinniped().args(["run", "-q", "--fake-trainer", "--shard", "1/2", "--out"]).arg(&out).arg(&file).assert().success();
    let fast_summary = fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(slow.wait().unwrap().success());
    let final_summary = fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert_ne!(fast_summary, final_summary, "the slow shard's runs changed nothing");
    // Every run of the sweep counted: 3 configurations × 2 repeats, all done.
    let done: usize =
        final_summary.lines().skip(1).map(|l| l.split(',').nth(2).unwrap().parse::<usize>().unwrap()).sum();
    assert_eq!(done, 6, "final summary counts every run of both shards:\n{final_summary}");
    assert_live_equals_summarize("two shards", &dir);
}
