//! `comparisons.csv` and `selection.csv`: what a sweep's repeats say beyond means.
//!
//! - **Comparisons**: every configuration against a reference — the baseline in a
//!   one-at-a-time design, the best by mean validation accuracy in a grid (or a design
//!   without a baseline) — on the final validation and test accuracy: the mean difference
//!   (configuration − reference), its 95% CI, a t-test p-value, Holm's adjustment across
//!   the family of rows (per metric), the Wilcoxon signed-rank p and P(A > B) over repeats.
//!   Runs pair on `PlannedRun.repeat`. With a paired protocol (runs of equal repeat share
//!   their split) the t-test is the paired one, Nadeau–Bengio corrected under k-fold;
//!   otherwise Welch's unpaired test on all runs of each side (no signed-rank test then).
//!   A last column marks the configurations not distinguishable from the best by
//!   validation: Holm-adjusted p ≥ [`ALPHA`] against the best, in the family "every
//!   configuration against the best".
//! - **Selection** (the whole procedure, Bouthillier et al. 2021): per repeat, the
//!   configuration best on that repeat's validation accuracy (ties: the lower
//!   configuration index) and its test accuracy on that repeat; the mean and CI of those
//!   test accuracies estimate what tuning with this sweep yields on unseen data.

use super::csv_number;
use super::stats::{mean_std, welch, welch_interval};
use super::summary::{Best, ConfigStats, DoneValues, Records, LEVEL, TEST, VALID};
use crate::spec::{Design, Pairing, Plan, SweepFile};
use crate::stats::wilcoxon::{wilcoxon, Alternative};
use crate::stats::{corrected_resampled_t, holm, paired_t, prob_a_beats_b, t_interval, MeanCi};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) use crate::results::layout::{COMPARISONS_FILE, SELECTION_FILE};
/// A configuration whose Holm-adjusted p against the best is at least this is not
/// distinguishable from it.
pub(crate) const ALPHA: f64 = 0.05;
/// The two metrics compared, as indices in `summary::METRICS`, in the order of their column
/// prefixes (`results::comparisons_file::COMPARED_SETS`).
const COMPARED: [usize; 2] = [VALID, TEST];

/// How a sweep's runs relate across configurations: what decides the test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocol {
    pub design: Design,
    /// Runs of different configurations with equal `repeat` share their split (pairing
    /// other than `none`): differences are taken per repeat.
    pub paired: bool,
    /// k of (repeated) k-fold resampling; `None` for a holdout split.
    pub folds: Option<usize>,
}

impl Protocol {
    pub fn of(sweep: &SweepFile) -> Self {
        Protocol { design: sweep.design, paired: sweep.pairing != Pairing::None, folds: sweep.data.folds() }
    }

    pub(crate) fn pairing_word(&self) -> &'static str {
        if self.paired {
            "paired"
        } else {
            "unpaired"
        }
    }

    /// The t-test the comparisons use.
    pub(crate) fn test_name(&self) -> &'static str {
        match (self.paired, self.folds) {
            (false, _) => "Welch t",
            (true, None) => "paired t",
            (true, Some(_)) => "Nadeau-Bengio t",
        }
    }
}

/// One configuration against the reference on one metric, as configuration − reference.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Difference {
    /// Repeats where both have a value: the pairs (unpaired, only P(A > B) uses them).
    pub pairs: usize,
    pub diff: Option<f64>,
    pub ci: Option<MeanCi>,
    /// Two-sided p of the protocol's t-test.
    pub p: Option<f64>,
    /// Two-sided Wilcoxon signed-rank p (paired protocols only).
    pub wilcoxon_p: Option<f64>,
    /// Fraction of the pairs the configuration wins, ties half.
    pub p_a_beats_b: Option<f64>,
}

