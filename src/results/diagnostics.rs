//! A run's per-node diagnostics tables (`weights`, `activations`, `confusion-<set>`): their
//! names, the gzip-compressed CSV they are written as, and the reader that opens either that
//! or the plain `.csv` of results directories made before (pandas reads both directly:
//! `pd.read_csv("weights.csv.gz")`).
//!
//! Why gzip CSV: on the paper grid it shrinks `weights.csv` 2.7× and `activations.csv` 6.8×
//! (BENCHMARKS.md, "Bytes per run"), keeps the files self-describing text that every tool
//! reads, and needs no new dependency (flate2 is already the data readers'). A columnar
//! binary format (Parquet through arrow) would save more on the floats but pulls in a
//! large dependency tree for files that the summaries never read.

use super::atomic::write_atomic;
use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Per node and epoch: ‖Δw‖ and the angle change of the node's incoming weights.
pub(crate) const WEIGHTS: &str = "weights";
/// Per hidden node and epoch: the activation histogram's counts.
pub(crate) const ACTIVATIONS: &str = "activations";

/// `confusion-<set>`: the stem of a set's confusion matrices.
pub(crate) fn confusion_stem(set: &str) -> String {
    format!("confusion-{set}")
}

/// The name a table is written under: `<stem>.csv.gz`.
pub fn file_name(stem: &str) -> String {
    format!("{stem}.csv.gz")
}

/// Whether `name` (a file directly in a run directory) is a diagnostics table, compressed
/// or in the plain form of older directories.
pub(crate) fn is_table_name(name: &str) -> bool {
    let stem = name.strip_suffix(".csv.gz").or_else(|| name.strip_suffix(".csv"));
    stem.is_some_and(|s| {
        s == WEIGHTS
            || s == ACTIVATIONS
            || s == super::cams::CAMS
            || crate::data::split::Split::ALL.iter().any(|set| s == confusion_stem(set.name()))
    })
}

/// Writes `csv` (the table's text) as `dir/<stem>.csv.gz`, atomically. The gzip header
/// carries no name and no time, so the same table is the same bytes on every run.
/// Level 1: on a paper run's weights table it is 6× faster than the default level 6 for
/// 8% more bytes (measured with gzip -1/-6); level 6 had cost 8% of the whole run.
pub(crate) fn write_table(dir: &Path, stem: &str, csv: &str) -> io::Result<()> {
    let mut gz: GzEncoder<Vec<u8>> = GzBuilder::new().mtime(0).write(Vec::new(), Compression::fast());
    gz.write_all(csv.as_bytes())?;
    write_atomic(&dir.join(file_name(stem)), &gz.finish()?)
}

/// The file holding table `stem` in `run_dir`: `<stem>.csv.gz`, else the plain
/// `<stem>.csv` of an older directory; `None` when neither exists.
pub(crate) fn table_path(run_dir: &Path, stem: &str) -> Option<PathBuf> {
    [file_name(stem), format!("{stem}.csv")]
        .into_iter()
        .map(|name| run_dir.join(name))
        .find(|path| std::fs::symlink_metadata(path).is_ok())
}

/// Opens a table written by pinniped (never through a symlink), decompressing a `.gz`,
/// and never yielding more than `limit` bytes of text: past it, reading fails naming the
/// bound (a gzip bomb planted in a results directory cannot exhaust memory).
pub(crate) fn open_table(path: &Path, limit: u64) -> io::Result<Box<dyn Read>> {
    let file = crate::fsx::open_own(path)?;
    let gzipped = path.extension().is_some_and(|e| e == "gz");
    let inner: Box<dyn Read> = if gzipped { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    Ok(Box::new(Bounded { inner, left: limit, limit }))
}

/// A reader that fails once more than `limit` bytes have come through.
struct Bounded {
    inner: Box<dyn Read>,
    left: u64,
    limit: u64,
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte more than allowed tells a file exactly at the bound from a larger one.
        let want = buf.len().min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("more than the {} bytes pinniped reads from a table of this kind", self.limit),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(path: &Path, limit: u64) -> io::Result<String> {
        let mut text = String::new();
        open_table(path, limit)?.read_to_string(&mut text)?;
        Ok(text)
    }

    #[test]
    fn tables_round_trip_compressed_and_are_the_same_bytes_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "epoch,layer,node,dnorm,dtheta\n1,0,0,0.5,0.25\n".repeat(100);
        write_table(dir.path(), WEIGHTS, &csv).unwrap();
        let path = table_path(dir.path(), WEIGHTS).unwrap();
        assert!(path.ends_with("weights.csv.gz"));
        let first = std::fs::read(&path).unwrap();
        assert!(first.len() < csv.len() / 10, "compressed: {} of {} bytes", first.len(), csv.len());
        assert_eq!(read_all(&path, 1 << 20).unwrap(), csv);
        write_table(dir.path(), WEIGHTS, &csv).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), first, "no time or name in the gzip header");
    }

    #[test]
    fn plain_tables_of_older_directories_are_found_and_read() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(table_path(dir.path(), ACTIVATIONS), None);
        std::fs::write(dir.path().join("activations.csv"), "epoch,layer,node\n").unwrap();
        let path = table_path(dir.path(), ACTIVATIONS).unwrap();
        assert_eq!(read_all(&path, 100).unwrap(), "epoch,layer,node\n");
    }

    #[test]
    fn reading_past_the_bound_fails_and_a_symlink_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        write_table(dir.path(), WEIGHTS, &"x".repeat(1000)).unwrap();
        let path = dir.path().join("weights.csv.gz");
        assert_eq!(read_all(&path, 1000).unwrap().len(), 1000);
        let e = read_all(&path, 999).unwrap_err().to_string();
        assert!(e.contains("999 bytes"), "{e}");
        let link = dir.path().join("confusion-test.csv.gz");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(open_table(&link, 1 << 20).is_err());
    }

    #[test]
    fn table_names() {
        for name in
            ["weights.csv.gz", "weights.csv", "activations.csv.gz", "confusion-valid.csv.gz", "confusion-test.csv"]
        {
            assert!(is_table_name(name), "{name}");
        }
        for name in ["metrics.csv", "confusion-mine.csv", "weights.csv.bak", "weights.gz"] {
            assert!(!is_table_name(name), "{name}");
        }
    }
}
