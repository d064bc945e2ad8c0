//! `pinniped rank`: configurations of one sweep design compared across datasets (Demšar 2006),
//! one results directory per dataset. Per dataset, each configuration's mean accuracy (from
//! summary.csv, read as `pinniped compare` reads it); average ranks, the Friedman test and the
//! cliques of a critical-difference diagram ([`crate::stats::ranks::critical_difference`]:
//! one-sided Wilcoxon signed-rank tests with aeon's Holm alpha); a win/tie/loss table against a
//! chosen entry (`--against`). `--test nemenyi` finds the cliques with Nemenyi's critical
//! difference of average ranks instead.
//!
//! Beside the configurations, two kinds of entries are ranked like them: `selected`, per dataset
//! the test accuracy of the configuration best by mean validation accuracy (what the tuned method
//! "is"), and published methods (`--reference FILE`, [`super::published`]), on the datasets the
//! file has.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::compare::{read_summary, CompareError, Summary, SummaryRow, METRICS};
use super::published::Published;
use crate::results::atomic::write_atomic;
use crate::spec::InputError;
use crate::stats::ranks::{critical_difference_with, nemenyi_cd, CriticalDifference, PairTest};

/// The marker `pinniped rank` leaves in its output directory: only such a directory (or an empty
/// one) is written into.
pub(crate) const RANK_MARKER: &str = ".pinniped-rank";
const RANK_MARKER_TEXT: &str =
    "written by `pinniped rank`; its files are replaced by the next `pinniped rank --out` here\n";

/// Files written into `--out`.
pub(crate) const RANKS_FILE: &str = "ranks.csv";
pub(crate) const WINS_FILE: &str = "wins.csv";
pub(crate) const FRIEDMAN_FILE: &str = "friedman.csv";
pub(crate) const CD_FILE: &str = "cd-diagram.png";

/// Why `pinniped rank` stopped: its input (flags, directories, summaries) is refused, or
/// writing or drawing its files failed.
#[derive(Debug, thiserror::Error)]
pub enum RankError {
    #[error(transparent)]
    Input(#[from] InputError),
    /// A directory's summary.csv, read as `compare` reads it.
    #[error(transparent)]
    Summary(#[from] CompareError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The critical-difference diagram could not be drawn.
    #[error(transparent)]
    Draw(anyhow::Error),
}

/// At most this many datasets (directories) are ranked together.
pub(crate) const MAX_DATASETS: usize = 10_000;
/// Dataset names printed in the table's first line.
const DATASETS_SHOWN: usize = 8;

/// The summary.csv metric whose ranking gains the `selected` entry and published methods.
pub(crate) const TEST_METRIC: &str = "final_test_acc";
const VALID_METRIC: &str = "final_valid_acc";
/// The name of the entry chosen by validation on each dataset.
pub(crate) const SELECTED: &str = "selected";

/// One dataset: its name and each configuration's mean accuracy, by configuration id.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub dir: PathBuf,
    /// Configuration ids in plan order, with their mean accuracy (`None`: no done run).
    pub accuracy: Vec<(String, Option<f64>)>,
    /// The configuration selection by validation picks, when ranking test accuracy.
    pub selected: Option<Selected>,
}

/// The configuration with the best mean final validation accuracy on a dataset (ties: the first
/// in plan order, as `summary.csv`'s "best by validation") and its mean final test accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub config: String,
    pub accuracy: Option<f64>,
}

/// What a ranked entry is: how the tables and the diagram tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Configuration,
    /// [`SELECTED`]: per dataset, the configuration chosen by validation.
    Selected,
    /// A method of the `--reference` file.
    Published,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Configuration => "configuration",
            Kind::Selected => "selected",
            Kind::Published => "published",
        }
    }
}

/// A configuration left out of the ranking, and the datasets that lack a value for it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LeftOut {
    pub config: String,
    pub(crate) missing_in: Vec<String>,
}

/// The ranking of the entries every dataset has a value for.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub datasets: Vec<String>,
    /// Ranked entries: configuration ids in the first dataset's plan order, then [`SELECTED`],
    /// then the published methods in file order; `kinds` says which is which.
    pub configs: Vec<String>,
    pub(crate) kinds: Vec<Kind>,
    /// Per dataset, the configuration [`SELECTED`] stands for (`None`: not ranked, or no choice).
    pub selected: Vec<Option<String>>,
    /// The datasets left out because the `--reference` file has no row for them.
    pub(crate) datasets_left_out: Vec<String>,
    /// The `--reference` file's name, when there is one.
    pub published: Option<String>,
    /// `scores[d][m]`: accuracy of configuration m on dataset d.
    pub scores: Vec<Vec<f64>>,
    pub(crate) left_out: Vec<LeftOut>,
    /// Average rank of each configuration (1 = best; ties share the mean rank).
    pub(crate) average_ranks: Vec<f64>,
    /// Friedman test, pairwise tests and cliques; `None` when every dataset ties every configuration.
    pub cd: Option<CriticalDifference>,
    /// Configurations from best to worst average rank.
    pub order: Vec<usize>,
    /// Win/tie/loss of each entry against entry `against`, counted over the datasets.
    pub against: usize,
    pub wins: Vec<(usize, usize, usize)>,
    /// How the cliques were found, and at which level.
    pub test: PairTest,
    pub alpha: f64,
}

