//! Why a command stopped, and the exit code each reason gets (nextest's
//! `ExpectedError::process_exit_code`): one enum, one exhaustive match, no downcasting.
//! Lower layers return typed errors; a subcommand converts each with `?` into the
//! variant that says what it means for the user.

use crate::data::DataError;
use crate::exec::{ExecError, RunError};
use crate::report::compare::CompareError;
use crate::report::rank::RankError;
use crate::spec::problems::{bounded, MESSAGE_CHARS};
use crate::spec::InputError;
use std::fmt;

/// Documented exit codes (README "Exit codes", `pinniped --help`).
pub mod exit {
    /// Every run finished (diverged runs are results too).
    pub(crate) const OK: u8 = 0;
    /// Some runs failed, or an operation failed at run time (I/O).
    pub(crate) const RUNS_FAILED: u8 = 1;
    /// Usage or input error: nothing was run or written.
    pub const INPUT: u8 = 2;
    /// Interrupted (Ctrl-C): finished runs are kept, the same command resumes.
    pub const INTERRUPTED: u8 = crate::output::EXIT_INTERRUPTED;
    /// SIGUSR1: running runs saved their state and stopped; the same command resumes them.
    pub(crate) const SUSPENDED: u8 = crate::output::EXIT_SUSPENDED;
}

#[derive(Debug)]
pub enum AppError {
    /// The sweep file, a flag or a results directory is wrong (each problem names its file,
    /// line or key): nothing was run.
    Input(InputError),
    /// A data file does not fit the model `eval` was given; `error` names its file and line,
    /// `expected` what the model was trained on.
    Data { error: DataError, expected: String },
    /// A summary `compare` (or `rank`) reads is missing or malformed, or a flag names no metric or key.
    Compare(CompareError),
    /// Failed at run time (I/O, drawing, a runner): the input was fine.
    Runtime(anyhow::Error),
}

impl AppError {
    /// The process exit code of this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Input(_) | AppError::Data { .. } | AppError::Compare(_) => exit::INPUT,
            AppError::Runtime(_) => exit::RUNS_FAILED,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Input(e) => write!(f, "{e}"),
            // Bounded like every input problem: the data's own text is echoed in it.
            AppError::Data { error, expected } => {
                write!(f, "{}", bounded(&format!("{error}; {expected}"), MESSAGE_CHARS))
            }
            AppError::Compare(e) => write!(f, "{e}"),
            // The whole chain: "cannot write X: No space left on device".
            AppError::Runtime(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<InputError> for AppError {
    fn from(e: InputError) -> Self {
        AppError::Input(e)
    }
}

impl From<ExecError> for AppError {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Input(e) => AppError::Input(e),
            ExecError::Runtime(e) => AppError::Runtime(e),
        }
    }
}

impl From<RunError> for AppError {
    fn from(e: RunError) -> Self {
        // `pinniped train` trains one run: suspended or failed, it did not finish.
        AppError::Runtime(e.into_anyhow())
    }
}

impl From<CompareError> for AppError {
    fn from(e: CompareError) -> Self {
        match e {
            // A stored sweep that does not parse is the same input error wherever it is read.
            CompareError::Input(e) => AppError::Input(e),
            e => AppError::Compare(e),
        }
    }
}

impl From<RankError> for AppError {
    fn from(e: RankError) -> Self {
        match e {
            RankError::Input(e) => AppError::Input(e),
            RankError::Summary(e) => e.into(),
            RankError::Io(e) => AppError::Runtime(e.into()),
            RankError::Draw(e) => AppError::Runtime(e),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Runtime(e)
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Runtime(e.into())
    }
}

impl From<csv::Error> for AppError {
    fn from(e: csv::Error) -> Self {
        AppError::Runtime(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn every_variant() -> Vec<(AppError, u8)> {
        let input = || InputError::one(Path::new("s.toml"), Some(4), Some("train.epochs"), "must be at least 1");
        let line = DataError::Line { path: PathBuf::from("TRAIN.tsv"), line: 7, message: "not a number".into() };
        vec![
            (AppError::Input(input()), 2),
            (AppError::Data { error: line, expected: "the model was trained on series of 4 values".into() }, 2),
            (AppError::Compare(CompareError::UnknownMetric("f1".into())), 2),
            (AppError::Runtime(anyhow::anyhow!("cannot write summary.csv")), 1),
            (RankError::Input(input()).into(), 2),
            (RankError::Summary(CompareError::NotFound("nowhere".into())).into(), 2),
            (RankError::Summary(CompareError::Input(input())).into(), 2),
            (RankError::Io(std::io::Error::other("disk full")).into(), 1),
            (RankError::Draw(anyhow::anyhow!("cannot draw")).into(), 1),
            (CompareError::Input(input()).into(), 2),
            (std::io::Error::other("disk full").into(), 1),
            (ExecError::Input(input()).into(), 2),
            (RunError::Suspended(crate::train::fit::Boundary { epoch: 4, batch: None }).into(), 1),
            (ExecError::Runtime(anyhow::anyhow!("cannot lock in r: Input/output error")).into(), 1),
        ]
    }

    #[test]
    fn every_variant_has_its_documented_exit_code() {
        for (e, code) in every_variant() {
            assert_eq!(e.exit_code(), code, "{e:?}");
        }
        // Input errors are exit 2 and failures at run time exit 1, as `pinniped --help` says.
        assert_eq!((exit::OK, exit::RUNS_FAILED, exit::INPUT, exit::INTERRUPTED), (0, 1, 2, 130));
    }

    #[test]
    fn a_data_error_keeps_its_file_and_line() {
        let line = DataError::Line { path: PathBuf::from("dir/TRAIN.tsv"), line: 7, message: "not a number".into() };
        let e = AppError::Data { error: line, expected: "the model was trained on 3 classes".into() };
        assert_eq!(e.to_string(), "dir/TRAIN.tsv:7: not a number; the model was trained on 3 classes");
    }

    #[test]
    fn a_stored_sweep_problem_met_by_compare_or_rank_is_an_input_error() {
        let input = InputError::one(Path::new("r/sweep.toml"), Some(2), Some("seed"), "must be a non-negative integer");
        let shown = input.to_string();
        for e in [AppError::from(CompareError::Input(input.clone())), AppError::from(RankError::Input(input))] {
            assert!(matches!(e, AppError::Input(_)), "{e:?}");
            assert_eq!(e.to_string(), shown, "shown as the problem itself");
        }
    }

    #[test]
    fn a_runtime_error_shows_its_whole_chain() {
        let e: AppError = anyhow::Error::from(std::io::Error::other("No space left on device"))
            .context("cannot write results/x/summary.csv")
            .into();
        assert_eq!(e.to_string(), "cannot write results/x/summary.csv: No space left on device");
    }
}
