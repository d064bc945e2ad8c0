//! Self-describing checkpoints: safetensors files whose tensors are candle tensors
//! in PyTorch's layout (`layers.L.weight` is `[out, in]`), with metadata naming the
//! seed, config hash, epoch, class labels and preprocessing. candle's `VarMap::save`
//! writes no metadata, so the file is assembled here.

use super::conv::{ConvArch, ConvNet, InputLayout, NamedTensor};
use super::engine::NetRef;
use super::model::Mlp;
use super::net::{Net, NetShape};
use super::options::{Activation, DType};
use super::real::Real;
use crate::data::SeriesPolicy;
use crate::features::Pipeline;
use crate::output::count;
use crate::spec::TrainConfig;
use anyhow::{bail, Context};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// `format` of an MLP's checkpoint, and of a convolutional network's.
const MLP_FORMAT: &str = "pinniped-mlp/1";
pub const CONV_FORMAT: &str = "pinniped-conv/1";

/// What a checkpoint says about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointMeta {
    pub seed: u64,
    pub config_hash: String,
    pub epoch: usize,
    pub classes: Vec<String>,
    pub activation: Activation,
    pub dtype: DType,
    pub minmax: bool,
    pub normalize: bool,
    /// Width of the raw series the features are computed from.
    pub raw_cols: usize,
    /// The training data's length and missing-value policies, `series_length` the length its
    /// series were brought to: `eval` fits its data the same way. Older checkpoints have none
    /// (the defaults: unequal lengths and missing values refused).
    pub series: SeriesPolicy,
    /// The run's `[train]` table, as TOML: the whole input pipeline.
    pub config: String,
}

impl CheckpointMeta {
    /// The channels of the training rows (spectral features are computed per channel).
    pub fn channels(&self) -> usize {
        crate::data::channels_of(self.raw_cols, self.series.series_length)
    }

    fn to_map(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        m.insert("format".into(), MLP_FORMAT.into());
        m.insert("seed".into(), self.seed.to_string());
        m.insert("config_hash".into(), self.config_hash.clone());
        m.insert("epoch".into(), self.epoch.to_string());
        m.insert("classes".into(), serde_json::to_string(&self.classes).expect("strings serialise"));
        m.insert("activation".into(), self.activation.word().into());
        m.insert("dtype".into(), self.dtype.word().into());
        m.insert("minmax".into(), self.minmax.to_string());
        m.insert("normalize".into(), self.normalize.to_string());
        m.insert("raw_cols".into(), self.raw_cols.to_string());
        m.insert("length".into(), self.series.length.word().into());
        m.insert("missing".into(), self.series.missing.word().into());
        if let Some(n) = self.series.series_length {
            m.insert("series_length".into(), n.to_string());
        }
        m.insert("config".into(), self.config.clone());
        m
    }

    fn from_map(m: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |k: &str| m.get(k).with_context(|| format!("metadata has no `{k}`: not a pinniped checkpoint"));
        if ![MLP_FORMAT, CONV_FORMAT].contains(&get("format")?.as_str()) {
            bail!("unknown checkpoint format `{}`", get("format")?);
        }
        Ok(CheckpointMeta {
            seed: get("seed")?.parse()?,
            config_hash: get("config_hash")?.clone(),
            epoch: get("epoch")?.parse()?,
            classes: serde_json::from_str(get("classes")?)?,
            activation: get("activation")?.parse().map_err(anyhow::Error::msg)?,
            dtype: get("dtype")?.parse().map_err(anyhow::Error::msg)?,
            minmax: get("minmax")?.parse()?,
            normalize: get("normalize")?.parse()?,
            raw_cols: get("raw_cols")?.parse()?,
            series: SeriesPolicy {
                length: m.get("length").map_or(Ok(Default::default()), |w| w.parse()).map_err(anyhow::Error::msg)?,
                missing: m.get("missing").map_or(Ok(Default::default()), |w| w.parse()).map_err(anyhow::Error::msg)?,
                series_length: m.get("series_length").map(|n| n.parse()).transpose()?,
            },
            config: get("config")?.clone(),
        })
    }
}