/// The dataset a results directory was made on: its `[data] train` file's name without
/// extensions and a `_TRAIN` suffix (`GunPoint_TRAIN.ts.gz` → `GunPoint`), else the sweep's name.
pub(crate) fn dataset_name(train_file: &Path, sweep_name: &str) -> String {
    let file = train_file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let mut stem = file.as_str();
    for ext in [".gz", ".tsv", ".ts", ".arff", ".csv", ".txt"] {
        stem = stem.strip_suffix(ext).unwrap_or(stem);
    }
    let stem = stem.strip_suffix("_TRAIN").or_else(|| stem.strip_suffix("_train")).unwrap_or(stem);
    if stem.is_empty() {
        sweep_name.to_string()
    } else {
        stem.to_string()
    }
}

/// The datasets of one results directory: those of a multi-dataset sweep (`[datasets]`), each
/// from the rows of summary.csv led by its name, else the directory's one dataset.
pub(crate) fn datasets_in(dir: &Path, metric: &str) -> Result<Vec<Dataset>, RankError> {
    use crate::results::layout::SWEEP_FILE;
    let stored = dir.join(SWEEP_FILE);
    let file = dir.join(crate::results::layout::SUMMARY_FILE);
    for path in [&stored, &file] {
        crate::results::rundir::check_no_symlink_below(dir, path)?;
    }
    let sweep = match crate::spec::load_stored_sweep(&stored) {
        Ok(sweep) if !sweep.datasets.is_empty() => sweep,
        _ => return Ok(vec![read_dataset(dir, metric)?]),
    };
    let plan = crate::spec::expand(&sweep)?;
    let stale = |why: String| {
        InputError::message(format!(
            "{}: {why}; run `pinniped summarize {}` to rebuild it",
            file.display(),
            dir.display()
        ))
    };
    let bytes = crate::fsx::read_bounded(&file, crate::fsx::MAX_TABLE_BYTES)
        .map_err(|e| InputError::message(format!("{}: cannot read it ({e})", file.display())))?;
    let table = crate::results::summary_file::parse(&bytes).map_err(
        |crate::results::summary_file::Malformed { line, message }| stale(format!("line {line}: {message}")),
    )?;
    let column = format!("{metric}_mean");
    let mean = |r: &SummaryRow, metric: &str| r.metric(metric).and_then(|m| m.mean);
    if table.axes.first().map(String::as_str) != Some("dataset") || !METRICS.contains(&metric) {
        return Err(stale(format!("no `dataset` column first, or no `{column}` column")).into());
    }
    let mut out = Vec::new();
    for (d, name) in plan.datasets.iter().enumerate() {
        let ids: Vec<&str> = plan.configs.iter().filter(|c| c.dataset == Some(d)).map(|c| c.id.as_str()).collect();
        let mine: Vec<&SummaryRow> = table.rows.iter().filter(|r| r.values[0] == *name).collect();
        let values: Vec<Option<f64>> = mine.iter().map(|r| mean(r, metric)).collect();
        if values.len() != ids.len() {
            return Err(stale(format!(
                "dataset {name} has {} rows for the sweep's {} configurations",
                values.len(),
                ids.len()
            ))
            .into());
        }
        let accuracy = ids.iter().map(|id| id.to_string()).zip(values).collect();
        // Selection by validation, as `selected_by_validation` does for a one-dataset directory.
        let selected = (metric == TEST_METRIC)
            .then(|| {
                let (r, id) =
                    first_best(mine.iter().zip(&ids).filter_map(|(r, id)| Some(((*r, *id), mean(r, VALID_METRIC)?))))?;
                Some(Selected { config: id.to_string(), accuracy: mean(r, TEST_METRIC) })
            })
            .flatten();
        out.push(Dataset { name: name.clone(), dir: dir.to_path_buf(), accuracy, selected });
    }
    Ok(out)
}

/// Selection by validation over `rows` (configurations `ids`): see [`Selected`].
pub(crate) fn selected_by_validation(rows: &[SummaryRow], ids: &[String]) -> Option<Selected> {
    let valid = |r: &SummaryRow| r.metric(VALID_METRIC).and_then(|m| m.mean);
    let (row, id) = first_best(rows.iter().zip(ids).filter_map(|(r, id)| Some(((r, id), valid(r)?))))?;
    Some(Selected { config: id.clone(), accuracy: row.metric(TEST_METRIC).and_then(|m| m.mean) })
}

