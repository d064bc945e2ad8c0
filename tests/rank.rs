//! `pinniped rank` over fake-trained sweeps of one design on different shipped datasets: the
//! average ranks and Friedman test recomputed here from each summary.csv, the entry selected by
//! validation, the published methods of `--reference`, the wins against `--against`, the
//! critical-difference diagram's markers and names found in its pixels, and the errors.

mod common;

use common::{pinniped, repo, write};
use pinniped::report::plots::cd;
use pinniped::stats::ranks::{critical_difference_with, friedman, PairTest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The datasets the sweeps are made on: (train file, test file), relative to the repository.
const DATASETS: [(&str, &str); 4] = [
    ("data/aeon/GunPoint_TRAIN.ts.gz", "data/aeon/GunPoint_TEST.ts.gz"),
    ("data/aeon/ItalyPowerDemand_TRAIN.ts.gz", "data/aeon/ItalyPowerDemand_TEST.ts.gz"),
    ("data/aeon/ArrowHead_TRAIN.ts.gz", "data/aeon/ArrowHead_TEST.ts.gz"),
    ("data/phoneme/Phoneme_TRAIN.tsv.gz", "data/phoneme/Phoneme_TEST.tsv.gz"),
];

/// A fake-trained grid sweep named `name` on `data` (train, test); `seed` changes its noise, `sweep`
/// its axes.
fn fake_sweep(dir: &Path, name: &str, data: (&str, &str), seed: u64, sweep: &str) -> PathBuf {
    let text = format!(
        "name = \"{name}\"\nseed = {seed}\nrepeats = 2\n[data]\ntrain = {:?}\ntest = {:?}\nreserve_every = 4\n\
         [train]\nepochs = 6\nplots = false\n[sweep]\ndesign = \"grid\"\n{sweep}\n",
        repo().join(data.0).display().to_string(),
        repo().join(data.1).display().to_string(),
    );
    let file = write(dir, &format!("{name}.toml"), &text);
    pinniped().args(["run", "-q", "--fake-trainer", "--out"]).arg(dir.join("out")).arg(&file).assert().success();
    dir.join("out").join(name)
}

const AXES: &str = "hidden = [[8], [64], [256]]\nbatch_size = [10, 20]";

/// One sweep per shipped dataset, each with its own seed.
fn sweeps(dir: &Path) -> Vec<PathBuf> {
    DATASETS.iter().enumerate().map(|(i, &d)| fake_sweep(dir, &format!("s{i}"), d, 3 + i as u64, AXES)).collect()
}

/// Each configuration id's mean final test accuracy in a sweep's summary.csv, the id found in
/// plan.csv by the configuration's axis values; and `selected`: the test accuracy of the first
/// configuration with the highest mean final validation accuracy.
fn summary_accs(sweep: &Path) -> BTreeMap<String, f64> {
    let (mut accs, (_, selected)) = summary_accs_and_selection(sweep);
    accs.insert("selected".into(), selected);
    accs
}

/// [`summary_accs`] without `selected`, and the configuration selection picks with its test accuracy.
fn summary_accs_and_selection(sweep: &Path) -> (BTreeMap<String, f64>, (String, f64)) {
    let mut plan = csv::Reader::from_path(sweep.join("plan.csv")).unwrap();
    let head = plan.headers().unwrap().clone();
    let axes: Vec<String> =
        head.iter().skip(head.iter().position(|h| h == "split_seed").unwrap() + 1).map(String::from).collect();
    let config_col = head.iter().position(|h| h == "config").unwrap();
    let mut ids: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for row in plan.records() {
        let row = row.unwrap();
        let values = axes.iter().map(|a| row[head.iter().position(|h| h == a).unwrap()].to_string()).collect();
        ids.insert(values, row[config_col].to_string());
    }
    let mut summary = csv::Reader::from_path(sweep.join("summary.csv")).unwrap();
    let head = summary.headers().unwrap().clone();
    let acc = head.iter().position(|h| h == "final_test_acc_mean").unwrap();
    let valid = head.iter().position(|h| h == "final_valid_acc_mean").unwrap();
    let mut accs = BTreeMap::new();
    let mut best: Option<(f64, String, f64)> = None;
    for row in summary.records() {
        let row = row.unwrap();
        let values: Vec<String> =
            axes.iter().map(|a| row[head.iter().position(|h| h == a).unwrap()].to_string()).collect();
        let (id, test, valid) = (ids[&values].clone(), row[acc].parse::<f64>().unwrap(), row[valid].parse().unwrap());
        if best.as_ref().is_none_or(|b| valid > b.0) {
            best = Some((valid, id.clone(), test));
        }
        accs.insert(id, test);
    }
    let (_, id, test) = best.unwrap();
    (accs, (id, test))
}

/// Rank 1 = the highest accuracy; ties share their mean position.
fn ranks_of(accs: &[f64]) -> Vec<f64> {
    accs.iter()
        .map(|&a| {
            let better = accs.iter().filter(|&&b| b > a).count() as f64;
            let equal = accs.iter().filter(|&&b| b == a).count() as f64;
            better + (equal + 1.0) / 2.0
        })
        .collect()
}

fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let head: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    reader.records().map(|r| head.iter().cloned().zip(r.unwrap().iter().map(str::to_string)).collect()).collect()
}

