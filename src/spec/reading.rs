//! How a data file is read, as the `[data]` keys choose it: its [`Format`] (`format`) and the
//! [`SeriesPolicy`] for unequal lengths and missing values (`length`, `series_length`,
//! `missing`). spec validates these keys into the types; `data` applies them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The longest series a length policy may produce (a given `series_length` is checked
/// against it, so that a typo cannot ask for terabytes).
pub const MAX_SERIES_LENGTH: usize = 1_000_000;

/// How unequal lengths and missing values are handled (the `[data]` keys `length`,
/// `series_length` and `missing`); the default refuses both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeriesPolicy {
    pub length: LengthPolicy,
    pub missing: MissingPolicy,
    /// The length to bring every series to; `None`: the longest (pad, resample) or the
    /// shortest (truncate) of the training file.
    pub series_length: Option<usize>,
}

impl SeriesPolicy {
    /// The length the training file's series are brought to.
    pub fn target(&self) -> TargetLength {
        match (self.length, self.series_length) {
            (LengthPolicy::Error, _) => TargetLength::Longest,
            (_, Some(n)) => TargetLength::Exactly(n),
            (LengthPolicy::Truncate, None) => TargetLength::Shortest,
            _ => TargetLength::Longest,
        }
    }
}

/// The on-disk layout of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// UCR archive text: one series per line, the class label first, then the values,
    /// separated by tabs, commas or spaces.
    Ucr,
    /// Weka ARFF: numeric attributes plus one nominal class attribute.
    Arff,
    /// aeon/sktime `.ts`: `@tag` header, then channels separated by `:`, the label last.
    Ts,
}

impl Format {
    /// Guesses from the file name: `.arff` / `.arff.gz` is ARFF, `.ts` / `.ts.gz` is aeon's
    /// `.ts`, anything else UCR (the UCR archive uses `.tsv`, older copies `.txt` or no
    /// extension at all).
    pub fn guess(path: &Path) -> Format {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if name.ends_with(".arff") || name.ends_with(".arff.gz") {
            Format::Arff
        } else if name.ends_with(".ts") || name.ends_with(".ts.gz") {
            Format::Ts
        } else {
            Format::Ucr
        }
    }
}

impl FromStr for Format {
    type Err = String;

    /// The word of a `--format` flag or the `format` key, in any case, `tsv` for `ucr`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ucr" | "tsv" => Ok(Format::Ucr),
            "arff" => Ok(Format::Arff),
            "ts" => Ok(Format::Ts),
            _ => Err(format!("unknown data format '{s}' (expected ucr, tsv, arff or ts)")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Ucr => "ucr",
            Format::Arff => "arff",
            Format::Ts => "ts",
        })
    }
}

/// `format` in a sweep file: written as its word ([`Format`]'s `Display`), read as
/// [`Format::from_str`] reads it.
impl Serialize for Format {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        word.parse().map_err(|_| serde::de::Error::custom(format!("`{word}` is not one of: ucr, arff, ts")))
    }
}

/// What to do with series of different lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LengthPolicy {
    /// Refuse unequal lengths.
    #[default]
    Error,
    /// Append zeros up to the target (as aeon's `Padder`); a longer series is an error.
    Pad,
    /// Keep the first `target` values; a shorter series is an error.
    Truncate,
    /// Linear interpolation at `target` evenly spaced points from the first value to the last
    /// (as aeon's `Resizer`, `np.interp` over `linspace(0, 1, …)`).
    Resample,
}

/// The length [`LengthPolicy`] brings every series to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetLength {
    Longest,
    Shortest,
    /// A given `series_length`.
    Exactly(usize),
}

/// What to do with missing values (`?` or `NaN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingPolicy {
    #[default]
    Error,
    /// Linear interpolation between the nearest present values; the nearest present value
    /// before the first and after the last one.
    Interpolate,
    Zero,
}

impl LengthPolicy {
    /// The `length` value that names this policy.
    pub fn word(self) -> &'static str {
        match self {
            LengthPolicy::Error => "error",
            LengthPolicy::Pad => "pad",
            LengthPolicy::Truncate => "truncate",
            LengthPolicy::Resample => "resample",
        }
    }
}

impl MissingPolicy {
    /// The `missing` value that names this policy.
    pub fn word(self) -> &'static str {
        match self {
            MissingPolicy::Error => "error",
            MissingPolicy::Interpolate => "interpolate",
            MissingPolicy::Zero => "zero",
        }
    }
}

impl FromStr for LengthPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "error" => Ok(LengthPolicy::Error),
            "pad" => Ok(LengthPolicy::Pad),
            "truncate" => Ok(LengthPolicy::Truncate),
            "resample" => Ok(LengthPolicy::Resample),
            _ => Err(format!("`{s}` is not one of: error, pad, truncate, resample")),
        }
    }
}

impl FromStr for MissingPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "error" => Ok(MissingPolicy::Error),
            "interpolate" => Ok(MissingPolicy::Interpolate),
            "zero" => Ok(MissingPolicy::Zero),
            _ => Err(format!("`{s}` is not one of: error, interpolate, zero")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Keys {
        format: Format,
    }

    #[test]
    fn format_reads_any_case_and_tsv_and_writes_its_own_word() {
        for (word, format) in [("ucr", Format::Ucr), ("TSV", Format::Ucr), (" Arff ", Format::Arff), ("ts", Format::Ts)]
        {
            let keys: Keys = toml::from_str(&format!("format = {word:?}")).unwrap();
            assert_eq!(keys.format, format, "{word}");
            assert_eq!(toml::to_string(&keys).unwrap(), format!("format = \"{format}\"\n"));
        }
        let e = toml::from_str::<Keys>("format = \"csv\"").unwrap_err();
        assert_eq!(e.message(), "`csv` is not one of: ucr, arff, ts");
        assert_eq!(
            "csv".parse::<Format>().unwrap_err(),
            "unknown data format 'csv' (expected ucr, tsv, arff or ts)",
            "as --format says it"
        );
    }

    #[test]
    fn the_length_policy_targets_the_given_length_or_the_file_s() {
        let policy = |length, series_length| SeriesPolicy { length, missing: MissingPolicy::Error, series_length };
        assert_eq!(policy(LengthPolicy::Error, Some(5)).target(), TargetLength::Longest);
        assert_eq!(policy(LengthPolicy::Pad, Some(5)).target(), TargetLength::Exactly(5));
        assert_eq!(policy(LengthPolicy::Truncate, None).target(), TargetLength::Shortest);
        assert_eq!(policy(LengthPolicy::Resample, None).target(), TargetLength::Longest);
    }
}
