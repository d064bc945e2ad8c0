//! Text the subcommands print and share: counts in words, aligned tables, means with
//! their spread and interval, the paper's confusion layout.

use super::settings::Exec;
use crate::exec::sweep::Counts;
use crate::output::count;
use crate::results::rundir::State;
use crate::spec::problems::echo;
use crate::spec::{Plan, SweepFile};

/// "45 runs", or with a shard "45 runs; shard 0/4: 12 of them".
pub(crate) fn runs_and_share(plan: &Plan, exec: &Exec) -> String {
    let all = count(plan.runs.len(), "run");
    match exec.shard {
        Some(s) => format!("{all}; shard {}/{}: {} of them", s.k, s.n, exec.in_shard(plan).len()),
        None => all,
    }
}

/// "15 configurations", or with datasets "8 datasets × 15 configurations".
pub(crate) fn configurations_text(plan: &Plan) -> String {
    match plan.datasets.len() {
        0 => count(plan.configs.len(), "configuration"),
        n => format!("{} × {}", count(n, "dataset"), count(plan.configs.len() / n, "configuration")),
    }
}

/// "3 repeats", or with k-fold "3 repeats × 5 folds": the runs of one configuration.
pub(crate) fn repeats_text(sweep: &SweepFile) -> String {
    match sweep.data.folds() {
        Some(k) => format!("{} × {}", count(sweep.repeats, "repeat"), count(k, "fold")),
        None => count(sweep.repeats, "repeat"),
    }
}

/// Columns as wide as their widest cell or header, two spaces apart; column `c` is
/// right-aligned (numbers) when `right[c]`, left-aligned otherwise.
pub(crate) fn aligned_table(header: &[String], rows: &[Vec<String>], right: &[bool]) -> String {
    let width =
        |c: usize| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let mut s = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, v)| match right.get(c) {
                Some(true) => format!("{v:>w$}", w = widths[c]),
                _ => format!("{v:<w$}", w = widths[c]),
            })
            .collect();
        s.push_str(cells.join("  ").trim_end());
        s.push('\n');
    }
    s
}

pub(crate) use crate::report::stats::mean_spread_ci;

/// State counts over the whole plan, from each run's state (`None`: not finished).
pub(crate) fn all_counts(states: impl IntoIterator<Item = Option<State>>) -> Counts {
    let mut c = Counts::default();
    for state in states {
        match state {
            Some(State::Done) => c.done += 1,
            Some(State::Diverged) => c.diverged += 1,
            Some(State::Failed) => c.failed += 1,
            Some(State::Pruned) => c.pruned += 1,
            None => c.skipped += 1,
        }
    }
    c
}

/// The paper's §2.3 layout: zeros blank, hits `+n`, misses `-n`; rows are the
/// actual classes, columns the predicted ones, both labelled.
pub(crate) fn sparse_confusion(m: &[u32], labels: &[String]) -> String {
    let classes = labels.len();
    let labels: Vec<String> = labels.iter().map(|l| echo(l)).collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let digits = m.iter().max().map_or(1, |v| v.to_string().len());
    let cell = (digits + 1).max(label_width);
    let mut s = format!("{:>label_width$} |", "");
    for l in &labels {
        s.push_str(&format!("{l:>cell$}|"));
    }
    s.push_str("  (rows: actual class, columns: predicted)\n");
    for r in 0..classes {
        s.push_str(&format!("{:>label_width$} |", labels[r]));
        for c in 0..classes {
            let v = m[r * classes + c];
            if v == 0 {
                s.push_str(&" ".repeat(cell));
            } else {
                let sign = if r == c { '+' } else { '-' };
                s.push_str(&format!("{sign}{v:>w$}", w = cell - 1));
            }
            s.push('|');
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_numbers_right_and_words_left() {
        let header = ["index".to_string(), "id".into()];
        let rows = vec![vec!["7".to_string(), "hidden=4/rep-1".into()], vec!["12".into(), "h/r".into()]];
        assert_eq!(aligned_table(&header, &rows, &[true, false]), "index  id\n    7  hidden=4/rep-1\n   12  h/r\n");
    }

    #[test]
    fn a_mean_shows_only_the_parts_that_are_defined() {
        let ci = crate::stats::MeanCi { mean: 0.3396, low: 0.2651, high: 0.4141 };
        assert_eq!(mean_spread_ci(Some(0.33961), Some(0.03), Some(ci)), "0.3396 ± 0.0300 [0.2651, 0.4141]");
        assert_eq!(mean_spread_ci(Some(0.5), None, None), "0.5000");
        assert_eq!(mean_spread_ci(None, Some(0.1), Some(ci)), "-");
    }

    #[test]
    fn states_are_counted_and_unfinished_runs_are_skipped() {
        let c = all_counts([Some(State::Done), None, Some(State::Failed), Some(State::Done), Some(State::Diverged)]);
        assert_eq!((c.done, c.diverged, c.failed, c.skipped), (2, 1, 1, 1));
    }

    #[test]
    fn the_confusion_layout_blanks_zeros_and_signs_hits_and_misses() {
        let m = [5, 0, 2, 11];
        let text = sparse_confusion(&m, &["a".to_string(), "b".into()]);
        assert_eq!(text, "  |  a|  b|  (rows: actual class, columns: predicted)\na |+ 5|   |\nb |- 2|+11|\n");
    }
}
