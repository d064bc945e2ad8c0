//! `runs/<id>/predictions.npz`: the per-row predictions of the model a run keeps, so that
//! ensembles of repeats and test-row statistics (McNemar, bootstrap) need no retraining.
//!
//! The file is numpy's `.npz`, a zip of `.npy` arrays: `np.load(path)` reads it (and pandas
//! through numpy: `pd.DataFrame(np.load(path)["test_prob"])`).
//!
//! | array         | dtype   | shape                | content                                             |
//! |---------------|---------|----------------------|-----------------------------------------------------|
//! | `valid_row`   | int32   | (n_valid,)           | row of the training file (0-based, file order)      |
//! | `valid_label` | int16   | (n_valid,)           | true class                                          |
//! | `valid_pred`  | int16   | (n_valid,)           | predicted class: argmax of the scores (first wins)  |
//! | `valid_prob`  | float16 | (n_valid, classes)   | softmax of the model's class scores                 |
//! | `test_label`, `test_pred`, `test_prob` | as above | n_test rows | absent when `[data]` has no test file |
//!
//! Class indices follow the run's class list (the order of the checkpoint and of the
//! confusion matrices). An integer array widens to int32 or int64 only where a value
//! would not fit (more than 32767 classes, 2^31 rows). Validation predictions come from
//! the model that validation selected, before any refit (the refitted model has trained on
//! those rows); test predictions from the model the run returns. So the accuracy of
//! `*_pred` is exactly the one the run reports (`status.json`'s selected model, else the
//! last row of `metrics.csv`); the argmax of the rounded `*_prob` may differ where two
//! classes round to the same half-precision value.
//!
//! Half precision keeps 11 significant bits (a relative error below 0.05%), deflated
//! entries; BENCHMARKS.md ("Predictions per run") has the sizes that chose it. Entries
//! carry a fixed timestamp, so the same predictions always give the same bytes.

use super::atomic::write_atomic;
use crate::memory::try_with_capacity;
use half::f16;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

pub const PREDICTIONS_FILE: &str = "predictions.npz";

/// Bound on the file read back: far above any real one (Phoneme's is about 0.1 MB).
pub(crate) const MAX_PREDICTIONS_BYTES: u64 = 1 << 30;
/// Bound on all arrays together once decompressed, so that a small hostile file cannot
/// inflate into an unbounded allocation.
const MAX_DECODED_BYTES: u64 = 1 << 30;
/// numpy's own default bound on a `.npy` header (`max_header_size`).
const MAX_HEADER_BYTES: usize = 10_000;
/// Entries of the zip's central directory; pinniped writes at most 7.
const MAX_ENTRIES: u64 = 64;

// The in-memory record is made by `train` (below `results`); this module owns its file.
pub use crate::train::predictions::{Predictions, SetPredictions};

/// A predictions file that cannot be written or read: the path and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct PredictionsError {
    pub path: PathBuf,
    pub(crate) reason: String,
}

/// Writes `dir/predictions.npz` atomically.
pub fn write(dir: &Path, p: &Predictions) -> Result<(), PredictionsError> {
    let path = dir.join(PREDICTIONS_FILE);
    let bytes = encode(p).map_err(|reason| PredictionsError { path: path.clone(), reason })?;
    write_atomic(&path, &bytes).map_err(|e| PredictionsError { path, reason: format!("cannot write it: {e}") })
}

/// The bytes of `predictions.npz`.
pub fn encode(p: &Predictions) -> Result<Vec<u8>, String> {
    encode_as(p, Stored::F16, CompressionMethod::Deflated)
}

/// How the probabilities could be stored: the file uses [`Stored::F16`]; the others exist
/// for the measurement that chose it (`examples/predictions_size.rs`) and are not readable.
#[derive(Clone, Copy, Debug)]
pub enum Stored {
    F16,
    F32,
    /// `round(255 p)` as uint8.
    U8,
}

