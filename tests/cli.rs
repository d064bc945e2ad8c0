//! The command line as a user meets it: real training on the shipped data, sweeps,
//! resume after SIGKILL, rerun, summarize, compare, eval, exit codes.

mod common;

use common::*;
use predicates::prelude::*;
use std::fs;
use std::path::Path;

fn small_sweep(dir: &Path, name: &str, extra_train: &str, axes: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 11\nrepeats = 2\n{}\n[train]\nhidden = [8]\nbatch_size = 40\nepochs = 4\ntest_every = 2\nsave_every = 2\n{extra_train}\n[sweep]\n{axes}\n",
            data_table(true)
        ),
    )
}

#[test]
fn jobs_do_not_change_any_result() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_sweep(
        tmp.path(),
        "det",
        "",
        "design = \"grid\"\nactivation = [\"sigmoid\", \"tanh\"]\nmomentum = [0.0, 0.5]",
    );
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    pinniped().args(["run", "-q", "--jobs", "1", "--out"]).arg(&one).arg(&file).assert().success();
    pinniped().args(["run", "-q", "--jobs", "2", "--out"]).arg(&two).arg(&file).assert().success();
    let runs = files(&one.join("det"));
    assert_eq!(runs, files(&two.join("det")));
    let mut compared = 0;
    for f in &runs {
        let (a, b) = (one.join("det").join(f), two.join("det").join(f));
        if f.ends_with("metrics.csv") {
            assert_eq!(metrics_without_time(&a), metrics_without_time(&b), "{f}");
            compared += 1;
        } else if f.ends_with(".safetensors")
            || f.ends_with("weights.csv.gz")
            || f.ends_with("activations.csv.gz")
            || f.contains("confusion-")
        {
            assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap(), "{f}");
            compared += 1;
        }
    }
    assert!(compared >= 8 * 6, "compared only {compared} files");
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    pinniped()
        .args(["run", "--dry-run", "--out"])
        .arg(&out)
        .arg(repo().join("experiments/paper.toml"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("15 configurations × 3 repeats = 45 runs")
                .and(predicate::str::contains("batch_size=40/rep-2")),
        );
    assert!(!out.exists());
}

#[test]
fn bad_sweep_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = write(
        tmp.path(),
        "bad.toml",
        &format!("name = \"bad\"\n{}\n[train]\nlearning_rate = -1\nmomemtum = 0.5\n", data_table(false)),
    );
    pinniped().args(["run", "--out"]).arg(&out).arg(&file).assert().code(2).stderr(
        predicate::str::contains("bad.toml:")
            .and(predicate::str::contains("train.learning_rate"))
            .and(predicate::str::contains("did you mean `momentum`")),
    );
    assert!(!out.exists());
}

