//! Several datasets in one sweep (`[[datasets]]` / `[datasets]`): both syntaxes, their errors
//! (file, line, key; exit 2; nothing written), every dataset validated before anything runs,
//! ids and seeds stable when a dataset is added, the summary files' `dataset` column,
//! `summarize` byte-identical, `rank` on the one directory, a single-dataset sweep unchanged.

mod common;

use common::{files, pinniped, repo, write};
use pinniped::spec::{expand, parse_stored_sweep, parse_sweep};
use std::path::{Path, PathBuf};

fn aeon(name: &str, split: &str) -> String {
    repo().join(format!("data/aeon/{name}_{split}.ts.gz")).display().to_string()
}

/// `[[datasets]]` entries for `names` (shipped aeon sets), each named by its train file.
fn entries(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("[[datasets]]\ntrain = {:?}\ntest = {:?}\n", aeon(n, "TRAIN"), aeon(n, "TEST")))
        .collect()
}

const TRAIN: &str = "[train]\nepochs = 4\nplots = false\n[sweep]\ndesign = \"one-at-a-time\"\nhidden = [[8], [32]]\n";

fn sweep_text(name: &str, datasets: &str) -> String {
    format!(
        "name = \"{name}\"\nseed = 11\nrepeats = 2\npairing = \"split\"\n[data]\nreserve_every = 4\n{datasets}{TRAIN}"
    )
}

fn run_fake(dir: &Path, file: &Path) -> PathBuf {
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(dir.join("out")).arg(file).assert().success();
    dir.join("out")
}

#[test]
fn both_syntaxes_give_the_same_datasets_named_after_their_train_files() {
    let dir = tempfile::tempdir().unwrap();
    let listed =
        parse_sweep(&dir.path().join("a.toml"), &sweep_text("a", &entries(&["GunPoint", "ArrowHead"]))).unwrap();
    let table = format!(
        "[datasets]\ndir = {:?}\nnames = [\"GunPoint\", \"ArrowHead\"]\npattern = \"{{name}}_{{split}}.ts.gz\"\n",
        repo().join("data/aeon").display().to_string()
    );
    let folder = parse_sweep(&dir.path().join("b.toml"), &sweep_text("b", &table)).unwrap();
    let names = |s: &pinniped::spec::SweepFile| s.datasets.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&listed), ["GunPoint", "ArrowHead"]);
    assert_eq!(listed.datasets, folder.datasets, "same names, files and keys");
    assert_eq!(listed.datasets[1].data.reserve_every, Some(4), "the shared [data] keys reach every dataset");
}

#[test]
fn every_problem_of_every_dataset_is_named_with_its_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name = \"bad\"\n[data]\ntrain = \"x.ts\"\nreserve_every = 4\n{}[[datasets]]\nname = \"GunPoint\"\n\
         train = {:?}\nfolds = 3\n[[datasets]]\nname = \"a/b\"\ntrain = \"missing.ts\"\ncolour = 1\n{TRAIN}",
        entries(&["GunPoint"]),
        aeon("ArrowHead", "TRAIN")
    );
    let file = write(dir.path(), "bad.toml", &text);
    let out = pinniped().args(["run", "--out"]).arg(dir.path().join("out")).arg(&file).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    for expected in [
        "bad.toml:3: data.train: a sweep with [datasets] names each dataset's files there",
        "bad.toml:11: datasets[1].folds: is shared by every dataset",
        "bad.toml:9: datasets[1].name: dataset `GunPoint` is named twice",
        "bad.toml:14: datasets[2].train: ",
        "missing.ts does not exist",
        "bad.toml:15: datasets[2].colour: unknown key",
        "bad.toml:13: datasets[2].name: `a/b` cannot be a directory name",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    assert!(!dir.path().join("out").exists(), "nothing written");
}

