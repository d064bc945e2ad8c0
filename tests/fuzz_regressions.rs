//! Replays the fuzz corpus and every input the fuzzer ever saved (`fuzz/crashes/`)
//! through the parsers: errors are fine, panics are not. A crash found by
//! `examples/fuzz.rs` gets a named test here once fixed.

use std::path::{Path, PathBuf};

fn inputs(kind: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for sub in ["corpus", "crashes"] {
        if let Ok(rd) = std::fs::read_dir(root.join(sub).join(kind)) {
            out.extend(rd.flatten().map(|e| e.path()));
        }
    }
    out
}

#[test]
fn data_parsers_survive_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for (kind, ext) in [("ucr", "tsv"), ("arff", "arff")] {
        for p in inputs(kind) {
            let bytes = std::fs::read(&p).unwrap();
            let file = dir.path().join(format!("x.{ext}"));
            std::fs::write(&file, &bytes).unwrap();
            let _ = pinniped::data::read_table(&file, None, None);
            n += 1;
        }
    }
    assert!(n >= 6, "the corpus is there ({n} files)");
}

#[test]
fn sweep_parser_survives_the_corpus() {
    let files = inputs("sweep");
    assert!(files.len() >= 3);
    for p in files {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
        if let Ok(s) = pinniped::spec::parse_sweep(&p, &text) {
            let _ = pinniped::spec::expand(&s);
        }
    }
}

