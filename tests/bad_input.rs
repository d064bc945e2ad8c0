//! Bad input, table-driven: every case must exit with code 2, print a message that
//! names the file and the line or key and says what to do, and leave the results
//! directory exactly as it was (a finished sweep of the same name already lives there).
//! Every case runs even when others fail, and each failing case is reported by name.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir).into_iter().map(|f| (f.clone(), fs::read(dir.join(&f)).unwrap())).collect()
}

fn gz(path: &Path, text: &str) {
    let f = fs::File::create(path).unwrap();
    let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap();
}

/// A valid sweep named "victim" whose [data]/[train] can be replaced.
fn sweep(data: &str, rest: &str) -> String {
    format!("name = \"victim\"\nseed = 1\nrepeats = 1\n{rest}\n{data}")
}

struct Env {
    dir: PathBuf,
    out: PathBuf,
    model: PathBuf,
}

impl Env {
    fn data(&self) -> String {
        data_table(true)
    }
    fn file(&self, name: &str, text: &str) -> String {
        write(&self.dir, name, text).display().to_string()
    }
    /// A `[data]` table whose training file has this content.
    fn data_with(&self, name: &str, text: &str) -> String {
        format!("[data]\ntrain = {:?}\n", self.file(name, text))
    }
}

type Setup = fn(&Env) -> Vec<String>;

fn run_sweep(e: &Env, text: &str) -> Vec<String> {
    let f = e.file("s.toml", text);
    vec!["run".into(), "--out".into(), e.out.display().to_string(), f]
}

