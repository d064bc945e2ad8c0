//! Spectral input features for the Phoneme rows: the raw amplitudes, their windowed magnitude
//! spectrum (linear or log), or a log-mel spectrogram (at one resolution or three), plus a per-feature z-score fitted on the
//! training rows.
//!
//! A multivariate row holds its channels back to back (channel 0's samples, then channel 1's, …,
//! as the data readers flatten it); [`transform_channels`] computes every kind on each channel
//! separately and concatenates the results channel-major (channel 0's features, then channel
//! 1's, …). A univariate row is one channel, and goes through [`transform`] unchanged.
//!
//! Everything works on row-major `f64` matrices (`x.len() == rows * cols`) and is single-threaded
//! on purpose: the caller parallelises over pipelines/rows. Each call plans its FFT once and reuses
//! its buffers across rows.
//!
//! The reference values in the tests come from numpy; the generator is
//! `tests/fixtures/spectral_reference.py`.

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

use crate::spec::options::Features;

/// Added to |X_k| before `ln` in [`Features::LogSpectrum`]: small next to the bins of a windowed row
/// at the data's amplitude scale, so it barely moves them, yet it keeps an exactly-zero bin (e.g.
/// the DC of a silent row) at ln 1e-6 ≈ −13.8 instead of −inf.
pub(crate) const LOG_SPECTRUM_EPS: f64 = 1e-6;

/// Added to the mel energies before `ln` in [`Features::LogMel`], for the same reason as
/// [`LOG_SPECTRUM_EPS`] but on a power scale; it is librosa's `power_to_db` floor (`amin`), which
/// clamps rather than adds. An empty frame gives ln 1e-10 ≈ −23.0.
pub(crate) const LOG_MEL_EPS: f64 = 1e-10;

/// The three `LogMel` analyses of [`Features::MultiLogMel`], shortest frames first.
pub(crate) fn multi_scales(p: &SpectralParams) -> [SpectralParams; 3] {
    let half = SpectralParams { frame: p.frame / 2, hop: (p.hop / 2).max(1), ..*p };
    let twice = SpectralParams { frame: p.frame.saturating_mul(2), hop: p.hop.saturating_mul(2), ..*p };
    [half, *p, twice]
}

/// Parameters of the short-time analysis; only [`Features::LogMel`] and [`Features::MultiLogMel`] read (and validate) them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectralParams {
    /// Samples per short-time frame (also the FFT length); at least 2, at most the row length.
    pub frame: usize,
    /// Samples between the starts of consecutive frames; at least 1 (it may exceed `frame`).
    pub hop: usize,
    /// Number of triangular mel filters.
    pub mel_bands: usize,
    /// Sampling rate in Hz; it only places the filterbank's edges relative to the FFT bins.
    pub sample_rate: f64,
}

impl Default for SpectralParams {
    /// 256-sample frames with 50 % overlap (7 frames of a 1024-sample Phoneme row, 129 bins each)
    /// and 40 mel bands, a common speech front end.
    ///
    /// The sample rate is nominal: neither the UCR archive nor the paper
    /// (shared/seed/is-amplitude-all-you-need.md) states the Phoneme recordings' rate, so 16 kHz,
    /// the usual speech rate, is assumed. It only decides where the mel edges fall among the 129
    /// bins; at 256 samples and 16 kHz every filter covers a bin for up to 57 bands.
    fn default() -> Self {
        SpectralParams { frame: 256, hop: 128, mel_bands: 40, sample_rate: 16_000.0 }
    }
}

/// A parameter (or the data's shape) that cannot produce features; the message names the key and
/// how to fix it, and [`SpectralError::key`] gives the key alone for config diagnostics.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpectralError {
    #[error("`cols` is 0: rows need at least one sample")]
    NoColumns,
    #[error(
        "data of length {len} is not a whole number of rows of `cols` = {cols}: pass the row width of the row-major matrix"
    )]
    Ragged { len: usize, cols: usize },
    #[error(
        "rows of `cols` = {cols} values are not {channels} channels of equal length: pass the number of channels the row holds"
    )]
    Channels { cols: usize, channels: usize },
    #[error("`frame` = {frame} is too short: use a frame of at least 2 samples (e.g. 256)")]
    FrameTooShort { frame: usize },
    #[error("`frame` = {frame} exceeds the series length {cols}: use a frame of at most {cols} samples")]
    FrameTooLong { frame: usize, cols: usize },
    #[error("`hop` is 0: use a hop of at least 1 sample (e.g. half the frame)")]
    ZeroHop,
    #[error("`mel_bands` is 0: use at least 1 mel band (e.g. 40)")]
    ZeroMelBands,
    #[error("`sample_rate` = {0} is not a positive finite number of Hz: use e.g. 16000")]
    BadSampleRate(f64),
    #[error(
        "`mel_bands` = {mel_bands} is too many for `frame` = {frame}: mel filter {band} covers no FFT bin, so its feature would be constant; use fewer `mel_bands` or a longer `frame`"
    )]
    EmptyMelFilter { mel_bands: usize, frame: usize, band: usize },
    #[error(
        "the features would be {width} values for each of {rows} rows ({bytes}), more than the {limit} \
         memory limit (the machine's memory, or PINNIPED_MAX_RUN_MEMORY); use a larger `hop` or fewer `mel_bands`"
    )]
    TooLarge { width: usize, rows: usize, bytes: crate::memory::Bytes, limit: crate::memory::Bytes },
    #[error("{0}")]
    Limit(String),
    #[error("`{key}` = {value} is more than its bound of {max}")]
    OverBound { key: &'static str, value: usize, max: usize },
    #[error(
        "features = \"multi-log-mel\" also analyses frames of half and twice `frame` (here {frame} samples, hop {hop}), \
         and there: {inner}; choose `frame`, `hop` and `mel_bands` that suit all three resolutions, or use \"log-mel\""
    )]
    OtherScale { frame: usize, hop: usize, inner: Box<SpectralError> },
}

