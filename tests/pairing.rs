//! Paired repeats and resampling (issue 13 §1, §2): runs of different configurations with the
//! same `repeat` share their split and shuffles; k-fold partitions are shared and complete; the
//! scheme is recorded in the results directory; and pairing is what lets a small effect be seen.

mod common;

use common::*;
use pinniped::features::{Pipeline, Prepared};
use pinniped::spec::{expand, parse_sweep, Pairing, Plan, PlannedRun, SweepFile};
use pinniped::train::{fit, EpochView};
use std::fs;
use std::path::Path;

/// A sweep file on the shipped Phoneme data: `top` lines, `data` lines, `[train]` and `[sweep]`.
fn sweep_text(name: &str, top: &str, data: &str, train: &str, axes: &str) -> String {
    format!(
        "name = \"{name}\"\nseed = 5\n{top}\n[data]\ntrain = {:?}\n{data}\n[train]\n{train}\n[sweep]\n{axes}\n",
        train_tsv().display().to_string()
    )
}

fn sweep_of(dir: &Path, text: &str) -> SweepFile {
    let path = write(dir, "s.toml", text);
    parse_sweep(&path, text).unwrap()
}

/// The validation rows of `run`, as `fit` draws them (one epoch of a tiny model).
fn valid_rows(sweep: &SweepFile, plan: &Plan, prepared: &Prepared, run: &PlannedRun) -> Vec<usize> {
    let cfg = &plan.configs[run.config].train;
    let data = prepared.run_data(Pipeline::of(cfg));
    let mut hook = |_: EpochView<'_, f32>| Ok(());
    let mut rows = fit::<f32>(cfg, &sweep.data, run.seed, &run.split(), &data, &mut hook).unwrap().valid_rows;
    rows.sort();
    rows
}

fn find<'p>(plan: &'p Plan, id: &str) -> &'p PlannedRun {
    plan.runs.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no run {id}"))
}

#[test]
fn runs_with_equal_repeat_validate_on_the_same_rows_and_other_repetitions_on_others() {
    let tmp = tempfile::tempdir().unwrap();
    for (case, data) in [
        ("every 4th row", "reserve_every = 4"),
        ("stratified fraction", "reserve_fraction = 0.25\nstratify = true"),
        ("k-fold", "resample = \"repeated-kfold\"\nfolds = 4"),
    ] {
        let text = sweep_text("p", "repeats = 2", data, "epochs = 1\nhidden = [4]", "batch_size = [40, 80]");
        let sweep = sweep_of(tmp.path(), &text);
        assert_eq!(sweep.pairing, Pairing::Split, "{case}: split is a new sweep's default");
        let plan = expand(&sweep).unwrap();
        let prepared = Prepared::load(&sweep.data, &[Pipeline::of(&plan.configs[0].train)]).unwrap();
        let suffix =
            |rep: usize| if data.contains("kfold") { format!("rep-{rep}-fold-2") } else { format!("rep-{rep}") };
        let rows = |config: &str, rep: usize| {
            let run = find(&plan, &format!("{config}/{}", suffix(rep)));
            valid_rows(&sweep, &plan, &prepared, run)
        };
        let (a1, b1, a2) = (rows("batch_size=40", 1), rows("batch_size=80", 1), rows("batch_size=40", 2));
        assert!(!a1.is_empty(), "{case}: validation rows");
        assert_eq!(a1, b1, "{case}: two configurations' repeat 1 validate on the same rows");
        assert_ne!(a1, a2, "{case}: another repetition validates on other rows");
        assert_ne!(
            find(&plan, &format!("batch_size=40/{}", suffix(1))).seed,
            find(&plan, &format!("batch_size=80/{}", suffix(1))).seed,
            "{case}: the initial weights stay per configuration"
        );
    }
}

