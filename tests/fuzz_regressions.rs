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

    fn parse_file(name: &str, text: &str) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let _ = pinniped::data::read_table(&p, None, None);
    }

    proptest! {
        // 200 cases per run of the suite; PROPTEST_CASES=N for a long fuzzing session.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200),
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

        #[test]
        fn sweep_parser_never_panics(
            keys in prop::collection::vec(("[a-z_]{1,14}", prop_oneof![
                "-?[0-9]{1,4}".prop_map(|s| s),
                "-?[0-9]\\.[0-9]{1,3}".prop_map(|s| s),
                "\"[a-z-]{0,12}\"".prop_map(|s| s),
                "\\[(-?[0-9]{1,3}, ?){0,3}\\]".prop_map(|s| s),
                "\\[\\[[0-9]{1,2}\\], \\[\\]\\]".prop_map(|s| s),
            ]), 0..8),
            table in prop_oneof![Just("train"), Just("sweep"), Just("data")],
        ) {
            let body: Vec<String> = keys.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let text = format!("name = \"p\"\n[data]\ntrain = \"x.tsv\"\n[{table}]\n{}\n", body.join("\n"));
            if let Ok(s) = pinniped::spec::parse_sweep(std::path::Path::new("p.toml"), &text) {
                let _ = pinniped::spec::expand(&s);
            }
        }
    }
}
