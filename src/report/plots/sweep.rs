//! The pictures of a sweep (paper §3.2, Fig. 3.2.x): per axis, mean error curves with a
//! 95% confidence band per axis value, and final accuracies (the kept model's, the same
//! numbers as summary.csv) with 95% confidence intervals, each on a y-axis fitted to the
//! data, legends outside the plot areas, and diverged or failed runs marked.

use super::data::read_sweep_spec;
use super::legend::{self, Entry, Mark};
use super::run::{epoch_range, set_color, LineFrame};
use super::{draw_title, error_axes, finite_segments, fitted_range, font, save_png, Canvas, PALETTE};
use crate::data::split::{PerSplit, Split};
use crate::report::summary::{read_run, Records, RunRecord};
use crate::results::layout::{run_dir, METRICS_FILE};
use crate::results::metrics::{read_metrics, Metrics};
use crate::results::plan::{read_in as read_plan_of, PlanRow, PlanTable};
use crate::results::rundir::State;
use crate::stats::{t_interval, MeanCi};
use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub(crate) const ERROR_SIZE: (u32, u32) = (1500, 560);
pub(crate) const FINAL_SIZE: (u32, u32) = (1500, 560);

/// Confidence level of every band and error bar (t-based, `stats::t_interval`).
pub(crate) const LEVEL: f64 = 0.95;

/// The mark of diverged and failed runs: a red cross, distinct from every palette colour.
pub(crate) const FAILED_MARK: RGBColor = RGBColor(200, 0, 0);

/// What the sweep plots draw from besides the plan: every run's record (the reading
/// summary.csv makes, so the plotted results are the kept model's) and, per
/// configuration, the test accuracy of its ensemble of repeats when it is known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepResults {
    /// By run id (`baseline/rep-1`); a planned run absent here has not finished.
    pub runs: HashMap<String, RunRecord>,
    /// By configuration id (`baseline`, `momentum=0.9`); absent or `None`: not known.
    pub ensemble_test_acc: HashMap<String, Option<f64>>,
}

impl SweepResults {
    /// The records a sweep holds in memory (`Records` in plan order), without reading disk.
    pub(crate) fn from_records(plan: &crate::spec::Plan, records: &Records) -> Self {
        let runs = plan.runs.iter().zip(&records.runs).map(|(run, rec)| (run.id.clone(), rec.clone())).collect();
        let ensemble_test_acc = (plan.configs.iter().enumerate())
            .map(|(i, c)| (c.id.clone(), records.ensemble(i).map(|e| e.accuracy)))
            .collect();
        Self { runs, ensemble_test_acc }
    }

    /// Every planned run's record read from `sweep_dir/runs/` (`pinniped report`); no
    /// ensembles (set `ensemble_test_acc` before drawing to show them).
    pub fn read(sweep_dir: &Path) -> Result<Self> {
        Ok(Self::read_plan(sweep_dir, &read_plan_of(sweep_dir)?))
    }

    fn read_plan(sweep_dir: &Path, plan: &PlanTable) -> Self {
        let runs = plan.runs.iter().map(|r| (r.id.clone(), read_run(&run_dir(sweep_dir, &r.id)))).collect();
        Self { runs, ensemble_test_acc: HashMap::new() }
    }
}

/// Mean, count and confidence interval of one set's results over a group's done runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SetStat {
    /// The mean summary.csv shows (`report::stats::mean_std`, finite values only).
    pub mean: f64,
    pub n: usize,
    /// `None` for n = 1: one run says nothing about the spread.
    pub ci: Option<MeanCi>,
}

impl SetStat {
    fn of(values: &[f64]) -> Option<Self> {
        let mean = crate::report::stats::mean_std(values).0?;
        Some(Self { mean, n: values.len(), ci: t_interval(values, LEVEL) })
    }

    /// The interval's ends clipped to [0, 1], where accuracies and errors live.
    fn bounds(&self) -> (f64, f64) {
        self.ci.map_or((self.mean, self.mean), |c| (c.low.max(0.0), c.high.min(1.0)))
    }
}

/// One epoch of a mean error curve: the mean over runs and its 95% band.
struct ErrorPoint {
    epoch: f64,
    mean: f64,
    low: f64,
    high: f64,
}