/// With `pairing = "all"`, two configurations that train the same model (they differ only in
/// how often confusion matrices are written) give the same numbers in every epoch: the same
/// rows, the same shuffles and the same initial weights. With `none` they do not.
#[test]
fn equal_repeats_share_every_epochs_shuffle_with_pairing_all() {
    let tmp = tempfile::tempdir().unwrap();
    let metrics = |pairing: &str, config: &str| {
        let name = format!("shuffle-{pairing}");
        let text = sweep_text(
            &name,
            &format!("repeats = 1\npairing = \"{pairing}\""),
            "reserve_every = 4",
            "epochs = 6\nhidden = [4]\nbatch_size = 16\nplots = false",
            "confusion_every = [0, 2]",
        );
        let file = write(tmp.path(), &format!("{name}.toml"), &text);
        pinniped().args(["run", "-q", "--jobs", "2", "--out"]).arg(tmp.path()).arg(&file).assert().success();
        metrics_without_time(&tmp.path().join(format!("{name}/runs/{config}/rep-1/metrics.csv")))
    };
    assert_eq!(metrics("all", "baseline"), metrics("all", "confusion_every=2"), "pairing all");
    assert_ne!(metrics("none", "baseline"), metrics("none", "confusion_every=2"), "pairing none");
}

#[test]
fn kfold_validates_every_training_row_once_per_repetition_on_partitions_shared_by_configurations() {
    let tmp = tempfile::tempdir().unwrap();
    let (repeats, folds) = (3, 5);
    let text = sweep_text(
        "k",
        &format!("repeats = {repeats}"),
        &format!("resample = \"repeated-kfold\"\nfolds = {folds}"),
        "",
        "hidden = [[4], [8]]",
    );
    let sweep = sweep_of(tmp.path(), &text);
    let plan = expand(&sweep).unwrap();
    assert_eq!(plan.runs.len(), 2 * repeats * folds, "runs = configurations × repeats × folds");
    let prepared = Prepared::load(&sweep.data, &[Pipeline::of(&plan.configs[0].train)]).unwrap();
    let labels = &prepared.dataset.train.y;
    let order: Vec<usize> = (0..labels.len()).collect();
    let mut partitions = Vec::new();
    for config in 0..2 {
        for repetition in 1..=repeats {
            let mut times_validated = vec![0; labels.len()];
            for run in plan.runs.iter().filter(|r| r.config == config && r.repetition == repetition) {
                let (train, valid) = sweep.data.split_rows(&order, labels, &run.split()).unwrap();
                assert_eq!(train.len() + valid.len(), labels.len(), "{}: train and valid cover the rows", run.id);
                valid.iter().for_each(|&row| times_validated[row] += 1);
                assert!(train.iter().all(|&row| !valid.contains(&row)), "{}: disjoint", run.id);
            }
            assert!(times_validated.iter().all(|&n| n == 1), "config {config}, repetition {repetition}");
            let folds_of: Vec<u64> = plan
                .runs
                .iter()
                .filter(|r| r.config == config && r.repetition == repetition)
                .map(|r| r.split_seed)
                .collect();
            partitions.push((config, repetition, folds_of[0]));
        }
    }
    for &(config, repetition, seed) in &partitions {
        let other_config = partitions.iter().find(|p| p.0 != config && p.1 == repetition).unwrap();
        assert_eq!(seed, other_config.2, "repetition {repetition}: one partition for every configuration");
        let other_rep = partitions.iter().find(|p| p.0 == config && p.1 != repetition).unwrap();
        assert_ne!(seed, other_rep.2, "repetitions draw their own partitions");
    }
}

#[test]
fn a_runs_config_toml_with_its_split_reproduces_the_run_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    for (case, data, id) in [
        ("holdout, pairing split", "reserve_fraction = 0.25\nstratify = true", "hidden=8/rep-2"),
        ("k-fold", "resample = \"repeated-kfold\"\nfolds = 3", "hidden=8/rep-2-fold-3"),
    ] {
        let name = if data.contains("kfold") { "repro-k" } else { "repro-h" };
        let text = sweep_text(name, "repeats = 2", data, "epochs = 5\nplots = false", "hidden = [[4], [8]]");
        let file = write(tmp.path(), &format!("{name}.toml"), &text);
        pinniped().args(["run", "-q", "--jobs", "2", "--out"]).arg(tmp.path()).arg(&file).assert().success();
        let run = tmp.path().join(name).join("runs").join(id);
        let config = fs::read_to_string(run.join("config.toml")).unwrap();
        assert!(config.contains("[split]") && config.contains("repetition = 2"), "{case}: {config}");
        let again = tmp.path().join(format!("{name}-again"));
        pinniped().arg("train").arg(run.join("config.toml")).arg("--out").arg(&again).assert().success();
        assert_eq!(
            metrics_without_time(&run.join("metrics.csv")),
            metrics_without_time(&again.join("metrics.csv")),
            "{case}"
        );
    }
}

