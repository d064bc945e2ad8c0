//! What a person types and reads: exit codes, messages, help, progress, and a
//! closed stdout or Ctrl-C in the middle of a command.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A sweep on the shipped data: 3 learning rates × 2 momenta × 3 repeats = 18 runs.
fn sweep18(dir: &Path) -> PathBuf {
    write(
        dir,
        "s.toml",
        &format!(
            "name = \"s\"\nseed = 1\nrepeats = 3\n{}\n[train]\nhidden = [8]\nepochs = 4\n[sweep]\nlearning_rate = [0.1, 0.01, 0.001]\nmomentum = [0.0, 0.5]\n",
            data_table(false)
        ),
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn statuses(root: &Path) -> usize {
    files(root).iter().filter(|f| f.ends_with("status.json")).count()
}

/// Runs the binary with `args` and stdout a pipe whose reader is already closed.
fn with_closed_stdout(args: &[&str], cwd: &Path) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_pinniped"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// A tiny trained model (2 epochs) in `dir/model`.
fn trained_model(dir: &Path) -> PathBuf {
    let out = dir.join("model");
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(train_tsv())
        .args(["--hidden", "4", "--epochs", "2", "--out"])
        .arg(&out)
        .assert()
        .success();
    out.join("model.safetensors")
}

#[test]
fn a_closed_stdout_stops_printing_never_the_work() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    let model = trained_model(tmp.path());
    let (f, m, d) = (file.to_str().unwrap(), model.to_str().unwrap(), train_tsv().display().to_string());
    let cases: &[(&str, Vec<&str>)] = &[
        ("run --dry-run", vec!["run", f, "--dry-run"]),
        ("run (the sweep finishes)", vec!["run", f, "--fake-trainer", "--out", "out", "-j", "2"]),
        ("status", vec!["status", "out/s"]),
        ("summarize", vec!["summarize", "out/s"]),
        ("eval", vec!["eval", "--model", m, "--data", &d]),
        ("rerun", vec!["rerun", "out/s", "--run", "baseline/rep-1", "--fake-trainer"]),
    ];
    for (name, args) in cases {
        let out = with_closed_stdout(args, tmp.path());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        assert!(!stderr.contains("internal error") && !stderr.contains("panicked"), "{name}: {stderr}");
        if name.starts_with("run (") {
            assert_eq!(statuses(&tmp.path().join("out/s")), 18, "{name}: every run finished");
            assert!(tmp.path().join("out/s/summary.csv").is_file(), "{name}: summary written");
        }
    }
}

#[test]
fn ctrl_c_exits_130_says_how_to_resume_and_the_same_command_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    let root = tmp.path().join("out/s");
    let child = Command::new(env!("CARGO_BIN_EXE_pinniped"))
        .args(["run", "--fake-trainer", "-j", "1", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&file)
        .args(["--fake-delay-ms", "100"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Deterministic: interrupt once a run has finished and others are still to come.
    let start = Instant::now();
    while statuses(&root) == 0 {
        assert!(start.elapsed() < Duration::from_secs(120), "no run finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted; run the same command again to resume"), "{stderr}");
    assert!(statuses(&root) < 18, "interrupted before the end");
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(tmp.path().join("out")).arg(&file).assert().success();
    assert_eq!(statuses(&root), 18);
}

#[test]
fn out_on_a_file_is_a_usage_error_and_the_file_is_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    let blocker = write(tmp.path(), "blocker", "mine\n");
    fs::create_dir(tmp.path().join("res")).unwrap();
    let named = write(&tmp.path().join("res"), "s", "mine too\n");
    let cases: &[(&str, Vec<String>)] = &[
        ("run --out FILE", vec!["run".into(), "--out".into(), "blocker".into()]),
        ("run --out FILE/sub", vec!["run".into(), "--out".into(), "blocker/sub".into()]),
        ("run, <out>/<name> a file", vec!["run".into(), "--out".into(), "res".into()]),
        ("slurm --out FILE", vec!["slurm".into(), "--tasks".into(), "2".into(), "--out".into(), "blocker".into()]),
        (
            "slurm, <out>/<name> a file",
            vec!["slurm".into(), "--tasks".into(), "2".into(), "--out".into(), "res".into()],
        ),
    ];
    for (name, args) in cases {
        let out = pinniped().current_dir(tmp.path()).args(args).arg(&file).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("not a directory"), "{name}: {stderr}");
    }
    assert_eq!(fs::read_to_string(&blocker).unwrap(), "mine\n");
    assert_eq!(fs::read_to_string(&named).unwrap(), "mine too\n");
}

#[test]
fn counts_out_of_their_bounds_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    let f = file.to_str().unwrap();
    let cases: &[(&str, Vec<&str>)] = &[
        ("run --jobs 0", vec!["run", f, "--jobs", "0"]),
        ("run --jobs too many", vec!["run", f, "--jobs", "100000"]),
        ("rerun --jobs 0", vec!["rerun", "x", "--failed", "--jobs", "0"]),
        ("run --rung-wait over a day", vec!["run", f, "--rung-wait", "86401"]),
        ("run --rung-wait negative", vec!["run", f, "--rung-wait", "-1"]),
        ("slurm --tasks 0", vec!["slurm", f, "--tasks", "0"]),
        ("slurm --cpus-per-task 0", vec!["slurm", f, "--tasks", "2", "--cpus-per-task", "0"]),
        ("slurm --max-parallel 0", vec!["slurm", f, "--tasks", "2", "--max-parallel", "0"]),
    ];
    for (name, args) in cases {
        let out = pinniped().current_dir(tmp.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
    }
    assert!(!tmp.path().join("results").exists(), "nothing written");
}

#[test]
fn slurm_writes_no_more_tasks_than_runs_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    let out = pinniped().current_dir(tmp.path()).args(["slurm", "--tasks", "100"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("writing 18 tasks"), "{}", text(&out.stdout));
    let array = fs::read_to_string(tmp.path().join("results/s/slurm/array.sbatch")).unwrap();
    assert!(array.contains("#SBATCH --array=0-17\n") && array.contains("/18\""), "{array}");
}

#[test]
fn slurm_refuses_values_that_would_break_the_batch_script() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    let cases: &[(&str, &[&str], &str)] = &[
        ("newline in --partition", &["--partition", "gpu\n#SBATCH --mem=1"], "--partition"),
        ("space in --partition", &["--partition", "a b"], "--partition"),
        ("newline in --time", &["--time", "1:00:00\necho hi"], "--time"),
        ("words in --time", &["--time", "an hour"], "--time"),
        ("newline in --out", &["--out", "res\nults"], "control character"),
    ];
    for (name, args, want) in cases {
        let out =
            pinniped().current_dir(tmp.path()).args(["slurm", "--tasks", "2"]).args(*args).arg(&file).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(want), "{name}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: one line, the value escaped: {stderr}");
        assert!(files(tmp.path()).iter().all(|f| !f.ends_with(".sbatch")), "{name}: no script written");
    }
}