/// Per-feature z-score statistics (mean, std) fitted on the run's training rows.
pub(crate) type Standardization = (Vec<f64>, Vec<f64>);

/// The checkpoint's bytes (write them with `exec::atomic::write_atomic`). A convolutional
/// network's tensors keep their names and shapes (`train::conv`: PyTorch's state dict of the
/// equivalent module); its metadata's `format` is `pinniped-conv/1`.
pub fn encode<T: Real>(
    net: NetRef<'_, T>,
    meta: &CheckpointMeta,
    z: Option<&Standardization>,
) -> anyhow::Result<Vec<u8>> {
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    if let Some((mean, std)) = z {
        tensors.push(("standardize.mean".into(), Tensor::from_slice(mean, mean.len(), &Device::Cpu)?));
        tensors.push(("standardize.std".into(), Tensor::from_slice(std, std.len(), &Device::Cpu)?));
    }
    let mlp = match net {
        NetRef::Mlp(mlp) => mlp,
        NetRef::Conv(c) => {
            for t in c.params.iter().chain(&c.buffers) {
                tensors.push((t.name.clone(), Tensor::from_slice(&t.data, t.shape.as_slice(), &Device::Cpu)?));
            }
            let mut map = meta.to_map();
            map.insert("format".into(), CONV_FORMAT.into());
            let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(map))?;
            return canonical_header(bytes);
        }
    };
    for l in 0..mlp.layers() {
        let (fan_in, fan_out) = (mlp.dims[l], mlp.dims[l + 1]);
        let w = Tensor::from_slice(&mlp.weights[l], (fan_in, fan_out), &Device::Cpu)?.t()?.contiguous()?;
        let b = Tensor::from_slice(&mlp.biases[l], fan_out, &Device::Cpu)?;
        tensors.push((format!("layers.{l}.weight"), w));
        tensors.push((format!("layers.{l}.bias"), b));
    }
    let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(meta.to_map()))?;
    canonical_header(bytes)
}

/// safetensors writes its metadata map in hash order, so the same checkpoint would
/// differ byte for byte between processes. Rewrites the JSON header with sorted keys
/// (data offsets are relative to the data section, so they stay valid).
fn canonical_header(bytes: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let n = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])?;
    let mut json = serde_json::to_vec(&header)?; // serde_json's maps are sorted
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - 8 - n);
    out.extend((json.len() as u64).to_le_bytes());
    out.extend(json);
    out.extend(&bytes[8 + n..]);
    Ok(out)
}

/// A loaded checkpoint's network, in the dtype it was saved in.
pub enum AnyNet {
    F32(Net<f32>),
    F64(Net<f64>),
}

impl AnyNet {
    /// Values of one input row (the features' width).
    pub fn inputs(&self) -> usize {
        match self {
            AnyNet::F32(n) => n.inputs(),
            AnyNet::F64(n) => n.inputs(),
        }
    }
}

/// A checkpoint: the network, what it says about itself, and its z-score statistics.
pub struct Checkpoint {
    pub net: AnyNet,
    pub meta: CheckpointMeta,
    pub standardization: Option<Standardization>,
}