/// `a` against `b`, each a metric's values keyed by repeat.
pub fn difference(a: &BTreeMap<usize, f64>, b: &BTreeMap<usize, f64>, protocol: &Protocol) -> Difference {
    let (xs, ys): (Vec<f64>, Vec<f64>) = a.iter().filter_map(|(r, x)| b.get(r).map(|y| (*x, *y))).unzip();
    let mut d = Difference { pairs: xs.len(), p_a_beats_b: prob_a_beats_b(&xs, &ys), ..Default::default() };
    if protocol.paired {
        let diffs: Vec<f64> = xs.iter().zip(&ys).map(|(x, y)| x - y).collect();
        d.diff = mean_std(&diffs).0;
        // k-fold: a fold validates on 1/k of the rows and trains on (k−1)/k.
        let t = match protocol.folds {
            Some(k) => corrected_resampled_t(&xs, &ys, k.max(2) - 1, 1, LEVEL),
            None => paired_t(&xs, &ys, LEVEL),
        };
        d.ci = t.map(|t| t.diff);
        d.p = t.map(|t| t.p);
        d.wilcoxon_p = wilcoxon(&xs, &ys, Alternative::TwoSided).map(|w| w.p);
    } else {
        let (av, bv): (Vec<f64>, Vec<f64>) = (a.values().copied().collect(), b.values().copied().collect());
        let ((ma, sa), (mb, sb)) = (mean_std(&av), mean_std(&bv));
        d.diff = ma.zip(mb).map(|(ma, mb)| ma - mb);
        if let (Some(ma), Some(sa), Some(mb), Some(sb)) = (ma, sa, mb, sb) {
            d.p = welch(ma, sa, av.len(), mb, sb, bv.len()).map(|w| w.p);
            d.ci = welch_interval(ma, sa, av.len(), mb, sb, bv.len(), LEVEL);
        }
    }
    d
}

/// Whether a configuration can be told apart from the best by validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Best,
    /// Holm-adjusted p ≥ [`ALPHA`] against the best.
    Indistinguishable,
    Distinguishable,
    /// No test possible (too few runs on a side).
    Undefined,
}

impl Mark {
    pub fn word(self) -> &'static str {
        match self {
            Mark::Best => "best",
            Mark::Indistinguishable => "yes",
            Mark::Distinguishable => "no",
            Mark::Undefined => "",
        }
    }
}

/// One row of comparisons.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub config: usize,
    /// Against the reference, per metric of [`COMPARED`]; `None` for the reference itself.
    pub metrics: Option<[Difference; 2]>,
    /// Holm-adjusted `p` across the rows, per metric.
    pub p_holm: [Option<f64>; 2],
    pub mark: Mark,
}

pub struct Comparisons {
    pub protocol: Protocol,
    /// The configuration every row is compared with (`None` when nothing has a validation mean).
    pub reference: Option<usize>,
    pub best: Option<usize>,
    /// One per configuration, plan order.
    pub rows: Vec<Row>,
}

/// Holm-adjusted p of metric `m` across the compared configurations (`None` rows are not in the family).
fn holm_of(family: &[Option<[Difference; 2]>], m: usize) -> Vec<Option<f64>> {
    let p: Vec<f64> = family.iter().map(|d| d.and_then(|d| d[m].p).unwrap_or(f64::NAN)).collect();
    holm(&p).into_iter().map(|p| p.is_finite().then_some(p)).collect()
}

pub fn comparisons(records: &Records, plan: &Plan, protocol: &Protocol) -> Comparisons {
    comparisons_of(plan, &records.done_values(plan), &records.config_stats(plan), protocol)
}

/// [`comparisons`] from the records' values and statistics (computed once per summary write).
pub(crate) fn comparisons_of(
    plan: &Plan,
    done: &[DoneValues],
    stats: &[ConfigStats],
    protocol: &Protocol,
) -> Comparisons {
    let best = Best::of(stats).map(|b| b.config);
    let baseline = plan.configs.iter().position(|c| c.id == "baseline");
    let reference = match protocol.design {
        Design::OneAtATime => baseline.or(best),
        _ => best,
    };
    let against = |reference: Option<usize>| -> Vec<Option<[Difference; 2]>> {
        (0..plan.configs.len())
            .map(|c| {
                let r = reference.filter(|&r| r != c)?;
                Some(COMPARED.map(|k| difference(&done[c].0[k], &done[r].0[k], protocol)))
            })
            .collect()
    };
    let family = against(reference);
    let p_holm: Vec<[Option<f64>; 2]> = {
        let (v, t) = (holm_of(&family, 0), holm_of(&family, 1));
        v.into_iter().zip(t).map(|(v, t)| [v, t]).collect()
    };
    // The mark is always against the best, a family of its own when the reference is the baseline.
    let best_holm = if reference == best { p_holm.iter().map(|p| p[0]).collect() } else { holm_of(&against(best), 0) };
    let rows = family
        .into_iter()
        .zip(p_holm)
        .zip(best_holm)
        .enumerate()
        .map(|(config, ((metrics, p_holm), vs_best))| {
            let mark = match vs_best {
                _ if Some(config) == best => Mark::Best,
                Some(p) if p >= ALPHA => Mark::Indistinguishable,
                Some(_) => Mark::Distinguishable,
                None => Mark::Undefined,
            };
            Row { config, metrics, p_holm, mark }
        })
        .collect();
    Comparisons { protocol: *protocol, reference, best, rows }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(String::new, csv_number)
}

