//! `pinniped rank`: configurations of one sweep design compared across datasets (Demšar 2006),
//! one results directory per dataset. Per dataset, each configuration's mean accuracy (from
//! summary.csv, read as `pinniped compare` reads it); average ranks, the Friedman test and the
//! cliques of a critical-difference diagram ([`crate::stats::ranks::critical_difference`]:
//! one-sided Wilcoxon signed-rank tests with aeon's Holm alpha); a win/tie/loss table against a
//! reference configuration. `--test nemenyi` finds the cliques with Nemenyi's critical
//! difference of average ranks instead.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::compare::{read_summary, Summary};
use crate::results::atomic::write_atomic;
use crate::spec::InputError;
use crate::stats::ranks::{critical_difference_with, nemenyi_cd, CriticalDifference, PairTest};

/// The marker `pinniped rank` leaves in its output directory: only such a directory (or an empty
/// one) is written into.
pub const RANK_MARKER: &str = ".pinniped-rank";
const RANK_MARKER_TEXT: &str =
    "written by `pinniped rank`; its files are replaced by the next `pinniped rank --out` here\n";

/// Files written into `--out`.
pub const RANKS_FILE: &str = "ranks.csv";
pub const WINS_FILE: &str = "wins.csv";
pub const FRIEDMAN_FILE: &str = "friedman.csv";
pub const CD_FILE: &str = "cd-diagram.png";

/// At most this many datasets (directories) are ranked together.
pub const MAX_DATASETS: usize = 10_000;
/// Dataset names printed in the table's first line.
const DATASETS_SHOWN: usize = 8;

/// One dataset: its name and each configuration's mean accuracy, by configuration id.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub dir: PathBuf,
    /// Configuration ids in plan order, with their mean accuracy (`None`: no done run).
    pub accuracy: Vec<(String, Option<f64>)>,
}

/// A configuration left out of the ranking, and the datasets that lack a value for it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeftOut {
    pub config: String,
    pub missing_in: Vec<String>,
}

/// The ranking of the configurations every dataset has.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub datasets: Vec<String>,
    /// Ranked configuration ids, in the first dataset's plan order.
    pub configs: Vec<String>,
    /// `scores[d][m]`: accuracy of configuration m on dataset d.
    pub scores: Vec<Vec<f64>>,
    pub left_out: Vec<LeftOut>,
    /// Average rank of each configuration (1 = best; ties share the mean rank).
    pub average_ranks: Vec<f64>,
    /// Friedman test, pairwise tests and cliques; `None` when every dataset ties every configuration.
    pub cd: Option<CriticalDifference>,
    /// Configurations from best to worst average rank.
    pub order: Vec<usize>,
    /// Win/tie/loss of each configuration against `reference`, counted over the datasets.
    pub reference: usize,
    pub wins: Vec<(usize, usize, usize)>,
    /// How the cliques were found, and at which level.
    pub test: PairTest,
    pub alpha: f64,
}

/// The dataset a results directory was made on: its `[data] train` file's name without
/// extensions and a `_TRAIN` suffix (`GunPoint_TRAIN.ts.gz` → `GunPoint`), else the sweep's name.
pub fn dataset_name(train_file: &Path, sweep_name: &str) -> String {
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

/// Reads one results directory's configurations and their mean `metric`.
fn read_dataset(dir: &Path, metric: &str) -> Result<Dataset> {
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
    Ok(Dataset { name: dataset_name(&stored.train_file, &stored.name), dir: dir.to_path_buf(), accuracy })
}

/// The datasets of one results directory: those of a multi-dataset sweep (`[datasets]`), each
/// from the rows of summary.csv led by its name, else the directory's one dataset.
fn read_datasets(dir: &Path, metric: &str) -> Result<Vec<Dataset>> {
    use crate::results::layout::SWEEP_FILE;
    let stored = dir.join(SWEEP_FILE);
    let file = dir.join("summary.csv");
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
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let head = reader.headers().map_err(|e| stale(e.to_string()))?.clone();
    let column = format!("{metric}_mean");
    let value = head.iter().position(|h| h == column);
    let (Some(0), Some(value)) = (head.iter().position(|h| h == "dataset"), value) else {
        return Err(stale(format!("no `dataset` column first, or no `{column}` column")).into());
    };
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().map_err(|e| stale(e.to_string()))?;
    let mut out = Vec::new();
    for (d, name) in plan.datasets.iter().enumerate() {
        let ids: Vec<&str> = plan.configs.iter().filter(|c| c.dataset == Some(d)).map(|c| c.id.as_str()).collect();
        let values: Vec<Option<f64>> = rows
            .iter()
            .filter(|r| r.get(0) == Some(name.as_str()))
            .map(|r| r.get(value).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite()))
            .collect();
        if values.len() != ids.len() {
            return Err(stale(format!(
                "dataset {name} has {} rows for the sweep's {} configurations",
                values.len(),
                ids.len()
            ))
            .into());
        }
        let accuracy = ids.iter().map(|id| id.to_string()).zip(values).collect();
        out.push(Dataset { name: name.clone(), dir: dir.to_path_buf(), accuracy });
    }
    Ok(out)
}

