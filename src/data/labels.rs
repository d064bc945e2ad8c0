//! Class order and label → index mapping.
//!
//! The order matters beyond cosmetics: class indices are the network's output units and are
//! saved with a model, so the rule must be deterministic and independent of row order.

use std::collections::{HashMap, HashSet};

use super::{DataError, Split, Table};

/// The class names of a training table, in index order.
///
/// ARFF: the declaration order of the class attribute's nominal values (the file author's
/// choice, and what Weka uses). UCR: numeric order when every label is a number (so `-1`
/// sorts before `1` and `2` before `10`), otherwise lexicographic.
pub fn class_order(train: &Table) -> Vec<String> {
    if let Some(declared) = &train.declared_classes {
        return declared.clone();
    }
    let distinct: HashSet<&str> = train.labels.iter().map(String::as_str).collect();
    let mut classes: Vec<String> = distinct.into_iter().map(str::to_string).collect();
    let numbers: Option<Vec<f64>> = classes.iter().map(|c| c.parse::<f64>().ok().filter(|v| !v.is_nan())).collect();
    match numbers {
        Some(numbers) => {
            let mut keyed: Vec<(f64, String)> = numbers.into_iter().zip(classes).collect();
            // Ties ("1" vs "1.0") fall back to the text so the order stays total.
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            keyed.into_iter().map(|(_, c)| c).collect()
        }
        None => {
            classes.sort();
            classes
        }
    }
}

/// A classifier cannot be trained on one class; say so instead of training a constant.
pub(crate) fn require_two_classes(train: &Table) -> Result<(), DataError> {
    let first = train.labels.first();
    if let Some(first) = first {
        if train.labels.iter().all(|l| l == first) {
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
    for (i, c) in classes.iter().enumerate() {
        // More than u32::MAX classes cannot come from real files; saturate rather than panic.
        index.entry(c.as_str()).or_insert(u32::try_from(i).unwrap_or(u32::MAX));
    }
    let y = table
        .labels
        .iter()
        .zip(&table.lines)
        .map(|(label, &line)| index.get(label.as_str()).copied().ok_or_else(|| unknown(label, line)))
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
