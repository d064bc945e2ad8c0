//! Legends drawn outside the plot areas, in rows below the panels, so that they never
//! hide a curve or a mark.

use super::{font, Area};
use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// What a legend entry shows beside its text.
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    Line,
    Dot,
    /// An error bar: a stem with two caps.
    Bar,
    Diamond,
    Cross,
}

pub(crate) struct Entry {
    pub mark: Mark,
    pub(crate) color: RGBColor,
    pub text: String,
}

const ROW: i32 = 22;
/// Pixels before the text (the mark) and after it (the gap to the next entry).
const MARK_W: i32 = 30;
const GAP: i32 = 24;
/// Room kept free at the image's left and right edges.
const SIDES: i32 = 40;

fn entry_width(area: &Area<'_>, e: &Entry) -> i32 {
    let text = area.estimate_text_size(&e.text, &font(13)).map_or(8 * e.text.len() as u32, |s| s.0);
    MARK_W + text as i32 + GAP
}

/// Each entry's row, filling rows left to right within `width` pixels.
fn rows<'e>(area: &Area<'_>, entries: &'e [Entry], width: u32) -> Vec<Vec<(&'e Entry, i32)>> {
    let mut out: Vec<Vec<(&Entry, i32)>> = Vec::new();
    let mut used = 0;
    for e in entries {
        let w = entry_width(area, e);
        if out.is_empty() || (used > 0 && used + w > width as i32 - 2 * SIDES) {
            out.push(Vec::new());
            used = 0;
        }
        out.last_mut().expect("pushed above").push((e, w));
        used += w;
    }
    out
}

/// Pixel height of the legend strip that [`draw`] fills for `entries`.
pub fn height(area: &Area<'_>, entries: &[Entry], width: u32) -> u32 {
    (rows(area, entries, width).len() as i32 * ROW + 12) as u32
}

/// The ensemble marker: a filled diamond centred on `at` (pixels).
pub(crate) fn diamond(at: (i32, i32), color: RGBColor) -> Polygon<(i32, i32)> {
    let (x, y) = at;
    Polygon::new(vec![(x, y - 7), (x + 7, y), (x, y + 7), (x - 7, y)], color.filled())
}

/// Draws `entries` in centred rows on `area` (a strip below the plots, `width` wide).
pub fn draw(area: &Area<'_>, entries: &[Entry], width: u32) -> Result<()> {
    let style = font(13).pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows(area, entries, width).iter().enumerate() {
        let mut x = (width as i32 - row.iter().map(|(_, w)| w).sum::<i32>()) / 2;
        let y = 6 + r as i32 * ROW + ROW / 2;
        for (e, w) in row {
            let (c, mid) = (e.color, x + 11);
            match e.mark {
                Mark::Line => area.draw(&PathElement::new([(x, y), (x + 22, y)], c.stroke_width(2)))?,
                Mark::Dot => area.draw(&Circle::new((mid, y), 4, c.filled()))?,
                Mark::Bar => {
                    for seg in [
                        [(mid, y - 7), (mid, y + 7)],
                        [(mid - 4, y - 7), (mid + 4, y - 7)],
                        [(mid - 4, y + 7), (mid + 4, y + 7)],
                    ] {
                        area.draw(&PathElement::new(seg, c.stroke_width(2)))?;
                    }
                }
                Mark::Diamond => area.draw(&diamond((mid, y), c))?,
                Mark::Cross => area.draw(&Cross::new((mid, y), 5, c.stroke_width(3)))?,
            }
            area.draw_text(&e.text, &style, (x + MARK_W, y))?;
            x += w;
        }
    }
    Ok(())
}