/// A `done` run: its curves, and its result as the summary has it (the kept model's
/// accuracies under early stopping or refit, not necessarily the last row's).
struct DoneRun {
    metrics: Metrics,
    result: PerSplit<Option<f64>>,
}

/// The runs behind one value of one axis.
struct Group {
    value: String,
    /// Runs whose `status.json` says `done`, with their metrics (if readable).
    done: Vec<Rc<DoneRun>>,
    /// The epoch each diverged run diverged in.
    diverged: Vec<usize>,
    failed: usize,
    /// Planned runs without a result yet (not run, or still running).
    missing: usize,
    /// Ensemble test accuracy: the configuration's, or the mean over the configurations
    /// a grid pools under this value; `None` unless every one of them is known.
    ensemble: Option<f64>,
}

impl Group {
    /// `3 diverged, 1 failed`; empty when every run is done.
    fn not_done(&self) -> String {
        let mut parts = Vec::new();
        for (n, what) in [(self.diverged.len(), "diverged"), (self.failed, "failed"), (self.missing, "not run")] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        parts.join(", ")
    }

    fn legend(&self) -> String {
        let mut s = format!("{} (n={}", self.value, self.done.len());
        let not_done = self.not_done();
        if !not_done.is_empty() {
            s += &format!("; {not_done}");
        }
        s + ")"
    }

    /// The mean error curve of `set` over the done runs, per epoch
    /// that has values; the band is the 95% interval of the mean (none for one run).
    fn error_curve(&self, set: Split) -> Vec<ErrorPoint> {
        let mut by_epoch: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for run in &self.done {
            for (e, a) in run.metrics.acc(set).filter(|(_, a)| a.is_finite()) {
                by_epoch.entry(e).or_default().push(1.0 - a);
            }
        }
        by_epoch
            .into_iter()
            .filter_map(|(e, v)| {
                let stat = SetStat::of(&v)?;
                let (lo, hi) = stat.bounds();
                Some(ErrorPoint { epoch: e as f64, mean: stat.mean, low: lo, high: hi })
            })
            .collect()
    }

    fn final_acc(&self, set: Split) -> Option<SetStat> {
        let results = self.done.iter().filter_map(|run| run.result[set].filter(|a| a.is_finite()));
        SetStat::of(&results.collect::<Vec<_>>())
    }
}

/// Orders axis values as `sweep.toml` lists them (matching numerically where the text
/// differs, e.g. `0` vs `0.0`); values it does not list keep the plan's order, last.
fn order_values(found: Vec<String>, listed: Option<&Vec<String>>) -> Vec<String> {
    let rank = |v: &String| {
        listed.and_then(|l| {
            l.iter().position(|x| x == v || matches!((x.parse::<f64>(), v.parse::<f64>()), (Ok(a), Ok(b)) if a == b))
        })
    };
    let mut keyed: Vec<(Option<usize>, usize, String)> =
        found.into_iter().enumerate().map(|(i, v)| (rank(&v), i, v)).collect();
    keyed.sort_by_key(|(r, i, _)| (r.unwrap_or(usize::MAX), *i));
    keyed.into_iter().map(|(_, _, v)| v).collect()
}

/// The planned runs behind each value of axis `a`, values in sweep order. One-at-a-time
/// designs keep the runs whose other axes sit at the baseline; grids keep all
/// (marginalising over the other axes).
pub(crate) fn axis_members<'p>(
    plan: &'p PlanTable,
    a: usize,
    one_at_a_time: bool,
    listed: Option<&Vec<String>>,
) -> Vec<(String, Vec<&'p PlanRow>)> {
    let baseline = plan.baseline();
    let belongs = |r: &PlanRow| {
        !one_at_a_time
            || baseline.is_some_and(|b| r.values.iter().zip(b).enumerate().all(|(i, (v, bv))| i == a || v == bv))
    };
    let mut found: Vec<String> = Vec::new();
    for r in plan.runs.iter().filter(|r| belongs(r)) {
        if let Some(v) = r.values.get(a) {
            if !found.contains(v) {
                found.push(v.clone());
            }
        }
    }
    order_values(found, listed)
        .into_iter()
        .map(|value| {
            let runs = plan.runs.iter().filter(|r| belongs(r) && r.values.get(a) == Some(&value)).collect();
            (value, runs)
        })
        .collect()
}

