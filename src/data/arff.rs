//! Weka ARFF files restricted to what a series classifier needs: numeric attributes plus one
//! nominal class attribute.
//!
//! The header is parsed carefully (quotes, comments, any keyword case); data rows take a fast
//! path when they contain no quotes, which is every row of the UCR archive's ARFF copies.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

use super::source::Lines;
use super::{bad_value_message, labels, parse_value, DataError, Problems, Table};

const MISSING_HINT: &str = "ARFF writes '?' for a missing value; this tool needs complete \
                            series: impute, resample or drop such rows first";
const SUPPORTED: &str = "only numeric attributes plus one nominal class are supported";

#[derive(Debug)]
enum Kind {
    Numeric,
    Nominal(Vec<String>),
}

#[derive(Debug)]
struct Attribute {
    name: String,
    kind: Kind,
    line: usize,
}

pub(crate) fn parse(lines: &mut Lines, class_attribute: Option<&str>) -> Result<Table, DataError> {
    let path = lines.path().to_path_buf();
    let (attributes, data_line) = parse_header(lines, &path)?;
    let class = pick_class(&attributes, class_attribute, &path, data_line)?;
    let Kind::Nominal(declared) = &attributes[class].kind else {
        // pick_class only returns nominal attributes.
        return Err(DataError::at(&path, attributes[class].line, "class attribute is not nominal"));
    };
    let declared_set: HashSet<&str> = declared.iter().map(String::as_str).collect();
    let n_attrs = attributes.len();
    let cols = n_attrs - 1;

    let mut values: Vec<f64> = Vec::new();
    let mut labels_out: Vec<String> = Vec::new();
    let mut line_numbers: Vec<usize> = Vec::new();
    let mut problems = Problems::new(&path);

    loop {
        let (number, raw) = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => return Err(problems.fatal(e)),
        };
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let start = values.len();
        let labels_before = labels_out.len();
        let row = (|| {
            if line.starts_with('{') {
                return Err(DataError::at(
                    &path,
                    number,
                    "sparse ARFF rows ({index value, ...}) are not supported; write the data as \
                 dense comma-separated rows",
                ));
            }
            let mut field = 0usize;
            let parsed = for_each_field(line, &path, number, |text| {
                let index = field;
                field += 1;
                if index >= n_attrs {
                    return Ok(()); // counted, reported after the row
                }
                let attribute = &attributes[index];
                if index == class {
                    if text == "?" {
                        return Err(DataError::at(
                            &path,
                            number,
                            format!(
                                "missing class value in field {field} (attribute '{}'); every row \
                             needs its class",
                                labels::shorten(&attribute.name)
                            ),
                        ));
                    }
                    if !declared_set.contains(text) {
                        return Err(DataError::at(
                            &path,
                            number,
                            format!(
                                "class value '{}' is not one of the values declared for attribute \
                             '{}' on line {} ({}); add it to the declaration or fix the row",
                                labels::shorten(text),
                                labels::shorten(&attribute.name),
                                attribute.line,
                                labels::list(declared)
                            ),
                        ));
                    }
                    labels_out.push(text.to_string());
                    return Ok(());
                }
                match parse_value(text) {
                    Ok(v) => {
                        values.push(v);
                        Ok(())
                    }
                    Err(bad) => {
                        let what = format!("field {field} (attribute '{}')", labels::shorten(&attribute.name));
                        Err(DataError::at(&path, number, bad_value_message(bad, &what, text, MISSING_HINT)))
                    }
                }
            });
            if let Err(e) = parsed {
                // A bad value in a row with the wrong number of fields is usually a shifted
                // column: the count is the more useful message.
                field = 0;
                let counted = for_each_field(line, &path, number, |_| {
                    field += 1;
                    Ok(())
                });
                if counted.is_err() || field == n_attrs {
                    return Err(e);
                }
            }
            if field != n_attrs {
                return Err(DataError::at(
                    &path,
                    number,
                    format!(
                        "row has {field} values but the header declares {n_attrs} attributes \
                     (every data row needs one value per attribute)"
                    ),
                ));
            }
            debug_assert_eq!(values.len() - start, cols);
            if line_numbers.is_empty() {
                // A guess from the first row, capped: a header of many attributes must not
                // reserve room for 255 rows of them.
                values.reserve(cols.saturating_mul(255).min(1 << 22));
            }
            Ok(())
        })();
        match row {
            Ok(()) => {
                line_numbers.push(number);
                if let Err(e) = lines.check_table(values.len(), line_numbers.len()) {
                    return Err(problems.fatal(e));
                }
            }
            Err(e) => {
                // Report the row and go on to the next, so one read shows every problem.
                values.truncate(start);
                labels_out.truncate(labels_before);
                problems.push(e);
            }
        }
    }
    if let Some(e) = problems.into_error() {
        return Err(e);
    }

    if line_numbers.is_empty() {
        return Err(DataError::at(
            &path,
            data_line,
            "no data rows after @data (the file has a header only); add the data rows",
        ));
    }
    values.shrink_to_fit();
    Ok(Table {
        path,
        rows: labels_out.len(),
        cols,
        values,
        labels: labels_out,
        lines: line_numbers,
        declared_classes: Some(declared.clone()),
    })
}