#[test]
fn bad_data_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let data = write(tmp.path(), "ragged.tsv", "1\t0.1\t0.2\n2\t0.3\n");
    let file =
        write(tmp.path(), "s.toml", &format!("name = \"s\"\n[data]\ntrain = {:?}\n", data.display().to_string()));
    pinniped()
        .args(["run", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ragged.tsv:2"));
    assert!(!out.exists());
}

#[test]
fn failed_runs_give_exit_1_and_rerun_failed_completes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = small_sweep(tmp.path(), "fl", "", "design = \"one-at-a-time\"\nbatch_size = [40, 80]");
    pinniped()
        .args(["run", "--fake-trainer", "--out"])
        .arg(&out)
        .arg(&file)
        .args(["--fake-fail", "batch_size=80/rep-2"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAILED    batch_size=80/rep-2"));
    let dir = out.join("fl");
    pinniped().arg("status").arg(&dir).assert().code(1).stdout(
        predicate::str::contains("3 done, 0 diverged, 1 failed, 0 running, 0 pending")
            .and(predicate::str::contains("injected failure")),
    );
    let summary = fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(summary.lines().any(|l| l.starts_with("80,2,1,1,0,")), "{summary}");
    // A plain rerun of `run` does not retry a failed run...
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().code(1);
    // ...`rerun --failed` does.
    pinniped().args(["rerun", "-q", "--fake-trainer", "--failed"]).arg(&dir).assert().success();
    let summary = fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(summary.lines().any(|l| l.starts_with("80,2,2,0,0,")), "{summary}");
    pinniped().arg("status").arg(&dir).assert().success().stdout(predicate::str::contains("4 done"));
}

#[test]
fn rerun_named_runs_and_unknown_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = small_sweep(tmp.path(), "rn", "", "batch_size = [40, 80]");
    pinniped().args(["run", "-q", "--out"]).arg(&out).arg(&file).assert().success();
    let dir = out.join("rn");
    let before = fs::read(dir.join("runs/batch_size=80/rep-1/model.safetensors")).unwrap();
    let summary = fs::read_to_string(dir.join("summary.csv")).unwrap();
    pinniped().args(["rerun", "-q"]).arg(&dir).args(["--run", "batch_size=80/rep-1"]).assert().success();
    // Same seed, same result.
    assert_eq!(before, fs::read(dir.join("runs/batch_size=80/rep-1/model.safetensors")).unwrap());
    let after = fs::read_to_string(dir.join("summary.csv")).unwrap();
    let drop_seconds =
        |s: &str| s.lines().map(|l| l.split(',').take(17).collect::<Vec<_>>().join(",")).collect::<Vec<_>>();
    assert_eq!(drop_seconds(&summary), drop_seconds(&after));
    pinniped()
        .arg("rerun")
        .arg(&dir)
        .args(["--run", "batch_size=8/rep-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no run `batch_size=8/rep-1`").and(predicate::str::contains("did you mean")));
}

#[test]
fn summarize_is_idempotent_and_matches_the_live_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = small_sweep(tmp.path(), "sm", "", "momentum = [0.0, 0.9]");
    pinniped().args(["run", "-q", "--out"]).arg(&out).arg(&file).assert().success();
    let dir = out.join("sm");
    let live = fs::read(dir.join("summary.csv")).unwrap();
    fs::remove_file(dir.join("summary.csv")).unwrap();
    pinniped().arg("summarize").arg(&dir).assert().success();
    assert_eq!(live, fs::read(dir.join("summary.csv")).unwrap());
    pinniped().arg("summarize").arg(&dir).assert().success();
    assert_eq!(live, fs::read(dir.join("summary.csv")).unwrap());
}

#[test]
fn a_changed_sweep_is_refused_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = small_sweep(tmp.path(), "ch", "", "batch_size = [40, 80]");
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    let text = fs::read_to_string(&file).unwrap().replace("seed = 11", "seed = 12").replace("epochs = 4", "epochs = 5");
    fs::write(&file, text).unwrap();
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().code(2).stderr(
        predicate::str::contains("seed 11 → 12")
            .and(predicate::str::contains("train.epochs"))
            .and(predicate::str::contains("--force")),
    );
    pinniped().args(["run", "-q", "--fake-trainer", "--force", "--out"]).arg(&out).arg(&file).assert().success();
    let metrics = fs::read_to_string(out.join("ch/runs/baseline/rep-1/metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 6, "retrained with 5 epochs");
    // Growing an axis is not a change that invalidates anything: only new runs train.
    let text = fs::read_to_string(&file).unwrap().replace("batch_size = [40, 80]", "batch_size = [40, 80, 120]");
    fs::write(&file, text).unwrap();
    pinniped()
        .args(["run", "--fake-trainer", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("(4 already finished)"));
}

#[test]
fn killed_sweep_resumes_to_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_sweep(tmp.path(), "kill", "", "design = \"grid\"\nbatch_size = [40, 80]\nmomentum = [0.0, 0.5]");
    fs::write(&file, fs::read_to_string(&file).unwrap().replace("epochs = 4", "epochs = 20")).unwrap();
    let (clean, killed) = (tmp.path().join("clean"), tmp.path().join("killed"));
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&clean).arg(&file).assert().success();
    // The run ids in plan order (ids contain commas: plan.csv is read as CSV).
    let mut plan = csv::Reader::from_path(clean.join("kill/plan.csv")).unwrap();
    let ids: Vec<String> = plan.records().map(|r| r.unwrap()[1].to_string()).collect();
    assert_eq!(ids.len(), 8);
    // Finished runs, in plan order: a run's status.json is written last, atomically.
    let finished = || -> Vec<String> {
        ids.iter().filter(|id| killed.join("kill/runs").join(id).join("status.json").exists()).cloned().collect()
    };
    // Killed at chosen events, not after guessed sleeps: the fake trainer SIGKILLs its own process
    // when the named run reaches the named epoch (mid-way through the first run, at the first epoch
    // of the fifth, at the last epoch of the last). One worker trains in plan order, so the runs
    // before the victim, and only they, have finished; the victim's partial files stay behind.
    for (victim, epoch) in [(0, 10), (4, 1), (7, 20)] {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("pinniped"))
            .args(["run", "-q", "--fake-trainer", "--jobs", "1", "--out"])
            .arg(&killed)
            .arg(&file)
            .args(["--fake-kill-at", &format!("{}@{epoch}", ids[victim])])
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(9), "killed at {}@{epoch}: {:?}", ids[victim], out);
        assert_eq!(finished(), ids[..victim], "killed at {}@{epoch}", ids[victim]);
        let victim_dir = killed.join("kill/runs").join(&ids[victim]);
        assert!(victim_dir.join("config.toml").exists(), "the victim had started: {}", victim_dir.display());
    }
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&killed).arg(&file).assert().success();
    assert_eq!(fs::read(clean.join("kill/summary.csv")).unwrap(), fs::read(killed.join("kill/summary.csv")).unwrap());
    assert_eq!(files(&clean.join("kill")), files(&killed.join("kill")), "no stray temporary or partial files");
    for f in files(&killed.join("kill")) {
        if f.ends_with("metrics.csv") {
            assert_eq!(
                fs::read(clean.join("kill").join(&f)).unwrap(),
                fs::read(killed.join("kill").join(&f)).unwrap(),
                "{f}"
            );
        }
    }
}