/// Reads and checks a checkpoint, an MLP's or a convolutional network's: its metadata must
/// describe its tensors exactly (names, dtypes, shapes, the input width of the recorded
/// pipeline, the class count), so that evaluating it can never fail halfway or silently
/// convert weights.
pub fn load(path: &Path) -> anyhow::Result<Checkpoint> {
    let bytes = crate::fsx::read_bounded(path, crate::fsx::MAX_CHECKPOINT_BYTES)
        .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    let broken =
        || format!("{}: not a readable safetensors checkpoint (truncated or another kind of file?)", path.display());
    // The parsers' own words (serde's "invalid type: integer `1`, expected string or map")
    // help no user: the file is not a checkpoint pinniped can read, and that is all.
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|_| anyhow::anyhow!(broken()))?;
    let map = header
        .metadata()
        .as_ref()
        .with_context(|| format!("{}: the checkpoint has no metadata: not written by pinniped", path.display()))?;
    let meta = CheckpointMeta::from_map(map).with_context(|| path.display().to_string())?;
    let conv = map.get("format").map(String::as_str) == Some(CONV_FORMAT);
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|_| anyhow::anyhow!(broken()))?;
    let shape = check(&meta, conv, &file).map_err(|what| {
        anyhow::anyhow!(
            "{}: {what}; the file was not written by this pinniped or has been changed \
             (use the model.safetensors of a finished run, or train again)",
            path.display()
        )
    })?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|_| anyhow::anyhow!(broken()))?;
    let net = match meta.dtype {
        DType::F32 => AnyNet::F32(build(&shape, meta.activation, &tensors).with_context(broken)?),
        DType::F64 => AnyNet::F64(build(&shape, meta.activation, &tensors).with_context(broken)?),
    };
    let standardization = match (tensors.get("standardize.mean"), tensors.get("standardize.std")) {
        (Some(m), Some(s)) => {
            Some((m.to_vec1::<f64>().with_context(broken)?, s.to_vec1::<f64>().with_context(broken)?))
        }
        _ => None,
    };
    Ok(Checkpoint { net, meta, standardization })
}

/// The network of a checked checkpoint's `tensors`. `check` made sure they are already `T`:
/// no conversion happens here.
fn build<T: Real>(shape: &NetShape, a: Activation, tensors: &HashMap<String, Tensor>) -> anyhow::Result<Net<T>> {
    let values = |name: &str| -> anyhow::Result<Vec<T>> { Ok(tensors[name].flatten_all()?.to_vec1::<T>()?) };
    Ok(match shape {
        NetShape::Mlp(dims) => {
            let (mut ws, mut bs) = (Vec::new(), Vec::new());
            for l in 0..dims.len() - 1 {
                // Stored `[out, in]` as PyTorch's; the native layout is `[in, out]`.
                ws.push(tensors[&format!("layers.{l}.weight")].t()?.contiguous()?.flatten_all()?.to_vec1::<T>()?);
                bs.push(values(&format!("layers.{l}.bias"))?);
            }
            Net::Mlp(Mlp::from_parts(dims, a, ws, bs))
        }
        NetShape::Conv(arch) => {
            let named = |list: Vec<(String, Vec<usize>)>| {
                list.into_iter()
                    .map(|(name, shape)| Ok(NamedTensor { data: values(&name)?, name, shape }))
                    .collect::<anyhow::Result<Vec<_>>>()
            };
            Net::Conv(ConvNet {
                arch: arch.clone(),
                params: named(arch.param_shapes())?,
                buffers: named(arch.buffer_shapes())?,
            })
        }
    })
}

/// The network's shape if the tensors match the metadata; otherwise what is wrong, in words.
fn check(meta: &CheckpointMeta, conv: bool, file: &safetensors::SafeTensors<'_>) -> Result<NetShape, String> {
    let cfg = embedded_config(meta)?;
    if conv == cfg.model.family.is_mlp() {
        return Err(format!(
            "its format is {} but its embedded config says model = \"{}\"",
            if conv { CONV_FORMAT } else { MLP_FORMAT },
            cfg.model.family.word()
        ));
    }
    let width = Pipeline::of(&cfg)
        .output_width(meta.raw_cols, meta.channels())
        .map_err(|e| format!("its features cannot be computed from {} values: {e}", meta.raw_cols))?;
    let want = match meta.dtype {
        DType::F32 => safetensors::Dtype::F32,
        DType::F64 => safetensors::Dtype::F64,
    };
    let shape =
        if conv { check_conv(meta, &cfg, file, width, want)? } else { check_mlp(meta, &cfg, file, width, want)? };
    check_standardization(&cfg, file, width)?;
    // A row is channels × series_length values.
    if let Some(n) = meta.series.series_length.filter(|&n| n == 0 || !meta.raw_cols.is_multiple_of(n)) {
        return Err(format!(
            "its metadata says series_length = {n}, which does not divide raw_cols = {}",
            meta.raw_cols
        ));
    }
    Ok(shape)
}