fn rank_cmd(dirs: &[PathBuf], out: &Path, args: &[&str]) -> std::process::Output {
    pinniped().arg("rank").args(dirs).arg("--out").arg(out).args(args).output().unwrap()
}

#[track_caller]
fn assert_close(what: &str, x: f64, y: f64) {
    assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{what}: {x} vs {y}");
}

#[test]
fn ranks_and_friedman_are_those_of_the_summaries() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = sweeps(tmp.path());
    let out = tmp.path().join("rank");
    let o = rank_cmd(&dirs, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));

    let per_dataset: Vec<BTreeMap<String, f64>> = dirs.iter().map(|d| summary_accs(d)).collect();
    let configs: Vec<String> = per_dataset[0].keys().cloned().collect();
    assert_eq!(configs.len(), 7, "6 configurations and `selected`");
    let scores: Vec<Vec<f64>> = per_dataset.iter().map(|d| configs.iter().map(|c| d[c]).collect()).collect();
    let mut expected = vec![0.0; configs.len()];
    for row in &scores {
        for (e, r) in expected.iter_mut().zip(ranks_of(row)) {
            *e += r / scores.len() as f64;
        }
    }

    let ranks = read_csv(&out.join("ranks.csv"));
    let names = ["GunPoint", "ItalyPowerDemand", "ArrowHead", "Phoneme"];
    assert_eq!(ranks.len(), configs.len());
    let mut previous = 0.0;
    for row in &ranks {
        let m = configs.iter().position(|c| *c == row["config"]).unwrap_or_else(|| panic!("{}", row["config"]));
        let got: f64 = row["average_rank"].parse().unwrap();
        assert_close(&format!("average rank of {}", row["config"]), got, expected[m]);
        assert!(got >= previous, "ranks.csv is best first");
        previous = got;
        for (d, name) in names.iter().enumerate() {
            assert_close(&format!("{} on {name}", row["config"]), row[*name].parse().unwrap(), scores[d][m]);
        }
    }

    for (test, pair_test) in [("wilcoxon", PairTest::Wilcoxon), ("nemenyi", PairTest::Nemenyi)] {
        let o = rank_cmd(&dirs, &out, &["--test", test, "--alpha", "0.2"]);
        assert_eq!(o.status.code(), Some(0), "{test}: {}", String::from_utf8_lossy(&o.stderr));
        let cd = critical_difference_with(&scores, 0.2, pair_test).unwrap();
        for row in read_csv(&out.join("ranks.csv")) {
            let m = configs.iter().position(|c| *c == row["config"]).unwrap();
            let want: Vec<String> = cd
                .cliques
                .iter()
                .enumerate()
                .filter(|(_, c)| c.contains(&m))
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            assert_eq!(row["cliques"], want.join(" "), "{test}: cliques of {}", row["config"]);
        }
        assert_eq!(read_csv(&out.join("friedman.csv"))[0]["alpha"], "0.2");
    }
    let f = friedman(&scores).unwrap();
    let written = &read_csv(&out.join("friedman.csv"))[0];
    assert_close("Friedman statistic", written["statistic"].parse().unwrap(), f.statistic);
    assert_close("Friedman p", written["p"].parse().unwrap(), f.p);
    assert_eq!(written["datasets"], "4");

    // Wins against the default reference, the best average rank.
    let best = ranks[0]["config"].clone();
    let b = configs.iter().position(|c| *c == best).unwrap();
    for row in read_csv(&out.join("wins.csv")) {
        let m = configs.iter().position(|c| *c == row["config"]).unwrap();
        let count =
            |cmp: std::cmp::Ordering| scores.iter().filter(|s| s[m].total_cmp(&s[b]) == cmp).count().to_string();
        assert_eq!(row["against"], best);
        assert_eq!(row["wins"], count(std::cmp::Ordering::Greater), "{} wins", row["config"]);
        assert_eq!(row["ties"], count(std::cmp::Ordering::Equal), "{} ties", row["config"]);
        assert_eq!(row["losses"], count(std::cmp::Ordering::Less), "{} losses", row["config"]);
    }
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Friedman") && stdout.contains(&best), "{stdout}");
}

