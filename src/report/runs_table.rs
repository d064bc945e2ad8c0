//! `runs.csv`: one row per planned run (plan order), the plan's fields beside the run's result,
//! so that `pandas.read_csv("runs.csv")` holds the whole sweep without walking `runs/`.
//! Computed from the same [`Records`] as summary.csv (the live file and `summarize`'s are the
//! same bytes).
//!
//! `fold` is empty for a holdout split. `status` is `done`, `diverged`, `failed` or `pending` (no `status.json` yet: not run, or still
//! training). `epoch` and `seconds` come from `status.json` for every finished run; the accuracy
//! columns only for `done` runs (a diverged or failed run returns no model), so that grouping the
//! `done` rows by `config` gives summary.csv's means.

use super::csv_number;
use super::summary::Records;
use crate::results::rundir::State;
use crate::spec::Plan;

pub(crate) use crate::results::layout::RUNS_FILE;

/// The columns before the axes.
pub(crate) const PLAN_COLUMNS: [&str; 8] =
    ["index", "id", "config", "repeat", "repetition", "fold", "seed", "split_seed"];
/// The columns after the axes.
pub(crate) const RESULT_COLUMNS: [&str; 10] = [
    "status",
    "epoch",
    "seconds",
    "final_train_acc",
    "final_valid_acc",
    "final_test_acc",
    "best_valid_acc",
    "best_epoch",
    "test_acc_at_best_valid",
    "message",
];

/// The text of `runs.csv`.
pub(crate) fn runs_csv(records: &Records, plan: &Plan) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = PLAN_COLUMNS.iter().copied().chain(plan.axes.iter().map(String::as_str)).chain(RESULT_COLUMNS);
    // Writing CSV into memory cannot fail.
    w.write_record(header).expect("in memory");
    let number = |v: Option<f64>| v.filter(|v| v.is_finite()).map_or(String::new(), csv_number);
    let default = Default::default();
    for run in &plan.runs {
        let rec = records.runs.get(run.index).unwrap_or(&default);
        let mut row = vec![
            run.index.to_string(),
            run.id.clone(),
            plan.configs[run.config].id.clone(),
            run.repeat.to_string(),
            run.repetition.to_string(),
            run.fold.map_or(String::new(), |f| f.to_string()),
            run.seed.to_string(),
            run.split_seed.to_string(),
        ];
        row.extend(plan.configs[run.config].axis_values.iter().cloned());
        let done = rec.state == Some(State::Done);
        let result = |v: Option<f64>| number(v.filter(|_| done));
        row.extend([
            rec.state.map_or("pending", State::word).to_string(),
            rec.epoch.filter(|_| rec.state.is_some()).map_or(String::new(), |e| e.to_string()),
            number(rec.seconds.filter(|_| rec.state.is_some())),
            result(rec.final_accs.train),
            result(rec.final_accs.valid),
            result(rec.final_accs.test),
            result(rec.best_valid),
            result(rec.best_epoch),
            result(rec.test_at_best),
            rec.message.clone(),
        ]);
        w.write_record(&row).expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("CSV of UTF-8 fields")
}