/// The checkpoint's `[train]` table, parsed, valid, and agreeing with the metadata.
fn embedded_config(meta: &CheckpointMeta) -> Result<TrainConfig, String> {
    let cfg: TrainConfig =
        toml::from_str(&meta.config).map_err(|e| format!("its embedded [train] config does not parse: {e}"))?;
    if let Some((key, why)) = cfg.problems().into_iter().next() {
        return Err(format!("its embedded [train] config is invalid: `{key}` {why}"));
    }
    // Keys stored both on their own and inside the embedded config must agree.
    let agree = [
        ("seed", cfg.schedule.seed.to_string(), meta.seed.to_string()),
        ("activation", cfg.model.activation.word().to_string(), meta.activation.word().to_string()),
        ("dtype", cfg.model.dtype.word().to_string(), meta.dtype.word().to_string()),
        ("minmax", cfg.pipeline.minmax.to_string(), meta.minmax.to_string()),
        ("normalize", cfg.pipeline.normalize.to_string(), meta.normalize.to_string()),
    ];
    for (key, in_config, in_meta) in agree {
        if in_config != in_meta {
            return Err(format!("its metadata says {key} = {in_meta} but its embedded config says {in_config}"));
        }
    }
    if meta.raw_cols == 0 {
        return Err("its metadata says raw_cols = 0".into());
    }
    if meta.classes.len() < 2 {
        return Err(format!("its metadata lists {} class(es); a classifier needs at least 2", meta.classes.len()));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = meta.classes.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(format!("its metadata lists the class `{dup}` twice"));
    }
    Ok(cfg)
}

/// The tensor `name`'s shape, if it is there and of `dtype`.
fn tensor_shape(
    file: &safetensors::SafeTensors<'_>,
    name: &str,
    dtype: safetensors::Dtype,
) -> Result<Vec<usize>, String> {
    let t = file.tensor(name).map_err(|_| format!("the tensor `{name}` is missing"))?;
    if t.dtype() != dtype {
        return Err(format!("the tensor `{name}` is {:?}, expected {dtype:?}", t.dtype()));
    }
    Ok(t.shape().to_vec())
}

/// Refuses a tensor that is not among `expected` (the network's and the standardisation's).
fn no_extra_tensors(file: &safetensors::SafeTensors<'_>, expected: &[String]) -> Result<(), String> {
    let mut names = file.names();
    names.sort();
    let standardize = ["standardize.mean", "standardize.std"];
    match names.iter().find(|n| !expected.iter().any(|e| e == **n) && !standardize.contains(n)) {
        Some(extra) => Err(format!("it has an unexpected tensor `{extra}`")),
        None => Ok(()),
    }
}

/// An MLP's widths (inputs, hidden..., classes), from its `layers.L.{weight,bias}` chain.
fn check_mlp(
    meta: &CheckpointMeta,
    cfg: &TrainConfig,
    file: &safetensors::SafeTensors<'_>,
    width: usize,
    want: safetensors::Dtype,
) -> Result<NetShape, String> {
    let layers = (0..).take_while(|l| file.tensor(&format!("layers.{l}.weight")).is_ok()).count();
    if layers == 0 {
        return Err("it has no `layers.0.weight` tensor".into());
    }
    let expected: Vec<String> =
        (0..layers).flat_map(|l| [format!("layers.{l}.weight"), format!("layers.{l}.bias")]).collect();
    no_extra_tensors(file, &expected)?;
    let mut dims = Vec::new();
    for l in 0..layers {
        let (w, b) = (format!("layers.{l}.weight"), format!("layers.{l}.bias"));
        let (fan_out, fan_in) = match tensor_shape(file, &w, want)?[..] {
            [o, i] => (o, i),
            ref s => return Err(format!("`{w}` has shape {s:?}; a weight is [outputs, inputs]")),
        };
        if tensor_shape(file, &b, want)? != [fan_out] {
            return Err(format!("`{b}` does not have shape [{fan_out}] to match `{w}` ({fan_out}×{fan_in})"));
        }
        match dims.last() {
            None => dims.push(fan_in),
            Some(&prev) if prev != fan_in => {
                return Err(format!("layer {l} takes {fan_in} inputs but layer {} has {prev} outputs", l - 1));
            }
            Some(_) => {}
        }
        dims.push(fan_out);
    }
    if dims[0] != width {
        return Err(format!(
            "`layers.0.weight` takes {} inputs but its features ({}) give {width} values from series of {} \
             (raw_cols)",
            dims[0],
            cfg.pipeline.features.word(),
            meta.raw_cols
        ));
    }
    let classes = dims[layers];
    if classes != meta.classes.len() {
        return Err(format!(
            "the output layer has {classes} units but the metadata lists {} classes",
            meta.classes.len()
        ));
    }
    Ok(NetShape::Mlp(dims))
}