/// CSV text; ids contain commas (`batch_size=40,momentum=0.5`), so fields are quoted as needed.
fn csv_text(rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(&row).expect("writing CSV to memory cannot fail");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("CSV of UTF-8 fields")
}

/// The header of comparisons.csv (`results::comparisons_file` owns its columns).
pub(crate) fn comparisons_header() -> Vec<String> {
    crate::results::comparisons_file::header()
}

/// The text of comparisons.csv: one row per configuration, plan order.
pub fn comparisons_csv(records: &Records, plan: &Plan, protocol: &Protocol) -> String {
    comparisons_text(plan, &comparisons(records, plan, protocol), &records.config_stats(plan), records)
}

/// The text of comparisons.csv from computed comparisons.
pub(crate) fn comparisons_text(plan: &Plan, c: &Comparisons, stats: &[ConfigStats], records: &Records) -> String {
    let protocol = &c.protocol;
    let id = |i: Option<usize>| i.map_or_else(String::new, |i| plan.configs[i].id.clone());
    let rows = c.rows.iter().map(|row| {
        let mut cells = vec![
            plan.configs[row.config].id.clone(),
            id(c.reference),
            protocol.pairing_word().to_string(),
            protocol.test_name().to_string(),
            stats[row.config].n.to_string(),
            c.reference.map_or_else(String::new, |r| stats[r].n.to_string()),
        ];
        for m in 0..COMPARED.len() {
            let d = row.metrics.map(|d| d[m]);
            cells.extend([
                d.map_or_else(String::new, |d| d.pairs.to_string()),
                num(d.and_then(|d| d.diff)),
                num(d.and_then(|d| d.ci).map(|ci| ci.low)),
                num(d.and_then(|d| d.ci).map(|ci| ci.high)),
                num(d.and_then(|d| d.p)),
                num(row.p_holm[m]),
                num(d.and_then(|d| d.wilcoxon_p)),
                num(d.and_then(|d| d.p_a_beats_b)),
            ]);
        }
        cells.push(row.mark.word().to_string());
        // The ensembles of repeats on the test rows: accuracy difference and McNemar's test.
        let pair = c
            .reference
            .filter(|&r| r != row.config)
            .and_then(|r| Some((records.ensemble(row.config)?, records.ensemble(r)?)));
        cells.push(num(pair.map(|(a, b)| a.accuracy - b.accuracy)));
        cells.push(num(pair.and_then(|(a, b)| a.mcnemar(b)).map(|m| m.p)));
        cells
    });
    csv_text(std::iter::once(comparisons_header()).chain(rows))
}

/// One repeat's choice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pick {
    pub repeat: usize,
    pub config: usize,
    pub valid: f64,
    /// The chosen configuration's test accuracy on that repeat (if it has one).
    pub test: Option<f64>,
}

/// The whole-procedure estimate.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Selection {
    /// Repeat order; a repeat where no configuration has a done run is absent.
    pub picks: Vec<Pick>,
    /// Mean of the picks' test accuracies and its [`LEVEL`] t interval (`None` below two).
    pub(crate) test_mean: Option<f64>,
    pub(crate) test_ci: Option<MeanCi>,
    /// The picks with a test accuracy.
    pub n: usize,
}

/// Per repeat, the configuration best on that repeat's final validation accuracy (ties: the
/// lower configuration index) with its test accuracy; then their mean and CI.
pub(crate) fn whole_procedure(records: &Records, plan: &Plan) -> Selection {
    whole_procedure_of(&records.done_values(plan))
}

