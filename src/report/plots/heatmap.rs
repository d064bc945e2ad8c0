//! Heatmaps drawn cell by cell on a fixed layout, so that tests (and anyone) can
//! compute where each cell lands with [`HeatmapLayout`]; the paper's `pcolormesh`
//! view (§2.3) of weight changes, activation histograms and confusion matrices.

use super::colormap::{hot, Mapping, Scale};
use super::{draw_title, font, save_png, tick_text, Area, Canvas};
use crate::results::node_tables::Grid;
use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Pixel rectangle, `x1`/`y1` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub(crate) x0: i32,
    pub y0: i32,
    pub(crate) x1: i32,
    pub(crate) y1: i32,
}

impl Rect {
    pub fn width(&self) -> i32 {
        self.x1 - self.x0
    }

    pub fn height(&self) -> i32 {
        self.y1 - self.y0
    }

    pub fn center(&self) -> (i32, i32) {
        ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)
    }
}

/// Cells with NaN (not recorded) are drawn in this grey, outside the colour map.
pub const MISSING: RGBColor = RGBColor(128, 128, 128);

/// Where a heatmap's plot area, cells and colour bar lie in an image of `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeatmapLayout {
    pub plot: Rect,
    pub(crate) bar: Rect,
    pub rows: usize,
    pub cols: usize,
    /// Row 0 at the top (matrices) or at the bottom (nodes, like `pcolormesh`).
    pub(crate) row0_at_top: bool,
}

impl HeatmapLayout {
    pub fn new(size: (u32, u32), rows: usize, cols: usize, row0_at_top: bool) -> Self {
        let (w, h) = (size.0 as i32, size.1 as i32);
        let plot = Rect { x0: 80, y0: 58, x1: w - 120, y1: h - 62 };
        let bar = Rect { x0: plot.x1 + 18, y0: plot.y0, x1: plot.x1 + 36, y1: plot.y1 };
        Self { plot, bar, rows, cols, row0_at_top }
    }

    /// Boundary `i` of `n` equal parts of `len` pixels; rounding keeps cells contiguous.
    fn edge(i: usize, n: usize, len: i32) -> i32 {
        ((i as f64) * f64::from(len) / n.max(1) as f64).round() as i32
    }

    /// Pixel x of a position measured in columns from the left edge (0.5 = centre of column 0).
    pub(crate) fn x_at(&self, cols: f64) -> i32 {
        self.plot.x0 + (cols * f64::from(self.plot.width()) / self.cols.max(1) as f64).round() as i32
    }

    /// Pixel y of a position measured in rows from row 0's outer edge.
    pub(crate) fn y_at(&self, rows: f64) -> i32 {
        let d = (rows * f64::from(self.plot.height()) / self.rows.max(1) as f64).round() as i32;
        if self.row0_at_top {
            self.plot.y0 + d
        } else {
            self.plot.y1 - d
        }
    }

    /// The pixels of cell (`row`, `col`); may be empty when there are more cells than pixels.
    pub fn cell(&self, row: usize, col: usize) -> Rect {
        let x0 = self.plot.x0 + Self::edge(col, self.cols, self.plot.width());
        let x1 = self.plot.x0 + Self::edge(col + 1, self.cols, self.plot.width());
        let (a, b) =
            (Self::edge(row, self.rows, self.plot.height()), Self::edge(row + 1, self.rows, self.plot.height()));
        if self.row0_at_top {
            Rect { x0, x1, y0: self.plot.y0 + a, y1: self.plot.y0 + b }
        } else {
            Rect { x0, x1, y0: self.plot.y1 - b, y1: self.plot.y1 - a }
        }
    }
}

/// A tick label at a position measured in cells (0.5 = centre of the first cell).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tick {
    pub at: f64,
    pub text: String,
}

