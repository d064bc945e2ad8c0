//! Reading UCR time-series data (UCR `.tsv`/`.txt` and ARFF, optionally gzip-compressed) into
//! dense row-major `f64` matrices with integer class labels, plus per-row preprocessing.
//!
//! Layers: [`source`] turns a file into numbered text lines (gzip is transparent);
//! [`ucr`] and [`arff`] turn lines into a [`Table`] (raw labels, as written);
//! [`labels`] fixes the class order and maps labels to indices, giving a [`Dataset`].
//! Every failure is a [`DataError`] whose message is one line naming the file (and line).

mod arff;
mod labels;
pub(crate) mod preprocess;
mod source;
pub mod split;
pub mod ts;
mod ucr;

use std::io;
use std::path::{Path, PathBuf};

pub(crate) use labels::class_order;
pub(crate) use preprocess::{minmax_rows, normalize_rows};
// How a file is read is chosen by `[data]` keys, so spec owns these types; data applies them.
pub use crate::spec::reading::{Format, LengthPolicy, MissingPolicy, SeriesPolicy, TargetLength};

/// Everything that can go wrong reading data. Each message is one line that names the file
/// (and the line, where there is one), says what is wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: cannot read the file: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },

    #[error(
        "{}: the name ends in .gz but the file is not gzip-compressed (no 1f 8b magic bytes); \
         re-download it, or drop the .gz suffix if it is plain text",
        .path.display()
    )]
    NotGzip { path: PathBuf },

    #[error(
        "{}:{line}: gzip data is truncated or corrupt ({source}); re-download the file or check \
         that the copy finished",
        .path.display()
    )]
    Gzip { path: PathBuf, line: usize, source: io::Error },

    /// A problem at a specific line of a file.
    #[error("{}:{line}: {message}", .path.display())]
    Line { path: PathBuf, line: usize, message: String },

    /// A problem with a file as a whole (empty, a single class, wrong width for a model).
    #[error("{}: {message}", .path.display())]
    File { path: PathBuf, message: String },

    #[error(
        "{}: rows have {test_cols} values but the training file {} has {train_cols} \
         (train and test series must have the same length)",
        .test.display(), .train.display()
    )]
    WidthMismatch { train: PathBuf, train_cols: usize, test: PathBuf, test_cols: usize },

    /// A limit set in the environment that is not a number (the message names it).
    #[error("{0}")]
    Setting(String),

    /// Several problems in one file: the first [`MAX_REPORTED`], one per line, and how many
    /// more there are.
    #[error("{}", many_message(.path, .problems, *.more))]
    Many { path: PathBuf, problems: Vec<DataError>, more: usize },
}

/// Problems of one data file reported together; the rest are counted.
pub const MAX_REPORTED: usize = 20;

fn many_message(path: &Path, problems: &[DataError], more: usize) -> String {
    let mut text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    if more > 0 {
        text.push(format!("… and {more} more problems"));
    }
    text.push(format!("({} problems in {}; fix them and run again)", problems.len() + more, path.display()));
    text.join("\n")
}

/// Collects the problems of a file's rows so that one read reports them all (up to
/// [`MAX_REPORTED`]), as sweep files do.
pub(crate) struct Problems {
    path: PathBuf,
    found: Vec<DataError>,
    more: usize,
}

impl Problems {
    pub(crate) fn new(path: &Path) -> Self {
        Problems { path: path.to_path_buf(), found: Vec::new(), more: 0 }
    }

    pub(crate) fn push(&mut self, e: DataError) {
        if self.found.len() < MAX_REPORTED {
            self.found.push(e);
        } else {
            self.more += 1;
        }
    }

    /// A problem that ends the read (I/O, limits), after those found so far.
    pub(crate) fn fatal(mut self, e: DataError) -> DataError {
        if self.found.is_empty() {
            return e;
        }
        self.found.push(e);
        self.into_error().expect("not empty")
    }

    /// `None` when the file had no problems; a single problem stays itself.
    pub(crate) fn into_error(mut self) -> Option<DataError> {
        match (self.found.len(), self.more) {
            (0, _) => None,
            (1, 0) => self.found.pop(),
            _ => Some(DataError::Many { path: self.path, problems: self.found, more: self.more }),
        }
    }
}

impl DataError {
    pub(crate) fn at(path: &Path, line: usize, message: impl Into<String>) -> DataError {
        DataError::Line { path: path.to_path_buf(), line, message: message.into() }
    }