fn whole_procedure_of(done: &[DoneValues]) -> Selection {
    let repeats: BTreeSet<usize> = done.iter().flat_map(|d| d.0[VALID].keys().copied()).collect();
    let picks: Vec<Pick> = repeats
        .into_iter()
        .filter_map(|repeat| {
            let mut pick: Option<Pick> = None;
            for (config, d) in done.iter().enumerate() {
                let Some(&valid) = d.0[VALID].get(&repeat) else { continue };
                if pick.is_none_or(|p| valid > p.valid) {
                    pick = Some(Pick { repeat, config, valid, test: d.0[TEST].get(&repeat).copied() });
                }
            }
            pick
        })
        .collect();
    let tests: Vec<f64> = picks.iter().filter_map(|p| p.test).collect();
    Selection { test_mean: mean_std(&tests).0, test_ci: t_interval(&tests, LEVEL), n: tests.len(), picks }
}

/// The text of selection.csv: a row per repeat (`repeat,config,final_valid_acc,final_test_acc`:
/// the repeat's choice), then the rows `n`, `mean`, `ci_low`, `ci_high` (config empty) over
/// them. The validation mean is of the values the choices were made on, so it is optimistic;
/// the test columns are the estimate.
pub fn selection_csv(records: &Records, plan: &Plan) -> String {
    selection_text(plan, &records.done_values(plan))
}

