//! Designs beyond the grid (issue 15 §1): random, sobol and lhs points drawn from a distribution
//! per key, list designs, zipped axes and concatenated blocks; their ids, seeds, extension and
//! errors.

mod common;

use common::*;
use pinniped::spec::design::{draw, Dist};
use pinniped::spec::{expand, load_sweep, parse_sweep, Plan};
use pinniped::stats::sobol;
use predicates::prelude::*;
use std::path::Path;
use toml::Value;

fn sweep_file(dir: &Path, name: &str, sweep: &str) -> std::path::PathBuf {
    let text = format!(
        "name = \"{name}\"\nseed = 5\nrepeats = 2\n{}\n[train]\nhidden = [8]\nepochs = 2\n\n[sweep]\n{sweep}\n",
        data_table(true)
    );
    write(dir, &format!("{name}.toml"), &text)
}

fn plan_of(dir: &Path, sweep: &str) -> Plan {
    expand(&load_sweep(&sweep_file(dir, "d", sweep)).unwrap()).unwrap()
}

fn value<'p>(plan: &'p Plan, config: usize, key: &str) -> &'p str {
    let k = plan.axes.iter().position(|a| a == key).unwrap_or_else(|| panic!("no axis {key}"));
    &plan.configs[config].axis_values[k]
}

#[test]
fn random_toml_is_32_sobol_points_through_their_distributions() {
    let plan = expand(&load_sweep(&repo().join("experiments/random.toml")).unwrap()).unwrap();
    assert_eq!(plan.axes, ["learning_rate", "hidden", "dropout", "weight_decay", "batch_size"]);
    assert_eq!((plan.configs.len(), plan.runs.len()), (32, 64));
    let dists = [
        Dist::LogUniform(1e-4, 1e-2),
        Dist::Choice(vec![64, 128, 256, 512].into_iter().map(|w| Value::Array(vec![Value::Integer(w)])).collect()),
        Dist::Uniform(0.0, 0.6),
        Dist::LogUniform(1e-5, 1e-1),
        Dist::IntLogUniform(8, 64),
    ];
    for (i, config) in plan.configs.iter().enumerate() {
        // Configuration i is Sobol' point i + 1 (the origin skipped), key d its dimension d.
        let u = sobol::point(i as u64 + 1, 5);
        for (d, dist) in dists.iter().enumerate() {
            let want = pinniped::spec::plan::format_value(&draw(dist, u[d]));
            assert_eq!(config.axis_values[d], want, "point {i}, {}", plan.axes[d]);
        }
        let t = &config.train;
        assert!(
            (1e-4..=1e-2).contains(&t.optimiser.learning_rate) && (1e-5..=1e-1).contains(&t.optimiser.weight_decay)
        );
        assert!((8..=64).contains(&t.optimiser.batch_size) && (0.0..=0.6).contains(&t.model.dropout));
        assert!([64, 128, 256, 512].contains(&t.model.hidden[0]) && t.model.hidden.len() == 1);
    }
    // Each hidden width is drawn (8 times each: the first 32 points stratify every dimension by 4
    // but for the skipped origin and the 33rd point that replaces it).
    for w in ["64", "128", "256", "512"] {
        let n = (0..32).filter(|&c| value(&plan, c, "hidden") == w).count();
        assert!((7..=9).contains(&n), "hidden {w}: {n}");
    }
}

