//! Sweep files → plans: the designs, stable ids and seeds, and strict validation.

mod common;

use common::*;
use pinniped::spec::{expand, load_sweep, parse_sweep};
use std::path::Path;

#[test]
fn paper_toml_is_the_papers_design() {
    let sweep = load_sweep(&repo().join("experiments/paper.toml")).unwrap();
    let plan = expand(&sweep).unwrap();
    assert_eq!(plan.configs.len(), 15);
    assert_eq!(plan.runs.len(), 45);
    let ids: Vec<&str> = plan.configs.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "baseline",
            "hidden=1",
            "hidden=4",
            "hidden=16",
            "learning_rate=0.1",
            "learning_rate=0.01",
            "batch_size=1",
            "batch_size=40",
            "batch_size=80",
            "momentum=0.1",
            "momentum=0.5",
            "momentum=0.9",
            "momentum=1.0",
            "activation=tanh",
            "activation=relu",
        ]
    );
    assert_eq!(plan.runs[4].id, "hidden=1/rep-2");
    // The baseline is the paper's.
    let b = &plan.configs[0].train;
    assert_eq!(
        (
            b.model.hidden.as_slice(),
            b.optimiser.learning_rate,
            b.optimiser.batch_size,
            b.optimiser.momentum,
            b.schedule.epochs
        ),
        (&[64][..], 0.001, 160, 0.0, 256)
    );
    // Every seed distinct.
    let mut seeds: Vec<u64> = plan.runs.iter().map(|r| r.seed).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 45);
}

#[test]
fn paper_grid_is_the_cartesian_product() {
    let sweep = load_sweep(&repo().join("experiments/paper-grid.toml")).unwrap();
    let plan = expand(&sweep).unwrap();
    assert_eq!(plan.configs.len(), 720);
    assert_eq!(plan.runs.len(), 2160);
    assert!(plan
        .configs
        .iter()
        .any(|c| c.id == "hidden=1,learning_rate=0.1,batch_size=1,momentum=0.1,activation=tanh"));
    assert_eq!(plan.configs.iter().filter(|c| c.id == "baseline").count(), 1);
}

fn sweep_text(axes: &str) -> String {
    format!("name = \"s\"\nseed = 5\nrepeats = 2\n{}\n[train]\nepochs = 3\n[sweep]\n{axes}\n", data_table(false))
}

