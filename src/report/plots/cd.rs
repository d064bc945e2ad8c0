//! The critical-difference diagram of `pinniped rank`, laid out like aeon's
//! `plot_critical_difference`: an axis of ranks 1..k (best on the left), a marker at each
//! configuration's average rank with a line to its name (the better half named on the left, the
//! rest on the right), and each clique of configurations not shown to differ as a thick bar.
//! Names of published methods and of the entry selected by validation are drawn in their own
//! colours, explained by a legend below.

use super::{font, save_png, Canvas};
use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Image width in pixels.
pub const WIDTH: u32 = 960;
/// Pixel column of rank 1 and of rank k on the axis.
pub const AXIS_LEFT: i32 = 300;
pub const AXIS_RIGHT: i32 = 660;
/// Pixel row of the axis, where the markers are centred.
pub const AXIS_Y: i32 = 50;
/// The markers' colour: used nowhere else in the picture, so a test can find them.
pub const MARKER: RGBColor = RGBColor(214, 39, 40);
/// The colours of published methods' names and of the selected entry's name.
pub(crate) const PUBLISHED_NAME: RGBColor = RGBColor(31, 90, 200);
pub(crate) const SELECTED_NAME: RGBColor = RGBColor(0, 140, 60);
/// Height of the legend line, when there is one.
const LEGEND: i32 = 22;
const MARKER_RADIUS: i32 = 4;

/// How an entry's name is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameStyle {
    /// A configuration of the sweeps: black.
    Plain,
    /// The configuration selected by validation on each dataset.
    Selected,
    /// A method of the published-results file.
    Published,
}

impl NameStyle {
    fn colour(self) -> RGBColor {
        match self {
            NameStyle::Plain => BLACK,
            NameStyle::Selected => SELECTED_NAME,
            NameStyle::Published => PUBLISHED_NAME,
        }
    }
}
const ROW: i32 = 22;
const BAR_GAP: i32 = 9;

/// Pixel column of average rank `rank` on an axis of `k` ranks.
pub fn rank_x(rank: f64, k: usize) -> i32 {
    let span = (AXIS_RIGHT - AXIS_LEFT) as f64;
    AXIS_LEFT + ((rank - 1.0) / (k.max(2) - 1) as f64 * span).round() as i32
}

/// Where one configuration is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// Index of the configuration (into the names and ranks given).
    pub config: usize,
    /// Marker centre on the axis.
    pub(crate) marker_x: i32,
    /// Row of its name; the name ends at the left margin (`left`) or starts at the right one.
    pub label_y: i32,
    pub left: bool,
}

/// The diagram's geometry, so that tests can check what was drawn where.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub height: u32,
    /// In rank order, best first.
    pub placed: Vec<Placed>,
    /// One bar per clique: (from x, to x, y).
    pub bars: Vec<(i32, i32, i32)>,
}

/// Lays out configurations with average `ranks` (1 = best), `order` best first, and `cliques`
/// (configuration indices).
pub fn layout(ranks: &[f64], order: &[usize], cliques: &[Vec<usize>]) -> Layout {
    let k = ranks.len();
    let bars: Vec<(i32, i32, i32)> = cliques
        .iter()
        .enumerate()
        .map(|(c, members)| {
            let xs = members.iter().map(|&m| rank_x(ranks[m], k));
            let (lo, hi) = xs.fold((i32::MAX, i32::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
            (lo - 6, hi + 6, AXIS_Y + 16 + c as i32 * BAR_GAP)
        })
        .collect();
    let first_row = AXIS_Y + 30 + bars.len() as i32 * BAR_GAP;
    let on_left = k.div_ceil(2);
    // Rows grow away from the axis toward the outside, so that the lines never cross.
    let placed = order
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let (left, row) = if i < on_left { (true, i) } else { (false, k - 1 - i) };
            Placed { config: m, marker_x: rank_x(ranks[m], k), label_y: first_row + row as i32 * ROW, left }
        })
        .collect();
    Layout { height: (first_row + on_left as i32 * ROW + 10) as u32, placed, bars }
}

