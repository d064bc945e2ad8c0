//! The pictures of one run (paper §2.3): error curves, confusion matrices, per-node
//! weight changes and activation histograms, and a conv run's class activation maps, written
//! to `<run>/plots/`.

use super::colormap::Scale;
use super::data::run_title;
use super::heatmap::{category_ticks, numeric_category_ticks, Heatmap, HeatmapLayout, Rect, Tick, HEATMAP_SIZE};
use super::{draw_title, error_axes, finite_segments, fitted_range, legend, save_png, tick_text, Canvas, PALETTE};
use crate::data::split::Split;
use crate::results::diagnostics::{confusion_stem, table_path, ACTIVATIONS, WEIGHTS};
use crate::results::layout::METRICS_FILE;
use crate::results::metrics::{read_metrics, Metrics};
use crate::results::node_tables::{
    read_activations, read_confusions, read_weights, Activations, Confusion, LayerWeights,
};
use anyhow::{bail, Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Size of every line chart of a run.
pub(crate) const LINE_SIZE: (u32, u32) = (800, 600);

/// Colour of each set's line (train, validation, test): matplotlib's first three.
pub(crate) fn set_color(set: Split) -> RGBColor {
    PALETTE[set as usize]
}

/// Draws every plot the files in `run_dir` allow into `run_dir/plots/` and returns the
/// paths written. Absent or empty inputs skip their plots; a malformed file is an
/// error naming it.
pub fn plot_run(run_dir: &Path) -> Result<Vec<PathBuf>> {
    if !run_dir.is_dir() {
        bail!("{} is not a run directory", run_dir.display());
    }
    let out = run_dir.join(crate::results::layout::PLOTS_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let params = run_title(run_dir)
        .unwrap_or_else(|| run_dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()));
    let mut written = Vec::new();

    if let Some(metrics) = read_metrics(&run_dir.join(METRICS_FILE))? {
        let path = out.join("error.png");
        if draw_error(&path, &format!("Classification error\n{params}"), &metrics)?.is_some() {
            written.push(path);
        }
    }

    // The diagnostics tables: `<stem>.csv.gz`, or the plain `.csv` of an older directory.
    let table = |stem: &str| table_path(run_dir, stem);
    for set in Split::ALL {
        let Some(input) = table(&confusion_stem(set.name())) else { continue };
        let all = read_confusions(&input)?;
        // The last recorded epoch, and each earlier one (`confusion_every`) beside it.
        for (k, confusion) in all.iter().enumerate() {
            let path = if k + 1 == all.len() {
                out.join(format!("confusion-{}.png", set.name()))
            } else {
                out.join(format!("confusion-{}-epoch-{:04}.png", set.name(), confusion.epoch))
            };
            if draw_confusion(&path, set, &params, confusion)? {
                written.push(path);
            }
        }
    }

    if let Some(weights) = table(WEIGHTS) {
        for layer in read_weights(&weights)? {
            written.extend(draw_weights(&out, &params, &layer)?);
        }
    }

    if let Some(acts) = table(ACTIVATIONS) {
        if let Some(acts) = read_activations(&acts)? {
            written.extend(draw_activations(&out, &params, &acts)?);
        }
    }

    let path = out.join("cam.png");
    if super::cam::draw_cams(&path, &params, &crate::results::cams::read(run_dir)?)?.is_some() {
        written.push(path);
    }
    Ok(written)
}

/// A line broken at NaNs: runs of `(x, y)` points.
type Segments = Vec<Vec<(f64, f64)>>;

/// Where a line chart's data landed, to map data to pixels (tests use this).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineFrame {
    pub plot: Rect,
    pub x: (f64, f64),
    pub y: (f64, f64),
}

impl LineFrame {
    /// The plot area of `chart`, whose data ranges are `x` and `y`.
    pub(crate) fn of<DB: DrawingBackend>(
        chart: &ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        x: (f64, f64),
        y: (f64, f64),
    ) -> Self {
        let (px, py) = chart.plotting_area().get_pixel_range();
        Self { plot: Rect { x0: px.start, x1: px.end, y0: py.start, y1: py.end }, x, y }
    }

    pub fn px(&self, x: f64, y: f64) -> (i32, i32) {
        let fx = (x - self.x.0) / (self.x.1 - self.x.0);
        let fy = (y - self.y.0) / (self.y.1 - self.y.0);
        (
            self.plot.x0 + (fx * f64::from(self.plot.width() - 1)).round() as i32,
            self.plot.y1 - 1 - (fy * f64::from(self.plot.height() - 1)).round() as i32,
        )
    }
}

/// Epoch axis range with a little room, also for a single epoch.
pub(crate) fn epoch_range(first: f64, last: f64) -> (f64, f64) {
    let pad = ((last - first) * 0.02).max(0.5);
    (first - pad, last + pad)
}