/// Keeps file names to letters, digits and `_.-`.
fn file_safe(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).collect()
}

/// A sweep's runs grouped per axis value, as its plots show them.
struct SweepGroups {
    name: String,
    one_at_a_time: bool,
    axes: Vec<(String, Vec<Group>)>,
}

fn sweep_groups(sweep_dir: &Path, plan: &PlanTable, results: &SweepResults) -> Result<SweepGroups> {
    let spec = read_sweep_spec(sweep_dir);
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| sweep_dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()));
    let one_at_a_time = spec.design.as_deref() == Some("one-at-a-time") && plan.baseline().is_some();

    // Each done run's metrics once, however many axes it appears under.
    let mut done: HashMap<&str, Rc<DoneRun>> = HashMap::new();
    for run in &plan.runs {
        let Some(record) = results.runs.get(&run.id).filter(|r| r.state == Some(State::Done)) else { continue };
        // Without a metrics.csv it has no curves, but still its result (as in summary.csv).
        let metrics = read_metrics(&run_dir(sweep_dir, &run.id).join(METRICS_FILE))?.unwrap_or_default();
        done.insert(&run.id, Rc::new(DoneRun { metrics, result: record.final_accs }));
    }
    let mut axes = Vec::new();
    for (a, key) in plan.axes.iter().enumerate() {
        let listed = spec.axes.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let groups: Vec<Group> = axis_members(plan, a, one_at_a_time, listed)
            .into_iter()
            .map(|(value, members)| group(value, &members, &done, results))
            .collect();
        axes.push((key.clone(), groups));
    }
    Ok(SweepGroups { name, one_at_a_time, axes })
}

fn group(value: String, members: &[&PlanRow], done: &HashMap<&str, Rc<DoneRun>>, results: &SweepResults) -> Group {
    let mut g = Group { value, done: Vec::new(), diverged: Vec::new(), failed: 0, missing: 0, ensemble: None };
    for run in members {
        let record = results.runs.get(&run.id);
        match (done.get(run.id.as_str()), record.and_then(|r| r.state)) {
            (Some(d), _) => g.done.push(d.clone()),
            (None, Some(State::Diverged)) => g.diverged.push(record.and_then(|r| r.epoch).unwrap_or(0)),
            (None, Some(State::Failed)) => g.failed += 1,
            // Pruned at a rung: not a result of the curve's epochs, like one not run.
            (None, Some(State::Pruned)) => g.missing += 1,
            // `done` runs are all in `done`; anything else has not finished.
            (None, Some(State::Done) | None) => g.missing += 1,
        }
    }
    let mut configs: Vec<&str> = members.iter().map(|r| r.config.as_str()).collect();
    configs.sort_unstable();
    configs.dedup();
    let known: Option<Vec<f64>> = configs
        .iter()
        .map(|c| results.ensemble_test_acc.get(*c).copied().flatten().filter(|v| v.is_finite()))
        .collect();
    g.ensemble = known.and_then(|v| crate::report::stats::mean_std(&v).0);
    g
}

/// One value of one axis in an `axis-<key>-final.png`.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalPoint {
    pub axis: String,
    pub value: String,
    /// Over the done runs' train, valid and test results (the numbers summary.csv
    /// averages: the kept model's), by `Split::index`.
    pub accs: PerSplit<Option<SetStat>>,
    /// The test accuracy of the ensemble of repeats, when given (drawn as a diamond).
    pub ensemble_test_acc: Option<f64>,
    pub done: usize,
    pub diverged: usize,
    pub failed: usize,
    pub missing: usize,
}

impl FinalPoint {
    fn of(axis: &str, g: &Group) -> Self {
        Self {
            axis: axis.to_owned(),
            value: g.value.clone(),
            accs: PerSplit::from_fn(|s| g.final_acc(s)),
            ensemble_test_acc: g.ensemble,
            done: g.done.len(),
            diverged: g.diverged.len(),
            failed: g.failed,
            missing: g.missing,
        }
    }
}

/// What the `axis-<key>-final.png` plots draw, per axis and value, from the run files.
pub fn final_points(sweep_dir: &Path) -> Result<Vec<FinalPoint>> {
    let plan = read_plan_of(sweep_dir)?;
    final_points_with(sweep_dir, &SweepResults::read_plan(sweep_dir, &plan))
}

