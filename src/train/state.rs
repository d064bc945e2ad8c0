//! A run's full training state at an epoch boundary (or a batch boundary inside one, when
//! SIGUSR1 asked the run to stop), and its file format (`state.bin`):
//! what a killed run resumes from, to the last bit. It holds the engine's parameters and
//! optimiser state (momentum buffers, Adam moments and step, the Gram method's
//! coefficients), every random stream's position (shuffles, dropout), the shuffled order
//! the next epoch starts from, early stopping (best epoch, score, weights), the phase (main
//! or refit) and the history so far (metrics, diagnostics, confusion matrices), from which
//! the run's files are rewritten.
//!
//! Format: `pinniped-state/2\n`, the body (integers — counts, lengths, epochs, flags — as
//! LEB128 varints; every float as its `f64` bits, little-endian, so `f32` and `f64` values
//! come back exactly), then the SHA-256 of the body: a truncated or corrupt file is
//! refused before anything of it is used. Lengths are checked against the bytes left, so
//! a damaged length cannot allocate. Version 1 (states between epochs only, every integer
//! 8 bytes) is still read. The varints matter: a state holds the run's history so far,
//! mostly small counts (histogram bins, node indices), and fixed 8-byte integers made a
//! paper baseline's state 4.9 MB at epoch 250.

use super::conv::{ConvNet, NamedTensor};
use super::diagnostics::Histogram;
use super::fit::{EpochConfusion, EpochMetrics, History, LayerHistogram, SetMetrics, WeightChange};
use super::model::Mlp;
use super::net::{Net, NetShape};
use super::options::Activation;
use super::real::Real;
use super::strategy::Best;
use crate::data::split::{PerSplit, Split};
use sha2::{Digest, Sha256};

/// The file's first bytes (and its format version).
const MAGIC: &[u8] = b"pinniped-state/2\n";
/// Version 1: written before states could be saved inside an epoch.
const MAGIC_V1: &[u8] = b"pinniped-state/1\n";

/// The Gram method's state (`train::gram`): `W₁ = s·W₁(0) + Xᵀ·A`, velocity `vs`, `va`.
#[derive(Clone, Debug, PartialEq)]
pub struct GramState<T> {
    pub s: T,
    pub vs: T,
    pub a: Vec<T>,
    pub va: Vec<T>,
    pub steps: u64,
}

/// What an engine needs to continue exactly where it was, at an epoch boundary.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineState<T> {
    pub net: Net<T>,
    /// SGD velocity or Adam's first moment per parameter tensor (w0, b0, w1, …), in the
    /// engine's own layout; Adam's second moment.
    pub first: Vec<Vec<T>>,
    pub second: Vec<Vec<T>>,
    pub steps: u64,
    pub gram: Option<GramState<T>>,
    /// Position (in 32-bit words) of the dropout stream, when the engine drops units.
    pub(crate) dropout_word: Option<u128>,
}

/// Which phase a state was saved in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhaseKind {
    Main,
    /// Retraining on training + validation rows (`refit = true`), after the main phase.
    Refit,
}

/// One phase's loop, after its `epoch`-th epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopState<T> {
    pub epoch: usize,
    pub engine: EngineState<T>,
    pub(crate) shuffle_word: u128,
    /// The order of the training rows the next epoch's shuffle starts from.
    pub positions: Vec<usize>,
    pub best: Option<Best>,
    pub(crate) best_score: f64,
    /// The best epoch's weights (early stopping with a patience).
    pub(crate) best_net: Option<Net<T>>,
    /// The best epoch's validation scores (kept for a refit's predictions).
    pub best_valid: Option<Vec<T>>,
    /// Saved inside the epoch after `epoch`: how far it got. `positions` and the shuffle
    /// stream are then that epoch's, after its shuffle.
    pub within: Option<WithinEpoch>,
}