#[test]
fn train_given_a_sweep_file_says_to_use_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    let out = pinniped().current_dir(tmp.path()).arg("train").arg(&file).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("this is a sweep file") && stderr.contains("pinniped run"), "{stderr}");
    assert!(!stderr.contains("unknown key"), "{stderr}");
}

#[test]
fn rerun_accepts_its_directory_before_or_after_the_selection() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    pinniped().current_dir(tmp.path()).args(["run", "-q", "--fake-trainer"]).arg(&file).assert().success();
    let dir = "results/s";
    let id = "learning_rate=0.01/rep-2";
    let orders: &[(&str, &[&str])] = &[
        ("DIR --run ID", &[dir, "--run", id]),
        ("--run ID DIR", &["--run", id, dir]),
        ("--run ID --run ID DIR", &["--run", id, "--run", "baseline/rep-1", dir]),
        ("--failed DIR", &["--failed", dir]),
        ("DIR --failed", &[dir, "--failed"]),
    ];
    for (name, args) in orders {
        let out = pinniped().current_dir(tmp.path()).args(["rerun", "--fake-trainer"]).args(*args).output().unwrap();
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    }
    // The usage line shows an order that works: DIR first.
    let help = pinniped().args(["rerun", "--help"]).output().unwrap();
    let usage = text(&help.stdout).lines().find(|l| l.starts_with("Usage:")).unwrap_or_default().to_string();
    let (dir_at, sel_at) = (usage.find("<DIR>").unwrap(), usage.find("--failed").unwrap());
    assert!(dir_at < sel_at || usage.contains("--run <ID>>"), "{usage}");
}