impl SpectralError {
    /// The parameter at fault (`cols` for a malformed matrix).
    pub fn key(&self) -> &'static str {
        match self {
            SpectralError::NoColumns | SpectralError::Ragged { .. } | SpectralError::Channels { .. } => "cols",
            SpectralError::FrameTooShort { .. } | SpectralError::FrameTooLong { .. } => "frame",
            SpectralError::ZeroHop => "hop",
            SpectralError::ZeroMelBands | SpectralError::EmptyMelFilter { .. } => "mel_bands",
            SpectralError::TooLarge { .. } | SpectralError::Limit(_) => "features",
            SpectralError::OverBound { key, .. } => key,
            SpectralError::BadSampleRate(_) => "sample_rate",
            SpectralError::OtherScale { inner, .. } => inner.key(),
        }
    }
}

/// Features per row that [`transform`] produces for rows of `cols` samples.
pub fn output_width(kind: Features, cols: usize, p: &SpectralParams) -> Result<usize, SpectralError> {
    if cols == 0 {
        return Err(SpectralError::NoColumns);
    }
    Ok(match kind {
        Features::Amplitude => cols,
        Features::Spectrum | Features::LogSpectrum => cols / 2 + 1,
        Features::LogMel => {
            let (n_frames, _) = mel_layout(cols, p)?;
            n_frames * p.mel_bands
        }
        Features::MultiLogMel => {
            // The key's own resolution first, so its errors name the values as written.
            let own = output_width(Features::LogMel, cols, p)?;
            let [half, _, twice] = multi_scales(p);
            let mut width = own;
            for scale in [half, twice] {
                width += output_width(Features::LogMel, cols, &scale).map_err(|e| SpectralError::OtherScale {
                    frame: scale.frame,
                    hop: scale.hop,
                    inner: Box::new(e),
                })?;
            }
            width
        }
    })
}

/// The `kind` features of every row of the row-major `x` (rows of `cols` samples), as a row-major
/// matrix `rows × output_width(kind, cols, p)`.
///
/// The representations (the `features` key, [`Features`]):
/// - [`Features::Amplitude`]: The raw samples, unchanged (`cols` values): the paper's input. Its min–max and per-sample
///   normalisation are applied by the caller, not here.
/// - [`Features::Spectrum`]: |rfft(hann(cols) · row)|, `cols / 2 + 1` bins.
/// - [`Features::LogSpectrum`]: `ln(|rfft(hann(cols) · row)| + 1e-6)`: compresses the spectrum's dynamic range.
/// - [`Features::LogMel`]: Short-time log-mel energies, `n_frames × mel_bands` values, frame-major: frames of `frame`
///   samples every `hop` samples without padding (`n_frames = 1 + (cols − frame) / hop`), each
///   times `np.hanning(frame)`, power spectrum `|X_k|²` (k = 0..=frame/2), mel filterbank,
///   `ln(E + 1e-10)` ([`LOG_MEL_EPS`]).
///
///   The filterbank is `librosa.filters.mel(sr=sample_rate, n_fft=frame, n_mels=mel_bands, fmin=0,
///   fmax=sample_rate/2, htk=True, norm=None)`, built as follows (M = `mel_bands`):
///
///   1. bin frequencies `f_k = k · sample_rate / frame`, k = 0..=frame/2;
///   2. `mel_bands + 2` edges equally spaced in HTK mel (`mel = 2595·log10(1 + f/700)`) from
///      mel(0) = 0 to mel(sample_rate/2) (as `np.linspace`), mapped back to Hz
///      (`f = 700·(10^(mel/2595) − 1)`): `e_0 = 0 < e_1 < … < e_{M+1} = sample_rate/2`;
///   3. filter i (0-based) rises from `e_i` to a peak of 1 at `e_{i+1}` and falls to `e_{i+2}`:
///      `w_ik = max(0, min((f_k − e_i)/(e_{i+1} − e_i), (e_{i+2} − f_k)/(e_{i+2} − e_{i+1})))`.
///
///   There is no area normalisation (librosa's `norm="slaney"`): each filter has peak weight 1,
///   so wide high filters sum more bins than narrow low ones; the z-score evens that out.
///
///   A filter whose weights are all 0 (no bin strictly between `e_i` and `e_{i+2}`: too many
///   bands for `frame`'s resolution) is an error ([`SpectralError::EmptyMelFilter`]) where
///   librosa only warns: its feature would be the constant ln 1e-10 in every row, a dead input.
///   (librosa does not even warn about filter 0 when fmin = 0.)
/// - [`Features::MultiLogMel`]: `LogMel` at three time–frequency resolutions, concatenated per row: frames of `frame / 2`
///   samples every `max(hop / 2, 1)`, of `frame` every `hop`, and of `2·frame` every `2·hop`, all
///   with `mel_bands` bands ([`multi_scales`]). Short frames resolve time, long ones frequency;
///   the network gets both. On Phoneme (frame 256, hop 128, 20 bands: 15 + 7 + 3 frames, 500
///   values) it beat the single resolution by 1.5 points of validation accuracy, paired over 20
///   splits (experiments/phoneme-cv-candidates.md).
///
/// Hann windows are numpy's *symmetric* `np.hanning(n)`
/// (`0.5 − 0.5·cos(2πj/(n−1))`), not the periodic one of `scipy.signal.get_window`: the window is
/// a taper for one analysis, with nothing overlap-added afterwards. FFTs are unnormalised, like
/// `np.fft.rfft`. `LogMel` drops samples after the last whole frame rather than padding.
pub fn transform(kind: Features, x: &[f64], cols: usize, p: &SpectralParams) -> Result<Vec<f64>, SpectralError> {
    let width = output_width(kind, cols, p)?;
    if !x.len().is_multiple_of(cols) {
        return Err(SpectralError::Ragged { len: x.len(), cols });
    }
    let rows = x.len() / cols;
    let mut out = Vec::with_capacity(rows * width);
    match kind {
        Features::Amplitude => out.extend_from_slice(x),
        Features::Spectrum | Features::LogSpectrum => {
            let mut fft = WindowedFft::new(cols);
            for row in x.chunks_exact(cols) {
                let spectrum = fft.run(row);
                if kind == Features::Spectrum {
                    out.extend(spectrum.iter().map(|c| c.norm()));
                } else {
                    out.extend(spectrum.iter().map(|c| (c.norm() + LOG_SPECTRUM_EPS).ln()));
                }
            }
        }
        Features::LogMel => {
            let filters = mel_filterbank(p.frame, p.mel_bands, p.sample_rate)?;
            let mut fft = WindowedFft::new(p.frame);
            let mut power = vec![0.0; p.frame / 2 + 1];
            for row in x.chunks_exact(cols) {
                for start in (0..=cols - p.frame).step_by(p.hop) {
                    let spectrum = fft.run(&row[start..start + p.frame]);
                    for (pw, c) in power.iter_mut().zip(spectrum) {
                        // |X|² via the modulus, as numpy's `np.abs(X) ** 2`.
                        *pw = c.norm().powi(2);
                    }
                    out.extend(filters.iter().map(|f| (f.apply(&power) + LOG_MEL_EPS).ln()));
                }
            }
        }
        Features::MultiLogMel => {
            let mut parts = Vec::with_capacity(3);
            for scale in multi_scales(p) {
                parts.push((
                    transform(Features::LogMel, x, cols, &scale)?,
                    output_width(Features::LogMel, cols, &scale)?,
                ));
            }
            for row in 0..rows {
                for (part, w) in &parts {
                    out.extend_from_slice(&part[row * w..(row + 1) * w]);
                }
            }
        }
    }
    debug_assert_eq!(out.len(), rows * width);
    Ok(out)
}

