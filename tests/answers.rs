//! Correct inputs, correct answers: checkpoints that describe their weights exactly,
//! one seed per run, no inert sweep axes, one "result of a run" for every report,
//! compact exact CSV numbers, and `compare` only of configurations that match.

mod common;

use common::*;
use safetensors::{tensor::TensorView, Dtype};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Trains a tiny real model into `dir/run` and returns the run directory.
fn tiny_run(dir: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join("run");
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(train_tsv())
        .args(["--reserve-every", "4", "--hidden", "4", "--epochs", "2", "--set", "plots=false", "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    out
}

/// A checkpoint taken apart: its metadata and its tensors as (name, dtype, shape, bytes).
struct Parts {
    meta: HashMap<String, String>,
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
}

impl Parts {
    fn read(path: &Path) -> Parts {
        let bytes = fs::read(path).unwrap();
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let meta = header.metadata().clone().unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let tensors =
            file.tensors().into_iter().map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec())).collect();
        Parts { meta, tensors }
    }

    fn write(&self, path: &Path) {
        let views: Vec<(String, TensorView<'_>)> =
            self.tensors.iter().map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
        fs::write(path, safetensors::serialize(views, Some(self.meta.clone())).unwrap()).unwrap();
    }

    /// Replaces `name` by a tensor of `shape` of zeros in `dtype`.
    fn set(&mut self, name: &str, dtype: Dtype, shape: Vec<usize>) {
        let n: usize = shape.iter().product();
        let bytes = match dtype {
            Dtype::F64 | Dtype::I64 => vec![0u8; n * 8],
            Dtype::F16 | Dtype::BF16 | Dtype::I16 => vec![0u8; n * 2],
            Dtype::U8 | Dtype::I8 => vec![0u8; n],
            _ => vec![0u8; n * 4],
        };
        if let Some(t) = self.tensors.iter_mut().find(|t| t.0 == name) {
            *t = (name.to_string(), dtype, shape, bytes);
        } else {
            self.tensors.push((name.to_string(), dtype, shape, bytes));
        }
    }
}

#[test]
fn eval_refuses_checkpoints_whose_metadata_does_not_match_their_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(tmp.path(), &[]);
    let model = run.join("model.safetensors");
    let dims = Parts::read(&model).tensors.iter().find(|t| t.0 == "layers.0.weight").unwrap().2.clone();
    assert_eq!(dims, [4, 1024], "the tiny model: 1024 inputs, 4 hidden nodes");
    type Edit = fn(&mut Parts);
    let cases: &[(&str, Edit, &[&str])] = &[
        ("raw_cols too small", |p| drop(p.meta.insert("raw_cols".into(), "512".into())), &["raw_cols", "1024 inputs"]),
        (
            "features of another width",
            |p| {
                let c = p.meta["config"].replace("features = \"amplitude\"", "features = \"spectrum\"");
                p.meta.insert("config".into(), c);
            },
            &["spectrum", "1024 inputs"],
        ),
        ("layers do not chain", |p| p.set("layers.1.weight", Dtype::F32, vec![39, 5]), &["layer 1 takes 5 inputs"]),
        ("bias of the wrong width", |p| p.set("layers.0.bias", Dtype::F32, vec![3]), &["layers.0.bias", "[4]"]),
        (
            "fewer classes than outputs",
            |p| {
                let classes: Vec<String> = serde_json::from_str(&p.meta["classes"]).unwrap();
                p.meta.insert("classes".into(), serde_json::to_string(&classes[..38]).unwrap());
            },
            &["39 units", "38 classes"],
        ),
        ("integer weights", |p| p.set("layers.0.weight", Dtype::I32, vec![4, 1024]), &["layers.0.weight", "I32"]),
        ("i64 bias", |p| p.set("layers.1.bias", Dtype::I64, vec![39]), &["layers.1.bias", "I64"]),
        ("half-precision weights", |p| p.set("layers.1.weight", Dtype::F16, vec![39, 4]), &["F16", "F32"]),
        ("f64 weights in an f32 checkpoint", |p| p.set("layers.1.weight", Dtype::F64, vec![39, 4]), &["F64"]),
        ("a stray tensor", |p| p.set("layers.7.weight", Dtype::F32, vec![2, 2]), &["unexpected tensor", "layers.7"]),
        ("a gap in the layers", |p| p.tensors.retain(|t| t.0 != "layers.0.bias"), &["layers.0.bias", "missing"]),
        ("a 3-d weight", |p| p.set("layers.0.weight", Dtype::F32, vec![4, 1024, 1]), &["shape [4, 1024, 1]"]),
        (
            "activation disagrees with the config",
            |p| drop(p.meta.insert("activation".into(), "relu".into())),
            &["activation"],
        ),
        (
            "statistics without standardize",
            |p| {
                p.set("standardize.mean", Dtype::F64, vec![1024]);
                p.set("standardize.std", Dtype::F64, vec![1024]);
            },
            &["standardize = false"],
        ),
        (
            "duplicated class",
            |p| drop(p.meta.insert("classes".into(), format!("[{}]", "\"a\",".repeat(38) + "\"a\""))),
            &["twice"],
        ),
    ];
    // The untouched round trip through the editor still evaluates: the edits are what fails.
    let same = tmp.path().join("same.safetensors");
    Parts::read(&model).write(&same);
    pinniped().args(["eval", "--model"]).arg(&same).arg("--data").arg(train_tsv()).assert().success();
    let mut failures = Vec::new();
    for (name, edit, fragments) in cases {
        let mut parts = Parts::read(&model);
        edit(&mut parts);
        let path = tmp.path().join(format!("{}.safetensors", name.replace(' ', "-")));
        parts.write(&path);
        let out = pinniped().args(["eval", "--model"]).arg(&path).arg("--data").arg(train_tsv()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let file = path.file_name().unwrap().to_string_lossy();
        if out.status.code() != Some(2) {
            failures.push(format!("{name}: exit {:?}, stderr {stderr}", out.status.code()));
        } else if let Some(f) = std::iter::once(&*file).chain(fragments.iter().copied()).find(|f| !stderr.contains(f)) {
            failures.push(format!("{name}: message lacks `{f}`: {stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A small real sweep in `dir/results/<name>`; returns the sweep directory.
fn real_sweep(dir: &Path, name: &str, train: &str, axes: &str) -> PathBuf {
    let file = write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 7\nrepeats = 1\n{}\n[train]\nhidden = [4]\nbatch_size = 80\n{train}\n[sweep]\n{axes}\n",
            data_table(true)
        ),
    );
    let out = dir.join("results");
    pinniped().args(["run", "-q", "--out"]).arg(&out).arg(&file).assert().success();
    out.join(name)
}

fn toml_file(path: &Path) -> toml::Table {
    fs::read_to_string(path).unwrap().parse().unwrap()
}

fn checkpoint_meta(path: &Path) -> HashMap<String, String> {
    let bytes = fs::read(path).unwrap();
    safetensors::SafeTensors::read_metadata(&bytes).unwrap().1.metadata().clone().unwrap()
}

#[test]
fn a_sweep_run_has_one_seed_and_its_config_toml_reproduces_it_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = real_sweep(tmp.path(), "seeds", "epochs = 3\nplots = false", "batch_size = [40]");
    let run = sweep.join("runs/batch_size=40/rep-1");
    let config = toml_file(&run.join("config.toml"));
    let seed = config["train"]["seed"].as_integer().unwrap();
    assert_ne!(seed, 7, "a sweep run's seed is derived, not the sweep's");
    let meta = checkpoint_meta(&run.join("model.safetensors"));
    assert_eq!(meta["seed"], seed.to_string(), "checkpoint seed field");
    let embedded: toml::Table = meta["config"].parse().unwrap();
    assert_eq!(embedded["seed"].as_integer(), Some(seed), "checkpoint's embedded [train] table");

    let again = tmp.path().join("again");
    pinniped().args(["train", "-q"]).arg(run.join("config.toml")).arg("--out").arg(&again).assert().success();
    let hash = |dir: &Path| -> String {
        let status: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("status.json")).unwrap()).unwrap();
        status["config_hash"].as_str().unwrap().to_string()
    };
    assert_eq!(hash(&run), hash(&again), "config_hash of the sweep run and of `pinniped train config.toml`");
    assert_eq!(metrics_without_time(&run.join("metrics.csv")), metrics_without_time(&again.join("metrics.csv")));
    assert_eq!(fs::read(run.join("model.safetensors")).unwrap(), fs::read(again.join("model.safetensors")).unwrap());
    assert_eq!(config, toml_file(&again.join("config.toml")), "config.toml apart from the run id in its comment");
}

/// A sweep file with `train` in its baseline and `sweep` as its axes.
fn sweep_text(train: &str, sweep: &str, with_test: bool) -> String {
    format!(
        "name = \"s\"\nseed = 1\nrepeats = 1\n{}\n[train]\nepochs = 2\n{train}\n[sweep]\n{sweep}\n",
        data_table(with_test)
    )
}

#[test]
fn sweep_axes_that_a_configuration_ignores_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str, bool, &[&str])] = &[
        ("frame without log-mel", "", "frame = [128]", true, &["configuration frame=128: sweep.frame", "amplitude"]),
        ("hop without log-mel", "features = \"spectrum\"", "hop = [64]", true, &["sweep.hop", "\"spectrum\""]),
        ("mel_bands without log-mel", "", "mel_bands = [20]", true, &["sweep.mel_bands"]),
        ("sample_rate without log-mel", "", "sample_rate = [8000.0]", true, &["sweep.sample_rate"]),
        (
            "histogram_relu_max with sigmoid",
            "",
            "histogram_relu_max = [4.0]",
            true,
            &["sweep.histogram_relu_max", "sigmoid"],
        ),
        (
            "momentum_rule with adam",
            "optimizer = \"adam\"",
            "momentum_rule = [\"classic\"]",
            true,
            &["sweep.momentum_rule", "adam"],
        ),
        (
            "momentum_rule without momentum",
            "",
            "momentum_rule = [\"classic\"]",
            true,
            &["sweep.momentum_rule", "momentum = 0"],
        ),
        ("method with adam", "optimizer = \"adam\"", "method = [\"direct\"]", true, &["sweep.method", "adam"]),
        (
            "early_stopping without patience or refit",
            "",
            "early_stopping = [\"valid-loss\"]",
            true,
            &["sweep.early_stopping", "patience = 0"],
        ),
        ("test_every without a test file", "", "test_every = [4]", false, &["sweep.test_every", "no test file"]),
        ("plot_every without plots", "plots = false", "plot_every = [2]", true, &["sweep.plot_every", "plots = false"]),
        (
            "dropout of a linear model in a grid",
            "",
            "design = \"grid\"\nhidden = [[], [4]]\ndropout = [0.0, 0.5]",
            true,
            &["configuration hidden=none,dropout=0.5: sweep.dropout", "same model as `hidden=none`"],
        ),
        (
            "activation of a linear model",
            "hidden = []",
            "activation = [\"tanh\"]",
            true,
            &["sweep.activation", "linear model", "`baseline`"],
        ),
    ];
    let mut failures = Vec::new();
    for (i, (name, train, sweep, with_test, fragments)) in cases.iter().enumerate() {
        let file = write(tmp.path(), &format!("inert{i}.toml"), &sweep_text(train, sweep, *with_test));
        let out =
            pinniped().args(["run", "--dry-run", "--out"]).arg(tmp.path().join("out")).arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(2) {
            failures.push(format!("{name}: exit {:?} (want 2); stderr {stderr}", out.status.code()));
        } else if let Some(f) = fragments.iter().find(|f| !stderr.contains(**f)) {
            failures.push(format!("{name}: message lacks `{f}`: {stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sweep_axes_are_accepted_where_they_matter() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("frame with log-mel", "features = \"log-mel\"", "frame = [128]\nhop = [32]\nmel_bands = [20]"),
        ("frame with multi-log-mel", "features = \"multi-log-mel\"", "frame = [128]\nhop = [32]\nmel_bands = [20]"),
        (
            "a grid over features and frame where frame stays at the baseline",
            "frame = 128",
            "design = \"grid\"\nfeatures = [\"amplitude\", \"log-mel\"]",
        ),
        ("histogram_relu_max with relu", "activation = \"relu\"", "histogram_relu_max = [4.0]"),
        ("momentum_rule with momentum", "momentum = 0.5", "momentum_rule = [\"classic\"]"),
        ("early_stopping with patience", "patience = 3", "early_stopping = [\"valid-loss\"]"),
        ("baseline settings for other features", "frame = 128\nhop = 32", "features = [\"log-mel\"]"),
    ];
    for (i, (name, train, sweep)) in cases.iter().enumerate() {
        let file = write(tmp.path(), &format!("ok{i}.toml"), &sweep_text(train, sweep, true));
        let out =
            pinniped().args(["run", "--dry-run", "--out"]).arg(tmp.path().join("out")).arg(&file).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // The shipped experiments plan as before.
    for f in ["paper", "paper-grid", "beyond", "smoke"] {
        let out = pinniped()
            .current_dir(repo())
            .args(["run", "--dry-run", "--out"])
            .arg(tmp.path().join("out"))
            .arg(format!("experiments/{f}.toml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "experiments/{f}.toml: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// A fake-trained sweep `name` under `dir/out`; returns its results directory.
fn fake_sweep(dir: &Path, name: &str, train: &str, axes: &str) -> PathBuf {
    let file = write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nseed = 3\nrepeats = 2\n{}\n[train]\nhidden = [8]\nepochs = 6\n{train}\n[sweep]\ndesign = \"one-at-a-time\"\n{axes}\n",
            data_table(true)
        ),
    );
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(dir.join("out")).arg(&file).assert().success();
    dir.join("out").join(name)
}

fn compare_output(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = pinniped().arg("compare").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn compare_pairs_only_rows_whose_whole_configuration_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fake_sweep(tmp.path(), "a", "", "batch_size = [40, 80]");
    // B varies momentum, which A never does: its momentum=0.5 row shares A's baseline axis value
    // (batch_size 160) but is another configuration.
    let b = fake_sweep(tmp.path(), "b", "", "batch_size = [40]\nmomentum = [0.5]");
    let (code, out, err) = compare_output(&[a.as_os_str(), b.as_os_str(), "--csv".as_ref()]);
    assert_eq!(code, Some(0), "{err}");
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let not_compared = reader.headers().unwrap().iter().position(|h| h == "not_compared").unwrap();
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    let compared: Vec<&str> = rows.iter().filter(|r| r[not_compared].is_empty()).map(|r| r[0].as_str()).collect();
    assert_eq!(compared, ["batch_size=160, momentum=0.0", "batch_size=40, momentum=0.0"], "{out}");
    let left: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| !r[not_compared].is_empty())
        .map(|r| (r[0].as_str(), r[not_compared].as_str()))
        .collect();
    assert_eq!(left.len(), 2, "{out}");
    assert_eq!(left[0].0, "batch_size=80");
    assert_eq!(left[1].0, "batch_size=160, momentum=0.5");
    assert!(left[1].1.contains("momentum (A: 0.0, B: 0.5)"), "{}", left[1].1);

    // Another baseline: nothing is comparable, and the text says so before anything else.
    let c = fake_sweep(tmp.path(), "c", "learning_rate = 0.01", "batch_size = [40, 80]");
    let (code, out, err) = compare_output(&[a.as_os_str(), c.as_os_str()]);
    assert_eq!(code, Some(0), "{err}");
    let notes: Vec<&str> = out.lines().skip(3).take_while(|l| l.starts_with("note: ")).collect();
    assert!(notes.iter().any(|n| n.contains("whole configuration agrees")), "{out}");
    assert!(notes.iter().any(|n| n.contains("3 of A's 3 and 3 of B's 3 configurations")), "{out}");
    assert!(out.contains("no configuration in common"), "{out}");
    assert!(out.contains("learning_rate (A: 0.001, B: 0.01)"), "{out}");
    assert!(!out.lines().any(|l| l.contains(" p") && l.starts_with("config")), "no p-value table: {out}");

    // --ignore compares them anyway, one to one, and says so.
    let (code, out, _) = compare_output(&[a.as_os_str(), c.as_os_str(), "--ignore".as_ref(), "learning_rate".as_ref()]);
    assert_eq!(code, Some(0));
    assert!(out.contains("note: ignored keys (--ignore): learning_rate"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("batch_size=")).count(), 3, "{out}");

    let (code, _, err) = compare_output(&[a.as_os_str(), c.as_os_str(), "--ignore".as_ref(), "learning_rat".as_ref()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--ignore learning_rat") && err.contains("learning_rate"), "{err}");
}

fn status_of(run: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(run.join("status.json")).unwrap()).unwrap()
}

/// summary.csv as (header, rows).
fn summary_of(sweep: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(sweep.join("summary.csv")).unwrap();
    let head = r.headers().unwrap().iter().map(str::to_string).collect();
    (head, r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect())
}

#[test]
fn plots_summary_and_report_show_the_kept_model_of_early_stopped_runs() {
    kept_model_is_shown_everywhere("stop", "patience = 2");
}

#[test]
fn plots_summary_and_report_show_the_kept_model_of_refit_runs() {
    kept_model_is_shown_everywhere("refit", "patience = 2\nrefit = true");
}

#[test]
fn sweep_plots_drawn_live_from_the_records_equal_those_redrawn_from_disk() {
    let tmp = tempfile::tempdir().unwrap();
    // learning_rate = 0.1 diverges under the fake trainer: the marks must agree too.
    let sweep = fake_sweep(tmp.path(), "live", "", "learning_rate = [0.1]\nbatch_size = [40]");
    let plots = sweep.join("plots");
    let live: Vec<(String, Vec<u8>)> = {
        let mut names: Vec<String> =
            fs::read_dir(&plots).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names.into_iter().map(|n| (n.clone(), fs::read(plots.join(&n)).unwrap())).collect()
    };
    assert_eq!(
        live.len(),
        5,
        "two axes × (error, final) and importance.png: {:?}",
        live.iter().map(|l| &l.0).collect::<Vec<_>>()
    );
    pinniped().arg("report").arg(&sweep).assert().success();
    for (name, bytes) in &live {
        assert!(fs::read(plots.join(name)).unwrap() == *bytes, "{name}: the live picture differs from the redrawn one");
    }
}

/// A sweep whose runs return a model other than their last epoch's (early stopping, refit):
/// summary.csv, the sweep plots and report.html all show the kept model's accuracies.
fn kept_model_is_shown_everywhere(name: &str, selection: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = real_sweep(
        tmp.path(),
        name,
        &format!("epochs = 40\nlearning_rate = 0.01\ntest_every = 0\n{selection}"),
        "design = \"one-at-a-time\"\nbatch_size = [40]",
    );
    let mut differs = 0;
    let mut selected = Vec::new();
    for id in ["baseline/rep-1", "batch_size=40/rep-1"] {
        let run = sweep.join("runs").join(id);
        let status = status_of(&run);
        assert_eq!(status["state"], "done", "{id}");
        let kept = &status["selected"];
        let metrics = fs::read_to_string(run.join("metrics.csv")).unwrap();
        let last: Vec<&str> = metrics.lines().last().unwrap().split(',').collect();
        // test_every = 0: the test set is still evaluated at the last epoch, even one that stops early.
        assert!(!last[6].is_empty(), "{id}: no test accuracy in the last row: {}", metrics.lines().last().unwrap());
        let accs = ["train_acc", "valid_acc", "test_acc"].map(|k| kept[k].as_f64().unwrap());
        let last_accs = [2, 4, 6].map(|c| last[c].parse::<f64>().unwrap());
        if accs != last_accs {
            differs += 1;
        }
        selected.push(accs);
    }
    assert!(differs > 0, "the test needs a run whose kept model scores otherwise than its last epoch");

    let (head, rows) = summary_of(&sweep);
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let points = pinniped::report::plots::sweep::final_points(&sweep).unwrap();
    for (row, kept) in rows.iter().zip(&selected) {
        for (k, set) in ["train", "valid", "test"].iter().enumerate() {
            let summary: f64 = row[col(&format!("final_{set}_acc_mean"))].parse().unwrap();
            assert_eq!(summary, kept[k], "summary final_{set}_acc is the kept model's");
            // The sweep plot's point for this configuration's batch_size value: the same number.
            let value = &row[col("batch_size")];
            let point = points.iter().find(|p| p.axis == "batch_size" && p.value == *value).unwrap();
            assert_eq!(
                point.accs[pinniped::data::split::Split::ALL[k]].map(|p| p.mean),
                Some(summary),
                "plot vs summary, {set}, batch_size={value}"
            );
        }
    }

    pinniped().arg("report").arg(&sweep).assert().success();
    let html = fs::read_to_string(sweep.join("report.html")).unwrap();
    for kept in &selected {
        assert!(html.contains(&format!("<td class=\"num\">{:.4}</td>", kept[2])), "report shows the kept test acc");
    }
}

#[test]
fn report_html_says_when_and_why_a_run_diverged_and_keeps_numbers_on_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = fake_sweep(tmp.path(), "div", "", "learning_rate = [0.1]");
    pinniped().arg("report").arg(&sweep).assert().success();
    let html = fs::read_to_string(sweep.join("report.html")).unwrap();
    let status = status_of(&sweep.join("runs/learning_rate=0.1/rep-1"));
    assert_eq!(status["state"], "diverged");
    let message = status["message"].as_str().unwrap();
    assert!(message.contains("diverged in epoch 3"), "{message}");
    let row = html.lines().find(|l| l.contains("learning_rate=0.1/rep-1/\"")).unwrap();
    assert!(row.contains("class=\"state-diverged\">diverged<span class=\"why\">diverged in epoch 3"), "{row}");
    assert!(row.contains("<td class=\"num\">3</td>"), "the epoch column: {row}");
    // Summary cells never wrap; the table scrolls only as a last resort.
    assert!(html.contains("td{white-space:nowrap}") && html.contains(".wide{overflow-x:auto}"));
    assert!(html.contains("<th>final valid acc</th>"), "wrappable metric headers");
}

#[test]
fn a_diverging_run_writes_every_csv_number_compactly_and_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    pinniped()
        .args(["train", "-q", "--train"])
        .arg(train_tsv())
        .args(["--reserve-every", "4", "--learning-rate", "0.1", "--epochs", "150", "--set", "plots=false", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(status_of(&out)["state"], "diverged");
    let mut huge = 0;
    for file in ["metrics.csv", "weights.csv.gz"] {
        let text = common::read_table(&out.join(file));
        for (n, line) in text.lines().enumerate().skip(1) {
            for field in line.split(',').filter(|f| !f.is_empty()) {
                let v: f64 = field.parse().unwrap_or_else(|_| panic!("{file}:{}: `{field}` is not a number", n + 1));
                assert!(field.len() <= 24, "{file}:{}: `{field}` is not compact", n + 1);
                huge += usize::from(v.abs() >= 1e16 && v.is_finite());
            }
        }
    }
    assert!(huge > 0, "the diverging run should have written some value ≥ 1e16 (in exponent form)");
}
