//! Input errors the user can fix: each names where (file, line, key) and what to do.
//! Validation collects every problem before reporting, so one run of the command
//! shows them all.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// Full key path, e.g. `train.learning_rate` or `sweep.momentum[2]`.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An empty `file` means the message names its own place (data errors do).
        // Every part may carry what the user typed: escaped and bounded (`bounded`).
        let mut sep = "";
        if !self.file.as_os_str().is_empty() {
            write!(f, "{}", echo_path(&self.file))?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            sep = ": ";
        }
        if let Some(key) = &self.key {
            write!(f, "{sep}{}", echo(key))?;
            sep = ": ";
        }
        write!(f, "{sep}{}", bounded(&self.message, MESSAGE_CHARS))
    }
}

/// One or more problems with the user's input; exit code 2.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError(pub Vec<Problem>);

/// At most this many problems are printed (a file of 10,000 bad keys is not 10,000 lines).
pub(crate) const PROBLEMS_SHOWN: usize = 50;

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().take(PROBLEMS_SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        let n = self.0.len();
        if n > PROBLEMS_SHOWN {
            write!(f, "\n({n} problems, the first {PROBLEMS_SHOWN} shown; nothing was run or written)")?;
        } else if n > 1 {
            write!(f, "\n({n} problems; nothing was run or written)")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

impl InputError {
    /// A message that already names its file and line.
    pub fn message(message: impl Into<String>) -> Self {
        InputError(vec![Problem { file: PathBuf::new(), line: None, key: None, message: message.into() }])
    }

    pub fn one(file: &Path, line: Option<usize>, key: Option<&str>, message: impl Into<String>) -> Self {
        InputError(vec![Problem {
            file: file.to_path_buf(),
            line,
            key: key.map(str::to_string),
            message: message.into(),
        }])
    }
}

/// Collects problems found in one file, locating keys in its text.
pub(crate) struct Collector<'a> {
    pub file: &'a Path,
    pub source: &'a str,
    pub problems: Vec<Problem>,
}

impl<'a> Collector<'a> {
    pub fn new(file: &'a Path, source: &'a str) -> Self {
        Collector { file, source, problems: Vec::new() }
    }

    /// A problem with `key` in `[table]` (None: top level); `label` is the full path shown.
    pub fn at(&mut self, table: Option<&str>, key: &str, label: impl Into<String>, message: impl Into<String>) {
        let line = locate(self.source, table, key);
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            line,
            key: Some(label.into()),
            message: message.into(),
        });
    }

    pub(crate) fn general(&mut self, line: Option<usize>, message: impl Into<String>) {
        self.problems.push(Problem { file: self.file.to_path_buf(), line, key: None, message: message.into() });
    }

    pub fn finish(self) -> Result<(), InputError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(InputError(self.problems))
        }
    }
}

/// 1-based line where `key` is assigned inside `[table]` (or at the top level), or
/// the table header itself when `key` is empty. A text scan is enough here: sweep
/// files are small and keys are bare words.
pub(crate) fn locate(source: &str, table: Option<&str>, key: &str) -> Option<usize> {
    locate_entry(source, table, None, key)
}

/// [`locate`] inside the `entry`-th (0-based) `[[table]]` of an array of tables; `None`: any
/// `[table]` (the first match).
pub(crate) fn locate_entry(source: &str, table: Option<&str>, entry: Option<usize>, key: &str) -> Option<usize> {
    let mut current: Option<String> = None;
    // Headers of `table` seen so far: the entry the lines below belong to.
    let mut seen = 0usize;
    let mut in_entry = entry.is_none();
    for (i, raw) in source.lines().enumerate() {
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest.trim_start_matches('[').split(']').next().unwrap_or("").trim();
            current = Some(name.trim_matches('"').to_string());
            if table == Some(name) {
                in_entry = entry.is_none_or(|n| n == seen);
                seen += 1;
                if key.is_empty() && in_entry {
                    return Some(i + 1);
                }
            }
            continue;
        }
        if current.as_deref() != table || key.is_empty() || !in_entry {
            continue;
        }
        if let Some(rest) = line.strip_prefix(key).or_else(|| line.strip_prefix(&format!("\"{key}\""))) {
            if rest.trim_start().starts_with('=') {
                return Some(i + 1);
            }
        }
    }
    None
}