/// The samples per channel of a row of `cols` values holding `channels` channels.
fn channel_length(cols: usize, channels: usize) -> Result<usize, SpectralError> {
    if cols == 0 {
        return Err(SpectralError::NoColumns);
    }
    if channels == 0 || !cols.is_multiple_of(channels) {
        return Err(SpectralError::Channels { cols, channels });
    }
    Ok(cols / channels)
}

/// Features per row that [`transform_channels`] produces for rows of `channels` channels of
/// `cols / channels` samples each: `channels` times the width of one channel.
pub(crate) fn output_width_channels(
    kind: Features,
    cols: usize,
    channels: usize,
    p: &SpectralParams,
) -> Result<usize, SpectralError> {
    let length = channel_length(cols, channels)?;
    Ok(output_width(kind, length, p)? * channels)
}

/// The `kind` features of every row of the row-major `x`, whose rows are `channels` channels of
/// `cols / channels` samples each (back to back): each channel is transformed on its own, as
/// [`transform`] does a univariate row, and a row's features are channel 0's, then channel 1's, …
/// (`rows × output_width_channels(kind, cols, channels, p)`). With one channel this is
/// [`transform`] itself, so univariate features are exactly what they always were.
pub(crate) fn transform_channels(
    kind: Features,
    x: &[f64],
    cols: usize,
    channels: usize,
    p: &SpectralParams,
) -> Result<Vec<f64>, SpectralError> {
    let length = channel_length(cols, channels)?;
    if channels == 1 || kind == Features::Amplitude {
        // Amplitudes concatenated per channel are the row itself.
        return transform(kind, x, cols, p);
    }
    if !x.len().is_multiple_of(cols) {
        return Err(SpectralError::Ragged { len: x.len(), cols });
    }
    let width = output_width(kind, length, p)?;
    let rows = x.len() / cols;
    let mut out = vec![0.0; rows * width * channels];
    // One channel of every row at a time, so each FFT plan and filterbank serves all rows.
    let mut series = Vec::with_capacity(rows * length);
    for c in 0..channels {
        series.clear();
        for row in x.chunks_exact(cols) {
            series.extend_from_slice(&row[c * length..(c + 1) * length]);
        }
        let features = transform(kind, &series, length, p)?;
        for (row, f) in out.chunks_exact_mut(width * channels).zip(features.chunks_exact(width)) {
            row[c * width..(c + 1) * width].copy_from_slice(f);
        }
    }
    Ok(out)
}

/// Per-column mean and population standard deviation (ddof 0) of the row-major `x`, to be fitted
/// on the training rows only and applied with [`standardize_apply`] to every split.
///
/// A column whose values are all equal gets std exactly 0 (and its value as the mean), even where
/// rounding in the mean would leave a spurious ~1e-17 spread that would blow the column up to
/// ±1 noise. With no rows, mean and std are all 0.
///
/// # Panics
/// If `cols` is 0 or `x.len()` is not a multiple of `cols`.
pub(crate) fn standardize_fit(x: &[f64], cols: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(cols > 0 && x.len().is_multiple_of(cols), "standardize_fit: {} values are not rows of {cols}", x.len());
    let rows = x.len() / cols;
    let mut mean = vec![0.0; cols];
    let mut std = vec![0.0; cols];
    if rows == 0 {
        return (mean, std);
    }
    for row in x.chunks_exact(cols) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    for row in x.chunks_exact(cols) {
        for (s, (v, m)) in std.iter_mut().zip(row.iter().zip(&mean)) {
            *s += (v - m).powi(2);
        }
    }
    for (j, (m, s)) in mean.iter_mut().zip(std.iter_mut()).enumerate() {
        let first = x[j];
        if x.iter().skip(j).step_by(cols).all(|&v| v == first) {
            (*m, *s) = (first, 0.0);
        } else {
            *s = (*s / rows as f64).sqrt();
        }
    }
    (mean, std)
}

/// Replaces each value of the row-major `x` by its z-score `(v − mean[j]) / std[j]`; a column with
/// std 0 becomes 0 (it carries no information, and 0/0 must not reach the network as NaN).
///
/// # Panics
/// If `mean` or `std` is not `cols` long, or `x.len()` is not a multiple of `cols`.
pub(crate) fn standardize_apply(x: &mut [f64], cols: usize, mean: &[f64], std: &[f64]) {
    assert!(
        cols > 0 && x.len().is_multiple_of(cols) && mean.len() == cols && std.len() == cols,
        "standardize_apply: {} values, cols {cols}, {} means, {} stds",
        x.len(),
        mean.len(),
        std.len()
    );
    for row in x.chunks_exact_mut(cols) {
        for (v, (m, s)) in row.iter_mut().zip(mean.iter().zip(std)) {
            *v = if *s > 0.0 { (*v - m) / s } else { 0.0 };
        }
    }
}

