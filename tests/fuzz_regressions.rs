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
