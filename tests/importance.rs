//! `importance.csv` (which axes move the validation accuracy) and `runs.csv` (one tidy row per
//! planned run), checked against what the run directories and summary.csv hold, read here
//! independently. The fake trainer's curves depend on `hidden` only (through its time
//! constant), never on `momentum`.

mod common;
use common::{data_table, pinniped, write};
use pinniped::stats::anova::{anova_main_effects, Observation};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A CSV file as (header, rows of named cells).
struct Table {
    header: Vec<String>,
    rows: Vec<HashMap<String, String>>,
}

impl Table {
    fn read(path: &Path) -> Table {
        let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        let rows = r
            .records()
            .map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(str::to_owned)).collect())
            .collect();
        Table { header, rows }
    }

    /// The row whose first column is `key`.
    fn row(&self, key: &str) -> &HashMap<String, String> {
        let first = &self.header[0];
        self.rows.iter().find(|r| r[first] == key).unwrap_or_else(|| panic!("no row {key}"))
    }
}

fn num(row: &HashMap<String, String>, col: &str) -> Option<f64> {
    let cell = row.get(col).unwrap_or_else(|| panic!("no column {col}"));
    (!cell.is_empty()).then(|| cell.parse().unwrap_or_else(|e| panic!("{col} = {cell}: {e}")))
}

fn assert_close(what: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "{what}: {got} vs {want}");
}

/// Runs a fake-trainer sweep with the given repeats, `[train]` lines and `[sweep]` lines;
/// `fail` makes the runs whose id contains it fail. Returns the results directory.
fn sweep(tmp: &Path, repeats: usize, train: &str, axes: &str, fail: &str) -> PathBuf {
    let file = write(
        tmp,
        "s.toml",
        &format!("name = \"s\"\nseed = 7\nrepeats = {repeats}\n{}[train]\nepochs = 6\nbatch_size = 80\n{train}\n[sweep]\n{axes}\n", data_table(true)),
    );
    let out = tmp.join("out");
    let mut cmd = pinniped();
    cmd.args(["run", "-q", "--fake-trainer", "--jobs", "2", "--out"]).arg(&out).arg(&file);
    if !fail.is_empty() {
        cmd.args(["--fake-fail", fail]);
    }
    let result = cmd.output().unwrap();
    let code = result.status.code();
    assert!(code == Some(0) || code == Some(1), "the sweep ran: {}", String::from_utf8_lossy(&result.stderr));
    out.join("s")
}

/// A run's final validation accuracy as its own files have it: `done` in status.json, the
/// last row of metrics.csv (the fake trainer keeps the last epoch's model).
fn final_valid_acc(run: &Path) -> Option<f64> {
    let status: serde_json::Value = serde_json::from_str(&fs::read_to_string(run.join("status.json")).ok()?).ok()?;
    if status["state"] != "done" {
        return None;
    }
    let metrics = Table::read(&run.join("metrics.csv"));
    num(metrics.rows.last()?, "valid_acc")
}

const GRID: &str = "design = \"grid\"\nhidden = [[4], [64], [200]]\nmomentum = [0.0, 0.5]";
/// A baseline off the grid, so that every grid point's id names both axes.
const OFF_GRID: &str = "hidden = [8]\nmomentum = 0.9";

