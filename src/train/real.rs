//! The floating-point types a network can be trained in (`dtype = "f32" | "f64"`).

use num_traits::Float;
use std::fmt::{Debug, Display};
use std::iter::Sum;

/// A scalar the training code is generic over. Only `f32` and `f64` implement it:
/// `gemm` dispatches on exactly these, and checkpoints store their dtype.
pub trait Real:
    Float + num_traits::NumAssign + Sum + Debug + Display + Default + Send + Sync + 'static + candle_core::WithDType
{
    const NAME: &'static str;
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
}

impl Real for f32 {
    const NAME: &'static str = "f32";
    #[inline]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    const NAME: &'static str = "f64";
    #[inline]
    fn of(x: f64) -> Self {
        x
    }
    #[inline]
    fn f64(self) -> f64 {
        self
    }
}
