//! aeon/sktime `.ts` files, the format of the UEA/UCR archives' `.ts` release.
//!
//! A header of `@tag value` lines (tags in any case, `#` lines are comments), then `@data`,
//! then one case per line: the channels separated by `:`, the values of a channel by `,`, and
//! the class label as the last `:`-field:
//!
//! ```text
//! @problemName Demo
//! @timeStamps false
//! @missing true
//! @univariate false
//! @dimensions 2
//! @equalLength false
//! @classLabel true up down
//! @data
//! 1.0,2.0,?:4.0,5.0,6.0:up
//! 7.0,8.0:9.0,NaN:down
//! ```
//!
//! [`parse`] keeps every case at its own length, with missing values (`?`, `NaN`) as NaN.
//! [`TsData::to_table`] applies the [`MissingPolicy`] and then the [`LengthPolicy`] and
//! flattens each case to one row: **channel 0's values, then channel 1's, …** (channels
//! concatenated per sample), so a row has `channels × length` values.
//!
//! The header's claims about the layout (`@dimensions`, `@univariate`, `@equalLength`,
//! `@seriesLength`) are checked against the data: a file that contradicts its own header is
//! refused at the first row that does, since either the header or the data is wrong (a cut
//! line looks like a short series). `@missing false` is not enforced: a `?` is unambiguous,
//! aeon accepts it too, and the [`MissingPolicy`] decides what happens to it.
//! Differences from aeon's `load_from_ts_file`: aeon lower-cases labels and ignores unknown
//! tags; here labels keep their declared case (a row's label matches its declaration in any
//! case, as in aeon) and an unknown tag is an error (usually a typo).

use std::path::{Path, PathBuf};

use super::source::Lines;
use super::{bad_value_message, labels, parse_value, BadValue, DataError, Problems, Table};
pub use crate::spec::reading::MAX_SERIES_LENGTH;
use crate::spec::reading::{LengthPolicy, MissingPolicy, TargetLength};

/// The tags of the format, as aeon writes them (matched case-insensitively).
const TAGS: &[&str] = &[
    "@problemName",
    "@timeStamps",
    "@missing",
    "@univariate",
    "@dimensions",
    "@equalLength",
    "@seriesLength",
    "@classLabel",
    "@targetLabel",
    "@data",
];

/// More channels than this is not a time series a small network can take.
pub(crate) const MAX_CHANNELS: usize = 100_000;

/// The most values one table may hold after a length policy (4 GB of `f64`).
pub(crate) const MAX_TABLE_VALUES: usize = 500_000_000;

/// One case: its channels back to back (`channels × length` values, NaN where missing).
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub line: usize,
    /// The length of every channel of this case.
    pub length: usize,
    pub values: Vec<f64>,
}

impl Case {
    fn channel(&self, c: usize) -> &[f64] {
        &self.values[c * self.length..(c + 1) * self.length]
    }
}

/// A `.ts` file as written: every case at its own length, missing values as NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct TsData {
    pub path: PathBuf,
    pub problem_name: Option<String>,
    /// The labels declared by `@classLabel`, in declaration order (the class order).
    pub classes: Vec<String>,
    pub channels: usize,
    pub cases: Vec<Case>,
    /// The class label of each case, spelt as declared.
    pub labels: Vec<String>,
    /// Line and column of the first missing value, if any.
    pub first_missing: Option<(usize, usize)>,
}

impl TsData {
    /// The shortest and longest series (cases always have at least one value).
    pub fn length_range(&self) -> (usize, usize) {
        let lengths = self.cases.iter().map(|c| c.length);
        (lengths.clone().min().unwrap_or(0), lengths.max().unwrap_or(0))
    }