#[test]
fn in_a_grid_the_axis_that_drives_the_scores_gets_almost_all_the_share_as_anova_of_the_runs_says() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sweep(tmp.path(), 3, "", GRID, "");
    let importance = Table::read(&dir.join("importance.csv"));
    assert_eq!(importance.header, ["term", "levels", "sum_sq", "df", "share", "F", "p", "note"]);
    let terms: Vec<&str> = importance.rows.iter().map(|r| r["term"].as_str()).collect();
    assert_eq!(terms, ["hidden", "momentum", "interactions", "residual"]);

    // The ANOVA recomputed here from each run's own files, levels from plan.csv.
    let plan = Table::read(&dir.join("plan.csv"));
    let mut levels: [Vec<String>; 2] = Default::default();
    let mut obs = Vec::new();
    for run in &plan.rows {
        let at: Vec<usize> = ["hidden", "momentum"]
            .iter()
            .zip(levels.iter_mut())
            .map(|(axis, seen)| {
                let v = &run[*axis];
                seen.iter().position(|s| s == v).unwrap_or_else(|| {
                    seen.push(v.clone());
                    seen.len() - 1
                })
            })
            .collect();
        let value = final_valid_acc(&dir.join("runs").join(&run["id"])).expect("every run is done");
        obs.push(Observation { levels: at, value });
    }
    assert_eq!(obs.len(), 18);
    let anova = anova_main_effects(&[3, 2], &obs).unwrap();
    let expected =
        [("hidden", anova.axes[0]), ("momentum", anova.axes[1]), ("interactions", anova.interactions.unwrap())];
    for (term, e) in expected.iter().chain([&("residual", anova.residual)]) {
        let row = importance.row(term);
        assert_close(&format!("{term} sum_sq"), num(row, "sum_sq").unwrap(), e.ss);
        assert_close(&format!("{term} df"), num(row, "df").unwrap(), e.df);
        assert_close(&format!("{term} share"), num(row, "share").unwrap(), e.share);
        assert_eq!(num(row, "F").is_some(), e.f.is_some(), "{term}: F");
        if let (Some(f), Some(p)) = (e.f, e.p) {
            assert_close(&format!("{term} F"), num(row, "F").unwrap(), f);
            assert_close(&format!("{term} p"), num(row, "p").unwrap(), p);
        }
    }
    assert_eq!(num(importance.row("hidden"), "levels"), Some(3.0));
    assert_eq!(num(importance.row("momentum"), "levels"), Some(2.0));
    assert_eq!(num(importance.row("residual"), "df"), Some(12.0), "18 runs in 6 configurations");

    // The fake trainer's split effect (shared by the configurations of a repeat) is part of
    // the residual: `hidden` gets almost all of what the axes explain, and most of the total.
    let share = |term: &str| num(importance.row(term), "share").unwrap();
    let explained = share("hidden") + share("momentum") + share("interactions");
    assert!(share("hidden") > 0.97 * explained, "hidden explains almost all: {} of {explained}", share("hidden"));
    assert!(share("hidden") > 0.85, "and most of the total: {}", share("hidden"));
    assert!(share("momentum") < 0.01, "momentum explains almost nothing: {}", share("momentum"));
    assert!(num(importance.row("hidden"), "p").unwrap() < 1e-6);

    // The figure draws the file's shares, and the report shows both.
    let (bars, _, _) = pinniped::report::plots::importance::importance_bars(&dir).unwrap().expect("bars");
    let drawn: Vec<(String, Option<f64>)> = bars.into_iter().map(|b| (b.label, b.value)).collect();
    let from_file: Vec<(String, Option<f64>)> = terms.iter().map(|t| (t.to_string(), Some(share(t)))).collect();
    assert_eq!(drawn, from_file);
    assert!(dir.join("plots/importance.png").is_file());
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Importance</h2>") && html.contains("src=\"plots/importance.png\""));
}

/// Mean and sample std over a configuration's runs, and its done count, from summary.csv.
fn summary_stats(row: &HashMap<String, String>) -> (Option<f64>, Option<f64>, f64) {
    (num(row, "final_valid_acc_mean"), num(row, "final_valid_acc_std"), num(row, "done").unwrap())
}

