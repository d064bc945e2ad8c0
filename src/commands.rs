//! One function per subcommand: validated input in, files and a short report out.

use crate::cli::*;
use crate::exec::rundir::{read_status, State};
use crate::exec::sweep::{self, run_dir, Counts, RunOptions};
use crate::exec::trainer::{FakeTrainer, MlpTrainer, RunSpec, Trainer};
use crate::features::{Pipeline, Prepared};
use crate::report::{compare, summary};
use crate::spec::sweep::{parse_run_file, read_source, with_value};
use crate::spec::{expand, load_sweep, InputError, Plan, SweepFile};
use crate::train::checkpoint::{self, AnyMlp};
use crate::train::model::argmax_rows;
use crate::train::{Mlp, Real};
use anyhow::{Context, Result};
use std::path::Path;

/// Documented exit codes.
pub mod exit {
    /// Every run finished (diverged runs are results too).
    pub const OK: u8 = 0;
    /// Some runs failed, or an operation failed at run time (I/O).
    pub const RUNS_FAILED: u8 = 1;
    /// Usage or input error: nothing was run or written.
    pub const INPUT: u8 = 2;
}

pub fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Run(a) => run(a),
        Command::Train(a) => train(a),
        Command::Eval(a) => eval(a),
        Command::Status(a) => status(&a.dir),
        Command::Rerun(a) => rerun(a),
        Command::Summarize(a) => summarize(&a.dir),
        Command::Compare(a) => compare_cmd(a),
        Command::Slurm(a) => slurm(a),
        Command::Report(a) => report_cmd(&a.dir),
    }
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Loads and prepares the data every planned configuration needs.
fn prepare(sweep: &SweepFile, plan: &Plan) -> Result<Prepared, InputError> {
    let mut pipelines: Vec<Pipeline> = plan.configs.iter().map(|c| Pipeline::of(&c.train)).collect();
    pipelines.dedup();
    let prepared = Prepared::load(&sweep.data, &pipelines)?;
    let rows = prepared.dataset.train.rows;
    let (train_rows, _) = sweep.data.split(&(0..rows).collect::<Vec<_>>());
    if train_rows.is_empty() {
        return Err(InputError::one(
            &sweep.path,
            None,
            Some("data"),
            format!("the validation reserve leaves no training rows out of {rows}; reserve fewer"),
        ));
    }
    Ok(prepared)
}

fn run(a: RunArgs) -> Result<u8> {
    let sweep = load_sweep(&a.file)?;
    let plan = expand(&sweep)?;
    if a.dry_run {
        print_plan(&sweep, &plan);
        return Ok(exit::OK);
    }
    let prepared = prepare(&sweep, &plan)?;
    let root = a.out.join(&sweep.name);
    if !a.force {
        sweep::check_compatible(&root, &sweep, &prepared.digest)?;
    }
    sweep::write_sweep_files(&root, &sweep, &plan, &prepared.digest)?;
    crate::exec::rundir::remove_temp_files(&root)?;
    let mut todo = sweep::pending(&root, &sweep, &plan, &prepared.digest, a.force);
    if let Some(shard) = a.exec.shard {
        todo.retain(|&i| shard.contains(i));
    }
    let skipped = plan.runs.len() - todo.len();
    if !a.exec.quiet {
        println!(
            "sweep {}: {} configurations × {} repeats = {} runs ({} already finished) → {}",
            sweep.name,
            plan.configs.len(),
            sweep.repeats,
            plan.runs.len(),
            skipped,
            root.display()
        );
    }
    train_runs(&root, &sweep, &plan, &prepared, &todo, &a.exec, a.force, a.fail_fast)
}