/// Reads up to and including `@data`; returns the attributes and the `@data` line number.
fn parse_header(lines: &mut Lines, path: &Path) -> Result<(Vec<Attribute>, usize), DataError> {
    let mut attributes: Vec<Attribute> = Vec::new();
    let mut last_line = 0;
    while let Some((number, raw)) = lines.next_line()? {
        last_line = number;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let (keyword, rest) = split_keyword(line);
        if keyword.eq_ignore_ascii_case("@relation") {
            continue;
        }
        if keyword.eq_ignore_ascii_case("@attribute") {
            attributes.push(parse_attribute(rest, path, number)?);
            continue;
        }
        if keyword.eq_ignore_ascii_case("@data") {
            if attributes.is_empty() {
                return Err(DataError::at(
                    path,
                    number,
                    "@data comes before any @attribute declaration; declare the attributes first",
                ));
            }
            if attributes.len() < 2 {
                return Err(DataError::at(
                    path,
                    number,
                    "the header declares only one attribute; need numeric value attributes \
                     plus a nominal class",
                ));
            }
            return Ok((attributes, number));
        }
        let message = if keyword.starts_with('@') {
            format!("unknown header keyword '{}' (expected @relation, @attribute or @data)", labels::shorten(keyword))
        } else {
            format!(
                "unexpected text '{}' before @data (is this an ARFF file? data rows must follow \
                 an @data line)",
                labels::shorten(line)
            )
        };
        return Err(DataError::at(path, number, message));
    }
    Err(DataError::at(
        path,
        last_line.max(1),
        "the file ends before any @data line (is this an ARFF file? expected @attribute \
         declarations followed by @data and the rows)",
    ))
}

fn split_keyword(line: &str) -> (&str, &str) {
    match line.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&line[..i], line[i..].trim_start()),
        None => (line, ""),
    }
}

