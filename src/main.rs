use clap::Parser;
use pinniped::app::args::Cli;
use pinniped::app::{dispatch, exit};
use pinniped::errln;
use std::process::ExitCode;

fn main() -> ExitCode {
    // One thread per run: candle and gemm must not start pools of their own inside
    // the run pool (they would fight it). Set before any tensor operation.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    // A panic inside a run becomes that run's `failed` status with the message;
    // one line on stderr is enough.
    std::panic::set_hook(Box::new(|info| errln!("internal error: {info}")));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors echo what was typed (`invalid value '…' for '--jobs'`): bounded too.
        Err(e) if e.use_stderr() => {
            print_bounded(&e.render().to_string());
            return ExitCode::from(exit::INPUT);
        }
        Err(e) => e.exit(), // --help, --version
    };
    pinniped::output::handle_interrupts();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            print_bounded(&format!("error: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}

/// The last guard on echoed input: no line of an error is unbounded or carries
/// control characters.
fn print_bounded(text: &str) {
    for line in text.trim_end().lines() {
        errln!("{}", pinniped::spec::problems::bounded(line, pinniped::spec::problems::LINE_CHARS));
    }
}