/// [`selection_csv`] from the records' values.
pub(crate) fn selection_text(plan: &Plan, done: &[DoneValues]) -> String {
    let s = whole_procedure_of(done);
    let header = crate::results::comparisons_file::SELECTION_HEADER.map(String::from).to_vec();
    let picks = s
        .picks
        .iter()
        .map(|p| vec![p.repeat.to_string(), plan.configs[p.config].id.clone(), csv_number(p.valid), num(p.test)]);
    let valids: Vec<f64> = s.picks.iter().map(|p| p.valid).collect();
    let stat = |name: &str, valid: String, test: String| vec![name.to_string(), String::new(), valid, test];
    let [n, mean, ci_low, ci_high] = crate::results::comparisons_file::SELECTION_STATS;
    let tail = [
        stat(n, valids.len().to_string(), s.n.to_string()),
        stat(mean, num(mean_std(&valids).0), num(s.test_mean)),
        stat(ci_low, String::new(), num(s.test_ci.map(|ci| ci.low))),
        stat(ci_high, String::new(), num(s.test_ci.map(|ci| ci.high))),
    ];
    csv_text(std::iter::once(header).chain(picks).chain(tail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::RunRecord;
    use crate::results::rundir::State;
    use crate::spec::{Config, PlannedRun, TrainConfig};

    /// A plan of `configs` (ids) × `repeats`, and records whose final (valid, test) accuracy
    /// is `accs[config][repeat − 1]` (`None`: the run failed).
    fn sweep(ids: &[&str], accs: &[Vec<Option<(f64, f64)>>]) -> (Plan, Records) {
        let mut plan =
            Plan { design: Design::OneAtATime, axes: vec![], configs: vec![], runs: vec![], datasets: vec![] };
        let mut records = Vec::new();
        for (c, id) in ids.iter().enumerate() {
            plan.configs.push(Config {
                id: id.to_string(),
                axis_values: vec![],
                train: TrainConfig::default(),
                dataset: None,
            });
            for (r, acc) in accs[c].iter().enumerate() {
                let index = plan.runs.len();
                let run_id = format!("{id}/rep-{}", r + 1);
                let (repeat, seed) = (r + 1, index as u64);
                plan.runs.push(PlannedRun {
                    index,
                    config: c,
                    repeat,
                    id: run_id,
                    seed,
                    repetition: repeat,
                    fold: None,
                    split_seed: seed,
                });
                records.push(match acc {
                    Some((v, t)) => RunRecord {
                        state: Some(State::Done),
                        final_accs: crate::data::split::PerSplit { train: Some(0.9), valid: Some(*v), test: Some(*t) },
                        ..Default::default()
                    },
                    None => RunRecord { state: Some(State::Failed), ..Default::default() },
                });
            }
        }
        (plan, Records::new(records))
    }

    fn some(v: &[(f64, f64)]) -> Vec<Option<(f64, f64)>> {
        v.iter().map(|&x| Some(x)).collect()
    }

    #[test]
    fn the_whole_procedure_picks_per_repeat_not_by_the_mean() {
        // By mean validation `a` wins (0.60 vs 0.5667 vs 0.50), but on repeat 2 `b` is best
        // and on repeat 3 `c` ties `a` at 0.62 (the lower index, `a`, keeps it).
        let (plan, records) = sweep(
            &["a", "b", "c"],
            &[
                some(&[(0.70, 0.40), (0.48, 0.41), (0.62, 0.42)]),
                some(&[(0.50, 0.30), (0.70, 0.31), (0.50, 0.32)]),
                some(&[(0.40, 0.20), (0.48, 0.21), (0.62, 0.50)]),
            ],
        );
        assert_eq!(records.best_by_validation(&plan).unwrap().config, 0, "the mean winner");
        let s = whole_procedure(&records, &plan);
        let chosen: Vec<(usize, usize)> = s.picks.iter().map(|p| (p.repeat, p.config)).collect();
        assert_eq!(chosen, [(1, 0), (2, 1), (3, 0)]);
        // Their test accuracies: a on repeat 1, b on repeat 2, a on repeat 3.
        let tests = [0.40, 0.31, 0.42];
        assert_eq!(s.picks.iter().map(|p| p.test.unwrap()).collect::<Vec<_>>(), tests);
        assert_eq!(s.n, 3);
        assert_eq!(s.test_mean, Some((0.40 + 0.31 + 0.42) / 3.0));
        assert_eq!(s.test_ci, t_interval(&tests, LEVEL));
        let csv = selection_csv(&records, &plan);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "repeat,config,final_valid_acc,final_test_acc");
        assert_eq!(lines[2], "2,b,0.7,0.31");
        assert_eq!(lines[4], "n,,3,3");
        assert!(lines[5].starts_with("mean,,") && lines.len() == 8, "{csv}");
    }

    #[test]
    fn the_whole_procedure_skips_failed_runs_and_repeats_nobody_finished() {
        // Repeat 1: `a` failed, so `b` is chosen; repeat 2: nobody finished.
        let (plan, records) =
            sweep(&["a", "b"], &[vec![None, None, Some((0.5, 0.4))], vec![Some((0.3, 0.2)), None, Some((0.6, 0.1))]]);
        let s = whole_procedure(&records, &plan);
        let chosen: Vec<(usize, usize)> = s.picks.iter().map(|p| (p.repeat, p.config)).collect();
        assert_eq!(chosen, [(1, 1), (3, 1)]);
        assert_eq!((s.n, s.test_mean), (2, Some((0.2 + 0.1) / 2.0)));
    }

    #[test]
    fn paired_comparisons_use_matched_repeats_and_holm_across_the_family() {
        let base = [(0.50, 0.40), (0.60, 0.45), (0.55, 0.42), (0.58, 0.44)];
        let better = [(0.56, 0.47), (0.65, 0.50), (0.62, 0.48), (0.66, 0.51)];
        let same = [(0.52, 0.39), (0.59, 0.46), (0.54, 0.41), (0.59, 0.45)];
        // `gap` misses repeat 2 (pairs are only the repeats both finished) and is close to `better`.
        let gap = vec![Some((0.57, 0.47)), None, Some((0.60, 0.47)), Some((0.68, 0.52))];
        let (plan, records) =
            sweep(&["baseline", "better", "same", "gap"], &[some(&base), some(&better), some(&same), gap]);
        let protocol = Protocol { design: Design::OneAtATime, paired: true, folds: None };
        let c = comparisons(&records, &plan, &protocol);
        assert_eq!((c.reference, c.best), (Some(0), Some(1)));
        let col = |k: usize, pick: fn(&(f64, f64)) -> f64| -> Vec<f64> {
            [&base[..], &better, &same][k].iter().map(pick).collect()
        };
        let valid = |p: &(f64, f64)| p.0;
        let mut raw = Vec::new();
        for (k, row) in c.rows.iter().enumerate().skip(1).take(2) {
            let d = row.metrics.unwrap()[0];
            let t = paired_t(&col(k, valid), &col(0, valid), LEVEL).unwrap();
            let w = wilcoxon(&col(k, valid), &col(0, valid), Alternative::TwoSided).unwrap();
            assert_eq!((d.pairs, d.p, d.ci, d.wilcoxon_p), (4, Some(t.p), Some(t.diff), Some(w.p)), "row {k}");
            raw.push(t.p);
        }
        let gap_valid = [0.57, 0.60, 0.68];
        let gap_base = [0.50, 0.55, 0.58];
        let gap_t = paired_t(&gap_valid, &gap_base, LEVEL).unwrap();
        assert_eq!(c.rows[3].metrics.unwrap()[0].pairs, 3);
        assert_eq!(c.rows[3].metrics.unwrap()[0].p, Some(gap_t.p));
        raw.push(gap_t.p);
        let adjusted = holm(&raw);
        for (k, want) in adjusted.iter().enumerate() {
            assert_eq!(c.rows[k + 1].p_holm[0], Some(*want), "Holm of row {}", k + 1);
        }
        assert_eq!(c.rows[0].metrics, None, "the reference is not compared with itself");
        assert_eq!(c.rows[1].mark, Mark::Best);
        // The mark is against the best (`better`), a family of its own here.
        let vs_best: Vec<f64> = [0usize, 2]
            .iter()
            .map(|&k| paired_t(&col(k, valid), &col(1, valid), LEVEL).unwrap().p)
            .chain([paired_t(&gap_valid, &[0.56, 0.62, 0.66], LEVEL).unwrap().p])
            .collect();
        let vs_best = holm(&vs_best);
        for (row, p) in [0usize, 2, 3].iter().zip(&vs_best) {
            let want = if *p >= ALPHA { Mark::Indistinguishable } else { Mark::Distinguishable };
            assert_eq!(c.rows[*row].mark, want, "row {row}: Holm p {p} against the best");
        }
        let marks: Vec<&str> = c.rows.iter().map(|r| r.mark.word()).collect();
        assert!(marks.contains(&"yes") && marks.contains(&"no"), "the case needs both marks: {marks:?} {vs_best:?}");
    }

    #[test]
    fn unpaired_comparisons_are_welch_on_every_run_with_no_signed_rank_test() {
        let (plan, records) = sweep(
            &["x", "y"],
            &[some(&[(0.5, 0.4), (0.6, 0.5), (0.55, 0.45)]), vec![Some((0.7, 0.6)), Some((0.65, 0.55)), None]],
        );
        let protocol = Protocol { design: Design::Grid, paired: false, folds: None };
        let c = comparisons(&records, &plan, &protocol);
        assert_eq!((c.reference, c.best), (Some(1), Some(1)), "a grid compares with the best");
        let d = c.rows[0].metrics.unwrap()[0];
        let ((m1, s1), (m2, s2)) = (mean_std(&[0.5, 0.6, 0.55]), mean_std(&[0.7, 0.65]));
        let (m1, s1, m2, s2) = (m1.unwrap(), s1.unwrap(), m2.unwrap(), s2.unwrap());
        assert_eq!(d.p, welch(m1, s1, 3, m2, s2, 2).map(|w| w.p));
        assert_eq!(d.ci, welch_interval(m1, s1, 3, m2, s2, 2, LEVEL));
        assert_eq!(d.diff, Some(m1 - m2));
        assert_eq!((d.wilcoxon_p, d.pairs, d.p_a_beats_b), (None, 2, Some(0.0)));
        let csv = comparisons_csv(&records, &plan, &protocol);
        let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
        assert_eq!(&row[..6], ["x", "y", "unpaired", "Welch t", "3", "2"]);
    }

    #[test]
    fn k_fold_comparisons_are_nadeau_bengio_corrected() {
        let a = [(0.5, 0.4), (0.6, 0.5), (0.55, 0.45), (0.62, 0.5), (0.58, 0.47)];
        let b = [(0.45, 0.4), (0.58, 0.5), (0.5, 0.45), (0.6, 0.5), (0.5, 0.47)];
        let (plan, records) = sweep(&["baseline", "b"], &[some(&a), some(&b)]);
        let protocol = Protocol { design: Design::OneAtATime, paired: true, folds: Some(5) };
        let d = comparisons(&records, &plan, &protocol).rows[1].metrics.unwrap()[0];
        let (av, bv): (Vec<f64>, Vec<f64>) = (a.iter().map(|x| x.0).collect(), b.iter().map(|x| x.0).collect());
        let nb = corrected_resampled_t(&bv, &av, 4, 1, LEVEL).unwrap();
        assert_eq!((d.p, d.ci), (Some(nb.p), Some(nb.diff)));
        assert!(d.p > paired_t(&bv, &av, LEVEL).map(|t| t.p), "the correction makes it more conservative");
    }
}
