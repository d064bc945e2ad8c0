//! `plots/cam.png`: a convolutional run's class activation maps (`results::cams`), as Wang et
//! al. 2017 draw them: each sample's input over time, each segment coloured by how strongly that
//! time step drives the sample's own class (the map scaled to [0, 1] per sample; 'hot' from black,
//! no drive, to light yellow, the most). One row of panels per class, its samples side by side.

use super::colormap::hot;
use super::run::LineFrame;
use super::{draw_title, fitted_range, font, save_png, Canvas};
use crate::results::cams::{CamSample, PER_CLASS};
use anyhow::{Context, Result};
use plotters::prelude::*;
use std::path::Path;

/// One panel's size, and the room the title takes above the panels.
const PANEL: (u32, u32) = (360, 130);
const TITLE_H: u32 = 52;
/// The colour of the top of the map: 'hot' at 0.8 (light yellow, still visible on white).
const TOP: f64 = 0.8;

/// The colour of a map value scaled to [0, 1].
pub(crate) fn cam_color(unit: f64) -> RGBColor {
    hot(TOP * unit)
}

/// Draws `cam.png`; returns each sample's panel frame (data → pixels), in sample order, or
/// `None` (nothing written) without samples.
pub(crate) fn draw_cams(path: &Path, params: &str, samples: &[CamSample]) -> Result<Option<Vec<LineFrame>>> {
    if samples.is_empty() {
        return Ok(None);
    }
    // Rows: the classes in the order their samples come (the writer's class order).
    let mut classes: Vec<&str> = Vec::new();
    for s in samples {
        if !classes.contains(&s.label.as_str()) {
            classes.push(&s.label);
        }
    }
    let size = (PANEL.0 * PER_CLASS as u32, TITLE_H + PANEL.1 * classes.len() as u32);
    let mut pixels = Vec::new();
    let canvas = Canvas::new(&mut pixels, size)?;
    let ctx = || format!("drawing {}", path.display());
    let set = &samples[0].set;
    let title = format!("Class activation maps ({set} rows; black: no drive, yellow: the most)\n{params}");
    draw_title(&canvas.area, &title, size.0).with_context(ctx)?;
    let (_, body) = canvas.area.split_vertically(TITLE_H);
    let cells = body.split_evenly((classes.len(), PER_CLASS));
    let mut frames = Vec::with_capacity(samples.len());
    let mut used = vec![0; classes.len()];
    for s in samples {
        let r = classes.iter().position(|c| *c == s.label).expect("collected above");
        let cell = &cells[r * PER_CLASS + used[r].min(PER_CLASS - 1)];
        used[r] += 1;
        frames.push(draw_panel(cell, s).with_context(ctx)?);
    }
    drop(cells);
    drop(body);
    let size = canvas.finish(path)?;
    save_png(path, pixels, size)?;
    Ok(Some(frames))
}

/// One sample: its input as a line, each segment in the colour of its time steps' map.
fn draw_panel(cell: &super::Area<'_>, s: &CamSample) -> Result<LineFrame> {
    let time = s.input.len();
    let x = (-0.5, time.max(1) as f64 - 0.5);
    let y = fitted_range(s.input.iter().copied()).unwrap_or((0.0, 1.0));
    let y = (y.0.min(y.1 - 1e-9), y.1);
    let mark = if s.predicted == s.label { String::new() } else { format!(", predicted {}", s.predicted) };
    let caption = format!("{} (row {}){mark}", s.label, s.row);
    let mut chart = ChartBuilder::on(cell)
        .caption(caption, font(12))
        .margin(6)
        .x_label_area_size(18)
        .y_label_area_size(36)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .context("building axes")?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(5)
        .x_label_formatter(&|t: &f64| format!("{t:.0}"))
        .y_labels(3)
        .label_style(font(10))
        .draw()
        .context("drawing the mesh")?;
    let unit = unit_scale(&s.cam);
    let points: Vec<(f64, f64)> = s.input.iter().enumerate().map(|(t, &v)| (t as f64, v)).collect();
    if points.len() == 1 {
        chart.draw_series([Circle::new(points[0], 3, cam_color(unit(0)).filled())])?;
    }
    let segments = points.windows(2).enumerate().filter(|(_, w)| w[0].1.is_finite() && w[1].1.is_finite());
    chart.draw_series(segments.map(|(t, w)| {
        let v = (unit(t) + unit(t + 1)) / 2.0;
        PathElement::new(vec![w[0], w[1]], cam_color(v).stroke_width(3))
    }))?;
    Ok(LineFrame::of(&chart, x, y))
}

/// The map scaled to [0, 1] by its own minimum and maximum (a flat or empty map is 0.5
/// throughout; NaNs are 0).
fn unit_scale(cam: &[f64]) -> impl Fn(usize) -> f64 + '_ {
    let finite = cam.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    move |t| {
        let v = cam.get(t).copied().unwrap_or(f64::NAN);
        if !v.is_finite() {
            0.0
        } else if hi > lo {
            (v - lo) / (hi - lo)
        } else {
            0.5
        }
    }
}