/// Draws the diagram into `path` (PNG, written atomically) and returns its layout; `styles`
/// says how each name is drawn, `source` names the published methods' file in the legend.
pub(crate) fn plot_critical_difference(
    path: &Path,
    names: &[String],
    ranks: &[f64],
    order: &[usize],
    cliques: &[Vec<usize>],
    styles: &[NameStyle],
    source: Option<&str>,
) -> Result<Layout> {
    let mut layout = layout(ranks, order, cliques);
    let mut legend = Vec::new();
    if styles.contains(&NameStyle::Published) {
        legend.push((format!("published: {}", source.unwrap_or("the --reference file")), PUBLISHED_NAME));
    }
    if styles.contains(&NameStyle::Selected) {
        legend.push(("selected: the configuration best by validation on each dataset".to_string(), SELECTED_NAME));
    }
    let legend_y = layout.height as i32 + LEGEND / 2 - 6;
    layout.height += (LEGEND * legend.len() as i32) as u32;
    let size = (WIDTH, layout.height);
    let mut pixels = Vec::new();
    let canvas = Canvas::new(&mut pixels, size)?;
    let area = &canvas.area;
    let k = ranks.len();
    area.draw(&PathElement::new(vec![(AXIS_LEFT, AXIS_Y), (AXIS_RIGHT, AXIS_Y)], BLACK.stroke_width(1)))?;
    for r in 1..=k {
        let x = rank_x(r as f64, k);
        area.draw(&PathElement::new(vec![(x, AXIS_Y - 6), (x, AXIS_Y)], BLACK.stroke_width(1)))?;
        area.draw_text(&r.to_string(), &font(13).pos(Pos::new(HPos::Center, VPos::Bottom)), (x, AXIS_Y - 9))?;
    }
    for p in &layout.placed {
        let (end, anchor, text_x) = if p.left {
            (AXIS_LEFT - 16, HPos::Right, AXIS_LEFT - 20)
        } else {
            (AXIS_RIGHT + 16, HPos::Left, AXIS_RIGHT + 20)
        };
        let line = vec![(p.marker_x, AXIS_Y), (p.marker_x, p.label_y), (end, p.label_y)];
        area.draw(&PathElement::new(line, RGBColor(90, 90, 90).stroke_width(1)))?;
        let label = format!("{} ({:.2})", shortened(&names[p.config]), ranks[p.config]);
        let colour = styles.get(p.config).copied().unwrap_or(NameStyle::Plain).colour();
        let style = font(13).color(&colour);
        area.draw_text(&label, &style.pos(Pos::new(anchor, VPos::Center)), (text_x, p.label_y))?;
    }
    for (i, (text, colour)) in legend.iter().enumerate() {
        let y = legend_y + i as i32 * LEGEND;
        area.draw_text(text, &font(12).color(colour).pos(Pos::new(HPos::Left, VPos::Center)), (20, y))?;
    }
    for &(from, to, y) in &layout.bars {
        area.draw(&Rectangle::new([(from, y - 2), (to, y + 2)], BLACK.filled()))?;
    }
    for p in &layout.placed {
        area.draw(&Circle::new((p.marker_x, AXIS_Y), MARKER_RADIUS, MARKER.filled()))?;
    }
    let size = canvas.finish(path)?;
    save_png(path, pixels, size)?;
    Ok(layout)
}

/// Names longer than this many characters are cut (with `…`) so that they fit beside the axis.
const NAME_CHARS: usize = 36;

fn shortened(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(NAME_CHARS - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_puts_the_better_half_on_the_left_and_rows_never_cross() {
        let ranks = [2.5, 1.0, 4.0, 2.5, 5.0];
        let order = [1, 0, 3, 2, 4];
        let l = layout(&ranks, &order, &[vec![1, 0, 3], vec![3, 2]]);
        let sides: Vec<bool> = l.placed.iter().map(|p| p.left).collect();
        assert_eq!(sides, [true, true, true, false, false]);
        // Left: rows go down with the rank; right: up with it (the worst is nearest the axis).
        assert!(l.placed[0].label_y < l.placed[1].label_y && l.placed[1].label_y < l.placed[2].label_y);
        assert!(l.placed[3].label_y > l.placed[4].label_y);
        assert_eq!(l.placed[0].marker_x, AXIS_LEFT);
        assert_eq!(l.placed[4].marker_x, AXIS_RIGHT);
        assert_eq!(l.bars[0].0, AXIS_LEFT - 6, "the first clique starts at rank 1");
        assert_eq!(l.bars[1].1, rank_x(4.0, 5) + 6, "the second clique ends at rank 4");
        assert!(l.placed.iter().all(|p| p.label_y < l.height as i32));
    }
}
