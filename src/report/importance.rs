//! `importance.csv`: how much each axis of a sweep moves the final validation accuracy (of the
//! model each run returns), judged against the seed-to-seed spread. Computed from the same
//! [`Records`] as summary.csv, so the live file and `summarize`'s are the same bytes.
//!
//! Only `done` runs with a finite validation accuracy count (a diverged or failed run has no
//! result); the levels of an axis are its distinct values in the plan, in sweep order.
//!
//! - **Grid**: the main-effects ANOVA of [`anova_main_effects`] (statsmodels `typ=2`, pinned in
//!   `stats::anova`): one row per axis (`levels`, `sum_sq`, `df`, `share` = SS / total SS, `F`
//!   and `p` against the residual), then `interactions` (all of them together) and `residual`
//!   (the seed-to-seed error; with one run per configuration the interactions stand in for it).
//! - **One-at-a-time**: per axis, the configurations along it (the baseline and those differing
//!   from it on this axis only). `range` = the highest minus the lowest of their mean validation
//!   accuracies (summary.csv's `final_valid_acc_mean`); `pooled_std` = √(Σ (n_c − 1)·s_c² /
//!   Σ (n_c − 1)) over the same configurations (n_c done runs, s_c their sample std, as in
//!   summary.csv), with `pooled_df` = Σ (n_c − 1); `range_over_std` = range / pooled_std.
//!
//! What cannot be computed (one level, no residual degrees of freedom, a configuration with no
//! done run, no validation set) is an empty cell, and the row's `note` says why.

use super::csv_number;
use super::stats::mean_std;
use super::summary::Records;
use crate::results::rundir::State;
use crate::spec::{Design, Plan};
use crate::stats::anova::{anova_main_effects, AnovaError, Effect, Observation};
use anyhow::Context;
use std::path::Path;

pub(crate) use crate::results::layout::IMPORTANCE_FILE;

/// Header of a grid's `importance.csv`.
pub(crate) const GRID_COLUMNS: [&str; 8] = ["term", "levels", "sum_sq", "df", "share", "F", "p", "note"];
/// Header of a one-at-a-time design's `importance.csv`.
pub(crate) const ONE_AT_A_TIME_COLUMNS: [&str; 10] = [
    "axis",
    "levels",
    "runs",
    "range",
    "worst_value",
    "best_value",
    "pooled_std",
    "pooled_df",
    "range_over_std",
    "note",
];

/// The score every analysis here uses, per planned run: the final validation accuracy of a
/// `done` run (the kept model's, as summary.csv averages it), `None` for any other run.
fn scores(records: &Records, plan: &Plan) -> Vec<Option<f64>> {
    plan.runs
        .iter()
        .map(|run| {
            let rec = records.runs.get(run.index)?;
            rec.final_accs.valid.filter(|v| v.is_finite() && rec.state == Some(State::Done))
        })
        .collect()
}

/// Per axis, its distinct values in plan order (= sweep order), and per configuration the index
/// of its value on each axis.
fn axis_levels(plan: &Plan) -> (Vec<Vec<&str>>, Vec<Vec<usize>>) {
    let mut levels: Vec<Vec<&str>> = vec![Vec::new(); plan.axes.len()];
    let config_levels = plan
        .configs
        .iter()
        .map(|c| {
            c.axis_values
                .iter()
                .zip(levels.iter_mut())
                .map(|(v, seen)| {
                    seen.iter().position(|s| s == v).unwrap_or_else(|| {
                        seen.push(v);
                        seen.len() - 1
                    })
                })
                .collect()
        })
        .collect();
    (levels, config_levels)
}

