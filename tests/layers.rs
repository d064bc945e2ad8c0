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
    &["app"],
    &["main"],
];

/// Layers inside one top-level module, lowest first (submodules not named may use
/// and be used by any of them).
const SUBLAYERS: &[(&str, &[&[&str]])] =
    &[("spec", &[&["problems"], &["options", "reading"], &["config"], &["design"], &["sweep"], &["plan"]])];

/// Known upward references that are still to be moved: (file, module it reaches up
/// to, why). Each is temporary, tracked by issue 12 §2; the test fails when one is no
/// longer needed, so that the list only shrinks.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

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

fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The path that starts at `at` (after `crate::` or `super::`s, whose module is `prefix`),
/// cut to its first two parts; a `{..}` group gives one path per item, across lines.
fn use_tree(code: &str, mut at: usize, mut prefix: Vec<String>, out: &mut Vec<(usize, Vec<String>)>) {
    loop {
        if prefix.len() >= 2 {
            break;
        }
        let rest = &code[at..];
        if rest.starts_with('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in rest.char_indices() {
                match c {
                    '{' if j == 0 => {}
                    '{' => depth += 1,
                    '}' if depth == 0 => return,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        use_tree(code, at + j, prefix.clone(), out);
                        item_start = false;
                    }
                    _ => {}
                }
            }
            return;
        }
        let name = ident(rest);
        if name.is_empty() {
            break;
        }
        prefix.push(name.to_string());
        at += name.len();
        match code[at..].strip_prefix("::") {
            Some(_) => at += 2,
            None => break,
        }
    }
    prefix.resize(2, String::new());
    out.push((at, prefix));
}

/// Each `crate::` and `super::` reference in a file's code (comments removed), with its
/// byte offset, as the first two parts of the absolute module path it names.
fn references(own: &[String], code: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let boundary =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b'$');
        let start = if !boundary {
            None
        } else if let Some(tail) = rest.strip_prefix("crate::") {
            Some((tail, Vec::new()))
        } else if rest.starts_with("super::") {
            let mut path = own.to_vec();
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                path.pop();
                tail = t;
            }
            Some((tail, path))
        } else {
            None
        };
        match start {
            Some((tail, prefix)) => {
                let at = code.len() - tail.len();
                use_tree(code, at, prefix, &mut found);
                i = at;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

/// Every reference that points above its file's layer.
fn violations(files: &[(String, String)]) -> Vec<Violation> {
    let mut out = Vec::new();
    for (file, text) in files {
        let own = module_path(file);
        let Some(own_top) = own.first() else { continue };
        // Comments removed line by line, so that offsets still count lines.
        let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        for (at, target) in references(&own, &code) {
            let line = code[..at].matches('\n').count() + 1;
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
                out.push(Violation { file: file.clone(), line, from, to });
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
        ("use group over lines", "src/spec/x.rs", "use crate::{\n    fsx,\n    exec::sweep,\n};", Some("exec")),
        ("super group inside spec", "src/spec/sweep.rs", "use super::{config::X, plan::Split};", Some("spec::plan")),
        (
            "nested crate group inside spec",
            "src/spec/config.rs",
            "use crate::spec::{sweep::{A, B}};",
            Some("spec::sweep"),
        ),
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
            let line = code.lines().position(|l| l.contains(v.to.rsplit("::").next().unwrap())).unwrap() + 1;
            assert_eq!((v.file.as_str(), v.line), (*file, line), "case `{name}` names its file and line");
        }
    }
}
