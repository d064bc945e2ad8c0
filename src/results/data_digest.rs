//! `data.sha256`: the digest of the data a results directory's runs were trained on — one
//! line for a sweep's one dataset, or one `<digest>  <dataset>` line per dataset (as
//! `sha256sum` lists files) for several. Its format, writer and reader.

use super::atomic::write_atomic;
use super::layout::DATA_DIGEST_FILE;
use std::path::Path;

/// The digest of a multi-dataset sweep from each dataset's (name, digest).
pub(crate) fn of_datasets(named: &[(String, String)]) -> String {
    named.iter().map(|(name, digest)| format!("{digest}  {name}")).collect::<Vec<_>>().join("\n")
}

/// The (dataset, digest) pairs of an [`of_datasets`] digest; empty for a single dataset's.
pub fn per_dataset(text: &str) -> Vec<(&str, &str)> {
    text.lines().filter_map(|l| l.trim().split_once("  ").map(|(d, n)| (n, d))).collect()
}

/// Writes `root/data.sha256`.
pub fn write(root: &Path, digest: &str) -> std::io::Result<()> {
    write_atomic(&root.join(DATA_DIGEST_FILE), format!("{digest}\n").as_bytes())
}

/// The digest stored in `root` (without its newline); `None` when there is none to read (a
/// directory made before digests were stored).
pub fn read(root: &Path) -> Option<String> {
    crate::fsx::read_text(&root.join(DATA_DIGEST_FILE), crate::fsx::MAX_TEXT_BYTES).ok().map(|d| d.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_reads_back_as_written_and_per_dataset() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), None);
        let named = [("GunPoint".to_string(), "aa11".to_string()), ("Coffee".to_string(), "bb22".to_string())];
        let digest = of_datasets(&named);
        write(dir.path(), &digest).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(DATA_DIGEST_FILE)).unwrap(),
            "aa11  GunPoint\nbb22  Coffee\n"
        );
        assert_eq!(read(dir.path()).as_deref(), Some(digest.as_str()));
        assert_eq!(per_dataset(&digest), [("GunPoint", "aa11"), ("Coffee", "bb22")]);
        assert!(per_dataset("aa11").is_empty(), "one dataset's digest names none");
    }
}