/// The item of the highest score, the first of a tie (plan order decides, as summary.csv's
/// "best by validation" does); `None` for no items.
fn first_best<T>(scored: impl Iterator<Item = (T, f64)>) -> Option<T> {
    scored
        .fold(None, |best: Option<(T, f64)>, (x, v)| match best {
            Some((_, b)) if b.total_cmp(&v).is_ge() => best,
            _ => Some((x, v)),
        })
        .map(|(x, _)| x)
}

/// Reads one results directory's configurations and their mean `metric`.
fn read_dataset(dir: &Path, metric: &str) -> Result<Dataset, RankError> {
    let summary: Summary = read_summary(dir)?;
    let Some(stored) = &summary.stored else {
        return Err(InputError::message(format!(
            "{}: no sweep.toml beside summary.csv; `pinniped rank` needs results directories (it names \
             datasets and matches configurations by the stored sweep)",
            summary.path.display()
        ))
        .into());
    };
    let accuracy = summary
        .rows
        .iter()
        .zip(&stored.config_ids)
        .map(|(row, id)| (id.clone(), row.metric(metric).and_then(|m| m.mean)))
        .collect();
    let selected = (metric == TEST_METRIC).then(|| selected_by_validation(&summary.rows, &stored.config_ids)).flatten();
    Ok(Dataset { name: dataset_name(&stored.train_file, &stored.name), dir: dir.to_path_buf(), accuracy, selected })
}

