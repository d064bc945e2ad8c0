//! The command line as typed (ripgrep's low-level args): clap derive definitions and
//! the value types of their flags (`Shard`, counts, numbers). `settings` resolves them
//! once; each subcommand's file turns them into work.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Upper bounds of the counts typed on the command line (every count has one).
pub(crate) const MAX_JOBS: u64 = 1024;
pub(crate) const MAX_TASKS: u64 = 100_000;

/// `--shard K/N`: the runs whose plan index ≡ K (mod N).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    pub fn contains(&self, index: usize) -> bool {
        index % self.n == self.k
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{}`: write K/N with 0 <= K < N, e.g. --shard 0/4", crate::spec::problems::echo(s));
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if n == 0 || k >= n {
            return Err(bad());
        }
        if n as u64 > MAX_TASKS {
            return Err(format!("`{}`: at most {} shards", crate::spec::problems::echo(s), MAX_TASKS));
        }
        Ok(Shard { k, n })
    }
}

/// A count from 1 to `max`, refused in words ("at least 1") rather than as a range.
fn at_least_one(max: u64) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |text: &str| match text.trim().parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n as usize),
        _ => Err(format!("must be a whole number, at least 1 and at most {max}")),
    }
}

/// A whole number from 0 to `max`, refused in words.
fn up_to(max: u64) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |text: &str| match text.trim().parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(format!("must be a whole number from 0 to {max}")),
    }
}

/// A whole number that TOML can store (config.toml keeps it), refused in words rather
/// than as Rust's "invalid digit found in string"; the key's own bound is checked later.
fn whole_number(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n <= i64::MAX as u64 => Ok(n),
        _ => Err(format!("must be a whole number from 0 to {}", i64::MAX)),
    }
}

fn whole_count(text: &str) -> Result<usize, String> {
    whole_number(text).and_then(|n| usize::try_from(n).map_err(|_| "too large for this machine".into()))
}

/// A number, e.g. 0.01 (its range is checked with the key's other rules).
fn number(text: &str) -> Result<f64, String> {
    text.trim().parse::<f64>().map_err(|_| "must be a number, e.g. 0.01".into())
}

#[derive(Parser, Debug)]
#[command(
    name = "pinniped",
    version,
    about = "Hyper-parameter sweeps of small neural networks, declared in TOML: repeats, statistics and pictures",
    long_about = "pinniped trains feed-forward networks on time-series classification data (UCR text, ARFF or aeon .ts), \
                  one configuration (`train`) or a whole sweep (`run`), and writes per-run metrics, checkpoints \
                  and a mean ± std summary over repeats.\n\nExit codes: 0 every run finished (diverged runs are \
                  results), 1 some runs failed, 2 usage or input error, 130 interrupted (Ctrl-C; 143 for SIGTERM): \
                  finished runs are kept and the same command resumes the rest; 75 suspended by SIGUSR1 \
                  (`slurm --requeue`): the running runs saved their training state at their next batch \
                  boundary and resume exactly."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub test_mode: TestMode,
}

/// The test suite's hidden options (as hyperfine configures its mock executor): synthetic
/// runs instead of networks, and injected faults. Read once by `settings` and passed
/// down; never shown in help. Global, so they are written after the subcommand like its own
/// flags (`pinniped run --fake-trainer …`).
#[derive(Args, Debug, Clone, Default)]
pub struct TestMode {
    /// Testing aid: train with synthetic curves instead of networks (`run`, `rerun`, `refit`).
    #[arg(long, hide = true, global = true)]
    pub(crate) fake_trainer: bool,
    /// Testing aid: with --fake-trainer, sleep this many milliseconds per synthetic epoch.
    #[arg(long, hide = true, global = true, value_name = "MS", default_value_t = 0)]
    pub(crate) fake_delay_ms: u64,
    /// Testing aid: with --fake-trainer, fail every run whose id contains PATTERN.
    #[arg(long, hide = true, global = true, value_name = "PATTERN")]
    pub(crate) fake_fail: Option<String>,
    /// Testing aid: the process SIGKILLs itself when the run whose id is RUN reaches EPOCH
    /// (a kill at a chosen point, not after a guessed sleep), with --fake-trainer or real
    /// training (after that epoch, before its state is saved; `RUN#refit@EPOCH`: before the
    /// refit's state of that epoch is saved).
    #[arg(long, hide = true, global = true, value_name = "RUN@EPOCH", value_parser = kill_point)]
    pub(crate) fake_kill_at: Option<(String, usize)>,
    /// Testing aid: real training sends the process SIGUSR1 after EPOCH of the run RUN
    /// (`RUN@EPOCH:BATCH`: after batch BATCH of that epoch).
    #[arg(long, hide = true, global = true, value_name = "RUN@EPOCH[:BATCH]", value_parser = signal_point)]
    pub(crate) fake_signal_at: Option<(String, crate::train::fit::Boundary)>,
    /// Testing aid: every atomic write to a path containing PATTERN fails as on a full disk.
    #[arg(long, hide = true, global = true, value_name = "PATTERN")]
    pub(crate) inject_write_error: Option<String>,
}