/// `rest` is everything after `@attribute`: a (possibly quoted) name, then the type.
fn parse_attribute(rest: &str, path: &Path, line: usize) -> Result<Attribute, DataError> {
    let err = |message: String| DataError::at(path, line, message);
    let (name, type_text) = match rest.chars().next() {
        None => return Err(err("@attribute has no name or type".to_string())),
        Some(q @ ('\'' | '"')) => {
            let (name, after) = take_quoted(rest, q)
                .ok_or_else(|| err(format!("attribute name starting with {q} has no closing {q}")))?;
            (name.into_owned(), after)
        }
        Some(_) => {
            let end = rest.find(|c: char| c.is_ascii_whitespace() || c == '{').unwrap_or(rest.len());
            (rest[..end].to_string(), &rest[end..])
        }
    };
    let type_text = type_text.trim();
    let shown = labels::shorten(&name);
    if type_text.is_empty() {
        return Err(err(format!("attribute '{shown}' has no type")));
    }
    let kind = if let Some(inner) = type_text.strip_prefix('{') {
        let inner = inner
            .strip_suffix('}')
            .ok_or_else(|| err(format!("nominal attribute '{shown}': the value list has no closing '}}'")))?;
        let mut values: Vec<String> = Vec::new();
        // A set beside the list: a header may declare many thousands of values.
        let mut seen: HashSet<String> = HashSet::new();
        for_each_field(inner, path, line, |v| {
            if v.is_empty() {
                return Err(err(format!("nominal attribute '{shown}' has an empty value in its list")));
            }
            if !seen.insert(v.to_string()) {
                return Err(err(format!(
                    "nominal attribute '{shown}' declares the value '{}' twice",
                    labels::shorten(v)
                )));
            }
            values.push(v.to_string());
            Ok(())
        })?;
        Kind::Nominal(values)
    } else {
        let word = type_text.split_ascii_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        match word.as_str() {
            "numeric" | "real" | "integer" => Kind::Numeric,
            "string" | "date" | "relational" => {
                return Err(err(format!("attribute '{shown}' has type {word}, which is not supported ({SUPPORTED})")))
            }
            _ => {
                return Err(err(format!(
                    "attribute '{shown}' has unknown type '{}' (expected numeric, real, integer \
                     or a nominal list such as {{a,b,c}})",
                    labels::shorten(type_text)
                )))
            }
        }
    };
    Ok(Attribute { name, kind, line })
}

/// Picks the class attribute (named, or the last) and checks that all others are numeric.
fn pick_class(
    attributes: &[Attribute],
    wanted: Option<&str>,
    path: &Path,
    data_line: usize,
) -> Result<usize, DataError> {
    let class = match wanted {
        None => attributes.len() - 1,
        Some(name) => attributes
            .iter()
            .position(|a| a.name == name)
            .or_else(|| {
                // Forgive case differences when they are unambiguous.
                let mut matches = attributes.iter().enumerate().filter(|(_, a)| a.name.eq_ignore_ascii_case(name));
                match (matches.next(), matches.next()) {
                    (Some((i, _)), None) => Some(i),
                    _ => None,
                }
            })
            .ok_or_else(|| {
                DataError::at(
                    path,
                    data_line,
                    format!(
                        "no attribute named '{}' to use as the class; available: {}",
                        labels::shorten(name),
                        attribute_list(attributes)
                    ),
                )
            })?,
    };
    let chosen = &attributes[class];
    if let Kind::Numeric = chosen.kind {
        let how = if wanted.is_some() {
            "the requested class attribute"
        } else {
            "the last attribute, used as the class by default,"
        };
        return Err(DataError::at(
            path,
            chosen.line,
            format!(
                "{how} '{}' is numeric, but the class must be nominal (e.g. {{a,b,c}}); \
                 name the class attribute explicitly or fix its declaration",
                labels::shorten(&chosen.name)
            ),
        ));
    }
    if let Some(other) =
        attributes.iter().enumerate().find(|&(i, a)| i != class && matches!(a.kind, Kind::Nominal(_))).map(|(_, a)| a)
    {
        return Err(DataError::at(
            path,
            other.line,
            format!(
                "attribute '{}' is nominal but the class attribute is '{}' ({SUPPORTED}; name \
                 '{}' as the class attribute if it is the class)",
                labels::shorten(&other.name),
                labels::shorten(&chosen.name),
                labels::shorten(&other.name)
            ),
        ));
    }
    Ok(class)
}

