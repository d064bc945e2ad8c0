//! Published accuracies for `pinniped rank --reference FILE`: a CSV of per-dataset test
//! accuracies from the literature (the layout of aeon's and tsml-eval's results tables), one row
//! per dataset, one column per method:
//!
//! ```text
//! dataset,MLP,FCN,ResNet
//! GunPoint,0.928,1.0,0.9907
//! ```
//!
//! The first column holds the dataset names (its header may say anything); the other headers name
//! the methods. A cell is an accuracy in [0, 1], or empty (or `NaN`) where the method has no
//! result. Every malformed case is one error naming the file, line and column.

use std::path::{Path, PathBuf};

use crate::spec::InputError;

/// At most this many bytes are read from a published-results file (a table of 10,000 datasets
/// and 1,000 methods is about 60 MB; real ones are a few KB).
pub(crate) const MAX_PUBLISHED_BYTES: u64 = crate::fsx::MAX_TEXT_BYTES;
/// At most this many method columns.
pub(crate) const MAX_METHODS: usize = 1000;
/// At most this many dataset rows (as many as `pinniped rank` ranks directories).
pub(crate) const MAX_ROWS: usize = super::rank::MAX_DATASETS;

/// A parsed published-results file.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub path: PathBuf,
    /// Method names, in column order (the header's cells after the first).
    pub methods: Vec<String>,
    /// One row per dataset, in file order: its name and each method's accuracy (`None`: empty).
    pub rows: Vec<PublishedRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PublishedRow {
    pub dataset: String,
    pub accuracy: Vec<Option<f64>>,
    /// The file's line the row starts on (for messages).
    pub line: u64,
}

impl Published {
    /// The row of `dataset`, if the file has one.
    pub fn row(&self, dataset: &str) -> Option<&PublishedRow> {
        self.rows.iter().find(|r| r.dataset == dataset)
    }

    /// The file's name, as the diagram's legend and the tables name the source.
    pub fn source(&self) -> String {
        self.path.file_name().map_or_else(|| self.path.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}

/// Reads and checks a published-results file.
///
/// # Errors
/// An unreadable, oversized or malformed file: one input error naming the file (and the line and
/// column) and the fix.
pub(crate) fn read_published(path: &Path) -> Result<Published, InputError> {
    let bytes = crate::fsx::read_bounded(path, MAX_PUBLISHED_BYTES).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            ". --reference takes a CSV of published per-dataset accuracies (`dataset,<method>,…`); \
             to count wins, ties and losses against one of the ranked entries, give --against NAME"
        } else {
            ""
        };
        InputError::message(format!("--reference {}: cannot read it: {e}{hint}", path.display()))
    })?;
    parse_published(path, &bytes)
}

