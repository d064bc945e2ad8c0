//! The application layer, the top of the library: what `pinniped` does for each
//! subcommand. [`args`] is the command line as typed, [`settings`] what it resolves to,
//! one file per subcommand turns them into work, [`render`] holds the text they share,
//! and [`error::AppError`] says why a command stopped and with which exit code.

pub mod args;
mod compare;
pub mod error;
mod eval;
mod prepare;
mod rank;
mod refit;
mod render;
mod report;
mod rerun;
mod results_dir;
mod run;
pub mod settings;
mod slurm;
mod status;
mod summarize;
mod train;
mod watch;

pub use error::{exit, AppError};

use args::{Cli, Command};
use settings::Test;

/// Runs the parsed command line; the exit code of a command that finished (1 when some
/// of its runs failed), or why it stopped.
pub fn dispatch(cli: Cli) -> Result<u8, AppError> {
    let test = Test::resolve(&cli.test_mode);
    if let Command::Run(args::RunArgs { exec, .. }) | Command::Rerun(args::RerunArgs { exec, .. }) = &cli.command {
        if exec.message_format == args::MessageFormat::Json {
            crate::output::reserve_stdout_for_machines();
        }
    }
    match cli.command {
        Command::Run(a) => run::run(a, &test),
        Command::Train(a) => train::train(a),
        Command::Eval(a) => eval::eval(a),
        Command::Status(a) => status::status(&a.dir),
        Command::Rerun(a) => rerun::rerun(a, &test),
        Command::Summarize(a) => summarize::summarize(&a.dir),
        Command::Compare(a) => compare::compare(a),
        Command::Slurm(a) => slurm::slurm(a),
        Command::Report(a) => report::report(&a.dir),
        Command::Refit(a) => refit::refit(a, &test),
        Command::Rank(a) => rank::rank(a),
        Command::Watch(a) => watch::watch(a),
    }
}