/// The text of `importance.csv` (header by design, see the module doc).
pub(crate) fn importance_csv(records: &Records, plan: &Plan) -> String {
    let scores = scores(records, plan);
    let (header, rows): (&[&str], Vec<Vec<String>>) = match plan.design {
        Design::Grid => (&GRID_COLUMNS, grid_rows(plan, &scores)),
        Design::OneAtATime => (&ONE_AT_A_TIME_COLUMNS, one_at_a_time_rows(plan, &scores)),
        other => (&GRID_COLUMNS, not_analysed_rows(plan, other)),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing CSV into memory cannot fail.
    w.write_record(header).expect("in memory");
    for row in rows {
        w.write_record(&row).expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("CSV of UTF-8 fields")
}

fn number(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite()).map_or(String::new(), csv_number)
}

/// How many planned runs the analysis leaves out, as a clause for a note ("" when none).
fn excluded_clause(scores: &[Option<f64>]) -> String {
    match scores.iter().filter(|s| s.is_none()).count() {
        0 => String::new(),
        n => format!("; {n} of {} planned runs left out (not done, or no validation accuracy)", scores.len()),
    }
}

/// Random, quasi-random, list and block designs are not factorial: one row per key, numbers
/// empty, the note saying why.
fn not_analysed_rows(plan: &Plan, design: Design) -> Vec<Vec<String>> {
    let (levels, _) = axis_levels(plan);
    let note = format!(
        "no ANOVA: a {} design is not a full grid (importance.csv analyses grid and one-at-a-time designs)",
        design.word()
    );
    plan.axes
        .iter()
        .zip(&levels)
        .map(|(axis, l)| {
            let mut row = vec![String::new(); GRID_COLUMNS.len()];
            (row[0], row[1], row[7]) = (axis.clone(), l.len().to_string(), note.clone());
            row
        })
        .collect()
}

fn grid_rows(plan: &Plan, scores: &[Option<f64>]) -> Vec<Vec<String>> {
    if plan.axes.is_empty() {
        return Vec::new();
    }
    let (levels, config_levels) = axis_levels(plan);
    let counts: Vec<usize> = levels.iter().map(Vec::len).collect();
    // Zipped axes (or values that coincide) leave cells of the product empty by design.
    let cells = counts.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n));
    if cells.is_none_or(|cells| cells > plan.configs.len()) {
        let note = "no ANOVA: the configurations are not the full product of the axes' values (zipped axes)";
        return plan
            .axes
            .iter()
            .zip(&counts)
            .map(|(axis, n)| {
                let mut row = vec![String::new(); GRID_COLUMNS.len()];
                (row[0], row[1], row[7]) = (axis.clone(), n.to_string(), note.to_string());
                row
            })
            .collect();
    }
    let obs: Vec<Observation> = plan
        .runs
        .iter()
        .zip(scores)
        .filter_map(|(run, s)| Some(Observation { levels: config_levels[run.config].clone(), value: (*s)? }))
        .collect();
    let excluded = excluded_clause(scores);
    let anova = match anova_main_effects(&counts, &obs) {
        Ok(a) => a,
        Err(e) => {
            let why = match e {
                AnovaError::MissingCell(cell) => {
                    let id = config_levels
                        .iter()
                        .position(|l| *l == cell)
                        .map_or_else(|| format!("{cell:?}"), |c| plan.configs[c].id.clone());
                    format!("no ANOVA: configuration {id} has no done run with a validation accuracy")
                }
                other => format!("no ANOVA: {other}"),
            };
            let note = format!("{why}{excluded}");
            // Every row the file would have, its numbers empty.
            let blank = |term: &str, levels: String| {
                let mut row = vec![String::new(); GRID_COLUMNS.len()];
                (row[0], row[1], row[7]) = (term.to_string(), levels, note.clone());
                row
            };
            let mut rows: Vec<Vec<String>> =
                plan.axes.iter().zip(&counts).map(|(axis, n)| blank(axis, n.to_string())).collect();
            rows.push(blank("residual", String::new()));
            return rows;
        }
    };
    // Why an F test is missing, in the words of the analysis that was done.
    let untested = |e: &Effect, no_df: &str| {
        if e.f.is_some() {
            ""
        } else if e.df <= 0.0 {
            no_df
        } else if anova.residual.df <= 0.0 {
            "no F test: no residual degrees of freedom"
        } else {
            "no F test: zero residual variation (every run of a configuration scored the same)"
        }
        .to_string()
    };
    let row = |term: &str, levels: String, e: &Effect, note: String| {
        vec![
            term.to_string(),
            levels,
            number(Some(e.ss)),
            number(Some(e.df)),
            number(Some(e.share)),
            number(e.f),
            number(e.p),
            note,
        ]
    };
    let mut rows: Vec<Vec<String>> = plan
        .axes
        .iter()
        .zip(&counts)
        .zip(&anova.axes)
        .map(|((axis, n), e)| row(axis, n.to_string(), e, untested(e, "one level: nothing to compare")))
        .collect();
    if let Some(inter) = anova.interactions.filter(|_| plan.axes.len() > 1) {
        rows.push(row(
            "interactions",
            String::new(),
            &inter,
            untested(&inter, "no interactions: fewer than two axes with several levels"),
        ));
    }
    let what = if anova.interactions.is_some() {
        format!(
            "within-configuration (repeat-to-repeat) error: {} runs in {} configurations",
            obs.len(),
            plan.configs.len()
        )
    } else {
        "one run per configuration: the interactions stand in for the within-configuration error".to_string()
    };
    let balance = if anova.balanced { "" } else { "; unequal runs per configuration: unweighted-means analysis" };
    rows.push(row("residual", String::new(), &anova.residual, format!("{what}{balance}{excluded}")));
    rows
}