#[test]
fn pairing_none_records_no_split_so_runs_and_their_hashes_stay_as_before() {
    let tmp = tempfile::tempdir().unwrap();
    let text =
        sweep_text("old", "repeats = 1\npairing = \"none\"", "reserve_every = 4", "epochs = 2", "hidden = [[4]]");
    let file = write(tmp.path(), "old.toml", &text);
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(tmp.path()).arg(&file).assert().success();
    let root = tmp.path().join("old");
    let config = fs::read_to_string(root.join("runs/hidden=4/rep-1/config.toml")).unwrap();
    assert!(!config.contains("[split]"), "{config}");
    let stored = fs::read_to_string(root.join("sweep.toml")).unwrap();
    assert!(stored.contains("pairing = \"none\""), "the stored sweep records the scheme: {stored}");
    let plan = fs::read_to_string(root.join("plan.csv")).unwrap();
    let (header, row) = plan.split_once('\n').unwrap();
    assert_eq!(header, "index,id,config,repeat,seed,repetition,fold,split_seed,hidden");
    let cells: Vec<&str> = row.trim().split(',').collect();
    assert_eq!((cells[5], cells[6]), ("1", ""), "holdout: repetition 1, no fold");
    assert_eq!(cells[7], cells[4], "pairing none: the split seed is the run's seed");
}

#[test]
fn a_directory_resumes_with_its_own_scheme_and_refuses_another_one() {
    let tmp = tempfile::tempdir().unwrap();
    let with = |pairing: &str| {
        let top = if pairing.is_empty() {
            "repeats = 2".to_string()
        } else {
            format!("repeats = 2\npairing = \"{pairing}\"")
        };
        write(tmp.path(), "r.toml", &sweep_text("r", &top, "reserve_every = 4", "epochs = 2", "hidden = [[4], [8]]"))
    };
    let run = |file: &Path| pinniped().args(["run", "--fake-trainer", "--out"]).arg(tmp.path()).arg(file).assert();
    run(&with("none")).success();
    let root = tmp.path().join("r");
    let before = snapshot(&root.join("runs"));

    // Unsaid: the directory's scheme, said in one line, nothing retrained.
    let out = run(&with("")).success().get_output().stdout.clone();
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("with its pairing = \"none\""), "{out}");
    assert!(out.contains("(4 already finished)"), "{out}");
    assert!(fs::read_to_string(root.join("sweep.toml")).unwrap().contains("pairing = \"none\""));

    // A directory made before `pairing` existed (its sweep.toml does not say it) means none.
    let stored = fs::read_to_string(root.join("sweep.toml")).unwrap();
    fs::write(root.join("sweep.toml"), stored.replace("pairing = \"none\"\n", "")).unwrap();
    let out = run(&with("")).success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("(4 already finished)"));

    // Said, and different: refused like a seed change, nothing touched.
    let err = run(&with("split")).code(2).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&err);
    assert!(err.contains("pairing \"none\" → \"split\""), "{err}");
    assert!(err.contains("another `name` or `--out`") && err.contains("--force"), "{err}");
    assert_eq!(snapshot(&root.join("runs")), before, "the runs are untouched");
}

