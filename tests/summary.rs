//! The live summary (kept in memory during a sweep) against `summarize` (rebuilt
//! from disk): the same bytes, whatever mix of outcomes and processes made the runs.

mod common;
use common::{data_table, pinniped, test_tsv, train_tsv, write};
use pinniped::report::stats::{mean_std, welch};
use pinniped::stats::wilcoxon::{wilcoxon, Alternative};
use pinniped::stats::{corrected_resampled_t, holm, paired_t, prob_a_beats_b, t_interval};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Every file the summary writes (live during a sweep, and `summarize`).
const SUMMARY_FILES: [&str; 5] = ["summary.csv", "comparisons.csv", "selection.csv", "importance.csv", "runs.csv"];

/// Runs `pinniped run` on a sweep, then checks that `summarize` rebuilds every summary
/// file with exactly the bytes the run left behind.
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
    // (case, trainer flags, --fake-fail pattern, [train], [sweep], states the case must produce)
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
            cmd.args(["--fake-fail", fail]);
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
    // Shard 0/2 reads the directory when it starts and finishes one run; then it is stopped
    // (SIGSTOP) while shard 1/2 runs to the end, and continued: its last summary must count
    // the other shard's runs. Stopping it, not a race of delays, orders the two.
    let slow_bin = assert_cmd::cargo::cargo_bin("pinniped");
    let mut slow = std::process::Command::new(slow_bin)
        .args(["run", "-q", "--fake-trainer", "--jobs", "1", "--shard", "0/2", "--out"])
        .arg(&out)
        .arg(&file)
        .args(["--fake-delay-ms", "300"])
        .spawn()
        .unwrap();
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill").args([sig, &slow.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig}");
    };
    // Wait (bounded) until the slow shard has finished one run: it has read the directory.
    let any_finished = || !statuses(&dir).is_empty();
    for _ in 0..3000 {
        if any_finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(any_finished(), "the slow shard never finished its first run");
    signal("-STOP");
    let slow_done = statuses(&dir).len();
    assert!(slow_done < 3, "the slow shard finished all its runs before it could be stopped");
    pinniped().args(["run", "-q", "--fake-trainer", "--shard", "1/2", "--out"]).arg(&out).arg(&file).assert().success();
    let fast_summary = fs::read_to_string(dir.join("summary.csv")).unwrap();
    signal("-CONT");
    assert!(slow.wait().unwrap().success());
    let final_summary = fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert_ne!(fast_summary, final_summary, "the slow shard's runs changed nothing");
    // Every run of the sweep counted: 3 configurations × 2 repeats, all done.
    let done: usize = read_csv(&dir.join("summary.csv")).iter().map(|r| r["done"].parse::<usize>().unwrap()).sum();
    assert_eq!(done, 6, "final summary counts every run of both shards:\n{final_summary}");
    assert_live_equals_summarize("two shards", &dir);
}

/// A CSV file as rows of (column name → cell).
fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect()).collect()
}

/// A cell as a number; empty is `None`.
fn number(row: &BTreeMap<String, String>, col: &str) -> Option<f64> {
    let cell = row.get(col).unwrap_or_else(|| panic!("no column `{col}` in {row:?}"));
    (!cell.is_empty()).then(|| cell.parse().unwrap_or_else(|e| panic!("`{col}` = `{cell}`: {e}")))
}

/// One done run as its own files say, read without pinniped's reader: the last metrics.csv row
/// (the fake trainer selects no earlier model) and the first epoch of best validation accuracy.
struct DoneRun {
    repeat: usize,
    /// final train, valid, test; best valid; test at best valid.
    accs: [f64; 5],
}

/// Per configuration id (plan order), its done runs.
fn done_runs(dir: &Path) -> Vec<(String, Vec<DoneRun>)> {
    let mut out: Vec<(String, Vec<DoneRun>)> = Vec::new();
    for run in read_csv(&dir.join("plan.csv")) {
        let config = run["config"].clone();
        if out.last().is_none_or(|(c, _)| *c != config) {
            out.push((config, Vec::new()));
        }
        let run_dir = dir.join("runs").join(&run["id"]);
        let status = fs::read_to_string(run_dir.join("status.json")).unwrap_or_default();
        if !status.contains("\"state\": \"done\"") {
            continue;
        }
        let rows = read_csv(&run_dir.join("metrics.csv"));
        let acc = |r: &BTreeMap<String, String>, set: &str| number(r, &format!("{set}_acc")).unwrap();
        let last = rows.last().unwrap();
        let best = rows.iter().fold(&rows[0], |b, r| if acc(r, "valid") > acc(b, "valid") { r } else { b });
        let accs = [acc(last, "train"), acc(last, "valid"), acc(last, "test"), acc(best, "valid"), acc(best, "test")];
        out.last_mut().unwrap().1.push(DoneRun { repeat: run["repeat"].parse().unwrap(), accs });
    }
    out
}