#[test]
fn raising_samples_keeps_every_id_and_seed_of_random_and_sobol() {
    let tmp = tempfile::tempdir().unwrap();
    for design in ["random", "sobol"] {
        let keys = "learning_rate = { log_uniform = [1e-4, 1e-1] }\nbatch_size = { int_uniform = [8, 64] }\n\
                    activation = { choice = [\"relu\", \"tanh\"] }";
        let small = plan_of(tmp.path(), &format!("design = \"{design}\"\nsamples = 6\n{keys}"));
        let grown = plan_of(tmp.path(), &format!("design = \"{design}\"\nsamples = 20\n{keys}"));
        assert_eq!(small.configs.len(), 6, "{design}");
        assert_eq!(small.configs[..], grown.configs[..6], "{design}: the first 6 points");
        for r in &small.runs {
            let g = grown.runs.iter().find(|g| g.id == r.id).unwrap();
            assert_eq!((r.seed, r.split_seed), (g.seed, g.split_seed), "{design}: {}", r.id);
        }
        // Values that must be integers or members of a set are drawn as such.
        for (i, c) in grown.configs.iter().enumerate() {
            assert_eq!(value(&grown, i, "batch_size"), c.train.optimiser.batch_size.to_string());
            assert!((8..=64).contains(&c.train.optimiser.batch_size));
            assert!(["relu", "tanh"].contains(&value(&grown, i, "activation")), "{}", c.id);
        }
    }
    // Another seed moves random points, not sobol's (unscrambled).
    let other = |design: &str| {
        let text = std::fs::read_to_string(sweep_file(
            tmp.path(),
            "d",
            &format!("design = \"{design}\"\nsamples = 4\nlearning_rate = {{ uniform = [0.001, 0.1] }}"),
        ))
        .unwrap();
        let path = tmp.path().join("d.toml");
        let a = expand(&parse_sweep(&path, &text).unwrap()).unwrap();
        let b = expand(&parse_sweep(&path, &text.replace("seed = 5", "seed = 6")).unwrap()).unwrap();
        (
            a.configs.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            b.configs.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        )
    };
    let (a, b) = other("random");
    assert_ne!(a, b);
    let (a, b) = other("sobol");
    assert_eq!(a, b);
}

#[test]
fn lhs_hits_each_stratum_once_and_refuses_to_be_extended() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = "learning_rate = { log_uniform = [1e-4, 1e-1] }\nmomentum = { uniform = [0.0, 0.9] }";
    let plan = plan_of(tmp.path(), &format!("design = \"lhs\"\nsamples = 10\n{keys}"));
    let mut lr_strata: Vec<usize> = plan
        .configs
        .iter()
        .map(|c| ((c.train.optimiser.learning_rate.log10() + 4.0) / 3.0 * 10.0).floor() as usize)
        .collect();
    let mut m_strata: Vec<usize> =
        plan.configs.iter().map(|c| (c.train.optimiser.momentum / 0.9 * 10.0) as usize).collect();
    lr_strata.sort_unstable();
    m_strata.sort_unstable();
    assert_eq!(lr_strata, (0..10).collect::<Vec<_>>());
    assert_eq!(m_strata, (0..10).collect::<Vec<_>>());

    let out = tmp.path().join("out");
    let file = sweep_file(tmp.path(), "lhs", &format!("design = \"lhs\"\nsamples = 3\n{keys}"));
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    let before = snapshot(&out);
    let text = std::fs::read_to_string(&file).unwrap().replace("samples = 3", "samples = 4");
    std::fs::write(&file, text).unwrap();
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().code(2).stderr(
        predicate::str::contains("sweep.samples")
            .and(predicate::str::contains("drawn with samples = 3, not 4"))
            .and(predicate::str::contains("Latin hypercube")),
    );
    assert_eq!(before, snapshot(&out), "the refused resume changed nothing");

    // A random design resumes with more samples: only the new points train.
    let file = sweep_file(tmp.path(), "rnd", &format!("design = \"random\"\nsamples = 3\n{keys}"));
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    let text = std::fs::read_to_string(&file).unwrap().replace("samples = 3", "samples = 5");
    std::fs::write(&file, text).unwrap();
    pinniped()
        .args(["run", "--fake-trainer", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("= 10 runs (6 already finished)"));
    // The stored sweep rebuilds the same plan (summarize and report read it).
    pinniped().arg("summarize").arg(out.join("rnd")).assert().success();
    let stored = pinniped::spec::load_stored_sweep(&out.join("rnd/sweep.toml")).unwrap();
    let from_file = expand(&load_sweep(&file).unwrap()).unwrap();
    assert_eq!(expand(&stored).unwrap().runs, from_file.runs);
    let summary = std::fs::read_to_string(out.join("rnd/summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 5, "{summary}");
}

#[test]
fn zip_varies_axes_together_in_a_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan_of(
        tmp.path(),
        "design = \"grid\"\nloss = [\"mse-sum\", \"cross-entropy\", \"cross-entropy\"]\nbatch_size = [16, 32]\n\
         learning_rate = [0.001, 0.01, 0.1]\nzip = [[\"loss\", \"learning_rate\"]]",
    );
    let ids: Vec<&str> = plan.configs.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "batch_size=16",
            "batch_size=32",
            "loss=cross-entropy,learning_rate=0.01,batch_size=16",
            "loss=cross-entropy,learning_rate=0.01,batch_size=32",
            "loss=cross-entropy,learning_rate=0.1,batch_size=16",
            "loss=cross-entropy,learning_rate=0.1,batch_size=32",
        ]
    );
    assert_eq!(plan.axes, ["loss", "batch_size", "learning_rate"]);
    // One at a time: each zipped pair is one step away from the baseline.
    let plan = plan_of(
        tmp.path(),
        "design = \"one-at-a-time\"\nloss = [\"cross-entropy\", \"mse-mean\"]\nlearning_rate = [0.01, 0.1]\n\
         batch_size = [16]\nzip = [[\"loss\", \"learning_rate\"]]",
    );
    let ids: Vec<&str> = plan.configs.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["baseline", "loss=cross-entropy,learning_rate=0.01", "loss=mse-mean,learning_rate=0.1", "batch_size=16"]
    );
}

