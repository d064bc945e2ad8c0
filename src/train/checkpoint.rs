//! Self-describing checkpoints: safetensors files whose tensors are candle tensors
//! in PyTorch's layout (`layers.L.weight` is `[out, in]`), with metadata naming the
//! seed, config hash, epoch, class labels and preprocessing. candle's `VarMap::save`
//! writes no metadata, so the file is assembled here.

use super::model::Mlp;
use super::options::{Activation, DType};
use super::real::Real;
use anyhow::{bail, Context};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

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
    /// The run's `[train]` table, as TOML: the whole input pipeline.
    pub config: String,
}

impl CheckpointMeta {
    fn to_map(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        m.insert("format".into(), "pinniped-mlp/1".into());
        m.insert("seed".into(), self.seed.to_string());
        m.insert("config_hash".into(), self.config_hash.clone());
        m.insert("epoch".into(), self.epoch.to_string());
        m.insert("classes".into(), serde_json::to_string(&self.classes).expect("strings serialise"));
        m.insert("activation".into(), self.activation.word().into());
        m.insert("dtype".into(), self.dtype.word().into());
        m.insert("minmax".into(), self.minmax.to_string());
        m.insert("normalize".into(), self.normalize.to_string());
        m.insert("raw_cols".into(), self.raw_cols.to_string());
        m.insert("config".into(), self.config.clone());
        m
    }

    fn from_map(m: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |k: &str| m.get(k).with_context(|| format!("metadata has no `{k}`: not a pinniped checkpoint"));
        if get("format")? != "pinniped-mlp/1" {
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
            config: get("config")?.clone(),
        })
    }
}

/// Per-feature z-score statistics (mean, std) fitted on the run's training rows.
pub type Standardization = (Vec<f64>, Vec<f64>);

/// The checkpoint's bytes (write them with `exec::atomic::write_atomic`).
pub fn encode<T: Real>(mlp: &Mlp<T>, meta: &CheckpointMeta, z: Option<&Standardization>) -> anyhow::Result<Vec<u8>> {
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    if let Some((mean, std)) = z {
        tensors.push(("standardize.mean".into(), Tensor::from_slice(mean, mean.len(), &Device::Cpu)?));
        tensors.push(("standardize.std".into(), Tensor::from_slice(std, std.len(), &Device::Cpu)?));
    }
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

/// A loaded checkpoint in the dtype it was saved in.
pub enum AnyMlp {
    F32(Mlp<f32>),
    F64(Mlp<f64>),
}

impl AnyMlp {
    pub fn dims(&self) -> &[usize] {
        match self {
            AnyMlp::F32(m) => &m.dims,
            AnyMlp::F64(m) => &m.dims,
        }
    }
}

/// A checkpoint: the network, what it says about itself, and its z-score statistics.
pub struct Checkpoint {
    pub mlp: AnyMlp,
    pub meta: CheckpointMeta,
    pub standardization: Option<Standardization>,
}

pub fn load(path: &Path) -> anyhow::Result<Checkpoint> {
    let bytes = crate::fsx::read_bounded(path, crate::fsx::MAX_CHECKPOINT_BYTES)
        .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    let broken =
        || format!("{}: not a readable safetensors checkpoint (truncated or another kind of file?)", path.display());
    // The parsers' own words (serde's "invalid type: integer `1`, expected string or map")
    // help no user: the file is not a checkpoint pinniped can read, and that is all.
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|_| anyhow::anyhow!(broken()))?;
    let meta = header
        .metadata()
        .as_ref()
        .with_context(|| format!("{}: the checkpoint has no metadata: not written by pinniped", path.display()))?;
    let meta = CheckpointMeta::from_map(meta).with_context(|| path.display().to_string())?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|_| anyhow::anyhow!(broken()))?;
    let mut dims = Vec::new();
    let mut layers = Vec::new();
    for l in 0.. {
        let (Some(w), Some(b)) = (tensors.get(&format!("layers.{l}.weight")), tensors.get(&format!("layers.{l}.bias")))
        else {
            break;
        };
        let not_a_layer =
            || anyhow::anyhow!("{}: layer {l}'s weight is not a matrix or its bias not a vector", path.display());
        let (fan_out, fan_in) = w.dims2().map_err(|_| not_a_layer())?;
        if b.dims1().map_err(|_| not_a_layer())? != fan_out || (l > 0 && dims.last() != Some(&fan_in)) {
            bail!("{}: layer {l} has inconsistent shapes", path.display());
        }
        if l == 0 {
            dims.push(fan_in);
        }
        dims.push(fan_out);
        layers.push((w.t()?.contiguous()?, b.clone()));
    }
    if layers.is_empty() {
        bail!("{}: no `layers.0.weight` tensor: not a pinniped checkpoint", path.display());
    }
    fn build<T: Real>(dims: &[usize], a: Activation, layers: &[(Tensor, Tensor)]) -> anyhow::Result<Mlp<T>> {
        let mut ws = Vec::new();
        let mut bs = Vec::new();
        for (w, b) in layers {
            ws.push(w.flatten_all()?.to_dtype(T::DTYPE)?.to_vec1::<T>()?);
            bs.push(b.to_dtype(T::DTYPE)?.to_vec1::<T>()?);
        }
        Ok(Mlp::from_parts(dims, a, ws, bs))
    }
    let mlp = match meta.dtype {
        DType::F32 => AnyMlp::F32(build(&dims, meta.activation, &layers)?),
        DType::F64 => AnyMlp::F64(build(&dims, meta.activation, &layers)?),
    };
    if *dims.last().unwrap() != meta.classes.len() {
        bail!(
            "{}: the output layer has {} units but the metadata lists {} classes",
            path.display(),
            dims.last().unwrap(),
            meta.classes.len()
        );
    }
    let standardization = match (tensors.get("standardize.mean"), tensors.get("standardize.std")) {
        (Some(m), Some(s)) => {
            Some((m.to_vec1::<f64>().with_context(broken)?, s.to_vec1::<f64>().with_context(broken)?))
        }
        _ => None,
    };
    if standardization.as_ref().is_some_and(|(m, s)| m.len() != dims[0] || s.len() != dims[0]) {
        bail!("{}: the standardisation statistics do not match the input width", path.display());
    }
    Ok(Checkpoint { mlp, meta, standardization })
}
