//! Everything pinniped prints goes through here, and so does Ctrl-C.
//!
//! A closed stdout (`pinniped status DIR | head`) means "stop printing": never a
//! panic, never the end of a sweep. The work goes on and writes its files; only the
//! report to the terminal is lost. `println!` would panic on EPIPE (Rust ignores
//! SIGPIPE), so the crate prints only with [`outln!`], [`out!`] and [`errln!`].

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);
/// `--message-format json`: stdout carries only the machine-readable stream
/// ([`write_machine_line`]); everything [`outln!`] and [`out!`] print goes to stderr.
static STDOUT_FOR_MACHINES: AtomicBool = AtomicBool::new(false);

/// From now on stdout carries only [`write_machine_line`]'s lines (set once by the command
/// layer, before anything is printed).
pub(crate) fn reserve_stdout_for_machines() {
    STDOUT_FOR_MACHINES.store(true, Ordering::Relaxed);
}

pub(crate) fn stdout_is_for_machines() -> bool {
    STDOUT_FOR_MACHINES.load(Ordering::Relaxed)
}

/// One line (newline included) of the machine-readable stream on stdout.
pub(crate) fn write_machine_line(line: &str) {
    write_to(&STDOUT_GONE, std::io::stdout().lock(), format_args!("{line}"))
}

/// What Ctrl-C prints: the sweep's finished runs are kept, the rest train next time.
pub const INTERRUPTED: &str = "interrupted; run the same command again to resume";

/// Exit code after SIGINT (128 + 2, the shell convention).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Exit code after SIGUSR1 (Slurm's warning before a time limit, `pinniped slurm --requeue`):
/// every running run saved its state and stopped; the same command resumes them exactly.
/// 75 is `EX_TEMPFAIL` of sysexits.h: "try again later".
pub(crate) const EXIT_SUSPENDED: u8 = 75;

static SUSPEND: AtomicBool = AtomicBool::new(false);

/// Set once SIGUSR1 arrives: running runs save their state at their next batch boundary and
/// stop, and no run starts.
pub(crate) fn suspend_requested() -> bool {
    SUSPEND.load(Ordering::SeqCst)
}

/// "1 run", "3 runs": the one place where counted nouns get their plural.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn write_to(gone: &AtomicBool, mut w: impl Write, args: fmt::Arguments) {
    if gone.load(Ordering::Relaxed) {
        return;
    }
    // Any failure (EPIPE, a full disk behind a redirect) ends printing, not the work.
    if w.write_fmt(args).is_err() {
        gone.store(true, Ordering::Relaxed);
    }
}

#[doc(hidden)]
pub fn write_stdout(args: fmt::Arguments) {
    if stdout_is_for_machines() {
        return write_stderr(args);
    }
    write_to(&STDOUT_GONE, std::io::stdout().lock(), args)
}

#[doc(hidden)]
pub fn write_stderr(args: fmt::Arguments) {
    write_to(&STDERR_GONE, std::io::stderr().lock(), args)
}

/// `println!` that stops quietly when stdout is closed.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that stops quietly when stdout is closed.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}

/// `eprintln!` that stops quietly when stderr is closed.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::write_stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

/// The progress bars on screen, cleared before an interrupted process exits.
static BARS: Mutex<Option<indicatif::MultiProgress>> = Mutex::new(None);

pub(crate) fn show_bars(bars: Option<indicatif::MultiProgress>) {
    if let Ok(mut b) = BARS.lock() {
        *b = bars;
    }
}

/// Ctrl-C (and SIGTERM, as Slurm sends at a time limit): clear the bars, say how
/// to resume, exit 130 (143). Exiting mid-run corrupts nothing: every file is
/// written atomically, a run without `status.json` is unfinished and trains again
/// (from its last saved state). SIGUSR1 only sets [`suspend_requested`]: the sweep saves
/// and stops by itself, and exits [`EXIT_SUSPENDED`].
pub fn handle_interrupts() {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGUSR1]) else {
        return; // the default action (exit by signal) is still safe
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGUSR1 {
                if !SUSPEND.swap(true, Ordering::SeqCst) {
                    errln!("SIGUSR1: saving the running runs' state at their next batch boundary, then exiting");
                }
                continue;
            }
            if let Ok(mut bars) = BARS.lock() {
                if let Some(multi) = bars.take() {
                    let _ = multi.clear();
                    multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                }
            }
            // No stdout lock here: the main thread may hold it, blocked on a full pipe.
            errln!("{INTERRUPTED}");
            std::process::exit(128 + signal);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader went away, as stdout under `| head`.
    struct ClosedPipe;
    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn counted_nouns_agree_with_their_number() {
        for (n, want) in [(0, "0 runs"), (1, "1 run"), (2, "2 runs")] {
            assert_eq!(count(n, "run"), want, "n = {n}");
        }
    }

    #[test]
    fn a_closed_pipe_stops_printing_instead_of_panicking() {
        let gone = AtomicBool::new(false);
        write_to(&gone, ClosedPipe, format_args!("line {}\n", 1));
        assert!(gone.load(Ordering::Relaxed));
        write_to(&gone, ClosedPipe, format_args!("line {}\n", 2)); // no panic, nothing tried
    }

    /// The class of the EPIPE bug: one `println!` left anywhere panics under `| head`.
    #[test]
    fn no_source_file_prints_around_the_output_module() {
        fn walk(dir: &std::path::Path, bad: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, bad);
                } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("output.rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    for (i, line) in text.lines().enumerate() {
                        let code = line.split("//").next().unwrap_or("");
                        if ["println!", "print!(", "eprintln!", "eprint!("].iter().any(|m| code.contains(m)) {
                            bad.push(format!("{}:{}: {}", p.display(), i + 1, line.trim()));
                        }
                    }
                }
            }
        }
        let mut bad = Vec::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut bad);
        assert!(bad.is_empty(), "print with outln!/out!/errln! instead:\n{}", bad.join("\n"));
    }
}
