//! Dependencies point one way (issue 12 §2): a module may use only the layers below
//! it. The layers are written once, here (README "How it works" shows them); this test
//! reads every file under src/, resolves each `crate::X`, `use crate::{X, ..}` and
//! `super::` reference to the top-level module it names, and fails on each reference
//! to a layer above the file's own, printing file:line and the rule it breaks.
//! Test code (`#[cfg(test)]`) is checked like the rest.

use std::path::Path;

/// Lowest first. Modules on one line are one layer and may use each other.
const LAYERS: &[&[&str]] = &[
    &["output", "fsx"],
    &["stats"],
    &["spec"],
    &["memory"],
    &["data"],
    &["features"],
    &["train"],
    &["results"],
    &["report"],
    &["exec"],
    &["cli"],
    &["commands"],
    &["main"],
];

/// Layers inside one top-level module, lowest first (submodules not named may use
/// and be used by any of them).
const SUBLAYERS: &[(&str, &[&[&str]])] =
    &[("spec", &[&["problems"], &["options"], &["config"], &["sweep"], &["plan"]])];

/// Known upward references that are still to be moved: (file, module it reaches up
/// to, why). Each is temporary, tracked by issue 12 §2; the test fails when one is no
/// longer needed, so that the list only shrinks.
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "src/spec/config.rs",
        "data",
        "issue 12 §2/§3: DataConfig validates through data::Format and builds data::SeriesPolicy; \
         those types move into spec with the typed configuration",
    ),
    (
        "src/train/fit.rs",
        "results",
        "issue 12 §2: fit builds results::predictions::{Predictions, SetPredictions}; the record \
         types move below train (or fit returns raw scores that results turns into a record)",
    ),
    (
        "src/report/compare.rs",
        "exec",
        "issue 12 §2: compare calls exec::sweep::check_no_symlink*, which need ROOT_FILES (naming \
         report's and refit's files); they move into results::layout with those names (issue 12 §1)",
    ),
];

#[derive(Debug, PartialEq)]
struct Violation {
    file: String,
    line: usize,
    from: String,
    to: String,
}

fn layer_of(layers: &[&[&str]], module: &str) -> Option<usize> {
    layers.iter().position(|layer| layer.contains(&module))
}

/// The module path of a source file: `src/report/plots/mod.rs` → [report, plots].
fn module_path(file: &str) -> Vec<String> {
    let rel = file.strip_prefix("src/").unwrap_or(file).trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Each reference in one line of code, as an absolute module path's first two parts.
fn references(own: &[String], code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let boundary =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b'$');
        if boundary && rest.starts_with("crate::") {
            let after = &rest["crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // `crate::{a::b, c}`: every first name of the group (nested braces skipped).
                let mut depth = 0;
                let mut start = true;
                for (j, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => start = true,
                        c if start && (c.is_alphanumeric() || c == '_') => {
                            let first = ident(&group[j..]);
                            let tail = &group[j + first.len()..];
                            let second = tail.strip_prefix("::").map(ident).unwrap_or_default();
                            found.push(vec![first, second]);
                            start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                let first = ident(after);
                let second = after[first.len()..].strip_prefix("::").map(ident).unwrap_or_default();
                found.push(vec![first, second]);
            }
            i += "crate::".len();
            continue;
        }
        if boundary && rest.starts_with("super::") {
            let mut path = own.to_vec();
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                path.pop();
                tail = t;
            }
            let consumed = rest.len() - tail.len();
            path.push(ident(tail));
            if let Some(t) = tail[ident(tail).len()..].strip_prefix("::") {
                path.push(ident(t));
            }
            path.resize(2, String::new());
            found.push(path);
            i += consumed;
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// Every reference that points above its file's layer.
fn violations(files: &[(String, String)]) -> Vec<Violation> {
    let mut out = Vec::new();
    for (file, text) in files {
        let own = module_path(file);
        let Some(own_top) = own.first() else { continue };
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for target in references(&own, code) {
                let (to_top, to_sub) = (&target[0], &target[1]);
                let upward = if to_top == own_top {
                    let sub = SUBLAYERS.iter().find(|(m, _)| m == own_top);
                    match (sub, own.get(1)) {
                        (Some((_, layers)), Some(own_sub)) => {
                            matches!((layer_of(layers, own_sub), layer_of(layers, to_sub)), (Some(a), Some(b)) if b > a)
                        }
                        _ => false,
                    }
                } else {
                    match (layer_of(LAYERS, own_top), layer_of(LAYERS, to_top)) {
                        (Some(a), Some(b)) => b > a,
                        _ => false,
                    }
                };
                if upward {
                    let (from, to) = if to_top == own_top {
                        (format!("{own_top}::{}", own[1]), format!("{to_top}::{to_sub}"))
                    } else {
                        (own_top.clone(), to_top.clone())
                    };
                    out.push(Violation { file: file.clone(), line: n + 1, from, to });
                }
            }
        }
    }
    out
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

fn repo_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), root, &mut files);
    files
}

#[test]
fn every_top_level_module_has_a_layer() {
    let files = repo_sources();
    let mut missing: Vec<String> = files
        .iter()
        .filter_map(|(f, _)| module_path(f).first().cloned())
        .filter(|m| layer_of(LAYERS, m).is_none())
        .collect();
    missing.dedup();
    assert!(missing.is_empty(), "modules without a layer in tests/layers.rs LAYERS: {missing:?}");
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let found = violations(&repo_sources());
    let excepted = |v: &Violation| EXCEPTIONS.iter().any(|(f, to, _)| *f == v.file && *to == v.to);
    let broken: Vec<String> = found
        .iter()
        .filter(|v| !excepted(v))
        .map(|v| format!("{}:{}: {} uses {}, a layer above it (tests/layers.rs LAYERS)", v.file, v.line, v.from, v.to))
        .collect();
    let stale: Vec<String> = EXCEPTIONS
        .iter()
        .filter(|(f, to, _)| !found.iter().any(|v| v.file == *f && v.to == *to))
        .map(|(f, to, _)| format!("{f} no longer uses {to}: remove its exception"))
        .collect();
    assert!(broken.is_empty() && stale.is_empty(), "\n{}\n", [broken, stale].concat().join("\n"));
}

#[test]
fn the_check_finds_planted_upward_references() {
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        ("use of a higher layer", "src/spec/x.rs", "use crate::report::summary;", Some("report")),
        ("grouped use", "src/data/x.rs", "use crate::{fsx, exec::sweep::run_dir};", Some("exec")),
        ("path in an expression", "src/train/fit.rs", "let d = crate::results::x::y();", Some("results")),
        (
            "super::super reaching another module",
            "src/report/plots/x.rs",
            "use super::super::super::exec::X;",
            Some("exec"),
        ),
        ("sublayer inside spec", "src/spec/sweep.rs", "use super::plan::Split;", Some("spec::plan")),
        ("a lower layer is fine", "src/exec/x.rs", "use crate::{spec::Plan, report::summary};", None),
        ("own module is fine", "src/report/plots/x.rs", "use super::super::summary;", None),
        ("comments are ignored", "src/spec/x.rs", "// crate::exec::sweep", None),
        ("$crate in macros is ignored", "src/output.rs", "$crate::output::write_stdout", None),
    ];
    for (name, file, code, expect) in cases {
        let found = violations(&[(file.to_string(), code.to_string())]);
        let got = found.first().map(|v| v.to.as_str());
        assert_eq!(got, *expect, "case `{name}`: {found:?}");
        if let Some(v) = found.first() {
            assert_eq!((v.file.as_str(), v.line), (*file, 1), "case `{name}` names its file and line");
        }
    }
}