    /// Applies `missing`, then `length` (to `target`, resolved on this file), and flattens
    /// each case to one row of `channels × length` values, channel after channel. With
    /// several files (train and test), resolve the target once, on the training file, with
    /// [`TsData::resolve`], and pass it to the others as [`TargetLength::Exactly`].
    pub fn to_table(
        self,
        missing: MissingPolicy,
        length: LengthPolicy,
        target: TargetLength,
    ) -> Result<Table, DataError> {
        let target = self.resolve(target);
        if let (MissingPolicy::Error, Some((line, col))) = (missing, self.first_missing) {
            return Err(at(
                &self.path,
                line,
                col,
                "missing value ('?' or NaN); set missing = \"interpolate\" or \"zero\" in the \
                 [data] table to fill missing values, or impute them before training",
            ));
        }
        let (shortest, longest) = self.length_range();
        if length == LengthPolicy::Error && shortest != longest {
            let first = &self.cases[0];
            let other = self.cases.iter().find(|c| c.length != first.length).unwrap_or(first);
            return Err(DataError::at(
                &self.path,
                other.line,
                format!(
                    "this series has {} values but the one on line {} has {} (unequal lengths); \
                     set length = \"pad\", \"truncate\" or \"resample\" in the [data] table \
                     (optionally with series_length = N) to equalise them, or use an equal-length \
                     copy of the data",
                    other.length, first.line, first.length
                ),
            ));
        }
        if target == 0 || target > MAX_SERIES_LENGTH {
            return Err(DataError::file(
                &self.path,
                format!("a series length of {target} is outside 1..={MAX_SERIES_LENGTH}; give a length in that range"),
            ));
        }
        let width = self.channels * target;
        let total = width.saturating_mul(self.cases.len());
        if total > MAX_TABLE_VALUES {
            return Err(DataError::file(
                &self.path,
                format!(
                    "{} cases of {} channels × {target} values would be {total} values, more than \
                     the supported {MAX_TABLE_VALUES}; choose a shorter target length",
                    self.cases.len(),
                    self.channels
                ),
            ));
        }
        let mut values = Vec::with_capacity(total);
        let mut lines = Vec::with_capacity(self.cases.len());
        for case in &self.cases {
            for c in 0..self.channels {
                let mut series = case.channel(c).to_vec();
                fill_missing(&mut series, missing)
                    .map_err(|why| DataError::at(&self.path, case.line, format!("channel {}: {why}", c + 1)))?;
                let fitted = fit_length(&series, target, length)
                    .map_err(|why| DataError::at(&self.path, case.line, format!("channel {}: {why}", c + 1)))?;
                values.extend_from_slice(&fitted);
            }
            lines.push(case.line);
        }
        Ok(Table {
            path: self.path,
            rows: lines.len(),
            cols: width,
            values,
            labels: self.labels,
            lines,
            declared_classes: Some(self.classes),
        })
    }

    /// The length every series is brought to.
    pub(crate) fn resolve(&self, target: TargetLength) -> usize {
        let (shortest, longest) = self.length_range();
        match target {
            TargetLength::Longest => longest,
            TargetLength::Shortest => shortest,
            TargetLength::Exactly(n) => n,
        }
    }
}

/// Replaces the NaNs of one series according to `policy`; the error says why it cannot.
pub(crate) fn fill_missing(series: &mut [f64], policy: MissingPolicy) -> Result<(), String> {
    let Some(first) = series.iter().position(|v| v.is_nan()) else {
        return Ok(());
    };
    match policy {
        MissingPolicy::Error => Err(format!("value {} is missing (missing = \"error\")", first + 1)),
        MissingPolicy::Zero => {
            series.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = 0.0);
            Ok(())
        }
        MissingPolicy::Interpolate => {
            let present: Vec<usize> = (0..series.len()).filter(|&i| !series[i].is_nan()).collect();
            let (Some(&lo), Some(&hi)) = (present.first(), present.last()) else {
                return Err(format!(
                    "all {} values are missing, so there is nothing to interpolate from (use \
                     missing = \"zero\" or drop the case)",
                    series.len()
                ));
            };
            let (start, end) = (series[lo], series[hi]);
            series[..lo].fill(start);
            series[hi + 1..].fill(end);
            for pair in present.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let (va, vb) = (series[a], series[b]);
                for (k, v) in series[a + 1..b].iter_mut().enumerate() {
                    let t = (k + 1) as f64 / (b - a) as f64;
                    *v = va + (vb - va) * t;
                }
            }
            Ok(())
        }
    }
}