/// [`final_points`] from results already in hand.
pub(crate) fn final_points_with(sweep_dir: &Path, results: &SweepResults) -> Result<Vec<FinalPoint>> {
    let plan = read_plan_of(sweep_dir)?;
    let sweep = sweep_groups(sweep_dir, &plan, results)?;
    Ok(sweep.axes.iter().flat_map(|(key, groups)| groups.iter().map(|g| FinalPoint::of(key, g))).collect())
}

/// Draws `axis-<key>-error.png` and `axis-<key>-final.png` for every axis of the sweep
/// in `sweep_dir` (needs its `plan.csv`) into `sweep_dir/plots/`, reading each run's
/// result from its directory. Only runs whose `status.json` says `done` count; one-at-a-time
/// designs hold the other axes at the baseline, other designs average over them.
pub fn plot_sweep(sweep_dir: &Path) -> Result<Vec<PathBuf>> {
    let plan = read_plan_of(sweep_dir)?;
    plot_sweep_with(sweep_dir, &SweepResults::read_plan(sweep_dir, &plan))
}

/// [`plot_sweep`] from results already in hand (a sweep's in-memory records, and the
/// ensembles' accuracies where they are known).
pub(crate) fn plot_sweep_with(sweep_dir: &Path, results: &SweepResults) -> Result<Vec<PathBuf>> {
    Ok(draw_sweep(sweep_dir, results)?.into_iter().map(|(path, _)| path).collect())
}

/// One written picture and where each of its panels' data landed.
pub(crate) type Drawn = (PathBuf, Vec<(Split, LineFrame)>);