/// Ranks the configurations every dataset has a value for, with `selected` (where the datasets
/// have it) and the methods of `published` (on the datasets it has a row for).
///
/// # Errors
/// Fewer than two datasets (in `published`, when given), two datasets of one name, fewer than
/// three shared entries, a published method named like a configuration, an unknown `against`, or
/// `alpha` outside (0, 1): input errors.
pub fn rank(
    datasets: &[Dataset],
    published: Option<&Published>,
    against: Option<&str>,
    alpha: f64,
    test: PairTest,
) -> Result<Ranking, InputError> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(InputError::message(format!(
            "--alpha {alpha}: give a significance level between 0 and 1, e.g. 0.1"
        )));
    }
    if datasets.len() < 2 {
        return Err(InputError::message(
            "ranking needs at least two results directories, one per dataset, made from the same sweep design",
        ));
    }
    if datasets.len() > MAX_DATASETS {
        return Err(InputError::message(format!("{} directories: at most {MAX_DATASETS} are ranked", datasets.len())));
    }
    for (i, d) in datasets.iter().enumerate() {
        if let Some(other) = datasets[..i].iter().find(|o| o.name == d.name) {
            return Err(InputError::message(format!(
                "{} and {} are both dataset `{}` (named after their [data] train file); rank each dataset once",
                other.dir.display(),
                d.dir.display(),
                d.name
            )));
        }
    }
    // With published results, the datasets both have.
    let (datasets, datasets_left_out): (Vec<&Dataset>, Vec<&Dataset>) =
        datasets.iter().partition(|d| published.is_none_or(|p| p.row(&d.name).is_some()));
    if let Some(p) = published {
        if datasets.len() < 2 {
            let theirs: Vec<&str> = p.rows.iter().take(DATASETS_SHOWN).map(|r| r.dataset.as_str()).collect();
            let ours: Vec<&str> = datasets_left_out.iter().take(DATASETS_SHOWN).map(|d| d.name.as_str()).collect();
            return Err(InputError::message(format!(
                "--reference {}: {} of the datasets ranked have a row in it; ranking needs at least two. Its \
                 datasets: {}{}; the directories': {}{} (names must match exactly)",
                p.path.display(),
                datasets.len(),
                theirs.join(", "),
                if p.rows.len() > DATASETS_SHOWN { ", …" } else { "" },
                ours.join(", "),
                if datasets_left_out.len() > DATASETS_SHOWN { ", …" } else { "" },
            )));
        }
    }
    let value = |d: &Dataset, id: &str| d.accuracy.iter().find(|(c, _)| c == id).and_then(|(_, v)| *v);
    let mut entries: Vec<(String, Kind)> = Vec::new();
    for (id, _) in datasets.iter().flat_map(|d| &d.accuracy) {
        if !entries.iter().any(|(e, _)| e == id) {
            entries.push((id.clone(), Kind::Configuration));
        }
    }
    if datasets.iter().any(|d| d.selected.is_some()) {
        entries.push((SELECTED.to_string(), Kind::Selected));
    }
    if let Some(p) = published {
        for (c, m) in p.methods.iter().enumerate() {
            if entries.iter().any(|(e, _)| e == m) {
                return Err(InputError::message(format!(
                    "{}: line 1, column {}: method `{m}` has the name of a ranked entry of these sweeps; rename \
                     the column (e.g. `{m} (published)`)",
                    p.path.display(),
                    c + 2
                )));
            }
            entries.push((m.clone(), Kind::Published));
        }
    }
    let score = |d: &Dataset, (name, kind): &(String, Kind)| match kind {
        Kind::Configuration => value(d, name),
        Kind::Selected => d.selected.as_ref().and_then(|s| s.accuracy),
        Kind::Published => published.and_then(|p| {
            let m = p.methods.iter().position(|m| m == name)?;
            p.row(&d.name)?.accuracy[m]
        }),
    };
    let (mut kept, mut left_out) = (Vec::new(), Vec::new());
    for entry in entries {
        let missing_in: Vec<String> =
            datasets.iter().filter(|d| score(d, &entry).is_none()).map(|d| d.name.clone()).collect();
        if missing_in.is_empty() {
            kept.push(entry);
        } else {
            left_out.push(LeftOut { config: entry.0, missing_in });
        }
    }
    if kept.len() < 3 {
        let listed: Vec<String> =
            left_out.iter().map(|l| format!("{} (no value in {})", l.config, l.missing_in.join(", "))).collect();
        return Err(InputError::message(format!(
            "only {} of the entries (configurations, `selected`, published methods) have a value on every \
             dataset; ranking needs at least 3. Give directories made from the same sweep design{}",
            kept.len(),
            if listed.is_empty() { String::new() } else { format!("; left out: {}", listed.join("; ")) }
        )));
    }
    let scores: Vec<Vec<f64>> =
        datasets.iter().map(|d| kept.iter().map(|e| score(d, e).unwrap_or(f64::NAN)).collect()).collect();
    let (configs, kinds): (Vec<String>, Vec<Kind>) = kept.into_iter().unzip();
    let cd = critical_difference_with(&scores, alpha, test);
    let average_ranks = match &cd {
        Some(cd) => cd.friedman.average_ranks.clone(),
        None => average_ranks(&scores),
    };
    let mut order: Vec<usize> = (0..configs.len()).collect();
    order.sort_by(|&a, &b| average_ranks[a].total_cmp(&average_ranks[b]));
    let against = match against {
        None => order[0],
        Some(r) => configs.iter().position(|c| c == r).ok_or_else(|| {
            let why = if left_out.iter().any(|l| l.config == r) {
                "is left out (not every dataset has a value for it)".to_string()
            } else {
                format!(
                    "is not a configuration of these sweeps{}",
                    crate::spec::problems::suggest(r, &configs.iter().map(String::as_str).collect::<Vec<_>>())
                )
            };
            InputError::message(format!("--against {r}: {why}; ranked entries: {}", configs.join(", ")))
        })?,
    };
    let wins = (0..configs.len())
        .map(|m| {
            scores.iter().fold((0, 0, 0), |(w, t, l), row| match row[m].total_cmp(&row[against]) {
                std::cmp::Ordering::Greater => (w + 1, t, l),
                std::cmp::Ordering::Equal => (w, t + 1, l),
                std::cmp::Ordering::Less => (w, t, l + 1),
            })
        })
        .collect();
    let selected = datasets.iter().map(|d| d.selected.as_ref().map(|s| s.config.clone())).collect();
    Ok(Ranking {
        datasets: datasets.iter().map(|d| d.name.clone()).collect(),
        configs,
        kinds,
        selected,
        datasets_left_out: datasets_left_out.iter().map(|d| d.name.clone()).collect(),
        published: published.map(Published::source),
        scores,
        left_out,
        average_ranks,
        cd,
        order,
        against,
        wins,
        test,
        alpha,
    })
}

/// Average ranks without the Friedman test (for scores that tie everywhere, where it is undefined).
fn average_ranks(scores: &[Vec<f64>]) -> Vec<f64> {
    let mut sums = vec![0.0; scores[0].len()];
    for row in scores {
        let negated: Vec<f64> = row.iter().map(|x| -x).collect();
        for (s, r) in sums.iter_mut().zip(crate::stats::wilcoxon::average_ranks(&negated).0) {
            *s += r;
        }
    }
    sums.iter().map(|s| s / scores.len() as f64).collect()
}

fn csv_line(cells: &[String]) -> String {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    // Writing strings into memory cannot fail.
    w.write_record(cells).expect("in-memory CSV");
    String::from_utf8(w.into_inner().expect("in-memory CSV")).expect("UTF-8 cells")
}