/// One complete series brought to `target` values according to `policy`.
pub(crate) fn fit_length(series: &[f64], target: usize, policy: LengthPolicy) -> Result<Vec<f64>, String> {
    let n = series.len();
    if n == target {
        return Ok(series.to_vec());
    }
    if target == 0 || n == 0 {
        return Err(format!("cannot bring a series of {n} values to {target}"));
    }
    match policy {
        LengthPolicy::Error => Err(format!("the series has {n} values, not {target} (length = \"error\")")),
        LengthPolicy::Pad if n > target => Err(format!(
            "the series has {n} values, more than the target length {target}, so padding cannot \
             reach it (use length = \"truncate\" or \"resample\", or a longer series_length)"
        )),
        LengthPolicy::Pad => {
            let mut out = series.to_vec();
            out.resize(target, 0.0);
            Ok(out)
        }
        LengthPolicy::Truncate if n < target => Err(format!(
            "the series has {n} values, fewer than the target length {target}, so truncating \
             cannot reach it (use length = \"pad\" or \"resample\", or a shorter series_length)"
        )),
        LengthPolicy::Truncate => Ok(series[..target].to_vec()),
        LengthPolicy::Resample => Ok(resample(series, target)),
    }
}

/// `np.interp(linspace(0, 1, target), linspace(0, 1, n), series)`, computed on the index
/// scale so that the end points are exact.
fn resample(series: &[f64], target: usize) -> Vec<f64> {
    let n = series.len();
    if n == 1 {
        return vec![series[0]; target];
    }
    if target == 1 {
        return vec![series[0]];
    }
    let step = (n - 1) as f64 / (target - 1) as f64;
    (0..target)
        .map(|j| {
            let x = j as f64 * step;
            let i = (x.floor() as usize).min(n - 2);
            let t = x - i as f64;
            series[i] + (series[i + 1] - series[i]) * t
        })
        .collect()
}

/// An error at `line`, `col` (1-based, in characters).
fn at(path: &Path, line: usize, col: usize, message: impl std::fmt::Display) -> DataError {
    DataError::at(path, line, format!("column {col}: {message}"))
}

/// The 1-based character column of byte `offset` in `raw`.
fn column(raw: &str, offset: usize) -> usize {
    raw[..offset.min(raw.len())].chars().count() + 1
}