/// Epoch ticks as whole numbers; fractional ticks (few epochs) stay unlabelled.
pub(crate) fn epoch_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        String::new()
    }
}

/// `error.png`: 1 − accuracy per set over epochs; `None` (nothing written) when no set
/// has a single finite value.
pub(crate) fn draw_error(path: &Path, title: &str, metrics: &Metrics) -> Result<Option<LineFrame>> {
    let curves: Vec<(Split, Segments)> = Split::ALL
        .into_iter()
        .map(|s| (s, finite_segments(metrics.acc(s).map(|(e, a)| (e as f64, 1.0 - a)))))
        .filter(|(_, segs)| !segs.is_empty())
        .collect();
    let epochs = curves.iter().flat_map(|(_, segs)| segs.iter().flatten().map(|p| p.0));
    let (first, last) = epochs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), e| (a.min(e), b.max(e)));
    if curves.is_empty() {
        return Ok(None);
    }
    let mut pixels = Vec::new();
    let canvas = Canvas::new(&mut pixels, LINE_SIZE)?;
    let ctx = || format!("drawing {}", path.display());
    draw_title(&canvas.area, title, LINE_SIZE.0).with_context(ctx)?;
    // The legend goes below the chart, where it hides no curve.
    let entries: Vec<legend::Entry> = curves
        .iter()
        .map(|(set, _)| legend::Entry { mark: legend::Mark::Line, color: set_color(*set), text: set.label().into() })
        .collect();
    let legend_h = legend::height(&canvas.area, &entries, LINE_SIZE.0);
    let (_, below_title) = canvas.area.split_vertically(52);
    let (body, legend_area) = below_title.split_vertically(LINE_SIZE.1 - 52 - legend_h);
    let x = epoch_range(first, last);
    let y =
        fitted_range(curves.iter().flat_map(|(_, segs)| segs.iter().flatten().map(|p| p.1))).expect("finite points");
    let mut chart =
        error_axes(&body, None, x, y, "Classification error (1 − accuracy)", (12, 42, 58)).with_context(ctx)?;
    for (set, segments) in &curves {
        let style = set_color(*set).stroke_width(2);
        chart.draw_series(segments.iter().map(|s| PathElement::new(s.clone(), style))).with_context(ctx)?;
        // A lone point (one epoch, or between NaNs) would be invisible as a line.
        let dots = segments.iter().filter(|s| s.len() == 1).map(|s| Circle::new(s[0], 3, set_color(*set).filled()));
        chart.draw_series(dots).with_context(ctx)?;
    }
    let frame = LineFrame::of(&chart, x, y);
    legend::draw(&legend_area, &entries, LINE_SIZE.0).with_context(ctx)?;
    drop(chart);
    drop((body, legend_area, below_title));
    let size = canvas.finish(path)?;
    save_png(path, pixels, size)?;
    Ok(Some(frame))
}

/// The layout of a confusion heatmap of `classes` classes (row 0 = first class, at the top).
pub(crate) fn confusion_layout(classes: usize) -> HeatmapLayout {
    HeatmapLayout::new(HEATMAP_SIZE, classes, classes, true)
}

/// `confusion-<set>.png`: counts of the last recorded epoch; false when empty.
pub(crate) fn draw_confusion(path: &Path, set: Split, params: &str, c: &Confusion) -> Result<bool> {
    let n = c.labels.len();
    if n == 0 {
        return Ok(false);
    }
    let layout = confusion_layout(n);
    let total: f64 = c.counts.data.iter().filter(|v| v.is_finite()).sum();
    let hits: f64 = (0..n).map(|i| c.counts.get(i, i)).filter(|v| v.is_finite()).sum();
    let acc = if total > 0.0 { format!(", accuracy {:.1}%", 100.0 * hits / total) } else { String::new() };
    let title = format!("Confusion matrix: {} set, epoch {}{acc}\n{params}", set.label().to_lowercase(), c.epoch);
    let max_len = c.labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f64;
    let heatmap = Heatmap {
        title: &title,
        x_desc: "Predicted class",
        y_desc: "Actual class",
        bar_desc: "Count",
        grid: &c.counts,
        x_ticks: category_ticks(&c.labels, f64::from(layout.plot.width()) / n as f64, 8.0 * max_len + 6.0),
        y_ticks: category_ticks(&c.labels, f64::from(layout.plot.height()) / n as f64, 14.0),
        row0_at_top: true,
        scale: Scale::of(c.counts.data.iter().copied()),
    };
    heatmap.draw(path)?;
    Ok(true)
}