/// [`encode`] with another probability type or compression (see [`Stored`]).
pub fn encode_as(p: &Predictions, stored: Stored, method: CompressionMethod) -> Result<Vec<u8>, String> {
    let prob = |prob: &[f32], rows: usize| match stored {
        Stored::F16 => prob_npy(prob, rows, p.classes),
        Stored::F32 => npy_raw_values("<f4", rows, p.classes, prob.iter().flat_map(|v| v.to_le_bytes())),
        Stored::U8 => npy_raw_values("|u1", rows, p.classes, prob.iter().map(|v| (v * 255.0).round() as u8)),
    };
    let mut arrays = vec![
        ("valid_row", int_npy(&p.valid_row.iter().map(|&r| r as u64).collect::<Vec<_>>(), Int::I32)),
        ("valid_label", label_npy(&p.valid.label, p.classes)),
        ("valid_pred", label_npy(&p.valid.predicted, p.classes)),
        ("valid_prob", prob(&p.valid.prob, p.valid.rows())),
    ];
    if let Some(t) = &p.test {
        arrays.push(("test_label", label_npy(&t.label, p.classes)));
        arrays.push(("test_pred", label_npy(&t.predicted, p.classes)));
        arrays.push(("test_prob", prob(&t.prob, t.rows())));
    }
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let fail = |e: &dyn std::fmt::Display| format!("cannot encode the predictions: {e}");
    for (name, npy) in arrays {
        zip.start_file(format!("{name}.npy"), options).map_err(|e| fail(&e))?;
        zip.write_all(&npy).map_err(|e| fail(&e))?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}

/// Reads `path` (a plain file, not followed through a symlink, at most
/// [`MAX_PREDICTIONS_BYTES`]) and checks that its arrays agree with each other.
pub fn read(path: &Path) -> Result<Predictions, PredictionsError> {
    read_if_present(path)?.ok_or_else(|| PredictionsError { path: path.into(), reason: "does not exist".into() })
}

/// [`read`], with `None` when there is no file (a run made with `predictions = false`, or
/// by a pinniped that did not write them).
pub(crate) fn read_if_present(path: &Path) -> Result<Option<Predictions>, PredictionsError> {
    let bytes = match crate::fsx::read_own(path, MAX_PREDICTIONS_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PredictionsError { path: path.into(), reason: format!("cannot read it: {e}") }),
    };
    decode(&bytes).map(Some).map_err(|why| PredictionsError {
        path: path.into(),
        reason: format!(
            "is not a predictions file pinniped can read ({why}); rerun its run \
             (`pinniped rerun <results dir> --run <id>`) to write it again"
        ),
    })
}

/// The arrays of `predictions.npz` from its bytes, checked.
pub fn decode(bytes: &[u8]) -> Result<Predictions, String> {
    check_end_of_directory(bytes)?;
    let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a zip archive: {e}"))?;
    let mut zip = Npz { zip, left: MAX_DECODED_BYTES };
    let valid_prob = zip.array("valid_prob")?.ok_or("it has no valid_prob.npy")?;
    let [rows, classes] = valid_prob.shape[..] else {
        return Err(format!("valid_prob.npy has shape {:?}; it must be (rows, classes)", valid_prob.shape));
    };
    if classes == 0 {
        return Err("valid_prob.npy has no class column".into());
    }
    let rows_of = |name: &str, a: &Array| match a.shape[..] {
        [n] => Ok(n),
        _ => Err(format!("{name}.npy has shape {:?}; it must be one-dimensional", a.shape)),
    };
    let valid_row = zip.array("valid_row")?.ok_or("it has no valid_row.npy")?;
    if rows_of("valid_row", &valid_row)? != rows {
        return Err(format!("valid_row.npy has {} rows, valid_prob.npy {rows}", valid_row.shape[0]));
    }
    let valid = read_set(&mut zip, "valid", valid_prob, rows, classes)?.ok_or("it has no valid_label.npy")?;
    let valid_row = valid_row.ints("valid_row", u64::MAX)?.into_iter().map(|r| r as usize).collect();

    let test = match zip.array("test_prob")? {
        None => {
            if let Some(name) =
                ["test_label", "test_pred"].into_iter().find(|n| zip.zip.index_for_name(&format!("{n}.npy")).is_some())
            {
                return Err(format!("it has {name}.npy but no test_prob.npy"));
            }
            None
        }
        Some(prob) => {
            let [test_rows, test_classes] = prob.shape[..] else {
                return Err(format!("test_prob.npy has shape {:?}; it must be (rows, classes)", prob.shape));
            };
            if test_classes != classes {
                return Err(format!("test_prob.npy has {test_classes} classes, valid_prob.npy {classes}"));
            }
            Some(read_set(&mut zip, "test", prob, test_rows, classes)?.ok_or("it has no test_label.npy")?)
        }
    };
    Ok(Predictions { classes, valid_row, valid, test })
}

