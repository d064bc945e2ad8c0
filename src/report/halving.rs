//! Successive halving's decisions (`[sweep.prune]`): at each rung, the configurations still
//! in the race are ranked on the mean of their runs' rung metric and the best fraction
//! continues. A pure function of the run directories (each run's `metrics.csv` row at the rung
//! epoch and its `status.json`), with ties broken by configuration id, so every process —
//! `--jobs`, shards, Slurm tasks, a resumed sweep, `summarize` — computes the same decisions.

use super::comparisons::{difference, Protocol};
use crate::results::layout::{run_dir, METRICS_FILE};
use crate::results::metrics::read_metrics;
use crate::results::rundir::{read_status, State};
use crate::results::rungs::RungRow;
use crate::spec::prune::{Prune, RungMetric};
use crate::spec::Plan;
use std::collections::BTreeMap;
use std::path::Path;

/// One run at a rung, as its files say.
#[derive(Clone, Debug, PartialEq)]
pub enum AtRung {
    /// The metric at the rung epoch (or at the run's last epoch when it ended before the rung:
    /// early stopping, or fewer epochs).
    Score(f64),
    /// Diverged, failed, or no finite score: the configuration ranks last.
    Lost(String),
    /// Not at the rung yet.
    Pending,
}

/// Where run directory `dir` stands at the rung `epoch`.
pub fn at_rung(dir: &Path, epoch: usize, metric: RungMetric) -> AtRung {
    let status = read_status(dir);
    let metrics = read_metrics(&dir.join(METRICS_FILE)).ok().flatten();
    let value = |row: &crate::results::metrics::MetricsRow| match metric {
        RungMetric::ValidAcc => row.acc.valid,
        RungMetric::ValidLoss => row.loss.valid,
    };
    let scored = |v: Option<f64>, at: usize| match v.filter(|v| v.is_finite()) {
        Some(v) => AtRung::Score(v),
        None => AtRung::Lost(format!("no finite {} at epoch {at}", metric.word())),
    };
    if let Some(row) = metrics.as_ref().and_then(|m| m.rows.iter().find(|r| r.epoch == epoch)) {
        return scored(value(row), epoch);
    }
    match status.map(|s| (s.state, s.epoch)) {
        None => AtRung::Pending,
        Some((State::Diverged, e)) => AtRung::Lost(format!("diverged in epoch {e}")),
        Some((State::Failed, _)) => AtRung::Lost("failed".into()),
        Some((State::Done | State::Pruned, _)) => {
            match metrics.as_ref().and_then(|m| m.rows.iter().rev().find(|r| r.epoch < epoch)) {
                Some(row) => scored(value(row), row.epoch),
                None => AtRung::Lost("no metrics before the rung".into()),
            }
        }
    }
}

/// A configuration in the race at one rung: its runs' scores keyed by the pairing key
/// (`PlannedRun.repeat`), or why it ranks last.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub config: usize,
    pub id: String,
    pub scores: BTreeMap<usize, f64>,
    pub runs: usize,
    /// A run diverged, failed or has no finite score.
    pub lost: Option<String>,
}

impl Candidate {
    fn mean(&self) -> Option<f64> {
        (self.lost.is_none() && !self.scores.is_empty())
            .then(|| self.scores.values().sum::<f64>() / self.scores.len() as f64)
    }
}

/// One configuration's decision at one rung.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub config: usize,
    pub id: String,
    pub scored: usize,
    pub runs: usize,
    pub score: Option<f64>,
    /// 1-based.
    pub rank: usize,
    pub kept: bool,
    pub p_value: Option<f64>,
    pub reason: String,
}