/// `RUN@EPOCH` of `--fake-kill-at`.
fn kill_point(text: &str) -> Result<(String, usize), String> {
    let (run, epoch) = text.rsplit_once('@').ok_or("write RUN@EPOCH, e.g. batch_size=40/rep-1@3")?;
    Ok((run.to_string(), epoch.parse().map_err(|_| "EPOCH must be a whole number")?))
}

fn signal_point(text: &str) -> Result<(String, crate::train::fit::Boundary), String> {
    let (run, at) = text.rsplit_once('@').ok_or("write RUN@EPOCH or RUN@EPOCH:BATCH, e.g. batch_size=40/rep-1@3:2")?;
    let whole = |s: &str| s.parse::<usize>().map_err(|_| "EPOCH and BATCH must be whole numbers".to_string());
    let (epoch, batch) = match at.split_once(':') {
        Some((e, b)) => (whole(e)?, Some(whole(b)?)),
        None => (whole(at)?, None),
    };
    Ok((run.to_string(), crate::train::fit::Boundary { epoch, batch }))
}

// Parsed once per process: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a sweep file: expand it into runs, train them in parallel, summarise.
    // A negative count is a value to refuse in words, not an unknown flag.
    #[command(allow_negative_numbers = true)]
    Run(RunArgs),
    /// Train one configuration (a file with [data] and [train], and/or flags).
    // A negative count is a value to refuse in words, not an unknown flag.
    #[command(allow_negative_numbers = true)]
    Train(TrainArgs),
    /// Evaluate a saved model on a data file (the paper's test-only mode).
    // A negative count is a value to refuse in words, not an unknown flag.
    #[command(allow_negative_numbers = true)]
    Eval(EvalArgs),
    /// Show how many runs of a sweep are done, diverged, failed, running or pending.
    Status(DirArgs),
    /// Rerun failed and unfinished runs, or the named ones, then refresh the summary.
    // A negative count is a value to refuse in words, not an unknown flag.
    #[command(allow_negative_numbers = true)]
    Rerun(RerunArgs),
    /// Rebuild summary.csv from the run directories.
    Summarize(DirArgs),
    /// Redraw the sweep's plots and write report.html (summary, plots, links to every run).
    Report(DirArgs),
    /// Compare two sweeps configuration by configuration: paired by repeat when their runs pair
    /// (same data, seed, pairing and repeats), else Welch's t-test; CIs and Holm-adjusted p.
    Compare(CompareArgs),
    /// Train the configuration chosen by mean validation (or --config ID) again on all training
    /// rows, for the median epoch its runs kept; writes refit/<config id>/ and refit.csv.
    // A negative count is a value to refuse in words, not an unknown flag.
    #[command(allow_negative_numbers = true)]
    Refit(RefitArgs),
    /// Rank configurations across datasets (one results directory each, same sweep design), with
    /// the one selected by validation and published results: average ranks, Friedman,
    /// Wilcoxon–Holm cliques; ranks.csv, wins.csv, friedman.csv, cd-diagram.png.
    Rank(RankArgs),
    /// Follow a sweep from its files alone (also on a login node while a Slurm array trains):
    /// counts by state, throughput, ETA, the best configurations by validation with their 95%
    /// intervals; refreshes every --interval seconds until every run has ended.
    Watch(WatchArgs),
    /// Write (and with --submit, submit) a Slurm job array that runs the sweep in shards.
    // A negative count is a value to refuse in words, not an unknown flag.
    #[command(allow_negative_numbers = true)]
    Slurm(SlurmArgs),
}