/// Parses the text of a published-results file read from `path`.
pub(crate) fn parse_published(path: &Path, bytes: &[u8]) -> Result<Published, InputError> {
    let file = path.display();
    let at = |line: u64, column: Option<usize>, message: String| {
        let column = column.map_or(String::new(), |c| format!(", column {c}"));
        InputError::message(format!("{file}: line {line}{column}: {message}"))
    };
    // A spreadsheet's byte-order mark is not part of the first header.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let mut records = reader.records();
    let line_of = |e: &csv::Error| e.position().map_or(1, csv::Position::line);
    let header = match records.next() {
        None => {
            return Err(InputError::message(format!(
                "{file}: empty; its first line names the columns: dataset,<method>,<method>,…"
            )))
        }
        Some(Err(e)) => return Err(at(line_of(&e), None, format!("not CSV text: {e}"))),
        Some(Ok(h)) => h,
    };
    if header.len() < 2 {
        return Err(at(
            1,
            None,
            "the header needs a dataset column and at least one method column, e.g. `dataset,MLP,FCN`".into(),
        ));
    }
    if header.len() - 1 > MAX_METHODS {
        return Err(at(1, None, format!("{} method columns: at most {MAX_METHODS} are read", header.len() - 1)));
    }
    let mut methods: Vec<String> = Vec::new();
    for (c, name) in header.iter().enumerate().skip(1) {
        if name.is_empty() {
            return Err(at(1, Some(c + 1), "empty method name: name each column after its method".into()));
        }
        if let Some(first) = methods.iter().position(|m| m == name) {
            return Err(at(
                1,
                Some(c + 1),
                format!("method `{name}` is also column {}; give each method one column", first + 2),
            ));
        }
        methods.push(name.to_string());
    }
    let mut rows: Vec<PublishedRow> = Vec::new();
    let mut lines = LineCounter::default();
    for record in records {
        let record = record.map_err(|e| at(line_of(&e), None, format!("not CSV text: {e}")))?;
        let line = lines.line_at(bytes, record.position().map_or(0, |p| p.byte() as usize));
        // A line of empty cells (a spreadsheet's trailing row) is no dataset.
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != header.len() {
            return Err(at(
                line,
                None,
                format!(
                    "{} cells, but the header has {}; give every dataset one cell per column",
                    record.len(),
                    header.len()
                ),
            ));
        }
        if rows.len() == MAX_ROWS {
            return Err(at(line, None, format!("more than {MAX_ROWS} dataset rows: at most {MAX_ROWS} are read")));
        }
        let dataset = &record[0];
        if dataset.is_empty() {
            return Err(at(line, Some(1), "no dataset name".into()));
        }
        if let Some(first) = rows.iter().find(|r| r.dataset == dataset) {
            return Err(at(
                line,
                Some(1),
                format!("dataset `{dataset}` is also on line {}; give each dataset one row", first.line),
            ));
        }
        let mut accuracy = Vec::with_capacity(methods.len());
        for (c, cell) in record.iter().enumerate().skip(1) {
            let method = &methods[c - 1];
            let value = if cell.is_empty() || cell.eq_ignore_ascii_case("nan") {
                None
            } else {
                let v: f64 = cell.parse().map_err(|_| {
                    at(
                        line,
                        Some(c + 1),
                        format!("`{cell}` ({method} on {dataset}) is not a number; give an accuracy in [0, 1], or leave the cell empty"),
                    )
                })?;
                if !(0.0..=1.0).contains(&v) {
                    let hint = if v > 1.0 && v <= 100.0 {
                        format!(" (a percentage? give {} for {cell}%)", super::csv_number(v / 100.0))
                    } else {
                        String::new()
                    };
                    return Err(at(
                        line,
                        Some(c + 1),
                        format!("{cell} ({method} on {dataset}) is not an accuracy in [0, 1]{hint}"),
                    ));
                }
                Some(v)
            };
            accuracy.push(value);
        }
        rows.push(PublishedRow { dataset: dataset.to_string(), accuracy, line });
    }
    if rows.is_empty() {
        return Err(InputError::message(format!(
            "{file}: no dataset rows after the header; give one row per dataset: <name>,<accuracy>,…"
        )));
    }
    Ok(Published { path: path.to_path_buf(), methods, rows })
}

/// Line numbers of records from their byte offsets: the csv crate's own count is that of the
/// blank lines before a record, not of the record.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: u64,
}