/// `<set>_label`, `<set>_pred` and the already read `<set>_prob` of one set with `rows` rows.
fn read_set(
    zip: &mut Npz<'_>,
    set: &str,
    prob: Array,
    rows: usize,
    classes: usize,
) -> Result<Option<SetPredictions>, String> {
    let mut columns = Vec::new();
    for part in ["label", "pred"] {
        let name = format!("{set}_{part}");
        let Some(a) = zip.array(&name)? else { return Ok(None) };
        if a.shape != [rows] {
            return Err(format!("{name}.npy has shape {:?}; {set}_prob.npy has {rows} rows", a.shape));
        }
        let values = a.ints(&name, classes as u64 - 1)?;
        columns.push(values.into_iter().map(|v| v as u32).collect::<Vec<_>>());
    }
    let prob = prob.probabilities(&format!("{set}_prob"))?;
    let predicted = columns.pop().expect("two columns");
    let label = columns.pop().expect("two columns");
    Ok(Some(SetPredictions { label, predicted, prob }))
}

/// The zip's end-of-central-directory record, checked before the zip reader trusts its
/// counts: a record without a comment at the very end (as pinniped writes it), no ZIP64,
/// at most [`MAX_ENTRIES`] entries, and a central directory inside the file.
fn check_end_of_directory(bytes: &[u8]) -> Result<(), String> {
    const EOCD: usize = 22;
    let Some(end) = bytes.len().checked_sub(EOCD).map(|at| &bytes[at..]) else {
        return Err(format!("it has {} bytes, too few for a zip archive", bytes.len()));
    };
    let u16_at = |i: usize| u16::from_le_bytes([end[i], end[i + 1]]) as u64;
    let u32_at = |i: usize| u32::from_le_bytes([end[i], end[i + 1], end[i + 2], end[i + 3]]) as u64;
    if end[..4] != *b"PK\x05\x06" || u16_at(20) != 0 {
        return Err("it does not end in a zip directory record (truncated, or not written by pinniped)".into());
    }
    let (entries, size, offset) = (u16_at(10), u32_at(12), u32_at(16));
    if entries == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        return Err("it is a ZIP64 archive, which pinniped never writes".into());
    }
    if entries > MAX_ENTRIES {
        return Err(format!("its zip directory lists {entries} entries, more than the {MAX_ENTRIES} allowed"));
    }
    if offset + size > (bytes.len() - EOCD) as u64 {
        return Err("its zip directory lies outside the file (truncated?)".into());
    }
    Ok(())
}

/// One `.npy` array, raw little-endian data.
struct Array {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Dtype {
    I16,
    I32,
    I64,
    F16,
}

impl Dtype {
    fn parse(descr: &str) -> Option<Dtype> {
        Some(match descr {
            "<i2" => Dtype::I16,
            "<i4" => Dtype::I32,
            "<i8" => Dtype::I64,
            "<f2" => Dtype::F16,
            _ => return None,
        })
    }
    fn descr(self) -> &'static str {
        match self {
            Dtype::I16 => "<i2",
            Dtype::I32 => "<i4",
            Dtype::I64 => "<i8",
            Dtype::F16 => "<f2",
        }
    }
    fn size(self) -> usize {
        match self {
            Dtype::I16 | Dtype::F16 => 2,
            Dtype::I32 => 4,
            Dtype::I64 => 8,
        }
    }
}

