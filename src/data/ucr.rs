//! UCR archive text files: one series per line, the class label first, then the values.
//!
//! The archive's current release uses tabs, older copies commas or runs of spaces; the
//! separator is detected once per file from its first row so that an empty field between two
//! separators can be reported instead of silently skipped.

use super::source::Lines;
use super::ts::{Case, TsData};
use super::{bad_value_message, labels, parse_value, BadValue, DataError, Problems, SeriesPolicy, Table};
use super::{LengthPolicy, MissingPolicy, TargetLength};

const MISSING_HINT: &str = "fill missing values with missing = \"interpolate\" or \"zero\" in the [data] \
                            table; UCR pads variable-length series with trailing NaN: equalise them with \
                            length = \"pad\", \"truncate\" or \"resample\", or give equal-length series";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Separator {
    Comma,
    Tab,
    /// Any run of spaces and tabs.
    Whitespace,
}

impl Separator {
    fn detect(line: &str) -> Separator {
        if line.contains(',') {
            Separator::Comma
        } else if line.contains('\t') && !line.contains(' ') {
            // Pure tabs: the current archive layout, where an empty field is worth reporting.
            Separator::Tab
        } else {
            Separator::Whitespace
        }
    }
}

/// Calls `f` with each field of a trimmed line; stops at the first error.
fn for_each_field(
    line: &str,
    sep: Separator,
    mut f: impl FnMut(&str) -> Result<(), DataError>,
) -> Result<(), DataError> {
    match sep {
        Separator::Comma => line.split(',').try_for_each(|s| f(s.trim())),
        Separator::Tab => line.split('\t').try_for_each(|s| f(s.trim())),
        Separator::Whitespace => line.split_ascii_whitespace().try_for_each(f),
    }
}