/// Draws every sweep picture; each path comes with its panels' frames (tests map data
/// to pixels with them).
pub(crate) fn draw_sweep(sweep_dir: &Path, results: &SweepResults) -> Result<Vec<Drawn>> {
    let plan = read_plan_of(sweep_dir)?;
    let SweepGroups { name, one_at_a_time, axes } = sweep_groups(sweep_dir, &plan, results)?;
    let out = sweep_dir.join(crate::results::layout::PLOTS_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    for (key, groups) in &axes {
        let (key, groups) = (key.as_str(), groups.as_slice());
        if groups.is_empty() {
            continue;
        }
        let excluded: usize = groups.iter().map(|g| g.diverged.len() + g.failed + g.missing).sum();
        let how = if one_at_a_time { "other axes at baseline" } else { "averaged over the other axes" };
        let note = format!("{how}; {excluded} run(s) not done (diverged/failed/not run) are not in the means");
        let base = file_safe(key);

        let path = out.join(format!("axis-{base}-error.png"));
        let title = format!("{name}: classification error by {key}, mean over runs with 95% CI band\n{note}");
        if let Some(frames) = draw_axis_error(&path, &title, key, groups)? {
            written.push((path, frames));
        }
        let path = out.join(format!("axis-{base}-final.png"));
        let title = format!("{name}: accuracy of the kept model by {key}, mean with 95% CI (t)\n{note}");
        let points: Vec<FinalPoint> = groups.iter().map(|g| FinalPoint::of(key, g)).collect();
        if let Some(frames) = draw_axis_final(&path, &title, key, &points)? {
            written.push((path, frames));
        }
    }
    written.extend(super::importance::plot_importance(sweep_dir)?.map(|path| (path, Vec::new())));
    Ok(written)
}

/// The sets that have a value in any of `series`, each with a panel.
/// When no set has one but runs diverged or failed, one validation panel still shows
/// their marks: a sweep whose every run diverged gets a picture that says so.
fn sets_with_values(has: impl Fn(Split) -> bool, any_failed: bool) -> Vec<Split> {
    let sets: Vec<Split> = Split::ALL.into_iter().filter(|s| has(*s)).collect();
    if sets.is_empty() && any_failed {
        vec![Split::Valid]
    } else {
        sets
    }
}

/// `axis-<key>-error.png`: one panel per evaluated set; returns each panel's frame, or
/// `None` (nothing written) when no run has a finite accuracy.
fn draw_axis_error(path: &Path, title: &str, key: &str, groups: &[Group]) -> Result<Option<Vec<(Split, LineFrame)>>> {
    let curves: PerSplit<Vec<Vec<ErrorPoint>>> =
        PerSplit::from_fn(|s| groups.iter().map(|g| g.error_curve(s)).collect());
    let any_diverged = groups.iter().any(|g| !g.diverged.is_empty());
    let sets = sets_with_values(|s| curves[s].iter().any(|c| !c.is_empty()), any_diverged);
    let diverged_epochs = groups.iter().flat_map(|g| g.diverged.iter().map(|e| *e as f64));
    let epochs = curves.iter().flat_map(|(_, c)| c).flatten().map(|p| p.epoch).chain(diverged_epochs);
    let (first, last) = epochs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), e| (a.min(e), b.max(e)));
    if sets.is_empty() {
        return Ok(None);
    }
    let x = epoch_range(first, last);
    let mut pixels = Vec::new();
    let canvas = Canvas::new(&mut pixels, ERROR_SIZE)?;
    let ctx = || format!("drawing {}", path.display());
    draw_title(&canvas.area, title, ERROR_SIZE.0).with_context(ctx)?;
    let mut entries: Vec<Entry> = groups
        .iter()
        .enumerate()
        .map(|(g, group)| Entry {
            mark: Mark::Line,
            color: PALETTE[g % PALETTE.len()],
            text: format!("{key}={}", group.legend()),
        })
        .collect();
    if any_diverged {
        entries.push(Entry {
            mark: Mark::Cross,
            color: FAILED_MARK,
            text: "a run diverged in this epoch (ringed in its value's colour; not in the means)".into(),
        });
    }
    let legend = legend::height(&canvas.area, &entries, ERROR_SIZE.0);
    let (_, below_title) = canvas.area.split_vertically(52);
    let (body, legend_area) = below_title.split_vertically(ERROR_SIZE.1 - 52 - legend);
    let mut diverged_at: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        for e in &group.diverged {
            let values = diverged_at.entry(*e).or_default();
            if !values.contains(&g) {
                values.push(g);
            }
        }
    }
    let mut frames = Vec::new();
    for (panel, set) in body.split_evenly((1, sets.len())).iter().zip(&sets) {
        let set_curves = &curves[*set];
        let y = fitted_range(set_curves.iter().flatten().flat_map(|p| [p.mean, p.low, p.high])).unwrap_or((0.0, 1.0));
        let mut chart =
            error_axes(panel, Some(set.label()), x, y, "Classification error", (10, 40, 52)).with_context(ctx)?;
        for (g, curve) in set_curves.iter().enumerate() {
            let color = PALETTE[g % PALETTE.len()];
            let points: Vec<(f64, f64)> = curve.iter().map(|p| (p.epoch, p.mean)).collect();
            if curve.len() >= 2 {
                let mut poly: Vec<(f64, f64)> = curve.iter().map(|p| (p.epoch, p.high)).collect();
                poly.extend(curve.iter().rev().map(|p| (p.epoch, p.low)));
                chart.draw_series([Polygon::new(poly, color.mix(0.15).filled())]).with_context(ctx)?;
            }
            let style = color.stroke_width(2);
            let segments = finite_segments(points);
            chart.draw_series(segments.iter().map(|s| PathElement::new(s.clone(), style))).with_context(ctx)?;
            let dots = segments.iter().filter(|s| s.len() == 1).map(|s| Circle::new(s[0], 3, color.filled()));
            chart.draw_series(dots).with_context(ctx)?;
        }
        // Where runs diverged: a cross on the top edge ringed in the value's colour, one
        // below another where several values diverged in the same epoch.
        for (epoch, values) in &diverged_at {
            let (px, py) = chart.backend_coord(&(*epoch as f64, y.1));
            for (k, g) in values.iter().enumerate() {
                let at = (px, py + 7 + 18 * k as i32);
                canvas.area.draw(&Cross::new(at, 5, FAILED_MARK.stroke_width(3))).with_context(ctx)?;
                canvas.area.draw(&Circle::new(at, 8, PALETTE[g % PALETTE.len()].stroke_width(2))).with_context(ctx)?;
            }
        }
        frames.push((*set, LineFrame::of(&chart, x, y)));
    }
    legend::draw(&legend_area, &entries, ERROR_SIZE.0).with_context(ctx)?;
    drop((body, legend_area, below_title));
    let size = canvas.finish(path)?;
    save_png(path, pixels, size)?;
    Ok(Some(frames))
}

