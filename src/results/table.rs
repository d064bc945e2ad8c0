//! Reading the CSV tables pinniped writes into a results directory: one opener (bounded,
//! never through a symlink, gzip when the name ends in `.gz`) and the cell rules every
//! reader shares. A missing or empty file is `Ok(None)`; a malformed one is an error
//! naming the file and line.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

pub type Reader = csv::Reader<Box<dyn Read>>;

/// Opens a CSV file with headers; `None` when it is absent or has no bytes at all.
pub fn open(path: &Path) -> Result<Option<Reader>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        Ok(m) if m.len() == 0 => return Ok(None),
        Ok(_) => {}
    }
    let file = super::diagnostics::open_table(path, crate::fsx::MAX_TABLE_BYTES)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(file)))
}

pub fn headers(reader: &mut Reader, path: &Path) -> Result<Vec<String>> {
    Ok(reader
        .headers()
        .with_context(|| format!("reading the header of {}", path.display()))?
        .iter()
        .map(str::to_owned)
        .collect())
}

/// An empty cell is `None` (set not evaluated); `NaN`/`inf` parse as themselves.
pub fn cell(rec: &csv::StringRecord, i: usize, path: &Path) -> Result<Option<f64>> {
    match rec.get(i).map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<f64>() {
            Ok(v) => Ok(Some(v)),
            Err(_) => {
                bail!("{}: line {}: `{s}` is not a number", path.display(), rec.position().map_or(0, |p| p.line()))
            }
        },
    }
}

/// A cell that must hold a non-negative integer (epoch, layer, node, count).
pub fn index(rec: &csv::StringRecord, i: usize, path: &Path) -> Result<usize> {
    match cell(rec, i, path)? {
        Some(v) if v >= 0.0 && v.fract() == 0.0 && v.is_finite() => Ok(v as usize),
        _ => bail!(
            "{}: line {}: column {} must be a non-negative integer",
            path.display(),
            rec.position().map_or(0, |p| p.line()),
            i + 1
        ),
    }
}

pub fn records(mut reader: Reader, path: &Path) -> impl Iterator<Item = Result<csv::StringRecord>> + '_ {
    let mut rec = csv::StringRecord::new();
    std::iter::from_fn(move || match reader.read_record(&mut rec) {
        Ok(true) => Some(Ok(rec.clone())),
        Ok(false) => None,
        Err(e) => Some(Err(e).with_context(|| format!("reading {}", path.display()))),
    })
}

/// A field as the csv crate quotes it (class labels may hold commas or quotes).
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
