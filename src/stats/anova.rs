//! Main-effects ANOVA of a grid sweep: how much of the variation of a score each axis explains,
//! tested against the seed-to-seed (within-configuration) error.
//!
//! Each observation is one run: the level (value index) it has on every axis, and its score.
//! A cell is one configuration (one combination of levels).
//!
//! - **Replicated, balanced** (every cell has the same number r ≥ 2 of runs): the main-effect rows are
//!   exactly statsmodels `anova_lm(ols("y ~ C(a) * C(b) * ...", df), typ=2)`: the residual is the
//!   within-cell (seed-to-seed) error with N − cells degrees of freedom, and each axis has
//!   `SS = Σ_levels n_level · (mean_level − grand mean)²`, `df = levels − 1`, `F = MS / MS_residual`.
//!   All interactions together form one `interactions` row (the sum of statsmodels' interaction rows).
//! - **One run per cell**: there is no seed-to-seed error to test against; the residual is the
//!   interactions, i.e. statsmodels `typ=2` on the additive model `y ~ C(a) + C(b) + ...`.
//! - **Unequal runs per cell** (some runs failed): the unweighted-means analysis — the formulas above
//!   applied to the cell means with r replaced by the harmonic mean of the cell counts, the residual
//!   pooled within cells. It equals the exact analysis when the design is balanced and is the
//!   standard approximation otherwise ([`Anova::balanced`] says which one was done).
//! - **A missing cell** (a configuration with no run): no main-effects ANOVA of the full grid exists;
//!   [`AnovaError::MissingCell`] names the cell.
//!
//! `share` is each row's sum of squares over the sum of all rows' (the total sum of squares when
//! balanced: η²), so the shares of the axes, the interactions and the residual sum to 1.

use statrs::distribution::{ContinuousCDF, FisherSnedecor};

/// One run: its level on every axis (0-based value index) and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub levels: Vec<usize>,
    pub value: f64,
}