#[test]
fn splits_and_folds_where_they_make_no_sense_are_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let tiny = write(tmp.path(), "TINY.tsv", "1\t0.1\t0.2\n2\t0.3\t0.1\n1\t0.5\t0.6\n2\t0.2\t0.9\n1\t0.4\t0.4\n");
    let sweep = |extra_top: &str, data: &str| {
        format!(
            "name = \"b\"\n{extra_top}\n[data]\ntrain = {:?}\n{data}\n[train]\nepochs = 1\n",
            tiny.display().to_string()
        )
    };
    for (case, file, text, wants) in [
        ("[split] in a sweep", "s1.toml", sweep("[split]\nfold = 1\n", ""), &["split", "remove [split]"][..]),
        ("[data] fold", "s2.toml", sweep("", "resample = \"kfold\"\nfold = 2"), &["data.fold", "[split]"][..]),
        (
            "more folds than rows",
            "s3.toml",
            sweep("", "resample = \"kfold\"\nfolds = 10"),
            &["data.folds", "5 training rows"][..],
        ),
        (
            "a bad pairing word",
            "s4.toml",
            sweep("pairing = \"pairs\"", "reserve_every = 2"),
            &["pairing", "\"split\""][..],
        ),
    ] {
        let path = write(tmp.path(), file, &text);
        let out = pinniped().args(["run", "--fake-trainer", "--out"]).arg(tmp.path().join("out")).arg(&path).assert();
        let err = String::from_utf8_lossy(&out.code(2).get_output().stderr).to_string();
        assert!(wants.iter().all(|w| err.contains(w)), "{case}: {err}");
    }
    assert!(!tmp.path().join("out").exists(), "nothing written");

    let run_file = |data: &str, split: &str| {
        format!("[data]\ntrain = {:?}\n{data}\n[train]\nepochs = 1\n{split}", tiny.display().to_string())
    };
    for (case, text, wants) in [
        (
            "k-fold run without a fold",
            run_file("resample = \"kfold\"\nfolds = 2", ""),
            &["data.resample", "[split]"][..],
        ),
        ("a fold of a holdout", run_file("reserve_every = 2", "[split]\nfold = 1\n"), &["split.fold", "resample"][..]),
        (
            "a fold past folds",
            run_file("resample = \"kfold\"\nfolds = 2", "[split]\nfold = 3\n"),
            &["split.fold", "1 to folds = 2"][..],
        ),
    ] {
        let path = write(tmp.path(), "run.toml", &text);
        let out = pinniped().arg("train").arg(&path).arg("--out").arg(tmp.path().join("t")).assert();
        let err = String::from_utf8_lossy(&out.code(2).get_output().stderr).to_string();
        assert!(wants.iter().all(|w| err.contains(w)), "{case}: {err}");
    }
}

/// Per-repeat final validation accuracies of a fake-trainer sweep, one list per configuration.
fn final_valid_accs(root: &Path, configs: &[&str], repeats: usize) -> Vec<Vec<f64>> {
    configs
        .iter()
        .map(|c| {
            (1..=repeats)
                .map(|r| {
                    let text = fs::read_to_string(root.join(format!("runs/{c}/rep-{r}/metrics.csv"))).unwrap();
                    let last = text.lines().last().unwrap().split(',').collect::<Vec<_>>();
                    last[4].parse::<f64>().unwrap() // valid_acc
                })
                .collect()
        })
        .collect()
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (m, (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt())
}

/// THE PAIRING TEST. The fake trainer's scores are "configuration effect + split effect (±0.05,
/// from the split seed) + noise (0..0.02)". Two configurations differ by about 0.011 in final
/// validation accuracy. Paired on the split, the split effect cancels and the paired t-test
/// finds the difference; Welch's unpaired test on the same numbers drowns in the split effect.
/// With pairing none each run has its own split effect and pairing the numbers by repeat no
/// longer helps.
#[test]
fn pairing_lets_a_paired_test_find_an_effect_the_unpaired_test_misses() {
    let tmp = tempfile::tempdir().unwrap();
    let repeats = 8;
    let configs = ["hidden=16", "hidden=24"];
    let p_values = |pairing: &str| {
        let name = format!("effect-{pairing}");
        let text = sweep_text(
            &name,
            &format!("repeats = {repeats}\npairing = \"{pairing}\""),
            "reserve_every = 4",
            "epochs = 40",
            "hidden = [[16], [24]]",
        );
        let file = write(tmp.path(), &format!("{name}.toml"), &text);
        pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(tmp.path()).arg(&file).assert().success();
        let accs = final_valid_accs(&tmp.path().join(&name), &configs, repeats);
        let paired = pinniped::stats::paired_t(&accs[0], &accs[1], 0.95).unwrap();
        let ((m1, s1), (m2, s2)) = (mean_sd(&accs[0]), mean_sd(&accs[1]));
        let welch = pinniped::report::stats::welch(m1, s1, repeats, m2, s2, repeats).unwrap();
        assert!(paired.diff.mean > 0.0, "{pairing}: fewer hidden nodes score higher in the fake trainer");
        (paired.p, welch.p)
    };
    let (paired, welch) = p_values("split");
    assert!(paired < 0.05, "pairing split: the paired test finds the effect (p = {paired})");
    assert!(welch > 0.05, "pairing split: Welch misses it (p = {welch})");
    let (paired_none, _) = p_values("none");
    assert!(paired_none > 0.05, "pairing none: pairing by repeat no longer cancels the split (p = {paired_none})");
}