/// Longest echo of a user's word (key, id, value) in a message, in characters.
pub(crate) const ECHO_CHARS: usize = 80;
/// Longest echo of a path.
pub(crate) const PATH_CHARS: usize = 240;
/// Longest line of an error as printed.
pub const LINE_CHARS: usize = 2000;
/// Longest line of one problem's message (a safety net for values echoed without `echo`).
pub(crate) const MESSAGE_CHARS: usize = 1000;

/// `text` as a message shows it: control characters escaped (a newline or an escape
/// sequence in a key or an id cannot forge lines or recolour the terminal), and at
/// most `max` characters, cut with `…`.
pub fn bounded(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for ch in text.chars() {
        let piece: String = if ch.is_control() { ch.escape_default().collect() } else { ch.to_string() };
        chars += piece.chars().count();
        if chars > max {
            out.push('…');
            return out;
        }
        out.push_str(&piece);
    }
    out
}

/// A word the user typed, as messages echo it.
pub fn echo(word: &str) -> String {
    bounded(word, ECHO_CHARS)
}

/// A path the user typed, as messages echo it.
pub(crate) fn echo_path(path: &Path) -> String {
    bounded(&path.display().to_string(), PATH_CHARS)
}

/// Up to `n` of `known` that look like `word`, closest first.
pub(crate) fn closest<'k>(word: &str, known: &[&'k str], n: usize) -> Vec<&'k str> {
    let mut scored: Vec<(f64, &str)> = known.iter().map(|k| (strsim::jaro_winkler(word, k), *k)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(n).map(|(_, k)| k).collect()
}

/// Lists of valid words longer than this are not printed in full.
const LIST_ALL: usize = 60;

/// "did you mean `x`?" for the closest known word, when one is close enough; else
/// the valid words, or the closest few of a long list.
pub(crate) fn suggest(word: &str, known: &[&str]) -> String {
    let best = known.iter().map(|k| (strsim::jaro_winkler(word, k), *k)).max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, k)) if score > 0.8 => format!("; did you mean `{k}`?"),
        _ if known.len() <= LIST_ALL => format!("; valid keys: {}", known.join(", ")),
        _ => format!("; closest of {}: {}", known.len(), closest(word, known, 5).join(", ")),
    }
}

/// 1-based (line, column) of a byte offset.
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_keys_in_their_table() {
        let src = "name = \"x\"\n[train]\nepochs = 3\n[sweep]\nepochs = [1, 2]\n";
        assert_eq!(locate(src, None, "name"), Some(1));
        assert_eq!(locate(src, Some("train"), "epochs"), Some(3));
        assert_eq!(locate(src, Some("sweep"), "epochs"), Some(5));
        assert_eq!(locate(src, Some("sweep"), ""), Some(4));
        assert_eq!(locate(src, Some("data"), "train"), None);
    }

    #[test]
    fn suggests_close_keys_only() {
        assert!(suggest("learning_rat", &["learning_rate", "momentum"]).contains("`learning_rate`"));
        assert!(suggest("zzz", &["learning_rate", "momentum"]).contains("valid keys"));
    }

    #[test]
    fn long_lists_of_valid_words_are_not_printed_in_full() {
        let ids: Vec<String> = (0..2160).map(|i| format!("batch_size={i}/rep-1")).collect();
        let known: Vec<&str> = ids.iter().map(String::as_str).collect();
        let hint = suggest("zzz", &known);
        assert!(hint.contains("closest of 2160") && hint.matches("rep-1").count() == 5, "{hint}");
    }

    #[test]
    fn echoed_input_is_escaped_and_bounded() {
        assert_eq!(echo("a\nb"), "a\\nb", "newline");
        assert_eq!(echo("\u{1b}[31mred"), "\\u{1b}[31mred", "escape sequence");
        assert_eq!(echo("learning_rate"), "learning_rate", "plain");
        let long = "x".repeat(100_000);
        let shown = echo(&long);
        assert_eq!(shown.chars().count(), ECHO_CHARS + 1, "cut to the bound plus the ellipsis");
        assert!(shown.ends_with('…'));
        let p = Problem { file: PathBuf::from("f.toml"), line: None, key: Some(long.clone()), message: long };
        assert!(p.to_string().len() < 2 * MESSAGE_CHARS, "a problem's text is bounded");
        let many = InputError(vec![p; 10_000]).to_string();
        assert_eq!(many.lines().count(), PROBLEMS_SHOWN + 1, "a bounded number of problems is shown");
        assert!(many.ends_with("(10000 problems, the first 50 shown; nothing was run or written)"));
    }
}