#[test]
fn every_bad_input_exits_2_names_the_place_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let env = Env {
        dir: tmp.path().to_path_buf(),
        out: tmp.path().join("results"),
        model: tmp.path().join("model/model.safetensors"),
    };
    // A finished sweep called "victim" in the results directory, and a model.
    let good = env.file(
        "good.toml",
        &sweep(&env.data(), "[train]\nhidden = [4]\nepochs = 2\nplots = false\n[sweep]\nbatch_size = [40, 80]"),
    );
    pinniped().args(["run", "-q", "--out"]).arg(&env.out).arg(&good).assert().success();
    pinniped()
        .args(["train", "-q", "--epochs", "1", "--hidden", "4", "--train"])
        .arg(train_tsv())
        .arg("--out")
        .arg(tmp.path().join("model"))
        .assert()
        .success();
    let before = snapshot(&env.out);
    assert!(before.len() > 10);

    // (name, setup producing the arguments, substrings the message must contain)
    let cases: Vec<(&str, Setup, &[&str])> = vec![
        // ---- sweep files
        (
            "toml syntax",
            |e| run_sweep(e, "name = \"victim\"\n[train\nepochs = 3\n"),
            &["s.toml:2", "column", "TOML syntax error"],
        ),
        (
            "unknown top-level key",
            |e| run_sweep(e, &sweep(&e.data(), "repaets = 3")),
            &["s.toml:4", "repaets", "did you mean `repeats`"],
        ),
        (
            "unknown train key",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nlearnig_rate = 0.1")),
            &["s.toml:5", "train.learnig_rate", "did you mean `learning_rate`"],
        ),
        (
            "unknown data key",
            |e| run_sweep(e, &sweep(&format!("{}reserve_evry = 4\n", e.data()), "")),
            &["data.reserve_evry", "did you mean `reserve_every`"],
        ),
        (
            "unknown sweep key",
            |e| run_sweep(e, &sweep(&e.data(), "[sweep]\nbatchsize = [1, 2]")),
            &["s.toml:5", "sweep.batchsize", "did you mean `batch_size`"],
        ),
        (
            "wrong type",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nepochs = \"many\"")),
            &["s.toml:5", "train.epochs", "must be a whole number"],
        ),
        (
            "learning rate <= 0",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nlearning_rate = 0.0")),
            &["s.toml:5", "train.learning_rate", "> 0"],
        ),
        (
            "momentum > 1",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nmomentum = 1.5")),
            &["s.toml:5", "train.momentum", "[0, 1]"],
        ),
        (
            "batch size 0",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nbatch_size = 0")),
            &["s.toml:5", "train.batch_size", "at least 1"],
        ),
        (
            "zero-width hidden layer",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nhidden = [8, 0]")),
            &["s.toml:5", "train.hidden", "at least 1 node"],
        ),
        (
            "zero epochs",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nepochs = 0")),
            &["s.toml:5", "train.epochs", "at least 1"],
        ),
        (
            "unknown activation",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nactivation = \"gelu\"")),
            &["s.toml:5", "train.activation", "sigmoid"],
        ),
        (
            "dropout 1",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\ndropout = 1.0")),
            &["s.toml:5", "train.dropout", "[0, 1)"],
        ),
        (
            "empty axis",
            |e| run_sweep(e, &sweep(&e.data(), "[sweep]\nmomentum = []")),
            &["s.toml:5", "sweep.momentum", "empty axis"],
        ),
        (
            "duplicate axis values",
            |e| run_sweep(e, &sweep(&e.data(), "[sweep]\nmomentum = [0.5, 0.5]")),
            &["s.toml:5", "sweep.momentum[1]", "distinct"],
        ),
        (
            "axis not a list",
            |e| run_sweep(e, &sweep(&e.data(), "[sweep]\nmomentum = 0.5")),
            &["s.toml:5", "sweep.momentum", "list of values"],
        ),
        (
            "out-of-range axis value",
            |e| run_sweep(e, &sweep(&e.data(), "[sweep]\nbatch_size = [16, 0]")),
            &["s.toml:5", "sweep.batch_size[1]", "at least 1"],
        ),
        (
            "hidden axis of ints",
            |e| run_sweep(e, &sweep(&e.data(), "[sweep]\nhidden = [16, 64]")),
            &["s.toml:5", "sweep.hidden[0]", "hidden = [[16]"],
        ),
        (
            "bad design",
            |e| run_sweep(e, &sweep(&e.data(), "[sweep]\ndesign = \"latin\"")),
            &["s.toml:5", "sweep.design", "one-at-a-time"],
        ),
        (
            "seed swept",
            |e| run_sweep(e, &sweep(&e.data(), "[sweep]\nseed = [1, 2]")),
            &["s.toml:5", "sweep.seed", "repeats"],
        ),
        (
            "train.seed in a sweep",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nseed = 4")),
            &["s.toml:5", "train.seed", "top-level `seed`"],
        ),
        (
            "escaping name",
            |e| run_sweep(e, &format!("name = \"../victim\"\n{}", e.data())),
            &["s.toml:1", "name", "directory name"],
        ),
        ("missing name", |e| run_sweep(e, &e.data()), &["s.toml", "missing `name"]),
        ("missing [data]", |e| run_sweep(e, "name = \"victim\"\n"), &["s.toml", "missing [data]", "train ="]),
        (
            "repeats 0",
            |e| run_sweep(e, &format!("name = \"victim\"\nrepeats = 0\n{}", e.data())),
            &["s.toml:2", "repeats", "from 1"],
        ),
        (
            "missing data file",
            |e| run_sweep(e, &sweep("[data]\ntrain = \"nowhere/TRAIN.tsv\"\n", "")),
            &["s.toml:6", "data.train", "nowhere/TRAIN.tsv", "does not exist"],
        ),
        (
            "both reserves",
            |e| run_sweep(e, &sweep(&format!("{}reserve_fraction = 0.2\n", e.data()), "")),
            &["data.reserve_every", "not both"],
        ),
        (
            "reserve leaves no training rows",
            |e| {
                run_sweep(
                    e,
                    &sweep(
                        &format!("[data]\ntrain = {:?}\nreserve_fraction = 0.999\n", train_tsv().display().to_string()),
                        "",
                    ),
                )
            },
            &["s.toml", "no training rows", "reserve fewer"],
        ),
        (
            "patience without validation",
            |e| {
                run_sweep(
                    e,
                    &sweep(
                        &format!("[data]\ntrain = {:?}\n", train_tsv().display().to_string()),
                        "[train]\npatience = 5",
                    ),
                )
            },
            &["s.toml", "train.patience", "reserve_every"],
        ),
        (
            "bad format",
            |e| run_sweep(e, &sweep(&format!("{}format = \"csv\"\n", e.data()), "")),
            &["data.format", "ucr, arff"],
        ),
        // ---- data files
        (
            "empty data file",
            |e| run_sweep(e, &sweep(&e.data_with("empty.tsv", ""), "")),
            &["empty.tsv", "no data rows"],
        ),
        ("not gzip", |e| run_sweep(e, &sweep(&e.data_with("fake.tsv.gz", "1\t2\t3\n"), "")), &["fake.tsv.gz", "gzip"]),
        (
            "truncated gzip",
            |e| {
                let p = e.dir.join("cut.tsv.gz");
                gz(&p, &"1\t0.5\t0.25\n2\t0.1\t0.7\n".repeat(2000));
                let bytes = fs::read(&p).unwrap();
                fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
                run_sweep(e, &sweep(&format!("[data]\ntrain = {:?}\n", p.display().to_string()), ""))
            },
            &["cut.tsv.gz", "gzip"],
        ),
        (
            "ragged rows",
            |e| run_sweep(e, &sweep(&e.data_with("ragged.tsv", "1\t0.1\t0.2\n2\t0.3\n"), "")),
            &["ragged.tsv:2", "values"],
        ),
        (
            "non-numeric value",
            |e| run_sweep(e, &sweep(&e.data_with("text.tsv", "1\t0.1\t0.2\n2\t0.3\tabc\n"), "")),
            &["text.tsv:2", "abc"],
        ),
        (
            "NaN value",
            |e| run_sweep(e, &sweep(&e.data_with("nan.tsv", "1\t0.1\t0.2\n2\t0.3\tNaN\n"), "")),
            &["nan.tsv:2", "variable-length", "length = \"pad\""],
        ),
        (
            "? value",
            |e| run_sweep(e, &sweep(&e.data_with("q.tsv", "1\t0.1\t?\n2\t0.3\t0.4\n"), "")),
            &["q.tsv:1", "missing"],
        ),
        (
            "variable-length series",
            |e| run_sweep(e, &sweep(&e.data_with("var.tsv", "1\t0.1\t0.2\t0.3\n2\t0.3\t0.4\tNaN\n"), "")),
            &["var.tsv:2", "variable-length"],
        ),
        (
            "unseen test label",
            |e| {
                let train = e.file("tr.tsv", "1\t0.1\t0.2\n2\t0.3\t0.4\n");
                let test = e.file("te.tsv", "1\t0.1\t0.2\n7\t0.3\t0.4\n");
                run_sweep(e, &sweep(&format!("[data]\ntrain = {train:?}\ntest = {test:?}\n"), ""))
            },
            &["te.tsv:2", "7"],
        ),
        (
            "train and test widths differ",
            |e| {
                let train = e.file("tr.tsv", "1\t0.1\t0.2\n2\t0.3\t0.4\n");
                let test = e.file("te.tsv", "1\t0.1\t0.2\t0.3\n2\t0.3\t0.4\t0.5\n");
                run_sweep(e, &sweep(&format!("[data]\ntrain = {train:?}\ntest = {test:?}\n"), ""))
            },
            &["tr.tsv", "te.tsv", "2", "3"],
        ),
        (
            "single class",
            |e| run_sweep(e, &sweep(&e.data_with("one.tsv", "1\t0.1\t0.2\n1\t0.3\t0.4\n"), "")),
            &["one.tsv", "class"],
        ),
        (
            "ARFF string attribute",
            |e| {
                run_sweep(e, &sweep(&e.data_with("s.arff", "@relation r\n@attribute name string\n@attribute a numeric\n@attribute c {x,y}\n@data\n'n',1,x\n"), ""))
            },
            &["s.arff:2", "string", "numeric"],
        ),
        (
            "header-only ARFF",
            |e| {
                run_sweep(
                    e,
                    &sweep(
                        &e.data_with("h.arff", "@relation r\n@attribute a numeric\n@attribute c {x,y}\n@data\n"),
                        "",
                    ),
                )
            },
            &["h.arff", "no data rows"],
        ),
        (
            "ARFF unknown class attribute",
            |e| {
                run_sweep(
                    e,
                    &sweep(
                        &format!(
                            "{}class_attribute = \"label\"\n",
                            e.data_with(
                                "k.arff",
                                "@relation r\n@attribute a numeric\n@attribute c {x,y}\n@data\n1,x\n2,y\n"
                            )
                        ),
                        "",
                    ),
                )
            },
            &["k.arff", "label"],
        ),
        // ---- checkpoints (eval)
        (
            "missing model",
            |e| {
                vec![
                    "eval".into(),
                    "--model".into(),
                    e.dir.join("none.safetensors").display().to_string(),
                    "--data".into(),
                    test_tsv().display().to_string(),
                ]
            },
            &["none.safetensors", "cannot read"],
        ),
        (
            "truncated model",
            |e| {
                let bytes = fs::read(&e.model).unwrap();
                let p = e.dir.join("cut.safetensors");
                fs::write(&p, &bytes[..bytes.len() / 3]).unwrap();
                vec![
                    "eval".into(),
                    "--model".into(),
                    p.display().to_string(),
                    "--data".into(),
                    test_tsv().display().to_string(),
                ]
            },
            &["cut.safetensors", "truncated"],
        ),
        (
            "model of another architecture",
            |e| {
                let data = e.file("narrow.tsv", "1\t0.1\t0.2\t0.3\n2\t0.3\t0.1\t0.0\n");
                vec!["eval".into(), "--model".into(), e.model.display().to_string(), "--data".into(), data]
            },
            &["narrow.tsv", "series of 1024 values"],
        ),
        (
            "model of other classes",
            |e| {
                let row: Vec<String> = (0..1024).map(|i| format!("{}", (i as f64 * 0.1).sin())).collect();
                let data = e.file("other.tsv", &format!("1\t{}\n99\t{}\n", row.join("\t"), row.join("\t")));
                vec!["eval".into(), "--model".into(), e.model.display().to_string(), "--data".into(), data]
            },
            &["other.tsv:2", "99"],
        ),
        (
            "not a checkpoint",
            |e| {
                let p = e.file("x.safetensors", "hello");
                vec!["eval".into(), "--model".into(), p, "--data".into(), test_tsv().display().to_string()]
            },
            &["x.safetensors"],
        ),
        // ---- command line
        ("unknown command", |_| vec!["trian".into()], &["trian", "train"]),
        (
            "rerun without a selection",
            |e| vec!["rerun".into(), e.out.join("victim").display().to_string()],
            &["--failed", "--run"],
        ),
        (
            "rerun of an unknown run",
            |e| {
                vec![
                    "rerun".into(),
                    e.out.join("victim").display().to_string(),
                    "--run".into(),
                    "batch_size=41/rep-1".into(),
                ]
            },
            &["plan.csv", "batch_size=41/rep-1", "did you mean"],
        ),
        (
            "status of a non-results directory",
            |e| vec!["status".into(), e.dir.display().to_string()],
            &["sweep.toml", "results directory"],
        ),
        (
            "bad shard",
            |e| {
                let f = e.file("ok.toml", &sweep(&e.data(), ""));
                vec!["run".into(), "--out".into(), e.out.display().to_string(), "--shard".into(), "3/3".into(), f]
            },
            &["--shard", "0 <= K < N"],
        ),
        (
            "bad --hidden",
            |_| {
                vec![
                    "train".into(),
                    "--train".into(),
                    train_tsv().display().to_string(),
                    "--hidden".into(),
                    "a,b".into(),
                ]
            },
            &["--hidden", "comma-separated"],
        ),
        (
            "unknown --set key",
            |_| {
                vec![
                    "train".into(),
                    "--train".into(),
                    train_tsv().display().to_string(),
                    "--set".into(),
                    "learnng_rate=0.1".into(),
                ]
            },
            &["learnng_rate", "did you mean `learning_rate`"],
        ),
        (
            "compare of a missing summary",
            |e| {
                vec![
                    "compare".into(),
                    e.out.join("victim").display().to_string(),
                    e.dir.join("nothing").display().to_string(),
                ]
            },
            &["nothing", "no such"],
        ),
        (
            "compare with an unknown metric",
            |e| {
                vec![
                    "compare".into(),
                    e.out.join("victim").display().to_string(),
                    e.out.join("victim").display().to_string(),
                    "--metric".into(),
                    "f1".into(),
                ]
            },
            &["f1", "final_test_acc"],
        ),
        (
            "slurm with zero tasks",
            |e| {
                let f = e.file("ok.toml", &sweep(&e.data(), ""));
                vec!["slurm".into(), "--tasks".into(), "0".into(), "--out".into(), e.out.display().to_string(), f]
            },
            &["--tasks", "at least 1"],
        ),
        // ---- found by the adversarial pass: the value is described, never in serde's words
        (
            "enum key given a number",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nactivation = 1")),
            &["s.toml:5", "train.activation", "not the number 1"],
        ),
        (
            "enum key given a list",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nloss = [\"mse-sum\"]")),
            &["s.toml:5", "train.loss", "not this list"],
        ),
        (
            "whole number beyond TOML's range",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nepochs = 99999999999999999999")),
            &["s.toml:5", "epochs", "whole numbers go up to"],
        ),
        (
            "float beyond f64's range",
            |e| run_sweep(e, &sweep(&e.data(), "[train]\nlearning_rate = 1e400")),
            &["s.toml:5", "learning_rate", "finite number"],
        ),
        (
            "negative --jobs",
            |e| {
                let f = e.file("ok.toml", &sweep(&e.data(), ""));
                vec!["run".into(), "--out".into(), e.out.display().to_string(), "--jobs".into(), "-1".into(), f]
            },
            &["--jobs", "at least 1"],
        ),
        (
            "negative --shard",
            |e| {
                let f = e.file("ok.toml", &sweep(&e.data(), ""));
                vec!["run".into(), "--out".into(), e.out.display().to_string(), "--shard".into(), "-1/4".into(), f]
            },
            &["--shard", "0 <= K < N"],
        ),
        (
            "negative --epochs",
            |_| {
                vec![
                    "train".into(),
                    "--train".into(),
                    train_tsv().display().to_string(),
                    "--epochs".into(),
                    "-1".into(),
                ]
            },
            &["--epochs", "whole number"],
        ),
        (
            "--learning-rate not a number",
            |_| {
                vec![
                    "train".into(),
                    "--train".into(),
                    train_tsv().display().to_string(),
                    "--learning-rate".into(),
                    "fast".into(),
                ]
            },
            &["--learning-rate", "must be a number"],
        ),
        (
            "--seed beyond what config.toml can store",
            |_| {
                vec![
                    "train".into(),
                    "--train".into(),
                    train_tsv().display().to_string(),
                    "--seed".into(),
                    "18446744073709551615".into(),
                ]
            },
            &["--seed", "whole number from 0 to 9223372036854775807"],
        ),
        (
            "empty width in --hidden",
            |_| {
                vec![
                    "train".into(),
                    "--train".into(),
                    train_tsv().display().to_string(),
                    "--hidden".into(),
                    "4,,4".into(),
                ]
            },
            &["--hidden", "comma-separated"],
        ),
        (
            "--set smuggling a second key after a newline",
            |_| {
                vec![
                    "train".into(),
                    "--train".into(),
                    train_tsv().display().to_string(),
                    "--set".into(),
                    "epochs=1\nhidden=[4]".into(),
                ]
            },
            &["epochs", "whole number"],
        ),
        (
            "checkpoint header of the wrong JSON shape",
            |e| {
                let mut bytes = 20u64.to_le_bytes().to_vec();
                bytes.extend_from_slice(b"{\"a\":[1,2,3]}       ");
                let p = e.dir.join("json.safetensors");
                fs::write(&p, bytes).unwrap();
                vec![
                    "eval".into(),
                    "--model".into(),
                    p.display().to_string(),
                    "--data".into(),
                    test_tsv().display().to_string(),
                ]
            },
            &["json.safetensors", "not a readable safetensors checkpoint"],
        ),
        (
            "--confusion onto a file pinniped did not write there",
            |e| {
                vec![
                    "eval".into(),
                    "--model".into(),
                    e.model.display().to_string(),
                    "--data".into(),
                    test_tsv().display().to_string(),
                    "--confusion".into(),
                    e.out.join("victim/summary.csv").display().to_string(),
                ]
            },
            &["summary.csv", "--confusion", "not overwritten"],
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    // Every case runs, whatever the others do; the failures are reported together, each by name.
    let mut failures = Vec::new();
    for (name, setup, needles) in &cases {
        let args = setup(&env);
        let out = pinniped().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut wrong = Vec::new();
        if out.status.code() != Some(2) {
            wrong.push(format!("exit code {:?}, not 2", out.status.code()));
        }
        for n in *needles {
            if !stderr.contains(n) {
                wrong.push(format!("message lacks {n:?}"));
            }
        }
        if stderr.lines().filter(|l| !l.trim().is_empty()).count() > 4 {
            wrong.push("more than one clear message (over 4 lines)".into());
        }
        if stderr.contains("panicked") {
            wrong.push("panicked".into());
        }
        // The parsers' own words say nothing to a user: what was written is described instead.
        for jargon in SERDE_WORDS {
            if stderr.contains(jargon) {
                wrong.push(format!("message speaks serde/Rust ({jargon:?})"));
            }
        }
        let after = snapshot(&env.out);
        if after != before {
            wrong.push(format!("the results directory changed: {}", changed_files(&before, &after).join(", ")));
            restore(&env.out, &before, &after); // so that the next cases are judged on their own
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "case {name:?}: {}\n    stderr: {}",
                wrong.join("; "),
                stderr.trim().replace('\n', "\n            ")
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Words of serde, toml and std's parsers that must never reach a message.
const SERDE_WORDS: &[&str] =
    &["invalid type", "unit variant", "expected f64", "expected usize", "expected u64", "invalid digit", "sequence"];

/// Files added, removed or changed between two snapshots.
fn changed_files(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names.into_iter().filter(|f| before.get(*f) != after.get(*f)).cloned().collect()
}

/// Puts the test's own results directory back as it was.
fn restore(dir: &Path, before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    for f in after.keys().filter(|f| !before.contains_key(*f)) {
        fs::remove_file(dir.join(f)).unwrap();
    }
    for (f, bytes) in before.iter().filter(|(f, bytes)| after.get(*f) != Some(*bytes)) {
        fs::create_dir_all(dir.join(f).parent().unwrap()).unwrap();
        fs::write(dir.join(f), bytes).unwrap();
    }
}
