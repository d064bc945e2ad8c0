//! The choices a run is made of. Their serde names are the words users write in
//! sweep files (`activation = "tanh"`), so renaming a variant breaks sweep files.

use serde::{Deserialize, Serialize};

macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $word)] $var),+ }
        impl $name {
            pub(crate) const WORDS: &'static [&'static str] = &[$($word),+];
            pub fn word(self) -> &'static str { match self { $($name::$var => $word),+ } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.word()) }
        }
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($word => Ok($name::$var),)+
                    _ => Err(format!("`{s}` is not one of: {}", Self::WORDS.join(", "))) }
            }
        }
    };
}

choice!(
    /// The network family (`model`): a multilayer perceptron, or one of Wang et al. 2017's
    /// convolutional networks for time series (candle engine only; `train::conv`).
    ModelFamily {
        /// Fully connected layers (`hidden`, `activation`): the paper's network.
        Mlp = "mlp",
        /// Fully convolutional network: conv blocks (conv, batch norm, ReLU), global average pooling, linear head.
        Fcn = "fcn",
        /// Residual network: residual blocks of three conv units with a shortcut, global average pooling, linear head.
        Resnet = "resnet",
    }
);

impl ModelFamily {
    pub fn is_mlp(&self) -> bool {
        *self == ModelFamily::Mlp
    }
    pub fn is_conv(self) -> bool {
        !self.is_mlp()
    }
    /// Wang et al.'s filters per block.
    pub fn default_filters(self) -> &'static [usize] {
        match self {
            ModelFamily::Resnet => &[64, 128, 128],
            _ => &[128, 256, 128],
        }
    }
}

choice!(
    /// Non-linearity applied after every hidden layer (never after the output layer).
    Activation { Sigmoid = "sigmoid", Tanh = "tanh", Relu = "relu" }
);
choice!(
    /// Training loss against the class labels.
    Loss {
        /// The paper's: squared error against one-hot targets, summed over batch and classes.
        MseSum = "mse-sum",
        /// Squared error against one-hot targets, averaged over batch and classes.
        MseMean = "mse-mean",
        /// Softmax cross-entropy, averaged over the batch.
        CrossEntropy = "cross-entropy",
    }
);
choice!(
    /// How SGD momentum mixes gradients.
    MomentumRule {
        /// The paper's: v ← lr·(1−m)·g + m·v; p ← p − v (m = 1 freezes learning).
        Damped = "damped",
        /// PyTorch's: v ← m·v + g; p ← p − lr·v.
        Classic = "classic",
    }
);
choice!(
    /// Weight initialisation, drawn from the run's own seeded RNG.
    Init {
        /// Weights U(−0.1, 0.1), biases U(±1/√fan_in): the paper's manual-backprop path.
        Paper = "paper",
        /// Weights and biases U(±1/√fan_in): PyTorch's `nn.Linear` default.
        Pytorch = "pytorch",
    }
);
choice!(
    /// Floating-point type of parameters and arithmetic.
    DType { F32 = "f32", F64 = "f64" }
);
choice!(
    /// Parameter update rule.
    OptimizerKind {
        Sgd = "sgd",
        /// PyTorch's Adam defaults: betas (0.9, 0.999), eps 1e-8; L2 decay added to the gradient.
        Adam = "adam",
    }
);

choice!(
    /// The input representation (see `features::spectral`).
    Features {
        /// The paper's raw amplitudes.
        Amplitude = "amplitude",
        /// |rFFT| of the Hann-windowed series.
        Spectrum = "spectrum",
        /// ln(|rFFT| + 1e-6).
        LogSpectrum = "log-spectrum",
        /// Log mel-filterbank energies of short-time frames, frames concatenated.
        LogMel = "log-mel",
        /// `log-mel` at half, once and twice `frame` and `hop`, concatenated.
        MultiLogMel = "multi-log-mel",
    }
);

impl Features {
    /// Whether `frame`, `hop`, `mel_bands` and `sample_rate` shape these features.
    pub(crate) fn uses_frames(self) -> bool {
        matches!(self, Features::LogMel | Features::MultiLogMel)
    }
}

choice!(
    /// How the first layer's products are computed (see `train::gram`).
    Method {
        /// `gram` where it is valid and cheaper (SGD, fewer training rows than half the
        /// input width), else `direct`.
        Auto = "auto",
        /// `X·W₁` directly.
        Direct = "direct",
        /// Through the Gram matrix of the training rows (SGD only): ~6× fewer operations on Phoneme.
        Gram = "gram",
    }
);

choice!(
    /// What trains the network (see `train::engine`).
    Engine {
        /// `native` wherever it covers the configuration (today: everywhere), else `candle`.
        Auto = "auto",
        /// candle-nn layers, candle autograd, on a candle `Device`.
        Candle = "candle",
        /// The hand-written fused CPU code over `gemm` (Gram method, fused SGD).
        Native = "native",
    }
);

choice!(
    /// Where the candle engine computes (`cuda` needs a build with `--features cuda`).
    Device { Cpu = "cpu", Cuda = "cuda" }
);

choice!(
    /// The validation score that picks the best epoch (early stopping, refit).
    StopOn { ValidAcc = "valid-acc", ValidLoss = "valid-loss" }
);

impl Activation {
    /// The range the activation histogram covers. ReLU is unbounded above: its
    /// histogram covers [0, `relu_max`] plus an overflow bin.
    pub(crate) fn histogram_range(self, relu_max: f64) -> (f64, f64) {
        match self {
            Activation::Sigmoid => (0.0, 1.0),
            Activation::Tanh => (-1.0, 1.0),
            Activation::Relu => (0.0, relu_max),
        }
    }
    pub(crate) fn has_overflow_bin(self) -> bool {
        self == Activation::Relu
    }
}
