//! `pinniped train [FILE]`: one configuration, from a file with `[data]` and `[train]`
//! and/or flags. Flags become `[train]` keys with TOML values, checked by the validator
//! of sweep files (`spec::sweep::apply_train_keys`, `TrainConfig::problems`): a bad flag
//! value is refused in the words a bad key in a sweep file is.

use super::args::TrainArgs;
use super::error::{exit, AppError};
use super::prepare::check_folds;
use crate::exec::trainer::{MlpTrainer, RunSpec, Trainer};
use crate::features::{Pipeline, Prepared};
use crate::report::summary;
use crate::spec::problems::echo;
use crate::spec::sweep::{apply_train_keys, parse_run_file, read_source};
use crate::spec::{DataConfig, InputError, Problem, TrainConfig};
use anyhow::Context;
use std::path::Path;

/// Where problems with flags are said to be.
const FLAGS: &str = "--flags";

fn flag_problem(key: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem { file: FLAGS.into(), line: None, key: Some(key.into()), message: message.into() }
}

/// The `--train` file alone, every other `[data]` key unset.
fn data_of(train: &Path) -> DataConfig {
    DataConfig {
        train: train.to_path_buf(),
        test: None,
        format: None,
        class_attribute: None,
        reserve_every: None,
        reserve_fraction: None,
        length: None,
        series_length: None,
        missing: None,
        resample: None,
        folds: None,
        stratify: None,
    }
}

/// The `[train]` keys the flags set, in the order they apply (`--set` last), as TOML values.
fn flag_overrides(a: &TrainArgs) -> Result<Vec<(String, toml::Value)>, InputError> {
    let mut overrides: Vec<(String, toml::Value)> = Vec::new();
    let s = |v: &Option<String>| v.as_ref().map(|v| toml::Value::String(v.clone()));
    let f = |v: Option<f64>| v.map(toml::Value::Float);
    let i = |v: Option<usize>| v.map(|v| toml::Value::Integer(v as i64));
    let hidden = a.hidden.as_ref().map(|h| {
        // "" is a linear model; an empty piece elsewhere ("4,,4", "4,") is a typo, not a layer.
        if h.trim().is_empty() {
            return Ok(toml::Value::Array(Vec::new()));
        }
        let items: Result<Vec<toml::Value>, _> =
            h.split(',').map(str::trim).map(|x| x.parse::<i64>().map(toml::Value::Integer)).collect();
        items.map(toml::Value::Array)
    });
    let hidden = match hidden {
        Some(Err(_)) => {
            return Err(InputError::one(
                Path::new(FLAGS),
                None,
                Some("--hidden"),
                "give comma-separated widths, e.g. --hidden 64 or --hidden 32,32",
            ))
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
                Path::new(FLAGS),
                None,
                Some("--set"),
                format!("`{}`: write KEY=VALUE, e.g. --set weight_decay=0.01", echo(kv)),
            ));
        };
        // One TOML value, else the text as a string ("relu"); never more keys smuggled in
        // after a newline ("1\nhidden = [4]").
        let value: toml::Value = format!("v = {v}")
            .parse::<toml::Table>()
            .ok()
            .filter(|t| t.len() == 1)
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(v.to_string()));
        overrides.push((k.trim().to_string(), value));
    }
    Ok(overrides)
}

pub fn train(a: TrainArgs) -> Result<u8, AppError> {
    let (data, cfg, split) = match &a.file {
        Some(path) => {
            let rf = parse_run_file(path, &read_source(path)?)?;
            (rf.data, rf.train, rf.split)
        }
        None => (None, TrainConfig::default(), None),
    };
    let flag_path = Path::new(FLAGS);
    let mut data = match (data, &a.train) {
        (Some(mut d), Some(t)) => {
            d.train = t.clone();
            d
        }
        (Some(d), None) => d,
        (None, Some(t)) => data_of(t),
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
    // Flags are relative to the working directory; what is stored must not be.
    data.train = std::path::absolute(&data.train).unwrap_or(data.train);
    data.test = data.test.map(|t| std::path::absolute(&t).unwrap_or(t));
    if a.reserve_every.is_some() || a.reserve_fraction.is_some() {
        data.reserve_every = a.reserve_every;
        data.reserve_fraction = a.reserve_fraction;
    }
    // Flags become (key, TOML value) overrides, checked as a sweep file's [train] keys are.
    let overrides = flag_overrides(&a)?;
    let (cfg, key_problems) = apply_train_keys(cfg, overrides.iter().map(|(k, v)| (k.as_str(), v)));
    let mut problems: Vec<Problem> = key_problems.into_iter().map(|(key, m)| flag_problem(key, m)).collect();
    if let Some(key) = cfg.needs_validation().filter(|_| !data.has_validation()) {
        problems.push(flag_problem(key, "needs a validation set: give --reserve-every or --reserve-fraction"));
    }
    for (key, m) in cfg.problems().into_iter().chain(data.problems()) {
        problems.push(flag_problem(key, m));
    }
    if !problems.is_empty() {
        return Err(InputError(problems).into());
    }

    let prepared = Prepared::load(&data, &[Pipeline::of(&cfg)])?;
    prepared.check_memory(a.file.as_deref().unwrap_or(flag_path), &data, [(String::new(), &cfg)])?;
    check_folds(a.file.as_deref().unwrap_or(flag_path), &data, prepared.dataset.train.rows)?;
    let dir = &a.out;
    // Never empty a directory the user typed: only an earlier train output is replaced.
    crate::results::rundir::check_train_out(dir).map_err(|why| InputError::one(dir, None, Some("--out"), why))?;
    crate::results::rundir::reset(dir, dir).with_context(|| format!("cannot prepare {}", dir.display()))?;
    crate::results::atomic::write_atomic(
        &dir.join(crate::results::rundir::TRAIN_MARKER),
        crate::results::rundir::TRAIN_MARKER_TEXT.as_bytes(),
    )?;
    let split = split.unwrap_or(crate::spec::Split::own(cfg.schedule.seed));
    let spec = RunSpec::new("train".into(), cfg.schedule.seed, split, cfg.clone(), data, &prepared.digest);
    let quiet = a.quiet;
    let mut progress = |m: &crate::train::EpochMetrics| {
        let (epoch, valid) = (m.epoch, m.sets.valid.map(|s| s.acc));
        if !quiet && (epoch.is_multiple_of(16) || epoch == cfg.schedule.epochs) {
            errln!(
                "epoch {epoch:>4}/{}  valid acc {}",
                cfg.schedule.epochs,
                valid.map_or("-".into(), |v| format!("{v:.4}"))
            );
        }
    };
    let status = MlpTrainer::new(&prepared).train(&spec, dir, &mut progress)?;
    let rec = summary::read_run(dir);
    let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
    outln!(
        "{}: {} after {} epochs in {:.2}s  train acc {}  valid acc {}  test acc {}",
        dir.display(),
        status.state.word(),
        status.epoch,
        status.seconds,
        f(rec.final_accs.train),
        f(rec.final_accs.valid),
        f(rec.final_accs.test)
    );
    if !status.message.is_empty() {
        outln!("{}", status.message);
    }
    Ok(exit::OK)
}