fn one_at_a_time_rows(plan: &Plan, scores: &[Option<f64>]) -> Vec<Vec<String>> {
    // Per configuration, its scores in plan order (the order summary.csv's mean adds them in).
    let mut per_config: Vec<Vec<f64>> = vec![Vec::new(); plan.configs.len()];
    for (run, s) in plan.runs.iter().zip(scores) {
        per_config[run.config].extend(*s);
    }
    let baseline = plan.configs.iter().position(|c| c.id == "baseline");
    plan.axes
        .iter()
        .enumerate()
        .map(|(a, axis)| {
            // The baseline and the configurations that differ from it on this axis only.
            let members: Vec<usize> = match baseline {
                Some(b) => {
                    let base = &plan.configs[b].axis_values;
                    (0..plan.configs.len())
                        .filter(|&c| {
                            plan.configs[c]
                                .axis_values
                                .iter()
                                .zip(base)
                                .enumerate()
                                .all(|(i, (v, bv))| i == a || v == bv)
                        })
                        .collect()
                }
                None => Vec::new(),
            };
            one_axis_row(plan, axis, a, &members, &per_config)
        })
        .collect()
}

fn one_axis_row(plan: &Plan, axis: &str, a: usize, members: &[usize], per_config: &[Vec<f64>]) -> Vec<String> {
    let mut means: Vec<(f64, &str)> = Vec::new();
    let (mut pooled_ss, mut pooled_df, mut runs) = (0.0, 0usize, 0usize);
    for &c in members {
        let values = &per_config[c];
        runs += values.len();
        let (mean, std) = mean_std(values);
        if let Some(mean) = mean {
            means.push((mean, &plan.configs[c].axis_values[a]));
        }
        if let Some(std) = std {
            pooled_ss += (values.len() - 1) as f64 * std * std;
            pooled_df += values.len() - 1;
        }
    }
    let mut notes: Vec<String> = Vec::new();
    let without = members.len() - means.len();
    if without > 0 {
        notes
            .push(format!("{without} of {} configurations have no done run with a validation accuracy", members.len()));
    }
    // Ties keep the first value in sweep order (the baseline first).
    let worst = means
        .iter()
        .fold(None, |w: Option<(f64, &str)>, &(m, v)| if w.is_some_and(|(wm, _)| wm <= m) { w } else { Some((m, v)) });
    let best = means
        .iter()
        .fold(None, |b: Option<(f64, &str)>, &(m, v)| if b.is_some_and(|(bm, _)| bm >= m) { b } else { Some((m, v)) });
    let range = match (worst, best) {
        _ if members.len() < 2 => {
            notes.push("one level: the axis has no value other than the baseline's".into());
            None
        }
        (Some(w), Some(b)) if means.len() >= 2 => Some(b.0 - w.0),
        _ => {
            notes.push("fewer than two configurations to compare".into());
            None
        }
    };
    let pooled_std = (pooled_df > 0).then(|| (pooled_ss / pooled_df as f64).sqrt());
    if pooled_df == 0 {
        notes.push("no within-configuration spread: one run per configuration".into());
    }
    let ratio = match (range, pooled_std) {
        (Some(r), Some(s)) if s > 0.0 => Some(r / s),
        (Some(_), Some(_)) => {
            notes.push("no ratio: zero spread (every run of a configuration scored the same)".into());
            None
        }
        _ => None,
    };
    let value = |x: Option<(f64, &str)>| {
        if range.is_some() {
            x.map_or(String::new(), |(_, v)| v.to_string())
        } else {
            String::new()
        }
    };
    vec![
        axis.to_string(),
        members.len().to_string(),
        runs.to_string(),
        number(range),
        value(worst),
        value(best),
        number(pooled_std),
        if pooled_df > 0 { pooled_df.to_string() } else { String::new() },
        number(ratio),
        notes.join("; "),
    ]
}

