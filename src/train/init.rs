//! Weight initialisation from the run's own seeded RNG (candle's CPU RNG cannot be seeded).

use super::memory::{try_filled, try_with_capacity, AllocError};
use super::model::Mlp;
use super::options::{Activation, Init};
use super::real::Real;
use rand::Rng;

/// Draws every parameter in a fixed order (layer by layer; weights node by node as
/// PyTorch lays them out, then biases), in f64, then rounds to `T`: the same seed
/// gives the same network in f32 and f64 up to rounding. An allocation the machine
/// refuses is an error (the run fails), not an abort.
pub fn initialise<T: Real>(
    dims: &[usize],
    activation: Activation,
    init: Init,
    rng: &mut impl Rng,
) -> Result<Mlp<T>, AllocError> {
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for l in 0..dims.len() - 1 {
        let (fan_in, fan_out) = (dims[l], dims[l + 1]);
        let bound = 1.0 / (fan_in as f64).sqrt();
        let w_bound = match init {
            Init::Paper => 0.1,
            Init::Pytorch => bound,
        };
        let mut w = try_filled(fan_in.saturating_mul(fan_out), T::zero(), "the weights")?;
        for j in 0..fan_out {
            for i in 0..fan_in {
                w[i * fan_out + j] = T::of(uniform(rng, w_bound));
            }
        }
        let mut b = try_with_capacity(fan_out, "the biases")?;
        b.extend((0..fan_out).map(|_| T::of(uniform(rng, bound))));
        weights.push(w);
        biases.push(b);
    }
    Ok(Mlp::from_parts(dims, activation, weights, biases))
}

/// U(−bound, bound).
fn uniform(rng: &mut impl Rng, bound: f64) -> f64 {
    (rng.random::<f64>() * 2.0 - 1.0) * bound
}
