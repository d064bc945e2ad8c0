//! `pinniped compare` of two results directories: paired by repeat when the sweeps share data,
//! seed, pairing scheme and repeats; unpaired (Welch) otherwise, saying why; Holm across rows;
//! rows without a match listed. The per-run values are read here from the run directories,
//! independently of pinniped's reading.

mod common;

use common::{data_table, pinniped, write};
use pinniped::report::stats::{mean_std, welch};
use pinniped::stats::wilcoxon::{wilcoxon, Alternative};
use pinniped::stats::{corrected_resampled_t, holm, paired_t};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A fake-trained one-at-a-time sweep over batch_size with 3 repeats (a holdout); `top` goes
/// beside `seed` (e.g. `pairing = "split"`); `hidden`, which the fake trainer's curves depend on.
fn fake_sweep(dir: &Path, name: &str, top: &str, hidden: usize, batch_sizes: &str) -> PathBuf {
    fake_sweep_on(dir, name, &format!("repeats = 3\n{top}"), &data_table(true), hidden, batch_sizes)
}

/// [`fake_sweep`] with the `[data]` table and the repeats given.
fn fake_sweep_on(dir: &Path, name: &str, top: &str, data: &str, hidden: usize, batch_sizes: &str) -> PathBuf {
    let text = format!(
        "name = \"{name}\"\n{top}\n{data}\n[train]\nhidden = [{hidden}]\nepochs = 6\n\
         [sweep]\ndesign = \"one-at-a-time\"\nbatch_size = [{batch_sizes}]\n"
    );
    let file = write(dir, &format!("{name}.toml"), &text);
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(dir.join("out")).arg(&file).assert().success();
    dir.join("out").join(name)
}

/// Each configuration's final test accuracy by repeat, keyed by its summary label
/// (`batch_size=40`): plan.csv's runs, each run's last metrics.csv row (the fake trainer
/// neither stops early nor refits, so the last epoch is the run's result).
fn final_test_accs(sweep: &Path) -> BTreeMap<String, BTreeMap<usize, f64>> {
    let mut plan = csv::Reader::from_path(sweep.join("plan.csv")).unwrap();
    let head = plan.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let (id, repeat, batch) = (col("id"), col("repeat"), col("batch_size"));
    let mut out: BTreeMap<String, BTreeMap<usize, f64>> = BTreeMap::new();
    for row in plan.records() {
        let row = row.unwrap();
        let mut metrics = csv::Reader::from_path(sweep.join("runs").join(&row[id]).join("metrics.csv")).unwrap();
        let test = metrics.headers().unwrap().iter().position(|h| h == "test_acc").unwrap();
        let last = metrics.records().last().unwrap().unwrap();
        let value: f64 = last[test].parse().unwrap();
        out.entry(format!("batch_size={}", &row[batch])).or_default().insert(row[repeat].parse().unwrap(), value);
    }
    out
}

/// `pinniped compare A B ARGS… --csv` as one map per row (column → cell), after checking it succeeded.
fn compare_csv(a: &Path, b: &Path, args: &[&str]) -> Vec<BTreeMap<String, String>> {
    let out = pinniped().arg("compare").arg(a).arg(b).args(args).arg("--csv").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let head: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    reader.records().map(|r| head.iter().cloned().zip(r.unwrap().iter().map(str::to_string)).collect()).collect()
}

fn compare_text(a: &Path, b: &Path, args: &[&str]) -> String {
    let out = pinniped().arg("compare").arg(a).arg(b).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn num(row: &BTreeMap<String, String>, column: &str) -> Option<f64> {
    let cell = &row[column];
    (!cell.is_empty()).then(|| cell.parse().unwrap_or_else(|_| panic!("{column} = `{cell}`")))
}

#[track_caller]
fn assert_close(what: &str, x: Option<f64>, y: Option<f64>) {
    match (x, y) {
        (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{what}: {x} vs {y}"),
        _ => assert_eq!(x, y, "{what}"),
    }
}

#[test]
fn sweeps_with_the_same_seed_and_pairing_compare_paired_by_repeat_and_list_unmatched_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let top = "seed = 3\npairing = \"split\"";
    let a = fake_sweep(tmp.path(), "a", top, 8, "40, 80");
    // B changes a [train] key the fake trainer uses (hidden), and has another axis value.
    let b = fake_sweep(tmp.path(), "b", top, 16, "40, 120");
    let rows = compare_csv(&a, &b, &["--ignore", "hidden"]);
    let (compared, left): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r["not_compared"].is_empty());

    let left: Vec<(&str, &str)> =
        left.iter().map(|r| (r["config"].as_str(), if r["a_n"].is_empty() { "B" } else { "A" })).collect();
    assert_eq!(left, [("batch_size=80", "A"), ("batch_size=120", "B")], "unmatched rows of each side are listed");

    let (va, vb) = (final_test_accs(&a), final_test_accs(&b));
    let mut raw = Vec::new();
    for row in &compared {
        let config = row["config"].split(", ").next().unwrap();
        let (ra, rb) = (&va[config], &vb[config]);
        assert_eq!(ra.keys().collect::<Vec<_>>(), [&1, &2, &3], "{config}");
        let (xa, xb): (Vec<f64>, Vec<f64>) = ra.iter().map(|(r, x)| (*x, rb[r])).unzip();
        let d: Vec<f64> = xb.iter().zip(&xa).map(|(y, x)| y - x).collect();
        assert_eq!((row["test"].as_str(), row["pairs"].as_str()), ("paired-t", "3"), "{config}: {row:?}");
        assert_close(&format!("{config}: diff"), num(row, "diff"), mean_std(&d).0);
        let t = paired_t(&xb, &xa, 0.95).unwrap();
        assert_close(&format!("{config}: p"), num(row, "p"), Some(t.p));
        assert_close(&format!("{config}: ci_low"), num(row, "ci_low"), Some(t.diff.low));
        assert_close(&format!("{config}: ci_high"), num(row, "ci_high"), Some(t.diff.high));
        let w = wilcoxon(&xb, &xa, Alternative::TwoSided).unwrap();
        assert_close(&format!("{config}: wilcoxon_p"), num(row, "wilcoxon_p"), Some(w.p));
        assert_close(&format!("{config}: a_mean"), num(row, "a_mean"), mean_std(&xa).0);
        raw.push(t.p);
    }
    assert_eq!(compared.len(), 2, "batch_size 160 (the baseline) and 40: {rows:?}");
    for (row, adjusted) in compared.iter().zip(holm(&raw)) {
        assert_close(&format!("{}: p_holm", row["config"]), num(row, "p_holm"), Some(adjusted));
    }

    let text = compare_text(&a, &b, &["--ignore", "hidden"]);
    assert!(
        text.contains("\npaired by repeat (A and B share data, seed 3, pairing split, holdout, 3 repeats)"),
        "{text}"
    );
    assert!(
        text.contains("not compared, A: batch_size=80") && text.contains("not compared, B: batch_size=120"),
        "{text}"
    );
}

