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

/// How a [`Scale`] maps values between its ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mapping {
    Linear,
    /// Equal colour steps per factor of ten: magnitudes spanning decades.
    Log10,
}

/// Maps values onto [0, 1] for [`hot`]; values beyond the ends take the end colours, and a
/// degenerate range (all cells equal) maps everything to 0 rather than dividing by zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scale {
    pub min: f64,
    pub max: f64,
    pub(crate) mapping: Mapping,
    /// The ends are the 1st and 99th percentiles rather than the extremes (see [`Scale::robust`]).
    pub(crate) percentile: bool,
}

/// Below this ratio between the robust ends of positive values a linear scale shows the
/// structure well enough; above it (two decades) it leaves most cells one colour.
const LOG_RATIO: f64 = 100.0;

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
            return Self::linear(0.0, 1.0);
        }
        Self::linear(min.min(0.0), max)
    }

    pub fn linear(min: f64, max: f64) -> Self {
        Self { min, max, mapping: Mapping::Linear, percentile: false }
    }

    /// For magnitudes whose few large values (a run's first epochs of weight change, 1000×
    /// the rest) would leave every other cell black on a min–max scale: the ends are the
    /// 1st and 99th percentiles (nearest rank), and the scale is logarithmic when the
    /// positive values' robust range spans more than two decades. Zeros (and anything
    /// below the low end) take the lowest colour.
    pub(crate) fn robust(values: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        if v.is_empty() {
            return Self::linear(0.0, 1.0);
        }
        v.sort_by(f64::total_cmp);
        let (lo, hi) = (nearest_rank(&v, 0.01), nearest_rank(&v, 0.99));
        let positive = &v[v.partition_point(|x| *x <= 0.0)..];
        if v[0] >= 0.0 && !positive.is_empty() {
            let low = nearest_rank(positive, 0.01);
            if hi / low >= LOG_RATIO {
                return Self { min: low, max: hi, mapping: Mapping::Log10, percentile: true };
            }
        }
        let floor = if v[0] >= 0.0 { lo.min(0.0) } else { lo };
        if hi <= floor {
            // Nearly every cell equal (say 99% zeros): the percentiles would hide the rest.
            return Self::of(v);
        }
        Self { min: floor, max: hi, mapping: Mapping::Linear, percentile: true }
    }

    /// What the colour bar's label adds to the quantity's name, so the reader knows how
    /// to read the colours: `log scale, ends at the 1st and 99th percentiles`.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.mapping == Mapping::Log10 {
            parts.push("log scale");
        }
        if self.percentile {
            parts.push("ends at the 1st and 99th percentiles");
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// Position of `v` in [0, 1] (clamped).
    pub fn unit(&self, v: f64) -> f64 {
        let (v, min, max) = match self.mapping {
            Mapping::Linear => (v, self.min, self.max),
            Mapping::Log10 if v > 0.0 => (v.log10(), self.min.log10(), self.max.log10()),
            Mapping::Log10 => return 0.0,
        };
        let span = max - min;
        if span > 0.0 {
            ((v - min) / span).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    pub(crate) fn color(&self, v: f64) -> RGBColor {
        hot(self.unit(v))
    }

    /// Colour-bar tick values: round values for a linear scale; powers of ten (with 2× and
    /// 5× when the range spans few decades) for a log one.
    pub(crate) fn ticks(&self) -> Vec<f64> {
        match self.mapping {
            Mapping::Linear => super::nice_ticks(self.min, self.max, 6),
            Mapping::Log10 => {
                let (a, b) = (self.min.log10().floor() as i32, self.max.log10().ceil() as i32);
                let steps: &[f64] = if b - a <= 3 { &[1.0, 2.0, 5.0] } else { &[1.0] };
                let inside = |t: &f64| *t >= self.min * (1.0 - 1e-9) && *t <= self.max * (1.0 + 1e-9);
                (a..=b).flat_map(|e| steps.iter().map(move |m| m * 10f64.powi(e))).filter(inside).collect()
            }
        }
    }
}

/// The nearest-rank `q` quantile of ascending `sorted` (non-empty): a value that occurs.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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
        assert_eq!(Scale::linear(2.0, 2.0).unit(2.0), 0.0);
        assert_eq!(Scale::of([-1.0, 1.0]).unit(0.0), 0.5);
    }

    #[test]
    fn robust_scale_keeps_structure_under_a_few_huge_values() {
        // 200 cells: two "first epoch" cells 1000x the rest, the rest spread over 1e-3..2e-3.
        let mut cells: Vec<f64> = (0..198).map(|i| 1e-3 + 1e-3 * f64::from(i) / 197.0).collect();
        cells.extend([2.0, 3.0]);
        let plain = Scale::of(cells.iter().copied());
        assert!(plain.unit(2e-3) < 0.001, "min-max leaves the bulk black");
        let s = Scale::robust(cells.iter().copied());
        assert_eq!((s.mapping, s.min, s.max), (Mapping::Linear, 0.0, cells[197]));
        assert!(s.unit(1e-3) < 0.55 && s.unit(2e-3) == 1.0, "the bulk spans the colours");
        assert_eq!(s.unit(3.0), 1.0, "clipped values take the top colour");
        assert_eq!(s.describe().as_deref(), Some("ends at the 1st and 99th percentiles"));

        // Decaying magnitudes over four decades: logarithmic, ends at the percentiles.
        let decay: Vec<f64> = (1..=1000).map(|e| 10f64.powf(-4.0 * f64::from(e) / 1000.0)).collect();
        let s = Scale::robust(decay.iter().copied().chain([0.0]));
        assert_eq!(s.mapping, Mapping::Log10);
        // Ascending, the 10th of the 1000 positive values is decay[990]; the 991st of all 1001 is decay[10].
        assert_eq!((s.min, s.max), (decay[990], decay[10]), "1st percentile of the positive values, 99th of all");
        assert!((s.unit(1e-2) - 0.5).abs() < 0.01, "{}", s.unit(1e-2));
        assert_eq!(s.unit(0.0), 0.0);
        assert_eq!(s.describe().as_deref(), Some("log scale, ends at the 1st and 99th percentiles"));
        assert_eq!(s.ticks(), vec![1e-3, 1e-2, 1e-1]);

        // 99.5% zeros: the percentile range is empty, so the full range shows the few others.
        let sparse = Scale::robust((0..1000).map(|i| if i < 5 { 1.0 } else { 0.0 }));
        assert_eq!(sparse, Scale::linear(0.0, 1.0));
        assert_eq!(sparse.unit(1.0), 1.0);

        // Signed values stay linear; nothing finite gives the unit range.
        let s = Scale::robust([-1.0, 0.5, 1.0]);
        assert_eq!((s.mapping, s.min, s.max), (Mapping::Linear, -1.0, 1.0));
        assert_eq!(Scale::robust([f64::NAN]), Scale::linear(0.0, 1.0));
        assert_eq!(Scale::of([1.0]).describe(), None);
    }
}
