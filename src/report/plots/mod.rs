//! Pictures of runs and sweeps (the paper's §2.3 artifacts and §3 figures), drawn
//! with plotters into PNGs using an embedded font, so they render the same on any
//! machine: no system fonts, no fontconfig.

pub(crate) mod cam;
pub mod cd;
pub(crate) mod colormap;
pub mod data;
#[cfg(test)]
pub(crate) mod fixture;
pub(crate) mod heatmap;
pub mod importance;
mod legend;
#[cfg(test)]
mod render_tests;
pub mod run;
pub mod sweep;
mod text;

pub use run::plot_run;

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans (free licence, see `assets/README.md`), compiled in.
static FONT: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/DejaVuSans.ttf"));

/// Registers the embedded font as plotters' "sans-serif", once per process.
fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a known-good TTF compiled in; a failure here is a build bug.
        if register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            panic!("the embedded DejaVuSans.ttf is not a valid font");
        }
    });
}

/// The text style every plot uses, at `size` pixels.
fn font(size: u32) -> TextStyle<'static> {
    ensure_font();
    ("sans-serif", size).into_font().color(&BLACK)
}

/// The drawing surface every plot uses.
type Area<'a> = DrawingArea<text::Backend<'a>, Shift>;

/// Axes for classification error over epochs (x) and `y` (fitted to the data), the mesh
/// styled alike in every error plot: the run's and the sweep's panels.
fn error_axes<'a, 'b>(
    area: &'a Area<'b>,
    caption: Option<&str>,
    x: (f64, f64),
    y: (f64, f64),
    y_desc: &str,
    sizes: (u32, u32, u32),
) -> Result<
    ChartContext<
        'a,
        text::Backend<'b>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
> {
    let (margin, x_labels, y_labels) = sizes;
    let mut builder = ChartBuilder::on(area);
    if let Some(c) = caption {
        builder.caption(c, font(15));
    }
    let mut chart = builder
        .margin(margin)
        .x_label_area_size(x_labels)
        .y_label_area_size(y_labels)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .context("building axes")?;
    chart
        .configure_mesh()
        .x_desc("Epoch")
        .x_label_formatter(&run::epoch_label)
        .y_label_formatter(&unit_label)
        .y_desc(y_desc)
        .label_style(font(12))
        .axis_desc_style(font(14))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .context("drawing the mesh")?;
    Ok(chart)
}

/// Fraction of the data's span added above and below it.
const MARGIN: f64 = 0.08;
/// The narrowest y span drawn (accuracy units): identical values still get an axis.
const MIN_SPAN: f64 = 0.02;

/// A y range fitted to `values` (accuracies or errors, CI ends included): their span, at
/// least [`MIN_SPAN`], plus [`MARGIN`] of it on each side, kept within [0, 1] unless the
/// data touch an end (then the margin goes beyond it, so marks on 0 or 1 stay visible).
/// `None` without a finite value.
pub(crate) fn fitted_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return None;
    }
    let widen = (MIN_SPAN - (hi - lo)).max(0.0) / 2.0;
    let (lo, hi) = (lo - widen, hi + widen);
    // Widening never pushes a range within [0, 1] outside it.
    let (lo, hi) = if lo < 0.0 && hi - lo <= 1.0 {
        (0.0, hi - lo)
    } else if hi > 1.0 && hi - lo <= 1.0 {
        (1.0 - (hi - lo), 1.0)
    } else {
        (lo, hi)
    };
    let margin = MARGIN * (hi - lo);
    let clamp_low = if lo - margin < 0.0 && lo > 0.0 { 0.0 } else { lo - margin };
    let clamp_high = if hi + margin > 1.0 && hi < 1.0 { 1.0 } else { hi + margin };
    Some((clamp_low, clamp_high))
}

/// A y-axis label, left empty outside [0, 1] (the margin beyond a touched end).
fn unit_label(y: &f64) -> String {
    if (-1e-9..=1.0 + 1e-9).contains(y) {
        let text = format!("{y:.4}");
        let text = text.trim_end_matches('0');
        text.strip_suffix('.').map_or_else(|| text.to_owned(), |t| format!("{t}.0"))
    } else {
        String::new()
    }
}