#[test]
fn train_then_eval_reproduces_the_final_test_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(train_tsv())
        .arg("--test")
        .arg(test_tsv())
        .args(["--reserve-every", "4", "--hidden", "16", "--epochs", "12", "--batch-size", "40", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("done after 12 epochs"));
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    let last: Vec<&str> = metrics.lines().last().unwrap().split(',').collect();
    let test_acc: f64 = last[6].parse().unwrap();
    let eval = pinniped()
        .args(["eval", "--csv", "--model"])
        .arg(out.join("model.safetensors"))
        .arg("--data")
        .arg(test_tsv())
        .output()
        .unwrap();
    assert!(eval.status.success());
    let text = String::from_utf8(eval.stdout).unwrap();
    let acc: f64 = text.lines().nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    assert_eq!(acc, test_acc, "eval must reproduce the run's own test accuracy exactly");
    // The paper's sparse layout.
    pinniped()
        .args(["eval", "--model"])
        .arg(out.join("model.safetensors"))
        .arg("--data")
        .arg(test_tsv())
        .assert()
        .success()
        .stdout(predicate::str::contains("Phoneme_TEST.tsv.gz: ").and(predicate::str::contains("|+")));
    // The run's config.toml reruns it alone, bit for bit.
    let again = tmp.path().join("again");
    pinniped().args(["train", "-q"]).arg(out.join("config.toml")).arg("--out").arg(&again).assert().success();
    assert_eq!(metrics_without_time(&out.join("metrics.csv")), metrics_without_time(&again.join("metrics.csv")));
    assert_eq!(fs::read(out.join("model.safetensors")).unwrap(), fs::read(again.join("model.safetensors")).unwrap());
}

#[test]
fn eval_reproduces_spectral_standardised_and_refit_models() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, extra) in [
        &["--set", "features=\"log-mel\"", "--set", "standardize=true"][..],
        &["--set", "features=\"log-spectrum\"", "--set", "refit=true", "--dtype", "f64"][..],
        &["--set", "features=\"multi-log-mel\"", "--set", "hop=256", "--set", "mel_bands=20"][..],
    ]
    .into_iter()
    .enumerate()
    {
        let out = tmp.path().join(format!("run{i}"));
        pinniped()
            .args(["train", "-q", "--train"])
            .arg(train_tsv())
            .arg("--test")
            .arg(test_tsv())
            .args([
                "--reserve-every",
                "4",
                "--hidden",
                "16",
                "--epochs",
                "10",
                "--batch-size",
                "40",
                "--loss",
                "cross-entropy",
                "--init",
                "pytorch",
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .assert()
            .success();
        let status: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("status.json")).unwrap()).unwrap();
        let want = match status["selected"]["test_acc"].as_f64() {
            Some(v) => v,
            None => fs::read_to_string(out.join("metrics.csv"))
                .unwrap()
                .lines()
                .last()
                .unwrap()
                .split(',')
                .nth(6)
                .unwrap()
                .parse()
                .unwrap(),
        };
        let eval = pinniped()
            .args(["eval", "--csv", "--model"])
            .arg(out.join("model.safetensors"))
            .arg("--data")
            .arg(test_tsv())
            .output()
            .unwrap();
        assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
        let text = String::from_utf8(eval.stdout).unwrap();
        let acc: f64 = text.lines().nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        assert_eq!(acc, want, "{extra:?}");
    }
}