#[test]
fn cd_diagram_draws_each_configuration_at_its_average_rank_left_to_right() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = sweeps(tmp.path());
    let out = tmp.path().join("rank");
    assert_eq!(rank_cmd(&dirs, &out, &["--metric", "valid"]).status.code(), Some(0));
    let ranks: Vec<f64> = read_csv(&out.join("ranks.csv")).iter().map(|r| r["average_rank"].parse().unwrap()).collect();
    let image = image::open(out.join("cd-diagram.png")).unwrap().to_rgb8();
    assert_eq!(image.width(), cd::WIDTH);
    let k = ranks.len();
    let is_marker = |x: u32, y: u32| image.get_pixel(x, y).0 == [cd::MARKER.0, cd::MARKER.1, cd::MARKER.2];
    // A marker at each average rank, and marker colour nowhere else on the axis.
    for r in &ranks {
        assert!(is_marker(cd::rank_x(*r, k) as u32, cd::AXIS_Y as u32), "no marker at rank {r}");
    }
    for x in 0..image.width() {
        let near = ranks.iter().any(|r| (cd::rank_x(*r, k) - x as i32).abs() <= 5);
        assert!(near || !is_marker(x, cd::AXIS_Y as u32), "a marker at x {x}, at none of the ranks {ranks:?}");
    }
    // Each name is drawn in its row, beside the axis on its side: the better half on the left.
    let layout = cd::layout(&ranks, &(0..k).collect::<Vec<_>>(), &[]);
    for (i, p) in layout.placed.iter().enumerate() {
        assert_eq!(p.left, i < k.div_ceil(2), "side of the name of rank {}", ranks[i]);
        let columns = if p.left { 0..(cd::AXIS_LEFT - 20) as u32 } else { (cd::AXIS_RIGHT + 20) as u32..cd::WIDTH };
        let ink = columns
            .flat_map(|x| (p.label_y - 6..=p.label_y + 6).map(move |y| (x, y as u32)))
            .filter(|&(x, y)| image.get_pixel(x, y).0.iter().all(|&c| c < 100))
            .count();
        assert!(ink > 20, "no name drawn in the row of rank {} ({ink} dark pixels)", ranks[i]);
    }
}

#[test]
fn configurations_missing_from_a_directory_are_left_out_and_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs: Vec<PathBuf> = DATASETS[..2]
        .iter()
        .enumerate()
        .map(|(i, &d)| fake_sweep(tmp.path(), &format!("s{i}"), d, 3 + i as u64, AXES))
        .collect();
    dirs.push(fake_sweep(tmp.path(), "s2", DATASETS[2], 5, "hidden = [[8], [64], [256]]\nbatch_size = [10]"));
    let out = tmp.path().join("rank");
    let o = rank_cmd(&dirs, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let ranked: Vec<String> = read_csv(&out.join("ranks.csv"))
        .iter()
        .filter(|r| r["kind"] == "configuration")
        .map(|r| r["config"].clone())
        .collect();
    assert_eq!(ranked.len(), 3, "{ranked:?}");
    assert!(ranked.iter().all(|c| !c.contains("batch_size=20")), "{ranked:?}");
    assert_eq!(stdout.matches("left out:").count(), 3, "{stdout}");
    assert!(stdout.contains("no value in ArrowHead"), "{stdout}");
}

