//! Why executing stopped (issue 12 §4): [`ExecError`] for a sweep's operations (a problem
//! with the input, found before anything was written, or a failure at run time) and
//! [`RunError`] for one run (suspended, or failed). The application layer maps each variant
//! to its exit code in one `From` impl (`app::error`), so that nothing has to be downcast.

use crate::spec::InputError;
use crate::train::fit::{Boundary, FitError, ResumeError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecError {
    /// The results directory or a setting is wrong (a symlink where pinniped writes, a bad
    /// `PINNIPED_LOCK`, a value a Slurm script cannot hold): nothing was written.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Failed at run time (I/O, a thread pool, the lock probe): the input was fine.
    #[error(transparent)]
    Runtime(#[from] anyhow::Error),
}

impl From<std::io::Error> for ExecError {
    fn from(e: std::io::Error) -> Self {
        ExecError::Runtime(e.into())
    }
}

/// How one run ended without a status (`Trainer::train`).
#[derive(Debug)]
pub enum RunError {
    /// Stopped at this batch or epoch boundary (SIGUSR1) with its state saved: neither
    /// finished nor failed; the same command resumes it.
    Suspended(Boundary),
    /// Stopped at its rung (successive halving) with its state saved: neither finished nor
    /// failed; the next round resumes it, or prunes it.
    Paused(usize),
    /// The run failed; the caller records the reason (the whole chain) in its status.
    Failed(anyhow::Error),
}

impl RunError {
    /// As one error for callers that only report it (`pinniped train`).
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            RunError::Suspended(epoch) => ResumeError::Suspended(epoch).into(),
            RunError::Paused(epoch) => ResumeError::Paused(epoch).into(),
            RunError::Failed(e) => e,
        }
    }
}

impl From<FitError> for RunError {
    fn from(e: FitError) -> Self {
        match e {
            FitError::Resume(ResumeError::Suspended(epoch)) => RunError::Suspended(epoch),
            FitError::Resume(ResumeError::Paused(epoch)) => RunError::Paused(epoch),
            // A refused state is handled where it is met (the run starts afresh); any other
            // stop fails the run.
            e => RunError::Failed(e.into_anyhow()),
        }
    }
}

impl From<anyhow::Error> for RunError {
    fn from(e: anyhow::Error) -> Self {
        RunError::Failed(e)
    }
}

impl From<crate::results::predictions::PredictionsError> for RunError {
    fn from(e: crate::results::predictions::PredictionsError) -> Self {
        RunError::Failed(e.into())
    }
}

impl From<std::io::Error> for RunError {
    fn from(e: std::io::Error) -> Self {
        RunError::Failed(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_error_keeps_its_whole_chain() {
        use anyhow::Context;
        let e: ExecError = Err::<(), _>(std::io::Error::other("No space left on device"))
            .context("cannot write plan.csv")
            .unwrap_err()
            .into();
        assert!(matches!(e, ExecError::Runtime(_)));
        assert_eq!(format!("{e:#}"), "cannot write plan.csv: No space left on device");
    }

    #[test]
    fn a_suspended_fit_is_a_suspended_run_and_a_refused_state_a_failed_one() {
        let at = Boundary { epoch: 7, batch: Some(2) };
        assert!(
            matches!(RunError::from(FitError::Resume(ResumeError::Suspended(at))), RunError::Suspended(b) if b == at)
        );
        let refused = RunError::from(FitError::Resume(ResumeError::Refused("another network".into())));
        let RunError::Failed(e) = refused else { panic!("not failed") };
        assert_eq!(e.to_string(), "the saved state does not fit the run: another network");
        let after = RunError::Suspended(Boundary { epoch: 3, batch: None }).into_anyhow().to_string();
        assert_eq!(after, "suspended after epoch 3, its state saved");
        assert_eq!(
            RunError::Suspended(at).into_anyhow().to_string(),
            "suspended in epoch 7 after batch 2, its state saved"
        );
    }

    #[test]
    fn an_input_error_stays_one() {
        let e: ExecError = InputError::message("PINNIPED_LOCK=`x`: use `file` or `flock`").into();
        assert!(matches!(e, ExecError::Input(_)));
        assert_eq!(e.to_string(), "PINNIPED_LOCK=`x`: use `file` or `flock`");
    }
}