#[test]
fn blocks_concatenate_sub_designs_and_run_duplicates_once() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = "[[sweep.block]]\ndesign = \"grid\"\noptimizer = [\"adam\"]\nlearning_rate = [0.001, 0.01]\n\
                 [[sweep.block]]\ndesign = \"grid\"\noptimizer = [\"sgd\"]\nlearning_rate = [0.01, 0.1]\n\
                 momentum = [0.5, 0.9]\n\
                 [[sweep.block]]\ndesign = \"list\"\n[[sweep.block.point]]\noptimizer = \"adam\"\n\
                 learning_rate = 0.01\n[[sweep.block.point]]\nhidden = [16, 16]\n\
                 [[sweep.block]]\ndesign = \"random\"\nsamples = 3\noptimizer = { choice = [\"adam\"] }\n\
                 learning_rate = { log_uniform = [1e-4, 1e-2] }";
    let plan = plan_of(tmp.path(), sweep);
    let ids: Vec<&str> = plan.configs.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids[..7],
        [
            "optimizer=adam",
            "optimizer=adam,learning_rate=0.01",
            "learning_rate=0.01,momentum=0.5",
            "learning_rate=0.01,momentum=0.9",
            "learning_rate=0.1,momentum=0.5",
            "learning_rate=0.1,momentum=0.9",
            // The list's first point is the adam block's second: run once.
            "hidden=16x16",
        ]
    );
    assert_eq!(plan.configs.len(), 7 + 3);
    assert!(plan.configs[7..].iter().all(|c| c.id.starts_with("optimizer=adam,learning_rate=")), "{ids:?}");
    assert_eq!(plan.axes, ["optimizer", "learning_rate", "momentum", "hidden"]);
    assert_eq!(plan.design.word(), "blocks");

    // A run of the blocks sweep stores them, and `--dry-run` prints each point.
    let file = sweep_file(tmp.path(), "blocks", sweep);
    pinniped().args(["run", "--dry-run"]).arg(&file).assert().success().stdout(
        predicate::str::contains("(blocks): 10 configurations").and(predicate::str::contains("hidden=16x16/rep-2")),
    );
    let out = tmp.path().join("out");
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    let stored = pinniped::spec::load_stored_sweep(&out.join("blocks/sweep.toml")).unwrap();
    assert_eq!(expand(&stored).unwrap().runs, plan.runs);
    let importance = std::fs::read_to_string(out.join("blocks/importance.csv")).unwrap();
    assert!(importance.contains("a blocks design is not a full grid"), "{importance}");
}

#[test]
fn long_ids_keep_a_readable_prefix_and_a_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan_of(
        tmp.path(),
        "design = \"list\"\n[[sweep.point]]\nhidden = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, \
         113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, \
         134, 135, 136, 137, 138, 139, 140]\n\
         learning_rate = 0.01\n[[sweep.point]]\nlearning_rate = 0.02",
    );
    let long = &plan.configs[0].id;
    assert!(long.starts_with("hidden=101x102x103") && long.contains('~') && long.len() <= 150, "{long}");
    assert_eq!(plan.configs[1].id, "learning_rate=0.02");
}

