//! What the paper plots, measured per epoch: confusion matrices, per-node weight
//! change (norm and angle) and per-node activation histograms. For a convolutional
//! network a node is a filter: its weight change is that of its kernel (`in × k` values),
//! its histogram counts its activations at every time step; the linear head's classes
//! are the last layer's nodes.

use super::engine::NetRef;
use super::memory::{try_filled, try_with_capacity, AllocError};
use super::model::Mlp;
use super::options::Activation;
use super::real::Real;

/// `counts[actual * classes + predicted]`.
pub fn confusion(actual: &[u32], predicted: &[usize], classes: usize) -> Vec<u32> {
    let mut m = vec![0u32; classes * classes];
    for (&a, &p) in actual.iter().zip(predicted) {
        m[a as usize * classes + p] += 1;
    }
    m
}

/// The weights whose change an epoch records: an MLP's layers, a conv net's filters and head.
pub(crate) fn tracked_weights<T: Real>(net: NetRef<'_, T>) -> Vec<&[T]> {
    match net {
        NetRef::Mlp(mlp) => mlp.weights.iter().map(Vec::as_slice).collect(),
        NetRef::Conv(c) => c.filter_weights().map(|t| t.data.as_slice()).collect(),
    }
}

/// Copy of every layer's weights in f64, to measure the next epoch's change against.
pub fn snapshot<T: Real>(net: NetRef<'_, T>) -> Result<Vec<Vec<f64>>, AllocError> {
    tracked_weights(net)
        .into_iter()
        .map(|w| {
            let mut copy = try_with_capacity(w.len(), "the weight snapshot")?;
            copy.extend(w.iter().map(|v| v.f64()));
            Ok(copy)
        })
        .collect()
}

/// [`weight_change`] of an MLP, or of a conv net's filters (each a row of its weight
/// tensor, `[out, in·k]`) and head.
pub fn net_weight_change<T: Real>(before: &[Vec<f64>], net: NetRef<'_, T>) -> Vec<Vec<(f64, f64)>> {
    let NetRef::Conv(c) = net else {
        return weight_change(before, net.as_mlp().expect("not a conv net"));
    };
    c.filter_weights()
        .zip(before)
        .map(|(t, old)| {
            let fan: usize = t.shape[1..].iter().product();
            t.data.chunks_exact(fan).zip(old.chunks_exact(fan)).map(|(new, old)| change(old, new)).collect()
        })
        .collect()
}

/// ‖new − old‖ and the angle between them.
fn change<T: Real>(old: &[f64], new: &[T]) -> (f64, f64) {
    let mut a = [0.0f64; 4];
    for (&o, n) in old.iter().zip(new) {
        let n = n.f64();
        let d = n - o;
        a[0] += d * d;
        a[1] += o * n;
        a[2] += o * o;
        a[3] += n * n;
    }
    let norms = a[2].sqrt() * a[3].sqrt();
    let angle = if norms == 0.0 { 0.0 } else { (a[1] / norms).clamp(-1.0, 1.0).acos() };
    (a[0].sqrt(), angle)
}

/// Per layer, per node (output unit): ‖w_now − w_before‖ and the angle between the
/// two incoming weight vectors (arccos of the clamped cosine; 0 when either is zero).
pub(crate) fn weight_change<T: Real>(before: &[Vec<f64>], mlp: &Mlp<T>) -> Vec<Vec<(f64, f64)>> {
    (0..mlp.layers())
        .map(|l| {
            let (fan_in, fan_out) = (mlp.dims[l], mlp.dims[l + 1]);
            let (old, new) = (&before[l], &mlp.weights[l]);
            let mut acc = vec![[0.0f64; 4]; fan_out]; // Σ(Δ²), Σ(old·new), Σ(old²), Σ(new²)
            for i in 0..fan_in {
                let row = i * fan_out;
                for (j, a) in acc.iter_mut().enumerate() {
                    let (o, n) = (old[row + j], new[row + j].f64());
                    let d = n - o;
                    a[0] += d * d;
                    a[1] += o * n;
                    a[2] += o * o;
                    a[3] += n * n;
                }
            }
            acc.iter()
                .map(|a| {
                    let norms = a[2].sqrt() * a[3].sqrt();
                    let angle = if norms == 0.0 { 0.0 } else { (a[1] / norms).clamp(-1.0, 1.0).acos() };
                    (a[0].sqrt(), angle)
                })
                .collect()
        })
        .collect()
}