#[test]
fn eval_rejects_a_model_that_does_not_fit_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(train_tsv())
        .args(["--epochs", "1", "--hidden", "4", "--out"])
        .arg(&out)
        .assert()
        .success();
    let narrow = write(tmp.path(), "narrow.tsv", "1\t0.1\t0.2\t0.3\n2\t0.3\t0.1\t0.0\n");
    pinniped()
        .args(["eval", "--model"])
        .arg(out.join("model.safetensors"))
        .arg("--data")
        .arg(&narrow)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("narrow.tsv").and(predicate::str::contains("series of 1024 values")));
    let truncated = tmp.path().join("trunc.safetensors");
    let bytes = fs::read(out.join("model.safetensors")).unwrap();
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    pinniped()
        .args(["eval", "--model"])
        .arg(&truncated)
        .arg("--data")
        .arg(test_tsv())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("trunc.safetensors"));
}

#[test]
fn mse_sum_at_learning_rate_0_1_diverges_and_keeps_its_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(train_tsv())
        .args(["--reserve-every", "4", "--learning-rate", "0.1", "--epochs", "150", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("diverged"));
    let status: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("status.json")).unwrap()).unwrap();
    assert_eq!(status["state"], "diverged");
    let epoch = status["epoch"].as_u64().unwrap();
    assert!(epoch > 1 && epoch < 150, "diverged at {epoch}");
    let rows = fs::read_to_string(out.join("metrics.csv")).unwrap().lines().count() - 1;
    assert!(rows as u64 >= epoch - 1, "metrics up to the divergence are kept ({rows} rows, epoch {epoch})");
}

#[test]
fn training_accuracy_climbs_well_above_chance() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(train_tsv())
        .args(["--reserve-every", "4", "--batch-size", "20", "--epochs", "40", "--out"])
        .arg(&out)
        .assert()
        .success();
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    let acc = |line: &str| line.split(',').nth(2).unwrap().parse::<f64>().unwrap();
    let first = acc(metrics.lines().nth(1).unwrap());
    let last = acc(metrics.lines().last().unwrap());
    // 39 classes: chance is 1/39 ≈ 0.026.
    assert!(last > 0.5 && last > first + 0.3, "train accuracy {first} → {last}");
}