#[test]
fn one_at_a_time_range_and_pooled_spread_are_those_of_summary_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let axes = "design = \"one-at-a-time\"\nhidden = [[64], [200]]\nmomentum = [0.5, 0.9]";
    // One failed run: its configuration averages the two others, as summary.csv does.
    let dir = sweep(tmp.path(), 3, "hidden = [4]\nmomentum = 0.0", axes, "momentum=0.9/rep-3");
    let importance = Table::read(&dir.join("importance.csv"));
    assert_eq!(
        importance.header,
        [
            "axis",
            "levels",
            "runs",
            "range",
            "worst_value",
            "best_value",
            "pooled_std",
            "pooled_df",
            "range_over_std",
            "note"
        ]
    );
    let summary = Table::read(&dir.join("summary.csv"));
    let base = summary.rows.iter().find(|r| r["hidden"] == "4" && r["momentum"] == "0.0").unwrap();
    // Per axis: the baseline and the rows that differ from it on that axis only.
    for (axis, other) in [("hidden", "momentum"), ("momentum", "hidden")] {
        let members: Vec<&HashMap<String, String>> = summary.rows.iter().filter(|r| r[other] == base[other]).collect();
        assert_eq!(members.len(), 3, "{axis}: baseline and two values");
        let means: Vec<(f64, &str)> = members.iter().map(|r| (summary_stats(r).0.unwrap(), r[axis].as_str())).collect();
        let (lo, hi) = means.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (m, _)| (l.min(*m), h.max(*m)));
        let (ss, df) = members.iter().fold((0.0, 0.0), |(ss, df), r| {
            let (_, std, n) = summary_stats(r);
            (ss + (n - 1.0) * std.unwrap().powi(2), df + n - 1.0)
        });
        let row = importance.row(axis);
        assert_eq!(num(row, "levels"), Some(3.0), "{axis}");
        let done: f64 = members.iter().map(|r| summary_stats(r).2).sum();
        assert_eq!(num(row, "runs"), Some(done), "{axis}: done runs used");
        assert_eq!(num(row, "range"), Some(hi - lo), "{axis}: range of the summary means");
        assert_eq!(row["worst_value"], means.iter().find(|(m, _)| *m == lo).unwrap().1, "{axis}");
        assert_eq!(row["best_value"], means.iter().find(|(m, _)| *m == hi).unwrap().1, "{axis}");
        assert_eq!(num(row, "pooled_df"), Some(df), "{axis}");
        assert_close(&format!("{axis} pooled_std"), num(row, "pooled_std").unwrap(), (ss / df).sqrt());
        assert_close(&format!("{axis} ratio"), num(row, "range_over_std").unwrap(), (hi - lo) / (ss / df).sqrt());
        assert_eq!(row["note"], "", "{axis}");
    }
    assert_eq!(num(importance.row("momentum"), "runs"), Some(8.0), "the failed run is left out");
    let ratio = |axis: &str| num(importance.row(axis), "range_over_std").unwrap();
    assert!(
        ratio("hidden") > 2.0 && ratio("hidden") > 5.0 * ratio("momentum"),
        "{} vs {}",
        ratio("hidden"),
        ratio("momentum")
    );
}

/// A sweep whose importance cannot be fully computed, and what its `row` must say.
struct Degenerate {
    case: &'static str,
    repeats: usize,
    train: &'static str,
    axes: &'static str,
    /// Runs whose id contains this fail.
    fail: &'static str,
    row: &'static str,
    empty: &'static [&'static str],
    note: &'static str,
}