/// Ranks one rung's candidates (of one dataset) and keeps the best `prune.keep` of them: the
/// best mean first (highest accuracy, lowest loss), ties by configuration id; a configuration
/// with a lost run ranks last. With the guard, a configuration below the kept ones is pruned
/// only when the protocol's test (paired by repeat where the runs pair) finds it worse than
/// the rung's best at `alpha`; one it cannot separate from the best continues.
pub fn decide_rung(candidates: &[Candidate], prune: &Prune, protocol: &Protocol) -> Vec<Decision> {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    let better = prune.metric.higher_is_better();
    order.sort_by(|a, b| match (a.mean(), b.mean()) {
        (Some(x), Some(y)) => {
            let by_score = if better { y.total_cmp(&x) } else { x.total_cmp(&y) };
            by_score.then_with(|| a.id.cmp(&b.id))
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.id.cmp(&b.id),
    });
    let n = order.len();
    let keep = prune.keep.of(n);
    let best = order.first().copied().filter(|b| b.mean().is_some());
    order
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let rank = i + 1;
            let mut d = Decision {
                config: c.config,
                id: c.id.clone(),
                scored: c.scores.len(),
                runs: c.runs,
                score: c.mean(),
                rank,
                kept: rank <= keep,
                p_value: None,
                reason: String::new(),
            };
            d.reason = match (&c.lost, d.kept) {
                (Some(why), _) => {
                    d.kept = false;
                    format!("a run {why}: ranks last")
                }
                (None, true) => format!("ranked {rank} of {n}, within the best {keep}"),
                (None, false) => format!("ranked {rank} of {n}, below the best {keep}"),
            };
            if let (Some(alpha), false, None, Some(best)) = (prune.guard, d.kept, &c.lost, best) {
                let diff = difference(&c.scores, &best.scores, protocol);
                d.p_value = diff.p;
                let worse = diff.diff.is_some_and(|x| if better { x < 0.0 } else { x > 0.0 });
                if !(worse && diff.p.is_some_and(|p| p < alpha)) {
                    d.kept = true;
                    d.reason = format!("{}; kept by the guard: not worse than {} at alpha {alpha}", d.reason, best.id);
                }
            }
            d
        })
        .collect()
}

/// Every decision the run directories under `root` allow so far, rung by rung.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rungs {
    /// Per decided rung (in order): the rows of `rungs.csv`.
    pub rows: Vec<RungRow>,
    /// The configurations still in the race after the decided rungs.
    pub alive: Vec<bool>,
    /// Per configuration pruned at a decided rung: (1-based rung, its epoch, why).
    pub pruned_at: Vec<Option<(usize, usize, String)>>,
    /// The first rung not decided yet (0-based into the decision rungs) and the plan indices
    /// of its runs not yet at it; `None` when every rung is decided.
    pub waiting: Option<(usize, Vec<usize>)>,
}

/// The rungs at which `plan`'s runs are ranked: those before the longest configuration's end.
pub fn decision_rungs(plan: &Plan, prune: &Prune) -> Vec<usize> {
    let epochs = plan.configs.iter().map(|c| c.train.schedule.epochs).max().unwrap_or(0);
    prune.decision_rungs(epochs)
}

