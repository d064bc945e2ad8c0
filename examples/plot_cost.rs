//! Measures what drawing one run's plots costs (BENCHMARKS.md):
//!
//!     cargo run --release --example plot_cost -- <run dir> [repeats]
//!
//! Redraws `<run dir>/plots/` `repeats` times and prints the median wall time.

use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).expect("usage: plot_cost <run dir> [repeats]"));
    let repeats: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(11);
    let mut times = Vec::new();
    let mut files = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        files = pinniped::report::plots::plot_run(&dir)?.len();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{files} plots: median {:.1} ms (min {:.1}, max {:.1}) over {repeats} repeats",
        times[repeats / 2] * 1e3,
        times[0] * 1e3,
        times[repeats - 1] * 1e3
    );
    Ok(())
}
