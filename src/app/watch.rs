//! `pinniped watch DIR`: frames of `report::watch` until every run has ended (one with
//! `--once`); on a terminal each frame replaces the last, elsewhere frames follow one another.

use super::args::WatchArgs;
use super::error::{exit, AppError};
use super::results_dir::open_results;

pub fn watch(a: WatchArgs) -> Result<u8, AppError> {
    let (sweep, plan) = open_results(&a.dir)?;
    let mut watcher = crate::report::watch::Watcher::new(&a.dir, &sweep.name, &plan);
    let redraw = !a.once && std::io::IsTerminal::is_terminal(&std::io::stdout());
    loop {
        let frame = watcher.frame(std::time::SystemTime::now())?;
        out!("{}{}", if redraw { "\x1b[H\x1b[2J" } else { "" }, frame.text);
        if a.once || frame.ended {
            return Ok(exit::OK);
        }
        if !redraw {
            outln!();
        }
        std::thread::sleep(std::time::Duration::from_secs_f64(a.interval));
    }
}