    pub(crate) fn file(path: &Path, message: impl Into<String>) -> DataError {
        DataError::File { path: path.to_path_buf(), message: message.into() }
    }

    /// The 1-based line the error points at (the first problem's), if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            DataError::Gzip { line, .. } | DataError::Line { line, .. } => Some(*line),
            DataError::Many { problems, .. } => problems.first().and_then(DataError::line),
            _ => None,
        }
    }
}

/// One file as read: values and raw labels, before any class mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub path: PathBuf,
    pub rows: usize,
    pub cols: usize,
    /// Row-major, `rows * cols`.
    pub values: Vec<f64>,
    /// The class label of each row as written (trimmed, ARFF quotes removed).
    pub labels: Vec<String>,
    /// The 1-based source line of each row, so later checks can point at it.
    pub lines: Vec<usize>,
    /// ARFF: the class attribute's nominal values in declaration order. `None` for UCR.
    pub declared_classes: Option<Vec<String>>,
}

/// Rows of one split with class indices into [`Dataset::classes`].
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Row-major, `rows * cols` where `cols` is the dataset's.
    pub x: Vec<f64>,
    pub y: Vec<u32>,
    pub rows: usize,
}

/// A training file and an optional test file sharing one class mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Class names; index `i` is class `i` in `y`.
    pub classes: Vec<String>,
    pub cols: usize,
    /// The length of each series (of each channel) after the length policy.
    pub series_length: usize,
    pub train: Split,
    pub test: Option<Split>,
    pub(crate) train_path: PathBuf,
    pub(crate) test_path: Option<PathBuf>,
}

impl Dataset {
    /// The channels each row holds back to back (`cols / series_length`; 1 for a univariate
    /// series and for ARFF attribute tables).
    pub fn channels(&self) -> usize {
        channels_of(self.cols, Some(self.series_length))
    }
}

/// The channels in a row of `cols` values whose series (each channel) have `series_length`
/// values; 1 where the length is unknown (checkpoints older than the length policies) or does
/// not divide the row.
pub(crate) fn channels_of(cols: usize, series_length: Option<usize>) -> usize {
    match series_length {
        Some(n) if n > 0 && cols.is_multiple_of(n) => cols / n,
        _ => 1,
    }
}

/// Reads one file with the default policies (unequal lengths and missing values refused).
/// `format: None` guesses from the name ([`Format::guess`]); `class_attribute` picks the ARFF
/// class attribute by name (default: the last one) and is an error for UCR files, which have
/// no attribute names.
pub fn read_table(path: &Path, format: Option<Format>, class_attribute: Option<&str>) -> Result<Table, DataError> {
    let policy = SeriesPolicy::default();
    read_fitted(path, format, class_attribute, &policy, policy.target()).map(|(table, _)| table)
}

/// Reads one file and applies `policy`, bringing its series to `target`. Returns the table and
/// the length each series (each channel) now has, to fit other files to the same length.
pub(crate) fn read_fitted(
    path: &Path,
    format: Option<Format>,
    class_attribute: Option<&str>,
    policy: &SeriesPolicy,
    target: TargetLength,
) -> Result<(Table, usize), DataError> {
    let format = format.unwrap_or_else(|| Format::guess(path));
    let mut lines = source::open(path)?;
    parse_lines(&mut lines, format, class_attribute, policy, target)
}

fn parse_lines(
    lines: &mut source::Lines,
    format: Format,
    class_attribute: Option<&str>,
    policy: &SeriesPolicy,
    target: TargetLength,
) -> Result<(Table, usize), DataError> {
    let fixed_label = match format {
        Format::Ucr => Some("a UCR file, whose class label is always the first field"),
        Format::Ts => Some("a .ts file, whose class label is always the last ':'-field"),
        Format::Arff => None,
    };
    if let (Some(name), Some(fixed_label)) = (class_attribute, fixed_label) {
        return Err(DataError::file(
            lines.path(),
            format!(
                "a class attribute ('{name}') was given, but this is {fixed_label}; drop the \
                 class attribute setting or use an ARFF file"
            ),
        ));
    }
    match format {
        Format::Ucr => ucr::parse(lines, policy, target),
        // ARFF rows are attributes, not series: the policies do not apply (a `?` stays refused).
        Format::Arff => arff::parse(lines, class_attribute).map(|t| {
            let cols = t.cols;
            (t, cols)
        }),
        Format::Ts => {
            let data = ts::parse(lines)?;
            let length = data.resolve(target);
            Ok((data.to_table(policy.missing, policy.length, TargetLength::Exactly(length))?, length))
        }
    }
}