/// Attribute names for a message: all when few, else the ends plus the nominal ones.
fn attribute_list(attributes: &[Attribute]) -> String {
    let quoted = |a: &Attribute| format!("'{}'", labels::shorten(&a.name));
    if attributes.len() <= 12 {
        return attributes.iter().map(quoted).collect::<Vec<_>>().join(", ");
    }
    let head: Vec<String> = attributes[..4].iter().map(quoted).collect();
    let tail: Vec<String> = attributes[attributes.len() - 2..].iter().map(quoted).collect();
    let nominal: Vec<String> = attributes.iter().filter(|a| matches!(a.kind, Kind::Nominal(_))).map(quoted).collect();
    format!(
        "{}, …, {} ({} attributes; nominal: {})",
        head.join(", "),
        tail.join(", "),
        attributes.len(),
        if nominal.is_empty() { "none".to_string() } else { nominal.join(", ") }
    )
}

/// Removes a `%` comment that is outside quotes.
fn strip_comment(line: &str) -> &str {
    if !line.contains('%') {
        return line;
    }
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '%' => return &line[..i],
            None => {}
        }
    }
    line
}

/// Parses a quoted token at the start of `s` (which starts with `q`); returns its unescaped
/// content and the text after the closing quote, or `None` if it is unterminated.
fn take_quoted(s: &str, q: char) -> Option<(Cow<'_, str>, &str)> {
    let body = &s[q.len_utf8()..];
    let mut escaped = false;
    let mut has_escape = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
            has_escape = true;
        } else if c == q {
            let content = &body[..i];
            let after = &body[i + c.len_utf8()..];
            let content = if has_escape { Cow::Owned(unescape(content)) } else { Cow::Borrowed(content) };
            return Some((content, after));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Calls `f` with each comma-separated field of `line`, trimmed and unquoted. Lines without
/// quotes (the common case) are split without allocating.
fn for_each_field(
    line: &str,
    path: &Path,
    number: usize,
    mut f: impl FnMut(&str) -> Result<(), DataError>,
) -> Result<(), DataError> {
    if !line.contains(['\'', '"']) {
        return line.split(',').try_for_each(|s| f(s.trim()));
    }
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start();
        let after = match trimmed.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let (content, after) = take_quoted(trimmed, q).ok_or_else(|| {
                    DataError::at(path, number, format!("a value starting with {q} has no closing {q}"))
                })?;
                f(&content)?;
                let after = after.trim_start();
                if !(after.is_empty() || after.starts_with(',')) {
                    return Err(DataError::at(
                        path,
                        number,
                        format!("unexpected text '{}' after a quoted value (expected a comma)", labels::shorten(after)),
                    ));
                }
                after
            }
            _ => {
                let end = trimmed.find(',').unwrap_or(trimmed.len());
                f(trimmed[..end].trim_end())?;
                &trimmed[end..]
            }
        };
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{err_text, write};
    use super::super::{read_table, DataError, Format, Table};
    use tempfile::TempDir;

    fn read_as(content: &str, class: Option<&str>) -> (TempDir, Result<Table, DataError>) {
        let dir = TempDir::new().unwrap();
        let path = write(dir.path(), "d.arff", content.as_bytes());
        let result = read_table(&path, Some(Format::Arff), class);
        (dir, result)
    }

    fn read(content: &str) -> (TempDir, Result<Table, DataError>) {
        read_as(content, None)
    }

    const GOOD: &str = "% a leading comment
@RELATION 'my data'

