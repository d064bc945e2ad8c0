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
        let mut sep = "";
        if !self.file.as_os_str().is_empty() {
            write!(f, "{}", self.file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            sep = ": ";
        }
        if let Some(key) = &self.key {
            write!(f, "{sep}{key}")?;
            sep = ": ";
        }
        write!(f, "{sep}{}", self.message)
    }
}

/// One or more problems with the user's input; exit code 2.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError(pub Vec<Problem>);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n({} problems; nothing was run or written)", self.0.len())?;
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
pub struct Collector<'a> {
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

    pub fn general(&mut self, line: Option<usize>, message: impl Into<String>) {
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
pub fn locate(source: &str, table: Option<&str>, key: &str) -> Option<usize> {
    let mut current: Option<String> = None;
    for (i, raw) in source.lines().enumerate() {
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest.trim_start_matches('[').split(']').next().unwrap_or("").trim();
            current = Some(name.trim_matches('"').to_string());
            if key.is_empty() && table == Some(name) {
                return Some(i + 1);
            }
            continue;
        }
        if current.as_deref() != table || key.is_empty() {
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

/// "did you mean `x`?" for the closest known key, when one is close enough.
pub fn suggest(word: &str, known: &[&str]) -> String {
    let best = known.iter().map(|k| (strsim::jaro_winkler(word, k), *k)).max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, k)) if score > 0.8 => format!("; did you mean `{k}`?"),
        _ => format!("; valid keys: {}", known.join(", ")),
    }
}

/// 1-based (line, column) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
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
}
