//! The `[data]` policies for unequal lengths and missing values (`length`, `series_length`,
//! `missing`), end to end through `pinniped train` and `pinniped eval`.

mod common;

use common::{pinniped, repo, write};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn aeon(name: &str) -> PathBuf {
    repo().join("data/aeon").join(name)
}

/// A run file on `train`/`test` with the given extra `[data]` lines and a tiny model.
fn run_file(dir: &Path, train: &Path, test: &Path, policies: &str) -> PathBuf {
    let text = format!(
        "[data]\ntrain = {:?}\ntest = {:?}\nreserve_every = 4\n{policies}\n\n[train]\nhidden = [8]\nepochs = 4\nplots = false\n",
        train.display().to_string(),
        test.display().to_string()
    );
    write(dir, "run.toml", &text)
}

/// A UCR `.tsv` of two classes whose series have 12..=24 values, NaN-padded to 24 as the
/// archive does, with an interior missing value (`NaN` or `?`) in every third row.
fn padded_ucr(dir: &Path, name: &str, rows: usize, offset: usize) -> PathBuf {
    let mut text = String::new();
    for r in 0..rows {
        let class = (r + offset) % 2;
        let length = 12 + (r * 5 + offset) % 13;
        text.push_str(&(class + 1).to_string());
        for i in 0..24 {
            let value = if i >= length {
                "NaN".to_string()
            } else if r % 3 == 0 && i == length / 2 {
                if r % 2 == 0 { "NaN" } else { "?" }.to_string()
            } else {
                let t = i as f64 / length as f64;
                let v = if class == 0 { (6.0 * t).sin() } else { 2.0 * t - 1.0 };
                format!("{:.5}", v + 0.01 * ((r * 7 + i) % 5) as f64)
            };
            text.push('\t');
            text.push_str(&value);
        }
        text.push('\n');
    }
    write(dir, name, &text)
}

fn checkpoint_meta(path: &Path) -> HashMap<String, String> {
    let bytes = std::fs::read(path).unwrap();
    safetensors::SafeTensors::read_metadata(&bytes).unwrap().1.metadata().clone().unwrap()
}

/// The last epoch's test accuracy in a run's metrics.csv, as written.
fn final_test_accuracy(run: &Path) -> String {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "test_acc").expect("a test_acc column");
    text.lines().last().unwrap().split(',').nth(column).unwrap().to_string()
}