/// Reads a UCR file and applies `policy`: trailing NaNs are a variable-length series' padding,
/// interior ones are missing values. Returns the table and the length every series now has
/// (`target` resolved on this file).
pub(crate) fn parse(
    lines: &mut Lines,
    policy: &SeriesPolicy,
    target: TargetLength,
) -> Result<(Table, usize), DataError> {
    let path = lines.path().to_path_buf();
    let mut sep = None;
    let mut cases: Vec<Case> = Vec::new();
    let mut labels_out: Vec<String> = Vec::new();
    let mut problems = Problems::new(&path);
    let mut stored = 0usize;

    loop {
        let (number, raw) = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => return Err(problems.fatal(e)),
        };
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let sep = *sep.get_or_insert_with(|| Separator::detect(line));
        let mut values: Vec<f64> = Vec::with_capacity(cases.first().map_or(0, |c| c.length));
        let mut label = None;
        // The field number and text of the first missing value, and of the first of the
        // latest run of missing values (the padding, when the row ends with it).
        let mut first_missing: Option<(usize, usize, String)> = None;
        let mut run_start: Option<(usize, String)> = None;
        let mut field = 0usize;
        let row = (|| {
            for_each_field(line, sep, |text| {
                field += 1;
                if field == 1 {
                    if text.is_empty() {
                        return Err(DataError::at(
                            &path,
                            number,
                            "field 1 (the class label) is empty; every row must start with its label",
                        ));
                    }
                    label = Some(text.to_string());
                    return Ok(());
                }
                match parse_value(text) {
                    Ok(v) => {
                        values.push(v);
                        run_start = None;
                    }
                    Err(BadValue::Missing) => {
                        if first_missing.is_none() {
                            first_missing = Some((values.len(), field, text.to_string()));
                        }
                        run_start.get_or_insert_with(|| (field, text.to_string()));
                        values.push(f64::NAN);
                    }
                    Err(bad) => {
                        return Err(DataError::at(
                            &path,
                            number,
                            bad_value_message(bad, &format!("field {field}"), text, MISSING_HINT),
                        ))
                    }
                }
                Ok(())
            })?;
            if values.is_empty() {
                return Err(DataError::at(
                    &path,
                    number,
                    format!(
                        "row has a class label ('{}') but no values; expected the label followed by \
                         the series values",
                        labels::shorten(line)
                    ),
                ));
            }
            // The series ends at its last present value; NaNs after it are padding.
            let length = values.iter().rposition(|v| !v.is_nan()).map_or(0, |i| i + 1);
            let missing = |field: usize, text: &str| {
                DataError::at(
                    &path,
                    number,
                    bad_value_message(BadValue::Missing, &format!("field {field}"), text, MISSING_HINT),
                )
            };
            match (&first_missing, &run_start) {
                (Some((index, field, text)), _) if *index < length && policy.missing == MissingPolicy::Error => {
                    return Err(missing(*field, text))
                }
                (_, Some((field, text))) if length < values.len() && policy.length == LengthPolicy::Error => {
                    return Err(missing(*field, text))
                }
                _ => {}
            }
            if length == 0 {
                return Err(DataError::at(
                    &path,
                    number,
                    "every value of this row is missing, so it has no series; drop the row",
                ));
            }
            if let (LengthPolicy::Error, Some(first)) = (policy.length, cases.first()) {
                if values.len() != first.length {
                    return Err(DataError::at(
                        &path,
                        number,
                        format!(
                            "row has {} values but earlier rows have {} (ragged rows; every row must \
                             have the same number of values, or set length = \"pad\", \"truncate\" or \
                             \"resample\" in the [data] table)",
                            values.len(),
                            first.length
                        ),
                    ));
                }
            }
            values.truncate(length);
            Ok(())
        })();
        match row {
            Ok(()) => {
                stored += values.len();
                values.shrink_to_fit();
                cases.push(Case { line: number, length: values.len(), values });
                labels_out.push(label.expect("a row with values has a label"));
                if let Err(e) = lines.check_table(stored, cases.len()) {
                    return Err(problems.fatal(e));
                }
            }
            // Report the row and go on to the next, so one read shows every problem.
            Err(e) => problems.push(e),
        }
    }
    if let Some(e) = problems.into_error() {
        return Err(e);
    }
    if cases.is_empty() {
        return Err(DataError::file(
            &path,
            "no data rows (the file is empty or has only blank lines); expected one series \
             per line, the class label first",
        ));
    }
    let data = TsData {
        path,
        problem_name: None,
        classes: Vec::new(),
        channels: 1,
        cases,
        labels: labels_out,
        first_missing: None,
    };
    let length = data.resolve(target);
    let mut table = data.to_table(policy.missing, policy.length, TargetLength::Exactly(length))?;
    // UCR declares no classes: their order comes from the labels.
    table.declared_classes = None;
    Ok((table, length))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{err_text, write};
    use super::super::{read_table, Format};
    use tempfile::TempDir;

    fn read(content: &str) -> (TempDir, Result<super::Table, super::DataError>) {
        let dir = TempDir::new().unwrap();
        let path = write(dir.path(), "d.tsv", content.as_bytes());
        let result = read_table(&path, Some(Format::Ucr), None);
        (dir, result)
    }

    #[test]
    fn tab_separated_with_blank_lines_and_crlf() {
        let (_d, t) = read("\n1\t0.5\t-1\t2e-3\r\n\n  \n-1\t1\t2\t3\n");
        let t = t.unwrap();
        assert_eq!((t.rows, t.cols), (2, 3));
        assert_eq!(t.values, [0.5, -1.0, 2e-3, 1.0, 2.0, 3.0]);
        assert_eq!(t.labels, ["1", "-1"]);
        assert_eq!(t.lines, [2, 5]);
        assert_eq!(t.declared_classes, None);
    }

    #[test]
    fn trailing_tab_is_tolerated() {
        let (_d, t) = read("1\t0.5\t1\t\n2\t3\t4\n");
        assert_eq!(t.unwrap().values, [0.5, 1.0, 3.0, 4.0]);
    }

    #[test]
    fn comma_separated_with_spaces() {
        let (_d, t) = read("a, 1, 2\nb ,3 , 4\n");
        let t = t.unwrap();
        assert_eq!(t.values, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.labels, ["a", "b"]);
    }

    #[test]
    fn whitespace_separated_with_runs() {
        // The layout of old UCR .txt files.
        let (_d, t) = read("   1.0000000e+00   -7.5e-01  \t 2\n2.0000000e+00 3 4\n");
        let t = t.unwrap();
        assert_eq!(t.values, [-0.75, 2.0, 3.0, 4.0]);
        assert_eq!(t.labels, ["1.0000000e+00", "2.0000000e+00"]);
    }

    #[test]
    fn ragged_rows() {
        let (_d, r) = read("1\t1\t2\t3\n2\t1\t2\t3\n\n1\t1\t2\n");
        let m = err_text(r, "d.tsv", Some(4));
        assert!(m.contains("row has 2 values but earlier rows have 3"), "{m}");
        assert!(m.contains("ragged"), "{m}");
    }

    #[test]
    fn non_numeric_names_field_and_truncates_text() {
        let (_d, r) = read("1\t1\t2\n1\t1\tabcdefghijklmnopqrstuvwxyz\n");
        let m = err_text(r, "d.tsv", Some(2));
        assert!(m.contains("field 3"), "{m}");
        assert!(m.contains("abcdefghijklmnopqrst…"), "{m}");
        assert!(!m.contains("uvwxyz"), "{m}");
    }

    #[test]
    fn nan_and_question_mark_and_empty_are_missing() {
        for (row, field) in [("1\t1\tNaN", 3), ("1\tnan\t2", 2), ("1\t?\t2", 2), ("1\t\t2", 2), ("1\t1\tNAN", 3)] {
            let (_d, r) = read(&format!("1\t1\t2\n{row}\n"));
            let m = err_text(r, "d.tsv", Some(2));
            assert!(m.contains("missing value"), "{m}");
            assert!(m.contains(&format!("field {field}")), "{m}");
            assert!(m.contains("equal-length series"), "{m}");
        }
        let (_d, r) = read("1,1,2\n1,1,\n");
        let m = err_text(r, "d.tsv", Some(2));
        assert!(m.contains("missing value in field 3"), "{m}");
    }

    fn read_with(content: &str, policy: super::SeriesPolicy) -> Result<(super::Table, usize), super::DataError> {
        let dir = TempDir::new().unwrap();
        let path = write(dir.path(), "d.tsv", content.as_bytes());
        super::super::read_fitted(&path, Some(Format::Ucr), None, &policy, policy.target())
    }

    fn policy(length: &str, missing: &str, series_length: Option<usize>) -> super::SeriesPolicy {
        super::SeriesPolicy { length: length.parse().unwrap(), missing: missing.parse().unwrap(), series_length }
    }

    #[test]
    fn trailing_nan_is_padding_and_interior_nan_is_missing() {
        // Row 1 has 4 values, row 2 has 2 then NaN padding, row 3 an interior `?`.
        let text = "1\t1\t2\t3\t4\n2\t5\t7\tNaN\tNaN\n1\t1\t?\t3\t5\n";
        let (t, length) = read_with(text, policy("pad", "interpolate", None)).unwrap();
        assert_eq!((t.rows, t.cols, length), (3, 4, 4));
        assert_eq!(t.values, [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 0.0, 0.0, 1.0, 2.0, 3.0, 5.0]);
        assert_eq!(t.declared_classes, None, "UCR classes come from the labels");
        let (t, length) = read_with(text, policy("truncate", "zero", None)).unwrap();
        assert_eq!((t.cols, length), (2, 2), "the shortest series is the padded one, without its NaNs");
        assert_eq!(t.values, [1.0, 2.0, 5.0, 7.0, 1.0, 0.0]);
        let (t, _) = read_with(text, policy("resample", "zero", Some(3))).unwrap();
        assert_eq!(t.values, [1.0, 2.5, 4.0, 5.0, 6.0, 7.0, 1.0, 1.5, 5.0]);
        // A length policy alone leaves the interior `?` refused, naming its field and the key.
        let m = err_text(read_with(text, policy("pad", "error", None)).map(|(t, _)| t), "d.tsv", Some(3));
        assert!(m.contains("missing value in field 3") && m.contains("missing = "), "{m}");
        // Without a length policy the padding is refused as before, naming the length key.
        let m = err_text(read_with(text, policy("error", "interpolate", None)).map(|(t, _)| t), "d.tsv", Some(2));
        assert!(m.contains("missing value in field 4") && m.contains("length = "), "{m}");
    }

    #[test]
    fn rows_of_different_widths_are_unequal_lengths_under_a_length_policy() {
        let (t, _) = read_with("1 1 2 3\n2 4 5\n", policy("pad", "error", None)).unwrap();
        assert_eq!(t.values, [1.0, 2.0, 3.0, 4.0, 5.0, 0.0]);
        let m =
            err_text(read_with("1 1 2 3\n2 4 5\n", policy("error", "error", None)).map(|(t, _)| t), "d.tsv", Some(2));
        assert!(m.contains("ragged rows") && m.contains("length = "), "{m}");
        let m =
            err_text(read_with("1 1 2\n2 NaN NaN\n", policy("pad", "zero", None)).map(|(t, _)| t), "d.tsv", Some(2));
        assert!(m.contains("every value of this row is missing"), "{m}");
    }

    #[test]
    fn infinite_value() {
        let (_d, r) = read("1 1 inf\n");
        let m = err_text(r, "d.tsv", Some(1));
        assert!(m.contains("infinite"), "{m}");
    }

    #[test]
    fn empty_and_blank_files() {
        for content in ["", "\n\n  \n\t\n"] {
            let (_d, r) = read(content);
            let m = err_text(r, "d.tsv", None);
            assert!(m.contains("no data rows"), "{m}");
        }
    }

    #[test]
    fn label_without_values() {
        let (_d, r) = read("\n7\n");
        let m = err_text(r, "d.tsv", Some(2));
        assert!(m.contains("no values"), "{m}");
    }

    #[test]
    fn empty_label() {
        let (_d, r) = read(",1,2\n");
        let m = err_text(r, "d.tsv", Some(1));
        assert!(m.contains("class label"), "{m}");
    }

    #[test]
    fn every_bad_row_is_reported_up_to_the_limit() {
        // Rows 2, 4 and 5 are bad in three different ways; all three are named.
        let (_d, r) = read("1\t1\t2\n1\tx\t2\n2\t3\t4\n2\t3\n1\t?\t1\n");
        let err = r.unwrap_err();
        let m = err.to_string();
        assert_eq!(err.line(), Some(2), "{m}");
        for want in ["d.tsv:2: field 2 is not a number", "d.tsv:4: row has 1 values", "d.tsv:5: missing value"] {
            assert!(m.contains(want), "lacks `{want}`: {m}");
        }
        assert!(m.contains("3 problems in"), "{m}");
        // Past the limit, the rest are counted, not listed.
        let many: String = (0..50).map(|i| format!("1\t{i}\tbad\n")).collect();
        let (_d, r) = read(&many);
        let m = r.unwrap_err().to_string();
        assert_eq!(m.lines().filter(|l| l.contains("is not a number")).count(), super::super::MAX_REPORTED, "{m}");
        assert!(m.contains("and 30 more problems") && m.contains("50 problems"), "{m}");
    }

    #[test]
    fn rows_past_the_memory_bound_stop_the_read_with_the_bound_named() {
        let text: String = (0..1000).map(|i| format!("{}\t1\t2\n", i % 2)).collect();
        let mut lines = super::super::source::decode(
            std::path::Path::new("m.tsv"),
            std::io::Cursor::new(text.into_bytes()),
            super::super::source::Limits { memory_bytes: 10_000, ..Default::default() },
        )
        .unwrap();
        let policy = super::SeriesPolicy::default();
        let m = err_text(super::parse(&mut lines, &policy, policy.target()).map(|(t, _)| t), "m.tsv", None);
        assert!(m.contains("of memory") && m.contains("PINNIPED_MAX_RUN_MEMORY"), "{m}");
    }

    #[test]
    fn class_attribute_is_rejected_for_ucr() {
        let dir = TempDir::new().unwrap();
        let path = write(dir.path(), "d.tsv", b"1\t1\n");
        let m = err_text(read_table(&path, None, Some("target")), "d.tsv", None);
        assert!(m.contains("UCR"), "{m}");
    }
}