impl Array {
    /// Non-negative integers of at most `max`.
    fn ints(&self, name: &str, max: u64) -> Result<Vec<u64>, String> {
        let size = self.dtype.size();
        let value = |c: &[u8]| -> i64 {
            match self.dtype {
                Dtype::I16 => i16::from_le_bytes([c[0], c[1]]) as i64,
                Dtype::I32 => i32::from_le_bytes(c.try_into().expect("4 bytes")) as i64,
                _ => i64::from_le_bytes(c.try_into().expect("8 bytes")),
            }
        };
        if self.dtype == Dtype::F16 {
            return Err(format!("{name}.npy holds float16; it must hold integers"));
        }
        let mut out = try_with_capacity(self.data.len() / size, "a predictions file").map_err(|e| e.to_string())?;
        for c in self.data.chunks_exact(size) {
            let v = value(c);
            if v < 0 || v as u64 > max {
                return Err(format!("{name}.npy holds {v}, outside 0..={max}"));
            }
            out.push(v as u64);
        }
        Ok(out)
    }

    /// Finite probabilities within [0, 1].
    fn probabilities(&self, name: &str) -> Result<Vec<f32>, String> {
        if self.dtype != Dtype::F16 {
            return Err(format!("{name}.npy holds {}; it must hold float16 (<f2)", self.dtype.descr()));
        }
        let mut out = try_with_capacity(self.data.len() / 2, "a predictions file").map_err(|e| e.to_string())?;
        for c in self.data.chunks_exact(2) {
            let p = f16::from_le_bytes([c[0], c[1]]).to_f32();
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name}.npy holds {p}, not a probability"));
            }
            out.push(p);
        }
        Ok(out)
    }
}

/// The archive being read, and how many decompressed bytes it may still yield.
struct Npz<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    left: u64,
}

impl Npz<'_> {
    /// `<name>.npy`, `None` when absent; decompressed no further than the entry's declared
    /// size and what is left of [`MAX_DECODED_BYTES`], and checked against its header.
    fn array(&mut self, name: &str) -> Result<Option<Array>, String> {
        let file = format!("{name}.npy");
        let mut entry = match self.zip.by_name(&file) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(format!("{file}: {e}")),
        };
        let declared = entry.size();
        if declared > self.left {
            return Err(format!(
                "{file} declares {declared} bytes, more than the {MAX_DECODED_BYTES} allowed for all arrays"
            ));
        }
        let mut bytes = Vec::new();
        (&mut entry).take(declared + 1).read_to_end(&mut bytes).map_err(|e| format!("{file}: {e}"))?;
        if bytes.len() as u64 != declared {
            return Err(format!("{file} holds {} bytes, not the {declared} its zip entry declares", bytes.len()));
        }
        self.left -= declared;
        parse_npy(&bytes).map(Some).map_err(|why| format!("{file}: {why}"))
    }
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

fn parse_npy(bytes: &[u8]) -> Result<Array, String> {
    if bytes.len() < 10 || !bytes.starts_with(NPY_MAGIC) {
        return Err("not a .npy array (no \\x93NUMPY magic)".into());
    }
    // Versions 2 and 3 only widen the header length to 4 bytes.
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(format!("unknown .npy version {v}")),
    };
    if len > MAX_HEADER_BYTES || start + len > bytes.len() {
        return Err(format!("header of {len} bytes is too long or runs past the data"));
    }
    let header = std::str::from_utf8(&bytes[start..start + len])
        .ok()
        .filter(|h| h.is_ascii())
        .ok_or("the header is not ASCII text")?;
    let (descr, fortran, shape) = parse_header(header)?;
    let dtype = Dtype::parse(&descr).ok_or_else(|| format!("dtype '{descr}' is none of <i2, <i4, <i8, <f2"))?;
    if fortran {
        return Err("fortran_order is True; pinniped writes C order".into());
    }
    let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let want = elements.and_then(|n| n.checked_mul(dtype.size()));
    let data = &bytes[start + len..];
    if want != Some(data.len()) {
        return Err(format!("shape {shape:?} of {descr} needs {want:?} bytes of data, the array has {}", data.len()));
    }
    Ok(Array { dtype, shape, data: data.to_vec() })
}