#[test]
fn a_bad_second_dataset_stops_the_sweep_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    // JapaneseVowels has unequal lengths: refused without a length policy, found when its file is read.
    let file = write(dir.path(), "s.toml", &sweep_text("s", &entries(&["GunPoint", "JapaneseVowels"])));
    let out = pinniped().args(["run", "--out"]).arg(dir.path().join("out")).arg(&file).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("JapaneseVowels_TRAIN.ts.gz:") && err.contains("length = \"pad\""), "{err}");
    assert!(!dir.path().join("out").exists(), "nothing written, not even the first dataset's runs");
    // A folder with a name it does not hold: each missing file named.
    let table = format!(
        "[datasets]\ndir = {:?}\nnames = [\"GunPoint\", \"Nope\"]\n",
        repo().join("data/aeon").display().to_string()
    );
    let file = write(dir.path(), "t.toml", &sweep_text("t", &table));
    let out = pinniped().args(["run", "--out"]).arg(dir.path().join("out")).arg(&file).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("t.toml:7: datasets.Nope.train: ") && err.contains("Nope_TRAIN.ts.gz does not exist"),
        "{err}"
    );
    assert!(err.contains("datasets.Nope.test: "), "{err}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn ids_and_seeds_stay_when_a_dataset_or_an_axis_value_is_added() {
    let file = Path::new("/p/s.toml");
    let small =
        expand(&parse_stored_sweep(file, &sweep_text("s", &entries(&["GunPoint", "ArrowHead"]))).unwrap()).unwrap();
    let grown_text = sweep_text("s", &entries(&["OSULeaf", "GunPoint", "ArrowHead", "ACSF1"]))
        .replace("[[8], [32]]", "[[8], [16], [32]]");
    let grown = expand(&parse_stored_sweep(file, &grown_text).unwrap()).unwrap();
    assert_eq!(small.runs.len(), 2 * 3 * 2);
    assert_eq!(small.runs[0].id, "GunPoint/baseline/rep-1");
    for r in &small.runs {
        let g = grown.runs.iter().find(|g| g.id == r.id).unwrap_or_else(|| panic!("{} gone", r.id));
        assert_eq!((r.seed, r.split_seed, r.repeat), (g.seed, g.split_seed, g.repeat), "{}", r.id);
    }
    // Datasets draw their own streams; within one, configurations pair as in a one-dataset sweep.
    let run = |id: &str| small.runs.iter().find(|r| r.id == id).unwrap();
    assert_ne!(run("GunPoint/baseline/rep-1").split_seed, run("ArrowHead/baseline/rep-1").split_seed);
    assert_ne!(run("GunPoint/baseline/rep-1").seed, run("ArrowHead/baseline/rep-1").seed);
    assert_eq!(run("GunPoint/baseline/rep-2").split_seed, run("GunPoint/hidden=8/rep-2").split_seed);
}

#[test]
fn a_two_dataset_sweep_end_to_end_summaries_rank_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "two.toml", &sweep_text("two", &entries(&["GunPoint", "ItalyPowerDemand"])));
    let out = run_fake(dir.path(), &file);
    let root = out.join("two");
    let runs: Vec<String> = files(&root.join("runs")).into_iter().filter(|f| f.ends_with("status.json")).collect();
    assert_eq!(runs.len(), 12);
    assert!(runs.contains(&"ItalyPowerDemand/hidden=32/rep-2/status.json".to_string()), "{runs:?}");
    // Every summary file leads with `dataset`; each dataset's rows in plan order.
    for file in ["summary.csv", "comparisons.csv", "selection.csv", "importance.csv", "runs.csv", "plan.csv"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("dataset,"), "{file}");
        let first: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
        let split = first.iter().position(|d| *d == "ItalyPowerDemand").unwrap();
        assert!(split > 0 && first[..split].iter().all(|d| *d == "GunPoint"), "{file}: {first:?}");
        assert!(first[split..].iter().all(|d| *d == "ItalyPowerDemand"), "{file}: {first:?}");
    }
    let summary = std::fs::read_to_string(root.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 2 * 3, "a row per dataset and configuration");
    // Comparisons are within a dataset: each dataset's baseline is its own reference.
    let comparisons = std::fs::read_to_string(root.join("comparisons.csv")).unwrap();
    assert_eq!(comparisons.lines().filter(|l| l.contains(",baseline,baseline,")).count(), 2, "{comparisons}");
    assert_eq!(comparisons.lines().filter(|l| l.contains(",hidden=8,baseline,")).count(), 2, "{comparisons}");
    // summarize rebuilds every file byte for byte.
    let names = ["summary.csv", "comparisons.csv", "selection.csv", "importance.csv", "runs.csv"];
    let before: Vec<Vec<u8>> = names.iter().map(|f| std::fs::read(root.join(f)).unwrap()).collect();
    for f in names {
        std::fs::remove_file(root.join(f)).unwrap();
    }
    pinniped().arg("summarize").arg(&root).assert().success();
    for (f, b) in names.iter().zip(&before) {
        assert_eq!(&std::fs::read(root.join(f)).unwrap(), b, "{f}");
    }
    // status, rerun and report with the new ids.
    let status = pinniped().arg("status").arg(&root).assert().success();
    assert!(String::from_utf8_lossy(&status.get_output().stdout).contains("12 runs: 12 done"));
    pinniped()
        .args(["rerun", "-q", "--fake-trainer", "--run", "ItalyPowerDemand/hidden=8/rep-1"])
        .arg(&root)
        .assert()
        .success();
    pinniped().arg("report").arg(&root).assert().success();
    let html = std::fs::read_to_string(root.join("report.html")).unwrap();
    assert!(html.contains("runs/GunPoint/baseline/rep-1/"), "report links the runs");
    // The highlighted rows: per dataset, the summary's highest mean validation accuracy (ties: the first).
    let mut reader = csv::Reader::from_reader(summary.as_bytes());
    let head = reader.headers().unwrap().clone();
    let valid = head.iter().position(|h| h == "final_valid_acc_mean").unwrap();
    let mut best: Vec<(String, usize, f64)> = Vec::new();
    for (i, row) in reader.records().map(|r| r.unwrap()).enumerate() {
        let v: f64 = row[valid].parse().unwrap();
        match best.iter_mut().find(|b| b.0 == row[0]) {
            Some(b) if b.2 >= v => {}
            Some(b) => *b = (row[0].to_string(), i, v),
            None => best.push((row[0].to_string(), i, v)),
        }
    }
    let table = html.split("<h2>Summary</h2>").nth(1).unwrap().split("</table>").next().unwrap();
    let marked: Vec<usize> = (table.split("<tr").skip(2).enumerate())
        .filter(|(_, r)| r.starts_with(" class=\"best\""))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(marked, best.iter().map(|b| b.1).collect::<Vec<_>>(), "one selected row per dataset");
    // rank on the one directory: two datasets, three configurations.
    let rank_out = dir.path().join("rank");
    let ranked = pinniped().arg("rank").arg(&root).arg("--out").arg(&rank_out).assert().success();
    assert!(
        String::from_utf8_lossy(&ranked.get_output().stdout).contains("4 entries over 2 datasets"),
        "3 configurations and `selected`"
    );
    let ranks = std::fs::read_to_string(rank_out.join("ranks.csv")).unwrap();
    assert!(ranks.starts_with("config,kind,average_rank,cliques,GunPoint,ItalyPowerDemand\n"), "{ranks}");
    // The accuracies ranked are summary.csv's means, dataset by dataset.
    let mean_of = |dataset: &str, hidden: &str| {
        let mut r = csv::Reader::from_reader(summary.as_bytes());
        let head = r.headers().unwrap().clone();
        let col = head.iter().position(|h| h == "final_test_acc_mean").unwrap();
        r.records().map(|x| x.unwrap()).find(|x| &x[0] == dataset && &x[1] == hidden).unwrap()[col].to_string()
    };
    let row = ranks.lines().find(|l| l.starts_with("hidden=8,")).unwrap();
    assert!(row.ends_with(&format!(",{},{}", mean_of("GunPoint", "8"), mean_of("ItalyPowerDemand", "8"))), "{row}");
    // `selected` is, per dataset, the test mean of the configuration best by validation there.
    let selected_of = |dataset: &str| {
        let mut r = csv::Reader::from_reader(summary.as_bytes());
        let head = r.headers().unwrap().clone();
        let at = |name: &str| head.iter().position(|h| h == name).unwrap();
        let (valid, test) = (at("final_valid_acc_mean"), at("final_test_acc_mean"));
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).filter(|x| &x[0] == dataset).collect();
        let best = rows.iter().fold(None, |best: Option<&csv::StringRecord>, x| match best {
            Some(b) if b[valid].parse::<f64>().unwrap() >= x[valid].parse::<f64>().unwrap() => best,
            _ => Some(x),
        });
        best.unwrap()[test].to_string()
    };
    let row = ranks.lines().find(|l| l.starts_with("selected,selected,")).unwrap();
    assert!(row.ends_with(&format!(",{},{}", selected_of("GunPoint"), selected_of("ItalyPowerDemand"))), "{row}");
    // compare and refit say what to do instead.
    let err = pinniped().arg("compare").arg(&root).arg(&root).assert().code(2);
    assert!(String::from_utf8_lossy(&err.get_output().stderr).contains("pinniped rank"));
}