#[test]
fn degenerate_designs_give_empty_cells_and_a_note_never_a_failure() {
    let grid = |case, repeats, axes, fail, row, empty, note| Degenerate {
        case,
        repeats,
        train: OFF_GRID,
        axes,
        fail,
        row,
        empty,
        note,
    };
    let one_axis = "design = \"grid\"\nhidden = [[4], [64]]";
    let cases = [
        grid(
            "grid: a configuration without a done run",
            2,
            GRID,
            "hidden=64,momentum=0.5/",
            "hidden",
            &["sum_sq", "share", "F", "p"],
            "configuration hidden=64,momentum=0.5 has no done run",
        ),
        grid(
            "grid: diverged runs",
            2,
            "design = \"grid\"\nlearning_rate = [0.01, 0.2]\nmomentum = [0.0, 0.5]",
            "",
            "momentum",
            &["sum_sq", "F", "p"],
            "has no done run",
        ),
        grid(
            "grid: one failed run",
            3,
            GRID,
            "hidden=64,momentum=0.5/rep-2",
            "residual",
            &["F", "p"],
            "unweighted-means",
        ),
        grid(
            "grid: one level",
            2,
            "design = \"grid\"\nhidden = [[4], [64]]\nmomentum = [0.5]",
            "",
            "momentum",
            &["F", "p"],
            "one level",
        ),
        grid("grid: one repeat", 1, GRID, "", "residual", &["F", "p"], "interactions stand in"),
        grid("grid: one repeat, one axis", 1, one_axis, "", "hidden", &["F", "p"], "no residual degrees of freedom"),
        Degenerate {
            case: "one-at-a-time: one repeat",
            repeats: 1,
            train: "",
            axes: "design = \"one-at-a-time\"\nhidden = [[4]]",
            fail: "",
            row: "hidden",
            empty: &["pooled_std", "pooled_df", "range_over_std"],
            note: "one run per configuration",
        },
        Degenerate {
            case: "one-at-a-time: only the baseline's value",
            repeats: 2,
            train: "hidden = [4]",
            axes: "design = \"one-at-a-time\"\nhidden = [[4]]\nmomentum = [0.5]",
            fail: "",
            row: "hidden",
            empty: &["range", "worst_value", "best_value", "range_over_std"],
            note: "one level",
        },
    ];
    for Degenerate { case, repeats, train, axes, fail, row, empty, note } in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = sweep(tmp.path(), repeats, train, axes, fail);
        let importance = Table::read(&dir.join("importance.csv"));
        let row = importance.row(row);
        for col in empty {
            assert_eq!(row[*col], "", "{case}: {col} is empty");
        }
        assert!(row["note"].contains(note), "{case}: note {:?} lacks {note:?}", row["note"]);
        if case.starts_with("grid: one repeat") {
            assert!(!importance.rows.iter().any(|r| r["term"] == "interactions"), "{case}: no separate interactions");
        }
        if case == "grid: one failed run" {
            assert_eq!(num(row, "df"), Some(11.0), "{case}: 17 runs in 6 configurations");
            assert!(num(importance.row("hidden"), "p").is_some(), "{case}: still tested");
        }
    }
}

#[test]
fn runs_csv_has_one_row_per_planned_run_with_its_plan_and_status_values() {
    let tmp = tempfile::tempdir().unwrap();
    let axes = "design = \"grid\"\nlearning_rate = [0.01, 0.2]\nmomentum = [0.0, 0.5]";
    // Done, diverged (learning_rate 0.2) and failed runs; then a second sweep file's shard
    // leaves some runs pending.
    let dir = sweep(tmp.path(), 2, "", axes, "learning_rate=0.01,momentum=0.5/rep-1");
    let runs = Table::read(&dir.join("runs.csv"));
    let plan = Table::read(&dir.join("plan.csv"));
    let mut expected_header: Vec<&str> =
        vec!["index", "id", "config", "repeat", "repetition", "fold", "seed", "split_seed"];
    expected_header.extend(["learning_rate", "momentum"]);
    expected_header.extend([
        "status",
        "epoch",
        "seconds",
        "final_train_acc",
        "final_valid_acc",
        "final_test_acc",
        "best_valid_acc",
        "best_epoch",
        "test_acc_at_best_valid",
        "message",
    ]);
    assert_eq!(runs.header, expected_header);
    assert_eq!(runs.rows.len(), plan.rows.len(), "one row per planned run");
    let mut states = Vec::new();
    for (row, planned) in runs.rows.iter().zip(&plan.rows) {
        let id = &planned["id"];
        for col in ["index", "id", "config", "repeat", "repetition", "fold", "seed", "split_seed"] {
            assert_eq!(row[col], planned[col], "{id}: {col} as plan.csv has it");
        }
        for col in ["learning_rate", "momentum"] {
            assert_eq!(row[col], planned[col], "{id}: {col} as plan.csv has it");
        }
        assert_eq!(
            (row["repetition"].as_str(), row["fold"].as_str()),
            (planned["repeat"].as_str(), ""),
            "{id}: holdout"
        );
        let run = dir.join("runs").join(id);
        let status: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(run.join("status.json")).unwrap()).unwrap();
        assert_eq!(row["status"], status["state"].as_str().unwrap(), "{id}");
        assert_eq!(row["epoch"], status["epoch"].to_string(), "{id}");
        assert_eq!(num(row, "seconds"), status["seconds"].as_f64(), "{id}");
        assert_eq!(row["message"], status["message"].as_str().unwrap(), "{id}");
        let accs = ["final_train_acc", "final_valid_acc", "final_test_acc"];
        if row["status"] == "done" {
            let metrics = Table::read(&run.join("metrics.csv"));
            let last = metrics.rows.last().unwrap();
            for (col, set) in accs.iter().zip(["train_acc", "valid_acc", "test_acc"]) {
                assert_eq!(num(row, col), num(last, set), "{id}: {col} from metrics.csv");
            }
            assert_eq!(num(row, "final_valid_acc"), final_valid_acc(&run), "{id}");
            let best = metrics.rows.iter().map(|r| num(r, "valid_acc").unwrap()).fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(num(row, "best_valid_acc"), Some(best), "{id}");
        } else {
            for col in accs.iter().chain(&["best_valid_acc", "best_epoch", "test_acc_at_best_valid"]) {
                assert_eq!(row[*col], "", "{id}: no result for a {} run", row["status"]);
            }
        }
        states.push(row["status"].clone());
    }
    for state in ["done", "diverged", "failed"] {
        assert!(states.iter().any(|s| s == state), "the case needs a {state} run: {states:?}");
    }

    // Grouping the done rows by config gives summary.csv's means.
    let summary = Table::read(&dir.join("summary.csv"));
    for s in &summary.rows {
        let values: Vec<f64> = runs
            .rows
            .iter()
            .filter(|r| {
                r["learning_rate"] == s["learning_rate"] && r["momentum"] == s["momentum"] && r["status"] == "done"
            })
            .map(|r| num(r, "final_valid_acc").unwrap())
            .collect();
        let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
        assert_eq!(mean, num(s, "final_valid_acc_mean"), "{s:?}");
    }
}