/// The header dict: `{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }`.
fn parse_header(header: &str) -> Result<(String, bool, Vec<usize>), String> {
    let bad = |what: &str| format!("bad header ({what}): {}", header.trim_end().escape_default());
    let inner =
        header.trim_end().strip_prefix('{').and_then(|s| s.strip_suffix('}')).ok_or_else(|| bad("not a dict"))?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let (key, after) = quoted(rest).ok_or_else(|| bad("a key is not quoted"))?;
        rest = after.trim_start().strip_prefix(':').ok_or_else(|| bad("no ':' after a key"))?.trim_start();
        match key {
            "descr" if descr.is_none() => {
                let (value, after) = quoted(rest).ok_or_else(|| bad("descr is not a string"))?;
                descr = Some(value.to_string());
                rest = after;
            }
            "fortran_order" if fortran.is_none() => {
                let (value, after) = if let Some(a) = rest.strip_prefix("False") {
                    (false, a)
                } else if let Some(a) = rest.strip_prefix("True") {
                    (true, a)
                } else {
                    return Err(bad("fortran_order is not True or False"));
                };
                fortran = Some(value);
                rest = after;
            }
            "shape" if shape.is_none() => {
                let open = rest.strip_prefix('(').ok_or_else(|| bad("shape is not a tuple"))?;
                let close = open.find(')').ok_or_else(|| bad("shape is not a tuple"))?;
                let dims: Result<Vec<usize>, _> =
                    open[..close].split(',').map(str::trim).filter(|d| !d.is_empty()).map(str::parse).collect();
                shape = Some(dims.map_err(|_| bad("a dimension is not a non-negative integer"))?);
                rest = &open[close + 1..];
            }
            _ => return Err(bad("an unknown or repeated key")),
        }
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        } else if !rest.is_empty() {
            return Err(bad("no ',' between entries"));
        }
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        _ => Err(bad("descr, fortran_order or shape missing")),
    }
}

/// A leading `'…'` or `"…"`: its content and what follows.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let q = s.chars().next().filter(|&c| c == '\'' || c == '"')?;
    let body = &s[1..];
    let end = body.find(q)?;
    Some((&body[..end], &body[end + 1..]))
}

/// An integer array needs a wider type than 16 bits past these values.
#[derive(Clone, Copy)]
enum Int {
    I16,
    I32,
}

/// A one-dimensional integer `.npy`: `at_least` wide, wider where a value needs it.
fn int_npy(values: &[u64], at_least: Int) -> Vec<u8> {
    let max = values.iter().copied().max().unwrap_or(0);
    let dtype = match at_least {
        Int::I16 if max <= i16::MAX as u64 => Dtype::I16,
        _ if max <= i32::MAX as u64 => Dtype::I32,
        _ => Dtype::I64,
    };
    let mut data = Vec::with_capacity(values.len() * dtype.size());
    for &v in values {
        match dtype {
            Dtype::I16 => data.extend_from_slice(&(v as i16).to_le_bytes()),
            Dtype::I32 => data.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => data.extend_from_slice(&(v as i64).to_le_bytes()),
        }
    }
    npy(dtype.descr(), &[values.len()], &data)
}

/// Labels and predicted classes: int16 up to 32767 classes.
fn label_npy(values: &[u32], classes: usize) -> Vec<u8> {
    let widest = classes.saturating_sub(1) as u64;
    let values: Vec<u64> = values.iter().map(|&v| v as u64).collect();
    // The dtype follows the class count, not the values, so that every run of a sweep agrees.
    let at_least = if widest <= i16::MAX as u64 { Int::I16 } else { Int::I32 };
    int_npy(&values, at_least)
}

fn prob_npy(prob: &[f32], rows: usize, classes: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(prob.len() * 2);
    for &p in prob {
        data.extend_from_slice(&f16::from_f32(p).to_le_bytes());
    }
    npy(Dtype::F16.descr(), &[rows, classes], &data)
}