/// One row of the table. `f` and `p` are `None` where undefined: zero degrees of freedom on either
/// side, or a zero residual mean square (every repeat of every cell scored the same).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    pub ss: f64,
    pub df: f64,
    pub f: Option<f64>,
    pub p: Option<f64>,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Anova {
    /// One row per axis, in the order of `levels_per_axis`.
    pub axes: Vec<Effect>,
    /// All interactions together; `None` with one run per cell (they are the residual then).
    pub interactions: Option<Effect>,
    /// The error the effects are tested against (`f`, `p` are `None`).
    pub residual: Effect,
    /// Every cell has the same number of runs (the analysis is exact, not unweighted means).
    pub(crate) balanced: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnovaError {
    #[error("configuration with levels {0:?} has no run, so the grid is incomplete")]
    MissingCell(Vec<usize>),
    #[error("a run has {got} levels but the grid has {axes} axes")]
    WrongArity { got: usize, axes: usize },
    #[error("a run has level {level} on axis {axis}, which has only {levels} values")]
    LevelOutOfRange { axis: usize, level: usize, levels: usize },
    #[error("a run's score is not a finite number")]
    NotFinite,
    #[error("an axis has no values")]
    EmptyAxis,
}

/// The main-effects ANOVA described in the module doc.
pub fn anova_main_effects(levels_per_axis: &[usize], obs: &[Observation]) -> Result<Anova, AnovaError> {
    if levels_per_axis.contains(&0) {
        return Err(AnovaError::EmptyAxis);
    }
    let axes = levels_per_axis.len();
    // Product of the levels, stopping once it exceeds the run count: a grid with more cells than runs
    // must miss a cell, and this bounds the memory below by the number of runs.
    let mut cells = 1usize;
    for &l in levels_per_axis {
        cells = cells.saturating_mul(l);
    }
    let mut sums = vec![0.0; cells.min(obs.len() + 1)];
    let mut counts = vec![0usize; sums.len()];
    let mut cell_of = Vec::with_capacity(obs.len());
    for o in obs {
        if o.levels.len() != axes {
            return Err(AnovaError::WrongArity { got: o.levels.len(), axes });
        }
        if !o.value.is_finite() {
            return Err(AnovaError::NotFinite);
        }
        let mut cell = 0usize;
        for (axis, (&level, &levels)) in o.levels.iter().zip(levels_per_axis).enumerate() {
            if level >= levels {
                return Err(AnovaError::LevelOutOfRange { axis, level, levels });
            }
            cell = cell * levels + level;
        }
        if cell < sums.len() {
            sums[cell] += o.value;
            counts[cell] += 1;
        }
        cell_of.push(cell);
    }
    if cells > obs.len() {
        // More cells than runs: find the first empty one to name it.
        let empty = (0..cells).find(|&c| c >= counts.len() || counts[c] == 0).expect("an empty cell");
        return Err(AnovaError::MissingCell(levels_of(empty, levels_per_axis)));
    }
    if let Some(empty) = counts.iter().position(|&c| c == 0) {
        return Err(AnovaError::MissingCell(levels_of(empty, levels_per_axis)));
    }

    let cell_mean: Vec<f64> = sums.iter().zip(&counts).map(|(s, &c)| s / c as f64).collect();
    let balanced = counts.iter().all(|&c| c == counts[0]);
    // Runs per cell: exact when balanced, the harmonic mean of the counts otherwise (unweighted means).
    let r = cells as f64 / counts.iter().map(|&c| 1.0 / c as f64).sum::<f64>();
    let grand = cell_mean.iter().sum::<f64>() / cells as f64;

    let mut main_ss = Vec::with_capacity(axes);
    let mut stride = cells;
    for &levels in levels_per_axis {
        stride /= levels;
        let mut marginal = vec![0.0; levels];
        for (cell, m) in cell_mean.iter().enumerate() {
            marginal[(cell / stride) % levels] += m;
        }
        let per_level = (cells / levels) as f64;
        let ss: f64 = marginal.iter().map(|s| (s / per_level - grand).powi(2)).sum::<f64>() * per_level * r;
        main_ss.push(ss);
    }
    let cells_ss = r * cell_mean.iter().map(|m| (m - grand).powi(2)).sum::<f64>();
    let within_ss: f64 = obs.iter().zip(&cell_of).map(|(o, &c)| (o.value - cell_mean[c]).powi(2)).sum();
    let within_df = (obs.len() - cells) as f64;
    let main_df: Vec<f64> = levels_per_axis.iter().map(|&l| (l - 1) as f64).collect();
    // Interactions: what the cells explain beyond the main effects (clamped: rounding can go below 0).
    let inter_ss = (cells_ss - main_ss.iter().sum::<f64>()).max(0.0);
    let inter_df = (cells - 1) as f64 - main_df.iter().sum::<f64>();

    let replicated = within_df > 0.0;
    let (res_ss, res_df) = if replicated { (within_ss, within_df) } else { (inter_ss, inter_df) };
    let total = main_ss.iter().sum::<f64>() + inter_ss + within_ss;
    let share = |ss: f64| if total > 0.0 { ss / total } else { 0.0 };
    let tested = |ss: f64, df: f64| {
        let (f, p) = f_test(ss, df, res_ss, res_df).unzip();
        Effect { ss, df, f, p, share: share(ss) }
    };
    Ok(Anova {
        axes: main_ss.iter().zip(&main_df).map(|(&ss, &df)| tested(ss, df)).collect(),
        interactions: replicated.then(|| tested(inter_ss, inter_df)),
        residual: Effect { ss: res_ss, df: res_df, f: None, p: None, share: share(res_ss) },
        balanced,
    })
}

fn f_test(ss: f64, df: f64, res_ss: f64, res_df: f64) -> Option<(f64, f64)> {
    if df <= 0.0 || res_df <= 0.0 || res_ss <= 0.0 {
        return None;
    }
    let f = (ss / df) / (res_ss / res_df);
    Some((f, FisherSnedecor::new(df, res_df).ok()?.sf(f)))
}

/// The levels of cell index `cell` (mixed radix, first axis most significant).
fn levels_of(mut cell: usize, levels_per_axis: &[usize]) -> Vec<usize> {
    let mut levels = vec![0; levels_per_axis.len()];
    for (slot, &l) in levels.iter_mut().zip(levels_per_axis).rev() {
        *slot = cell % l;
        cell /= l;
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::super::reference::*;
    use super::super::testing::assert_close;
    use super::*;

    /// Observations of a full grid in lexicographic order (last axis fastest), `reps` adjacent runs per cell.
    fn grid(levels: &[usize], reps: usize, y: &[f64]) -> Vec<Observation> {
        y.iter().enumerate().map(|(i, &value)| Observation { levels: levels_of(i / reps, levels), value }).collect()
    }

    /// `[sum_sq, df, F, PR(>F)]` as statsmodels' table; NaN F/p mean "undefined" (the residual row).
    fn assert_row(case: &str, e: &Effect, expected: [f64; 4]) {
        assert_close(&format!("{case}: sum of squares"), e.ss, expected[0]);
        assert_close(&format!("{case}: df"), e.df, expected[1]);
        match (e.f, e.p) {
            (Some(f), Some(p)) => {
                assert_close(&format!("{case}: F"), f, expected[2]);
                assert_close(&format!("{case}: p"), p, expected[3]);
            }
            _ => assert!(expected[2].is_nan() && expected[3].is_nan(), "{case}: F and p missing"),
        }
    }

    #[test]
    fn replicated_balanced_grid_matches_statsmodels_typ2_main_effects_against_seed_error() {
        let a = anova_main_effects(&[2, 3, 2], &grid(&[2, 3, 2], 3, &ANOVA3_Y)).unwrap();
        assert!(a.balanced);
        for (axis, (effect, expected)) in a.axes.iter().zip(&ANOVA3_MAIN).enumerate() {
            assert_row(&format!("axis {axis}"), effect, *expected);
        }
        assert_row("residual", &a.residual, ANOVA3_MAIN[3]);
        assert_row("interactions", &a.interactions.unwrap(), ANOVA3_INTERACTIONS);
        let shares: f64 =
            a.axes.iter().map(|e| e.share).sum::<f64>() + a.interactions.unwrap().share + a.residual.share;
        assert_close("shares sum to 1", shares, 1.0);
        let total: f64 = ANOVA3_MAIN.iter().map(|r| r[0]).sum::<f64>() + ANOVA3_INTERACTIONS[0];
        assert_close("share of axis 0", a.axes[0].share, ANOVA3_MAIN[0][0] / total);
    }

    #[test]
    fn one_run_per_cell_tests_against_the_interactions_like_the_additive_model() {
        let a = anova_main_effects(&[3, 4], &grid(&[3, 4], 1, &ANOVA2_Y)).unwrap();
        assert_eq!(a.interactions, None);
        assert_row("axis 0", &a.axes[0], ANOVA2_ADDITIVE[0]);
        assert_row("axis 1", &a.axes[1], ANOVA2_ADDITIVE[1]);
        assert_row("residual", &a.residual, ANOVA2_ADDITIVE[2]);
    }

    #[test]
    fn the_order_of_the_runs_does_not_matter() {
        let mut obs = grid(&[2, 3, 2], 3, &ANOVA3_Y);
        let forward = anova_main_effects(&[2, 3, 2], &obs).unwrap();
        obs.reverse();
        let backward = anova_main_effects(&[2, 3, 2], &obs).unwrap();
        for (f, b) in forward.axes.iter().zip(&backward.axes) {
            assert_close("sum of squares", f.ss, b.ss);
        }
    }

    #[test]
    fn unequal_runs_per_cell_use_unweighted_means() {
        // Drop one run of the first cell: still a complete grid, now unbalanced.
        let obs = grid(&[2, 3, 2], 3, &ANOVA3_Y)[1..].to_vec();
        let a = anova_main_effects(&[2, 3, 2], &obs).unwrap();
        assert!(!a.balanced);
        assert_eq!(a.residual.df, 23.0, "35 runs in 12 cells");
        // Unweighted means with cell means m and harmonic mean count r: axis 0 SS = r·6·Σ(marginal − grand)².
        let means: Vec<f64> = (0..12)
            .map(|cell| {
                let runs: Vec<f64> =
                    obs.iter().filter(|o| levels_of_cell(&o.levels) == cell).map(|o| o.value).collect();
                runs.iter().sum::<f64>() / runs.len() as f64
            })
            .collect();
        let r = 12.0 / (1.0 / 2.0 + 11.0 / 3.0);
        let grand = means.iter().sum::<f64>() / 12.0;
        let (m0, m1) = (means[..6].iter().sum::<f64>() / 6.0, means[6..].iter().sum::<f64>() / 6.0);
        assert_close("axis 0 SS", a.axes[0].ss, r * 6.0 * ((m0 - grand).powi(2) + (m1 - grand).powi(2)));
        assert!(a.axes.iter().all(|e| e.p.is_some_and(|p| (0.0..=1.0).contains(&p))));
    }

    fn levels_of_cell(levels: &[usize]) -> usize {
        levels[0] * 6 + levels[1] * 2 + levels[2]
    }

    #[test]
    fn a_missing_cell_or_bad_levels_are_named() {
        // Remove every run of cell (1, 2, 0).
        let obs: Vec<Observation> =
            grid(&[2, 3, 2], 3, &ANOVA3_Y).into_iter().filter(|o| o.levels != [1, 2, 0]).collect();
        assert_eq!(anova_main_effects(&[2, 3, 2], &obs), Err(AnovaError::MissingCell(vec![1, 2, 0])));
        // A grid far larger than the runs: refused without allocating its cells.
        let huge = [1000, 1000, 1000];
        let one = [Observation { levels: vec![0, 0, 0], value: 0.5 }];
        assert_eq!(anova_main_effects(&huge, &one), Err(AnovaError::MissingCell(vec![0, 0, 1])));
        let wrong = [Observation { levels: vec![0, 3], value: 0.5 }];
        assert_eq!(
            anova_main_effects(&[2, 3], &wrong),
            Err(AnovaError::LevelOutOfRange { axis: 1, level: 3, levels: 3 })
        );
        let short = [Observation { levels: vec![0], value: 0.5 }];
        assert_eq!(anova_main_effects(&[2, 3], &short), Err(AnovaError::WrongArity { got: 1, axes: 2 }));
        let nan = [Observation { levels: vec![0], value: f64::NAN }];
        assert_eq!(anova_main_effects(&[1], &nan), Err(AnovaError::NotFinite));
        assert_eq!(anova_main_effects(&[2, 0], &[]), Err(AnovaError::EmptyAxis));
    }

    #[test]
    fn identical_repeats_leave_f_undefined() {
        // Every run of a cell scores the same: no seed-to-seed error to test against.
        let y: Vec<f64> = (0..8).map(|i| 0.5 + 0.1 * (i / 2) as f64).collect();
        let a = anova_main_effects(&[2, 2], &grid(&[2, 2], 2, &y)).unwrap();
        assert_eq!(a.residual.ss, 0.0);
        assert!(a.axes.iter().all(|e| e.f.is_none() && e.p.is_none()));
        assert!(a.axes[0].ss > 0.0);
    }
}