/// Labels for every `k`-th category, `k` the smallest step (1, 2, 5, 10, …) that
/// keeps labels `min_gap` pixels apart: class labels "where they fit".
pub(crate) fn category_ticks(labels: &[String], cell_px: f64, min_gap: f64) -> Vec<Tick> {
    let step = nice_step(min_gap / cell_px.max(1e-9));
    labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0)
        .map(|(i, l)| Tick { at: i as f64 + 0.5, text: l.clone() })
        .collect()
}

/// Labels at categories whose numeric value is a multiple of a nice step (epochs, nodes).
pub(crate) fn numeric_category_ticks(values: &[usize], cell_px: f64, min_gap: f64) -> Vec<Tick> {
    let step = nice_step(min_gap / cell_px.max(1e-9));
    let mut ticks: Vec<Tick> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| *v % step == 0)
        .map(|(i, v)| Tick { at: i as f64 + 0.5, text: v.to_string() })
        .collect();
    if ticks.is_empty() {
        if let Some(v) = values.first() {
            ticks.push(Tick { at: 0.5, text: v.to_string() });
        }
    }
    ticks
}

/// The smallest of 1, 2, 5, 10, 20, 25, 50, 100, … that is at least `min`.
fn nice_step(min: f64) -> usize {
    let mut base = 1usize;
    loop {
        for m in [1, 2, 5] {
            if (base * m) as f64 >= min {
                return base * m;
            }
        }
        base *= 10;
    }
}

/// Everything a heatmap shows. `title` may hold a second line after `\n`.
pub(crate) struct Heatmap<'a> {
    pub(crate) title: &'a str,
    pub(crate) x_desc: &'a str,
    pub(crate) y_desc: &'a str,
    pub(crate) bar_desc: &'a str,
    pub grid: &'a Grid,
    pub(crate) x_ticks: Vec<Tick>,
    pub(crate) y_ticks: Vec<Tick>,
    pub(crate) row0_at_top: bool,
    pub scale: Scale,
}

pub(crate) const HEATMAP_SIZE: (u32, u32) = (800, 600);