// Property tests: random inputs built from the formats' own tokens, so they get past the
// first line far more often than random bytes do. Only errors, never a panic.
mod properties {
    use proptest::prelude::*;
    use std::path::Path;

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            "-?[0-9]{1,3}(\\.[0-9]{1,4})?(e-?[0-9])?".prop_map(|s| s),
            Just("NaN".to_string()),
            Just("?".to_string()),
            Just("inf".to_string()),
            "[a-z'\"{}%@]{1,6}".prop_map(|s| s),
            Just("@attribute a numeric".to_string()),
            Just("@attribute c {x,y}".to_string()),
            Just("@data".to_string()),
            Just("@relation r".to_string()),
        ]
    }

    fn lines(sep: &'static str) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::collection::vec(token(), 0..6).prop_map(move |t| t.join(sep)), 0..8)
            .prop_map(|l| l.join("\n"))
    }

    /// 200 cases per run of the suite; PROPTEST_CASES=N for a long fuzzing session.
    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
    }

    fn parse_file(name: &str, text: &str) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let _ = pinniped::data::read_table(&p, None, None);
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: cases(),
            ..ProptestConfig::default()
        })]

        #[test]
        fn ucr_parser_never_panics(text in prop_oneof![lines("\t"), lines(","), lines(" ")]) {
            parse_file("x.tsv", &text);
        }

        #[test]
        fn arff_parser_never_panics(body in lines(","), header in lines("\n")) {
            parse_file("x.arff", &format!("@relation r\n{header}\n@attribute a numeric\n@attribute c {{x,y}}\n@data\n{body}"));
        }
    }

    /// A sweep file's text over the data file `data`.
    fn sweep_text(
        data: &Path,
        repeats: usize,
        reserve: &str,
        train: &[String],
        design: &str,
        axes: &[String],
    ) -> String {
        format!(
            "name = \"p\"\nrepeats = {repeats}\n[data]\ntrain = {:?}\n{reserve}[train]\n{}\n[sweep]\n{design}{}\n",
            data.display(),
            train.join("\n"),
            axes.join("\n")
        )
    }

    /// For every `[train]` key, the candidate values (TOML text) that a sweep accepts on their own,
    /// found by asking the parser; keys that accept none (`seed`) are left out.
    fn accepted_values(data: &Path) -> Vec<(String, Vec<String>)> {
        let Ok(toml::Value::Table(defaults)) = toml::Value::try_from(pinniped::spec::TrainConfig::default()) else {
            unreachable!("TrainConfig serialises to a table")
        };
        // Every word some key accepts.
        let words = "sigmoid tanh relu damped classic sgd adam mse-sum mse-mean cross-entropy paper pytorch f32 f64 \
                     auto direct gram amplitude spectrum log-spectrum log-mel multi-log-mel valid-acc valid-loss";
        let mut out = Vec::new();
        for (key, default) in &defaults {
            let candidates: Vec<String> = match default {
                toml::Value::Integer(_) => (0..6).map(|i| i.to_string()).collect(),
                toml::Value::Float(_) => ["0.0", "0.001", "0.1", "0.5", "0.9", "1.0", "1.5"].map(String::from).into(),
                toml::Value::Boolean(_) => vec!["true".into(), "false".into()],
                toml::Value::String(_) => words.split_whitespace().map(|w| format!("{w:?}")).collect(),
                _ => ["[]", "[1]", "[3]", "[2, 2]", "[4, 1]"].map(String::from).into(),
            };
            let accepted: Vec<String> = candidates
                .into_iter()
                .filter(|v| {
                    let text = sweep_text(data, 1, "", &[format!("{key} = {v}")], "", &[]);
                    pinniped::spec::parse_sweep(Path::new("p.toml"), &text).is_ok()
                })
                .collect();
            if !accepted.is_empty() {
                out.push((key.clone(), accepted));
            }
        }
        out
    }

    /// A value's TOML text: mostly one the key accepts, now and then a wrong type or range.
    fn value(accepted: Vec<String>) -> impl Strategy<Value = String> {
        prop_oneof![
            8 => prop::sample::select(accepted),
            1 => prop::sample::select(vec!["-1".to_string(), "\"x\"".into(), "[[]]".into(), "1e300".into()]),
        ]
    }

    /// A `[train]` entry: (key, value text).
    fn entry(values: &[(String, Vec<String>)]) -> impl Strategy<Value = (String, String)> {
        prop::sample::select(values.to_vec())
            .prop_flat_map(|(key, accepted)| value(accepted).prop_map(move |v| (key.clone(), v)))
    }

    /// A `[sweep]` axis: (key, 1 to 3 distinct value texts).
    fn axis(values: &[(String, Vec<String>)]) -> impl Strategy<Value = (String, Vec<String>)> {
        prop::sample::select(values.to_vec()).prop_flat_map(|(key, accepted)| {
            prop::collection::vec(value(accepted), 1..4).prop_map(move |vs| {
                let mut distinct: Vec<String> = Vec::new();
                vs.into_iter().for_each(|v| {
                    if !distinct.contains(&v) {
                        distinct.push(v)
                    }
                });
                (key.clone(), distinct)
            })
        })
    }

    /// Keeps the first of each key: TOML refuses a key twice in a table.
    fn first_of_each_key<V>(entries: Vec<(String, V)>) -> Vec<(String, V)> {
        let mut seen = std::collections::HashSet::new();
        entries.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect()
    }

    /// Sweep files made of the real keys over a real (tiny, generated) data file: they get past
    /// validation often enough that `expand` is fuzzed as well; a plan that comes out must be whole.
    #[test]
    fn sweep_parser_and_expand_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("TRAIN.tsv");
        let rows: Vec<String> =
            (0..12).map(|r| format!("{}\t{}\t{}\t{}\t{}", r % 3 + 1, r, r % 5, 1 - r, r * r % 7)).collect();
        std::fs::write(&data, rows.join("\n") + "\n").unwrap();
        let values = accepted_values(&data);
        assert!(values.len() >= 20, "most [train] keys accept a candidate value: {values:?}");
        let strategy = (
            prop::collection::vec(entry(&values), 0..5).prop_map(first_of_each_key),
            prop::collection::vec(axis(&values), 0..4).prop_map(first_of_each_key),
            prop_oneof![Just(""), Just("design = \"grid\"\n"), Just("design = \"one-at-a-time\"\n")],
            prop_oneof![4 => Just(""), 4 => Just("reserve_every = 2\n"), 4 => Just("reserve_fraction = 0.5\n"), 1 => Just("reserve_every = 1\n")],
            1usize..4,
        );
        let cases = cases();
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
        let expanded = std::cell::Cell::new(0u32);
        runner
            .run(&strategy, |(train, axes, design, reserve, repeats)| {
                let train: Vec<String> = train.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                let axes: Vec<String> = axes.iter().map(|(k, vs)| format!("{k} = [{}]", vs.join(", "))).collect();
                let text = sweep_text(&data, repeats, reserve, &train, design, &axes);
                if let Ok(sweep) = pinniped::spec::parse_sweep(Path::new("p.toml"), &text) {
                    if let Ok(plan) = pinniped::spec::expand(&sweep) {
                        expanded.set(expanded.get() + 1);
                        prop_assert_eq!(plan.runs.len(), plan.configs.len() * repeats, "{}", text);
                        let ids: std::collections::HashSet<&str> = plan.runs.iter().map(|r| r.id.as_str()).collect();
                        prop_assert_eq!(ids.len(), plan.runs.len(), "run ids are unique: {}", text);
                        for (i, run) in plan.runs.iter().enumerate() {
                            prop_assert!(run.index == i && run.config < plan.configs.len(), "{}", text);
                            prop_assert!((1..=repeats).contains(&run.repeat), "{}", text);
                        }
                    }
                }
                Ok(())
            })
            .unwrap();
        // Not a parser test in disguise: about half the cases reach expand; a quarter is the floor.
        assert!(expanded.get() * 4 >= cases, "only {} of {cases} cases reached expand", expanded.get());
    }
}