#[derive(Args, Debug)]
pub struct SlurmArgs {
    /// The sweep file (TOML).
    pub file: PathBuf,
    /// Array tasks; task K runs `pinniped run FILE --shard K/N` (more tasks than runs: one run each).
    #[arg(long, value_parser = at_least_one(MAX_TASKS))]
    pub tasks: usize,
    /// Results go to OUT/<name>/ (must be on a filesystem every node sees).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// At most K tasks at once (the array's %K throttle).
    #[arg(long, value_name = "K", value_parser = at_least_one(MAX_TASKS))]
    pub(crate) max_parallel: Option<usize>,
    /// Slurm partition (queue) for every task (default: the cluster's default partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per task, in Slurm's syntax (e.g. 1:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per task; each task trains that many runs at once.
    #[arg(long, default_value_t = 1, value_parser = at_least_one(MAX_JOBS))]
    pub(crate) cpus_per_task: usize,
    /// The tasks rerun only failed and unfinished runs (after an earlier array).
    #[arg(long)]
    pub(crate) only_failed: bool,
    /// Submit with sbatch (array, then the merge job after it) and print the job ids.
    #[arg(long)]
    pub submit: bool,
    /// Ask Slurm for SIGUSR1 --warn-seconds before the time limit: the running runs save their
    /// training state at their next batch boundary, pinniped exits 75 and the task requeues
    /// itself and resumes them exactly.
    #[arg(long)]
    pub(crate) requeue: bool,
    /// With --requeue: how many seconds before the time limit the warning comes.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = at_least_one(65535), requires = "requeue")]
    pub(crate) warn_seconds: usize,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The sweep file (TOML).
    pub file: PathBuf,
    /// Results go to OUT/<name>/.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Print the plan (ids, parameters, seeds; with --shard, that shard's runs) and train nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Stop starting new runs after the first failure.
    #[arg(long)]
    pub(crate) fail_fast: bool,
    /// Reuse a results directory made with another seed, data or baseline,
    /// retraining the runs whose configuration changed.
    #[arg(long)]
    pub force: bool,
    /// Successive halving: seconds to wait at a rung for runs of other shards or processes that
    /// no live process holds, before exiting 75 (run the command again to carry on); 0 to 86400.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::exec::halving::DEFAULT_RUNG_WAIT_SECONDS,
          value_parser = up_to(crate::exec::halving::MAX_RUNG_WAIT_SECONDS))]
    pub(crate) rung_wait: u64,
}