/// numpy's `np.hanning(len)`, evaluated with numpy's own formula (`0.5 + 0.5·cos(πn/(len−1))` for
/// n = 1−len, 3−len, …, len−1) so the windows agree to the last bit or so; `np.hanning(1)` is `[1]`.
fn hanning(len: usize) -> Vec<f64> {
    if len == 1 {
        return vec![1.0];
    }
    let denom = (len - 1) as f64;
    (0..len).map(|k| 0.5 + 0.5 * (std::f64::consts::PI * (2.0 * k as f64 - denom) / denom).cos()).collect()
}

/// A planned real FFT of one length with its window and buffers, reused for every row/frame.
struct WindowedFft {
    plan: std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    window: Vec<f64>,
    input: Vec<f64>,
    output: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl WindowedFft {
    fn new(len: usize) -> Self {
        let plan = RealFftPlanner::<f64>::new().plan_fft_forward(len);
        WindowedFft {
            window: hanning(len),
            input: plan.make_input_vec(),
            output: plan.make_output_vec(),
            scratch: plan.make_scratch_vec(),
            plan,
        }
    }

    /// The `len / 2 + 1` complex bins of `rfft(window · samples)`.
    fn run(&mut self, samples: &[f64]) -> &[Complex<f64>] {
        for ((dst, s), w) in self.input.iter_mut().zip(samples).zip(&self.window) {
            *dst = s * w;
        }
        self.plan
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch)
            .expect("buffers come from the plan, so their lengths match");
        &self.output
    }
}

/// Validates the `LogMel` parameters for rows of `cols` samples; returns `(n_frames, bins)`.
fn mel_layout(cols: usize, p: &SpectralParams) -> Result<(usize, usize), SpectralError> {
    // The `[train]` bounds, again here: parameters can also come from a checkpoint's metadata.
    use crate::spec::config::limits::{MAX_FRAME, MAX_MEL_BANDS};
    for (key, value, max) in
        [("frame", p.frame, MAX_FRAME), ("hop", p.hop, MAX_FRAME), ("mel_bands", p.mel_bands, MAX_MEL_BANDS)]
    {
        if value > max {
            return Err(SpectralError::OverBound { key, value, max });
        }
    }
    if p.frame < 2 {
        return Err(SpectralError::FrameTooShort { frame: p.frame });
    }
    if p.frame > cols {
        return Err(SpectralError::FrameTooLong { frame: p.frame, cols });
    }
    if p.hop == 0 {
        return Err(SpectralError::ZeroHop);
    }
    // Builds (and so checks) the filterbank; cheap next to any transform.
    mel_filterbank(p.frame, p.mel_bands, p.sample_rate)?;
    Ok((1 + (cols - p.frame) / p.hop, p.frame / 2 + 1))
}

/// One triangular mel filter, stored as its nonzero span of FFT bins.
#[derive(Debug)]
struct MelFilter {
    first_bin: usize,
    weights: Vec<f64>,
}

impl MelFilter {
    fn apply(&self, power: &[f64]) -> f64 {
        power[self.first_bin..].iter().zip(&self.weights).map(|(p, w)| p * w).sum()
    }
}