#[test]
fn rerun_reports_this_invocations_runs_and_what_there_was_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    pinniped().current_dir(tmp.path()).args(["run", "-q", "--fake-trainer"]).arg(&file).assert().success();
    let one = pinniped()
        .current_dir(tmp.path())
        .args(["rerun", "results/s", "--fake-trainer", "--run", "baseline/rep-3"])
        .output()
        .unwrap();
    let stdout = text(&one.stdout);
    assert!(stdout.contains("rerunning 1 run of s") && stdout.contains("[1/1]"), "{stdout}");
    assert!(!stdout.contains("/18]"), "{stdout}");
    let nothing = pinniped().current_dir(tmp.path()).args(["rerun", "results/s", "--failed"]).output().unwrap();
    assert_eq!(nothing.status.code(), Some(0));
    assert!(text(&nothing.stdout).contains("nothing to rerun"), "{}", text(&nothing.stdout));
}

#[test]
fn an_unknown_run_id_gets_the_closest_few_and_where_to_list_all() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    pinniped().current_dir(tmp.path()).args(["run", "-q", "--fake-trainer"]).arg(&file).assert().success();
    let long = format!("baseline/rep-9\n{}", "x".repeat(100_000));
    let cases: &[(&str, &str)] = &[("a typo", "baseline/rep-9"), ("100,000 characters with a newline", &long)];
    for (name, id) in cases {
        let out = pinniped().current_dir(tmp.path()).args(["rerun", "results/s", "--run", id]).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("plan.csv") && stderr.contains("all 18 ids"), "{name}: {stderr}");
        assert_eq!(stderr.matches("/rep-").count(), 5 + usize::from(id.contains("rep-9")), "{name}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.len() < 1000, "{name}: echo cut to a bounded length ({} bytes)", stderr.len());
    }
}

#[test]
fn counted_nouns_agree_with_their_number() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "one.toml",
        &format!("name = \"one\"\nrepeats = 1\n{}\n[train]\nepochs = 2\n", data_table(false)),
    );
    let plan = pinniped().args(["run", "--dry-run"]).arg(&file).output().unwrap();
    assert!(text(&plan.stdout).contains("1 configuration × 1 repeat = 1 run\n"), "{}", text(&plan.stdout));
    let failing = pinniped()
        .current_dir(tmp.path())
        .args(["run", "--fake-trainer"])
        .arg(&file)
        .args(["--fake-fail", "baseline"])
        .output()
        .unwrap();
    assert_eq!(failing.status.code(), Some(1));
    assert!(text(&failing.stdout).contains("1 run failed:"), "{}", text(&failing.stdout));
}