/// An epoch in progress, stopped at a batch boundary.
#[derive(Clone, Debug, PartialEq)]
pub struct WithinEpoch {
    /// Rows of the epoch's order trained (whole batches).
    pub rows: usize,
    /// The parameters before the epoch (its weight changes), when diagnostics are recorded.
    pub before: Option<Vec<Vec<f64>>>,
    /// The hidden layers' activation histograms of the epoch so far.
    pub hists: Vec<Histogram>,
}

/// What the main phase handed to the refit (saved with a refit's state).
#[derive(Clone, Debug, PartialEq)]
pub struct MainEnd<T> {
    pub best: Best,
    pub best_valid: Option<Vec<T>>,
}

/// A run's whole training state.
#[derive(Clone, Debug)]
pub struct FitState<T> {
    /// The run's config hash: a state of another configuration is never resumed.
    pub config_hash: String,
    pub phase: PhaseKind,
    /// Wall seconds the run had trained when saved (its metrics' clock continues from there).
    pub seconds: f64,
    pub main: Option<MainEnd<T>>,
    pub history: History,
    pub current: LoopState<T>,
}

impl<T: Real> FitState<T> {
    /// The epoch a resumed run continues after, as the user counts it ("from epoch N"):
    /// the main phase's epochs, or for a refit the refit's.
    pub fn epoch(&self) -> usize {
        self.current.epoch
    }

    /// Saved in `phase` at the end of epoch `epoch` (not inside the epoch after it).
    pub fn at_epoch_end(&self, phase: PhaseKind, epoch: Option<usize>) -> bool {
        self.phase == phase && Some(self.current.epoch) == epoch && self.current.within.is_none()
    }