/// How runs execute: shared by `run` and `rerun`.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Runs trained at once, one thread each, 1 to 1024 (default: the number of cores).
    #[arg(long, short = 'j', value_parser = at_least_one(MAX_JOBS))]
    pub jobs: Option<usize>,
    /// No progress output (the summary is still written).
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    /// Only the runs whose plan index ≡ K (mod N), e.g. 0/4; shards can share one
    /// results directory (a run is claimed before it trains).
    #[arg(long, value_name = "K/N", allow_hyphen_values = true)]
    pub shard: Option<Shard>,
    /// human: progress and results for people; json: the events of events.jsonl on stdout, one
    /// JSON object a line (human text goes to stderr).
    #[arg(long, value_enum, default_value = "human")]
    pub(crate) message_format: MessageFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MessageFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// A sweep's results directory: <out>/<name>.
    pub dir: PathBuf,
    /// Seconds between frames (0.1 to 3600).
    #[arg(long, default_value_t = 2.0, value_parser = interval)]
    pub interval: f64,
    /// Print one frame and exit.
    #[arg(long)]
    pub once: bool,
}

fn interval(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if (0.1..=3600.0).contains(&s) => Ok(s),
        _ => Err("must be a number of seconds from 0.1 to 3600, e.g. 2".into()),
    }
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// A file with [data] and [train] tables (flags override its keys).
    pub file: Option<PathBuf>,
    /// Directory for the run's files.
    #[arg(long, default_value = "results/train")]
    pub out: PathBuf,
    /// Training data (UCR text, ARFF or aeon .ts, optionally .gz).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Test data, evaluated alongside (same format as --train).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Reserve every Nth row (after the initial shuffle) for validation.
    #[arg(long, value_parser = whole_count)]
    pub reserve_every: Option<usize>,
    /// Reserve the last fraction of rows for validation.
    #[arg(long, value_parser = number)]
    pub reserve_fraction: Option<f64>,
    /// Hidden layer widths, comma-separated ("64", "32,32"; "" for a linear model).
    #[arg(long)]
    pub hidden: Option<String>,
    /// sigmoid | tanh | relu
    #[arg(long)]
    pub activation: Option<String>,
    /// Step size of gradient descent, e.g. 0.01.
    #[arg(long, value_parser = number)]
    pub learning_rate: Option<f64>,
    /// Rows per gradient step.
    #[arg(long, value_parser = whole_count)]
    pub batch_size: Option<usize>,
    /// Momentum in [0, 1] (0: plain gradient descent).
    #[arg(long, value_parser = number)]
    pub momentum: Option<f64>,
    /// damped (the paper's) | classic (PyTorch's)
    #[arg(long)]
    pub momentum_rule: Option<String>,
    /// mse-sum | mse-mean | cross-entropy
    #[arg(long)]
    pub loss: Option<String>,
    /// paper | pytorch
    #[arg(long)]
    pub init: Option<String>,
    /// Passes over the training rows.
    #[arg(long, value_parser = whole_count)]
    pub epochs: Option<usize>,
    /// f32 | f64
    #[arg(long)]
    pub dtype: Option<String>,
    /// Seed of the initial weights and the shuffles (same seed, same run, bit for bit).
    // Bounded as TOML integers are: the seed is stored in config.toml.
    #[arg(long, value_parser = whole_number)]
    pub seed: Option<u64>,
    /// Save a checkpoint every N epochs (0: final model only).
    #[arg(long, value_parser = whole_count)]
    pub save_every: Option<usize>,
    /// Any other [train] key: --set weight_decay=0.01 (TOML value syntax).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// No per-epoch output.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A model.safetensors or checkpoint written by pinniped.
    #[arg(long)]
    pub model: PathBuf,
    /// Data file to evaluate (UCR text, ARFF or aeon .ts, optionally .gz).
    #[arg(long)]
    pub data: PathBuf,
    /// ucr | arff | ts (default: from the file name).
    #[arg(long)]
    pub format: Option<String>,
    /// Print one CSV row (accuracy, hits, rows, data) instead of the text layout.
    #[arg(long)]
    pub csv: bool,
    /// Also write the confusion matrix as CSV to FILE (rows: actual class, columns: predicted).
    #[arg(long, value_name = "FILE")]
    pub confusion: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DirArgs {
    /// A sweep's results directory: <out>/<name>.
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["failed", "run"])))]
pub struct RerunArgs {
    /// A sweep's results directory: <out>/<name>.
    pub dir: PathBuf,
    /// Rerun every failed or unfinished run.
    #[arg(long)]
    pub failed: bool,
    /// Rerun this run (an id as in plan.csv, e.g. batch_size=40/rep-2); repeat for more.
    // One value per flag: `--run ID DIR` must not read DIR as a second id.
    #[arg(long = "run", value_name = "ID", action = clap::ArgAction::Append)]
    pub run: Vec<String>,
    /// Retrain even though the data files' bytes changed since the runs were trained.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct RefitArgs {
    /// A sweep's results directory: <out>/<name>.
    pub dir: PathBuf,
    /// The configuration to refit (as in plan.csv's `config` column, e.g. hidden=64); default:
    /// the best by mean validation accuracy.
    #[arg(long, value_name = "ID")]
    pub config: Option<String>,
    /// Refit runs, each with its own seed (default: the configuration's runs in the sweep).
    #[arg(long, value_name = "N", value_parser = at_least_one(crate::exec::refit::MAX_REFIT_RUNS as u64))]
    pub repeats: Option<usize>,
    /// Runs trained at once, one thread each, 1 to 1024 (default: the number of cores).
    #[arg(long, short = 'j', value_parser = at_least_one(MAX_JOBS))]
    pub jobs: Option<usize>,
    /// Retrain finished refit runs made with another configuration (epoch count, data or key).
    #[arg(long)]
    pub force: bool,
    /// No progress output (refit.csv is still written).
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("format").args(["csv", "markdown"])))]
pub struct CompareArgs {
    /// A results directory (its runs are read for a paired test) or a bare summary.csv.
    pub a: PathBuf,
    /// A results directory (its runs are read for a paired test) or a bare summary.csv.
    pub b: PathBuf,
    /// Which metric to compare.
    #[arg(long, default_value = "final_test_acc")]
    pub metric: String,
    /// Compare rows even where this [train] key differs (repeatable); rows must
    /// otherwise agree on their whole configuration.
    #[arg(long = "ignore", value_name = "KEY")]
    pub ignore: Vec<String>,
    /// Print the comparison as CSV (one row per configuration; columns in the README).
    #[arg(long)]
    pub csv: bool,
    /// Print the comparison as a Markdown table.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Args, Debug)]
pub struct RankArgs {
    /// Results directories, one per dataset, made from the same sweep design (at least two).
    #[arg(required = true, num_args = 1..)]
    pub dirs: Vec<PathBuf>,
    /// Which accuracy ranks the configurations: the mean final test or final validation accuracy.
    #[arg(long, value_enum, default_value = "test")]
    pub metric: RankMetric,
    /// Published per-dataset test accuracies to rank beside the configurations: a CSV
    /// `dataset,<method>,…` (e.g. data/published/fawaz2019.csv), accuracies in [0, 1].
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
    /// The entry wins.csv counts wins, ties and losses against: a configuration id, `selected` or
    /// a published method (default: the best ranked).
    #[arg(long, value_name = "NAME")]
    pub against: Option<String>,
    /// Significance level of the Friedman test and of the Holm-corrected Wilcoxon tests.
    #[arg(long, default_value_t = 0.1)]
    pub alpha: f64,
    /// What decides the cliques: pairwise Wilcoxon signed-rank tests with aeon's Holm alpha, or
    /// Nemenyi's critical difference of average ranks.
    #[arg(long, value_enum, default_value = "wilcoxon")]
    pub test: RankTest,
    /// Where ranks.csv, wins.csv, friedman.csv and cd-diagram.png go: a new or empty directory,
    /// or an earlier `pinniped rank` output.
    #[arg(long, default_value = "rank")]
    pub out: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankMetric {
    Test,
    Valid,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankTest {
    Wilcoxon,
    Nemenyi,
}
