//! Settings resolved once from the arguments (ripgrep's high-level args): how runs
//! execute (jobs, shard, quiet) and the hidden test mode. Subcommands read these
//! instead of re-deriving defaults from the flags.

use super::args::{ExecArgs, Shard, TestMode};
use crate::exec::trainer::{FakeTrainer, Trainer};
use crate::spec::Plan;

/// How runs execute: `run`, `rerun` and `refit`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exec {
    /// Runs trained at once (`--jobs`, default: the number of cores).
    pub jobs: usize,
    /// Only the runs of this shard (`--shard K/N`).
    pub shard: Option<Shard>,
    /// No progress output.
    pub(crate) quiet: bool,
}

impl Exec {
    pub fn of(a: &ExecArgs) -> Self {
        Exec { jobs: jobs_or_cores(a.jobs), shard: a.shard, quiet: a.quiet }
    }

    /// Whether the run with plan index `index` is one of this process's.
    pub fn has(&self, index: usize) -> bool {
        self.shard.is_none_or(|s| s.contains(index))
    }

    /// The plan indices of this process's runs, in plan order.
    pub(crate) fn in_shard(&self, plan: &Plan) -> Vec<usize> {
        plan.runs.iter().map(|r| r.index).filter(|&i| self.has(i)).collect()
    }
}

/// `--jobs`, else one run per core.
pub(crate) fn jobs_or_cores(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The hidden test mode, resolved: the synthetic trainer that replaces networks, if asked for.
pub struct Test {
    pub(crate) fake_trainer: Option<FakeTrainer>,
    /// The faults the hidden test-mode options inject into real training.
    pub faults: crate::exec::trainer::Faults,
}

impl Test {
    /// Resolves `--fake-*` and arms `--inject-write-error` (a switch of `write_atomic` for
    /// the whole process, so set once, here, before any command writes).
    pub(crate) fn resolve(t: &TestMode) -> Self {
        if let Some(pattern) = &t.inject_write_error {
            crate::results::atomic::inject_write_errors(pattern.clone());
        }
        let fake_trainer = t.fake_trainer.then(|| FakeTrainer {
            delay: std::time::Duration::from_millis(t.fake_delay_ms),
            fail: t.fake_fail.clone(),
            kill_at: t.fake_kill_at.clone(),
        });
        let faults =
            crate::exec::trainer::Faults { kill_at: t.fake_kill_at.clone(), signal_at: t.fake_signal_at.clone() };
        Test { fake_trainer, faults }
    }

    /// The trainer runs use: `real`, unless the test mode replaces it.
    pub fn trainer<'a>(&'a self, real: &'a dyn Trainer) -> &'a dyn Trainer {
        match &self.fake_trainer {
            Some(fake) => fake,
            None => real,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::{Cli, Command};
    use super::*;
    use clap::Parser;

    fn exec_of(args: &[&str]) -> Exec {
        let cli = Cli::try_parse_from(args).unwrap();
        match cli.command {
            Command::Run(a) => Exec::of(&a.exec),
            Command::Rerun(a) => Exec::of(&a.exec),
            other => panic!("not a command that runs: {other:?}"),
        }
    }

    #[test]
    fn jobs_default_to_the_cores_and_flags_win() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(exec_of(&["pinniped", "run", "s.toml"]), Exec { jobs: cores, shard: None, quiet: false });
        assert_eq!(
            exec_of(&["pinniped", "rerun", "r/x", "--failed", "-j", "3", "-q", "--shard", "1/4"]),
            Exec { jobs: 3, shard: Some(Shard { k: 1, n: 4 }), quiet: true }
        );
        assert_eq!(jobs_or_cores(Some(7)), 7);
        assert_eq!(jobs_or_cores(None), cores);
    }

    #[test]
    fn a_shard_keeps_the_runs_of_its_residue() {
        let e = exec_of(&["pinniped", "run", "s.toml", "--shard", "2/3"]);
        assert_eq!((0..9).filter(|&i| e.has(i)).collect::<Vec<_>>(), [2, 5, 8]);
        let all = exec_of(&["pinniped", "run", "s.toml"]);
        assert!((0..9).all(|i| all.has(i)), "no shard: every run");
    }

    #[test]
    fn shard_jobs_and_counts_are_refused_in_words() {
        for (args, says) in [
            (&["pinniped", "run", "s.toml", "--shard", "4/4"][..], "0 <= K < N"),
            (&["pinniped", "run", "s.toml", "--shard", "1"], "write K/N"),
            (&["pinniped", "run", "s.toml", "--shard", "a/4"], "write K/N"),
            (&["pinniped", "run", "s.toml", "--shard", "0/0"], "0 <= K < N"),
            (&["pinniped", "run", "s.toml", "--shard", "0/100001"], "at most 100000 shards"),
            (&["pinniped", "run", "s.toml", "--jobs", "0"], "at least 1"),
            (&["pinniped", "run", "s.toml", "--jobs", "1025"], "at most 1024"),
            (&["pinniped", "slurm", "s.toml", "--tasks", "-2"], "at least 1"),
            (&["pinniped", "train", "--epochs", "-1"], "whole number"),
            (&["pinniped", "train", "--learning-rate", "fast"], "must be a number"),
            (&["pinniped", "run", "s.toml", "--fake-kill-at", "rep-1"], "RUN@EPOCH"),
        ] {
            let e = Cli::try_parse_from(args).unwrap_err().to_string();
            assert!(e.contains(says), "{args:?}: {e}");
        }
        assert_eq!(" 1 / 4 ".parse::<Shard>(), Ok(Shard { k: 1, n: 4 }), "spaces around the numbers are fine");
    }

    #[test]
    fn the_test_mode_replaces_the_trainer_only_when_asked() {
        let cli = Cli::try_parse_from(["pinniped", "run", "s.toml"]).unwrap();
        assert!(Test::resolve(&cli.test_mode).fake_trainer.is_none());
        let cli = Cli::try_parse_from([
            "pinniped",
            "run",
            "s.toml",
            "--fake-trainer",
            "--fake-delay-ms",
            "5",
            "--fake-fail",
            "rep-2",
            "--fake-kill-at",
            "hidden=4/rep-1@3",
        ])
        .unwrap();
        let fake = Test::resolve(&cli.test_mode).fake_trainer.unwrap();
        assert_eq!(fake.delay, std::time::Duration::from_millis(5));
        assert_eq!(fake.fail.as_deref(), Some("rep-2"));
        assert_eq!(fake.kill_at, Some(("hidden=4/rep-1".to_string(), 3)));
    }
}