@Attribute 'first value' NUMERIC   % trailing comment
@attribute \"second, value\" real
@ATTRIBUTE third Integer
@attribute 'class label' {zeta, 'alpha beta', \"100%\"}

@DATA
% comment between rows
1, 2.5, 3, zeta
-1,0,1e-3,'alpha beta'  % trailing comment

4,5,6,\"100%\"
";

    #[test]
    fn comments_quotes_and_keyword_case() {
        let (_d, t) = read(GOOD);
        let t = t.unwrap();
        assert_eq!((t.rows, t.cols), (3, 3));
        assert_eq!(t.values, [1.0, 2.5, 3.0, -1.0, 0.0, 1e-3, 4.0, 5.0, 6.0]);
        assert_eq!(t.labels, ["zeta", "alpha beta", "100%"]);
        assert_eq!(t.lines, [11, 12, 14]);
        assert_eq!(t.declared_classes.as_deref(), Some(&["zeta".to_string(), "alpha beta".into(), "100%".into()][..]));
    }

    #[test]
    fn class_attribute_by_quoted_name_in_first_position() {
        let text = "@relation r\n@attribute 'the class' {b,a}\n@attribute x numeric\n\
                    @attribute y numeric\n@data\na,1,2\nb,3,4\n";
        let (_d, t) = read_as(text, Some("the class"));
        let t = t.unwrap();
        assert_eq!(t.values, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.labels, ["a", "b"]);
        // Case differences are forgiven when unambiguous.
        let (_d, t) = read_as(text, Some("THE CLASS"));
        assert_eq!(t.unwrap().labels, ["a", "b"]);
        // By default the last attribute is the class; here it is numeric.
        let (_d, r) = read(text);
        let m = err_text(r, "d.arff", Some(4));
        assert!(m.contains("'y' is numeric"), "{m}");
    }

    #[test]
    fn unsupported_attribute_types() {
        for (ty, shown) in [("string", "string"), ("DATE \"yyyy-MM-dd\"", "date"), ("relational", "relational")] {
            let text = format!("@relation r\n@attribute x numeric\n@attribute bad {ty}\n@attribute c {{a,b}}\n@data\n");
            let (_d, r) = read(&text);
            let m = err_text(r, "d.arff", Some(3));
            assert!(m.contains("'bad'"), "{m}");
            assert!(m.contains(shown), "{m}");
            assert!(m.contains("only numeric attributes plus one nominal class"), "{m}");
        }
    }

    #[test]
    fn unknown_class_attribute_lists_names() {
        let (_d, r) = read_as(GOOD, Some("label"));
        let m = err_text(r, "d.arff", Some(9));
        assert!(m.contains("no attribute named 'label'"), "{m}");
        assert!(m.contains("'first value', 'second, value', 'third', 'class label'"), "{m}");
    }

    #[test]
    fn explicit_numeric_class_is_rejected() {
        let (_d, r) = read_as(GOOD, Some("third"));
        let m = err_text(r, "d.arff", Some(6));
        assert!(m.contains("must be nominal"), "{m}");
    }

    #[test]
    fn second_nominal_attribute_is_rejected() {
        let (_d, r) = read("@relation r\n@attribute n {u,v}\n@attribute x numeric\n@attribute c {a,b}\n@data\nu,1,a\n");
        let m = err_text(r, "d.arff", Some(2));
        assert!(m.contains("'n' is nominal"), "{m}");
    }

    #[test]
    fn header_only() {
        let (_d, r) = read("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n% nothing\n\n");
        let m = err_text(r, "d.arff", Some(4));
        assert!(m.contains("no data rows"), "{m}");
    }

    #[test]
    fn no_data_section() {
        let (_d, r) = read("@relation r\n@attribute x numeric\n@attribute c {a,b}\n");
        let m = err_text(r, "d.arff", Some(3));
        assert!(m.contains("@data"), "{m}");
    }

    #[test]
    fn sparse_row() {
        let (_d, r) = read("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,a\n{0 1, 1 b}\n");
        let m = err_text(r, "d.arff", Some(6));
        assert!(m.contains("sparse"), "{m}");
    }

    #[test]
    fn missing_value() {
        let (_d, r) =
            read("@relation r\n@attribute x numeric\n@attribute y numeric\n@attribute c {a,b}\n@data\n1,?,a\n");
        let m = err_text(r, "d.arff", Some(6));
        assert!(m.contains("missing value in field 2 (attribute 'y')"), "{m}");
        let (_d, r) = read("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,?\n");
        let m = err_text(r, "d.arff", Some(5));
        assert!(m.contains("missing class value"), "{m}");
    }

    #[test]
    fn non_numeric_value() {
        let (_d, r) = read("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,a\nxyz,b\n");
        let m = err_text(r, "d.arff", Some(6));
        assert!(m.contains("field 1 (attribute 'x') is not a number: 'xyz'"), "{m}");
    }

    #[test]
    fn undeclared_class_value() {
        let (_d, r) = read("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,a\n2,z\n");
        let m = err_text(r, "d.arff", Some(6));
        assert!(m.contains("class value 'z' is not one of the values declared"), "{m}");
        assert!(m.contains("line 3"), "{m}");
    }

    #[test]
    fn wrong_number_of_fields() {
        let (_d, r) = read("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,a\n1,2,a\n");
        let m = err_text(r, "d.arff", Some(6));
        assert!(m.contains("row has 3 values but the header declares 2 attributes"), "{m}");
        let (_d, r) = read("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\na\n");
        let m = err_text(r, "d.arff", Some(5));
        assert!(m.contains("row has 1 values"), "{m}");
    }

    #[test]
    fn every_bad_data_row_is_reported() {
        let header = "@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n";
        let (_d, r) = read(&format!("{header}1,a\nx,a\n2,b\n3,z\n{{0 1}}\n4\n"));
        let err = r.unwrap_err();
        let m = err.to_string();
        assert_eq!(err.line(), Some(6), "{m}");
        for want in
            ["d.arff:6: field 1", "d.arff:8: class value 'z'", "d.arff:9: sparse", "d.arff:10: row has 1 values"]
        {
            assert!(m.contains(want), "lacks `{want}`: {m}");
        }
        assert!(m.contains("4 problems in"), "{m}");
    }

    #[test]
    fn malformed_header_lines() {
        let cases = [
            ("@relation r\n@attribute 'x numeric\n", 2, "no closing '"),
            ("@relation r\n@attribute x\n", 2, "has no type"),
            ("@relation r\n@attribute x blob\n", 2, "unknown type 'blob'"),
            ("@relation r\n@attribute c {a,b\n", 2, "no closing '}'"),
            ("@relation r\n@attribute c {a,a}\n", 2, "twice"),
            ("@relation r\n@frobnicate\n", 2, "unknown header keyword"),
            ("hello\n", 1, "before @data"),
            ("@relation r\n@data\n", 2, "before any @attribute"),
            ("@attribute c {a,b}\n@data\n", 2, "only one attribute"),
            ("@attribute x numeric\n@attribute c {a,b}\n@data\n'1,a\n", 4, "no closing '"),
            ("@attribute x numeric\n@attribute c {a,b}\n@data\n'1' 2,a\n", 4, "after a quoted value"),
        ];
        for (text, line, needle) in cases {
            let (_d, r) = read(text);
            let m = err_text(r, "d.arff", Some(line));
            assert!(m.contains(needle), "{text:?}: {m}");
        }
    }

    #[test]
    fn a_value_repeated_at_the_end_of_a_long_nominal_list_is_named() {
        let values: Vec<String> = (0..200_000).map(|i| i.to_string()).chain(["7".to_string()]).collect();
        let text = format!("@relation r\n@attribute c {{{}}}\n", values.join(","));
        let (_d, r) = read(&text);
        let m = err_text(r, "d.arff", Some(2));
        assert!(m.contains("declares the value '7' twice"), "{m}");
    }

    #[test]
    fn quoted_numbers_and_escapes() {
        let text = "@attribute 'it\\'s' numeric\n@attribute c {'a\\'b', c}\n@data\n'1.5','a\\'b'\n\"2\",c\n";
        let (_d, t) = read(text);
        let t = t.unwrap();
        assert_eq!(t.values, [1.5, 2.0]);
        assert_eq!(t.labels, ["a'b", "c"]);
    }

    #[test]
    fn name_glued_to_nominal_list() {
        let (_d, t) = read("@attribute x numeric\n@attribute class{a,b}\n@data\n1,b\n");
        assert_eq!(t.unwrap().labels, ["b"]);
    }
}
