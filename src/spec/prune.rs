//! `[sweep.prune]`: deterministic successive halving. Which epochs are rungs, how many
//! configurations each rung keeps, on which validation metric, and the optional paired guard.
//! Parsed and checked here; `report::halving` decides the rungs, `exec::halving` runs them.

use super::problems::{suggest, Collector};
use toml::{Table, Value};

/// The keys of a `[sweep.prune]` table.
pub const PRUNE_KEYS: &[&str] = &["method", "rungs", "eta", "keep", "metric", "guard", "alpha"];
/// At most this many rungs (each one is a barrier of the whole sweep).
pub const MAX_RUNGS: usize = 64;
/// The guard's default significance level.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// How many configurations a rung keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Keep {
    /// The best `1/eta` (rounded up).
    Eta(usize),
    /// The best fraction (rounded up).
    Fraction(f64),
}

impl Keep {
    /// Of `n` ranked configurations, how many continue: at least one.
    pub fn of(self, n: usize) -> usize {
        let kept = match self {
            Keep::Eta(eta) => n.div_ceil(eta),
            // The product of a fraction in (0, 1) and a count ≤ 100,000: exact enough to round up,
            // and the same on every machine (IEEE multiplication).
            Keep::Fraction(f) => (n as f64 * f).ceil() as usize,
        };
        kept.clamp(1.min(n), n)
    }
}

/// What a rung ranks the configurations on: the mean over their runs at the rung epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RungMetric {
    ValidAcc,
    ValidLoss,
}

impl RungMetric {
    pub fn word(self) -> &'static str {
        match self {
            RungMetric::ValidAcc => "valid-acc",
            RungMetric::ValidLoss => "valid-loss",
        }
    }

    /// Whether a higher value is better.
    pub fn higher_is_better(self) -> bool {
        self == RungMetric::ValidAcc
    }
}

/// A `[sweep.prune]` table, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Prune {
    /// Epochs at which the configurations are ranked, strictly increasing.
    pub rungs: Vec<usize>,
    pub keep: Keep,
    pub metric: RungMetric,
    /// `guard = "paired"`: prune only a configuration that the paired test finds worse than the
    /// rung's best at this level (`alpha`).
    pub guard: Option<f64>,
}

impl Prune {
    /// The rungs at which something is decided for runs of `epochs` epochs: a rung at or
    /// beyond the end decides nothing (every run has finished there).
    pub fn decision_rungs(&self, epochs: usize) -> Vec<usize> {
        self.rungs.iter().copied().filter(|&r| r < epochs).collect()
    }

    /// The table as stored in a results directory's `sweep.toml`.
    pub fn to_table(&self) -> Table {
        let mut t = Table::new();
        t.insert("method".into(), Value::String("halving".into()));
        t.insert("rungs".into(), Value::Array(self.rungs.iter().map(|&r| Value::Integer(r as i64)).collect()));
        match self.keep {
            Keep::Eta(eta) => t.insert("eta".into(), Value::Integer(eta as i64)),
            Keep::Fraction(f) => t.insert("keep".into(), Value::Float(f)),
        };
        t.insert("metric".into(), Value::String(self.metric.word().into()));
        if let Some(alpha) = self.guard {
            t.insert("guard".into(), Value::String("paired".into()));
            t.insert("alpha".into(), Value::Float(alpha));
        }
        t
    }

    /// The epochs trained under halving, at most (no early stopping, no divergence), for
    /// `configs` configurations of `runs_per_config` runs of `epochs` epochs each.
    pub fn budget(&self, configs: usize, runs_per_config: usize, epochs: usize) -> usize {
        let (mut alive, mut from, mut total) = (configs, 0, 0);
        for r in self.decision_rungs(epochs) {
            total += alive * (r - from);
            alive = self.keep.of(alive);
            from = r;
        }
        (total + alive * (epochs - from)) * runs_per_config
    }
}

const TABLE: &str = "sweep.prune";