#[test]
fn adding_a_dataset_resumes_and_trains_only_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.toml", &sweep_text("s", &entries(&["GunPoint"])));
    let out = run_fake(dir.path(), &file);
    let first = std::fs::read(out.join("s/runs/GunPoint/baseline/rep-1/metrics.csv")).unwrap();
    write(dir.path(), "s.toml", &sweep_text("s", &entries(&["GunPoint", "ArrowHead"])));
    let again = pinniped().args(["run", "--fake-trainer", "--out"]).arg(&out).arg(&file).assert().success();
    let stdout = String::from_utf8_lossy(&again.get_output().stdout).to_string();
    assert!(stdout.contains("(6 already finished)"), "{stdout}");
    let trained = common::finished_ids(&again.get_output().stdout);
    assert!(trained.len() == 6 && trained.iter().all(|id| id.starts_with("ArrowHead/")), "{trained:?}");
    assert_eq!(std::fs::read(out.join("s/runs/GunPoint/baseline/rep-1/metrics.csv")).unwrap(), first);
}

#[test]
fn a_sweep_without_datasets_keeps_its_ids_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name = \"one\"\nseed = 11\nrepeats = 2\n[data]\ntrain = {:?}\ntest = {:?}\nreserve_every = 4\n{TRAIN}",
        aeon("GunPoint", "TRAIN"),
        aeon("GunPoint", "TEST")
    );
    let file = write(dir.path(), "one.toml", &text);
    let root = run_fake(dir.path(), &file).join("one");
    let plan = std::fs::read_to_string(root.join("plan.csv")).unwrap();
    assert!(plan.starts_with("index,id,config,repeat,seed,"), "{plan}");
    assert!(plan.contains(",baseline/rep-1,baseline,"));
    assert!(std::fs::read_to_string(root.join("summary.csv")).unwrap().starts_with("hidden,runs,"));
    assert!(!std::fs::read_to_string(root.join("sweep.toml")).unwrap().contains("[[datasets]]"));
    assert!(root.join("plots").is_dir(), "a one-dataset sweep still draws its per-axis plots");
}