/// Recomputes the decisions from the run directories: rung after rung while every run of the
/// configurations in the race has reached it. Per dataset in a multi-dataset sweep.
pub fn decide(root: &Path, plan: &Plan, prune: &Prune, protocol: &Protocol) -> Rungs {
    let mut alive = vec![true; plan.configs.len()];
    let mut pruned_at = vec![None; plan.configs.len()];
    let mut rows = Vec::new();
    for (k, &epoch) in decision_rungs(plan, prune).iter().enumerate() {
        let mut candidates: BTreeMap<Option<usize>, Vec<Candidate>> = BTreeMap::new();
        let mut by_config: Vec<Option<Candidate>> = plan
            .configs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                alive[i].then(|| Candidate {
                    config: i,
                    id: c.id.clone(),
                    scores: BTreeMap::new(),
                    runs: 0,
                    lost: None,
                })
            })
            .collect();
        let mut pending = Vec::new();
        for run in &plan.runs {
            let Some(cand) = by_config[run.config].as_mut() else { continue };
            cand.runs += 1;
            match at_rung(&run_dir(root, &run.id), epoch, prune.metric) {
                AtRung::Score(v) => {
                    cand.scores.insert(run.repeat, v);
                }
                AtRung::Lost(why) => {
                    cand.lost.get_or_insert(why);
                }
                AtRung::Pending => pending.push(run.index),
            }
        }
        if !pending.is_empty() {
            return Rungs { rows, alive, pruned_at, waiting: Some((k, pending)) };
        }
        for cand in by_config.into_iter().flatten() {
            candidates.entry(plan.configs[cand.config].dataset).or_default().push(cand);
        }
        for (dataset, cands) in &candidates {
            for d in decide_rung(cands, prune, protocol) {
                alive[d.config] = d.kept;
                if !d.kept {
                    pruned_at[d.config] = Some((k + 1, epoch, d.reason.clone()));
                }
                rows.push(RungRow {
                    dataset: dataset.map(|i| plan.datasets[i].clone()),
                    rung: k + 1,
                    epoch,
                    config: d.id,
                    scored: d.scored,
                    runs: d.runs,
                    score: d.score,
                    rank: d.rank,
                    kept: d.kept,
                    p_value: d.p_value,
                    reason: d.reason,
                });
            }
        }
    }
    Rungs { rows, alive, pruned_at, waiting: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::prune::Keep;
    use crate::spec::Design;

    fn cand(config: usize, id: &str, scores: &[f64]) -> Candidate {
        Candidate {
            config,
            id: id.into(),
            scores: scores.iter().enumerate().map(|(r, v)| (r + 1, *v)).collect(),
            runs: scores.len(),
            lost: None,
        }
    }

    fn prune(keep: Keep, metric: RungMetric, guard: Option<f64>) -> Prune {
        Prune { rungs: vec![4, 8], keep, metric, guard }
    }

    const PAIRED: Protocol = Protocol { design: Design::Grid, paired: true, folds: None };

    fn kept(ds: &[Decision]) -> Vec<&str> {
        ds.iter().filter(|d| d.kept).map(|d| d.id.as_str()).collect()
    }

    #[test]
    fn eta_keeps_the_best_third_rounded_up_and_keep_a_fraction() {
        let cs: Vec<Candidate> =
            (0..7).map(|i| cand(i, &format!("c{i}"), &[0.1 * i as f64, 0.1 * i as f64 + 0.01])).collect();
        let ds = decide_rung(&cs, &prune(Keep::Eta(3), RungMetric::ValidAcc, None), &PAIRED);
        assert_eq!(kept(&ds), ["c6", "c5", "c4"], "⌈7/3⌉ = 3, highest accuracy first");
        assert_eq!(ds.iter().map(|d| d.rank).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);
        let ds = decide_rung(&cs, &prune(Keep::Fraction(0.5), RungMetric::ValidLoss, None), &PAIRED);
        assert_eq!(kept(&ds), ["c0", "c1", "c2", "c3"], "⌈7 × 0.5⌉ = 4, lowest loss first");
    }

    #[test]
    fn ties_are_broken_by_configuration_id_whatever_the_input_order() {
        let a = [cand(2, "b", &[0.5, 0.5]), cand(0, "c", &[0.5, 0.5]), cand(1, "a", &[0.5, 0.5])];
        let ds = decide_rung(&a, &prune(Keep::Eta(3), RungMetric::ValidAcc, None), &PAIRED);
        assert_eq!(kept(&ds), ["a"]);
        let mut b = a.clone();
        b.reverse();
        assert_eq!(decide_rung(&b, &prune(Keep::Eta(3), RungMetric::ValidAcc, None), &PAIRED), ds);
    }

    #[test]
    fn a_configuration_with_a_diverged_run_ranks_last_and_is_pruned() {
        let mut lost = cand(0, "a", &[0.9]);
        lost.lost = Some("diverged in epoch 3".into());
        lost.runs = 2;
        let cs = [lost, cand(1, "b", &[0.1, 0.1]), cand(2, "c", &[0.2, 0.2])];
        let ds = decide_rung(&cs, &prune(Keep::Fraction(0.9), RungMetric::ValidAcc, Some(0.05)), &PAIRED);
        assert_eq!(ds.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["c", "b", "a"]);
        assert_eq!(kept(&ds), ["c", "b"], "⌈3 × 0.9⌉ = 3, but a lost run is never kept");
        assert!(ds[2].reason.contains("diverged in epoch 3") && ds[2].score.is_none(), "{:?}", ds[2]);
    }

    #[test]
    fn the_guard_keeps_what_the_paired_test_cannot_separate_from_the_best() {
        // "b" is better than "a" on two repeats and unlucky on the third: its mean is lower,
        // but the paired test cannot tell it from "a" (p ≈ 0.6). "c" is worse on every repeat.
        let cs =
            [cand(0, "a", &[0.50, 0.52, 0.51]), cand(1, "b", &[0.53, 0.55, 0.30]), cand(2, "c", &[0.30, 0.33, 0.31])];
        let plain = decide_rung(&cs, &prune(Keep::Eta(3), RungMetric::ValidAcc, None), &PAIRED);
        assert_eq!(kept(&plain), ["a"]);
        let guarded = decide_rung(&cs, &prune(Keep::Eta(3), RungMetric::ValidAcc, Some(0.05)), &PAIRED);
        assert_eq!(kept(&guarded), ["a", "b"], "{guarded:?}");
        let (b, c) = (&guarded[1], &guarded[2]);
        // tests/fixtures/halving_reference.py: `ttest_rel([0.53, 0.55, 0.30], best).pvalue` and
        // `ttest_rel([0.30, 0.33, 0.31], best).pvalue` with best = [0.50, 0.52, 0.51] (scipy 1.17).
        let close = |p: Option<f64>, want: f64| p.is_some_and(|p| (p - want).abs() <= 1e-9 * want);
        assert!(close(b.p_value, 0.5957739582727785) && b.reason.contains("kept by the guard"), "{b:?}");
        assert!(close(c.p_value, 0.00028715004181385453) && !c.kept, "{c:?}");
    }
}