/// Horizontal offset of each set's mark within a value's slot, and of the ensemble's.
const ENSEMBLE_OFFSET: f64 = 0.22;

/// `axis-<key>-final.png`: one panel per evaluated set, each value's mean (dot) with its
/// 95% CI (bar; none for n = 1), the ensemble's test accuracy (diamond), and a red cross
/// on the x-axis under each value with diverged or failed runs. Returns each panel's
/// frame, or `None` (nothing written) when no run has a result.
fn draw_axis_final(
    path: &Path,
    title: &str,
    key: &str,
    points: &[FinalPoint],
) -> Result<Option<Vec<(Split, LineFrame)>>> {
    let any_failed = points.iter().any(|p| p.diverged + p.failed > 0);
    let sets = sets_with_values(|s| points.iter().any(|p| p.accs[s].is_some()), any_failed);
    if sets.is_empty() {
        return Ok(None);
    }
    let n = points.len();
    let mut pixels = Vec::new();
    let canvas = Canvas::new(&mut pixels, FINAL_SIZE)?;
    let ctx = || format!("drawing {}", path.display());
    draw_title(&canvas.area, title, FINAL_SIZE.0).with_context(ctx)?;
    let mut entries: Vec<Entry> = sets
        .iter()
        .map(|s| Entry { mark: Mark::Dot, color: set_color(*s), text: format!("{}: mean of done runs", s.label()) })
        .collect();
    entries.push(Entry {
        mark: Mark::Bar,
        color: BLACK,
        text: "95% CI of the mean (t; none for n = 1; uncapped where it passes 0 or 1)".into(),
    });
    if points.iter().any(|p| p.ensemble_test_acc.is_some()) {
        entries.push(Entry {
            mark: Mark::Diamond,
            color: BLACK,
            text: "test accuracy of the ensemble of repeats".into(),
        });
    }
    if points.iter().any(|p| p.diverged + p.failed > 0) {
        entries.push(Entry {
            mark: Mark::Cross,
            color: FAILED_MARK,
            text: "diverged or failed runs (not in the means)".into(),
        });
    }
    let legend = legend::height(&canvas.area, &entries, FINAL_SIZE.0);
    let (_, below_title) = canvas.area.split_vertically(52);
    let (body, legend_area) = below_title.split_vertically(FINAL_SIZE.1 - 52 - legend);
    let label = |x: &f64| super::category_at(*x, n).map_or_else(String::new, |i| points[i].value.clone());
    let mut frames = Vec::new();
    for (panel, set) in body.split_evenly((1, sets.len())).iter().zip(&sets) {
        let s = *set;
        let color = set_color(*set);
        let ensemble = |p: &FinalPoint| if *set == Split::Test { p.ensemble_test_acc } else { None };
        let values = points.iter().flat_map(|p| {
            let (lo, hi) = p.accs[s].map_or((f64::NAN, f64::NAN), |st| st.bounds());
            [p.accs[s].map_or(f64::NAN, |st| st.mean), lo, hi, ensemble(p).unwrap_or(f64::NAN)]
        });
        let y = fitted_range(values).unwrap_or((0.0, 1.0));
        let x = (-0.5, n as f64 - 0.5);
        let mut chart = ChartBuilder::on(panel)
            .caption(set.label(), font(15))
            .margin(10)
            .x_label_area_size(76)
            .y_label_area_size(52)
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .with_context(ctx)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&label)
            .y_label_formatter(&super::unit_label)
            .x_desc(key)
            .y_desc("Accuracy (kept model)")
            .label_style(font(12))
            .axis_desc_style(font(14))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .with_context(ctx)?;
        for (i, p) in points.iter().enumerate() {
            let xi = i as f64;
            if let Some(st) = p.accs[s] {
                if let Some(ci) = st.ci {
                    // A stem and two caps (plotters' ErrorBar needs another feature); an end
                    // beyond [0, 1] (a t-interval can pass it) stops at the axis without a cap.
                    let (lo, hi) = st.bounds();
                    let stroke = color.stroke_width(2);
                    let cap = |v: f64| PathElement::new([(xi - 0.08, v), (xi + 0.08, v)], stroke);
                    let mut bar = vec![PathElement::new([(xi, lo), (xi, hi)], stroke)];
                    bar.extend((lo == ci.low).then(|| cap(lo)));
                    bar.extend((hi == ci.high).then(|| cap(hi)));
                    chart.draw_series(bar).with_context(ctx)?;
                }
                chart.draw_series([Circle::new((xi, st.mean), 5, color.filled())]).with_context(ctx)?;
            }
            if let Some(e) = ensemble(p) {
                canvas
                    .area
                    .draw(&legend::diamond(chart.backend_coord(&(xi + ENSEMBLE_OFFSET, e)), BLACK))
                    .with_context(ctx)?;
            }
            // Under the value's tick label: its n, and what did not finish.
            let (px, py) = chart.backend_coord(&(xi, y.0));
            let failed = p.diverged + p.failed;
            if failed > 0 {
                canvas.area.draw(&Cross::new((px, py - 8), 6, FAILED_MARK.stroke_width(3))).with_context(ctx)?;
            }
            let mut note = format!("n={}", p.done);
            for (k, what) in [(p.diverged, "diverged"), (p.failed, "failed"), (p.missing, "not run")] {
                if k > 0 {
                    note += &format!(", {k} {what}");
                }
            }
            let note_color = if failed > 0 { FAILED_MARK } else { RGBColor(90, 90, 90) };
            let style = font(11).color(&note_color).pos(Pos::new(HPos::Center, VPos::Top));
            canvas.area.draw_text(&note, &style, (px, py + 26)).with_context(ctx)?;
        }
        frames.push((*set, LineFrame::of(&chart, x, y)));
    }
    legend::draw(&legend_area, &entries, FINAL_SIZE.0).with_context(ctx)?;
    drop((body, legend_area, below_title));
    let size = canvas.finish(path)?;
    save_png(path, pixels, size)?;
    Ok(Some(frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanTable {
        let run = |id: &str, config: &str, v: [&str; 2]| PlanRow {
            id: id.into(),
            config: config.into(),
            values: v.iter().map(|s| s.to_string()).collect(),
        };
        PlanTable {
            axes: vec!["a".into(), "b".into()],
            runs: vec![
                run("baseline/rep-1", "baseline", ["1", "x"]),
                run("baseline/rep-2", "baseline", ["1", "x"]),
                run("a=2/rep-1", "a=2", ["2", "x"]),
                run("b=y/rep-1", "b=y", ["1", "y"]),
                run("a=2,b=y/rep-1", "a=2,b=y", ["2", "y"]),
            ],
        }
    }

    #[test]
    fn one_at_a_time_holds_other_axes_at_baseline() {
        let p = plan();
        let ids = |g: Vec<(String, Vec<&PlanRow>)>| {
            g.into_iter().map(|(v, rs)| (v, rs.iter().map(|r| r.id.clone()).collect::<Vec<_>>())).collect::<Vec<_>>()
        };
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ids(axis_members(&p, 0, true, None)),
            vec![("1".into(), s(&["baseline/rep-1", "baseline/rep-2"])), ("2".into(), s(&["a=2/rep-1"]))]
        );
        // A grid marginalises: value 2 of `a` pools both b values; `listed` orders the values.
        let listed = s(&["y", "x"]);
        assert_eq!(
            ids(axis_members(&p, 1, false, Some(&listed))),
            vec![
                ("y".into(), s(&["b=y/rep-1", "a=2,b=y/rep-1"])),
                ("x".into(), s(&["baseline/rep-1", "baseline/rep-2", "a=2/rep-1"]))
            ]
        );
    }

    #[test]
    fn values_follow_the_sweep_order() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let listed = s(&["1", "40", "80", "160"]);
        assert_eq!(order_values(s(&["160", "1", "80", "40"]), Some(&listed)), listed);
        assert_eq!(order_values(s(&["0.0", "7", "1"]), Some(&s(&["1", "0"]))), s(&["1", "0.0", "7"]));
        assert_eq!(order_values(s(&["b", "a"]), None), s(&["b", "a"]));
    }
}