/// What the header says, with the line of each tag.
#[derive(Default)]
struct Header {
    seen: Vec<(&'static str, usize)>,
    problem_name: Option<String>,
    univariate: Option<(bool, usize)>,
    dimensions: Option<(usize, usize)>,
    equal_length: Option<bool>,
    series_length: Option<(usize, usize)>,
    classes: Option<Vec<String>>,
}

/// Reads a `.ts` file (gzip transparent) into cases at their own lengths, before any policy.
pub fn read(path: &Path) -> Result<TsData, DataError> {
    parse(&mut super::source::open(path)?)
}

/// Reads `.ts` lines into cases at their own lengths (see the module documentation).
pub(crate) fn parse(lines: &mut Lines) -> Result<TsData, DataError> {
    let path = lines.path().to_path_buf();
    let header = parse_header(lines, &path)?;
    let classes = header.classes.clone().unwrap_or_default();
    let class_line = header.seen.iter().find(|(t, _)| *t == "@classLabel").map_or(0, |&(_, l)| l);
    let mut channels = header.dimensions.map(|(d, _)| d).or(match header.univariate {
        Some((true, _)) => Some(1),
        _ => None,
    });
    let mut cases: Vec<Case> = Vec::new();
    let mut labels_out: Vec<String> = Vec::new();
    let mut first_missing = None;
    let mut last_line = 0;
    let mut problems = Problems::new(&path);

    while let Some((number, raw)) = lines.next_line()? {
        last_line = number;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        // One row's problems do not stop the read: every bad row is reported (up to a
        // limit), as the UCR and ARFF readers do.
        let row = (|| -> Result<(String, Case), DataError> {
            let indent = raw.len() - raw.trim_start().len();
            if trimmed.starts_with('@') {
                let tag = trimmed.split_ascii_whitespace().next().unwrap_or_default();
                return Err(at(
                    &path,
                    number,
                    column(raw, indent),
                    format!(
                        "header tag '{}' after @data; every tag belongs before the @data line",
                        labels::shorten(tag)
                    ),
                ));
            }
            let Some(colon) = raw.rfind(':') else {
                return Err(at(
                    &path,
                    number,
                    column(raw, indent),
                    "no ':' in this row; a row is the channels' values then ':' and the class \
                     label (e.g. 1.5,2.0,0.3:up)",
                ));
            };
            let after = &raw[colon + 1..];
            let label = after.trim();
            let label_col = column(raw, colon + 1 + after.len() - after.trim_start().len());
            if label.is_empty() {
                return Err(at(&path, number, label_col, "the class label after the last ':' is empty"));
            }
            // aeon lower-cases labels on both sides, so a label in another case than its
            // declaration is the same class; take the declared spelling.
            let declared = classes.iter().find(|c| *c == label).or_else(|| {
                let mut same = classes.iter().filter(|c| c.to_lowercase() == label.to_lowercase());
                same.next().filter(|_| same.next().is_none())
            });
            let Some(declared) = declared else {
                return Err(at(
                    &path,
                    number,
                    label_col,
                    format!(
                        "class label '{}' is not declared by @classLabel on line {class_line} ({}); \
                         add it to the declaration or fix the row",
                        labels::shorten(label),
                        labels::list(&classes)
                    ),
                ));
            };
            let label = declared.clone();
            let body = &raw[..colon];
            let row_channels = body.split(':').count();
            match channels {
                Some(expected) if expected != row_channels => {
                    let why = match (header.dimensions, header.univariate) {
                        (Some((_, line)), _) => format!("@dimensions on line {line} says {expected}"),
                        (None, Some((true, line))) => format!("@univariate true on line {line} says 1"),
                        _ => format!("the first row has {expected}"),
                    };
                    return Err(at(
                        &path,
                        number,
                        column(raw, indent),
                        format!(
                            "row has {row_channels} channels (':'-separated, before the label) but {why}; \
                             every case needs the same channels"
                        ),
                    ));
                }
                Some(_) => {}
                None if row_channels > MAX_CHANNELS => {
                    return Err(at(
                        &path,
                        number,
                        column(raw, indent),
                        format!("row has {row_channels} channels, more than the supported {MAX_CHANNELS}"),
                    ))
                }
                None => channels = Some(row_channels),
            }

            let mut values: Vec<f64> = Vec::with_capacity(cases.last().map_or(0, |c| c.values.len()));
            let mut length = 0;
            let mut offset = 0;
            for (c, channel) in body.split(':').enumerate() {
                let start = values.len();
                let mut field_offset = offset;
                for (i, field) in channel.split(',').enumerate() {
                    let text = field.trim();
                    // Columns and names are only worked out for an error: this loop is per value.
                    let value_offset = field_offset + field.len() - field.trim_start().len();
                    field_offset += field.len() + 1;
                    let col = || column(raw, value_offset);
                    let what = || format!("channel {}, value {}", c + 1, i + 1);
                    if text.is_empty() {
                        return Err(at(
                            &path,
                            number,
                            col(),
                            format!(
                                "{} is empty (two separators in a row, or a trailing comma?); write \
                                 '?' for a missing value",
                                what()
                            ),
                        ));
                    }
                    match parse_value(text) {
                        Ok(v) => values.push(v),
                        Err(BadValue::Missing) => {
                            if first_missing.is_none() {
                                first_missing = Some((number, col()));
                            }
                            values.push(f64::NAN);
                        }
                        Err(bad) => {
                            return Err(at(&path, number, col(), bad_value_message(bad, &what(), text, "")));
                        }
                    }
                }
                let got = values.len() - start;
                if c == 0 {
                    length = got;
                } else if got != length {
                    return Err(at(
                        &path,
                        number,
                        column(raw, offset),
                        format!(
                            "channel {} has {got} values but channel 1 has {length}; all channels of \
                             one case have the same length",
                            c + 1
                        ),
                    ));
                }
                offset += channel.len() + 1;
            }
            let declared = header.series_length.filter(|_| header.equal_length != Some(false));
            if let Some((n, line)) = declared {
                if length != n {
                    return Err(at(
                        &path,
                        number,
                        column(raw, indent),
                        format!(
                            "series has {length} values but @seriesLength on line {line} says {n}; fix \
                             the header (or declare @equalLength false)"
                        ),
                    ));
                }
            }
            if header.equal_length == Some(true) {
                if let Some(first) = cases.first().filter(|f| f.length != length) {
                    return Err(at(
                        &path,
                        number,
                        column(raw, indent),
                        format!(
                            "series has {length} values but the one on line {} has {} and the header \
                             says @equalLength true; declare @equalLength false or fix the row",
                            first.line, first.length
                        ),
                    ));
                }
            }
            Ok((label, Case { line: number, length, values }))
        })();
        match row {
            Ok((label, case)) => {
                labels_out.push(label);
                cases.push(case);
            }
            Err(e) => problems.push(e),
        }
    }
    if let Some(e) = problems.into_error() {
        return Err(e);
    }

    if cases.is_empty() {
        return Err(DataError::at(
            &path,
            last_line.max(1),
            "no data rows after @data (the file has a header only); add one case per line",
        ));
    }
    Ok(TsData {
        path,
        problem_name: header.problem_name,
        classes,
        channels: channels.unwrap_or(1),
        cases,
        labels: labels_out,
        first_missing,
    })
}

/// Reads the tags up to and including `@data`.
fn parse_header(lines: &mut Lines, path: &Path) -> Result<Header, DataError> {
    let mut header = Header::default();
    let mut last_line = 0;
    while let Some((number, raw)) = lines.next_line()? {
        last_line = number;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let tag_end = trimmed.find(|c: char| c.is_ascii_whitespace()).unwrap_or(trimmed.len());
        let written = &trimmed[..tag_end];
        let value_offset = indent + tag_end + (trimmed[tag_end..].len() - trimmed[tag_end..].trim_start().len());
        let values: Vec<&str> = trimmed[tag_end..].split_ascii_whitespace().collect();
        let value_col = column(raw, value_offset);
        let err = |col: usize, message: String| at(path, number, col, message);
        if !written.starts_with('@') {
            return Err(err(
                column(raw, indent),
                format!(
                    "'{}' before @data: the header has only @tags (and # comments), and the \
                     rows follow a line '@data'",
                    labels::shorten(trimmed)
                ),
            ));
        }
        let Some(&tag) = TAGS.iter().find(|t| t.eq_ignore_ascii_case(written)) else {
            // Tags match in any case, so compare (and suggest) in lower case.
            let known: Vec<String> = TAGS.iter().map(|t| t.to_ascii_lowercase()).collect();
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            let hint = crate::spec::problems::suggest(&written.to_ascii_lowercase(), &known);
            return Err(err(column(raw, indent), format!("unknown header tag '{}'{hint}", labels::shorten(written))));
        };
        if let Some(&(_, earlier)) = header.seen.iter().find(|(t, _)| *t == tag) {
            return Err(err(column(raw, indent), format!("{tag} is given twice (first on line {earlier}); keep one")));
        }
        header.seen.push((tag, number));
        let one = |what: &str| -> Result<&str, DataError> {
            match values.as_slice() {
                [v] => Ok(v),
                [] => Err(err(column(raw, indent), format!("{tag} needs {what}"))),
                [_, extra, ..] => {
                    let extra_offset = trimmed.rfind(extra).unwrap_or(0) + indent;
                    Err(err(
                        column(raw, extra_offset),
                        format!("{tag} takes only {what}, not '{}'", labels::shorten(extra)),
                    ))
                }
            }
        };
        let boolean = |text: &str| -> Result<bool, DataError> {
            match text.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(err(value_col, format!("{tag} must be true or false, not '{}'", labels::shorten(text)))),
            }
        };
        let count = |text: &str| -> Result<usize, DataError> {
            text.parse::<usize>().ok().filter(|&n| n >= 1).ok_or_else(|| {
                err(value_col, format!("{tag} must be a whole number of at least 1, not '{}'", labels::shorten(text)))
            })
        };
        match tag {
            "@data" => {
                if !values.is_empty() {
                    return Err(err(value_col, "@data takes no value; the rows start on the next line".to_string()));
                }
                return finish_header(header, path, number);
            }
            "@problemName" => header.problem_name = Some(one("a name")?.to_string()),
            "@timeStamps" => {
                if boolean(one("true or false")?)? {
                    return Err(err(
                        value_col,
                        "@timeStamps true (time-stamped values like (t, v)) is not supported; \
                         write the values only, equally spaced, with @timeStamps false"
                            .to_string(),
                    ));
                }
            }
            "@missing" => {
                boolean(one("true or false")?)?;
            }
            "@univariate" => header.univariate = Some((boolean(one("true or false")?)?, number)),
            "@equalLength" => header.equal_length = Some(boolean(one("true or false")?)?),
            "@dimensions" => {
                let n = count(one("the number of channels")?)?;
                if n > MAX_CHANNELS {
                    return Err(err(value_col, format!("@dimensions {n} is more than the supported {MAX_CHANNELS}")));
                }
                header.dimensions = Some((n, number));
            }
            "@seriesLength" => header.series_length = Some((count(one("the series length")?)?, number)),
            "@targetLabel" => {
                if boolean(one("true or false")?)? {
                    return Err(err(
                        value_col,
                        "@targetLabel true marks a regression problem (a numeric target); \
                         pinniped trains classifiers, which need @classLabel true and the labels"
                            .to_string(),
                    ));
                }
            }
            "@classLabel" => {
                let Some((first, declared)) = values.split_first() else {
                    return Err(err(
                        column(raw, indent),
                        "@classLabel needs true and the labels, e.g. @classLabel true a b".into(),
                    ));
                };
                if !boolean(first)? {
                    return Err(err(
                        value_col,
                        "@classLabel false: the cases have no class labels, and a classifier \
                         needs them; use a labelled copy of the data"
                            .to_string(),
                    ));
                }
                if declared.is_empty() {
                    return Err(err(
                        column(raw, indent),
                        "@classLabel true lists no labels; write them after it, e.g. @classLabel true a b".to_string(),
                    ));
                }
                let mut classes: Vec<String> = Vec::with_capacity(declared.len());
                for label in declared {
                    if classes.iter().any(|c| c == label) {
                        let col = column(raw, indent + trimmed.rfind(label).unwrap_or(0));
                        return Err(err(col, format!("@classLabel declares '{}' twice", labels::shorten(label))));
                    }
                    classes.push(label.to_string());
                }
                header.classes = Some(classes);
            }
            _ => unreachable!("every tag in TAGS is handled"),
        }
    }
    if last_line == 0 {
        return Err(DataError::file(
            path,
            "the file is empty; a .ts file has a header of @tags, an @data line, then one case per line",
        ));
    }
    Err(DataError::at(
        path,
        last_line,
        "the file ends before any @data line (is this a .ts file? expected @tags such as \
         @classLabel, then @data and the rows)",
    ))
}