    /// Where a resumed run continues, in words: "epoch 6", or "epoch 6 + 3 of the 8 batches
    /// of epoch 7" for a state saved inside an epoch of batches of `batch_size`.
    pub fn position(&self, batch_size: usize) -> String {
        match &self.current.within {
            None => format!("epoch {}", self.current.epoch),
            Some(w) => {
                let batch = batch_size.min(self.current.positions.len()).max(1);
                let (done, all) = (w.rows / batch, self.current.positions.len().div_ceil(batch));
                format!(
                    "epoch {} + {done} of the {all} batches of epoch {}",
                    self.current.epoch,
                    self.current.epoch + 1
                )
            }
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(false)
    }

    /// Version 2, or (`wide`) version 1's layout: 8-byte integers and no epoch in progress.
    fn encode_as(&self, wide: bool) -> Vec<u8> {
        let mut e = Enc { b: Vec::new(), wide };
        e.str(T::NAME);
        e.str(&self.config_hash);
        e.var(matches!(self.phase, PhaseKind::Refit) as u64);
        e.f64(self.seconds);
        e.opt(self.main.as_ref(), |e, m| {
            e.best(&m.best);
            e.opt(m.best_valid.as_ref(), |e, v| e.reals(v));
        });
        e.history(&self.history);
        let c = &self.current;
        e.usize(c.epoch);
        e.engine(&c.engine);
        e.u128(c.shuffle_word);
        e.usize(c.positions.len());
        c.positions.iter().for_each(|&p| e.usize(p));
        e.opt(c.best.as_ref(), Enc::best);
        e.f64(c.best_score);
        e.opt(c.best_net.as_ref(), Enc::net);
        e.opt(c.best_valid.as_ref(), |e, v| e.reals(v));
        if !wide {
            e.opt(c.within.as_ref(), |e, w| {
                e.usize(w.rows);
                e.opt(w.before.as_ref(), |e, layers| {
                    e.usize(layers.len());
                    layers.iter().for_each(|l| e.reals(l));
                });
                e.usize(w.hists.len());
                w.hists.iter().for_each(|h| e.histogram(h));
            });
        }
        let mut out = if wide { MAGIC_V1 } else { MAGIC }.to_vec();
        out.extend_from_slice(&e.b);
        out.extend_from_slice(&Sha256::digest(&e.b));
        out
    }

    /// Reads a state written by [`FitState::encode`]; `shape` and `activation` are the run's
    /// network (every parameter tensor's length is checked against them). Any mismatch or
    /// damage is an `Err` saying what, never a wrong state.
    pub fn decode(bytes: &[u8], shape: &NetShape, activation: Activation) -> Result<Self, String> {
        let (body, v1) = match (bytes.strip_prefix(MAGIC), bytes.strip_prefix(MAGIC_V1)) {
            (Some(body), _) => (body, false),
            (None, Some(body)) => (body, true),
            (None, None) => return Err("not a pinniped state file (or another format version)".into()),
        };
        if body.len() < 32 {
            return Err("truncated".into());
        }
        let (body, sum) = body.split_at(body.len() - 32);
        if Sha256::digest(body).as_slice() != sum {
            return Err("its checksum does not match (truncated or corrupt)".into());
        }
        let mut d = Dec { b: body, at: 0, shape, activation, wide: v1 };
        let dtype = d.str()?;
        if dtype != T::NAME {
            return Err(format!("it holds {dtype} values, the run trains in {}", T::NAME));
        }
        let config_hash = d.str()?;
        let phase = match d.var()? {
            0 => PhaseKind::Main,
            1 => PhaseKind::Refit,
            p => return Err(format!("unknown phase {p}")),
        };
        let seconds = d.f64()?;
        let main = d.opt(|d| Ok(MainEnd { best: d.best()?, best_valid: d.opt(Dec::reals)? }))?;
        let history = d.history()?;
        let epoch = d.usize()?;
        let engine = d.engine()?;
        let shuffle_word = d.u128()?;
        let n = d.len(8, 1)?;
        let positions = (0..n).map(|_| d.usize()).collect::<Result<Vec<_>, _>>()?;
        let best = d.opt(Dec::best)?;
        let best_score = d.f64()?;
        let best_net = d.opt(Dec::net)?;
        let best_valid = d.opt(Dec::reals)?;
        let within = if v1 {
            None
        } else {
            d.opt(|d| {
                let rows = d.usize()?;
                let before = d.opt(|d| (0..d.len(8, 1)?).map(|_| d.reals::<f64>()).collect::<Result<Vec<_>, _>>())?;
                let hists = (0..d.len(48, 20)?).map(|_| d.histogram()).collect::<Result<Vec<_>, _>>()?;
                Ok(WithinEpoch { rows, before, hists })
            })?
        };
        if d.at != body.len() {
            return Err("it has bytes after its end".into());
        }
        if (phase == PhaseKind::Refit) != main.is_some() {
            return Err("its phase and contents disagree".into());
        }
        let current =
            LoopState { epoch, engine, shuffle_word, positions, best, best_score, best_net, best_valid, within };
        Ok(FitState { config_hash, phase, seconds, main, history, current })
    }
}

/// The body's writer; `wide` writes version 1's 8-byte integers (for tests of the reader).
struct Enc {
    b: Vec<u8>,
    wide: bool,
}

impl Enc {
    fn u64(&mut self, v: u64) {
        self.b.extend_from_slice(&v.to_le_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.b.extend_from_slice(&v.to_le_bytes());
    }
    /// An integer: LEB128, seven bits a byte, low bits first.
    fn var(&mut self, mut v: u64) {
        if self.wide {
            return self.u64(v);
        }
        while v >= 0x80 {
            self.b.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.b.push(v as u8);
    }
    fn usize(&mut self, v: usize) {
        self.var(v as u64);
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn str(&mut self, s: &str) {
        self.usize(s.len());
        self.b.extend_from_slice(s.as_bytes());
    }
    fn reals<T: Real>(&mut self, v: &[T]) {
        self.usize(v.len());
        v.iter().for_each(|x| self.f64(x.f64()));
    }
    fn opt<V>(&mut self, v: Option<V>, f: impl FnOnce(&mut Self, V)) {
        self.var(v.is_some() as u64);
        if let Some(v) = v {
            f(self, v);
        }
    }
    fn best(&mut self, b: &Best) {
        self.usize(b.epoch);
        self.opt(b.valid_acc, Enc::f64);
    }
    fn mlp<T: Real>(&mut self, m: &Mlp<T>) {
        for (w, b) in m.weights.iter().zip(&m.biases) {
            self.reals(w);
            self.reals(b);
        }
    }
    /// An MLP as before conv nets existed; a conv net's parameters then buffers, in order.
    fn net<T: Real>(&mut self, n: &Net<T>) {
        match n {
            Net::Mlp(m) => self.mlp(m),
            Net::Conv(c) => c.params.iter().chain(&c.buffers).for_each(|t| self.reals(&t.data)),
        }
    }
    fn engine<T: Real>(&mut self, s: &EngineState<T>) {
        self.net(&s.net);
        for moments in [&s.first, &s.second] {
            self.usize(moments.len());
            moments.iter().for_each(|m| self.reals(m));
        }
        self.var(s.steps);
        self.opt(s.gram.as_ref(), |e, g| {
            e.f64(g.s.f64());
            e.f64(g.vs.f64());
            e.reals(&g.a);
            e.reals(&g.va);
            e.var(g.steps);
        });
        self.opt(s.dropout_word, Enc::u128);
    }
    fn histogram(&mut self, h: &Histogram) {
        self.f64(h.lo);
        self.f64(h.hi);
        self.usize(h.bins);
        self.var(h.overflow as u64);
        self.usize(h.nodes);
        self.usize(h.counts.len());
        h.counts.iter().for_each(|&c| self.var(c));
    }
    fn history(&mut self, h: &History) {
        self.usize(h.metrics.len());
        for m in &h.metrics {
            self.usize(m.epoch);
            for (_, s) in m.sets.iter() {
                self.opt(s.as_ref(), |e, s| {
                    e.f64(s.loss);
                    e.f64(s.acc);
                });
            }
            self.f64(m.seconds);
        }
        self.usize(h.weight_changes.len());
        for w in &h.weight_changes {
            [w.epoch, w.layer, w.node].into_iter().for_each(|v| self.usize(v));
            self.f64(w.dnorm);
            self.f64(w.dtheta);
        }
        self.usize(h.histograms.len());
        for LayerHistogram { epoch, layer, histogram } in &h.histograms {
            self.usize(*epoch);
            self.usize(*layer);
            self.histogram(histogram);
        }
        self.usize(h.confusions.len());
        for EpochConfusion { epoch, split, counts } in &h.confusions {
            self.usize(*epoch);
            self.usize(Split::ALL.iter().position(|s| s == split).expect("one of ALL"));
            self.usize(counts.len());
            counts.iter().for_each(|&c| self.var(c as u64));
        }
    }
}

struct Dec<'a> {
    b: &'a [u8],
    at: usize,
    shape: &'a NetShape,
    activation: Activation,
    /// Version 1: every integer in 8 bytes.
    wide: bool,
}

impl Dec<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or("it ends early")?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn u128(&mut self) -> Result<u128, String> {
        Ok(u128::from_le_bytes(self.take(16)?.try_into().expect("16 bytes")))
    }
    /// An integer ([`Enc::var`]).
    fn var(&mut self) -> Result<u64, String> {
        if self.wide {
            return self.u64();
        }
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            if shift == 63 && byte > 1 {
                return Err("an integer beyond 64 bits".into());
            }
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(v);
            }
        }
        Err("an integer beyond 64 bits".into())
    }
    fn usize(&mut self) -> Result<usize, String> {
        usize::try_from(self.var()?).map_err(|_| "a count too large for this machine".to_string())
    }
    fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn flag(&mut self) -> Result<bool, String> {
        match self.var()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(format!("a flag of {v}")),
        }
    }
    /// A count of items of at least `wide` bytes each in version 1, `compact` in version 2:
    /// never more than the bytes left hold.
    fn len(&mut self, wide: usize, compact: usize) -> Result<usize, String> {
        let n = self.usize()?;
        let size = if self.wide { wide } else { compact };
        if n.saturating_mul(size) > self.b.len() - self.at {
            return Err("a length beyond its end".into());
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String, String> {
        let n = self.len(1, 1)?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "a text that is not UTF-8".to_string())
    }
    fn reals<T: Real>(&mut self) -> Result<Vec<T>, String> {
        let n = self.len(8, 8)?;
        (0..n).map(|_| Ok(T::of(self.f64()?))).collect()
    }
    /// A vector of exactly `n` values.
    fn reals_of<T: Real>(&mut self, n: usize, what: &str) -> Result<Vec<T>, String> {
        let v = self.reals()?;
        if v.len() != n {
            return Err(format!("{what} has {} values, the run's network needs {n}", v.len()));
        }
        Ok(v)
    }
    fn opt<V>(&mut self, f: impl FnOnce(&mut Self) -> Result<V, String>) -> Result<Option<V>, String> {
        Ok(if self.flag()? { Some(f(self)?) } else { None })
    }
    fn best(&mut self) -> Result<Best, String> {
        Ok(Best { epoch: self.usize()?, valid_acc: self.opt(Dec::f64)? })
    }
    fn net<T: Real>(&mut self) -> Result<Net<T>, String> {
        let shape = self.shape;
        match shape {
            NetShape::Mlp(dims) => {
                let (mut weights, mut biases) = (Vec::new(), Vec::new());
                for l in 0..dims.len() - 1 {
                    weights.push(self.reals_of(dims[l] * dims[l + 1], &format!("layer {l}'s weights"))?);
                    biases.push(self.reals_of(dims[l + 1], &format!("layer {l}'s biases"))?);
                }
                Ok(Net::Mlp(Mlp::from_parts(dims, self.activation, weights, biases)))
            }
            NetShape::Conv(arch) => {
                let mut tensors = |shapes: Vec<(String, Vec<usize>)>| {
                    shapes
                        .into_iter()
                        .map(|(name, shape)| {
                            let data = self.reals_of(shape.iter().product(), &name)?;
                            Ok(NamedTensor { name, shape, data })
                        })
                        .collect::<Result<Vec<_>, String>>()
                };
                let params = tensors(arch.param_shapes())?;
                let buffers = tensors(arch.buffer_shapes())?;
                Ok(Net::Conv(ConvNet { arch: arch.clone(), params, buffers }))
            }
        }
    }
    fn engine<T: Real>(&mut self) -> Result<EngineState<T>, String> {
        let net = self.net()?;
        let mut moments = || -> Result<Vec<Vec<T>>, String> {
            let n = self.len(8, 1)?;
            (0..n).map(|_| self.reals()).collect()
        };
        let (first, second) = (moments()?, moments()?);
        let steps = self.var()?;
        let gram = self.opt(|d| {
            Ok(GramState { s: T::of(d.f64()?), vs: T::of(d.f64()?), a: d.reals()?, va: d.reals()?, steps: d.var()? })
        })?;
        let dropout_word = self.opt(Dec::u128)?;
        Ok(EngineState { net, first, second, steps, gram, dropout_word })
    }
    fn histogram(&mut self) -> Result<Histogram, String> {
        let (lo, hi, bins, overflow, nodes) = (self.f64()?, self.f64()?, self.usize()?, self.flag()?, self.usize()?);
        let n = self.len(8, 1)?;
        let counts = (0..n).map(|_| self.var()).collect::<Result<Vec<_>, _>>()?;
        Ok(Histogram { lo, hi, bins, overflow, nodes, counts })
    }
    fn history(&mut self) -> Result<History, String> {
        let mut h = History::default();
        for _ in 0..self.len(8, 12)? {
            let epoch = self.usize()?;
            let mut sets = [None; 3];
            for s in &mut sets {
                *s = self.opt(|d| Ok(SetMetrics { loss: d.f64()?, acc: d.f64()? }))?;
            }
            let [train, valid, test] = sets;
            h.metrics.push(EpochMetrics { epoch, sets: PerSplit { train, valid, test }, seconds: self.f64()? });
        }
        for _ in 0..self.len(40, 19)? {
            let (epoch, layer, node) = (self.usize()?, self.usize()?, self.usize()?);
            h.weight_changes.push(WeightChange { epoch, layer, node, dnorm: self.f64()?, dtheta: self.f64()? });
        }
        for _ in 0..self.len(64, 22)? {
            let (epoch, layer) = (self.usize()?, self.usize()?);
            let histogram = self.histogram()?;
            h.histograms.push(LayerHistogram { epoch, layer, histogram });
        }
        for _ in 0..self.len(24, 3)? {
            let (epoch, set) = (self.usize()?, self.usize()?);
            let n = self.len(8, 1)?;
            let counts = (0..n)
                .map(|_| u32::try_from(self.var()?).map_err(|_| "a confusion count beyond u32".to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let split = *Split::ALL.get(set).ok_or_else(|| format!("split {set} is not one of 0, 1, 2"))?;
            h.confusions.push(EpochConfusion { epoch, split, counts });
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<T: Real>() -> FitState<T> {
        let dims = [3, 2, 2];
        let mlp = |k: f64| {
            Mlp::from_parts(
                &dims,
                Activation::Tanh,
                vec![
                    (0..6).map(|i| T::of(k + i as f64 / 7.0)).collect(),
                    (0..4).map(|i| T::of(-k * i as f64)).collect(),
                ],
                vec![vec![T::of(0.1), T::of(0.2)], vec![T::of(k), T::of(1e-30)]],
            )
        };
        let mut history = History::default();
        history.metrics.push(EpochMetrics {
            epoch: 1,
            sets: PerSplit {
                train: Some(SetMetrics { loss: 0.5, acc: 1.0 / 3.0 }),
                valid: None,
                test: Some(SetMetrics { loss: f64::NAN, acc: 0.0 }),
            },
            seconds: 0.25,
        });
        history.weight_changes.push(WeightChange { epoch: 1, layer: 0, node: 1, dnorm: 0.125, dtheta: f64::INFINITY });
        let histogram = Histogram { lo: 0.0, hi: 1.0, bins: 2, overflow: true, nodes: 1, counts: vec![1, 2, 3] };
        history.histograms.push(LayerHistogram { epoch: 1, layer: 0, histogram });
        history.confusions.push(EpochConfusion { epoch: 1, split: Split::Test, counts: vec![4, 0, 1, 7] });
        FitState {
            config_hash: "0123abcd".into(),
            phase: PhaseKind::Refit,
            seconds: 1.5,
            main: Some(MainEnd { best: Best { epoch: 3, valid_acc: Some(0.75) }, best_valid: Some(vec![T::of(0.3)]) }),
            history,
            current: LoopState {
                epoch: 2,
                engine: EngineState {
                    net: Net::Mlp(mlp(0.1)),
                    first: vec![vec![T::of(1.0 / 3.0); 6], vec![T::zero(); 2]],
                    second: vec![],
                    steps: 17,
                    gram: Some(GramState {
                        s: T::of(0.99),
                        vs: T::of(-0.01),
                        a: vec![T::of(2.0); 4],
                        va: vec![],
                        steps: 17,
                    }),
                    dropout_word: Some(u128::MAX >> 60),
                },
                shuffle_word: 12345,
                positions: vec![2, 0, 1],
                best: Some(Best { epoch: 1, valid_acc: None }),
                best_score: f64::NEG_INFINITY,
                best_net: Some(Net::Mlp(mlp(-2.0))),
                best_valid: None,
                within: None,
            },
        }
    }

    /// NaN ≠ NaN: compare the encodings, which hold every value's bits.
    fn round_trips<T: Real>() {
        let s = sample::<T>();
        let bytes = s.encode();
        let back = FitState::<T>::decode(&bytes, &NetShape::Mlp(vec![3, 2, 2]), Activation::Tanh).unwrap();
        assert_eq!(back.encode(), bytes);
        assert_eq!(back.current, s.current);
        assert_eq!(back.main, s.main);
        assert!(back.history.metrics[0].sets.test.unwrap().loss.is_nan());
    }

    #[test]
    fn a_state_round_trips_bit_for_bit_in_both_dtypes() {
        round_trips::<f32>();
        round_trips::<f64>();
    }

    #[test]
    fn a_state_inside_an_epoch_round_trips_and_version_1_states_are_still_read() {
        let shape = NetShape::Mlp(vec![3, 2, 2]);
        let mut inside = sample::<f64>();
        let histogram = Histogram { lo: -1.0, hi: 1.0, bins: 2, overflow: false, nodes: 1, counts: vec![5, 0] };
        inside.current.within = Some(WithinEpoch {
            rows: 2,
            before: Some(vec![vec![0.5, -0.0], vec![f64::MIN_POSITIVE]]),
            hists: vec![histogram],
        });
        let bytes = inside.encode();
        let back = FitState::<f64>::decode(&bytes, &shape, Activation::Tanh).unwrap();
        assert_eq!(back.current, inside.current);
        assert_eq!(back.encode(), bytes);
        assert_eq!(back.position(1), "epoch 2 + 2 of the 3 batches of epoch 3");
        assert_eq!(sample::<f64>().position(1), "epoch 2");

        // Version 1: 8-byte integers, no epoch in progress; read as the same state.
        let between = sample::<f64>().encode();
        let v1 = sample::<f64>().encode_as(true);
        assert!(v1.starts_with(MAGIC_V1) && v1.len() > between.len());
        let read = FitState::<f64>::decode(&v1, &shape, Activation::Tanh).unwrap();
        assert_eq!(read.encode(), between, "read as the same state, written as version 2");
    }

    #[test]
    fn integers_are_leb128_varints_and_an_overlong_one_is_refused() {
        let values = [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX];
        let mut e = Enc { b: Vec::new(), wide: false };
        values.iter().for_each(|&v| e.var(v));
        assert_eq!(&e.b[..5], &[0, 1, 0x7f, 0x80, 0x01], "0, 1, 127 in a byte; 128 in two");
        assert_eq!(e.b.len(), 1 + 1 + 1 + 2 + 2 + 5 + 10);
        let shape = NetShape::Mlp(vec![1, 1]);
        let mut d = Dec { b: &e.b, at: 0, shape: &shape, activation: Activation::Tanh, wide: false };
        assert_eq!(values.iter().map(|_| d.var().unwrap()).collect::<Vec<_>>(), values);
        for bad in [&[0xff; 10][..], &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], &[0x80]] {
            let mut d = Dec { b: bad, at: 0, shape: &shape, activation: Activation::Tanh, wide: false };
            let e = d.var().unwrap_err();
            assert!(e.contains("beyond 64 bits") || e.contains("ends early"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn damaged_or_mismatched_states_are_refused_with_the_reason() {
        let bytes = sample::<f32>().encode();
        let decode =
            |b: &[u8]| FitState::<f32>::decode(b, &NetShape::Mlp(vec![3, 2, 2]), Activation::Tanh).unwrap_err();
        for cut in [0, 10, MAGIC.len() + 5, bytes.len() / 2, bytes.len() - 1] {
            let e = decode(&bytes[..cut]);
            assert!(e.contains("truncated") || e.contains("not a pinniped state"), "cut at {cut}: {e}");
        }
        let mut flipped = bytes.clone();
        flipped[MAGIC.len() + 40] ^= 1;
        assert!(decode(&flipped).contains("checksum"));
        let e = FitState::<f64>::decode(&bytes, &NetShape::Mlp(vec![3, 2, 2]), Activation::Tanh).unwrap_err();
        assert!(e.contains("holds f32 values"), "{e}");
        let e = FitState::<f32>::decode(&bytes, &NetShape::Mlp(vec![3, 4, 2]), Activation::Tanh).unwrap_err();
        assert!(e.contains("layer 0's weights has 6 values, the run's network needs 12"), "{e}");
    }
}