impl LineCounter {
    /// The 1-based line of the first character at or after `start` that ends no line (offsets
    /// only grow, so the whole file is scanned once).
    fn line_at(&mut self, bytes: &[u8], start: usize) -> u64 {
        let skip = bytes.get(start..).map_or(0, |rest| rest.iter().take_while(|b| matches!(b, b'\n' | b'\r')).count());
        let to = (start + skip).min(bytes.len()).max(self.offset);
        self.newlines += bytes[self.offset..to].iter().filter(|&&b| b == b'\n').count() as u64;
        self.offset = to;
        self.newlines + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Published, String> {
        parse_published(Path::new("pub.csv"), text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_results_table_parses_with_empty_cells_as_no_value() {
        let p = parse("\u{feff}dataset, MLP ,FCN\nGunPoint,0.928,1.0\n\nArrowHead,,0.8434\nOSULeaf,NaN,1e-1\n,,\n")
            .unwrap();
        assert_eq!(p.methods, ["MLP", "FCN"]);
        let got: Vec<(&str, &[Option<f64>], u64)> =
            p.rows.iter().map(|r| (r.dataset.as_str(), r.accuracy.as_slice(), r.line)).collect();
        assert_eq!(
            got,
            [
                ("GunPoint", &[Some(0.928), Some(1.0)][..], 2),
                ("ArrowHead", &[None, Some(0.8434)][..], 4),
                ("OSULeaf", &[None, Some(0.1)][..], 5),
            ]
        );
        assert_eq!(p.row("ArrowHead").unwrap().line, 4);
        assert!(p.row("Coffee").is_none());
        assert_eq!(p.source(), "pub.csv");
        // Any first header (tsml-eval writes `Estimators:`, dl-4-tsc nothing).
        assert_eq!(parse(",MLP\nGunPoint,0.5\n").unwrap().rows.len(), 1);
    }

    #[test]
    fn the_shipped_fawaz2019_table_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/published/fawaz2019.csv");
        let p = read_published(&path).unwrap();
        assert_eq!(p.methods, ["MLP", "FCN", "ResNet"]);
        assert_eq!(p.rows.len(), 7);
        assert!(p.rows.iter().all(|r| r.accuracy.iter().all(Option::is_some)));
    }

    #[test]
    fn each_malformed_file_is_refused_with_its_line_and_column() {
        for (case, text, needle) in [
            ("empty", "", "pub.csv: empty"),
            ("header only", "dataset,MLP\n", "no dataset rows"),
            ("one column", "dataset\nGunPoint\n", "line 1: the header needs a dataset column"),
            ("empty method", "dataset,MLP,,FCN\nA,1,1,1\n", "line 1, column 3: empty method name"),
            ("duplicate method", "dataset,MLP,MLP\nA,1,1\n", "line 1, column 3: method `MLP` is also column 2"),
            ("ragged row", "dataset,MLP,FCN\nA,0.5,0.6\nB,0.5\n", "line 3: 2 cells, but the header has 3"),
            ("no dataset name", "dataset,MLP\n,0.5\n", "line 2, column 1: no dataset name"),
            (
                "duplicate dataset",
                "dataset,MLP\nA,0.5\nB,0.6\nA,0.7\n",
                "line 4, column 1: dataset `A` is also on line 2",
            ),
            ("not a number", "dataset,MLP,FCN\nA,0.5,high\n", "line 2, column 3: `high` (FCN on A) is not a number"),
            (
                "a percentage",
                "dataset,MLP\nA,97.6\n",
                "line 2, column 2: 97.6 (MLP on A) is not an accuracy in [0, 1] (a percentage? give 0.976",
            ),
            ("negative", "dataset,MLP\nA,-0.1\n", "line 2, column 2: -0.1 (MLP on A) is not an accuracy"),
            ("infinite", "dataset,MLP\nA,inf\n", "line 2, column 2: inf (MLP on A) is not an accuracy"),
            ("not UTF-8", "dataset,MLP\nA,0.5\n\u{0}B,0.5\n", "line 3: not CSV text"),
        ] {
            let bytes: Vec<u8> = if case == "not UTF-8" {
                let mut b = text.as_bytes().to_vec();
                let at = b.iter().position(|&c| c == 0).unwrap();
                b[at] = 0xFF;
                b
            } else {
                text.as_bytes().to_vec()
            };
            let e = parse_published(Path::new("pub.csv"), &bytes).map(|_| ()).expect_err(case).to_string();
            assert!(e.contains(needle), "{case}: {e}");
            assert!(e.starts_with("pub.csv"), "{case}: names the file: {e}");
        }
        let wide = format!("dataset{}\n", ",m".repeat(MAX_METHODS + 1));
        assert!(parse(&wide).unwrap_err().contains("at most 1000"), "too many methods");
        let long = format!("dataset,m\n{}", (0..=MAX_ROWS).map(|i| format!("d{i},0.5\n")).collect::<String>());
        assert!(parse(&long).unwrap_err().contains(&format!("line {}: more than", MAX_ROWS + 2)), "too many rows");
    }

    #[test]
    fn a_missing_file_says_what_reference_takes_and_points_to_against() {
        let e = read_published(Path::new("baseline")).unwrap_err().to_string();
        assert!(e.contains("--reference baseline: cannot read it") && e.contains("--against"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = read_published(dir.path()).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
    }
}