/// `--shard K/N`: the runs whose plan index ≡ K (mod N).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    pub fn contains(&self, index: usize) -> bool {
        index % self.n == self.k
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}`: write K/N with 0 <= K < N, e.g. --shard 0/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if n == 0 || k >= n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

/// Trains the plan's runs `todo` into `root`, then summary, plots and report.
#[allow(clippy::too_many_arguments)]
fn train_runs(
    root: &Path,
    sweep: &SweepFile,
    plan: &Plan,
    prepared: &Prepared,
    todo: &[usize],
    exec: &ExecArgs,
    retrain: bool,
    fail_fast: bool,
) -> Result<u8> {
    let opts = RunOptions { jobs: exec.jobs.unwrap_or_else(default_jobs), retrain, fail_fast, quiet: exec.quiet };
    let real = MlpTrainer { data: prepared };
    let trainer: &dyn Trainer = if exec.fake_trainer { &FakeTrainer } else { &real };
    let counts = sweep::execute(root, sweep, plan, &prepared.digest, todo, trainer, &opts)?;
    finish(root, plan, exec.quiet)?;
    Ok(report_end(root, plan, &counts, exec.quiet))
}

/// After a batch of runs: the summary, the sweep's plots and `report.html`.
/// Pictures are a convenience: failing to draw one is a warning, not a failure.
fn finish(root: &Path, plan: &Plan, quiet: bool) -> Result<()> {
    summary::write(root, plan)?;
    if let Err(e) = crate::report::plots::plot_sweep(root) {
        eprintln!("warning: sweep plots: {e:#}");
    }
    let report = crate::report::html::write_report(root)?;
    if !quiet {
        println!("report: {}", report.display());
    }
    Ok(())
}

fn report_cmd(dir: &Path) -> Result<u8> {
    let (_, plan) = open_results(dir)?;
    finish(dir, &plan, false)?;
    Ok(exit::OK)
}

fn print_plan(sweep: &SweepFile, plan: &Plan) {
    println!(
        "sweep {} ({}): {} configurations × {} repeats = {} runs",
        sweep.name,
        sweep.design.word(),
        plan.configs.len(),
        sweep.repeats,
        plan.runs.len()
    );
    let width = plan.runs.iter().map(|r| r.id.len()).max().unwrap_or(0);
    print!("{:>5}  {:<width$}  {:>20}", "index", "id", "seed");
    for a in &plan.axes {
        print!("  {a}");
    }
    println!();
    for r in &plan.runs {
        print!("{:>5}  {:<width$}  {:>20}", r.index, r.id, r.seed);
        for v in &plan.configs[r.config].axis_values {
            print!("  {v}");
        }
        println!();
    }
}

fn report_end(root: &Path, plan: &Plan, counts: &Counts, quiet: bool) -> u8 {
    let all = all_counts(root, plan);
    if !quiet {
        let mut extra = String::new();
        if counts.skipped > 0 {
            extra.push_str(&format!(", {} not started (--fail-fast)", counts.skipped));
        }
        if counts.elsewhere > 0 {
            extra.push_str(&format!(", {} left to another process", counts.elsewhere));
        }
        println!(
            "this invocation: {} done, {} diverged, {} failed{extra}",
            counts.done, counts.diverged, counts.failed
        );
        println!("summary: {}", root.join("summary.csv").display());
        if let Some(best) = summary::best_by_validation(root, plan) {
            let f = |m: Option<f64>, s: Option<f64>| match (m, s) {
                (Some(m), Some(s)) => format!("{m:.4} ± {s:.4}"),
                (Some(m), None) => format!("{m:.4}"),
                _ => "-".into(),
            };
            println!(
                "best by validation: {}  valid acc {}  → test acc {}  (n={}; chosen on validation, never on test)",
                plan.configs[best.config].id,
                f(Some(best.valid.0), best.valid.1),
                f(best.test.0, best.test.1),
                best.done
            );
        }
        if all.failed > 0 {
            println!(
                "{} runs failed: see `pinniped status {}`, retry with `pinniped rerun {} --failed`",
                all.failed,
                root.display(),
                root.display()
            );
        }
    }
    if all.failed > 0 {
        exit::RUNS_FAILED
    } else {
        exit::OK
    }
}

/// State counts over the whole plan, from disk.
fn all_counts(root: &Path, plan: &Plan) -> Counts {
    let mut c = Counts::default();
    for r in &plan.runs {
        match read_status(&run_dir(root, &r.id)).map(|s| s.state) {
            Some(State::Done) => c.done += 1,
            Some(State::Diverged) => c.diverged += 1,
            Some(State::Failed) => c.failed += 1,
            None => c.skipped += 1,
        }
    }
    c
}

/// The sweep stored in a results directory, and its plan.
fn open_results(dir: &Path) -> Result<(SweepFile, Plan)> {
    let path = dir.join(sweep::SWEEP_FILE);
    if !path.is_file() {
        return Err(InputError::one(
            dir,
            None,
            None,
            "not a pinniped results directory (no sweep.toml); give <out>/<name> of a sweep you ran",
        )
        .into());
    }
    let sweep = load_sweep(&path)?;
    let plan = expand(&sweep)?;
    Ok((sweep, plan))
}

fn status(dir: &Path) -> Result<u8> {
    let (sweep, plan) = open_results(dir)?;
    let c = all_counts(dir, &plan);
    println!(
        "{}: {} runs: {} done, {} diverged, {} failed, {} unfinished",
        sweep.name,
        plan.runs.len(),
        c.done,
        c.diverged,
        c.failed,
        c.skipped
    );
    for r in &plan.runs {
        if let Some(s) = read_status(&run_dir(dir, &r.id)) {
            if s.state != State::Done {
                println!("  {:<9} {}  {}", s.state.word(), r.id, s.message);
            }
        }
    }
    Ok(if c.failed > 0 { exit::RUNS_FAILED } else { exit::OK })
}

fn summarize(dir: &Path) -> Result<u8> {
    let (_, plan) = open_results(dir)?;
    summary::write(dir, &plan)?;
    println!("{}", dir.join("summary.csv").display());
    Ok(exit::OK)
}

fn rerun(a: RerunArgs) -> Result<u8> {
    let (sweep, plan) = open_results(&a.dir)?;
    let todo: Vec<usize> = if a.failed {
        plan.runs
            .iter()
            .filter(|r| read_status(&run_dir(&a.dir, &r.id)).is_none_or(|s| s.state == State::Failed))
            .map(|r| r.index)
            .collect()
    } else {
        let mut todo = Vec::new();
        let mut problems = Vec::new();
        for id in &a.run {
            match plan.runs.iter().find(|r| &r.id == id) {
                Some(r) => todo.push(r.index),
                None => problems.push(crate::spec::Problem {
                    file: a.dir.join("plan.csv"),
                    line: None,
                    key: None,
                    message: format!(
                        "no run `{id}` in this sweep{}",
                        crate::spec::problems::suggest(
                            id,
                            &plan.runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>()
                        )
                    ),
                }),
            }
        }
        if !problems.is_empty() {
            return Err(InputError(problems).into());
        }
        todo
    };
    crate::exec::rundir::remove_temp_files(&a.dir)?;
    let mut todo = todo;
    if let Some(shard) = a.exec.shard {
        todo.retain(|&i| shard.contains(i));
    }
    let prepared = prepare(&sweep, &plan)?;
    if !a.exec.quiet {
        println!("rerunning {} runs of {}", todo.len(), sweep.name);
    }
    train_runs(&a.dir, &sweep, &plan, &prepared, &todo, &a.exec, true, false)
}

fn slurm(a: SlurmArgs) -> Result<u8> {
    use crate::exec::slurm::{submit, write_scripts, SlurmOptions};
    let sweep = load_sweep(&a.file)?;
    let plan = expand(&sweep)?;
    if a.tasks == 0 || a.cpus_per_task == 0 || a.max_parallel == Some(0) {
        return Err(InputError::one(
            Path::new("--tasks"),
            None,
            None,
            "--tasks, --cpus-per-task and --max-parallel must be at least 1",
        )
        .into());
    }
    // Validate the data and lay out the results directory now, so that errors show
    // here rather than in N task logs, and `status` works while the array runs.
    let prepared = prepare(&sweep, &plan)?;
    let root = a.out.join(&sweep.name);
    sweep::check_compatible(&root, &sweep, &prepared.digest)?;
    sweep::write_sweep_files(&root, &sweep, &plan, &prepared.digest)?;
    summary::write(&root, &plan)?;
    let opts = SlurmOptions {
        tasks: a.tasks,
        max_parallel: a.max_parallel,
        partition: a.partition,
        time: a.time,
        cpus_per_task: a.cpus_per_task,
        only_failed: a.only_failed,
    };
    let scripts = write_scripts(&root, &sweep.name, &a.file, &a.out, &opts)?;
    println!(
        "wrote {} ({} tasks over {} runs) and {}",
        scripts.array.display(),
        a.tasks,
        plan.runs.len(),
        scripts.merge.display()
    );
    if a.submit {
        let (array, merge) = submit(&scripts)?;
        println!("submitted array job {array} and merge job {merge} (after the array)");
        println!("watch: squeue -j {array},{merge}   progress: pinniped status {}", root.display());
    } else {
        println!(
            "submit with: j=$(sbatch --parsable {}) && sbatch --dependency=afterany:$j {}",
            scripts.array.display(),
            scripts.merge.display()
        );
    }
    Ok(exit::OK)
}

fn compare_cmd(a: CompareArgs) -> Result<u8> {
    let (x, y) = (compare::read_summary(&a.a)?, compare::read_summary(&a.b)?);
    let c = compare::compare(&x, &y, &a.metric, &a.ignore)?;
    let text = if a.csv {
        compare::render_csv(&c)
    } else if a.markdown {
        compare::render_markdown(&c)
    } else {
        compare::render_table(&c)
    };
    print!("{text}");
    Ok(exit::OK)
}

fn train(a: TrainArgs) -> Result<u8> {
    let (data, mut cfg) = match &a.file {
        Some(path) => {
            let rf = parse_run_file(path, &read_source(path)?)?;
            (rf.data, rf.train)
        }
        None => (None, crate::spec::TrainConfig::default()),
    };
    let flag_path = Path::new("--flags");
    let mut data = match (data, &a.train) {
        (Some(mut d), Some(t)) => {
            d.train = t.clone();
            d
        }
        (Some(d), None) => d,
        (None, Some(t)) => crate::spec::DataConfig {
            train: t.clone(),
            test: None,
            format: None,
            class_attribute: None,
            reserve_every: None,
            reserve_fraction: None,
        },
        (None, None) => {
            return Err(InputError::one(
                flag_path,
                None,
                Some("--train"),
                "no training data: give a FILE with a [data] table, or --train PATH",
            )
            .into())
        }
    };
    if let Some(t) = &a.test {
        data.test = Some(t.clone());
    }
    if a.reserve_every.is_some() || a.reserve_fraction.is_some() {
        data.reserve_every = a.reserve_every;
        data.reserve_fraction = a.reserve_fraction;
    }
    // Flags become (key, TOML value) overrides, applied like sweep axis values.
    let mut overrides: Vec<(String, toml::Value)> = Vec::new();
    let s = |v: &Option<String>| v.as_ref().map(|v| toml::Value::String(v.clone()));
    let f = |v: Option<f64>| v.map(toml::Value::Float);
    let i = |v: Option<usize>| v.map(|v| toml::Value::Integer(v as i64));
    let hidden = a.hidden.as_ref().map(|h| {
        let items: Result<Vec<toml::Value>, _> = h
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|x| x.parse::<i64>().map(toml::Value::Integer))
            .collect();
        items.map(toml::Value::Array)
    });
    let hidden = match hidden {
        Some(Err(_)) => {
            return Err(InputError::one(
                flag_path,
                None,
                Some("--hidden"),
                "give comma-separated widths, e.g. --hidden 64 or --hidden 32,32",
            )
            .into())
        }
        Some(Ok(v)) => Some(v),
        None => None,
    };
    for (key, value) in [
        ("hidden", hidden),
        ("activation", s(&a.activation)),
        ("learning_rate", f(a.learning_rate)),
        ("batch_size", i(a.batch_size)),
        ("momentum", f(a.momentum)),
        ("momentum_rule", s(&a.momentum_rule)),
        ("loss", s(&a.loss)),
        ("init", s(&a.init)),
        ("epochs", i(a.epochs)),
        ("dtype", s(&a.dtype)),
        ("seed", a.seed.map(|v| toml::Value::Integer(v as i64))),
        ("save_every", i(a.save_every)),
    ] {
        if let Some(v) = value {
            overrides.push((key.to_string(), v));
        }
    }
    for kv in &a.set {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(InputError::one(
                flag_path,
                None,
                Some("--set"),
                format!("`{kv}`: write KEY=VALUE, e.g. --set weight_decay=0.01"),
            )
            .into());
        };
        let value: toml::Value = format!("v = {v}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(v.to_string()));
        overrides.push((k.trim().to_string(), value));
    }
    let mut problems = Vec::new();
    let known = crate::spec::TrainConfig::keys();
    for (key, value) in overrides {
        if !known.contains(&key) {
            let k: Vec<&str> = known.iter().map(String::as_str).collect();
            problems.push(crate::spec::Problem {
                file: flag_path.into(),
                line: None,
                key: Some(key.clone()),
                message: format!("unknown key{}", crate::spec::problems::suggest(&key, &k)),
            });
            continue;
        }
        match with_value(&cfg, &key, &value) {
            Ok(c) => cfg = c,
            Err(m) => {
                problems.push(crate::spec::Problem { file: flag_path.into(), line: None, key: Some(key), message: m })
            }
        }
    }
    if let Some(key) = cfg.needs_validation().filter(|_| !data.has_validation()) {
        problems.push(crate::spec::Problem {
            file: flag_path.into(),
            line: None,
            key: Some(key.into()),
            message: "needs a validation set: give --reserve-every or --reserve-fraction".into(),
        });
    }
    for (key, m) in cfg.problems().into_iter().chain(data.problems()) {
        problems.push(crate::spec::Problem { file: flag_path.into(), line: None, key: Some(key.into()), message: m });
    }
    if !problems.is_empty() {
        return Err(InputError(problems).into());
    }

    let prepared = Prepared::load(&data, &[Pipeline::of(&cfg)])?;
    let dir = &a.out;
    crate::exec::rundir::reset(dir).with_context(|| format!("cannot prepare {}", dir.display()))?;
    let spec = RunSpec::new("train".into(), cfg.seed, cfg.clone(), data, &prepared.digest);
    let quiet = a.quiet;
    let mut progress = |epoch: usize, valid: Option<f64>| {
        if !quiet && (epoch.is_multiple_of(16) || epoch == cfg.epochs) {
            eprintln!("epoch {epoch:>4}/{}  valid acc {}", cfg.epochs, valid.map_or("-".into(), |v| format!("{v:.4}")));
        }
    };
    let status = MlpTrainer { data: &prepared }.train(&spec, dir, &mut progress)?;
    let rec = summary::read_run(dir);
    let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
    println!(
        "{}: {} after {} epochs in {:.2}s  train acc {}  valid acc {}  test acc {}",
        dir.display(),
        status.state.word(),
        status.epoch,
        status.seconds,
        f(rec.final_accs[0]),
        f(rec.final_accs[1]),
        f(rec.final_accs[2])
    );
    if !status.message.is_empty() {
        println!("{}", status.message);
    }
    Ok(exit::OK)
}

fn eval(a: EvalArgs) -> Result<u8> {
    let ckpt = checkpoint::load(&a.model).map_err(|e| InputError::message(format!("{e:#}")))?;
    let meta = &ckpt.meta;
    let cfg: crate::spec::TrainConfig = toml::from_str(&meta.config)
        .map_err(|e| InputError::one(&a.model, None, None, format!("the checkpoint's config does not parse: {e}")))?;
    let format = match a.format.as_deref() {
        Some(f) => {
            Some(f.parse::<crate::data::Format>().map_err(|e| InputError::one(&a.data, None, None, e.to_string()))?)
        }
        None => None,
    };
    let split = crate::data::load_with_classes(&a.data, format, None, &meta.classes, meta.raw_cols).map_err(|e| {
        InputError::message(format!(
            "{e} (the model was trained on series of {} values and {} classes)",
            meta.raw_cols,
            meta.classes.len()
        ))
    })?;
    let mut x = Pipeline::of(&cfg)
        .apply(split.x, meta.raw_cols)
        .map_err(|e| InputError::one(&a.model, None, None, e.to_string()))?;
    let inputs = ckpt.mlp.dims()[0];
    if let Some((mean, std)) = &ckpt.standardization {
        crate::features::spectral::standardize_apply(&mut x, inputs, mean, std);
    }
    let predicted = match &ckpt.mlp {
        AnyMlp::F32(m) => predict(m, &x, split.rows),
        AnyMlp::F64(m) => predict(m, &x, split.rows),
    };
    let classes = meta.classes.len();
    let m = crate::train::diagnostics::confusion(&split.y, &predicted, classes);
    let hits: u32 = (0..classes).map(|c| m[c * classes + c]).sum();
    let acc = hits as f64 / split.rows as f64;
    if a.csv {
        println!("accuracy,hits,rows");
        println!("{acc},{hits},{}", split.rows);
        println!();
        print!("actual");
        for c in &meta.classes {
            print!(",{c}");
        }
        println!();
        for (r, row) in m.chunks_exact(classes).enumerate() {
            print!("{}", meta.classes[r]);
            for v in row {
                print!(",{v}");
            }
            println!();
        }
    } else {
        println!("TEST: {hits}/{} ({acc})", split.rows);
        print!("{}", sparse_confusion(&m, classes));
    }
    Ok(exit::OK)
}

fn predict<T: Real>(mlp: &Mlp<T>, x: &[f64], rows: usize) -> Vec<usize> {
    let x: Vec<T> = x.iter().map(|&v| T::of(v)).collect();
    let mut ws = crate::train::Workspace::new(mlp, rows);
    argmax_rows(ws.forward(mlp, &x, rows), mlp.classes()).collect()
}

/// The paper's §2.3 layout: zeros blank, hits `+n`, misses `-n`.
pub fn sparse_confusion(m: &[u32], classes: usize) -> String {
    let width = m.iter().max().map_or(1, |v| v.to_string().len());
    let mut s = String::new();
    for r in 0..classes {
        s.push('|');
        for c in 0..classes {
            let v = m[r * classes + c];
            if v == 0 {
                s.push_str(&" ".repeat(width + 1));
            } else {
                s.push(if r == c { '+' } else { '-' });
                s.push_str(&format!("{v:>width$}"));
            }
            s.push('|');
        }
        s.push('\n');
    }
    s
}