/// serde's words (`invalid type`, `expected f64`) never reach the user, for any key.
#[test]
fn a_wrong_type_is_named_in_words_with_an_example_for_every_key() {
    let keys = pinniped::spec::TrainConfig::keys();
    let defaults = match toml::Value::try_from(pinniped::spec::TrainConfig::default()).unwrap() {
        toml::Value::Table(t) => t,
        _ => unreachable!(),
    };
    let mut checked = 0;
    for key in keys.iter().filter(|k| k.as_str() != "seed") {
        let wrong = match defaults.get(key.as_str()) {
            Some(toml::Value::String(_)) => vec!["5".to_string(), "{ a = 1 }".into()],
            _ => vec!["\"text\"".to_string(), "{ a = 1 }".into()],
        };
        for value in wrong {
            let source = format!("name = \"s\"\n{}[train]\n{key} = {value}\n", data_table(false));
            let Err(e) = pinniped::spec::parse_sweep(Path::new("s.toml"), &source) else {
                continue; // a value this key accepts
            };
            let msg = e.to_string();
            for serde_word in
                ["invalid type", "invalid value", "expected ", "usize", "u64", "floating point", "sequence"]
            {
                assert!(!msg.contains(serde_word), "{key} = {value}: {msg}");
            }
            assert!(msg.contains("must be") || msg.contains("must "), "{key} = {value}: {msg}");
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} cases checked");
    let e = pinniped::spec::parse_sweep(
        Path::new("s.toml"),
        "name = \"s\"\n[data]\ntrain = \"x.tsv\"\n[train]\nlearning_rate = \"0.1\"\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("train.learning_rate: must be a number, e.g. "), "{e}");
}

#[test]
fn control_characters_in_echoed_input_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "s.toml",
        &format!("name = \"s\"\n\"bad\\u001b[31mkey\\nforged line\" = 1\n{}", data_table(false)),
    );
    let out = pinniped().args(["run", "--dry-run"]).arg(&file).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains('\u{1b}') && stderr.contains("\\u{1b}"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn dry_run_values_sit_under_their_headers_and_a_shard_lists_its_own_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "w.toml",
        &format!(
            "name = \"w\"\nrepeats = 2\n{}\n[train]\nepochs = 2\n[sweep]\nlearning_rate = [0.1, 0.000001]\nhidden = [[8], [16, 16, 16]]\nactivation = [\"relu\", \"sigmoid\"]\n",
            data_table(false)
        ),
    );
    for shard in [None, Some("1/3")] {
        let mut cmd = pinniped();
        cmd.args(["run", "--dry-run"]).arg(&file);
        if let Some(s) = shard {
            cmd.args(["--shard", s]);
        }
        let stdout = text(&cmd.output().unwrap().stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        let header = lines[1];
        let rows = &lines[2..];
        assert_eq!(rows.len(), if shard.is_some() { 5 } else { 16 }, "{shard:?}: {stdout}");
        if shard.is_some() {
            assert!(lines[0].contains("16 runs; shard 1/3: 5 of them"), "{}", lines[0]);
            assert!(rows.iter().all(|r| r.split_whitespace().next().unwrap().parse::<usize>().unwrap() % 3 == 1));
        }
        let at = |name: &str| header.find(name).unwrap();
        for row in rows {
            let chars: Vec<char> = row.chars().collect();
            let starts_at = |col: usize| chars.get(col).is_some_and(|c| !c.is_whitespace()) && chars[col - 1] == ' ';
            // Text columns start under their header; numbers end under it.
            for name in ["learning_rate", "hidden", "activation", "id"] {
                assert!(starts_at(at(name)), "{shard:?} `{name}` in\n{header}\n{row}");
            }
            let seed_end = at("seed") + 3;
            assert!(chars[seed_end] != ' ' && chars[seed_end + 1] == ' ', "{shard:?} seed in\n{header}\n{row}");
        }
    }
}

#[test]
fn a_shard_reports_its_share_and_says_the_summary_is_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let file = sweep18(tmp.path());
    let out = pinniped()
        .current_dir(tmp.path())
        .args(["run", "--fake-trainer", "--shard", "0/4"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(stdout.contains("18 runs; shard 0/4: 5 of them (0 already finished)"), "{stdout}");
    assert!(stdout.contains("[5/5]") && !stdout.contains("/18]"), "{stdout}");
    assert!(stdout.contains("covers 5 of 18 runs; 13 not finished"), "{stdout}");
}

#[test]
fn eval_labels_results_by_data_file_and_the_confusion_by_class() {
    let tmp = tempfile::tempdir().unwrap();
    let model = trained_model(tmp.path());
    let text_out = pinniped().args(["eval", "--model"]).arg(&model).arg("--data").arg(train_tsv()).output().unwrap();
    let stdout = text(&text_out.stdout);
    assert!(stdout.starts_with("Phoneme_TRAIN.tsv.gz: ") && !stdout.contains("TEST"), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2 + 39, "{stdout}");
    let labels = pinniped::train::checkpoint::load(&model).unwrap().meta.classes;
    for (line, label) in lines[2..].iter().zip(&labels) {
        assert_eq!(line.split('|').next().unwrap().trim(), label, "each row starts with its class");
    }
    assert!(labels.iter().all(|l| lines[1].contains(&format!("{l}|"))), "columns labelled: {}", lines[1]);

    let confusion = tmp.path().join("confusion.csv");
    let csv_out = pinniped()
        .args(["eval", "--csv", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(train_tsv())
        .arg("--confusion")
        .arg(&confusion)
        .output()
        .unwrap();
    let csv_text = text(&csv_out.stdout);
    let mut table = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(table.headers().unwrap().iter().collect::<Vec<_>>(), ["accuracy", "hits", "rows", "data"]);
    assert_eq!(table.records().count(), 1, "one tidy table: {csv_text}");
    let mut matrix = csv::Reader::from_path(&confusion).unwrap();
    assert_eq!(matrix.headers().unwrap().len(), 40);
    let rows: Vec<csv::StringRecord> = matrix.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 39);
    let total: u64 = rows.iter().flat_map(|r| r.iter().skip(1).map(|v| v.parse::<u64>().unwrap())).sum();
    assert_eq!(total, 214, "every row of the data file is counted once");

    let narrow = write(tmp.path(), "narrow.tsv", "1\t0.5\t0.25\n2\t0.1\t0.2\n");
    let bad = pinniped().args(["eval", "--model"]).arg(&model).arg("--data").arg(&narrow).output().unwrap();
    let stderr = text(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("))") && !stderr.contains(") ("), "{stderr}");
}

#[test]
fn usage_errors_echo_what_was_typed_bounded_and_escaped() {
    let typed = format!("{}\n\u{1b}[31m", "9".repeat(100_000));
    let cases: &[(&str, Vec<&str>)] = &[
        ("--jobs", vec!["run", "x.toml", "--jobs", &typed]),
        ("--shard", vec!["run", "x.toml", "--shard", &typed]),
        ("unknown command", vec![&typed]),
    ];
    for (name, args) in cases {
        let out = pinniped().args(args).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(stderr.len() < 5_000, "{name}: {} bytes", stderr.len());
        assert!(!stderr.contains('\u{1b}'), "{name}: control characters escaped");
    }
}

/// `pinniped train`'s flags go through the validator of sweep files: a bad value is refused
/// in the words the same key gets in a sweep file's `[train]` (only the place differs:
/// `--flags` for a flag, file:line for a file), with exit code 2 and nothing written.
#[test]
fn a_bad_flag_value_is_refused_in_the_words_of_the_same_key_in_a_sweep_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_table(false);
    let cases: &[(&[&str], &str, &str)] = &[
        (&["--learning-rate", "-1"], "learning_rate = -1.0", "learning_rate"),
        (&["--learning-rate", "0"], "learning_rate = 0.0", "learning_rate"),
        (&["--set", "learning_rate=\"fast\""], "learning_rate = \"fast\"", "learning_rate"),
        (&["--momentum", "1.5"], "momentum = 1.5", "momentum"),
        (&["--batch-size", "0"], "batch_size = 0", "batch_size"),
        (&["--activation", "softmax"], "activation = \"softmax\"", "activation"),
        (&["--set", "weight_decay=-1.0"], "weight_decay = -1.0", "weight_decay"),
    ];
    for (i, (flags, line, key)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let by_flag = pinniped()
            .args(["train", "--train"])
            .arg(train_tsv())
            .args(*flags)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let sweep =
            write(tmp.path(), &format!("s{i}.toml"), &format!("name = \"s\"\nrepeats = 1\n{data}[train]\n{line}\n"));
        let by_file = pinniped().args(["run", "--out"]).arg(&out).arg(&sweep).output().unwrap();
        // The message after the place and key.
        let said = |o: &std::process::Output, lead: &str| -> String {
            let stderr = text(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{flags:?}: {stderr}");
            let at = stderr.find(lead).unwrap_or_else(|| panic!("{flags:?}: no `{lead}` in {stderr}"));
            stderr[at + lead.len()..].lines().next().unwrap().to_string()
        };
        let (flag_says, file_says) =
            (said(&by_flag, &format!("--flags: {key}: ")), said(&by_file, &format!("train.{key}: ")));
        assert_eq!(flag_says, file_says, "{flags:?} and `{line}` are refused in the same words");
        assert!(!out.exists(), "{flags:?}: nothing is written");
    }
}