#[test]
fn each_policy_trains_and_eval_reproduces_the_test_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let ucr_train = padded_ucr(tmp.path(), "Padded_TRAIN.tsv", 40, 0);
    let ucr_test = padded_ucr(tmp.path(), "Padded_TEST.tsv", 20, 1);
    let jv = (aeon("JapaneseVowels_TRAIN.ts.gz"), aeon("JapaneseVowels_TEST.ts.gz"));
    let pickup = (aeon("PickupGestureWiimoteZ_TRAIN.ts.gz"), aeon("PickupGestureWiimoteZ_TEST.ts.gz"));
    let ucr = (ucr_train, ucr_test);
    // (name, files, [data] lines, width of a row: channels × fitted length).
    let cases: &[(&str, &(PathBuf, PathBuf), &str, usize)] = &[
        // JapaneseVowels: 12 channels, training series of 7..=26 values, test up to 29.
        ("vowels pad to a given length", &jv, "length = \"pad\"\nseries_length = 29", 12 * 29),
        ("vowels truncate to the shortest", &jv, "length = \"truncate\"", 12 * 7),
        ("vowels resample to a given length", &jv, "length = \"resample\"\nseries_length = 20", 12 * 20),
        ("vowels resample to the longest", &jv, "length = \"resample\"", 12 * 26),
        // PickupGestureWiimoteZ: one channel, training 29..=361 values, test 37..=324.
        ("pickup pad to the longest", &pickup, "length = \"pad\"", 361),
        ("pickup truncate to the shortest", &pickup, "length = \"truncate\"", 29),
        ("pickup resample to a given length", &pickup, "length = \"resample\"\nseries_length = 50", 50),
        // UCR with trailing-NaN padding (12..=24 values) and interior missing values.
        ("ucr pad + interpolate", &ucr, "length = \"pad\"\nmissing = \"interpolate\"", 24),
        ("ucr truncate + zero", &ucr, "length = \"truncate\"\nmissing = \"zero\"", 12),
        (
            "ucr resample + interpolate",
            &ucr,
            "length = \"resample\"\nseries_length = 16\nmissing = \"interpolate\"",
            16,
        ),
    ];
    let mut failures = Vec::new();
    let mut hashes: HashMap<String, &str> = HashMap::new();
    for (i, &(name, (train, test), policies, width)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("case-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = run_file(&dir, train, test, policies);
        let out = dir.join("run");
        let trained = pinniped().args(["train", "-q"]).arg(&file).arg("--out").arg(&out).output().unwrap();
        if !trained.status.success() {
            failures.push(format!("{name}: train failed: {}", String::from_utf8_lossy(&trained.stderr)));
            continue;
        }
        // The policies are recorded in the run's config.toml (a rerun applies them) ...
        let config: toml::Table = std::fs::read_to_string(out.join("config.toml")).unwrap().parse().unwrap();
        let recorded: toml::Table = policies.parse().unwrap();
        for (key, value) in &recorded {
            if config["data"].get(key) != Some(value) {
                failures
                    .push(format!("{name}: config.toml [data] {key} is {:?}, not {value}", config["data"].get(key)));
            }
        }
        // The policies are part of the run's identity: no two cases share a config hash.
        let status: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("status.json")).unwrap()).unwrap();
        let hash = status["config_hash"].as_str().unwrap().to_string();
        if let Some(other) = hashes.insert(hash, name) {
            failures.push(format!("{name}: same config hash as `{other}`"));
        }
        // ... and in the checkpoint, with the fitted length.
        let meta = checkpoint_meta(&out.join("model.safetensors"));
        let length_word = recorded.get("length").and_then(|v| v.as_str()).unwrap_or("error");
        let missing_word = recorded.get("missing").and_then(|v| v.as_str()).unwrap_or("error");
        if meta.get("length").map(String::as_str) != Some(length_word)
            || meta.get("missing").map(String::as_str) != Some(missing_word)
            || meta["raw_cols"] != width.to_string()
        {
            failures.push(format!("{name}: checkpoint metadata {meta:?} lacks the policies or a row width of {width}"));
        }
        let eval = pinniped()
            .args(["eval", "--csv", "--model"])
            .arg(out.join("model.safetensors"))
            .arg("--data")
            .arg(test)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&eval.stdout);
        let accuracy = stdout.lines().nth(1).and_then(|row| row.split(',').next()).unwrap_or_default().to_string();
        if !eval.status.success() || accuracy != final_test_accuracy(&out) {
            failures.push(format!(
                "{name}: eval gave `{accuracy}` (stderr {}), the run's test accuracy is {}",
                String::from_utf8_lossy(&eval.stderr),
                final_test_accuracy(&out)
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn without_a_policy_unequal_lengths_and_missing_values_are_refused_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let ucr_train = padded_ucr(tmp.path(), "Padded_TRAIN.tsv", 40, 0);
    let ucr_test = padded_ucr(tmp.path(), "Padded_TEST.tsv", 20, 1);
    let jv = (aeon("JapaneseVowels_TRAIN.ts.gz"), aeon("JapaneseVowels_TEST.ts.gz"));
    // (name, files, [data] lines, what stderr names).
    type Case<'a> = (&'a str, (&'a Path, &'a Path), &'a str, &'a [&'a str]);
    let cases: &[Case] = &[
        ("ts unequal lengths", (&jv.0, &jv.1), "", &["JapaneseVowels_TRAIN.ts.gz:", "unequal lengths", "length = "]),
        ("ucr NaN padding", (&ucr_train, &ucr_test), "", &["Padded_TRAIN.tsv:1:", "missing value", "length = "]),
        (
            "ucr interior missing with only a length policy",
            (&ucr_train, &ucr_test),
            "length = \"pad\"",
            &["Padded_TRAIN.tsv:1:", "missing value in field", "missing = "],
        ),
        (
            // Padding to the training file's longest (26) cannot reach the test file's 29.
            "test series longer than the padded training length",
            (&jv.0, &jv.1),
            "length = \"pad\"",
            &["JapaneseVowels_TEST.ts.gz:", "more than the target length 26", "series_length"],
        ),
    ];
    let mut failures = Vec::new();
    for (i, &(name, (train, test), policies, wanted)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("case-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = run_file(&dir, train, test, policies);
        let out = pinniped().args(["train", "-q"]).arg(&file).arg("--out").arg(dir.join("run")).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let missing: Vec<&&str> = wanted.iter().filter(|w| !stderr.contains(**w)).collect();
        if out.status.code() != Some(2) || !missing.is_empty() {
            failures.push(format!("{name}: exit {:?}, stderr lacks {missing:?}: {stderr}", out.status.code()));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn bad_policy_values_exit_2_naming_the_key_and_the_choices() {
    let tmp = tempfile::tempdir().unwrap();
    let jv = (aeon("JapaneseVowels_TRAIN.ts.gz"), aeon("JapaneseVowels_TEST.ts.gz"));
    // (name, [data] lines, what stderr names).
    let cases: &[(&str, &str, &[&str])] = &[
        ("unknown length policy", "length = \"stretch\"", &["data.length", "pad, truncate, resample"]),
        ("unknown missing policy", "missing = \"mean\"", &["data.missing", "interpolate, zero"]),
        ("length of the wrong type", "length = 3", &["data.length"]),
        ("zero series_length", "length = \"pad\"\nseries_length = 0", &["data.series_length", "1..="]),
        ("series_length past the bound", "length = \"pad\"\nseries_length = 2000000", &["data.series_length", "1..="]),
        ("negative series_length", "length = \"pad\"\nseries_length = -5", &["data.series_length"]),
        ("series_length without a length policy", "series_length = 30", &["data.series_length", "length = "]),
        ("misspelt key", "lenght = \"pad\"", &["data.lenght", "length"]),
    ];
    let mut failures = Vec::new();
    for (i, &(name, policies, wanted)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("case-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = run_file(&dir, &jv.0, &jv.1, policies);
        let run = dir.join("run");
        let out = pinniped().args(["train", "-q"]).arg(&file).arg("--out").arg(&run).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let missing: Vec<&&str> = wanted.iter().filter(|w| !stderr.contains(**w)).collect();
        if out.status.code() != Some(2) || !missing.is_empty() || run.exists() {
            failures.push(format!("{name}: exit {:?}, stderr lacks {missing:?}: {stderr}", out.status.code()));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