/// ranks.csv: `config,kind,average_rank,cliques,<dataset>…`, best first; `kind` is
/// `configuration`, `selected` or `published`; `cliques` lists the (1-based) cliques the entry
/// belongs to, space-separated.
pub(crate) fn ranks_csv(r: &Ranking) -> String {
    let mut head = ["config", "kind", "average_rank", "cliques"].map(String::from).to_vec();
    head.extend(r.datasets.iter().cloned());
    let mut out = csv_line(&head);
    let cliques = cliques(r);
    for &m in &r.order {
        let member: Vec<String> =
            cliques.iter().enumerate().filter(|(_, c)| c.contains(&m)).map(|(i, _)| (i + 1).to_string()).collect();
        let mut row =
            vec![r.configs[m].clone(), r.kinds[m].word().into(), r.average_ranks[m].to_string(), member.join(" ")];
        row.extend(r.scores.iter().map(|s| s[m].to_string()));
        out.push_str(&csv_line(&row));
    }
    out
}

/// wins.csv: `config,against,wins,ties,losses`, best first.
pub(crate) fn wins_csv(r: &Ranking) -> String {
    let mut out = csv_line(&["config", "against", "wins", "ties", "losses"].map(String::from));
    for &m in &r.order {
        let (w, t, l) = r.wins[m];
        out.push_str(&csv_line(&[
            r.configs[m].clone(),
            r.configs[r.against].clone(),
            w.to_string(),
            t.to_string(),
            l.to_string(),
        ]));
    }
    out
}

/// friedman.csv: the test's statistic, df and p, and the clique of each configuration.
pub(crate) fn friedman_csv(r: &Ranking) -> String {
    let head = ["datasets", "configurations", "statistic", "df", "p", "alpha", "test", "critical_difference"];
    let mut out = csv_line(&head.map(String::from));
    let (stat, df, p) = match &r.cd {
        Some(cd) => (cd.friedman.statistic.to_string(), cd.friedman.df.to_string(), cd.friedman.p.to_string()),
        None => (String::new(), String::new(), String::new()),
    };
    out.push_str(&csv_line(&[
        r.datasets.len().to_string(),
        r.configs.len().to_string(),
        stat,
        df,
        p,
        r.alpha.to_string(),
        test_word(r.test).to_string(),
        critical_difference_cell(r),
    ]));
    out
}

fn test_word(test: PairTest) -> &'static str {
    match test {
        PairTest::Wilcoxon => "wilcoxon-holm",
        PairTest::Nemenyi => "nemenyi",
    }
}

/// Nemenyi's critical difference of average ranks; empty for the Wilcoxon test, which has none.
fn critical_difference_cell(r: &Ranking) -> String {
    match r.test {
        PairTest::Nemenyi => {
            nemenyi_cd(r.alpha, r.configs.len(), r.datasets.len()).map_or(String::new(), |c| c.1.to_string())
        }
        PairTest::Wilcoxon => String::new(),
    }
}

pub fn cliques(r: &Ranking) -> Vec<Vec<usize>> {
    match &r.cd {
        Some(cd) => cd.cliques.clone(),
        None => vec![r.order.clone()],
    }
}

/// The short table printed to stdout.
pub(crate) fn render_table(r: &Ranking, alpha: f64) -> String {
    let mut s = String::new();
    let width = r.configs.iter().map(|c| c.chars().count()).max().unwrap_or(6).max(6);
    // A few names are enough to show which datasets (there may be thousands).
    let shown = r.datasets.iter().take(DATASETS_SHOWN).cloned().collect::<Vec<_>>().join(", ");
    let more = if r.datasets.len() > DATASETS_SHOWN { ", …" } else { "" };
    let _ = writeln!(s, "{} entries over {} datasets ({shown}{more})", r.configs.len(), r.datasets.len());
    let _ = writeln!(s, "{:<width$}  {:<13}  {:>8}  {:>13}", "config", "kind", "avg rank", "W/T/L");
    for &m in &r.order {
        let (w, t, l) = r.wins[m];
        let (name, kind) = (&r.configs[m], r.kinds[m].word());
        let _ = writeln!(s, "{name:<width$}  {kind:<13}  {:>8.3}  {:>13}", r.average_ranks[m], format!("{w}/{t}/{l}"));
    }
    let _ = writeln!(s, "wins/ties/losses against: {}", r.configs[r.against]);
    if let Some(file) = &r.published {
        let _ = writeln!(s, "published: the methods of {file}, on the {} datasets it has", r.datasets.len());
    }
    if r.kinds.contains(&Kind::Selected) {
        let picks: Vec<String> = r
            .datasets
            .iter()
            .zip(&r.selected)
            .take(DATASETS_SHOWN)
            .map(|(d, c)| format!("{d}: {}", c.as_deref().unwrap_or("–")))
            .collect();
        let more = if r.datasets.len() > DATASETS_SHOWN { "; …" } else { "" };
        let _ = writeln!(s, "selected (best mean validation accuracy): {}{more}", picks.join("; "));
    }
    match &r.cd {
        Some(cd) => {
            let verdict = if cd.friedman.p < alpha { "the entries differ" } else { "no difference shown" };
            let _ = writeln!(
                s,
                "Friedman: chi2 = {:.4}, df = {}, p = {:.4} ({verdict} at alpha {alpha})",
                cd.friedman.statistic, cd.friedman.df, cd.friedman.p
            );
        }
        None => s.push_str("Friedman: undefined (every dataset ties every entry)\n"),
    }
    for (i, c) in cliques(r).iter().enumerate() {
        let names: Vec<&str> = c.iter().map(|&m| r.configs[m].as_str()).collect();
        let _ = writeln!(s, "clique {} ({}): {}", i + 1, test_word(r.test), names.join(", "));
    }
    for l in &r.left_out {
        let _ = writeln!(s, "left out: {} (no value in {})", l.config, l.missing_in.join(", "));
    }
    for d in r.datasets_left_out.iter().take(DATASETS_SHOWN) {
        let file = r.published.as_deref().unwrap_or("the --reference file");
        let _ = writeln!(s, "left out dataset: {d} (no row in {file})");
    }
    if r.datasets_left_out.len() > DATASETS_SHOWN {
        let _ = writeln!(s, "… and {} more datasets left out", r.datasets_left_out.len() - DATASETS_SHOWN);
    }
    s
}