/// Ranks the configurations every dataset has a value for.
///
/// # Errors
/// Fewer than two datasets, two datasets of one name, fewer than three shared configurations,
/// an unknown `reference`, or `alpha` outside (0, 1): input errors.
pub fn rank(datasets: &[Dataset], reference: Option<&str>, alpha: f64, test: PairTest) -> Result<Ranking, InputError> {
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
    let value = |d: &Dataset, id: &str| d.accuracy.iter().find(|(c, _)| c == id).and_then(|(_, v)| *v);
    let mut all: Vec<String> = Vec::new();
    for (id, _) in datasets.iter().flat_map(|d| &d.accuracy) {
        if !all.contains(id) {
            all.push(id.clone());
        }
    }
    let (mut configs, mut left_out) = (Vec::new(), Vec::new());
    for id in all {
        let missing_in: Vec<String> =
            datasets.iter().filter(|d| value(d, &id).is_none()).map(|d| d.name.clone()).collect();
        if missing_in.is_empty() {
            configs.push(id);
        } else {
            left_out.push(LeftOut { config: id, missing_in });
        }
    }
    if configs.len() < 3 {
        let listed: Vec<String> =
            left_out.iter().map(|l| format!("{} (no value in {})", l.config, l.missing_in.join(", "))).collect();
        return Err(InputError::message(format!(
            "only {} configuration(s) have a value in every directory; ranking needs at least 3. Give directories \
             made from the same sweep design{}",
            configs.len(),
            if listed.is_empty() { String::new() } else { format!("; left out: {}", listed.join("; ")) }
        )));
    }
    let scores: Vec<Vec<f64>> =
        datasets.iter().map(|d| configs.iter().map(|c| value(d, c).unwrap_or(f64::NAN)).collect()).collect();
    let cd = critical_difference_with(&scores, alpha, test);
    let average_ranks = match &cd {
        Some(cd) => cd.friedman.average_ranks.clone(),
        None => average_ranks(&scores),
    };
    let mut order: Vec<usize> = (0..configs.len()).collect();
    order.sort_by(|&a, &b| average_ranks[a].total_cmp(&average_ranks[b]));
    let reference = match reference {
        None => order[0],
        Some(r) => configs.iter().position(|c| c == r).ok_or_else(|| {
            let why = if left_out.iter().any(|l| l.config == r) {
                "is left out (not every directory has a value for it)".to_string()
            } else {
                format!(
                    "is not a configuration of these sweeps{}",
                    crate::spec::problems::suggest(r, &configs.iter().map(String::as_str).collect::<Vec<_>>())
                )
            };
            InputError::message(format!("--reference {r}: {why}; ranked configurations: {}", configs.join(", ")))
        })?,
    };
    let wins = (0..configs.len())
        .map(|m| {
            scores.iter().fold((0, 0, 0), |(w, t, l), row| match row[m].total_cmp(&row[reference]) {
                std::cmp::Ordering::Greater => (w + 1, t, l),
                std::cmp::Ordering::Equal => (w, t + 1, l),
                std::cmp::Ordering::Less => (w, t, l + 1),
            })
        })
        .collect();
    let datasets = datasets.iter().map(|d| d.name.clone()).collect();
    Ok(Ranking { datasets, configs, scores, left_out, average_ranks, cd, order, reference, wins, test, alpha })
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

/// ranks.csv: `config,average_rank,cliques,<dataset>…`, best first; `cliques` lists the
/// (1-based) cliques the configuration belongs to, space-separated.
pub fn ranks_csv(r: &Ranking) -> String {
    let mut head = vec!["config".to_string(), "average_rank".to_string(), "cliques".to_string()];
    head.extend(r.datasets.iter().cloned());
    let mut out = csv_line(&head);
    let cliques = cliques(r);
    for &m in &r.order {
        let member: Vec<String> =
            cliques.iter().enumerate().filter(|(_, c)| c.contains(&m)).map(|(i, _)| (i + 1).to_string()).collect();
        let mut row = vec![r.configs[m].clone(), r.average_ranks[m].to_string(), member.join(" ")];
        row.extend(r.scores.iter().map(|s| s[m].to_string()));
        out.push_str(&csv_line(&row));
    }
    out
}

/// wins.csv: `config,reference,wins,ties,losses`, best first.
pub fn wins_csv(r: &Ranking) -> String {
    let mut out = csv_line(&["config", "reference", "wins", "ties", "losses"].map(String::from));
    for &m in &r.order {
        let (w, t, l) = r.wins[m];
        out.push_str(&csv_line(&[
            r.configs[m].clone(),
            r.configs[r.reference].clone(),
            w.to_string(),
            t.to_string(),
            l.to_string(),
        ]));
    }
    out
}

/// friedman.csv: the test's statistic, df and p, and the clique of each configuration.
pub fn friedman_csv(r: &Ranking) -> String {
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

fn cliques(r: &Ranking) -> Vec<Vec<usize>> {
    match &r.cd {
        Some(cd) => cd.cliques.clone(),
        None => vec![r.order.clone()],
    }
}

/// The short table printed to stdout.
pub fn render_table(r: &Ranking, alpha: f64) -> String {
    let mut s = String::new();
    let width = r.configs.iter().map(|c| c.chars().count()).max().unwrap_or(6).max(6);
    // A few names are enough to show which datasets (there may be thousands).
    let shown = r.datasets.iter().take(DATASETS_SHOWN).cloned().collect::<Vec<_>>().join(", ");
    let more = if r.datasets.len() > DATASETS_SHOWN { ", …" } else { "" };
    let _ = writeln!(s, "{} configurations over {} datasets ({shown}{more})", r.configs.len(), r.datasets.len());
    let _ = writeln!(s, "{:<width$}  {:>8}  {:>13}", "config", "avg rank", "W/T/L vs ref");
    for &m in &r.order {
        let (w, t, l) = r.wins[m];
        let _ = writeln!(s, "{:<width$}  {:>8.3}  {:>13}", r.configs[m], r.average_ranks[m], format!("{w}/{t}/{l}"));
    }
    let _ = writeln!(s, "reference: {}", r.configs[r.reference]);
    match &r.cd {
        Some(cd) => {
            let verdict = if cd.friedman.p < alpha { "the configurations differ" } else { "no difference shown" };
            let _ = writeln!(
                s,
                "Friedman: chi2 = {:.4}, df = {}, p = {:.4} ({verdict} at alpha {alpha})",
                cd.friedman.statistic, cd.friedman.df, cd.friedman.p
            );
        }
        None => s.push_str("Friedman: undefined (every dataset ties every configuration)\n"),
    }
    for (i, c) in cliques(r).iter().enumerate() {
        let names: Vec<&str> = c.iter().map(|&m| r.configs[m].as_str()).collect();
        let _ = writeln!(s, "clique {} ({}): {}", i + 1, test_word(r.test), names.join(", "));
    }
    for l in &r.left_out {
        let _ = writeln!(s, "left out: {} (no value in {})", l.config, l.missing_in.join(", "));
    }
    s
}

/// Makes `dir` ready for rank's files: created if absent; an existing one must be empty or an
/// earlier `pinniped rank` output (its marker a plain file with pinniped's text).
fn prepare_out(dir: &Path) -> Result<()> {
    let refuse = |why: String| -> anyhow::Error {
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
    pub reference: Option<String>,
    pub alpha: f64,
    pub test: PairTest,
    pub out: PathBuf,
}

pub fn rank_cmd(a: RankOptions) -> Result<()> {
    let metric = a.metric;
    if a.dirs.len() > MAX_DATASETS {
        return Err(
            InputError::message(format!("{} directories: at most {MAX_DATASETS} are ranked", a.dirs.len())).into()
        );
    }
    // A directory of a multi-dataset sweep brings all its datasets.
    let datasets = a.dirs.iter().map(|d| read_datasets(d, metric)).collect::<Result<Vec<_>>>()?.concat();
    let r = rank(&datasets, a.reference.as_deref(), a.alpha, a.test)?;
    prepare_out(&a.out)?;
    write_atomic(&a.out.join(RANKS_FILE), ranks_csv(&r).as_bytes())?;
    write_atomic(&a.out.join(WINS_FILE), wins_csv(&r).as_bytes())?;
    write_atomic(&a.out.join(FRIEDMAN_FILE), friedman_csv(&r).as_bytes())?;
    super::plots::cd::plot_critical_difference(
        &a.out.join(CD_FILE),
        &r.configs,
        &r.average_ranks,
        &r.order,
        &cliques(&r),
    )?;
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
        }
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
        let r = rank(&[a, b], Some("h=64"), 0.1, PairTest::Wilcoxon).unwrap();
        assert_eq!(r.configs, ["baseline", "h=8", "h=64"]);
        assert_eq!(r.left_out, [LeftOut { config: "h=256".into(), missing_in: vec!["B".into()] }]);
        assert_eq!(r.average_ranks, [1.5, 1.5, 3.0]);
        assert_eq!(r.wins, [(2, 0, 0), (2, 0, 0), (0, 2, 0)]);
    }

    #[test]
    fn datasets_that_tie_everywhere_share_the_middle_rank_in_one_clique() {
        let a = dataset("A", &[("x", 0.5), ("y", 0.5), ("z", 0.5)]);
        let b = dataset("B", &[("x", 0.7), ("y", 0.7), ("z", 0.7)]);
        let r = rank(&[a, b], None, 0.1, PairTest::Wilcoxon).unwrap();
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
            ("unknown reference", vec![a.clone(), b.clone()], Some("w"), 0.1, "--reference w"),
            ("bad alpha", vec![a.clone(), b.clone()], None, 1.5, "--alpha"),
            ("disjoint", vec![a.clone(), dataset("C", &[("u", 0.1), ("v", 0.2), ("w", 0.3)])], None, 0.1, "left out"),
        ] {
            let e = rank(&datasets, reference, alpha, PairTest::Wilcoxon).expect_err(case).to_string();
            assert!(e.contains(needle), "{case}: {e}");
        }
    }
}
