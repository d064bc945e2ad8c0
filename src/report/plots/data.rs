//! What the plots take from a results directory besides the records and tables that
//! `results` reads: the sweep's name, design and axis order (from the stored sweep, read by
//! `spec`'s own parser) and a run's title (from its `config.toml`, `results::run_config`).

use crate::spec::config::format_value;
use crate::spec::SweepFile;
use std::path::Path;

/// What the plots need from a sweep's resolved `sweep.toml`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SweepSpec {
    pub name: Option<String>,
    /// `grid`, `one-at-a-time`, or another design (`spec::design`); `None` when the stored
    /// design does not name one.
    pub design: Option<String>,
    /// Each axis's values in the order the sweep lists them, formatted like `plan.csv`.
    pub axes: Vec<(String, Vec<String>)>,
}

impl SweepSpec {
    /// The view of a parsed stored sweep: a grid or one-at-a-time design's axes, else the
    /// lists of the `[sweep]` table as written (its choices).
    pub fn of(sweep: &SweepFile) -> Self {
        let (design, axes) = match &sweep.space.stated {
            None => (
                Some(sweep.design.word().to_owned()),
                sweep.axes.iter().map(|a| (a.key.clone(), a.values.iter().map(format_value).collect())).collect(),
            ),
            Some(stated) => (
                stated.get("design").and_then(|v| v.as_str()).map(str::to_owned),
                stated
                    .iter()
                    // `zip`, `[[sweep.point]]` and `[[sweep.block]]` are lists too, but not axes.
                    .filter(|(k, _)| !["zip", "point", "block"].contains(&k.as_str()))
                    .filter_map(|(k, v)| Some((k.clone(), v.as_array()?.iter().map(format_value).collect())))
                    .collect(),
            ),
        };
        SweepSpec { name: Some(sweep.name.clone()), design, axes }
    }
}

/// The stored `sweep.toml` of `sweep_dir`, or the default (no name, no design) when it is
/// absent or does not parse: the plots then fall back to the plan's own order and marginalising.
pub(crate) fn read_sweep_spec(sweep_dir: &Path) -> SweepSpec {
    crate::spec::load_stored_sweep(&sweep_dir.join(crate::results::layout::SWEEP_FILE))
        .map(|s| SweepSpec::of(&s))
        .unwrap_or_default()
}

/// A run's `[train]` as a short title: `h=64 sigmoid lr=0.001 bs=160 m=0.0`.
pub(crate) fn run_title(run_dir: &Path) -> Option<String> {
    let train = crate::results::run_config::read_train_table(run_dir)?;
    let mut parts = Vec::new();
    // A conv model's config has `model` (an MLP's leaves it out): its family and filters
    // instead of the MLP's hidden layers and activation.
    let keys: &[(&str, &str)] = match train.get("model") {
        Some(_) => {
            &[("model", ""), ("filters", "f="), ("optimizer", ""), ("learning_rate", "lr="), ("batch_size", "bs=")]
        }
        None => {
            &[("hidden", "h="), ("activation", ""), ("learning_rate", "lr="), ("batch_size", "bs="), ("momentum", "m=")]
        }
    };
    for &(key, prefix) in keys {
        if let Some(v) = train.get(key) {
            parts.push(format!("{prefix}{}", format_value(v)));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}