/// How the diagram draws each entry's name.
pub(crate) fn name_styles(r: &Ranking) -> Vec<super::plots::cd::NameStyle> {
    use super::plots::cd::NameStyle;
    r.kinds
        .iter()
        .map(|k| match k {
            Kind::Configuration => NameStyle::Plain,
            Kind::Selected => NameStyle::Selected,
            Kind::Published => NameStyle::Published,
        })
        .collect()
}

/// Draws `r`'s critical-difference diagram into `path`.
pub(crate) fn plot_ranking(path: &Path, r: &Ranking) -> Result<super::plots::cd::Layout> {
    super::plots::cd::plot_critical_difference(
        path,
        &r.configs,
        &r.average_ranks,
        &r.order,
        &cliques(r),
        &name_styles(r),
        r.published.as_deref(),
    )
}

/// Makes `dir` ready for rank's files: created if absent; an existing one must be empty or an
/// earlier `pinniped rank` output (its marker a plain file with pinniped's text).
fn prepare_out(dir: &Path) -> Result<(), RankError> {
    let refuse = |why: String| -> RankError {
        InputError::message(format!("--out {}: {why}; give a new or empty directory with --out", dir.display())).into()
    };
    match fs::symlink_metadata(dir) {
        Err(_) => {
            fs::create_dir_all(dir).map_err(|e| refuse(format!("cannot create it: {e}")))?;
        }
        Ok(m) if !m.is_dir() => return Err(refuse("exists and is not a directory".into())),
        Ok(_) => {
            let mut entries = fs::read_dir(dir).map_err(|e| refuse(format!("cannot read it: {e}")))?;
            let marker = dir.join(RANK_MARKER);
            let ours = fs::symlink_metadata(&marker).is_ok_and(|m| m.is_file())
                && crate::fsx::read_bounded(&marker, RANK_MARKER_TEXT.len() as u64)
                    .is_ok_and(|t| t == RANK_MARKER_TEXT.as_bytes());
            if entries.next().is_some() && !ours {
                return Err(refuse("is not empty and is not an earlier `pinniped rank` output".into()));
            }
        }
    }
    write_atomic(&dir.join(RANK_MARKER), RANK_MARKER_TEXT.as_bytes())?;
    Ok(())
}

/// What `pinniped rank` was asked for, resolved from its flags by the command layer.
pub struct RankOptions {
    pub dirs: Vec<PathBuf>,
    /// The summary.csv column that ranks: `final_test_acc` or `final_valid_acc`.
    pub metric: &'static str,
    /// The `--reference` file of published accuracies.
    pub published: Option<PathBuf>,
    /// The entry wins.csv counts against (default: the best ranked).
    pub against: Option<String>,
    pub alpha: f64,
    pub test: PairTest,
    pub out: PathBuf,
}

