//! The files of a results directory, each with one owner: its name, schema, writer and
//! reader. [`layout`] names every file and checks the paths to them (the schema version every
//! file belongs to is `spec::schema`'s); [`atomic`] writes; [`rundir`] is a run's directory and
//! `status.json`; [`run_config`] a run's `config.toml`;
//! [`plan`] is `plan.csv`; [`rungs`] successive halving's `rungs.csv`; [`data_digest`] `data.sha256`; [`metrics`] a run's `metrics.csv`; [`node_tables`] and
//! [`diagnostics`] its per-node tables (gzip CSV); [`predictions`] its `predictions.npz`; [`cams`] a conv run's class activation maps; [`events`] the event log (`events.jsonl`);
//! [`summary_file`] `summary.csv`'s columns and reader; [`comparisons_file`] those of
//! `comparisons.csv` and `selection.csv`; [`table`] the CSV reading rules they share. The summaries' statistics are computed in `report` from the records these readers give.

pub(crate) mod atomic;
pub(crate) mod cams;
pub(crate) mod comparisons_file;
pub(crate) mod data_digest;
pub mod diagnostics;
pub mod events;
pub mod layout;
pub mod metrics;
pub(crate) mod node_tables;
pub mod plan;
pub mod predictions;
pub(crate) mod run_config;
pub(crate) mod rundir;
pub(crate) mod rungs;
pub(crate) mod summary_file;
pub mod table;

/// A float as every CSV pinniped writes it: the shortest text that parses back to the
/// same value, in exponent form for very large or small magnitudes (a diverged loss is
/// `8.742122469506462e48`, not 49 digits).
pub(crate) fn csv_number(v: f64) -> String {
    let magnitude = v.abs();
    if v.is_finite() && v != 0.0 && !(1e-5..1e16).contains(&magnitude) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}