#[test]
fn sweeps_with_different_seeds_compare_unpaired_and_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fake_sweep(tmp.path(), "a", "seed = 3\npairing = \"split\"", 8, "40");
    let b = fake_sweep(tmp.path(), "b", "seed = 4\npairing = \"split\"", 8, "40");
    let text = compare_text(&a, &b, &[]);
    let said: Vec<&str> = text.lines().filter(|l| l.starts_with("unpaired: ")).collect();
    assert_eq!(said.len(), 1, "{text}");
    assert!(said[0].starts_with("unpaired: the sweeps were made with different seeds (3, 4);"), "{}", said[0]);
    assert!(said[0].contains("Welch's t-test"), "{}", said[0]);

    let (va, vb) = (final_test_accs(&a), final_test_accs(&b));
    let rows = compare_csv(&a, &b, &[]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        let config = row["config"].as_str();
        assert_eq!((row["test"].as_str(), row["pairs"].as_str(), row["wilcoxon_p"].as_str()), ("welch", "", ""));
        let xa: Vec<f64> = va[config].values().copied().collect();
        let xb: Vec<f64> = vb[config].values().copied().collect();
        let ((ma, sa), (mb, sb)) = (mean_std(&xa), mean_std(&xb));
        let (ma, sa, mb, sb) = (ma.unwrap(), sa.unwrap(), mb.unwrap(), sb.unwrap());
        assert_close(&format!("{config}: diff"), num(row, "diff"), Some(mb - ma));
        assert_close(&format!("{config}: p"), num(row, "p"), Some(welch(ma, sa, 3, mb, sb, 3).unwrap().p));
        let (low, high) = (num(row, "ci_low").unwrap(), num(row, "ci_high").unwrap());
        assert!(low < mb - ma && mb - ma < high, "{config}: the CI holds the difference");
    }
}

#[test]
fn sweeps_made_without_pairing_compare_unpaired_even_with_the_same_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fake_sweep(tmp.path(), "a", "seed = 3\npairing = \"none\"", 8, "40");
    let b = fake_sweep(tmp.path(), "b", "seed = 3\npairing = \"none\"", 16, "40");
    let text = compare_text(&a, &b, &["--ignore", "hidden"]);
    assert!(text.contains("\nunpaired: both sweeps were made with pairing = \"none\""), "{text}");
    let rows = compare_csv(&a, &b, &["--ignore", "hidden"]);
    assert!(rows.iter().all(|r| r["test"] == "welch"), "{rows:?}");
}

#[test]
fn k_fold_sweeps_compare_paired_fold_by_fold_with_the_nadeau_bengio_correction() {
    let tmp = tempfile::tempdir().unwrap();
    let data = format!(
        "[data]\ntrain = {:?}\ntest = {:?}\nresample = \"kfold\"\nfolds = 3\n",
        common::train_tsv().display().to_string(),
        common::test_tsv().display().to_string()
    );
    let top = "seed = 3\nrepeats = 1\npairing = \"split\"";
    let a = fake_sweep_on(tmp.path(), "a", top, &data, 8, "40");
    let b = fake_sweep_on(tmp.path(), "b", top, &data, 16, "40");
    let (va, vb) = (final_test_accs(&a), final_test_accs(&b));
    let rows = compare_csv(&a, &b, &["--ignore", "hidden"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        let config = row["config"].as_str();
        let (ra, rb) = (&va[config], &vb[config]);
        assert_eq!(ra.keys().collect::<Vec<_>>(), [&1, &2, &3], "{config}: one run per fold");
        let (xa, xb): (Vec<f64>, Vec<f64>) = ra.iter().map(|(r, x)| (*x, rb[r])).unzip();
        assert_eq!((row["test"].as_str(), row["pairs"].as_str()), ("nadeau-bengio", "3"), "{config}: {row:?}");
        // A fold trains on 2 parts in 3 and validates on 1.
        let t = corrected_resampled_t(&xb, &xa, 2, 1, 0.95).unwrap();
        assert_close(&format!("{config}: diff"), num(row, "diff"), Some(t.diff.mean));
        assert_close(&format!("{config}: p"), num(row, "p"), Some(t.p));
        assert_close(&format!("{config}: ci_low"), num(row, "ci_low"), Some(t.diff.low));
    }
    let text = compare_text(&a, &b, &["--ignore", "hidden"]);
    assert!(text.contains("pairing split, 3-fold × 1 repetition)"), "{text}");
    assert!(text.contains("Nadeau–Bengio corrected for 3-fold"), "{text}");
}
