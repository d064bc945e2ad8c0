//! The pictures of a sweep (paper §3.2, Fig. 3.2.x): per axis, mean error curves with
//! a ±1 std band per axis value, and final accuracies with error bars.

use super::data::{read_metrics, read_plan, read_sweep_spec, Metrics, Plan, PlannedRun, Set};
use super::run::epoch_range;
use super::{draw_title, error_axes, finite_segments, font, save_png, Canvas, PALETTE};
use crate::exec::rundir::State;
use crate::report::summary::read_run;
use anyhow::{bail, Context, Result};
use plotters::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub const ERROR_SIZE: (u32, u32) = (1500, 520);
pub const FINAL_SIZE: (u32, u32) = (800, 600);

/// Mean and spread of a band or error bar: the summary's `report::stats::mean_std` (one
/// definition for both), with the undefined spread of a single run drawn as no band.
fn mean_std(values: &[f64]) -> Option<(f64, f64)> {
    match crate::report::stats::mean_std(values) {
        (Some(mean), std) => Some((mean, std.unwrap_or(0.0))),
        (None, _) => None,
    }
}

/// A `done` run: its curves, and its result as the summary has it (the kept model's
/// accuracies under early stopping or refit, not necessarily the last row's).
struct DoneRun {
    metrics: Metrics,
    result: [Option<f64>; 3],
}

/// The runs behind one value of one axis.
struct Group {
    value: String,
    /// Runs whose `status.json` says `done`, with their metrics (if readable).
    done: Vec<Rc<DoneRun>>,
    /// Planned runs that did not finish as `done` (diverged, failed, not run).
    excluded: usize,
}

impl Group {
    fn legend(&self) -> String {
        let mut s = format!("{} (n={}", self.value, self.done.len());
        if self.excluded > 0 {
            s += &format!(", {} excluded", self.excluded);
        }
        s + ")"
    }

    /// `(epoch, mean error, std)` for `set` over the done runs, per epoch that has values.
    fn error_curve(&self, set: Set) -> Vec<(f64, f64, f64)> {
        let mut by_epoch: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for run in &self.done {
            for (e, a) in run.metrics.acc(set).filter(|(_, a)| a.is_finite()) {
                by_epoch.entry(e).or_default().push(1.0 - a);
            }
        }
        by_epoch.into_iter().filter_map(|(e, v)| mean_std(&v).map(|(m, s)| (e as f64, m, s))).collect()
    }

    fn final_acc(&self, set: Set) -> Option<(f64, f64)> {
        let results = self.done.iter().filter_map(|run| run.result[set.index()].filter(|a| a.is_finite()));
        mean_std(&results.collect::<Vec<_>>())
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
pub fn axis_members<'p>(
    plan: &'p Plan,
    a: usize,
    one_at_a_time: bool,
    listed: Option<&Vec<String>>,
) -> Vec<(String, Vec<&'p PlannedRun>)> {
    let baseline = plan.baseline();
    let belongs = |r: &PlannedRun| {
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

fn sweep_groups(sweep_dir: &Path) -> Result<SweepGroups> {
    let plan_path = sweep_dir.join("plan.csv");
    let Some(plan) = read_plan(&plan_path)? else {
        bail!("{}: not found or empty; is {} a sweep directory?", plan_path.display(), sweep_dir.display())
    };
    let spec = read_sweep_spec(&sweep_dir.join("sweep.toml"));
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| sweep_dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()));
    let one_at_a_time = spec.design.as_deref() == Some("one-at-a-time") && plan.baseline().is_some();

    // Each run's metrics once, however many axes it appears under.
    let mut runs: HashMap<&str, Option<Rc<DoneRun>>> = HashMap::new();
    for run in &plan.runs {
        let dir = sweep_dir.join("runs").join(&run.id);
        // The same reading of a run as summary.csv's: one source for "the run's result".
        let record = read_run(&dir);
        let m = match record.state {
            Some(State::Done) => read_metrics(&dir.join("metrics.csv"))?
                .map(|metrics| Rc::new(DoneRun { metrics, result: record.final_accs })),
            _ => None,
        };
        runs.insert(&run.id, m);
    }
    let mut axes = Vec::new();
    for (a, key) in plan.axes.iter().enumerate() {
        let listed = spec.axes.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let groups: Vec<Group> = axis_members(&plan, a, one_at_a_time, listed)
            .into_iter()
            .map(|(value, members)| {
                let done: Vec<Rc<DoneRun>> = members.iter().filter_map(|r| runs[r.id.as_str()].clone()).collect();
                Group { excluded: members.len() - done.len(), done, value }
            })
            .collect();
        axes.push((key.clone(), groups));
    }
    Ok(SweepGroups { name, one_at_a_time, axes })
}

/// One point of an `axis-<key>-final.png`.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalPoint {
    pub axis: String,
    pub value: String,
    /// Mean and std of the done runs' train, valid and test results (the numbers
    /// summary.csv averages), by `Set::index`.
    pub accs: [Option<(f64, f64)>; 3],
}