impl Heatmap<'_> {
    pub fn layout(&self) -> HeatmapLayout {
        HeatmapLayout::new(HEATMAP_SIZE, self.grid.rows, self.grid.cols, self.row0_at_top)
    }

    /// Draws the heatmap to `path` (PNG).
    pub fn draw(&self, path: &Path) -> Result<()> {
        let mut pixels = Vec::new();
        let root = Canvas::new(&mut pixels, HEATMAP_SIZE)?;
        self.draw_on(&root.area)?;
        let size = root.finish(path)?;
        save_png(path, pixels, size)
    }

    fn draw_on(&self, area: &Area<'_>) -> Result<()> {
        let l = self.layout();
        let (p, g) = (l.plot, self.grid);
        let err = |e| anyhow::anyhow!("drawing: {e}");
        draw_title(area, self.title, HEATMAP_SIZE.0)?;

        for r in 0..g.rows {
            for c in 0..g.cols {
                let cell = l.cell(r, c);
                if cell.width() <= 0 || cell.height() <= 0 {
                    continue;
                }
                let v = g.get(r, c);
                let color = if v.is_finite() { self.scale.color(v) } else { MISSING };
                area.draw(&Rectangle::new([(cell.x0, cell.y0), (cell.x1, cell.y1)], color.filled())).map_err(err)?;
            }
        }
        let frame = [(p.x0 - 1, p.y0 - 1), (p.x1, p.y1)];
        area.draw(&Rectangle::new(frame, BLACK.stroke_width(1))).map_err(err)?;

        let small = font(12);
        for t in &self.x_ticks {
            let x = l.x_at(t.at);
            area.draw(&PathElement::new([(x, p.y1), (x, p.y1 + 4)], BLACK)).map_err(err)?;
            area.draw_text(&t.text, &small.pos(Pos::new(HPos::Center, VPos::Top)), (x, p.y1 + 7)).map_err(err)?;
        }
        for t in &self.y_ticks {
            let y = l.y_at(t.at);
            area.draw(&PathElement::new([(p.x0 - 5, y), (p.x0 - 1, y)], BLACK)).map_err(err)?;
            area.draw_text(&t.text, &small.pos(Pos::new(HPos::Right, VPos::Center)), (p.x0 - 8, y)).map_err(err)?;
        }
        let desc = font(14);
        area.draw_text(
            self.x_desc,
            &desc.pos(Pos::new(HPos::Center, VPos::Bottom)),
            ((p.x0 + p.x1) / 2, HEATMAP_SIZE.1 as i32 - 8),
        )
        .map_err(err)?;
        let vertical = desc.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Top));
        area.draw_text(self.y_desc, &vertical, (10, (p.y0 + p.y1) / 2)).map_err(err)?;

        // Colour bar: one row of pixels per step of the map, low values at the bottom.
        let b = l.bar;
        let h = b.height().max(2);
        for y in b.y0..b.y1 {
            let t = f64::from(b.y1 - 1 - y) / f64::from(h - 1);
            area.draw(&Rectangle::new([(b.x0, y), (b.x1, y + 1)], hot(t).filled())).map_err(err)?;
        }
        area.draw(&Rectangle::new([(b.x0 - 1, b.y0 - 1), (b.x1, b.y1)], BLACK.stroke_width(1))).map_err(err)?;
        let ticks = self.scale.ticks();
        let linear_step = if ticks.len() > 1 { ticks[1] - ticks[0] } else { self.scale.max - self.scale.min };
        for v in ticks {
            let t = self.scale.unit(v);
            let y = b.y1 - 1 - (t * f64::from(h - 1)).round() as i32;
            // Log ticks are a decade or so apart: each gets the decimals of its own magnitude.
            let step = if self.scale.mapping == Mapping::Log10 { v } else { linear_step };
            area.draw(&PathElement::new([(b.x1, y), (b.x1 + 4, y)], BLACK)).map_err(err)?;
            area.draw_text(&tick_text(v, step), &small.pos(Pos::new(HPos::Left, VPos::Center)), (b.x1 + 7, y))
                .map_err(err)?;
        }
        let bar_desc = match self.scale.describe() {
            Some(how) => format!("{}; {how}", self.bar_desc),
            None => self.bar_desc.to_owned(),
        };
        let vertical = desc.transform(FontTransform::Rotate90).pos(Pos::new(HPos::Center, VPos::Top));
        area.draw_text(&bar_desc, &vertical, (HEATMAP_SIZE.0 as i32 - 10, (b.y0 + b.y1) / 2)).map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_tile_the_plot_area() {
        let l = HeatmapLayout::new((800, 600), 7, 39, true);
        assert_eq!(l.cell(0, 0).x0, l.plot.x0);
        assert_eq!(l.cell(0, 0).y0, l.plot.y0);
        assert_eq!(l.cell(6, 38).x1, l.plot.x1);
        assert_eq!(l.cell(6, 38).y1, l.plot.y1);
        for c in 0..38 {
            assert_eq!(l.cell(0, c).x1, l.cell(0, c + 1).x0);
        }
        let bottom = HeatmapLayout::new((800, 600), 4, 4, false);
        assert_eq!(bottom.cell(0, 0).y1, bottom.plot.y1);
        assert_eq!(bottom.cell(3, 0).y0, bottom.plot.y0);
    }

    #[test]
    fn ticks_thin_out_to_fit() {
        let labels: Vec<String> = (1..=39).map(|i| i.to_string()).collect();
        assert_eq!(category_ticks(&labels, 30.0, 20.0).len(), 39);
        assert_eq!(category_ticks(&labels, 8.0, 20.0).len(), 8); // every 5th: 1, 6, …, 36
        let epochs: Vec<usize> = (1..=256).collect();
        let t = numeric_category_ticks(&epochs, 2.6, 40.0);
        assert_eq!(t.first().unwrap().text, "20");
        assert!(t.len() <= 15);
        assert_eq!(numeric_category_ticks(&[3], 500.0, 40.0)[0].text, "3");
        assert!(numeric_category_ticks(&[], 5.0, 40.0).is_empty());
    }
}