/// Loads a training file and optionally a test file with the default policies.
pub fn load_dataset(
    train: &Path,
    test: Option<&Path>,
    format: Option<Format>,
    class_attribute: Option<&str>,
) -> Result<Dataset, DataError> {
    load_dataset_with(train, test, format, class_attribute, &SeriesPolicy::default())
}

/// Loads a training file and optionally a test file, applying `policy` to both: the test
/// file's series are brought to the length the training file's were. Class indices follow
/// [`class_order`] of the training file, and the test file is mapped onto the same classes.
pub(crate) fn load_dataset_with(
    train: &Path,
    test: Option<&Path>,
    format: Option<Format>,
    class_attribute: Option<&str>,
    policy: &SeriesPolicy,
) -> Result<Dataset, DataError> {
    let (train_table, series_length) = read_fitted(train, format, class_attribute, policy, policy.target())?;
    labels::require_two_classes(&train_table)?;
    let classes = class_order(&train_table);
    let cols = train_table.cols;
    let train_split = labels::to_split(train_table, &classes, |label, line| {
        // Unreachable for well-formed tables (the classes come from this very file), but
        // kept as an error rather than a panic.
        DataError::at(train, line, format!("class label '{label}' has no class index"))
    })?;

    let test_split = match test {
        None => None,
        Some(test_path) => {
            // Fitted to the training length; with length = "error", checked against it below.
            let fitted = SeriesPolicy { series_length: Some(series_length), ..*policy };
            let (test_table, _) = read_fitted(test_path, format, class_attribute, &fitted, fitted.target())?;
            if test_table.cols != cols {
                return Err(DataError::WidthMismatch {
                    train: train.to_path_buf(),
                    train_cols: cols,
                    test: test_path.to_path_buf(),
                    test_cols: test_table.cols,
                });
            }
            let split = labels::to_split(test_table, &classes, |label, line| {
                DataError::at(
                    test_path,
                    line,
                    format!(
                        "class label '{}' does not occur in the training file {} (training \
                         classes: {}); every test class must be known from training",
                        labels::shorten(label),
                        train.display(),
                        labels::list(&classes)
                    ),
                )
            })?;
            Some(split)
        }
    };

    Ok(Dataset {
        classes,
        cols,
        series_length,
        train: train_split,
        test: test_split,
        train_path: train.to_path_buf(),
        test_path: test.map(Path::to_path_buf),
    })
}

/// Reads a file for evaluation against a saved model: `policy` is the model's (its
/// `series_length` the training file's fitted length), labels are mapped onto the model's
/// `classes` and the row width must equal the model's `cols`.
pub(crate) fn load_with_classes(
    path: &Path,
    format: Option<Format>,
    class_attribute: Option<&str>,
    policy: &SeriesPolicy,
    classes: &[String],
    cols: usize,
) -> Result<Split, DataError> {
    let (table, _) = read_fitted(path, format, class_attribute, policy, policy.target())?;
    if table.cols != cols {
        return Err(DataError::file(
            path,
            format!(
                "rows have {} values but the model was trained on series of {cols} values \
                 (evaluate it on data of the same length)",
                table.cols
            ),
        ));
    }
    labels::to_split(table, classes, |label, line| {
        DataError::at(
            path,
            line,
            format!(
                "class label '{}' is not one of the model's {} classes ({})",
                labels::shorten(label),
                classes.len(),
                labels::list(classes)
            ),
        )
    })
}

/// Why a value field did not give a usable number.
pub(crate) enum BadValue {
    /// Empty, `?` or NaN.
    Missing,
    Infinite,
    NotANumber,
}

/// Parses one (already trimmed) value field, rejecting anything that is not a finite number.
pub(crate) fn parse_value(text: &str) -> Result<f64, BadValue> {
    if text.is_empty() || text == "?" {
        return Err(BadValue::Missing);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_nan() => Err(BadValue::Missing),
        Ok(v) if v.is_infinite() => Err(BadValue::Infinite),
        Ok(v) => Ok(v),
        Err(_) => Err(BadValue::NotANumber),
    }
}