/// `importance.csv` as written, for the figure and report.html.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ImportanceTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Reads `importance.csv`; `None` when it is absent (a directory made before it existed).
pub(crate) fn read_importance(path: &Path) -> anyhow::Result<Option<ImportanceTable>> {
    let text = match crate::fsx::read_own_text(path, crate::fsx::MAX_TEXT_BYTES) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let mut read = || -> Result<ImportanceTable, csv::Error> {
        let header = reader.headers()?.iter().map(str::to_owned).collect();
        let rows =
            reader.records().map(|r| Ok(r?.iter().map(str::to_owned).collect())).collect::<Result<_, csv::Error>>()?;
        Ok(ImportanceTable { header, rows })
    };
    read().map(Some).with_context(|| format!("reading {}", path.display()))
}

/// The report's "Importance" section: what was computed, `importance.csv` as a table (numbers
/// rounded for reading, the file keeps them exact) and `plots/importance.png` when drawn.
pub(crate) fn html_section(sweep_dir: &Path, html: &mut String) {
    use super::html::{escape, url_path};
    use std::fmt::Write as _;
    html.push_str("<h2>Importance</h2>\n");
    // The section is one part of the page: an unreadable file is said, not a failed report.
    let table = match read_importance(&sweep_dir.join(IMPORTANCE_FILE)) {
        Ok(Some(table)) => table,
        Ok(None) => {
            html.push_str("<p>No <code>importance.csv</code> yet.</p>\n");
            return;
        }
        Err(e) => {
            let _ = writeln!(html, "<p>{}</p>", escape(&format!("{e:#}")));
            return;
        }
    };
    let grid = table.header.iter().any(|h| h == "share");
    html.push_str(if grid {
        "<p>Main-effects ANOVA of the final validation accuracy of the done runs: each axis's sum of \
         squares, its share of the total, and F and p against the residual (the seed-to-seed error).</p>\n"
    } else {
        "<p>Per axis, the range (highest − lowest) of the mean final validation accuracy of the \
         configurations along it, baseline included, against the pooled within-configuration standard \
         deviation of those configurations.</p>\n"
    });
    html.push_str("<div class=\"wide\"><table>\n<thead><tr>");
    for h in &table.header {
        let _ = write!(html, "<th>{}</th>", escape(&h.replace('_', " ")));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        html.push_str("<tr>");
        for (h, cell) in table.header.iter().zip(row) {
            // Axis values (worst/best value) and counts stay as written.
            let measured = ["sum_sq", "share", "F", "p", "range", "pooled_std", "range_over_std"].contains(&h.as_str());
            let shown = match cell.parse::<f64>() {
                Ok(v) if measured && h == "share" => format!("{:.1}%", 100.0 * v),
                Ok(v) if measured && v != 0.0 && v.abs() < 0.001 => format!("{v:.2e}"),
                Ok(v) if measured => format!("{v:.4}"),
                _ => cell.clone(),
            };
            let class = if cell.parse::<f64>().is_ok() { " class=\"num\"" } else { "" };
            let _ = write!(html, "<td{class}>{}</td>", escape(&shown));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table></div>\n");
    let figure = format!("{}/{}", crate::results::layout::PLOTS_DIR, super::plots::importance::IMPORTANCE_PNG);
    if sweep_dir.join(&figure).is_file() {
        let _ = writeln!(
            html,
            "<figure><img src=\"{}\" alt=\"importance\"><figcaption>{}</figcaption></figure>",
            escape(&url_path(&figure)),
            escape(&figure)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::split::PerSplit;
    use crate::report::summary::RunRecord;
    use crate::spec::{Config, PlannedRun};

    /// A plan of `configs` (id, axis values), `reps` runs each, and records whose run `i` is done
    /// with validation accuracy `scores[i]` (`None`: failed).
    fn sweep(
        design: Design,
        axes: &[&str],
        configs: &[(&str, &[&str])],
        reps: usize,
        scores: &[Option<f64>],
    ) -> (Plan, Records) {
        let configs: Vec<Config> = configs
            .iter()
            .map(|(id, values)| Config {
                id: id.to_string(),
                axis_values: values.iter().map(|v| v.to_string()).collect(),
                train: Default::default(),
                dataset: None,
            })
            .collect();
        let runs = (0..configs.len() * reps)
            .map(|index| PlannedRun {
                index,
                config: index / reps,
                repeat: index % reps + 1,
                id: format!("{}/rep-{}", configs[index / reps].id, index % reps + 1),
                seed: index as u64,
                repetition: index % reps + 1,
                fold: None,
                split_seed: index as u64,
            })
            .collect();
        let records = scores
            .iter()
            .map(|s| match s {
                Some(v) => RunRecord {
                    state: Some(State::Done),
                    final_accs: PerSplit { valid: Some(*v), ..Default::default() },
                    ..Default::default()
                },
                None => RunRecord { state: Some(State::Failed), ..Default::default() },
            })
            .collect();
        (
            Plan { design, axes: axes.iter().map(|a| a.to_string()).collect(), configs, runs, datasets: vec![] },
            Records::new(records),
        )
    }

    fn rows(csv: &str) -> Vec<Vec<String>> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(csv.as_bytes());
        r.records().map(|rec| rec.unwrap().iter().map(str::to_owned).collect()).collect()
    }

    #[test]
    fn identical_repeats_leave_f_and_the_ratio_empty_with_a_note() {
        let same = [Some(0.5), Some(0.5), Some(0.7), Some(0.7)];
        let (plan, records) = sweep(Design::Grid, &["a"], &[("a=x", &["x"]), ("a=y", &["y"])], 2, &same);
        let grid = rows(&importance_csv(&records, &plan));
        assert_eq!(grid[1][..2], ["a", "2"]);
        let ss: f64 = grid[1][2].parse().unwrap();
        // Two runs per level at ±0.1 from the grand mean 0.6.
        assert!((ss - 4.0 * 0.01).abs() < 1e-12, "sum of squares {ss}");
        assert_eq!(grid[1][3..5], ["1", "1"], "one df; all the variation is the axis's");
        assert_eq!((grid[1][5].as_str(), grid[1][6].as_str()), ("", ""), "no F, no p");
        assert!(grid[1][7].contains("zero residual variation"), "{:?}", grid[1][7]);

        let (plan, records) = sweep(Design::OneAtATime, &["a"], &[("baseline", &["x"]), ("a=y", &["y"])], 2, &same);
        let oat = rows(&importance_csv(&records, &plan));
        assert_eq!(oat[1][..3], ["a", "2", "4"]);
        assert_eq!(oat[1][3], csv_number((0.7 + 0.7) / 2.0 - (0.5 + 0.5) / 2.0), "range of the two means");
        assert_eq!(oat[1][4..8], ["x", "y", "0", "2"], "worst, best, pooled std and df");
        assert_eq!(oat[1][8], "", "no ratio over a zero spread");
        assert!(oat[1][9].contains("zero spread"), "{:?}", oat[1][9]);
    }

    #[test]
    fn a_sweep_without_axes_has_a_header_and_no_rows() {
        for design in [Design::Grid, Design::OneAtATime] {
            let (plan, records) = sweep(design, &[], &[("baseline", &[])], 2, &[Some(0.5), Some(0.6)]);
            assert_eq!(rows(&importance_csv(&records, &plan)).len(), 1, "{design:?}");
        }
    }

    #[test]
    fn one_at_a_time_without_done_runs_on_an_axis_says_so() {
        // a=y failed twice: the axis has only the baseline's mean left.
        let scores = [Some(0.5), Some(0.6), None, None, Some(0.4), Some(0.45)];
        let configs: [(&str, &[&str]); 3] = [("baseline", &["x", "1"]), ("a=y", &["y", "1"]), ("b=2", &["x", "2"])];
        let (plan, records) = sweep(Design::OneAtATime, &["a", "b"], &configs, 2, &scores);
        let oat = rows(&importance_csv(&records, &plan));
        assert_eq!(oat[1][..4], ["a", "2", "2", ""]);
        assert!(oat[1][9].contains("1 of 2 configurations have no done run"), "{:?}", oat[1][9]);
        // b: the baseline (0.5, 0.6) against b=2 (0.4, 0.45).
        assert_eq!(oat[2][..3], ["b", "2", "4"]);
        assert_eq!(oat[2][3], csv_number((0.5 + 0.6) / 2.0 - (0.4 + 0.45) / 2.0), "range");
        assert_eq!(oat[2][4..6], ["2", "1"], "worst and best value of b");
        assert_eq!(oat[2][9], "");
    }
}