/// A `rows × classes` array of another dtype, for [`encode_as`].
fn npy_raw_values(descr: &str, rows: usize, classes: usize, data: impl Iterator<Item = u8>) -> Vec<u8> {
    npy(descr, &[rows, classes], &data.collect::<Vec<u8>>())
}

/// A version 1.0 `.npy`: magic, header dict padded with spaces to a multiple of 64 bytes
/// (numpy's alignment), then the data.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let unpadded = NPY_MAGIC.len() + 4 + header.len() + 1;
    header.extend(std::iter::repeat_n(' ', unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(NPY_MAGIC.len() + 4 + header.len() + data.len());
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    /// Two validation rows and three test rows of 3 classes; probabilities not exact in f16.
    fn sample() -> Predictions {
        let set = |label: Vec<u32>, predicted: Vec<u32>| {
            let rows = label.len();
            let prob = (0..rows * 3).map(|i| ((i % 3) as f32 + 0.1) / 3.3).collect();
            SetPredictions { label, predicted, prob }
        };
        Predictions {
            classes: 3,
            valid_row: vec![7, 2],
            valid: set(vec![0, 2], vec![0, 1]),
            test: Some(set(vec![1, 1, 2], vec![1, 0, 2])),
        }
    }

    fn rounded(mut p: Predictions) -> Predictions {
        let round = |s: &mut SetPredictions| s.prob.iter_mut().for_each(|v| *v = f16::from_f32(*v).to_f32());
        round(&mut p.valid);
        p.test.as_mut().map(round);
        p
    }

    /// The zip entries of `bytes` as (name, uncompressed bytes), read by the zip crate alone.
    fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut zip = ZipArchive::new(Cursor::new(bytes)).unwrap();
        (0..zip.len())
            .map(|i| {
                let mut e = zip.by_index(i).unwrap();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (e.name().unwrap().to_string(), data)
            })
            .collect()
    }

    /// A zip of the given (name, bytes) entries, deflated as pinniped writes them.
    fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            zip.start_file(name.as_str(), SimpleFileOptions::default()).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn predictions_round_trip_through_the_file_with_probabilities_in_half_precision() {
        let dir = TempDir::new().unwrap();
        for (case, p) in [("with a test set", sample()), ("without one", Predictions { test: None, ..sample() })] {
            write(dir.path(), &p).unwrap();
            let back = read(&dir.path().join(PREDICTIONS_FILE)).unwrap();
            assert_eq!(back, rounded(p.clone()), "{case}");
            assert_ne!(back.valid.prob, p.valid.prob, "{case}: the probabilities are stored in f16");
            assert_eq!(encode(&p).unwrap(), encode(&p).unwrap(), "{case}: the same predictions give the same bytes");
        }
        // No rows (no validation set) still round-trips, with its class count.
        let empty = Predictions { valid_row: vec![], valid: SetPredictions::default(), ..sample() };
        assert_eq!(decode(&encode(&empty).unwrap()).unwrap(), rounded(empty));
    }

    /// The layout numpy's `np.load` expects, checked without pinniped's reader: a zip whose
    /// entries are `<name>.npy`, each a version 1.0 header (dict text, padded to 64 bytes,
    /// ending in a newline) followed by little-endian C-order data.
    #[test]
    fn the_file_is_a_zip_of_npy_arrays_in_numpy_layout() {
        let bytes = encode(&sample()).unwrap();
        let found = entries(&bytes);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "valid_row.npy",
                "valid_label.npy",
                "valid_pred.npy",
                "valid_prob.npy",
                "test_label.npy",
                "test_pred.npy",
                "test_prob.npy"
            ]
        );
        let expect = [
            ("<i4", "(2,)", 4 * 2),
            ("<i2", "(2,)", 2 * 2),
            ("<i2", "(2,)", 2 * 2),
            ("<f2", "(2, 3)", 2 * 6),
            ("<i2", "(3,)", 2 * 3),
            ("<i2", "(3,)", 2 * 3),
            ("<f2", "(3, 3)", 2 * 9),
        ];
        for ((name, data), (descr, shape, data_len)) in found.iter().zip(expect) {
            assert_eq!(&data[..8], b"\x93NUMPY\x01\x00", "{name}");
            let len = u16::from_le_bytes([data[8], data[9]]) as usize;
            assert_eq!((10 + len) % 64, 0, "{name}: header padded to 64 bytes");
            let header = std::str::from_utf8(&data[10..10 + len]).unwrap();
            assert!(header.ends_with('\n'), "{name}");
            assert_eq!(
                header.trim_end(),
                format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"),
                "{name}"
            );
            assert_eq!(data.len() - 10 - len, data_len, "{name}");
        }
        // The data, decoded by hand: valid_row is [7, 2], test_pred [1, 0, 2], test_prob[0][1] ≈ 1.1/3.3.
        let payload = |i: usize| &found[i].1[found[i].1.len() - expect[i].2..];
        assert_eq!(payload(0), [7, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(payload(5), [1, 0, 0, 0, 2, 0]);
        let p01 = f16::from_le_bytes([payload(6)[2], payload(6)[3]]).to_f32();
        assert!((p01 - 1.1 / 3.3).abs() < 1e-3, "{p01}");
    }

    #[test]
    fn more_than_32767_classes_widen_the_labels_to_int32() {
        let p = Predictions {
            classes: 40_000,
            valid_row: vec![0],
            valid: SetPredictions { label: vec![39_999], predicted: vec![3], prob: vec![0.0; 40_000] },
            test: None,
        };
        let bytes = encode(&p).unwrap();
        let label = &entries(&bytes)[1].1;
        assert!(std::str::from_utf8(&label[10..74]).unwrap().contains("'<i4'"));
        assert_eq!(decode(&bytes).unwrap(), p);
    }

    /// Replaces entry `name` of the sample's zip by `data` (or drops it for `None`).
    fn with_entry(name: &str, data: Option<Vec<u8>>) -> Vec<u8> {
        let mut found = entries(&encode(&sample()).unwrap());
        let at = found.iter().position(|(n, _)| n == name).unwrap();
        match data {
            Some(d) => found[at].1 = d,
            None => {
                found.remove(at);
            }
        }
        zip_of(&found)
    }

    #[test]
    fn a_malformed_file_is_one_error_naming_the_file_and_the_fix() {
        let good = encode(&sample()).unwrap();
        let mut flipped_crc = good.clone();
        // A byte of the first entry's compressed data (after its local header, name and extra field).
        let data_start =
            30 + u16::from_le_bytes([good[26], good[27]]) as usize + u16::from_le_bytes([good[28], good[29]]) as usize;
        flipped_crc[data_start + 5] ^= 0x55;
        let mut many_entries = good.clone();
        let n = many_entries.len();
        many_entries[n - 12..n - 10].copy_from_slice(&60_000u16.to_le_bytes());
        // The first central directory entry claims 2 GiB once decompressed (a zip bomb's header).
        let mut bomb = good.clone();
        let directory = u32::from_le_bytes(good[n - 6..n - 2].try_into().unwrap()) as usize;
        bomb[directory + 24..directory + 28].copy_from_slice(&(2u32 << 30).to_le_bytes());
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("2 GiB declared", bomb, "more than the 1073741824 allowed for all arrays"),
            ("empty file", vec![], "too few for a zip"),
            ("truncated", good[..good.len() / 2].to_vec(), "zip directory record"),
            ("text", b"epoch,train_loss\n1,0.5\n".repeat(3), "zip directory record"),
            ("corrupted data", flipped_crc, "predictions file"),
            ("60000 entries declared", many_entries, "60000 entries"),
            ("no valid_prob", with_entry("valid_prob.npy", None), "no valid_prob.npy"),
            ("no valid_label", with_entry("valid_label.npy", None), "no valid_label.npy"),
            ("test_label without test_prob", with_entry("test_prob.npy", None), "no test_prob.npy"),
            ("not npy", with_entry("valid_pred.npy", Some(b"hello".to_vec())), "no \\x93NUMPY magic"),
            ("f64 probabilities", with_entry("valid_prob.npy", Some(npy_raw("<f8", "(2, 3)", 48))), "'<f8'"),
            ("labels as floats", with_entry("valid_label.npy", Some(npy("<f2", &[2], &[0; 4]))), "integers"),
            ("short data", with_entry("valid_prob.npy", Some(npy("<f2", &[2, 3], &[0; 10]))), "needs"),
            ("rows disagree", with_entry("valid_label.npy", Some(int_npy(&[0, 1, 2], Int::I16))), "2 rows"),
            ("label out of range", with_entry("test_label.npy", Some(int_npy(&[1, 3, 2], Int::I16))), "outside 0..=2"),
            ("negative label", with_entry("valid_pred.npy", Some(npy("<i2", &[2], &[0xFF; 4]))), "holds -1"),
            ("classes disagree", with_entry("test_prob.npy", Some(prob_npy(&[0.5; 6], 3, 2))), "2 classes"),
            ("NaN probability", with_entry("valid_prob.npy", Some(prob_npy(&[f32::NAN; 6], 2, 3))), "NaN"),
            ("probability 2", with_entry("valid_prob.npy", Some(prob_npy(&[2.0; 6], 2, 3))), "not a probability"),
            ("1-D probabilities", with_entry("valid_prob.npy", Some(npy("<f2", &[6], &[0; 12]))), "(rows, classes)"),
            ("fortran order", with_entry("valid_prob.npy", Some(fortran())), "fortran_order"),
            (
                "huge shape",
                with_entry("valid_prob.npy", Some(npy_raw("<f2", "(99999999999999, 99999999999)", 0))),
                "needs",
            ),
            ("bad header", with_entry("valid_prob.npy", Some(npy_raw("<f2", "[2, 3]", 12))), "not a tuple"),
        ];
        let dir = TempDir::new().unwrap();
        let path = dir.path().join(PREDICTIONS_FILE);
        for (case, bytes, why) in cases {
            std::fs::write(&path, &bytes).unwrap();
            let e = read(&path).expect_err(case).to_string();
            assert!(e.starts_with(&path.display().to_string()), "{case}: {e}");
            assert!(e.contains(why), "{case}: {e}");
            assert!(e.contains("pinniped rerun"), "{case}: {e}");
        }
    }

    /// A `.npy` with a hand-written header.
    fn npy_raw(descr: &str, shape: &str, data_len: usize) -> Vec<u8> {
        let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend(std::iter::repeat_n(0u8, data_len));
        out
    }

    fn fortran() -> Vec<u8> {
        let mut bytes = prob_npy(&[0.1; 6], 2, 3);
        let at = bytes.windows(5).position(|w| w == b"False").unwrap();
        bytes[at..at + 5].copy_from_slice(b"True ");
        bytes
    }

    /// Whatever a damaged file holds, reading it never panics: every truncation and every
    /// single corrupted byte of a real file is an error or (a changed probability, say) a
    /// file that still passes every check.
    #[test]
    fn no_truncation_or_corrupted_byte_panics_the_reader() {
        let good = encode(&sample()).unwrap();
        for len in 0..good.len() {
            assert!(decode(&good[..len]).is_err(), "truncated to {len} bytes");
        }
        for at in 0..good.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut bad = good.clone();
                bad[at] ^= flip;
                let _ = decode(&bad);
            }
        }
    }

    #[test]
    fn the_reader_refuses_what_is_not_a_plain_file_and_tells_a_missing_one_apart() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join(PREDICTIONS_FILE);
        assert!(read_if_present(&path).unwrap().is_none(), "absent");
        std::fs::create_dir(&path).unwrap();
        let e = read_if_present(&path).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
        std::fs::remove_dir(&path).unwrap();
        #[cfg(unix)]
        {
            let target = dir.path().join("elsewhere.npz");
            std::fs::write(&target, encode(&sample()).unwrap()).unwrap();
            std::os::unix::fs::symlink(&target, &path).unwrap();
            let e = read_if_present(&path).unwrap_err().to_string();
            assert!(e.contains("symlink"), "{e}");
        }
    }
}