#[test]
fn runs_csv_lists_unfinished_runs_as_pending_and_k_fold_repeats_by_repetition_and_fold() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_table(true).replace("reserve_every = 4\n", "resample = \"repeated-kfold\"\nfolds = 3\n");
    let file = write(
        tmp.path(),
        "k.toml",
        &format!("name = \"k\"\nseed = 7\nrepeats = 2\n{data}[train]\nepochs = 3\n[sweep]\ndesign = \"grid\"\nmomentum = [0.0, 0.5, 0.9]\n"),
    );
    let out = tmp.path().join("out");
    // Half the runs: the others stay pending.
    pinniped().args(["run", "-q", "--fake-trainer", "--shard", "0/2", "--out"]).arg(&out).arg(&file).assert().success();
    let runs = Table::read(&out.join("k/runs.csv"));
    let plan = Table::read(&out.join("k/plan.csv"));
    assert_eq!(runs.rows.len(), plan.rows.len());
    assert_eq!(runs.rows.len(), 3 * 2 * 3, "3 configurations × 2 repetitions × 3 folds");
    let mut split_of: HashMap<(String, String), String> = HashMap::new();
    for row in &runs.rows {
        let id = &row["id"];
        let finished = out.join("k/runs").join(id).join("status.json").is_file();
        assert_eq!(row["status"] == "pending", !finished, "{id}: {}", row["status"]);
        if !finished {
            for col in ["epoch", "seconds", "final_valid_acc"] {
                assert_eq!(row[col], "", "{id}: {col}");
            }
        }
        let suffix = id.rsplit('/').next().unwrap();
        assert_eq!(suffix, format!("rep-{}-fold-{}", row["repetition"], row["fold"]), "{id}");
        let repeat: usize = row["repeat"].parse().unwrap();
        let (r, f): (usize, usize) = (row["repetition"].parse().unwrap(), row["fold"].parse().unwrap());
        assert_eq!(repeat, (r - 1) * 3 + f, "{id}: repeat");
        // Pairing `split` (the default): one split per repetition, whatever the configuration.
        let key = (row["repetition"].clone(), row["fold"].clone());
        let seed = split_of.entry(key).or_insert_with(|| row["split_seed"].clone());
        assert_eq!(*seed, row["split_seed"], "{id}: split shared by every configuration");
    }
    assert!(runs.rows.iter().any(|r| r["status"] == "pending") && runs.rows.iter().any(|r| r["status"] == "done"));
}