pub fn rank_cmd(a: RankOptions) -> Result<(), RankError> {
    let metric = a.metric;
    if a.dirs.len() > MAX_DATASETS {
        return Err(
            InputError::message(format!("{} directories: at most {MAX_DATASETS} are ranked", a.dirs.len())).into()
        );
    }
    let published = match &a.published {
        Some(_) if metric != TEST_METRIC => return Err(InputError::message(
            "--reference with --metric valid: published accuracies are test accuracies; rank them with --metric test",
        )
        .into()),
        Some(file) => Some(super::published::read_published(file)?),
        None => None,
    };
    let mut datasets = Vec::new();
    for dir in &a.dirs {
        datasets.extend(datasets_in(dir, metric)?);
    }
    let r = rank(&datasets, published.as_ref(), a.against.as_deref(), a.alpha, a.test)?;
    prepare_out(&a.out)?;
    write_atomic(&a.out.join(RANKS_FILE), ranks_csv(&r).as_bytes())?;
    write_atomic(&a.out.join(WINS_FILE), wins_csv(&r).as_bytes())?;
    write_atomic(&a.out.join(FRIEDMAN_FILE), friedman_csv(&r).as_bytes())?;
    plot_ranking(&a.out.join(CD_FILE), &r).map_err(RankError::Draw)?;
    crate::out!("{}", render_table(&r, a.alpha));
    crate::outln!("wrote {}", a.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(name: &str, accs: &[(&str, f64)]) -> Dataset {
        Dataset {
            name: name.into(),
            dir: PathBuf::from(format!("results/{name}")),
            accuracy: accs.iter().map(|(c, v)| (c.to_string(), Some(*v))).collect(),
            selected: None,
        }
    }

    fn published(text: &str) -> Published {
        super::super::published::parse_published(Path::new("pub.csv"), text.as_bytes()).unwrap()
    }

    #[test]
    fn dataset_names_come_from_the_train_file() {
        for (file, want) in [
            ("data/aeon/GunPoint_TRAIN.ts.gz", "GunPoint"),
            ("data/phoneme/Phoneme_TRAIN.tsv.gz", "Phoneme"),
            ("x/Coffee.arff", "Coffee"),
            ("x/train", "train"),
            ("", "the-sweep"),
        ] {
            assert_eq!(dataset_name(Path::new(file), "the-sweep"), want, "{file}");
        }
    }

    #[test]
    fn configurations_missing_somewhere_are_left_out_and_wins_count_against_the_reference() {
        let a = dataset("A", &[("baseline", 0.9), ("h=8", 0.8), ("h=64", 0.7), ("h=256", 0.6)]);
        let b = dataset("B", &[("baseline", 0.5), ("h=8", 0.6), ("h=64", 0.4)]);
        let r = rank(&[a, b], None, Some("h=64"), 0.1, PairTest::Wilcoxon).unwrap();
        assert_eq!(r.configs, ["baseline", "h=8", "h=64"]);
        assert_eq!(r.left_out, [LeftOut { config: "h=256".into(), missing_in: vec!["B".into()] }]);
        assert_eq!(r.average_ranks, [1.5, 1.5, 3.0]);
        assert_eq!(r.wins, [(2, 0, 0), (2, 0, 0), (0, 2, 0)]);
    }

    #[test]
    fn datasets_that_tie_everywhere_share_the_middle_rank_in_one_clique() {
        let a = dataset("A", &[("x", 0.5), ("y", 0.5), ("z", 0.5)]);
        let b = dataset("B", &[("x", 0.7), ("y", 0.7), ("z", 0.7)]);
        let r = rank(&[a, b], None, None, 0.1, PairTest::Wilcoxon).unwrap();
        assert_eq!(r.cd, None, "Friedman is undefined");
        assert_eq!(r.average_ranks, [2.0, 2.0, 2.0]);
        assert_eq!(cliques(&r), [vec![0, 1, 2]]);
        assert!(render_table(&r, 0.1).contains("Friedman: undefined"));
    }

    #[test]
    fn rank_refuses_bad_input_by_name() {
        let a = dataset("A", &[("x", 0.9), ("y", 0.8), ("z", 0.7)]);
        let b = dataset("B", &[("x", 0.5), ("y", 0.6), ("z", 0.7)]);
        let dup = Dataset { dir: "elsewhere/A".into(), ..a.clone() };
        for (case, datasets, reference, alpha, needle) in [
            ("one directory", vec![a.clone()], None, 0.1, "at least two"),
            ("duplicate names", vec![a.clone(), dup], None, 0.1, "elsewhere/A"),
            ("unknown against", vec![a.clone(), b.clone()], Some("w"), 0.1, "--against w"),
            ("bad alpha", vec![a.clone(), b.clone()], None, 1.5, "--alpha"),
            ("disjoint", vec![a.clone(), dataset("C", &[("u", 0.1), ("v", 0.2), ("w", 0.3)])], None, 0.1, "left out"),
        ] {
            let e = rank(&datasets, None, reference, alpha, PairTest::Wilcoxon).expect_err(case).to_string();
            assert!(e.contains(needle), "{case}: {e}");
        }
    }

    #[test]
    fn selection_by_validation_takes_the_first_best_validation_mean_and_its_test_mean() {
        use crate::results::summary_file::MeanStd;
        let row = |valid: Option<f64>, test: f64| {
            let mut metrics = [MeanStd::default(); crate::report::compare::METRICS.len()];
            let at = |m: &str| crate::report::compare::METRICS.iter().position(|x| *x == m).unwrap();
            metrics[at(VALID_METRIC)] = MeanStd { mean: valid, std: None };
            metrics[at(TEST_METRIC)] = MeanStd { mean: Some(test), std: None };
            SummaryRow { values: vec![], n: 1, metrics, line: 2, more: Default::default() }
        };
        let ids: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let rows = [row(Some(0.5), 0.9), row(Some(0.7), 0.1), row(None, 1.0), row(Some(0.7), 0.8)];
        assert_eq!(
            selected_by_validation(&rows, &ids),
            Some(Selected { config: "b".into(), accuracy: Some(0.1) }),
            "the tie at 0.7 goes to the first; the test accuracy never chooses"
        );
        assert_eq!(selected_by_validation(&rows[2..3], &ids[2..3]), None, "no validation mean, no choice");
    }

    #[test]
    fn selected_and_published_entries_rank_beside_the_configurations_on_shared_datasets() {
        let mut a = dataset("A", &[("x", 0.9), ("y", 0.8), ("z", 0.7)]);
        let mut b = dataset("B", &[("x", 0.5), ("y", 0.6), ("z", 0.7)]);
        let mut c = dataset("C", &[("x", 0.1), ("y", 0.2), ("z", 0.3)]);
        a.selected = Some(Selected { config: "y".into(), accuracy: Some(0.8) });
        b.selected = Some(Selected { config: "z".into(), accuracy: Some(0.7) });
        c.selected = Some(Selected { config: "x".into(), accuracy: Some(0.1) });
        // C has no row; FCN misses B, so it is left out like a configuration.
        let p = published("dataset,MLP,FCN\nA,0.95,0.5\nB,0.4,\nD,0.1,0.1\n");
        let r = rank(&[a, b, c], Some(&p), Some("MLP"), 0.1, PairTest::Wilcoxon).unwrap();
        assert_eq!(r.datasets, ["A", "B"]);
        assert_eq!(r.datasets_left_out, ["C"]);
        assert_eq!(r.configs, ["x", "y", "z", "selected", "MLP"]);
        let (config, selected, published) = (Kind::Configuration, Kind::Selected, Kind::Published);
        assert_eq!(r.kinds, [config, config, config, selected, published]);
        assert_eq!(r.left_out, [LeftOut { config: "FCN".into(), missing_in: vec!["B".into()] }]);
        assert_eq!(r.selected, [Some("y".to_string()), Some("z".to_string())]);
        assert_eq!(r.scores, [vec![0.9, 0.8, 0.7, 0.8, 0.95], vec![0.5, 0.6, 0.7, 0.7, 0.4]]);
        // A: MLP 1, x 2, y/selected 3.5, z 5; B: z/selected 1.5, y 3, x 4, MLP 5.
        assert_eq!(r.average_ranks, [3.0, 3.25, 3.25, 2.5, 3.0]);
        assert_eq!(r.configs[r.against], "MLP");
        assert_eq!(r.wins[3], (1, 0, 1), "selected against MLP");
        let csv = ranks_csv(&r);
        assert!(csv.starts_with("config,kind,average_rank,cliques,A,B\nselected,selected,2.5,"), "{csv}");
        assert!(csv.contains("\nMLP,published,3,"), "{csv}");
        let table = render_table(&r, 0.1);
        assert!(table.contains("left out dataset: C (no row in pub.csv)"), "{table}");
        assert!(table.contains("selected (best mean validation accuracy): A: y; B: z"), "{table}");
        assert!(wins_csv(&r).starts_with("config,against,wins,ties,losses\n"));
    }

    #[test]
    fn published_files_that_do_not_fit_the_directories_are_refused_by_name() {
        let a = dataset("A", &[("x", 0.9), ("y", 0.8), ("z", 0.7)]);
        let b = dataset("B", &[("x", 0.5), ("y", 0.6), ("z", 0.7)]);
        for (case, text, needle) in [
            ("one shared dataset", "dataset,MLP\nA,0.5\nGunPoint,0.9\n", "1 of the datasets ranked have a row in it"),
            ("no shared dataset", "dataset,MLP\nGun_Point,0.9\n", "Its datasets: Gun_Point; the directories': A, B"),
            (
                "a configuration's name",
                "dataset,MLP,y\nA,0.5,0.5\nB,0.5,0.5\n",
                "pub.csv: line 1, column 3: method `y`",
            ),
        ] {
            let e = rank(&[a.clone(), b.clone()], Some(&published(text)), None, 0.1, PairTest::Wilcoxon)
                .expect_err(case)
                .to_string();
            assert!(e.contains(needle), "{case}: {e}");
        }
    }
}
