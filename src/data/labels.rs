//! Class order and label → index mapping.
//!
//! The order matters beyond cosmetics: class indices are the network's output units and are
//! saved with a model, so the rule must be deterministic and independent of row order.

use std::collections::{HashMap, HashSet};

use super::{DataError, Split, Table};

/// A label's value when it is a finite number (`1`, `1.0`, `+1e0` and `1.000` are all 1;
/// `-0` is 0). Labels compare by this value when every label of the file is a number.
fn number(label: &str) -> Option<f64> {
    label.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v + 0.0)
}

/// What identifies a class: its number when every label is one, else its text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key<'a> {
    Number(u64),
    Text(&'a str),
}

/// The key of each label, numeric only if all of `labels` are numbers.
fn keys<'a>(labels: impl Iterator<Item = &'a str> + Clone) -> impl Iterator<Item = Key<'a>> {
    let numeric = labels.clone().all(|l| number(l).is_some());
    labels.map(move |l| match number(l).filter(|_| numeric) {
        Some(v) => Key::Number(v.to_bits()),
        None => Key::Text(l),
    })
}

/// The class names of a training table, in index order.
///
/// ARFF: the declaration order of the class attribute's nominal values (the file author's
/// choice, and what Weka uses). UCR: when every label is a number, labels are classes by
/// value (`1`, `1.0` and `1e0` are one class, named by its first spelling in the file) in
/// numeric order (so `-1` sorts before `1` and `2` before `10`); otherwise the distinct
/// texts in lexicographic order.
pub(crate) fn class_order(train: &Table) -> Vec<String> {
    if let Some(declared) = &train.declared_classes {
        return declared.clone();
    }
    let labels = train.labels.iter().map(String::as_str);
    let mut seen = HashSet::new();
    let mut classes: Vec<(Key<'_>, &str)> =
        keys(labels.clone()).zip(labels).filter(|(key, _)| seen.insert(key.clone())).collect();
    classes.sort_by(|a, b| match (&a.0, &b.0) {
        (Key::Number(x), Key::Number(y)) => f64::from_bits(*x).total_cmp(&f64::from_bits(*y)),
        _ => a.1.cmp(b.1),
    });
    classes.into_iter().map(|(_, name)| name.to_string()).collect()
}

/// A classifier cannot be trained on one class; say so instead of training a constant.
pub(crate) fn require_two_classes(train: &Table) -> Result<(), DataError> {
    let first = train.labels.first();
    if let Some(first) = first {
        let mut keys = keys(train.labels.iter().map(String::as_str));
        let first_key = keys.next();
        if keys.all(|k| Some(k) == first_key) {
            return Err(DataError::file(
                &train.path,
                format!(
                    "all {} rows have the class label '{}'; a classifier needs at least two \
                     classes in its training data (is this the right file?)",
                    train.rows,
                    shorten(first)
                ),
            ));
        }
    }
    Ok(())
}

/// Maps a table's labels onto `classes`; `unknown(label, line)` builds the error for a label
/// that is not among them.
pub(crate) fn to_split(
    table: Table,
    classes: &[String],
    unknown: impl Fn(&str, usize) -> DataError,
) -> Result<Split, DataError> {
    let mut index: HashMap<&str, u32> = HashMap::with_capacity(classes.len());
    // Numeric classes also match another spelling of the same number (`1` for `1.0`).
    let mut by_value: HashMap<u64, u32> = HashMap::new();
    let numeric = classes.iter().all(|c| number(c).is_some());
    for (i, c) in classes.iter().enumerate() {
        // More than u32::MAX classes cannot come from real files; saturate rather than panic.
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        index.entry(c.as_str()).or_insert(i);
        if let Some(v) = number(c).filter(|_| numeric) {
            by_value.entry(v.to_bits()).or_insert(i);
        }
    }
    let find = |label: &str| {
        index.get(label).copied().or_else(|| number(label).and_then(|v| by_value.get(&v.to_bits()).copied()))
    };
    let y = table
        .labels
        .iter()
        .zip(&table.lines)
        .map(|(label, &line)| find(label).ok_or_else(|| unknown(label, line)))
        .collect::<Result<Vec<u32>, DataError>>()?;
    Ok(Split { x: table.values, y, rows: table.rows })
}

/// Labels can be arbitrary text; keep messages to one readable line.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 20;
    let mut out: String = text.chars().take(MAX).flat_map(char::escape_debug).collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// A short, comma-separated list of class names for messages.
pub(crate) fn list(classes: &[String]) -> String {
    const MAX: usize = 10;
    let mut out = classes.iter().take(MAX).map(|c| shorten(c)).collect::<Vec<_>>().join(", ");
    if classes.len() > MAX {
        out.push_str(&format!(", … ({} in all)", classes.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn table(labels: &[&str], declared: Option<&[&str]>) -> Table {
        Table {
            path: PathBuf::from("t.tsv"),
            rows: labels.len(),
            cols: 1,
            values: vec![0.0; labels.len()],
            labels: labels.iter().map(|s| s.to_string()).collect(),
            lines: (1..=labels.len()).collect(),
            declared_classes: declared.map(|d| d.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn numeric_labels_sort_numerically_including_negatives() {
        let t = table(&["10", "2", "-1", "1", "2", "1.5", "-1"], None);
        assert_eq!(class_order(&t), ["-1", "1", "1.5", "2", "10"]);
    }

    #[test]
    fn spellings_of_one_number_are_one_class_named_by_the_first() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("integer and decimal", &["1.0", "2", "1", "2.00"], &["1.0", "2"]),
            ("exponent and sign", &["+1", "1e0", "3", "1.000"], &["+1", "3"]),
            ("negative zero", &["-0", "0.0", "5"], &["-0", "5"]),
        ];
        for (name, labels, want) in cases {
            let t = table(labels, None);
            assert_eq!(class_order(&t), *want, "case {name}");
            let classes: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            let split = to_split(t.clone(), &classes, |l, n| DataError::at(&t.path, n, l));
            let y = split.unwrap_or_else(|e| panic!("case {name}: {e}")).y;
            let expected: Vec<u32> =
                labels.iter().map(|l| want.iter().position(|w| number(w) == number(l)).unwrap() as u32).collect();
            assert_eq!(y, expected, "case {name}");
        }
        // Text labels stay text: `a` and `A` differ, and so do `1` and `1.0` next to a word.
        assert_eq!(class_order(&table(&["1", "1.0", "a"], None)), ["1", "1.0", "a"]);
        // One class in two spellings is still one class.
        let m = require_two_classes(&table(&["1", "1.0", "+1"], None)).unwrap_err().to_string();
        assert!(m.contains("at least two classes"), "{m}");
    }

    #[test]
    fn scientific_notation_labels_sort_numerically() {
        // Old UCR files write labels like 1.0000000e+00.
        let t = table(&["2.0000000e+00", "1.0000000e+00", "1.0000000e+01"], None);
        assert_eq!(class_order(&t), ["1.0000000e+00", "2.0000000e+00", "1.0000000e+01"]);
    }

    #[test]
    fn mixed_labels_sort_lexicographically() {
        let t = table(&["b", "10", "a", "2", "B"], None);
        assert_eq!(class_order(&t), ["10", "2", "B", "a", "b"]);
    }

    #[test]
    fn nan_label_is_not_numeric() {
        let t = table(&["2", "NaN", "10"], None);
        assert_eq!(class_order(&t), ["10", "2", "NaN"]);
        let t = table(&["2", "inf", "10"], None);
        assert_eq!(class_order(&t), ["10", "2", "inf"]);
    }

    #[test]
    fn declared_order_wins_and_keeps_unused_values() {
        let t = table(&["a", "c"], Some(&["c", "b", "a"]));
        assert_eq!(class_order(&t), ["c", "b", "a"]);
    }

    #[test]
    fn mapping_and_unknown_label() {
        let classes: Vec<String> = ["x", "y"].iter().map(|s| s.to_string()).collect();
        let split =
            to_split(table(&["y", "x", "y"], None), &classes, |l, n| DataError::at(&PathBuf::from("t.tsv"), n, l))
                .unwrap();
        assert_eq!(split.y, [1, 0, 1]);
        let err = to_split(table(&["x", "z"], None), &classes, |l, n| {
            DataError::at(&PathBuf::from("t.tsv"), n, format!("unknown {l}"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "t.tsv:2: unknown z");
    }

    #[test]
    fn shorten_truncates_and_escapes() {
        assert_eq!(shorten("abc"), "abc");
        assert_eq!(shorten("a\tb"), "a\\tb");
        assert_eq!(shorten(&"x".repeat(30)), format!("{}…", "x".repeat(20)));
    }
}