/// The message for a bad value in field `field` (1-based; `what` names it, e.g.
/// "field 5" or "field 5 (attribute 'att4')"); `missing_hint` explains the missing case.
pub(crate) fn bad_value_message(bad: BadValue, what: &str, text: &str, missing_hint: &str) -> String {
    let shown = labels::shorten(text);
    match bad {
        BadValue::Missing => format!("missing value in {what} ('{shown}') ({missing_hint})"),
        BadValue::Infinite => {
            format!("{what} is infinite ('{shown}'); every value must be a finite number")
        }
        BadValue::NotANumber => {
            format!("{what} is not a number: '{shown}' (values must be decimal numbers such as -0.25 or 1e-3)")
        }
    }
}

/// Helpers shared by the tests of this module's files.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    /// Writes `content` to `dir/name` and returns the path.
    pub(crate) fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).expect("write fixture");
        path
    }

    pub(crate) fn gzip(content: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(content).expect("gzip");
        enc.finish().expect("gzip")
    }

    /// The error message of a failed read, asserting it mentions `name` (and `line`).
    pub(crate) fn err_text<T: std::fmt::Debug>(
        result: Result<T, super::DataError>,
        name: &str,
        line: Option<usize>,
    ) -> String {
        let err = result.expect_err("expected an error");
        let text = err.to_string();
        assert!(text.contains(name), "message lacks file name {name}: {text}");
        if let Some(line) = line {
            assert!(text.contains(&format!("{name}:{line}:")), "message lacks {name}:{line}: {text}");
            assert_eq!(err.line(), Some(line), "{text}");
        }
        assert!(!text.contains('\n'), "message is not one line: {text}");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{err_text, gzip, write};
    use super::*;
    use tempfile::TempDir;

    const TSV: &str = "2\t1\t2\t3\n10\t4\t5\t6\n-1\t7\t8\t9\n2\t0\t0\t1\n";

    #[test]
    fn format_parse_display_guess() {
        assert_eq!("ucr".parse::<Format>().unwrap(), Format::Ucr);
        assert_eq!("TSV".parse::<Format>().unwrap(), Format::Ucr);
        assert_eq!(" arff ".parse::<Format>().unwrap(), Format::Arff);
        let m = "csv".parse::<Format>().unwrap_err().to_string();
        assert!(m.contains("'csv'") && m.contains("arff"), "{m}");
        assert_eq!(Format::Ucr.to_string(), "ucr");
        assert_eq!(Format::Arff.to_string(), "arff");
        for (name, f) in [
            ("a/X_TRAIN.arff", Format::Arff),
            ("X_TRAIN.ARFF.GZ", Format::Arff),
            ("X_TRAIN.tsv.gz", Format::Ucr),
            ("X_TRAIN.txt", Format::Ucr),
            ("X_TRAIN", Format::Ucr),
        ] {
            assert_eq!(Format::guess(Path::new(name)), f, "{name}");
        }
    }

    #[test]
    fn gzip_is_transparent_and_detected_by_magic() {
        let dir = TempDir::new().unwrap();
        let plain = read_table(&write(dir.path(), "p.tsv", TSV.as_bytes()), None, None).unwrap();
        let gz = read_table(&write(dir.path(), "g.tsv.gz", &gzip(TSV.as_bytes())), None, None).unwrap();
        // Compressed but not named .gz: still read.
        let hidden = read_table(&write(dir.path(), "h.tsv", &gzip(TSV.as_bytes())), None, None).unwrap();
        assert_eq!(plain.values, gz.values);
        assert_eq!(plain.values, hidden.values);
        assert_eq!(plain.labels, gz.labels);
        assert_eq!(plain.lines, gz.lines);
        // Concatenated gzip members are one stream.
        let mut two = gzip(b"1\t1\t2\n");
        two.extend(gzip(b"2\t3\t4\n"));
        let t = read_table(&write(dir.path(), "m.tsv.gz", &two), None, None).unwrap();
        assert_eq!(t.labels, ["1", "2"]);
    }

    #[test]
    fn gz_name_on_plain_text() {
        let dir = TempDir::new().unwrap();
        let path = write(dir.path(), "x.tsv.gz", TSV.as_bytes());
        let m = err_text(read_table(&path, None, None), "x.tsv.gz", None);
        assert!(m.contains("not gzip-compressed"), "{m}");
        let path = write(dir.path(), "empty.tsv.gz", b"");
        let m = err_text(read_table(&path, None, None), "empty.tsv.gz", None);
        assert!(m.contains("not gzip-compressed"), "{m}");
    }

    #[test]
    fn truncated_gzip() {
        let dir = TempDir::new().unwrap();
        let mut big = String::new();
        for i in 0..2000 {
            big.push_str(&format!("{}\t{}\t{}\t{}\n", i % 3, i, i * 7 % 13, i as f64 / 3.0));
        }
        let gz = gzip(big.as_bytes());
        for cut in [gz.len() / 2, gz.len() - 4, 12] {
            let path = write(dir.path(), "t.tsv.gz", &gz[..cut]);
            let err = read_table(&path, None, None).unwrap_err();
            let m = err.to_string();
            assert!(m.contains("t.tsv.gz:"), "{m}");
            assert!(m.contains("truncated or corrupt"), "cut {cut}: {m}");
            assert!(matches!(err, DataError::Gzip { .. }), "{m}");
        }
    }

    #[test]
    fn binary_file_is_rejected() {
        let dir = TempDir::new().unwrap();
        let path = write(dir.path(), "b.tsv", b"1\t2\t3\n1\t\xff\xfe\t3\n");
        let m = err_text(read_table(&path, None, None), "b.tsv", Some(2));
        assert!(m.contains("UTF-8"), "{m}");
    }

    #[test]
    fn missing_file() {
        let m = err_text(read_table(Path::new("nope/none.tsv"), None, None), "none.tsv", None);
        assert!(m.contains("cannot read"), "{m}");
    }

    #[test]
    fn dataset_shares_train_class_order() {
        let dir = TempDir::new().unwrap();
        let train = write(dir.path(), "tr.tsv", TSV.as_bytes());
        let test = write(dir.path(), "te.tsv", b"10,0,0,0\n-1,1,1,1\n");
        let d = load_dataset(&train, Some(&test), None, None).unwrap();
        assert_eq!(d.classes, ["-1", "2", "10"]);
        assert_eq!(d.cols, 3);
        assert_eq!(d.train.y, [1, 2, 0, 1]);
        assert_eq!(d.train.rows, 4);
        assert_eq!(d.train.x.len(), 12);
        let t = d.test.unwrap();
        assert_eq!(t.y, [2, 0]);
        assert_eq!(t.x, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        assert_eq!(d.train_path, train);
        assert_eq!(d.test_path, Some(test));
    }

    #[test]
    fn test_labels_match_training_classes_by_number_not_spelling() {
        let dir = TempDir::new().unwrap();
        let train = write(dir.path(), "tr.tsv", b"1.0\t1\t2\n2.0\t3\t4\n1\t5\t6\n");
        let test = write(dir.path(), "te.tsv", b"1\t0\t0\n+2e0\t1\t1\n2\t2\t2\n");
        let d = load_dataset(&train, Some(&test), None, None).unwrap();
        assert_eq!(d.classes, ["1.0", "2.0"], "one class per number, named by its first spelling");
        assert_eq!(d.train.y, [0, 1, 0]);
        assert_eq!(d.test.unwrap().y, [0, 1, 1]);
        let m = err_text(
            load_dataset(&train, Some(&write(dir.path(), "u.tsv", b"3\t0\t0\n")), None, None),
            "u.tsv",
            Some(1),
        );
        assert!(m.contains("class label '3'"), "{m}");
    }

    #[test]
    fn dataset_without_test() {
        let dir = TempDir::new().unwrap();
        let train = write(dir.path(), "tr.tsv", TSV.as_bytes());
        let d = load_dataset(&train, None, None, None).unwrap();
        assert!(d.test.is_none() && d.test_path.is_none());
    }

    #[test]
    fn unseen_test_label() {
        let dir = TempDir::new().unwrap();
        let train = write(dir.path(), "tr.tsv", TSV.as_bytes());
        let test = write(dir.path(), "te.tsv", b"2\t1\t1\t1\n\n7\t1\t1\t1\n");
        let m = err_text(load_dataset(&train, Some(&test), None, None), "te.tsv", Some(3));
        assert!(m.contains("class label '7'"), "{m}");
        assert!(m.contains("tr.tsv"), "{m}");
    }

    #[test]
    fn different_widths() {
        let dir = TempDir::new().unwrap();
        let train = write(dir.path(), "tr.tsv", TSV.as_bytes());
        let test = write(dir.path(), "te.tsv", b"2\t1\t1\n");
        let m = err_text(load_dataset(&train, Some(&test), None, None), "te.tsv", None);
        assert!(m.contains("tr.tsv"), "{m}");
        assert!(m.contains("rows have 2 values") && m.contains("has 3"), "{m}");
    }

    #[test]
    fn single_class_training_file() {
        let dir = TempDir::new().unwrap();
        let train = write(dir.path(), "one.tsv", b"a\t1\t2\na\t3\t4\n");
        let m = err_text(load_dataset(&train, None, None, None), "one.tsv", None);
        assert!(m.contains("at least two classes"), "{m}");
        assert!(m.contains("'a'"), "{m}");
    }

    #[test]
    fn arff_dataset_uses_declared_order() {
        let dir = TempDir::new().unwrap();
        let header = "@relation r\n@attribute x numeric\n@attribute c {z, y, x}\n@data\n";
        let train = write(dir.path(), "tr.arff", format!("{header}1,x\n2,z\n").as_bytes());
        let test = write(dir.path(), "te.arff", format!("{header}3,y\n").as_bytes());
        let d = load_dataset(&train, Some(&test), None, None).unwrap();
        assert_eq!(d.classes, ["z", "y", "x"]);
        assert_eq!(d.train.y, [2, 0]);
        assert_eq!(d.test.unwrap().y, [1]);
    }

    #[test]
    fn load_with_model_classes() {
        let dir = TempDir::new().unwrap();
        let path = write(dir.path(), "e.tsv", b"b 1 2\na 3 4\n");
        let classes: Vec<String> = vec!["a".into(), "b".into()];
        let s = load_with_classes(&path, None, None, &SeriesPolicy::default(), &classes, 2).unwrap();
        assert_eq!(s.y, [1, 0]);
        assert_eq!(s.x, [1.0, 2.0, 3.0, 4.0]);
        let m = err_text(load_with_classes(&path, None, None, &SeriesPolicy::default(), &classes, 3), "e.tsv", None);
        assert!(m.contains("rows have 2 values") && m.contains("3"), "{m}");
        let path = write(dir.path(), "u.tsv", b"a 1 2\nc 3 4\n");
        let m = err_text(load_with_classes(&path, None, None, &SeriesPolicy::default(), &classes, 2), "u.tsv", Some(2));
        assert!(m.contains("'c'") && m.contains("a, b"), "{m}");
    }

    /// A deterministic xorshift64*, so the fuzz test needs no extra crates and is repeatable.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// Every parser on `bytes` (plain and as a `.gz` name); only checks that nothing panics.
    fn parse_all(bytes: &[u8]) {
        // The default refuses what the policies below fill, pad, truncate or resample.
        let fitting = SeriesPolicy {
            length: LengthPolicy::Resample,
            missing: MissingPolicy::Interpolate,
            series_length: Some(3),
        };
        for name in ["f.tsv", "f.arff", "f.tsv.gz"] {
            for (format, policy) in
                [Format::Ucr, Format::Arff].into_iter().flat_map(|f| [(f, SeriesPolicy::default()), (f, fitting)])
            {
                for class in [None, Some("c")] {
                    let result = source::decode(
                        Path::new(name),
                        std::io::Cursor::new(bytes.to_vec()),
                        source::Limits::default(),
                    )
                    .and_then(|mut lines| parse_lines(&mut lines, format, class, &policy, policy.target()));
                    if let Err(e) = result {
                        let _ = e.to_string();
                    }
                }
            }
        }
    }

    #[test]
    fn fuzz_parsers_never_panic() {
        let arff = "@relation r % c\n@attribute 'a b' numeric\n@attribute x real\n\
                    @attribute c {p, 'q r', \"s\"}\n@data\n1,2,p\n-3e2,'4','q r' % x\n5,6,\"s\"\n";
        let seeds: Vec<Vec<u8>> =
            vec![TSV.as_bytes().to_vec(), arff.as_bytes().to_vec(), gzip(TSV.as_bytes()), gzip(arff.as_bytes())];
        // Every prefix of every seed.
        for seed in &seeds {
            for cut in 0..=seed.len() {
                parse_all(&seed[..cut]);
            }
        }
        let alphabet = b"0123456789.,-+eE \t\n\r?%'\"{}@aAnNiIfdtrs\\\x1f\x8b\xff";
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            // Random mutations of a seed...
            let mut bytes = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[at] = alphabet[rng.below(alphabet.len())],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, alphabet[rng.below(alphabet.len())]),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            parse_all(&bytes);
            // ...and pure noise.
            let len = rng.below(64);
            let noise: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
            parse_all(&noise);
            let raw: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            parse_all(&raw);
        }
    }

    fn real(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
    }

    /// The UCR archive's ARFF rendering of a shipped Phoneme TSV, written gzipped into `dir`: the same
    /// value texts, label moved last, a numeric attribute per column and the class declared 1..39. For
    /// both Phoneme files it is byte-identical to the archive's own `.arff` (checked by digest below),
    /// so the repository needs to ship only the TSV pair.
    fn phoneme_arff_from_tsv(tsv: &Path, dir: &Path, name: &str) -> (PathBuf, String) {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(tsv).unwrap()).read_to_string(&mut text).unwrap();
        let mut arff = String::from("@relation Phoneme\n\n");
        (1..=1024).for_each(|i| arff.push_str(&format!("@attribute att{i} numeric\n")));
        let classes: Vec<String> = (1..=39).map(|i| i.to_string()).collect();
        arff.push_str(&format!("@attribute target {{{}}}\n\n@data\n", classes.join(",")));
        for line in text.lines() {
            let (label, values) = line.split_once('\t').expect("a TSV row has a label and values");
            arff.push_str(&values.replace('\t', ","));
            arff.push(',');
            arff.push_str(label);
            arff.push('\n');
        }
        let digest = Sha256::digest(arff.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        (write(dir, name, &gzip(arff.as_bytes())), digest)
    }

    #[test]
    fn real_phoneme_tsv_and_arff_agree() {
        let tsv_train = real("data/phoneme/Phoneme_TRAIN.tsv.gz");
        let tsv_test = real("data/phoneme/Phoneme_TEST.tsv.gz");
        let dir = TempDir::new().unwrap();
        let (arff_train, train_digest) = phoneme_arff_from_tsv(&tsv_train, dir.path(), "Phoneme_TRAIN.arff.gz");
        let (arff_test, test_digest) = phoneme_arff_from_tsv(&tsv_test, dir.path(), "Phoneme_TEST.arff.gz");
        // SHA-256 of the UCR archive's uncompressed Phoneme_{TRAIN,TEST}.arff: the ARFF read below is the real one.
        assert_eq!(train_digest, "05b52a1faaaec59aa37d6fc2202e100defcda0ade12ac0ead0f848dedcd9171b");
        assert_eq!(test_digest, "f269ac4c7cc6e0cdbaf9401ff6ff27d962dffcd1bbbdb786c8c1d5184bd416d9");

        let tsv = load_dataset(&tsv_train, Some(&tsv_test), None, None).unwrap();
        let arff = load_dataset(&arff_train, Some(&arff_test), None, None).unwrap();

        assert_eq!(tsv.cols, 1024);
        assert_eq!(tsv.train.rows, 214);
        assert_eq!(tsv.train.x.len(), 214 * 1024);
        let tsv_test_split = tsv.test.as_ref().unwrap();
        assert_eq!(tsv_test_split.rows, 1896);
        assert_eq!(tsv_test_split.x.len(), 1896 * 1024);
        assert_eq!(tsv.classes.len(), 39);
        let expected: Vec<String> = (1..=39).map(|i| i.to_string()).collect();
        assert_eq!(tsv.classes, expected, "numeric order 1..39");
        assert_eq!(arff.classes, expected, "declared order 1..39");
        assert_eq!(arff.cols, 1024);
        // Same numbers, same labels, in the same order.
        assert_eq!(tsv.train, arff.train);
        assert_eq!(tsv.test, arff.test);
        // A known value: the first row starts 0.2226389, -0.13749154 with label 1.
        assert_eq!(&tsv.train.x[..2], &[0.2226389, -0.13749154]);
        assert_eq!(tsv.train.y[0], 0);
        // All 39 classes occur in training.
        let mut seen = [false; 39];
        tsv.train.y.iter().for_each(|&y| seen[y as usize] = true);
        assert!(seen.iter().all(|&s| s));

        let t = read_table(&tsv_train, None, None).unwrap();
        assert_eq!(t.lines, (1..=214).collect::<Vec<_>>());
        assert_eq!(t.declared_classes, None);
        let a = read_table(&arff_train, None, None).unwrap();
        assert_eq!(a.lines[0], 1030);
        assert_eq!(a.declared_classes.as_ref().map(Vec::len), Some(39));
        assert_eq!(a.labels, t.labels);
    }
}