#[test]
fn design_errors_name_the_key_and_the_fix_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let rnd = "design = \"random\"\nsamples = 4\n";
    for (case, sweep, label, fix) in [
        (
            "unknown distribution",
            format!("{rnd}learning_rate = {{ loguniform = [1e-4, 1e-1] }}"),
            "sweep.learning_rate.loguniform",
            "did you mean `log_uniform`",
        ),
        (
            "lo > hi",
            format!("{rnd}learning_rate = {{ uniform = [0.1, 0.01] }}"),
            "sweep.learning_rate.uniform",
            "lo > hi",
        ),
        (
            "log of 0",
            format!("{rnd}weight_decay = {{ log_uniform = [0, 0.1] }}"),
            "sweep.weight_decay.log_uniform",
            "the log of 0 is undefined",
        ),
        (
            "int_log of 0",
            format!("{rnd}batch_size = {{ int_log_uniform = [0, 64] }}"),
            "sweep.batch_size.int_log_uniform",
            "bounds ≥ 1",
        ),
        (
            "a bound the key refuses",
            format!("{rnd}dropout = {{ uniform = [0.0, 1.0] }}"),
            "sweep.dropout.uniform",
            "within [0, 1)",
        ),
        (
            "uniform on a whole-number key",
            format!("{rnd}batch_size = {{ uniform = [8, 64] }}"),
            "sweep.batch_size.uniform",
            "use int_uniform",
        ),
        ("a list in a random design", format!("{rnd}batch_size = [8, 64]"), "sweep.batch_size", "choice = [8, 64]"),
        (
            "samples missing",
            "design = \"sobol\"\nmomentum = { uniform = [0, 1] }".into(),
            "sweep.samples",
            "samples = N",
        ),
        (
            "a distribution in a grid",
            "momentum = { uniform = [0, 1] }".into(),
            "sweep.momentum",
            "distributions are for design = \"random\"",
        ),
        (
            "zip length mismatch",
            "loss = [\"mse-sum\", \"cross-entropy\"]\nlearning_rate = [0.1]\nzip = [[\"loss\", \"learning_rate\"]]"
                .into(),
            "sweep.zip",
            "loss has 2, learning_rate has 1",
        ),
        (
            "zip of an unknown axis",
            "loss = [\"mse-sum\"]\nzip = [[\"loss\", \"learnig_rate\"]]".into(),
            "sweep.zip",
            "not an axis of this design",
        ),
        (
            "unknown key in a point",
            "design = \"list\"\n[[sweep.point]]\nlearnig_rate = 0.1".into(),
            "bad.toml:16: sweep.point[0].learnig_rate",
            "did you mean `learning_rate`",
        ),
        (
            "unknown key in a block",
            "[[sweep.block]]\ndesign = \"grid\"\nmomentun = [0.5]".into(),
            "bad.toml:16: sweep.block[0].momentun",
            "did you mean `momentum`",
        ),
        (
            "a key beside the blocks",
            "momentum = [0.5]\n[[sweep.block]]\nhidden = [[4]]".into(),
            "sweep.momentum",
            "move it into one",
        ),
        ("a bad design word", "design = \"sobel\"".into(), "sweep.design", "did you mean `sobol`"),
    ] {
        let file = sweep_file(tmp.path(), "bad", &sweep);
        let out = tmp.path().join("out");
        let assert = pinniped().args(["run", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(stderr.contains(&format!("{label}: ")) && stderr.contains(fix), "{case}: {stderr}");
        assert!(stderr.contains("bad.toml"), "{case}: names the file: {stderr}");
        assert!(!out.exists(), "{case}: nothing written");
    }
    // A point that combines keys wrongly is reported by its configuration, not dropped.
    let file = sweep_file(
        tmp.path(),
        "bad",
        "design = \"list\"\n[[sweep.point]]\noptimizer = \"adam\"\nmomentum = 0.9\nmomentum_rule = \"classic\"",
    );
    pinniped()
        .args(["run", "--dry-run"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("configuration optimizer=adam,momentum=0.9,momentum_rule=classic"));
}