#[test]
fn compare_two_sweeps() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let a = small_sweep(tmp.path(), "ca", "", "batch_size = [40, 80]");
    let b = small_sweep(tmp.path(), "cb", "momentum = 0.5", "batch_size = [40, 120]");
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&a).assert().success();
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&b).assert().success();
    pinniped()
        .arg("compare")
        .arg(out.join("ca"))
        .arg(out.join("cb/summary.csv"))
        .arg("--markdown")
        .assert()
        .success()
        .stdout(predicate::str::contains("batch_size=40").and(predicate::str::contains("120")));
    pinniped()
        .arg("compare")
        .arg(out.join("ca"))
        .arg(tmp.path().join("nowhere"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere"));
}

#[test]
fn help_documents_every_command_and_option() {
    use clap::CommandFactory;
    let cli = pinniped::app::args::Cli::command();
    let top = pinniped().arg("--help").assert().success().get_output().stdout.clone();
    let top = String::from_utf8_lossy(&top);
    let mut problems = Vec::new();
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        if !top.contains(name) {
            problems.push(format!("`pinniped --help` does not list `{name}`"));
        }
        if sub.get_about().is_none() {
            problems.push(format!("{name}: no description"));
        }
        let out = pinniped().args([name, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        // Its own help: its usage line and its description, not the top-level text.
        if !out.status.success() || !help.contains(&format!("Usage: pinniped {name}")) {
            problems.push(format!("`pinniped {name} --help` fails or shows no `Usage: pinniped {name}`"));
        }
        // Help is wrapped to the terminal: compare the words, not the line breaks.
        let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(about) = sub.get_about().map(|a| a.to_string()) {
            if !words(&help).contains(&words(&about)) {
                problems.push(format!("`pinniped {name} --help` does not describe it ({about:?})"));
            }
        }
        // The hidden test-mode options stay hidden.
        if help.contains("--fake") || help.contains("--inject") {
            problems.push(format!("`pinniped {name} --help` shows a test-mode option"));
        }
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let shown = match arg.get_long() {
                Some(long) => format!("--{long}"),
                None => arg
                    .get_value_names()
                    .and_then(|v| v.first())
                    .map_or(arg.get_id().to_string(), |v| v.to_string())
                    .to_uppercase(),
            };
            let case = format!("{name} {shown}");
            if !help.contains(&shown) {
                problems.push(format!("`pinniped {name} --help` does not show {shown}"));
            }
            let documented = arg.get_help().or(arg.get_long_help()).is_some_and(|h| !h.to_string().trim().is_empty());
            if !documented {
                problems.push(format!("{case}: no help text"));
            }
        }
    }
    if top.contains("--fake") || top.contains("--inject") {
        problems.push("`pinniped --help` shows a test-mode option".into());
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    pinniped().arg("frobnicate").assert().code(2);
}

#[test]
fn concurrent_processes_and_shards_train_every_run_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file =
        small_sweep(tmp.path(), "two", "", "design = \"grid\"\nbatch_size = [40, 80, 120]\nmomentum = [0.0, 0.5]");
    let bin = assert_cmd::cargo::cargo_bin("pinniped");
    for shards in [None, Some(["0/2", "1/2"])] {
        let out = tmp.path().join(if shards.is_some() { "sharded" } else { "same" });
        let spawn = |i: usize, delay_ms: &str| {
            let mut c = std::process::Command::new(&bin);
            c.args(["run", "--fake-trainer", "--jobs", "1", "--out"]).arg(&out).arg(&file);
            if let Some(s) = shards {
                c.args(["--shard", s[i]]);
            }
            c.args(["--fake-delay-ms", delay_ms]).stdout(std::process::Stdio::piped()).spawn().unwrap()
        };
        let (a, b) = if shards.is_some() {
            (spawn(0, "10"), spawn(1, "10"))
        } else {
            // Both processes must get work whatever the machine's load: the first is stopped
            // (SIGSTOP) once it has finished a run, the second starts and finishes one, then
            // the first continues and the two race for the rest.
            let finished = || runs_with_status(&out.join("two"));
            let a = spawn(0, "100");
            wait_until(|| finished() >= 1, "the first process finished a run");
            signal(&a, "-STOP");
            let before = finished();
            assert!(before < 12, "the first process trained every run before it could be stopped");
            let b = spawn(1, "10");
            wait_until(|| finished() > before, "the second process finished a run");
            signal(&a, "-CONT");
            (a, b)
        };
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(a.status.success() && b.status.success());
        assert_each_run_trained_once(&a.stdout, &b.stdout, 12);
        let (ia, ib) = (finished_ids(&a.stdout), finished_ids(&b.stdout));
        if shards.is_some() {
            let mut plan = csv::Reader::from_path(out.join("two/plan.csv")).unwrap();
            for row in plan.records() {
                let row = row.unwrap();
                let (idx, id): (usize, &str) = (row[0].parse().unwrap(), &row[1]);
                let mine = if idx % 2 == 0 { &ia } else { &ib };
                assert!(mine.iter().any(|x| x == id), "{id} (index {idx}) trained by the wrong shard");
            }
        } else {
            assert!(!ia.is_empty() && !ib.is_empty(), "both processes worked: {ia:?} / {ib:?}");
        }
        pinniped().arg("status").arg(out.join("two")).assert().success().stdout(predicate::str::contains("12 done"));
    }
    pinniped()
        .args(["run", "--shard", "2/2"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("0 <= K < N"));
}

/// The runs of a results directory that have a status.json (finished, in any state).
fn runs_with_status(dir: &Path) -> usize {
    let Ok(configs) = fs::read_dir(dir.join("runs")) else { return 0 };
    configs
        .flatten()
        .flat_map(|config| fs::read_dir(config.path()).into_iter().flatten().flatten())
        .filter(|run| run.path().join("status.json").is_file())
        .count()
}

/// Polls `ready` for up to a minute (a bound, not a timing assumption).
fn wait_until(ready: impl Fn() -> bool, what: &str) {
    for _ in 0..6000 {
        if ready() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("never happened: {what}");
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = std::process::Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig} {}", child.id());
}
