//! A bitmap backend whose text rendering honours each glyph's side bearing.
//!
//! plotters 0.3.7's `ab_glyph` text drops the left side bearing of every glyph, so
//! narrow glyphs drift left ("sigm oi d", "0. 5"). This wrapper draws text itself
//! with the same embedded font and delegates everything else to `BitMapBackend`.

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind};
use std::sync::OnceLock;

fn font() -> &'static FontRef<'static> {
    static PARSED: OnceLock<FontRef<'static>> = OnceLock::new();
    PARSED.get_or_init(|| FontRef::try_from_slice(super::FONT).expect("the embedded DejaVuSans.ttf is a valid font"))
}

/// Horizontal pen positions of `text` and its width, at `scale`.
fn layout(text: &str, scale: PxScale) -> (Vec<(ab_glyph::GlyphId, f32)>, f32) {
    let f = font().as_scaled(scale);
    let mut pen = 0.0;
    let mut prev = None;
    let glyphs = text
        .chars()
        .map(|c| {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                pen += f.kern(p, id);
            }
            let at = pen;
            pen += f.h_advance(id);
            prev = Some(id);
            (id, at)
        })
        .collect();
    (glyphs, pen)
}

/// `BitMapBackend` with correct glyph placement; see the module doc.
pub(crate) struct Backend<'a>(pub BitMapBackend<'a>);

type Error<'a> = DrawingErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>;

impl<'a> DrawingBackend for Backend<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Error<'a>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Error<'a>> {
        self.0.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Error<'a>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Result<(), Error<'a>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Result<(), Error<'a>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(&self, text: &str, style: &S) -> Result<(u32, u32), Error<'a>> {
        let scale = PxScale::from(style.size() as f32);
        let (_, width) = layout(text, scale);
        Ok((width.ceil() as u32, font().as_scaled(scale).height().ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> Result<(), Error<'a>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let scale = PxScale::from(style.size() as f32);
        let scaled = font().as_scaled(scale);
        let (glyphs, width) = layout(text, scale);
        let height = scaled.height();
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let trans = style.transform();
        let (w, h) = self.get_size();
        for (id, x) in glyphs {
            let glyph = id.with_scale_and_position(scale, point(x + dx, scaled.ascent() + dy));
            let Some(outline) = font().outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let mut result = Ok(());
            outline.draw(|gx, gy, coverage| {
                let (x, y) = trans.transform(bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if result.is_ok() && coverage > 0.0 && x >= 0 && y >= 0 && x < w as i32 && y < h as i32 {
                    let c = BackendColor { alpha: color.alpha * f64::from(coverage.min(1.0)), rgb: color.rgb };
                    result = self.0.draw_pixel((x, y), c);
                }
            });
            result?;
        }
        Ok(())
    }
}