/// `weight-angle-L<l>.png` and `weight-norm-L<l>.png`: node × epoch heatmaps (§3.3).
fn draw_weights(out: &Path, params: &str, w: &LayerWeights) -> Result<Vec<PathBuf>> {
    if w.epochs.is_empty() || w.dnorm.rows == 0 {
        return Ok(Vec::new());
    }
    let layout = HeatmapLayout::new(HEATMAP_SIZE, w.dnorm.rows, w.epochs.len(), false);
    let nodes: Vec<usize> = (0..w.dnorm.rows).collect();
    let x_ticks = numeric_category_ticks(&w.epochs, f64::from(layout.plot.width()) / w.epochs.len() as f64, 40.0);
    let y_ticks = numeric_category_ticks(&nodes, f64::from(layout.plot.height()) / nodes.len() as f64, 16.0);
    let l = w.layer;
    let mut written = Vec::new();
    for (name, what, bar, grid) in [
        ("angle", "angle between successive weight vectors", "Δθ (radians)", &w.dtheta),
        ("norm", "norm of the weight-vector change", "‖Δw‖", &w.dnorm),
    ] {
        let path = out.join(format!("weight-{name}-L{l}.png"));
        let title = format!("Layer {l}: per-node {what}, per epoch\n{params}");
        Heatmap {
            title: &title,
            x_desc: "Epoch",
            y_desc: "Node (output unit of the layer)",
            bar_desc: bar,
            grid,
            x_ticks: x_ticks.clone(),
            y_ticks: y_ticks.clone(),
            row0_at_top: false,
            // The first epochs' changes are orders of magnitude above the rest.
            scale: Scale::robust(grid.data.iter().copied()),
        }
        .draw(&path)?;
        written.push(path);
    }
    Ok(written)
}

/// Tick labels for histogram bins named by their lower edges (`0.0500`), with an
/// optional overflow bin `over_<max>`: range edges at bin boundaries, `> max` on the
/// overflow bin.
pub(crate) fn bin_ticks(bins: &[String], cell_px: f64) -> Vec<Tick> {
    let edges: Vec<f64> = bins.iter().map_while(|b| b.parse::<f64>().ok()).collect();
    let regular = edges.len();
    let width = (regular >= 2).then(|| edges[1] - edges[0]);
    let step = [1, 2, 4, 5, 10, 20, 50, 100].into_iter().find(|s| *s as f64 * cell_px >= 42.0).unwrap_or(200);
    // With an overflow bin its `> max` label stands for the range's upper edge.
    let last = if bins.len() > regular { regular.saturating_sub(1) } else { regular };
    let mut ticks: Vec<Tick> = (0..=last)
        .filter(|i| i % step == 0)
        .filter_map(|i| {
            let v = if i < regular { edges[i] } else { edges.last()? + width? };
            Some(Tick { at: i as f64, text: tick_text(v, width.unwrap_or(1.0) * step as f64) })
        })
        .collect();
    for (i, b) in bins.iter().enumerate().skip(regular) {
        let text = match b.strip_prefix("over_") {
            Some(max) => format!("> {max}"),
            None => b.clone(),
        };
        ticks.push(Tick { at: i as f64 + 0.5, text });
    }
    ticks
}

/// `activations-L<l>.png` (all epochs summed) and `activations-L<l>-last.png` (§3.4).
fn draw_activations(out: &Path, params: &str, acts: &Activations) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for layer in &acts.layers {
        let rows = layer.total.rows;
        if rows == 0 || acts.bins.is_empty() {
            continue;
        }
        let layout = HeatmapLayout::new(HEATMAP_SIZE, rows, acts.bins.len(), false);
        let nodes: Vec<usize> = (0..rows).collect();
        let x_ticks = bin_ticks(&acts.bins, f64::from(layout.plot.width()) / acts.bins.len() as f64);
        let y_ticks = numeric_category_ticks(&nodes, f64::from(layout.plot.height()) / rows as f64, 16.0);
        let l = layer.layer;
        let summed = format!("summed over all {} epochs", layer.epochs);
        let last = format!("epoch {} only", layer.last_epoch);
        for (file, grid, when) in [
            (format!("activations-L{l}.png"), &layer.total, summed),
            (format!("activations-L{l}-last.png"), &layer.last, last),
        ] {
            let path = out.join(file);
            let title = format!("Hidden layer {l}: activation histogram per node, {when}\n{params}");
            Heatmap {
                title: &title,
                x_desc: "Activation (bin ranges)",
                y_desc: "Node",
                bar_desc: "Count",
                grid,
                x_ticks: x_ticks.clone(),
                y_ticks: y_ticks.clone(),
                row0_at_top: false,
                scale: Scale::of(grid.data.iter().copied()),
            }
            .draw(&path)?;
            written.push(path);
        }
    }
    Ok(written)
}