/// HTK mel scale, as librosa's `hz_to_mel(htk=True)`.
fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// The mel filterbank described at [`Features::LogMel`], one sparse filter per band.
fn mel_filterbank(frame: usize, mel_bands: usize, sample_rate: f64) -> Result<Vec<MelFilter>, SpectralError> {
    if mel_bands == 0 {
        return Err(SpectralError::ZeroMelBands);
    }
    if !(sample_rate.is_finite() && sample_rate > 0.0) {
        return Err(SpectralError::BadSampleRate(sample_rate));
    }
    let bins = frame / 2 + 1;
    let bin_hz: Vec<f64> = (0..bins).map(|k| k as f64 * sample_rate / frame as f64).collect();
    // np.linspace(0, top, n): start + i·step, with the last point set to `top` exactly.
    let top = hz_to_mel(sample_rate / 2.0);
    let step = top / (mel_bands + 1) as f64;
    let edges: Vec<f64> =
        (0..mel_bands + 2).map(|i| if i == mel_bands + 1 { top } else { i as f64 * step }).map(mel_to_hz).collect();
    (0..mel_bands)
        .map(|band| {
            let (lo, mid, hi) = (edges[band], edges[band + 1], edges[band + 2]);
            let w: Vec<f64> =
                bin_hz.iter().map(|&f| ((f - lo) / (mid - lo)).min((hi - f) / (hi - mid)).max(0.0)).collect();
            let first = w.iter().position(|&v| v > 0.0);
            let last = w.iter().rposition(|&v| v > 0.0);
            match (first, last) {
                (Some(a), Some(b)) => Ok(MelFilter { first_bin: a, weights: w[a..=b].to_vec() }),
                _ => Err(SpectralError::EmptyMelFilter { mel_bands, frame, band }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `got` matches numpy's `want` to a relative 1e-9 (observed: ~4e-13); absolute 1e-15 near 0.
    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-9 * w.abs().max(1e-6), "[{i}]: got {g}, numpy {w}");
        }
    }

    fn params(frame: usize, hop: usize, mel_bands: usize, sample_rate: f64) -> SpectralParams {
        SpectralParams { frame, hop, mel_bands, sample_rate }
    }

    /// Row-major dense copy of the filterbank, `mel_bands × (frame/2 + 1)`.
    fn dense(filters: &[MelFilter], bins: usize) -> Vec<f64> {
        let mut out = vec![0.0; filters.len() * bins];
        for (row, f) in out.chunks_exact_mut(bins).zip(filters) {
            row[f.first_bin..f.first_bin + f.weights.len()].copy_from_slice(&f.weights);
        }
        out
    }

    #[test]
    fn amplitude_is_identity() {
        let p = SpectralParams::default();
        assert_eq!(transform(Features::Amplitude, &X, 32, &p).unwrap(), X.to_vec());
    }

    #[test]
    fn spectrum_matches_numpy() {
        let p = SpectralParams::default();
        assert_close(&transform(Features::Spectrum, &X, 32, &p).unwrap(), &SPECTRUM);
        let odd: Vec<f64> = X.chunks(32).flat_map(|r| &r[..31]).copied().collect();
        assert_close(&transform(Features::Spectrum, &odd, 31, &p).unwrap(), &SPECTRUM_ODD);
    }

    #[test]
    fn log_spectrum_matches_numpy() {
        assert_close(&transform(Features::LogSpectrum, &X, 32, &SpectralParams::default()).unwrap(), &LOG_SPECTRUM);
    }

    #[test]
    fn mel_filterbank_matches_numpy() {
        assert_close(&dense(&mel_filterbank(16, 4, 16_000.0).unwrap(), 9), &MEL_FB_16K_16_4);
    }

    #[test]
    fn log_mel_matches_numpy() {
        assert_close(&transform(Features::LogMel, &X, 32, &params(16, 8, 4, 16_000.0)).unwrap(), &LOG_MEL_16_8_4);
        // hop 5 leaves 1 sample after the last whole frame: it is dropped, not padded.
        assert_close(&transform(Features::LogMel, &X, 32, &params(16, 5, 3, 8_000.0)).unwrap(), &LOG_MEL_16_5_3);
    }

    #[test]
    fn multi_log_mel_matches_numpy() {
        let p = params(16, 8, 3, 8_000.0);
        assert_close(&transform(Features::MultiLogMel, &X, 32, &p).unwrap(), &MULTI_LOG_MEL_16_8_3);
        assert_eq!(output_width(Features::MultiLogMel, 32, &p), Ok(MULTI_LOG_MEL_16_8_3.len() / 2));
    }

    const ALL_KINDS: [Features; 5] =
        [Features::Amplitude, Features::Spectrum, Features::LogSpectrum, Features::LogMel, Features::MultiLogMel];

    #[test]
    fn a_two_channel_row_gets_its_channels_features_concatenated() {
        // Rows of 2 channels × 32 samples: channel 0 is X's row r, channel 1 a different series
        // (X's other row, reversed and scaled), so a mix-up of channels or rows shows.
        let (ch0, ch1): (Vec<f64>, Vec<f64>) =
            (X.to_vec(), X.chunks(32).rev().flat_map(|r| r.iter().rev().map(|v| 3.0 * v)).collect());
        let x: Vec<f64> = ch0.chunks(32).zip(ch1.chunks(32)).flat_map(|(a, b)| a.iter().chain(b)).copied().collect();
        let p = params(16, 8, 3, 8_000.0);
        for kind in ALL_KINDS {
            let (f0, f1) = (transform(kind, &ch0, 32, &p).unwrap(), transform(kind, &ch1, 32, &p).unwrap());
            let width = output_width(kind, 32, &p).unwrap();
            let want: Vec<f64> =
                f0.chunks(width).zip(f1.chunks(width)).flat_map(|(a, b)| a.iter().chain(b)).copied().collect();
            assert_eq!(transform_channels(kind, &x, 64, 2, &p).unwrap(), want, "{kind:?}");
            assert_eq!(output_width_channels(kind, 64, 2, &p), Ok(2 * width), "{kind:?}");
        }
    }

    #[test]
    fn per_channel_features_match_numpy() {
        // X read as one row of 2 channels (its two rows back to back): numpy's per-channel
        // features, `f(x.reshape(rows, channels, length)).reshape(rows, -1)`, are then the pinned
        // two-row arrays, in the same order.
        let one_row = |kind, p: &SpectralParams| transform_channels(kind, &X, 64, 2, p).unwrap();
        assert_close(&one_row(Features::Spectrum, &SpectralParams::default()), &SPECTRUM);
        assert_close(&one_row(Features::LogSpectrum, &SpectralParams::default()), &LOG_SPECTRUM);
        assert_close(&one_row(Features::LogMel, &params(16, 8, 4, 16_000.0)), &LOG_MEL_16_8_4);
        assert_close(&one_row(Features::MultiLogMel, &params(16, 8, 3, 8_000.0)), &MULTI_LOG_MEL_16_8_3);
        // Not the transform of the 64-sample row as one series.
        assert_ne!(transform(Features::Spectrum, &X, 64, &SpectralParams::default()).unwrap().len(), SPECTRUM.len());
    }

    #[test]
    fn one_channel_is_the_univariate_transform_bit_for_bit() {
        let p = params(16, 5, 3, 8_000.0);
        for kind in ALL_KINDS {
            assert_eq!(transform_channels(kind, &X, 32, 1, &p), transform(kind, &X, 32, &p), "{kind:?}");
            assert_eq!(output_width_channels(kind, 32, 1, &p), output_width(kind, 32, &p), "{kind:?}");
        }
    }

    #[test]
    fn channels_that_do_not_divide_the_row_are_an_error() {
        let p = SpectralParams::default();
        for channels in [0, 3, 5] {
            let e = transform_channels(Features::Spectrum, &X, 32, channels, &p).unwrap_err();
            assert_eq!(e, SpectralError::Channels { cols: 32, channels });
            assert_eq!(output_width_channels(Features::Spectrum, 32, channels, &p), Err(e.clone()));
            assert_eq!(e.key(), "cols");
        }
        // The frame must fit one channel, not the whole row.
        assert_eq!(
            transform_channels(Features::LogMel, &X, 64, 2, &params(33, 8, 3, 8_000.0)),
            Err(SpectralError::FrameTooLong { frame: 33, cols: 32 })
        );
    }

    #[test]
    fn multi_log_mel_scales_are_half_once_and_twice() {
        let cases = [
            ("even", params(256, 128, 20, 16_000.0), [(128, 64), (256, 128), (512, 256)]),
            ("hop 1 keeps a hop of 1", params(256, 1, 20, 16_000.0), [(128, 1), (256, 1), (512, 2)]),
            ("odd values round down", params(255, 127, 20, 16_000.0), [(127, 63), (255, 127), (510, 254)]),
        ];
        for (name, p, want) in cases {
            let got = multi_scales(&p).map(|s| (s.frame, s.hop));
            assert_eq!(got, want, "{name}");
            assert!(multi_scales(&p).iter().all(|s| s.mel_bands == p.mel_bands && s.sample_rate == p.sample_rate));
        }
        // The Phoneme default of experiments/phoneme-cv-candidates.md: (15 + 7 + 3) frames × 20 bands.
        assert_eq!(output_width(Features::MultiLogMel, 1024, &params(256, 128, 20, 16_000.0)), Ok(500));
    }

    #[test]
    fn multi_log_mel_errors_name_the_resolution_at_fault() {
        let multi = |cols, p: SpectralParams| transform(Features::MultiLogMel, &X[..2 * cols], cols, &p).unwrap_err();
        let other = |frame, hop, inner| SpectralError::OtherScale { frame, hop, inner: Box::new(inner) };
        let cases = [
            // The key's own resolution reports as log-mel does.
            (
                "own frame too long",
                multi(32, params(33, 4, 3, 8_000.0)),
                SpectralError::FrameTooLong { frame: 33, cols: 32 },
            ),
            ("zero hop", multi(32, params(16, 0, 3, 8_000.0)), SpectralError::ZeroHop),
            (
                "twice the frame too long",
                multi(32, params(17, 4, 3, 8_000.0)),
                other(34, 8, SpectralError::FrameTooLong { frame: 34, cols: 32 }),
            ),
            (
                "half the frame too short",
                multi(32, params(3, 1, 1, 8_000.0)),
                other(1, 1, SpectralError::FrameTooShort { frame: 1 }),
            ),
            (
                "half the frame too coarse for the bands",
                multi(32, params(16, 8, 4, 16_000.0)),
                other(8, 4, SpectralError::EmptyMelFilter { mel_bands: 4, frame: 8, band: 0 }),
            ),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, want, "{name}");
            let message = got.to_string();
            assert!(message.contains(&format!("`{}`", got.key())), "{name}: {message}");
            if let SpectralError::OtherScale { frame, .. } = got {
                assert!(
                    message.contains("multi-log-mel") && message.contains(&format!("{frame} samples")),
                    "{name}: {message}"
                );
            }
        }
    }

    #[test]
    fn output_width_agrees_with_transform() {
        let x: Vec<f64> = (0..3 * 1024).map(|i| (i as f64 * 0.37).sin()).collect();
        let cases = [
            (1024, SpectralParams::default()),
            (1024, params(200, 77, 20, 8_000.0)),
            (1023, params(1023, 1, 1, 16_000.0)),
            (1023, params(511, 1000, 8, 22_050.0)),
        ];
        for (cols, p) in cases {
            let x = &x[..3 * cols];
            for kind in [Features::Amplitude, Features::Spectrum, Features::LogSpectrum, Features::LogMel] {
                let width = output_width(kind, cols, &p).unwrap();
                let out = transform(kind, x, cols, &p).unwrap();
                assert_eq!(out.len(), 3 * width, "{kind:?} cols {cols} {p:?}");
                assert!(out.iter().all(|v| v.is_finite()), "{kind:?}");
            }
        }
        assert_eq!(output_width(Features::LogMel, 1024, &SpectralParams::default()), Ok(7 * 40));
        assert_eq!(output_width(Features::Spectrum, 1024, &SpectralParams::default()), Ok(513));
    }

    #[test]
    fn zero_rows_give_no_features() {
        for kind in [Features::Amplitude, Features::Spectrum, Features::LogSpectrum, Features::LogMel] {
            assert_eq!(transform(kind, &[], 1024, &SpectralParams::default()), Ok(vec![]));
        }
    }

    #[test]
    fn bad_parameters_are_errors_naming_the_key() {
        let log_mel = |cols, p: SpectralParams| transform(Features::LogMel, &X[..2 * cols], cols, &p).unwrap_err();
        let cases = [
            (log_mel(32, params(33, 4, 4, 16_000.0)), SpectralError::FrameTooLong { frame: 33, cols: 32 }),
            (log_mel(32, params(1, 4, 4, 16_000.0)), SpectralError::FrameTooShort { frame: 1 }),
            (log_mel(32, params(16, 0, 4, 16_000.0)), SpectralError::ZeroHop),
            (log_mel(32, params(16, 8, 0, 16_000.0)), SpectralError::ZeroMelBands),
            (log_mel(32, params(16, 8, 4, 0.0)), SpectralError::BadSampleRate(0.0)),
            (log_mel(32, params(16, 8, 4, -8_000.0)), SpectralError::BadSampleRate(-8_000.0)),
            // 8-sample frames at 16 kHz have bins every 2 kHz; the lowest of 4 mel filters spans
            // 0–1218 Hz and holds only the 0 Hz bin, at weight 0.
            (log_mel(32, params(8, 4, 4, 16_000.0)), SpectralError::EmptyMelFilter { mel_bands: 4, frame: 8, band: 0 }),
            (
                log_mel(32, params(16, 8, 9, 16_000.0)),
                SpectralError::EmptyMelFilter { mel_bands: 9, frame: 16, band: 0 },
            ),
            (transform(Features::Spectrum, &X, 0, &SpectralParams::default()).unwrap_err(), SpectralError::NoColumns),
            (
                transform(Features::Spectrum, &X, 30, &SpectralParams::default()).unwrap_err(),
                SpectralError::Ragged { len: 64, cols: 30 },
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
            assert!(got.to_string().contains(&format!("`{}`", got.key())), "{got}");
        }
        assert!(transform(Features::LogMel, &X, 32, &params(16, 8, 4, f64::NAN)).is_err());
        // The error comes from output_width too, before any data is seen.
        assert_eq!(output_width(Features::LogMel, 32, &params(16, 0, 4, 16_000.0)), Err(SpectralError::ZeroHop));
        // Parameters LogMel would reject do not concern the other kinds.
        assert_eq!(output_width(Features::Spectrum, 32, &params(0, 0, 0, -1.0)), Ok(17));
    }

    #[test]
    fn default_params_fit_a_phoneme_row() {
        let filters = mel_filterbank(256, 40, 16_000.0).unwrap();
        assert_eq!(filters.len(), 40);
        // The limit for 256-sample frames at 16 kHz is 57 bands, well above the default: with 58,
        // filter 0 spans 0–60 Hz and the first bin above 0 Hz is at 62.5 Hz.
        assert!(mel_filterbank(256, 57, 16_000.0).is_ok());
        assert_eq!(
            mel_filterbank(256, 58, 16_000.0).unwrap_err(),
            SpectralError::EmptyMelFilter { mel_bands: 58, frame: 256, band: 0 }
        );
    }

    #[test]
    fn standardize_z_scores_and_zeroes_constant_columns() {
        // Column 1 is constant 0.1, whose mean in floating point is 0.10000000000000002.
        #[rustfmt::skip]
        let train = [
            1.0, 0.1, -2.0,
            2.0, 0.1,  0.0,
            3.0, 0.1,  5.0,
        ];
        let (mean, std) = standardize_fit(&train, 3);
        assert_close(&mean, &[2.0, 0.1, 1.0]);
        // np.std([1, 2, 3]), np.std([-2, 0, 5])
        assert_close(&std, &[0.816496580927726, 0.0, 2.943920288775949]);
        let mut test = [2.0, 0.1, 1.0, 4.0, 7.0, -2.0];
        standardize_apply(&mut test, 3, &mean, &std);
        assert_close(&test, &[0.0, 0.0, 0.0, 2.0 / 0.816496580927726, 0.0, -3.0 / 2.943920288775949]);
        let mut train = train;
        standardize_apply(&mut train, 3, &mean, &std);
        assert!(train.iter().all(|v| v.is_finite()));
        assert_eq!(standardize_fit(&[], 2), (vec![0.0; 2], vec![0.0; 2]));
    }

    // BEGIN numpy reference (generated by tests/fixtures/spectral_reference.py; do not edit)
    // Input: 2 rows x 32 samples, rounded to 4 decimals so the literals are exact.
    // n = np.arange(32)
    // x = np.round(np.stack([np.sin(2 * np.pi * 3 * n / 32) + 0.5 * np.cos(2 * np.pi * 5 * n / 32 + 0.3),
    //                        0.25 + 0.8 * np.sin(2 * np.pi * 11.3 * n / 32) * np.exp(-n / 20)]), 4)
    #[rustfmt::skip]
    const X: [f64; 64] = [
        0.4777, 0.6981, 0.6046, 0.4835,
        0.4738, 0.4332, 0.1152, -0.5164,
        -1.1478, -1.3107, -0.7674, 0.2468,
        1.1494, 1.4204, 0.9702, 0.1673,
        -0.4777, -0.6981, -0.6046, -0.4835,
        -0.4738, -0.4332, -0.1152, 0.5164,
        1.1478, 1.3107, 0.7674, -0.2468,
        -1.1494, -1.4204, -0.9702, -0.1673,
        0.25, 0.8567, -0.4467, 0.501,
        0.5922, -0.37, 0.6523, 0.3491,
        -0.2278, 0.709, 0.1553, -0.0566,
        0.6877, 0.0248, 0.1125, 0.6116,
        -0.0408, 0.2567, 0.5054, -0.0494,
        0.3626, 0.3916, -0.0145, 0.4256,
        0.2877, 0.0479, 0.448, 0.2056,
        0.1219, 0.4373, 0.1508, 0.1944,
    ];

    // np.abs(np.fft.rfft(x * np.hanning(32), axis=1))
    #[rustfmt::skip]
    const SPECTRUM: [f64; 34] = [
        0.00882461762771855, 0.073274353547211, 4.068767428699524, 7.738695640781878,
        4.3491087773728125, 3.865872342599634, 2.03267052236768, 0.04547519256796642,
        0.01758293410445022, 0.009679704811510297, 0.006155001529361272, 0.004496399470649278,
        0.003125627061870525, 0.002670308331846971, 0.002198945337945564, 0.0017987611594768621,
        0.002029175849900783, 3.8738824913672385, 2.0294390540334435, 0.04379407904583217,
        0.015039778838989219, 0.006954893212175317, 0.0036369658924073297, 0.005106834042999407,
        0.011900698838372286, 0.030447857003108644, 0.10715720051984652, 0.9779227261065176,
        2.816532661636734, 2.203145515251587, 0.36981022956242415, 0.07841063388032934,
        0.03443500002590664, 0.02596994769302463,
    ];

    // np.abs(np.fft.rfft(x[:, :31] * np.hanning(31), axis=1))
    #[rustfmt::skip]
    const SPECTRUM_ODD: [f64; 32] = [
        0.06024774095677188, 0.23697294745405417, 4.449357176515775, 7.47395818784482,
        4.359414353824879, 3.688099390645419, 1.5478218062288764, 0.047749188521041125,
        0.009882820601266917, 0.003698426567580644, 0.002633278154894421, 0.002544149482271806,
        0.002058176569917902, 0.002204767116891004, 0.0019205461716217628, 0.0019664745996656116,
        3.7482723737500403, 1.9674918353002866, 0.043171792259109616, 0.014090298085811035,
        0.005565212654024491, 0.0021307806635628766, 0.005768538959575872, 0.014754788574633313,
        0.03929589042882387, 0.15950076205979102, 1.683598952032355, 2.933971665626327,
        1.45936895452167, 0.12493548832855311, 0.036734744080222925, 0.020718534691357655,
    ];

    // np.log(np.abs(np.fft.rfft(x * np.hanning(32), axis=1)) + 1e-6)
    #[rustfmt::skip]
    const LOG_SPECTRUM: [f64; 34] = [
        -4.7300966924679475, -2.6135309674604716, 1.403340356291557, 2.0462332807581594,
        1.4699711752773401, 1.352187618376626, 0.7093509487280029, -3.0905663302276634,
        -4.040769628800015, -4.637620569237816, -5.09032781457128, -5.404255944663047,
        -5.767800471491488, -5.925186914658914, -6.119322765314924, -6.320101312063527,
        -6.1996328641133305, 1.3542574900274562, 0.7077599195525951, -3.1282338184633094,
        -4.196990177293952, -4.9681660345091325, -5.616330574299224, -5.276979830963879,
        -4.431074129526742, -3.4917068223744785, -2.2334490269080294, -0.022323601654809205,
        1.0355069308653533, 0.7898865727587658, -0.9947625939070849, -2.545782971303948,
        -3.368652749434116, -3.6507767621356075,
    ];

    // def mel_fb(sr, n_fft, n_mels):
    //     hz_to_mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    //     mel_to_hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    //     bin_hz = np.arange(n_fft // 2 + 1) * sr / n_fft
    //     edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    //     fb = np.zeros((n_mels, n_fft // 2 + 1))
    //     for i in range(n_mels):
    //         lower = (bin_hz - edges[i]) / (edges[i + 1] - edges[i])
    //         upper = (edges[i + 2] - bin_hz) / (edges[i + 2] - edges[i + 1])
    //         fb[i] = np.maximum(0.0, np.minimum(lower, upper))
    //     return fb
    // mel_fb(16000.0, 16, 4)
    #[rustfmt::skip]
    const MEL_FB_16K_16_4: [f64; 36] = [
        0.0, 0.2871922301763404, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.7128077698236597, 0.37793311174811073,
        0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
        0.6220668882518893, 0.7477060778501317, 0.26709912408794506, 0.0,
        0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.2522939221498683, 0.7329008759120549,
        0.8710178644035251, 0.5806785762690169, 0.2903392881345087, 5.281240885497176e-16,
    ];

    // def log_mel(x, frame, hop, n_mels, sr):
    //     starts = range(0, x.shape[1] - frame + 1, hop)
    //     frames = np.stack([x[:, s:s + frame] for s in starts], axis=1)  # rows x n_frames x frame
    //     power = np.abs(np.fft.rfft(frames * np.hanning(frame), axis=-1)) ** 2
    //     return np.log(power @ mel_fb(sr, frame, n_mels).T + 1e-10).reshape(x.shape[0], -1)
    // log_mel(x, frame=16, hop=8, n_mels=4, sr=16000.0)
    #[rustfmt::skip]
    const LOG_MEL_16_8_4: [f64; 24] = [
        1.099683925954574, 2.557500260645188, 2.460307294882469, 0.03677533235884016,
        1.1500828576143785, 2.5125784275079988, 2.2780584661090577, -0.08346245000564131,
        1.099683925954574, 2.557500260645188, 2.460307294882469, 0.03677533235884016,
        -1.1816297261911899, -0.27194442942419494, -3.5848013266916583, 1.5481005164992696,
        -1.1977698658136435, -0.28734212439452256, -4.158623346779483, 0.7473098180348923,
        -1.2041705949264185, -0.29349488997379475, -4.6861802492906595, -0.05348796508522255,
    ];

    // log_mel(x, frame=16, hop=5, n_mels=3, sr=8000.0)
    #[rustfmt::skip]
    const LOG_MEL_16_5_3: [f64; 24] = [
        2.46233971492705, 2.7422748741703162, 0.3350665305807236, 2.7178202087742354,
        3.1750621037769036, 0.7275784128356358, 2.1331104262733716, 1.7879559977279618,
        -0.4676474544135493, 2.3688435375124937, 2.4170721222358065, 0.06914299017392272,
        -0.04646205733970725, -2.001788201687139, 1.516895308174397, -0.0673532230567506,
        -2.0498172695288766, 1.016330218833384, -0.07171361164908374, -2.0965003418511476,
        0.5154955652992149, -0.05958037430969962, -2.1327516860214453, 0.01711835628890439,
    ];

    // np.concatenate([log_mel(x, 8, 4, 3, 8000.0), log_mel(x, 16, 8, 3, 8000.0), log_mel(x, 32, 16, 3, 8000.0)], axis=1)
    #[rustfmt::skip]
    const MULTI_LOG_MEL_16_8_3: [f64; 66] = [
        -1.7106109673674532, -0.0925010276385654, -4.249266381428322, -0.2947004659268799,
        1.3777481182450497, -0.12693083636571115, -0.037526320380660456, 1.659643393540062,
        0.5036466205071233, -0.9182718863180236, 0.7899798329439154, -0.23779381606878042,
        -1.7106109673674532, -0.0925010276385654, -4.249266381428322, -0.2947004659268799,
        1.3777481182450497, -0.12693083636571115, -0.037526320380660456, 1.659643393540062,
        0.5036466205071233, 2.46233971492705, 2.7422748741703162, 0.3350665305807236,
        2.467908988111743, 2.5759318856004954, 0.20813230625522317, 2.46233971492705,
        2.7422748741703162, 0.3350665305807236, 3.9048608405296004, 4.119230550900991,
        1.189168746365712, -2.6241474272956395, -0.645688163211702, 0.3013423488266351,
        -3.3998710617546104, -1.3830748105310737, -0.18092161854233824, -3.010918129795539,
        -1.1598528922037168, -0.5066680589880028, -2.9783065825452053, -1.2060949061418462,
        -0.8921935369693054, -3.3119948409474875, -1.579630462299651, -1.3727154689696932,
        -2.908848118642099, -1.2023960440084742, -1.6134866343315004, -3.2625573039878173,
        -1.604419851326473, -2.2644846086420545, -0.04646205733970725, -2.001788201687139,
        1.516895308174397, -0.062342343020532404, -2.080963236977564, 0.7163283609204824,
        -0.06865625752309601, -2.124656110202763, -0.08423210905153307, 0.8814202062591682,
        -7.379272404861253, 2.216377418078108,
    ];
    // END numpy reference
}