/// A white canvas drawn in memory and written to its PNG file atomically, so that a
/// symlink planted where a plot goes is replaced, never written through.
struct Canvas<'a> {
    area: Area<'a>,
    size: (u32, u32),
}

impl<'a> Canvas<'a> {
    fn new(pixels: &'a mut Vec<u8>, size: (u32, u32)) -> Result<Self> {
        ensure_font();
        pixels.clear();
        pixels.resize(size.0 as usize * size.1 as usize * 3, 255);
        let area = text::Backend(BitMapBackend::with_buffer(pixels, size)).into_drawing_area();
        area.fill(&WHITE).context("drawing the background")?;
        Ok(Self { area, size })
    }

    /// Ends drawing; the picture is then in the canvas's pixels, for [`save_png`].
    fn finish(self, path: &Path) -> Result<(u32, u32)> {
        self.area.present().with_context(|| format!("drawing {}", path.display()))?;
        Ok(self.size)
    }
}

/// Encodes RGB `pixels` as a PNG and writes it with `write_atomic`.
fn save_png(path: &Path, pixels: Vec<u8>, size: (u32, u32)) -> Result<()> {
    let image = image::RgbImage::from_raw(size.0, size.1, pixels).context("a canvas of the wrong size")?;
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).with_context(|| format!("encoding {}", path.display()))?;
    crate::results::atomic::write_atomic(path, png.get_ref())?;
    Ok(())
}

/// Draws a title's first line large and any further lines (run parameters) smaller,
/// centred at the top of an image `width` pixels wide.
fn draw_title(area: &Area<'_>, title: &str, width: u32) -> Result<()> {
    let mut y = 8;
    for (i, line) in title.lines().enumerate() {
        let size = if i == 0 { 16 } else { 13 };
        let style = font(size).pos(Pos::new(HPos::Center, VPos::Top));
        area.draw_text(line, &style, (width as i32 / 2, y))?;
        y += size as i32 + 6;
    }
    Ok(())
}

/// Up to about `max_count` round values (multiples of 1, 2 or 5 × 10ⁿ) in [`lo`, `hi`].
fn nice_ticks(lo: f64, hi: f64, max_count: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return if lo.is_finite() { vec![lo] } else { Vec::new() };
    }
    let raw = span / max_count.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A tick label with just enough decimals for the tick spacing `step`.
fn tick_text(v: f64, step: f64) -> String {
    let v = if v.abs() < step.abs() * 1e-9 { 0.0 } else { v };
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-4) {
        return format!("{v:.1e}");
    }
    let decimals = if step > 0.0 && step.is_finite() { (-step.log10().floor()).max(0.0) as usize } else { 3 };
    format!("{v:.decimals$}")
}

/// matplotlib's 'tab10' colours: one per line (set or axis value), distinct on white.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Splits `(x, y)` points into runs of finite values: a NaN breaks a line rather than
/// dragging it off the chart; absent points (empty cells) were never in the list.
fn finite_segments(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (x, y) in points {
        if y.is_finite() {
            out.last_mut().expect("never empty").push((x, y));
        } else if !out.last().expect("never empty").is_empty() {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The category (0..n) a tick at `x` of a categorical axis stands for: only ticks on a whole
/// number name one, so plotters' in-between ticks stay unlabelled.
pub(crate) fn category_at(x: f64, n: usize) -> Option<usize> {
    let i = x.round();
    ((x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n).then_some(i as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_are_round() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(nice_ticks(0.0, 39.0, 6), vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(nice_ticks(2.0, 2.0, 5), vec![2.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
        assert_eq!(tick_text(0.6000000000000001, 0.2), "0.6");
        assert_eq!(tick_text(20.0, 10.0), "20");
        assert_eq!(tick_text(0.00002, 0.00001), "2.0e-5");
    }

    #[test]
    fn segments_break_at_nan() {
        let s = finite_segments([(1.0, 0.5), (2.0, f64::NAN), (3.0, 0.4), (4.0, 0.3), (5.0, f64::INFINITY)]);
        assert_eq!(s, vec![vec![(1.0, 0.5)], vec![(3.0, 0.4), (4.0, 0.3)]]);
    }
}