/// Per-node histogram of one hidden layer's activations over its real range.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub lo: f64,
    pub hi: f64,
    pub(crate) bins: usize,
    /// ReLU only: one more column for activations above `hi`.
    pub overflow: bool,
    pub nodes: usize,
    /// `counts[node * columns + bin]`.
    pub counts: Vec<u64>,
}

impl Histogram {
    pub fn new(activation: Activation, bins: usize, relu_max: f64, nodes: usize) -> Self {
        Self::try_new(activation, bins, relu_max, nodes).expect("memory for a histogram")
    }

    /// [`Histogram::new`], failing instead of aborting when memory runs out.
    pub(crate) fn try_new(
        activation: Activation,
        bins: usize,
        relu_max: f64,
        nodes: usize,
    ) -> Result<Self, AllocError> {
        let (lo, hi) = activation.histogram_range(relu_max);
        let overflow = activation.has_overflow_bin();
        let columns = bins + overflow as usize;
        let counts = try_filled(nodes.saturating_mul(columns), 0, "the activation histograms")?;
        Ok(Histogram { lo, hi, bins, overflow, nodes, counts })
    }

    pub fn columns(&self) -> usize {
        self.bins + self.overflow as usize
    }

    pub fn clear(&mut self) {
        self.counts.fill(0);
    }

    /// Adds a batch of activations (`rows × nodes`, row-major). Values are binned by
    /// one multiply and a truncation: bin k holds [lo + k·w, lo + (k+1)·w), the top
    /// bin also holds `hi` itself. Non-finite values are not counted.
    pub fn add<T: Real>(&mut self, acts: &[T]) {
        let columns = self.columns();
        let scale = self.bins as f64 / (self.hi - self.lo);
        let last = self.bins - 1;
        for row in acts.chunks_exact(self.nodes) {
            for (node, &a) in row.iter().enumerate() {
                let a = a.f64();
                if !a.is_finite() {
                    continue;
                }
                let pos = (a - self.lo) * scale;
                let bin = if self.overflow && a > self.hi { self.bins } else { (pos.max(0.0) as usize).min(last) };
                self.counts[node * columns + bin] += 1;
            }
        }
    }

    /// Label of each column, e.g. `[0.00,0.05)` … and `>1` for the overflow bin.
    pub(crate) fn column_names(&self) -> Vec<String> {
        let w = (self.hi - self.lo) / self.bins as f64;
        let mut names: Vec<String> = (0..self.bins).map(|k| format!("{:.4}", self.lo + k as f64 * w)).collect();
        if self.overflow {
            names.push(format!("over_{}", self.hi));
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_covers_tanh_negative_half_and_relu_overflow() {
        let mut h = Histogram::new(Activation::Tanh, 4, 1.0, 1);
        h.add(&[-1.0f64, -0.6, -0.1, 0.0, 0.3, 0.99, 1.0]);
        assert_eq!(h.counts, vec![2, 1, 2, 2]);

        let mut r = Histogram::new(Activation::Relu, 4, 1.0, 2);
        // Two nodes: exact zeros go to the first bin, not the top one.
        r.add(&[0.0f32, 5.0, 0.0, 0.5, 1.0, 1.0001]);
        assert_eq!(r.columns(), 5);
        assert_eq!(&r.counts[..5], &[2, 0, 0, 1, 0]);
        assert_eq!(&r.counts[5..], &[0, 0, 1, 0, 2]);
    }

    #[test]
    fn weight_change_norm_and_angle() {
        // One layer 2 → 2; node 0 rotates by 90°, node 1 is zero before.
        let before = vec![vec![1.0, 0.0, 0.0, 0.0]];
        let mlp =
            Mlp::<f64>::from_parts(&[2, 2], Activation::Sigmoid, vec![vec![0.0, 3.0, 1.0, 4.0]], vec![vec![0.0; 2]]);
        let wc = weight_change(&before, &mlp);
        let (n0, a0) = wc[0][0];
        assert!((n0 - 2f64.sqrt()).abs() < 1e-12);
        assert!((a0 - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
        assert_eq!(wc[0][1], (5.0, 0.0));
    }

    #[test]
    fn confusion_counts_pairs() {
        let m = confusion(&[0, 1, 1, 2], &[0, 2, 1, 2], 3);
        assert_eq!(m, vec![1, 0, 0, 0, 1, 1, 0, 0, 1]);
    }
}