#[test]
fn bad_rank_input_exits_2_naming_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fake_sweep(tmp.path(), "a", DATASETS[0], 3, AXES);
    let b = fake_sweep(tmp.path(), "b", DATASETS[1], 4, AXES);
    let same_data = fake_sweep(tmp.path(), "c", DATASETS[0], 5, AXES);
    let other_design = fake_sweep(tmp.path(), "d", DATASETS[2], 6, "learning_rate = [0.01, 0.02]\nmomentum = [0.5]");
    let stranger = tmp.path().join("stranger");
    std::fs::create_dir(&stranger).unwrap();
    std::fs::write(stranger.join("notes.txt"), "mine").unwrap();
    let fresh = tmp.path().join("fresh");
    let bad_csv =
        write(tmp.path(), "bad.csv", "dataset,MLP\nGunPoint,0.9\nItalyPowerDemand,95.3\n").display().to_string();
    let good_csv = repo().join("data/published/fawaz2019.csv").display().to_string();
    for (case, dirs, out, args, needle) in [
        ("one directory", vec![a.clone()], &fresh, vec![], "at least two"),
        ("duplicate dataset names", vec![a.clone(), b.clone(), same_data.clone()], &fresh, vec![], "GunPoint"),
        ("different designs", vec![a.clone(), other_design.clone()], &fresh, vec![], "left out"),
        ("unknown --against", vec![a.clone(), b.clone()], &fresh, vec!["--against", "nope"], "--against nope"),
        (
            "a configuration as --reference",
            vec![a.clone(), b.clone()],
            &fresh,
            vec!["--reference", "baseline"],
            "--against",
        ),
        (
            "malformed --reference",
            vec![a.clone(), b.clone()],
            &fresh,
            vec!["--reference", bad_csv.as_str()],
            "bad.csv: line 3, column 2",
        ),
        (
            "--reference ranking validation",
            vec![a.clone(), b.clone()],
            &fresh,
            vec!["--reference", good_csv.as_str(), "--metric", "valid"],
            "--metric test",
        ),
        ("not a results directory", vec![a.clone(), tmp.path().join("missing")], &fresh, vec![], "missing"),
        ("foreign --out", vec![a.clone(), b.clone()], &stranger, vec![], "not empty"),
    ] {
        let o = rank_cmd(&dirs, out, &args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{case}: {stderr}");
        assert!(stderr.contains(needle), "{case}: {stderr}");
        assert!(!fresh.exists(), "{case}: nothing is written on bad input");
    }
    assert_eq!(std::fs::read_to_string(stranger.join("notes.txt")).unwrap(), "mine");
    assert_eq!(std::fs::read_dir(&stranger).unwrap().count(), 1, "nothing written into a foreign --out");
    // An earlier rank output is replaced.
    for _ in 0..2 {
        let o = rank_cmd(&[a.clone(), b.clone()], &fresh, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

#[test]
fn selected_is_the_test_accuracy_of_the_configuration_best_by_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = sweeps(tmp.path());
    let out = tmp.path().join("rank");
    let o = rank_cmd(&dirs, &out, &["--against", "selected"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let ranks = read_csv(&out.join("ranks.csv"));
    let selected = ranks.iter().find(|r| r["config"] == "selected").expect("a `selected` row");
    assert_eq!(selected["kind"], "selected");
    let stdout = String::from_utf8_lossy(&o.stdout);
    for (dir, name) in dirs.iter().zip(["GunPoint", "ItalyPowerDemand", "ArrowHead", "Phoneme"]) {
        let (accs, (config, test)) = summary_accs_and_selection(dir);
        assert_eq!(selected[name].parse::<f64>().unwrap(), test, "{name}: the test accuracy of {config}");
        assert_eq!(accs[&config], test);
        assert!(stdout.contains(&format!("{name}: {config}")), "{name}: the pick is printed: {stdout}");
    }
    assert!(ranks.iter().all(|r| r["kind"] != "published"), "no --reference, no published rows");
    for row in read_csv(&out.join("wins.csv")) {
        assert_eq!(row["against"], "selected");
    }
}

#[test]
fn published_methods_rank_beside_the_configurations_on_the_datasets_they_share() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = sweeps(tmp.path());
    let out = tmp.path().join("rank");
    let reference = repo().join("data/published/fawaz2019.csv");
    let o = rank_cmd(&dirs, &out, &["--reference", reference.to_str().unwrap(), "--against", "MLP"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("left out dataset: Phoneme (no row in fawaz2019.csv)"), "{stdout}");

    // The published accuracies, read here from the shipped file.
    let published = read_csv(&reference);
    let names = ["GunPoint", "ItalyPowerDemand", "ArrowHead"];
    let methods = ["MLP", "FCN", "ResNet"];
    let published_acc = |method: &str, dataset: &str| -> f64 {
        published.iter().find(|r| r["dataset"] == dataset).unwrap()[method].parse().unwrap()
    };
    let per_dataset: Vec<BTreeMap<String, f64>> = dirs[..3].iter().map(|d| summary_accs(d)).collect();
    let mut entries: Vec<String> = per_dataset[0].keys().cloned().collect();
    entries.extend(methods.map(String::from));
    let score = |d: usize, e: &str| per_dataset[d].get(e).copied().unwrap_or_else(|| published_acc(e, names[d]));
    let mut expected = vec![0.0; entries.len()];
    for d in 0..names.len() {
        let row: Vec<f64> = entries.iter().map(|e| score(d, e)).collect();
        for (x, r) in expected.iter_mut().zip(ranks_of(&row)) {
            *x += r / names.len() as f64;
        }
    }

    let ranks = read_csv(&out.join("ranks.csv"));
    assert_eq!(ranks.len(), entries.len());
    assert!(!ranks[0].contains_key("Phoneme"), "only the datasets the file has");
    for row in &ranks {
        let m = entries.iter().position(|e| *e == row["config"]).unwrap_or_else(|| panic!("{}", row["config"]));
        let kind = if methods.contains(&row["config"].as_str()) {
            "published"
        } else if row["config"] == "selected" {
            "selected"
        } else {
            "configuration"
        };
        assert_eq!(row["kind"], kind, "{}", row["config"]);
        assert_close(&format!("average rank of {}", row["config"]), row["average_rank"].parse().unwrap(), expected[m]);
        for (d, name) in names.iter().enumerate() {
            assert_close(
                &format!("{} on {name}", row["config"]),
                row[*name].parse().unwrap(),
                score(d, &row["config"]),
            );
        }
    }
    for row in read_csv(&out.join("wins.csv")) {
        assert_eq!(row["against"], "MLP");
    }

    // The diagram: a marker at every average rank, each name in its row, the published ones in
    // their colour, `selected` in its own, the configurations in neither.
    let average: Vec<f64> = ranks.iter().map(|r| r["average_rank"].parse().unwrap()).collect();
    let k = average.len();
    let mut cliques: Vec<Vec<usize>> = Vec::new();
    for (m, row) in ranks.iter().enumerate() {
        for c in row["cliques"].split_whitespace() {
            let c: usize = c.parse().unwrap();
            cliques.resize(cliques.len().max(c), Vec::new());
            cliques[c - 1].push(m);
        }
    }
    let image = image::open(out.join("cd-diagram.png")).unwrap().to_rgb8();
    let layout = cd::layout(&average, &(0..k).collect::<Vec<_>>(), &cliques);
    assert!(image.height() > layout.height, "room for the legend below the names");
    for r in &average {
        let px = image.get_pixel(cd::rank_x(*r, k) as u32, cd::AXIS_Y as u32).0;
        assert_eq!(px, [cd::MARKER.0, cd::MARKER.1, cd::MARKER.2], "no marker at rank {r}");
    }
    let tinted = |p: &cd::Placed, colour: cd::NameStyle| {
        let columns = if p.left { 0..(cd::AXIS_LEFT - 20) as u32 } else { (cd::AXIS_RIGHT + 20) as u32..cd::WIDTH };
        columns
            .flat_map(|x| (p.label_y - 6..=p.label_y + 6).map(move |y| (x, y as u32)))
            .filter(|&(x, y)| {
                let [r, g, b] = image.get_pixel(x, y).0.map(i32::from);
                match colour {
                    cd::NameStyle::Published => b > r + 60 && b > g + 40,
                    cd::NameStyle::Selected => g > r + 60 && g > b + 40,
                    cd::NameStyle::Plain => r < 100 && g < 100 && b < 100,
                }
            })
            .count()
    };
    for p in &layout.placed {
        let name = &ranks[p.config]["config"];
        let style = match ranks[p.config]["kind"].as_str() {
            "published" => cd::NameStyle::Published,
            "selected" => cd::NameStyle::Selected,
            _ => cd::NameStyle::Plain,
        };
        assert!(tinted(p, style) > 20, "{name}: its name is not drawn in its colour");
        for other in [cd::NameStyle::Published, cd::NameStyle::Selected] {
            if other != style {
                assert_eq!(tinted(p, other), 0, "{name}: drawn in the colour of {other:?}");
            }
        }
    }
}