#[test]
fn ids_and_seeds_survive_growing_axes() {
    let p = Path::new("s.toml");
    for design in ["grid", "one-at-a-time"] {
        let small = expand(
            &parse_sweep(
                p,
                &sweep_text(&format!("design = \"{design}\"\nbatch_size = [40, 160]\nmomentum = [0.0, 0.5]")),
            )
            .unwrap(),
        )
        .unwrap();
        let big = expand(
            &parse_sweep(
                p,
                &sweep_text(&format!("design = \"{design}\"\nbatch_size = [40, 80, 160]\nmomentum = [0.0, 0.5, 0.9]")),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(big.runs.len() > small.runs.len());
        for r in &small.runs {
            let same = big.runs.iter().find(|b| b.id == r.id).unwrap_or_else(|| panic!("{design}: {} vanished", r.id));
            assert_eq!(same.seed, r.seed, "{design}: seed of {} changed", r.id);
        }
    }
}

#[test]
fn one_at_a_time_counts_the_baseline_once() {
    let plan = expand(
        &parse_sweep(
            Path::new("s.toml"),
            &sweep_text("design = \"one-at-a-time\"\nbatch_size = [40, 160]\nepochs = [3, 5]"),
        )
        .unwrap(),
    )
    .unwrap();
    let ids: Vec<&str> = plan.configs.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["baseline", "batch_size=40", "epochs=5"]);
    assert_eq!(plan.runs.len(), 6);
}

#[test]
fn ids_are_safe_paths() {
    let plan = expand(
        &parse_sweep(Path::new("s.toml"), &sweep_text("hidden = [[32, 32], []]\nlearning_rate = [0.01]")).unwrap(),
    )
    .unwrap();
    for r in &plan.runs {
        for seg in r.id.split('/') {
            assert!(!seg.is_empty() && seg != ".." && seg != ".", "{}", r.id);
            assert!(seg.chars().all(|c| c.is_ascii_alphanumeric() || "._=,+-".contains(c)), "{}", r.id);
        }
    }
    assert!(plan.configs.iter().any(|c| c.id == "hidden=32x32,learning_rate=0.01"));
    assert!(plan.configs.iter().any(|c| c.id == "hidden=none,learning_rate=0.01"));
}

/// Each bad file: the key (or text) the message must name and the line it must cite.
#[test]
fn every_validation_problem_is_named_with_its_line() {
    let cases: &[(&str, &str, &str)] = &[
        ("name = \"s\"\n[data\ntrain = 1", "TOML syntax error", "s.toml:2"),
        ("name = \"s\"\nnmae = 3", "nmae", "did you mean `name`"),
        ("name = \"s\"\n[train]\nlearning_rat = 0.1", "train.learning_rat", "did you mean `learning_rate`"),
        ("name = \"s\"\n[train]\nlearning_rate = -0.1", "train.learning_rate", "s.toml:3"),
        ("name = \"s\"\n[train]\nlearning_rate = \"fast\"", "train.learning_rate", "must be a number"),
        ("name = \"s\"\n[train]\nmomentum = 1.5", "train.momentum", "[0, 1]"),
        ("name = \"s\"\n[train]\nbatch_size = 0", "train.batch_size", "at least 1"),
        ("name = \"s\"\n[train]\nhidden = [64, 0]", "train.hidden", "at least 1 node"),
        ("name = \"s\"\n[train]\nepochs = 0", "train.epochs", "at least 1"),
        ("name = \"s\"\n[train]\nactivation = \"gelu\"", "train.activation", "sigmoid"),
        ("name = \"s\"\n[sweep]\nmomentum = [0.1, 0.1]", "sweep.momentum[1]", "duplicate"),
        ("name = \"s\"\n[sweep]\nmomentum = []", "sweep.momentum", "empty axis"),
        ("name = \"s\"\n[sweep]\nmomentum = 0.5", "sweep.momentum", "list of values"),
        ("name = \"s\"\n[sweep]\nlearning_rate = [0.1, -1.0]", "sweep.learning_rate[1]", "> 0"),
        ("name = \"s\"\n[sweep]\nhidden = [16, 64]", "sweep.hidden[0]", "hidden = [[16]"),
        ("name = \"s\"\n[sweep]\nmomentun = [0.1]", "sweep.momentun", "did you mean `momentum`"),
        ("name = \"s\"\n[sweep]\ndesign = \"latin\"", "sweep.design", "one-at-a-time"),
        ("name = \"../evil\"", "name", "directory name"),
        ("name = \"s\"\n[train]\nseed = 3", "train.seed", "top-level `seed`"),
    ];
    for (body, must1, must2) in cases {
        // A valid [data] table goes last, so the cited line numbers stay those of `body`.
        let text = if body.contains("[data") { body.to_string() } else { format!("{body}\n{}", data_table(false)) };
        let err = parse_sweep(Path::new("s.toml"), &text).unwrap_err().to_string();
        assert!(err.contains(must1) && err.contains(must2), "for\n{body}\n---\ngot: {err}");
        assert!(err.starts_with("s.toml"), "{err}");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = format!(
        "name = \"s\"\nrepeats = 0\n{}\n[train]\nlearning_rate = 0\nmomentum = 2.0\nbogus = 1\n",
        data_table(false)
    );
    let err = parse_sweep(Path::new("s.toml"), &text).unwrap_err();
    assert_eq!(err.0.len(), 4, "{err}");
    assert!(err.to_string().contains("4 problems"));
}

#[test]
fn data_problems_are_reported() {
    let text = "name = \"s\"\n[data]\ntrain = \"/nonexistent/x.tsv\"\nreserve_every = 1\nreserve_fraction = 0.5\nformat = \"csv\"\n";
    let err = parse_sweep(Path::new("s.toml"), text).unwrap_err().to_string();
    for needle in ["data.train", "does not exist", "data.reserve_every", "not both", "data.format"] {
        assert!(err.contains(needle), "{needle} missing in {err}");
    }
}

#[test]
fn no_name_or_value_can_write_outside_the_results_directory() {
    let p = Path::new("s.toml");
    for name in ["..", "../x", "/etc", "a/b", "a\\\\b", ".hidden", "nul\\u0000byte", &"x".repeat(101), ""] {
        let text = format!("name = \"{name}\"\n{}", data_table(false));
        let err = parse_sweep(p, &text).unwrap_err().to_string();
        assert!(err.contains("name"), "{name:?} accepted: {err}");
    }
    // Long grid ids stay one short, safe path segment, and distinct.
    let widths: Vec<String> = (1..=12).map(|i| format!("[{}]", vec![i.to_string(); 30].join(", "))).collect();
    let text = format!("name = \"s\"\n{}\n[sweep]\nhidden = [{}]\n", data_table(false), widths.join(", "));
    let plan = expand(&parse_sweep(p, &text).unwrap()).unwrap();
    let mut ids: Vec<&str> = plan.configs.iter().map(|c| c.id.as_str()).collect();
    for id in &ids {
        assert!(id.len() <= 160 && !id.contains('/') && !id.starts_with('.'), "{id}");
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12);
}

#[test]
fn combinations_are_judged_per_configuration() {
    let p = Path::new("s.toml");
    // With an adam baseline, momentum 0.9 is fine on the sgd configurations of a grid...
    let ok = format!("name = \"s\"\n{}\n[train]\noptimizer = \"adam\"\n[sweep]\ndesign = \"grid\"\noptimizer = [\"sgd\"]\nmomentum = [0.0, 0.9]\n", data_table(false));
    assert_eq!(expand(&parse_sweep(p, &ok).unwrap()).unwrap().configs.len(), 2);
    // ...but not on an adam one.
    let bad = format!(
        "name = \"s\"\n{}\n[train]\noptimizer = \"adam\"\n[sweep]\ndesign = \"grid\"\nmomentum = [0.0, 0.9]\n",
        data_table(false)
    );
    let err = expand(&parse_sweep(p, &bad).unwrap()).unwrap_err().to_string();
    assert!(err.contains("configuration momentum=0.9: train.momentum") && err.contains("adam"), "{err}");
}