/// Checks that need the whole header, reported at the `@data` line or the tag concerned.
fn finish_header(header: Header, path: &Path, data_line: usize) -> Result<Header, DataError> {
    if header.classes.is_none() {
        return Err(DataError::at(
            path,
            data_line,
            "no @classLabel tag before @data; declare the labels in class order, e.g. \
             @classLabel true a b c",
        ));
    }
    if let (Some((true, _)), Some((n, line))) = (header.univariate, header.dimensions) {
        if n != 1 {
            return Err(DataError::at(
                path,
                line,
                format!("@dimensions {n} contradicts @univariate true; a univariate series has 1 channel"),
            ));
        }
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_linear_inside_and_nearest_at_the_ends() {
        let mut s = [f64::NAN, 1.0, f64::NAN, f64::NAN, 4.0, f64::NAN];
        fill_missing(&mut s, MissingPolicy::Interpolate).unwrap();
        assert_eq!(s, [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        let mut s = [f64::NAN, f64::NAN];
        let m = fill_missing(&mut s, MissingPolicy::Interpolate).unwrap_err();
        assert!(m.contains("all 2 values are missing"), "{m}");
    }

    #[test]
    fn pad_and_truncate_only_go_one_way() {
        assert_eq!(fit_length(&[1.0, 2.0], 4, LengthPolicy::Pad).unwrap(), [1.0, 2.0, 0.0, 0.0]);
        assert_eq!(fit_length(&[1.0, 2.0, 3.0], 2, LengthPolicy::Truncate).unwrap(), [1.0, 2.0]);
        for (name, policy, target) in [
            ("pad shorter", LengthPolicy::Pad, 2),
            ("truncate longer", LengthPolicy::Truncate, 4),
            ("error", LengthPolicy::Error, 4),
        ] {
            assert!(fit_length(&[1.0, 2.0, 3.0], target, policy).is_err(), "{name}");
        }
        // Equal length is left alone by every policy.
        for policy in [LengthPolicy::Error, LengthPolicy::Pad, LengthPolicy::Truncate, LengthPolicy::Resample] {
            assert_eq!(fit_length(&[1.0, 2.0], 2, policy).unwrap(), [1.0, 2.0], "{policy:?}");
        }
    }

    #[test]
    fn policy_names_parse_and_unknown_names_list_the_choices() {
        assert_eq!("resample".parse::<LengthPolicy>(), Ok(LengthPolicy::Resample));
        assert_eq!("interpolate".parse::<MissingPolicy>(), Ok(MissingPolicy::Interpolate));
        assert!("stretch".parse::<LengthPolicy>().unwrap_err().contains("error, pad, truncate, resample"));
        assert!("mean".parse::<MissingPolicy>().unwrap_err().contains("error, interpolate, zero"));
    }

    #[test]
    fn resample_keeps_end_points_and_matches_np_interp() {
        // np.interp(np.linspace(0, 1, 5), np.linspace(0, 1, 3), [0, 10, 30]) = [0, 5, 10, 20, 30]
        assert_eq!(fit_length(&[0.0, 10.0, 30.0], 5, LengthPolicy::Resample).unwrap(), [0.0, 5.0, 10.0, 20.0, 30.0]);
        // Down: np.interp(np.linspace(0, 1, 3), np.linspace(0, 1, 5), [0, 1, 2, 3, 4]) = [0, 2, 4]
        assert_eq!(fit_length(&[0.0, 1.0, 2.0, 3.0, 4.0], 3, LengthPolicy::Resample).unwrap(), [0.0, 2.0, 4.0]);
        assert_eq!(fit_length(&[7.0], 3, LengthPolicy::Resample).unwrap(), [7.0, 7.0, 7.0]);
    }
}