/// Parses `[sweep.prune]`, reporting each problem with its key; `None` when any.
pub(crate) fn parse(c: &mut Collector, value: &Value) -> Option<Prune> {
    let before = c.problems.len();
    let Value::Table(t) = value else {
        c.at(Some("sweep"), "prune", TABLE, "must be a table: [sweep.prune] with method = \"halving\" and rungs");
        return None;
    };
    let report = |c: &mut Collector, key: &str, msg: String| c.at(Some(TABLE), key, format!("{TABLE}.{key}"), msg);
    for key in t.keys() {
        if !PRUNE_KEYS.contains(&key.as_str()) {
            report(c, key, format!("unknown key{}", suggest(key, PRUNE_KEYS)));
        }
    }
    match t.get("method") {
        Some(Value::String(s)) if s == "halving" => {}
        None => report(c, "method", "missing: method = \"halving\" (successive halving)".into()),
        Some(_) => report(c, "method", "must be \"halving\" (successive halving), the one method there is".into()),
    }
    let rungs = match t.get("rungs") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_RUNGS => {
            let epochs: Option<Vec<usize>> = items
                .iter()
                .map(|v| v.as_integer().filter(|&i| (1..=1_000_000).contains(&i)).map(|i| i as usize))
                .collect();
            match epochs {
                Some(e) if e.windows(2).all(|w| w[0] < w[1]) => Some(e),
                Some(_) => {
                    report(c, "rungs", "must be strictly increasing epochs, e.g. rungs = [16, 64, 256]".into());
                    None
                }
                None => {
                    report(c, "rungs", "must be whole numbers of epochs from 1 to 1000000, e.g. [16, 64, 256]".into());
                    None
                }
            }
        }
        None => {
            report(
                c,
                "rungs",
                "missing: the epochs at which configurations are ranked, e.g. rungs = [16, 64, 256]".into(),
            );
            None
        }
        Some(_) => {
            report(c, "rungs", format!("must be a list of 1 to {MAX_RUNGS} epochs, e.g. rungs = [16, 64, 256]"));
            None
        }
    };
    let keep = match (t.get("eta"), t.get("keep")) {
        (Some(_), Some(_)) => {
            report(c, "keep", "give eta (keep the best 1/eta) or keep (a fraction), not both".into());
            None
        }
        (Some(Value::Integer(e)), None) if (2..=1_000_000).contains(e) => Some(Keep::Eta(*e as usize)),
        (Some(_), None) => {
            report(c, "eta", "must be a whole number from 2 to 1000000 (eta = 3 keeps the best third)".into());
            None
        }
        (None, Some(v)) => match v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) {
            Some(f) if f > 0.0 && f < 1.0 => Some(Keep::Fraction(f)),
            _ => {
                report(
                    c,
                    "keep",
                    "must be a fraction strictly between 0 and 1 (keep = 0.5 keeps the best half)".into(),
                );
                None
            }
        },
        (None, None) => {
            report(c, "eta", "missing: eta = 3 (keep the best third) or keep = 0.5 (a fraction)".into());
            None
        }
    };
    let metric = match t.get("metric") {
        None => Some(RungMetric::ValidAcc),
        Some(Value::String(s)) if s == "valid-acc" => Some(RungMetric::ValidAcc),
        Some(Value::String(s)) if s == "valid-loss" => Some(RungMetric::ValidLoss),
        Some(v) => {
            let hint = v.as_str().map(|s| suggest(s, &["valid-acc", "valid-loss"])).unwrap_or_default();
            let hint = if hint.contains("did you mean") { hint } else { String::new() };
            report(c, "metric", format!("must be \"valid-acc\" or \"valid-loss\"{hint}"));
            None
        }
    };
    let guard = match t.get("guard") {
        None => false,
        Some(Value::String(s)) if s == "paired" => true,
        Some(Value::String(s)) if s == "none" => false,
        Some(_) => {
            report(
                c,
                "guard",
                "must be \"paired\" (prune only what the paired test finds worse than the best) or \"none\"".into(),
            );
            false
        }
    };
    let alpha = match t.get("alpha") {
        None => Some(DEFAULT_ALPHA),
        Some(_) if !guard => {
            report(c, "alpha", "is the paired guard's level: add guard = \"paired\", or drop alpha".into());
            None
        }
        Some(v) => match v.as_float() {
            Some(a) if a > 0.0 && a < 1.0 => Some(a),
            _ => {
                report(c, "alpha", "must be a number strictly between 0 and 1, e.g. 0.05".into());
                None
            }
        },
    };
    if c.problems.len() > before {
        return None;
    }
    Some(Prune { rungs: rungs?, keep: keep?, metric: metric?, guard: if guard { alpha } else { None } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_rounds_up_and_keeps_at_least_one() {
        assert_eq!([9, 10, 1, 2, 0].map(|n| Keep::Eta(3).of(n)), [3, 4, 1, 1, 0]);
        assert_eq!([10, 3, 1].map(|n| Keep::Fraction(0.5).of(n)), [5, 2, 1]);
        assert_eq!(Keep::Fraction(0.01).of(7), 1);
    }

    #[test]
    fn the_budget_counts_the_epochs_of_each_rung_s_survivors() {
        let p = Prune { rungs: vec![16, 64, 256], keep: Keep::Eta(3), metric: RungMetric::ValidAcc, guard: None };
        assert_eq!(p.decision_rungs(256), [16, 64]);
        // 9 configurations × 2 runs: 9 × 16, then 3 × 48, then 1 × 192.
        assert_eq!(p.budget(9, 2, 256), (9 * 16 + 3 * 48 + 192) * 2);
        assert!(p.budget(720, 3, 256) * 4 <= 720 * 3 * 256, "paper-grid: at most a quarter of the epochs");
    }
}
