//! Matplotlib's 'hot' colour map, the paper's choice for every heatmap (§2.3).

use plotters::style::RGBColor;

/// One channel of a piecewise-linear segment map: `(x, value)` knots, x ascending
/// from 0 to 1. These are matplotlib's `_hot_data` knots (`_cm.py`).
type Channel = &'static [(f64, f64)];

const RED: Channel = &[(0.0, 0.0416), (0.365079, 1.0), (1.0, 1.0)];
const GREEN: Channel = &[(0.0, 0.0), (0.365079, 0.0), (0.746032, 1.0), (1.0, 1.0)];
const BLUE: Channel = &[(0.0, 0.0), (0.746032, 0.0), (1.0, 1.0)];

fn channel(knots: Channel, t: f64) -> f64 {
    for w in knots.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if t <= x1 {
            return y0 + (y1 - y0) * (t - x0) / (x1 - x0);
        }
    }
    knots.last().map_or(0.0, |k| k.1)
}

/// The 'hot' colour at `t` in [0, 1] (clamped; NaN maps to 0): near-black (matplotlib
/// starts red at 0.0416, i.e. (11, 0, 0)) → red at 0.365 → yellow at 0.746 → white at 1.
pub fn hot(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let byte = |v: f64| (v * 255.0).round().clamp(0.0, 255.0) as u8;
    RGBColor(byte(channel(RED, t)), byte(channel(GREEN, t)), byte(channel(BLUE, t)))
}

/// Maps values onto [0, 1] for [`hot`]; a degenerate range (all cells equal) maps
/// everything to 0 rather than dividing by zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub min: f64,
    pub max: f64,
}

impl Scale {
    /// The range of the finite values, widened to include 0 when all are positive
    /// (counts and change magnitudes read best against a zero floor).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.into_iter().filter(|v| v.is_finite()) {
            min = min.min(v);
            max = max.max(v);
        }
        if min > max {
            return Self { min: 0.0, max: 1.0 };
        }
        Self { min: min.min(0.0), max }
    }

    pub fn unit(&self, v: f64) -> f64 {
        let span = self.max - self.min;
        if span > 0.0 {
            (v - self.min) / span
        } else {
            0.0
        }
    }

    pub fn color(&self, v: f64) -> RGBColor {
        hot(self.unit(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_matches_matplotlib_knots() {
        // matplotlib: cm.hot(0.0) = (0.0416, 0, 0); the knots 0.365079 and 0.746032
        // are where red and green saturate; 1.0 is white.
        assert_eq!(hot(0.0), RGBColor(11, 0, 0));
        assert_eq!(hot(0.365079), RGBColor(255, 0, 0));
        assert_eq!(hot(0.746032), RGBColor(255, 255, 0));
        assert_eq!(hot(1.0), RGBColor(255, 255, 255));
        // Midway between knots: half-way values, monotone everywhere.
        let mid = hot((0.365079 + 0.746032) / 2.0);
        assert_eq!((mid.0, mid.2), (255, 0));
        assert!((mid.1 as i32 - 128).abs() <= 1, "{mid:?}");
        let mut prev = (0u32, 0u32, 0u32);
        for i in 0..=100 {
            let c = hot(i as f64 / 100.0);
            assert!(c.0 as u32 >= prev.0 && c.1 as u32 >= prev.1 && c.2 as u32 >= prev.2);
            prev = (c.0 as u32, c.1 as u32, c.2 as u32);
        }
        assert_eq!(hot(f64::NAN), hot(0.0));
        assert_eq!(hot(7.0), hot(1.0));
    }

    #[test]
    fn scale_handles_degenerate_ranges() {
        assert_eq!(Scale::of([3.0, 3.0]).unit(3.0), 1.0);
        let s = Scale::of([f64::NAN, f64::INFINITY]);
        assert_eq!((s.min, s.max), (0.0, 1.0));
        assert_eq!(Scale { min: 2.0, max: 2.0 }.unit(2.0), 0.0);
        assert_eq!(Scale::of([-1.0, 1.0]).unit(0.0), 0.5);
    }
}