#[test]
fn summary_intervals_are_t_intervals_of_each_configurations_done_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep_file(
        tmp.path(),
        "cis",
        "epochs = 6\nlearning_rate = 0.01",
        "design = \"grid\"\nhidden = [[4], [40]]\nmomentum = [0.0, 0.5]",
    );
    let out = tmp.path().join("out");
    // One failed run: that configuration's intervals are over its other repeat only (none).
    let run = pinniped()
        .args(["run", "-q", "--fake-trainer", "--out"])
        .arg(&out)
        .arg(&file)
        .args(["--fake-fail", "hidden=40,momentum=0.5/rep-1"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    let dir = out.join("cis");
    let summary = read_csv(&dir.join("summary.csv"));
    let runs = done_runs(&dir);
    assert_eq!(summary.len(), runs.len());
    const ACCS: [&str; 5] =
        ["final_train_acc", "final_valid_acc", "final_test_acc", "best_valid_acc", "test_acc_at_best_valid"];
    let mut undefined = 0;
    for (row, (config, done)) in summary.iter().zip(&runs) {
        assert_eq!(row["n"], done.len().to_string(), "{config}: n");
        assert_eq!(row["n"], row["done"], "{config}: every done run has a result");
        for (k, metric) in ACCS.iter().enumerate() {
            let values: Vec<f64> = done.iter().map(|r| r.accs[k]).collect();
            let ci = t_interval(&values, 0.95);
            let cells = (number(row, &format!("{metric}_ci_low")), number(row, &format!("{metric}_ci_high")));
            assert_eq!(cells, (ci.map(|c| c.low), ci.map(|c| c.high)), "{config}: {metric} interval");
            assert_eq!(number(row, &format!("{metric}_mean")), mean_std(&values).0, "{config}: {metric} mean");
            undefined += usize::from(ci.is_none());
        }
    }
    assert_eq!(undefined, 5, "the configuration with one done run has no intervals, the others all of them");
    assert_live_equals_summarize("intervals", &dir);
}

/// (case, top-level pairing line, [data] resampling lines, expected `test` column)
type ProtocolCase<'a> = (&'a str, &'a str, &'a str, &'a str);

#[test]
fn comparisons_against_the_baseline_holm_across_the_family_and_mark_the_ties_of_the_best() {
    let cases: [ProtocolCase; 3] = [
        ("paired holdout", "pairing = \"split\"", "reserve_every = 4", "paired t"),
        ("unpaired holdout", "pairing = \"none\"", "reserve_every = 4", "Welch t"),
        ("paired 3-fold", "pairing = \"split\"", "resample = \"kfold\"\nfolds = 3", "Nadeau-Bengio t"),
    ];
    let mut marks_seen: Vec<String> = Vec::new();
    for (case, pairing, resample, test) in cases {
        let tmp = tempfile::tempdir().unwrap();
        // The fake trainer's accuracy falls with `hidden` (hidden 5 is close to the baseline's 4).
        let repeats = if resample.contains("kfold") { 1 } else { 6 };
        let text = format!(
            "name = \"cmp\"\nseed = 11\nrepeats = {repeats}\n{pairing}\n[data]\ntrain = {:?}\ntest = {:?}\n{resample}\n\
             [train]\nhidden = [4]\nepochs = 6\nlearning_rate = 0.01\n\
             [sweep]\ndesign = \"one-at-a-time\"\nhidden = [[5], [8], [40]]\n",
            train_tsv().display().to_string(),
            test_tsv().display().to_string()
        );
        let file = write(tmp.path(), "cmp.toml", &text);
        let out = tmp.path().join("out");
        let run = pinniped().args(["run", "--fake-trainer", "--out"]).arg(&out).arg(&file).output().unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{case}: {}", String::from_utf8_lossy(&run.stderr));
        let dir = out.join("cmp");
        let runs = done_runs(&dir);
        let rows = read_csv(&dir.join("comparisons.csv"));
        assert_eq!(rows.len(), runs.len(), "{case}: one row per configuration");
        let by_repeat =
            |c: usize, k: usize| -> BTreeMap<usize, f64> { runs[c].1.iter().map(|r| (r.repeat, r.accs[k])).collect() };
        // Test p of configuration c against r on metric k (1 valid, 2 test), as the protocol says.
        let compare = |c: usize, r: usize, k: usize| -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>) {
            let (a, b) = (by_repeat(c, k), by_repeat(r, k));
            let xs: Vec<f64> = a.values().copied().collect();
            let ys: Vec<f64> = b.values().copied().collect();
            let pab = prob_a_beats_b(&xs, &ys);
            match test {
                "Welch t" => {
                    let ((m1, s1), (m2, s2)) = (mean_std(&xs), mean_std(&ys));
                    let w = welch(m1.unwrap(), s1.unwrap(), xs.len(), m2.unwrap(), s2.unwrap(), ys.len()).unwrap();
                    (Some(m1.unwrap() - m2.unwrap()), Some(w.p), None, pab)
                }
                _ => {
                    let t = if test == "paired t" {
                        paired_t(&xs, &ys, 0.95)
                    } else {
                        corrected_resampled_t(&xs, &ys, 2, 1, 0.95)
                    }
                    .unwrap();
                    let w = wilcoxon(&xs, &ys, Alternative::TwoSided).unwrap();
                    (Some(t.diff.mean), Some(t.p), Some(w.p), pab)
                }
            }
        };
        assert_eq!(runs[0].0, "baseline");
        let mean_valid: Vec<f64> = (0..runs.len())
            .map(|c| mean_std(&by_repeat(c, 1).values().copied().collect::<Vec<_>>()).0.unwrap())
            .collect();
        let best = (0..runs.len()).fold(0, |b, c| if mean_valid[c] > mean_valid[b] { c } else { b });
        for (k, set) in [(1, "valid"), (2, "test")] {
            let family: Vec<_> = (1..runs.len()).map(|c| compare(c, 0, k)).collect();
            let adjusted = holm(&family.iter().map(|f| f.1.unwrap()).collect::<Vec<_>>());
            assert_eq!(rows[0][&format!("{set}_p")], "", "{case}: the baseline is the reference");
            for (c, (f, holm_p)) in (1..).zip(family.iter().zip(&adjusted)) {
                let row = &rows[c];
                let col = |name: &str| number(row, &format!("{set}_{name}"));
                assert_eq!(
                    (col("diff"), col("p"), col("wilcoxon_p"), col("p_a_beats_b")),
                    *f,
                    "{case}: {} {set}",
                    runs[c].0
                );
                assert_eq!(col("p_holm"), Some(*holm_p), "{case}: {} {set} Holm", runs[c].0);
                assert_eq!((&row["reference"][..], &row["test"][..]), ("baseline", test), "{case}");
            }
        }
        // The mark: Holm across "every configuration against the best" on validation.
        let others: Vec<usize> = (0..runs.len()).filter(|&c| c != best).collect();
        let vs_best = holm(&others.iter().map(|&c| compare(c, best, 1).1.unwrap()).collect::<Vec<_>>());
        assert_eq!(rows[best]["indistinguishable_from_best"], "best", "{case}");
        for (&c, p) in others.iter().zip(&vs_best) {
            let want = if *p >= 0.05 { "yes" } else { "no" };
            assert_eq!(rows[c]["indistinguishable_from_best"], want, "{case}: {} (Holm p {p})", runs[c].0);
        }
        marks_seen.extend(rows.iter().map(|r| r["indistinguishable_from_best"].clone()));

        // The whole procedure: per repeat the best validation, its test accuracy; printed with its interval.
        let selection = read_csv(&dir.join("selection.csv"));
        let mut picked = Vec::new();
        for repeat in 1..=runs[0].1.len() {
            let (mut pick, mut valid) = (None, f64::NEG_INFINITY);
            for c in 0..runs.len() {
                if let Some(&v) = by_repeat(c, 1).get(&repeat) {
                    if v > valid {
                        (pick, valid) = (Some(c), v);
                    }
                }
            }
            let c = pick.unwrap();
            let row = &selection[repeat - 1];
            assert_eq!((&row["repeat"], &row["config"]), (&repeat.to_string(), &runs[c].0), "{case}: repeat {repeat}");
            picked.push(by_repeat(c, 2)[&repeat]);
        }
        let stat =
            |name: &str| selection.iter().find(|r| r["repeat"] == name).and_then(|r| number(r, "final_test_acc"));
        let ci = t_interval(&picked, 0.95).unwrap();
        assert_eq!((stat("mean"), stat("ci_low"), stat("ci_high")), (Some(ci.mean), Some(ci.low), Some(ci.high)));
        let line = format!(
            "whole procedure (best on each repeat's validation): test acc {:.4} [{:.4}, {:.4}]  (n={})",
            ci.mean,
            ci.low,
            ci.high,
            picked.len()
        );
        assert!(stdout.contains(&line), "{case}: no `{line}` in\n{stdout}");
        let report = fs::read_to_string(dir.join("report.html")).unwrap();
        assert!(report.contains("<h2>Comparisons</h2>") && report.contains("<h2>The whole procedure</h2>"), "{case}");
        assert!(report.contains(&format!("{:.4}", ci.mean)), "{case}: the report shows the estimate");
        assert_live_equals_summarize(case, &dir);
    }
    for mark in ["best", "yes", "no"] {
        assert!(marks_seen.iter().any(|m| m == mark), "the cases need a `{mark}` mark: {marks_seen:?}");
    }
}