/// A convolutional network's architecture, from its embedded config and the input its
/// features give: every tensor `train::conv` names must be there with exactly its shape.
fn check_conv(
    meta: &CheckpointMeta,
    cfg: &TrainConfig,
    file: &safetensors::SafeTensors<'_>,
    width: usize,
    want: safetensors::Dtype,
) -> Result<NetShape, String> {
    let input = InputLayout::of(cfg.pipeline.features, width, meta.channels(), cfg.pipeline.mel_bands)
        .map_err(|e| format!("its features do not fit a convolutional network: {e}"))?;
    let arch = ConvArch::new(&cfg.model, input, meta.classes.len());
    let tensors: Vec<(String, Vec<usize>)> = arch.param_shapes().into_iter().chain(arch.buffer_shapes()).collect();
    let expected: Vec<String> = tensors.iter().map(|(n, _)| n.clone()).collect();
    no_extra_tensors(file, &expected)?;
    for (name, shape) in &tensors {
        let found = tensor_shape(file, name, want)?;
        if &found != shape {
            return Err(format!(
                "`{name}` has shape {found:?}; its embedded config ({} on {} × {} inputs, {}) makes it {shape:?}",
                cfg.model.family.word(),
                input.channels(),
                input.length,
                count(meta.classes.len(), "class")
            ));
        }
    }
    Ok(NetShape::Conv(arch))
}

/// Standardisation statistics are there exactly when the config standardises, each `[width]` f64.
fn check_standardization(cfg: &TrainConfig, file: &safetensors::SafeTensors<'_>, width: usize) -> Result<(), String> {
    let (mean, std) = (file.tensor("standardize.mean").is_ok(), file.tensor("standardize.std").is_ok());
    if mean != std {
        return Err("it has only one of `standardize.mean` and `standardize.std`".into());
    }
    if mean != cfg.pipeline.standardize {
        return Err(format!(
            "its config says standardize = {} but it {} standardisation statistics",
            cfg.pipeline.standardize,
            if mean { "has" } else { "has no" }
        ));
    }
    if mean {
        for name in ["standardize.mean", "standardize.std"] {
            if tensor_shape(file, name, safetensors::Dtype::F64)? != [width] {
                return Err(format!("`{name}` does not have shape [{width}] (the input width)"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{LengthPolicy, MissingPolicy};

    fn meta(series: SeriesPolicy) -> CheckpointMeta {
        CheckpointMeta {
            seed: 7,
            config_hash: "abc".into(),
            epoch: 3,
            classes: vec!["a".into(), "b".into()],
            activation: Activation::Sigmoid,
            dtype: DType::F32,
            minmax: true,
            normalize: true,
            raw_cols: 24,
            series,
            config: String::new(),
        }
    }

    #[test]
    fn policies_round_trip_and_older_checkpoints_load_with_the_defaults() {
        let series = SeriesPolicy {
            length: LengthPolicy::Resample,
            missing: MissingPolicy::Interpolate,
            series_length: Some(12),
        };
        let m = meta(series);
        assert_eq!(CheckpointMeta::from_map(&m.to_map()).unwrap(), m);
        let mut older = meta(SeriesPolicy::default()).to_map();
        for key in ["length", "missing", "series_length"] {
            older.remove(key);
        }
        assert_eq!(CheckpointMeta::from_map(&older).unwrap().series, SeriesPolicy::default());
        let mut bad = m.to_map();
        bad.insert("length".into(), "stretch".into());
        let e = CheckpointMeta::from_map(&bad).unwrap_err().to_string();
        assert!(e.contains("stretch") && e.contains("resample"), "{e}");
    }
}