/// What the `axis-<key>-final.png` plots draw, per axis and value.
pub fn final_points(sweep_dir: &Path) -> Result<Vec<FinalPoint>> {
    let sweep = sweep_groups(sweep_dir)?;
    Ok(sweep
        .axes
        .iter()
        .flat_map(|(key, groups)| {
            groups.iter().map(move |g| FinalPoint {
                axis: key.clone(),
                value: g.value.clone(),
                accs: Set::ALL.map(|s| g.final_acc(s)),
            })
        })
        .collect())
}

/// Draws `axis-<key>-error.png` and `axis-<key>-final.png` for every axis of the sweep
/// in `sweep_dir` (needs its `plan.csv`) into `sweep_dir/plots/`. Only runs whose
/// `status.json` says `done` count; one-at-a-time designs hold the other axes at the
/// baseline, other designs average over them.
pub fn plot_sweep(sweep_dir: &Path) -> Result<Vec<PathBuf>> {
    let SweepGroups { name, one_at_a_time, axes } = sweep_groups(sweep_dir)?;
    let out = sweep_dir.join("plots");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    for (key, groups) in &axes {
        let (key, groups) = (key.as_str(), groups.as_slice());
        if groups.is_empty() {
            continue;
        }
        let excluded: usize = groups.iter().map(|g| g.excluded).sum();
        let how = if one_at_a_time { "other axes at baseline" } else { "averaged over the other axes" };
        let note = format!("{how}; {excluded} run(s) not done (diverged/failed/missing) excluded");
        let base = file_safe(key);

        let path = out.join(format!("axis-{base}-error.png"));
        let title = format!("{name}: classification error by {key}, mean ± 1 std over runs\n{note}");
        if draw_axis_error(&path, &title, key, groups)? {
            written.push(path);
        }
        let path = out.join(format!("axis-{base}-final.png"));
        let title = format!("{name}: final accuracy by {key}, mean ± 1 std\n{note}");
        if draw_axis_final(&path, &title, key, groups)? {
            written.push(path);
        }
    }
    written.extend(super::importance::plot_importance(sweep_dir)?);
    Ok(written)
}

fn draw_axis_error(path: &Path, title: &str, key: &str, groups: &[Group]) -> Result<bool> {
    let curves: Vec<Vec<Vec<(f64, f64, f64)>>> =
        Set::ALL.iter().map(|s| groups.iter().map(|g| g.error_curve(*s)).collect()).collect();
    let epochs = curves.iter().flatten().flatten().map(|p| p.0);
    let (first, last) = epochs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), e| (a.min(e), b.max(e)));
    if first > last {
        return Ok(false);
    }
    let x = epoch_range(first, last);
    let mut pixels = Vec::new();
    let canvas = Canvas::new(&mut pixels, ERROR_SIZE)?;
    let ctx = || format!("drawing {}", path.display());
    draw_title(&canvas.area, title, ERROR_SIZE.0).with_context(ctx)?;
    let (_, body) = canvas.area.split_vertically(52);
    for (i, (panel, set)) in body.split_evenly((1, 3)).iter().zip(Set::ALL).enumerate() {
        let mut chart =
            error_axes(panel, Some(set.label()), x, "Classification error", (10, 40, 52)).with_context(ctx)?;
        for (g, (group, curve)) in groups.iter().zip(&curves[i]).enumerate() {
            let color = PALETTE[g % PALETTE.len()];
            let points: Vec<(f64, f64)> = curve.iter().map(|p| (p.0, p.1)).collect();
            // Bands per stretch of consecutive points, so gaps stay gaps.
            for seg in finite_segments(curve.iter().map(|p| (p.0, p.2))) {
                if seg.len() < 2 {
                    continue;
                }
                let band_of = |e: f64, sign: f64| {
                    let p = curve.iter().find(|p| p.0 == e).expect("segment points come from the curve");
                    (e, (p.1 + sign * p.2).clamp(0.0, 1.0))
                };
                let mut poly: Vec<(f64, f64)> = seg.iter().map(|p| band_of(p.0, 1.0)).collect();
                poly.extend(seg.iter().rev().map(|p| band_of(p.0, -1.0)));
                chart.draw_series([Polygon::new(poly, color.mix(0.2).filled())]).with_context(ctx)?;
            }
            let style = color.stroke_width(2);
            let segments = finite_segments(points);
            let series =
                chart.draw_series(segments.iter().map(|s| PathElement::new(s.clone(), style))).with_context(ctx)?;
            if i == 0 {
                series
                    .label(format!("{key}={}", group.legend()))
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            }
            let dots = segments.iter().filter(|s| s.len() == 1).map(|s| Circle::new(s[0], 3, color.filled()));
            chart.draw_series(dots).with_context(ctx)?;
        }
        if i == 0 {
            // Error curves start high and fall: the lower left stays empty longest.
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(font(12))
                .draw()
                .with_context(ctx)?;
        }
    }
    drop(body);
    let size = canvas.finish(path)?;
    save_png(path, pixels, size)?;
    Ok(true)
}

