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
    keep_freed_memory();
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

/// candle allocates a fresh tensor for every operation. glibc hands blocks over 128 KB to
/// `mmap` and gives freed heap beyond 128 KB back to the kernel, so every epoch faulted
/// megabytes of pages in again: a quarter of a candle baseline run was page faults
/// (2.9 s → 1.8 s with this, peak RSS unchanged; BENCHMARKS.md). Keeping blocks up to 32 MB
/// in the heap and 64 MB of freed memory per arena ends that. A user's own
/// `GLIBC_TUNABLES` for malloc wins.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if !std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("malloc")) {
        // SAFETY: mallopt only sets allocator parameters; called once, before any thread starts.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
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
