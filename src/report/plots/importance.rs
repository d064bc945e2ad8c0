//! `plots/importance.png`: a bar per axis from `importance.csv` — the share of variance each
//! term explains in a grid (with its p-value), or the effect range over the pooled spread in a
//! one-at-a-time design.

use super::data::read_sweep_spec;
use super::{draw_title, font, save_png, Canvas, PALETTE};
use crate::report::importance::{read_importance, IMPORTANCE_FILE};
use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

pub(crate) const IMPORTANCE_PNG: &str = "importance.png";
pub(crate) const IMPORTANCE_SIZE: (u32, u32) = (800, 560);
/// Width per bar beyond the default size: room for a bar's label and caption side by side.
const WIDTH_PER_BAR: u32 = 140;

/// One bar: its label, its height (`None`: not computable, drawn as `n/a`) and the text above it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    pub(crate) caption: String,
    pub(crate) color: RGBColor,
}

/// What the figure shows, read from `importance.csv`: the bars, the y-axis label and the
/// subtitle. `None` when the file is absent or has no computable bar.
pub fn importance_bars(sweep_dir: &Path) -> Result<Option<(Vec<Bar>, &'static str, &'static str)>> {
    let path = sweep_dir.join(IMPORTANCE_FILE);
    let Some(table) = read_importance(&path)? else { return Ok(None) };
    let col = |name: &str| table.header.iter().position(|h| h == name);
    let num =
        |row: &[String], c: Option<usize>| c.and_then(|c| row.get(c)?.parse::<f64>().ok()).filter(|v| v.is_finite());
    let (bars, y_desc, subtitle): (Vec<Bar>, _, _) = if let Some(share) = col("share") {
        let p = col("p");
        let bars = table
            .rows
            .iter()
            .map(|row| {
                let label = row.first().cloned().unwrap_or_default();
                let value = num(row, Some(share));
                let color = match label.as_str() {
                    "interactions" => PALETTE[7],
                    "residual" => RGBColor(190, 190, 190),
                    _ => PALETTE[0],
                };
                let mut caption = value.map_or_else(|| "n/a".to_string(), |v| format!("{:.1}%", 100.0 * v));
                if let Some(p) = num(row, p) {
                    caption += &format!(", {}", p_text(p));
                }
                Bar { label, value, caption, color }
            })
            .collect();
        (
            bars,
            "Share of variance (sum of squares / total)",
            "main-effects ANOVA of the final validation accuracy; p against the seed-to-seed error",
        )
    } else if let Some(ratio) = col("range_over_std") {
        let range = col("range");
        let bars = table
            .rows
            .iter()
            .map(|row| {
                let value = num(row, Some(ratio));
                let mut caption = value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"));
                if let Some(r) = num(row, range) {
                    caption += &format!(" (range {r:.3})");
                }
                Bar { label: row.first().cloned().unwrap_or_default(), value, caption, color: PALETTE[0] }
            })
            .collect();
        (
            bars,
            "Effect range / pooled within-configuration std",
            "range of the configurations' mean validation accuracy along each axis (baseline included)",
        )
    } else {
        anyhow::bail!("{}: neither a `share` nor a `range_over_std` column", path.display());
    };
    Ok(bars.iter().any(|b| b.value.is_some()).then_some((bars, y_desc, subtitle)))
}

fn p_text(p: f64) -> String {
    if p < 0.001 {
        format!("p={p:.1e}")
    } else {
        format!("p={p:.3}")
    }
}

/// Draws `plots/importance.png` from `importance.csv`; `None` when there is nothing to draw.
pub(crate) fn plot_importance(sweep_dir: &Path) -> Result<Option<PathBuf>> {
    let Some((bars, y_desc, subtitle)) = importance_bars(sweep_dir)? else { return Ok(None) };
    let spec = read_sweep_spec(sweep_dir);
    let name = spec.name.unwrap_or_default();
    let out = sweep_dir.join(crate::results::layout::PLOTS_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(IMPORTANCE_PNG);
    let ctx = || format!("drawing {}", path.display());
    let n = bars.len();
    let top = bars.iter().filter_map(|b| b.value).fold(0.0f64, f64::max);
    // Shares live in [0, 1]; a ratio axis fits the tallest bar, with room for its caption.
    let y_max = if y_desc.starts_with("Share") { 1.0 } else { (top * 1.15).max(1.0) };

    // Many axes widen the picture rather than overprint their labels and captions.
    let size = (IMPORTANCE_SIZE.0.max(WIDTH_PER_BAR * n as u32 + 120), IMPORTANCE_SIZE.1);
    let mut pixels = Vec::new();
    let canvas = Canvas::new(&mut pixels, size)?;
    let title = format!("{name}: which axes matter\n{subtitle}");
    draw_title(&canvas.area, &title, size.0).with_context(ctx)?;
    let (_, body) = canvas.area.split_vertically(52);
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(58)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..y_max)
        .with_context(ctx)?;
    let label = |x: &f64| super::category_at(*x, n).map_or_else(String::new, |i| bars[i].label.clone());
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n + 1)
        .x_label_formatter(&label)
        .y_desc(y_desc)
        .label_style(font(12))
        .axis_desc_style(font(14))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .with_context(ctx)?;
    let rects = bars.iter().enumerate().filter_map(|(i, b)| {
        let v = b.value?.clamp(0.0, y_max);
        Some(Rectangle::new([(i as f64 - 0.35, 0.0), (i as f64 + 0.35, v)], b.color.filled()))
    });
    chart.draw_series(rects).with_context(ctx)?;
    let style = font(12).pos(Pos::new(HPos::Center, VPos::Bottom));
    let captions = bars.iter().enumerate().map(|(i, b)| {
        let y = b.value.map_or(0.0, |v| v.clamp(0.0, y_max));
        Text::new(b.caption.clone(), (i as f64, y + y_max * 0.01), style.clone())
    });
    chart.draw_series(captions).with_context(ctx)?;
    drop(chart);
    drop(body);
    let size = canvas.finish(&path)?;
    save_png(&path, pixels, size)?;
    Ok(Some(path))
}