fn draw_axis_final(path: &Path, title: &str, key: &str, groups: &[Group]) -> Result<bool> {
    let stats: Vec<[Option<(f64, f64)>; 3]> = groups.iter().map(|g| Set::ALL.map(|s| g.final_acc(s))).collect();
    if stats.iter().flatten().all(Option::is_none) {
        return Ok(false);
    }
    let n = groups.len();
    let mut pixels = Vec::new();
    let canvas = Canvas::new(&mut pixels, FINAL_SIZE)?;
    let ctx = || format!("drawing {}", path.display());
    draw_title(&canvas.area, title, FINAL_SIZE.0).with_context(ctx)?;
    let (_, body) = canvas.area.split_vertically(52);
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(58)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..1.0)
        .with_context(ctx)?;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            groups[i as usize].value.clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n + 1)
        .x_label_formatter(&label)
        .x_desc(key)
        .y_desc("Final accuracy")
        .label_style(font(12))
        .axis_desc_style(font(14))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .with_context(ctx)?;
    for (s, set) in Set::ALL.into_iter().enumerate() {
        let color = super::run::set_color(set);
        let offset = (s as f64 - 1.0) * 0.18;
        let points: Vec<(f64, f64, f64)> =
            stats.iter().enumerate().filter_map(|(i, st)| st[s].map(|(m, sd)| (i as f64 + offset, m, sd))).collect();
        // Error bars as a stem and two caps (plotters' ErrorBar needs another feature).
        let bars = points.iter().flat_map(|&(x, m, sd)| {
            let (lo, hi, cap) = ((m - sd).max(0.0), (m + sd).min(1.0), 0.05);
            [
                PathElement::new([(x, lo), (x, hi)], color.stroke_width(2)),
                PathElement::new([(x - cap, lo), (x + cap, lo)], color.stroke_width(2)),
                PathElement::new([(x - cap, hi), (x + cap, hi)], color.stroke_width(2)),
            ]
        });
        chart.draw_series(bars).with_context(ctx)?;
        chart
            .draw_series(points.iter().map(|&(x, m, _)| Circle::new((x, m), 4, color.filled())))
            .with_context(ctx)?
            .label(set.label())
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(font(13))
        .draw()
        .with_context(ctx)?;
    drop(chart);
    drop(body);
    let size = canvas.finish(path)?;
    save_png(path, pixels, size)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let run = |id: &str, config: &str, v: [&str; 2]| PlannedRun {
            id: id.into(),
            config: config.into(),
            values: v.iter().map(|s| s.to_string()).collect(),
        };
        Plan {
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
        let ids = |g: Vec<(String, Vec<&PlannedRun>)>| {
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
        assert_eq!(mean_std(&[1.0, 3.0]), Some((2.0, 2f64.sqrt())));
        assert_eq!(mean_std(&[5.0]), Some((5.0, 0.0)));
        assert_eq!(mean_std(&[]), None);
    }
}
