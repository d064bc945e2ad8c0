//! Tests that decode the PNGs and check what they show, not just that they exist.

use super::colormap::{hot, Scale};
use super::fixture::{write_run, write_sweep, RunShape};
use super::heatmap::MISSING;
use super::run::{confusion_layout, draw_confusion, draw_error, set_color};
use super::sweep::plot_sweep;
use super::sweep::{SweepResults, FAILED_MARK};
use super::{plot_run, PALETTE};
use crate::data::split::Split;
use crate::results::metrics::{read_metrics, Metrics};
use crate::results::node_tables::{read_confusion, Grid};
use crate::results::plan::read_plan;
use image::{Rgb, RgbImage};
use plotters::style::RGBColor;
use std::collections::HashSet;
use std::path::Path;

fn load(path: &Path) -> RgbImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8()
}

fn rgb(c: RGBColor) -> Rgb<u8> {
    Rgb([c.0, c.1, c.2])
}

fn distinct_colors(img: &RgbImage) -> usize {
    img.pixels().map(|p| p.0).collect::<HashSet<_>>().len()
}

/// Pixels of exactly `color` in the box around (`x`, `y`) of half-size `r`.
fn count_near(img: &RgbImage, (x, y): (i32, i32), r: i32, color: RGBColor) -> usize {
    let mut n = 0;
    for yy in (y - r).max(0)..=(y + r).min(img.height() as i32 - 1) {
        for xx in (x - r).max(0)..=(x + r).min(img.width() as i32 - 1) {
            if *img.get_pixel(xx as u32, yy as u32) == rgb(color) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn confusion_cells_have_the_colour_map_extremes() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("confusion-test.csv");
    // Rows actual, columns predicted: the max (10) at (1, 1), zeros elsewhere off-diagonal.
    std::fs::write(&csv, "epoch,actual,a,b,c\n3,a,5,0,1\n3,b,0,10,0\n3,c,2,0,7\n").unwrap();
    let confusion = read_confusion(&csv).unwrap().unwrap();
    let png = dir.path().join("confusion-test.png");
    assert!(draw_confusion(&png, Split::Test, "h=8", &confusion).unwrap());
    let img = load(&png);
    let layout = confusion_layout(3);
    let at = |r: usize, c: usize| {
        let (x, y) = layout.cell(r, c).center();
        *img.get_pixel(x as u32, y as u32)
    };
    assert_eq!(at(1, 1), rgb(hot(1.0)), "max is white");
    assert_eq!(at(1, 1), Rgb([255, 255, 255]));
    for (r, c) in [(0, 1), (1, 0), (1, 2), (2, 1)] {
        assert_eq!(at(r, c), rgb(hot(0.0)), "zero at ({r}, {c}) is the map's black");
    }
    assert_eq!(at(0, 0), rgb(hot(0.5)));
    assert_eq!(at(2, 2), rgb(hot(0.7)));
    // The whole cell is filled, edge to edge, with no gaps between cells.
    let cell = layout.cell(1, 1);
    assert_eq!(*img.get_pixel(cell.x0 as u32, cell.y0 as u32), Rgb([255, 255, 255]));
    assert_eq!(*img.get_pixel(cell.x1 as u32 - 1, cell.y1 as u32 - 1), Rgb([255, 255, 255]));
    assert_eq!(*img.get_pixel(cell.x1 as u32, cell.y0 as u32), rgb(hot(0.0)));
    // The colour bar runs from the map's black at the bottom to white at the top.
    let bar = layout.bar;
    let mid = ((bar.x0 + bar.x1) / 2) as u32;
    assert_eq!(*img.get_pixel(mid, bar.y1 as u32 - 1), rgb(hot(0.0)));
    assert_eq!(*img.get_pixel(mid, bar.y0 as u32), rgb(hot(1.0)));
    assert!(distinct_colors(&img) > 20, "labels and title are drawn");
}

#[test]
fn error_curves_land_where_the_data_says() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("metrics.csv");
    let mut text = String::from("epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds\n");
    for e in 1..=50 {
        // Train error 0.25 throughout; test error 0.9, evaluated every 5th epoch; no validation.
        let test = if e % 5 == 0 { "1,0.1" } else { "," };
        text += &format!("{e},1,0.75,,,{test},0.1\n");
    }
    std::fs::write(&csv, text).unwrap();
    let metrics = read_metrics(&csv).unwrap().unwrap();
    let png = dir.path().join("error.png");
    let frame = draw_error(&png, "t", &metrics).unwrap().expect("drawn");
    let img = load(&png);
    let (train, valid, test) = (set_color(Split::Train), set_color(Split::Valid), set_color(Split::Test));
    for e in [10.0, 25.0, 40.0] {
        assert!(count_near(&img, frame.px(e, 0.25), 3, train) > 0, "train line at epoch {e}");
        assert!(count_near(&img, frame.px(e, 0.9), 3, test) > 0, "test line at epoch {e}");
        assert_eq!(count_near(&img, frame.px(e, 0.9), 3, train), 0);
        assert_eq!(count_near(&img, frame.px(e, 0.25), 3, test), 0);
    }
    // The empty validation column draws nothing anywhere (no legend entry either).
    assert!(img.pixels().all(|p| *p != rgb(valid)));
    // Empty test cells are skipped, not drawn as error 1: nothing of the test colour near the top.
    assert_eq!(count_near(&img, frame.px(25.0, 1.0), 2, test), 0);
}

/// The diagnostics tables as runs write them now (gzip CSV) draw the very pictures their
/// plain `.csv` form (older directories, the fixture) draws, and a directory with both
/// prefers the compressed one.
#[test]
fn compressed_diagnostics_draw_the_same_plots_as_plain_ones() {
    use crate::results::diagnostics::{file_name, write_table};
    let dir = tempfile::tempdir().unwrap();
    let (plain, packed) = (dir.path().join("plain"), dir.path().join("packed"));
    let shape = RunShape { epochs: 20, hidden: vec![6], classes: 4, confusion_every: 10, ..RunShape::default() };
    write_run(&plain, &shape, "done");
    write_run(&packed, &shape, "done");
    let stems = ["weights", "activations", "confusion-train", "confusion-valid", "confusion-test"];
    for stem in stems {
        let csv = packed.join(format!("{stem}.csv"));
        write_table(&packed, stem, &std::fs::read_to_string(&csv).unwrap()).unwrap();
        std::fs::remove_file(&csv).unwrap();
        assert!(packed.join(file_name(stem)).is_file());
    }
    let names = |written: Vec<std::path::PathBuf>| -> Vec<String> {
        let mut n: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
        n.sort();
        n
    };
    let drawn = names(plot_run(&plain).unwrap());
    assert_eq!(names(plot_run(&packed).unwrap()), drawn);
    assert!(drawn.iter().any(|n| n.starts_with("weight-norm")) && drawn.iter().any(|n| n.starts_with("activations")));
    for name in &drawn {
        let (a, b) = (plain.join("plots").join(name), packed.join("plots").join(name));
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "{name}");
    }
    // Both forms present: the compressed table is the one read (here: one epoch fewer).
    let weights = std::fs::read_to_string(plain.join("weights.csv")).unwrap();
    let shorter: String = weights.lines().filter(|l| !l.starts_with("20,")).map(|l| format!("{l}\n")).collect();
    write_table(&plain, "weights", &shorter).unwrap();
    plot_run(&plain).unwrap();
    assert_ne!(
        std::fs::read(plain.join("plots/weight-norm-L0.png")).unwrap(),
        std::fs::read(packed.join("plots/weight-norm-L0.png")).unwrap()
    );
}

#[test]
fn every_run_plot_is_written_and_not_blank() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let shape = RunShape {
        epochs: 30,
        hidden: vec![16, 8],
        classes: 6,
        confusion_every: 30, // the last epoch only: one heatmap per set
        ..RunShape::default()
    };
    write_run(&run, &shape, "done");
    let written = plot_run(&run).unwrap();
    let mut names: Vec<String> =
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut expected = vec![
        "activations-L0-last.png",
        "activations-L0.png",
        "activations-L1-last.png",
        "activations-L1.png",
        "confusion-test.png",
        "confusion-train.png",
        "confusion-valid.png",
        "error.png",
        "weight-angle-L0.png",
        "weight-angle-L1.png",
        "weight-angle-L2.png",
        "weight-norm-L0.png",
        "weight-norm-L1.png",
        "weight-norm-L2.png",
    ];
    expected.sort();
    assert_eq!(names, expected);
    for p in &written {
        assert!(p.starts_with(run.join("plots")));
        let img = load(p);
        assert_eq!(img.dimensions(), (800, 600), "{}", p.display());
        assert!(distinct_colors(&img) > 30, "{} looks blank", p.display());
    }
}

#[test]
fn weight_heatmap_puts_node_zero_at_the_bottom() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    // Layer 0: node 1 changes most at epoch 2; node 0 never changes.
    std::fs::write(
        run.join("weights.csv"),
        "epoch,layer,node,dnorm,dtheta\n1,0,0,0,0\n1,0,1,0.5,0.1\n2,0,0,0,0\n2,0,1,1.0,0.2\n",
    )
    .unwrap();
    let written = plot_run(&run).unwrap();
    assert_eq!(written.len(), 2);
    let img = load(&run.join("plots/weight-norm-L0.png"));
    let layout = super::heatmap::HeatmapLayout::new(super::heatmap::HEATMAP_SIZE, 2, 2, false);
    let at = |node: usize, col: usize| {
        let (x, y) = layout.cell(node, col).center();
        *img.get_pixel(x as u32, y as u32)
    };
    assert!(layout.cell(0, 0).y0 > layout.cell(1, 0).y0, "node 0 below node 1");
    assert_eq!(at(1, 1), rgb(hot(1.0)));
    assert_eq!(at(1, 0), rgb(hot(0.5)));
    assert_eq!(at(0, 0), rgb(hot(0.0)));
}

#[test]
fn missing_empty_and_degenerate_inputs_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    // Nothing at all: nothing drawn, no error.
    assert!(plot_run(&run).unwrap().is_empty());
    // Empty files, and files with only a header.
    for f in ["metrics.csv", "weights.csv", "activations.csv", "confusion-train.csv"] {
        std::fs::write(run.join(f), "").unwrap();
    }
    assert!(plot_run(&run).unwrap().is_empty());
    std::fs::write(
        run.join("metrics.csv"),
        "epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds\n",
    )
    .unwrap();
    std::fs::write(run.join("weights.csv"), "epoch,layer,node,dnorm,dtheta\n").unwrap();
    std::fs::write(run.join("activations.csv"), "epoch,layer,node\n").unwrap();
    std::fs::write(run.join("confusion-train.csv"), "epoch,actual,1,2\n").unwrap();
    assert!(plot_run(&run).unwrap().is_empty());
    // A diverged run: every accuracy NaN or inf → no error curve; NaN weights → grey cells.
    std::fs::write(run.join("metrics.csv"), "epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds\n1,NaN,NaN,inf,NaN,,,0.1\n2,NaN,NaN,NaN,-inf,,,0.1\n").unwrap();
    std::fs::write(run.join("weights.csv"), "epoch,layer,node,dnorm,dtheta\n1,0,0,NaN,NaN\n2,0,0,inf,0.1\n").unwrap();
    let written = plot_run(&run).unwrap();
    assert!(!written.iter().any(|p| p.ends_with("error.png")));
    let img = load(&run.join("plots/weight-norm-L0.png"));
    let layout = super::heatmap::HeatmapLayout::new(super::heatmap::HEATMAP_SIZE, 1, 2, false);
    let (x, y) = layout.cell(0, 0).center();
    assert_eq!(*img.get_pixel(x as u32, y as u32), rgb(MISSING));
}

#[test]
fn a_single_epoch_and_no_hidden_layer_still_plot() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let shape = RunShape { epochs: 1, hidden: vec![], classes: 3, ..RunShape::default() };
    write_run(&run, &shape, "done");
    let written = plot_run(&run).unwrap();
    let names: HashSet<String> =
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names.contains("error.png") && names.contains("weight-angle-L0.png"));
    assert!(!names.iter().any(|n| n.starts_with("activations")), "{names:?}");
    // One epoch is a dot, not an invisible line.
    let metrics: Metrics = read_metrics(&run.join("metrics.csv")).unwrap().unwrap();
    let frame = draw_error(&run.join("plots/error.png"), "t", &metrics).unwrap().unwrap();
    let img = load(&run.join("plots/error.png"));
    let train_err = 1.0 - metrics.final_acc(Split::Train).unwrap();
    assert!(count_near(&img, frame.px(1.0, train_err), 3, set_color(Split::Train)) > 4);
}

#[test]
fn a_malformed_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("weights.csv"), "epoch,layer,node,dnorm,dtheta\n1,0,zero,1,1\n").unwrap();
    let err = format!("{:#}", plot_run(&run).unwrap_err());
    assert!(err.contains("weights.csv"), "{err}");
    let err = format!("{:#}", plot_run(&dir.path().join("absent")).unwrap_err());
    assert!(err.contains("absent"), "{err}");
}

#[test]
fn activation_sums_and_last_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("activations.csv");
    std::fs::write(&csv, "epoch,layer,node,0.0000,0.5000,over_1\n1,0,0,1,2,3\n2,0,0,10,20,30\n2,0,1,0,0,1\n").unwrap();
    let acts = crate::results::node_tables::read_activations(&csv).unwrap().unwrap();
    let l = &acts.layers[0];
    assert_eq!((l.epochs, l.last_epoch), (2, 2));
    assert_eq!(l.total, Grid { rows: 2, cols: 3, data: vec![11.0, 22.0, 33.0, 0.0, 0.0, 1.0] });
    assert_eq!(l.last.data[..3], [10.0, 20.0, 30.0]);
    let ticks = super::run::bin_ticks(&acts.bins, 100.0);
    let texts: Vec<&str> = ticks.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, ["0.0", "0.5", "> 1"]);
    let plain: Vec<String> = ["0.0000", "0.5000"].map(String::from).to_vec();
    let texts: Vec<String> = super::run::bin_ticks(&plain, 100.0).into_iter().map(|t| t.text).collect();
    assert_eq!(texts, ["0.0", "0.5", "1.0"]);
}

#[test]
fn sweep_plots_show_one_colour_per_value() {
    let dir = tempfile::tempdir().unwrap();
    write_sweep(dir.path(), "demo");
    let written = plot_sweep(dir.path()).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        names,
        [
            "axis-batch_size-error.png",
            "axis-batch_size-final.png",
            "axis-momentum-error.png",
            "axis-momentum-final.png"
        ]
    );
    for p in &written {
        let img = load(p);
        assert!(distinct_colors(&img) > 30, "{} looks blank", p.display());
    }
    // Two values per axis: the first two palette colours, never a third.
    let img = load(&dir.path().join("plots/axis-momentum-error.png"));
    let has = |c: RGBColor| img.pixels().any(|p| *p == rgb(c));
    assert!(has(PALETTE[0]) && has(PALETTE[1]) && !has(PALETTE[2]));
    // Final accuracies use the set colours.
    let img = load(&dir.path().join("plots/axis-batch_size-final.png"));
    for set in Split::ALL {
        assert!(img.pixels().any(|p| *p == rgb(set_color(set))), "{set:?}");
    }
}

#[test]
fn plan_ids_with_unquoted_commas_are_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("plan.csv");
    std::fs::write(
        &csv,
        "index,id,config,repeat,seed,activation,batch_size\n0,baseline/rep-1,baseline,1,7,sigmoid,40\n\
         1,activation=tanh,batch_size=160/rep-1,activation=tanh,batch_size=160,1,8,tanh,160\n\
         2,\"a=1,b=2/rep-2\",\"a=1,b=2\",2,9,relu,80\n",
    )
    .unwrap();
    let plan = read_plan(&csv).unwrap().unwrap();
    assert_eq!(plan.axes, ["activation", "batch_size"]);
    assert_eq!(plan.runs[1].id, "activation=tanh,batch_size=160/rep-1");
    assert_eq!(plan.runs[1].config, "activation=tanh,batch_size=160");
    assert_eq!(plan.runs[1].values, ["tanh", "160"]);
    assert_eq!(plan.runs[2].id, "a=1,b=2/rep-2");
    assert_eq!(plan.runs[2].values, ["relu", "80"]);
    assert_eq!(plan.baseline(), Some(&["sigmoid".to_string(), "40".to_string()][..]));
}

#[test]
fn plan_axes_start_after_the_split_columns() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("plan.csv");
    std::fs::write(
        &csv,
        "index,id,config,repeat,seed,repetition,fold,split_seed,hidden\n0,hidden=4/rep-1-fold-2,hidden=4,2,7,1,2,99,4\n\
         1,\"a=1,b=2/rep-1\",\"a=1,b=2\",1,8,1,,98,16\n",
    )
    .unwrap();
    let plan = read_plan(&csv).unwrap().unwrap();
    assert_eq!(plan.axes, ["hidden"]);
    assert_eq!(
        (plan.runs[0].id.as_str(), plan.runs[0].values.as_slice()),
        ("hidden=4/rep-1-fold-2", &["4".to_string()][..])
    );
    assert_eq!((plan.runs[1].config.as_str(), plan.runs[1].values.as_slice()), ("a=1,b=2", &["16".to_string()][..]));
}

/// A 256-epoch, 64-hidden, 39-class run, like the paper's baseline; prints the time.
#[test]
fn paper_sized_run_draws_every_plot() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let shape = RunShape { epochs: 256, hidden: vec![64], classes: 39, test_every: 1, confusion_every: 64, skill: 0.0 };
    write_run(&run, &shape, "done");
    let written = plot_run(&run).unwrap();
    // 10 plots, plus a confusion heatmap per set for each earlier recorded epoch (64, 128, 192).
    // How long it takes is measured in BENCHMARKS.md, not asserted here.
    assert_eq!(written.len(), 10 + 3 * 3);
    let _ = Scale::of([0.0]);
}

/// The fixture sweep (`write_sweep`) with a run whose kept model is not its last epoch's
/// (early stopping or refit) and a diverged run that says when it diverged.
fn sweep_with_kept_models(dir: &Path) -> [f64; 3] {
    write_sweep(dir, "kept");
    let kept = [0.61, 0.42, 0.33];
    let status = format!(
        "{{\"state\": \"done\", \"epoch\": 12, \"selected\": {{\"epoch\": 5, \"refit\": true, \
         \"train_acc\": {}, \"valid_acc\": {}, \"test_acc\": {}}}}}\n",
        kept[0], kept[1], kept[2]
    );
    std::fs::write(dir.join("runs/batch_size=40/rep-1/status.json"), status).unwrap();
    std::fs::write(
        dir.join("runs/momentum=0.9/rep-2/status.json"),
        "{\"state\": \"diverged\", \"message\": \"diverged in epoch 7\", \"epoch\": 7}\n",
    )
    .unwrap();
    kept
}

/// The last metrics.csv row's train, valid, test accuracy, read here independently of the plots.
fn last_row(run: &Path) -> [f64; 3] {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let last: Vec<f64> = text.lines().last().unwrap().split(',').map(|f| f.parse().unwrap()).collect();
    [last[2], last[4], last[6]]
}

fn panel(drawn: &[super::sweep::Drawn], file: &str, set: Split) -> (RgbImage, super::run::LineFrame) {
    let (path, frames) = drawn.iter().find(|(p, _)| p.ends_with(file)).unwrap_or_else(|| panic!("{file} drawn"));
    let frame = frames.iter().find(|(s, _)| *s == set).unwrap_or_else(|| panic!("{file}: a {set:?} panel")).1;
    (load(path), frame)
}

#[test]
fn sweep_final_plot_draws_the_kept_models_means_and_their_t_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let kept = sweep_with_kept_models(dir.path());
    let other = last_row(&dir.path().join("runs/batch_size=40/rep-2"));
    let stale = last_row(&dir.path().join("runs/batch_size=40/rep-1"));
    let drawn = super::sweep::draw_sweep(dir.path(), &SweepResults::read(dir.path()).unwrap()).unwrap();
    let points = super::sweep::final_points(dir.path()).unwrap();
    let point = points.iter().find(|p| p.axis == "batch_size" && p.value == "40").unwrap();
    for set in Split::ALL {
        let k = set as usize;
        let runs = [kept[k], other[k]];
        let stat = point.accs[set].unwrap();
        assert_eq!(stat.mean, (kept[k] + other[k]) / 2.0, "{set:?}: the kept model's result, not the last row's");
        assert_eq!(stat.n, 2);
        assert_eq!(stat.ci, crate::stats::t_interval(&runs, 0.95), "{set:?}: the 95% t-interval of the runs");
        // What is drawn: the dot at the mean, the caps at the interval's ends (inside [0, 1]),
        // and nothing where the last rows' mean would have been.
        let (img, frame) = panel(&drawn, "axis-batch_size-final.png", set);
        let color = set_color(set);
        assert!(count_near(&img, frame.px(0.0, stat.mean), 2, color) > 8, "{set:?}: dot at the mean");
        let ci = stat.ci.unwrap();
        let wrong = (stale[k] + other[k]) / 2.0;
        if frame.px(0.0, wrong).1.abs_diff(frame.px(0.0, stat.mean).1) > 12 && !(ci.low..=ci.high).contains(&wrong) {
            assert_eq!(count_near(&img, frame.px(0.0, wrong), 2, color), 0, "{set:?}: no dot at the last rows' mean");
        }
    }
}

#[test]
fn sweep_final_plot_bars_span_the_runs_t_interval() {
    let dir = tempfile::tempdir().unwrap();
    sweep_with_kept_models(dir.path());
    // momentum = 0.0 is the baseline's two runs, close together: an interval inside [0, 1].
    let runs = ["baseline/rep-1", "baseline/rep-2"].map(|id| last_row(&dir.path().join("runs").join(id)));
    let drawn = super::sweep::draw_sweep(dir.path(), &SweepResults::read(dir.path()).unwrap()).unwrap();
    for set in Split::ALL {
        let values = runs.map(|r| r[set as usize]);
        let ci = crate::stats::t_interval(&values, 0.95).unwrap();
        assert!(ci.low > 0.0 && ci.high < 1.0, "{set:?}: the case needs an interval inside [0, 1]: {ci:?}");
        let (img, frame) = panel(&drawn, "axis-momentum-final.png", set);
        assert!(frame.y.0 <= ci.low && frame.y.1 >= ci.high, "{set:?}: the axis holds the interval");
        let color = set_color(set);
        for end in [ci.low, ci.high] {
            assert!(count_near(&img, frame.px(0.06, end), 1, color) > 0, "{set:?}: a cap at {end}");
        }
        // The stem runs between the caps, and a ±1 std bar (what these plots drew before) would end well inside them.
        let (mean, std) = crate::report::stats::mean_std(&values);
        let (mean, std) = (mean.unwrap(), std.unwrap());
        assert!(count_near(&img, frame.px(0.0, (ci.low + mean) / 2.0), 1, color) > 0, "{set:?}: the stem");
        assert_eq!(count_near(&img, frame.px(0.06, mean + std), 1, color), 0, "{set:?}: no cap at mean + std");
    }
}

#[test]
fn sweep_plots_fit_the_y_axis_to_the_data() {
    let dir = tempfile::tempdir().unwrap();
    sweep_with_kept_models(dir.path());
    let drawn = super::sweep::draw_sweep(dir.path(), &SweepResults::read(dir.path()).unwrap()).unwrap();
    let points = super::sweep::final_points(dir.path()).unwrap();
    for set in Split::ALL {
        let (_, frame) = panel(&drawn, "axis-momentum-final.png", set);
        let stats: Vec<_> = points.iter().filter(|p| p.axis == "momentum").filter_map(|p| p.accs[set]).collect();
        let lo = stats.iter().map(|s| s.ci.map_or(s.mean, |c| c.low.max(0.0))).fold(f64::INFINITY, f64::min);
        let hi = stats.iter().map(|s| s.ci.map_or(s.mean, |c| c.high.min(1.0))).fold(f64::NEG_INFINITY, f64::max);
        let (span, axis) = (hi - lo, frame.y.1 - frame.y.0);
        assert!(frame.y.0 < lo && frame.y.1 > hi, "{set:?}: {frame:?} holds [{lo}, {hi}] with a margin");
        assert!(axis < span * 1.25, "{set:?}: the axis {:?} fits [{lo}, {hi}], not [0, 1]", frame.y);
    }
    // The error panels, too: the fixture's errors (with their bands) never reach 0 or 1.
    let (_, frame) = panel(&drawn, "axis-momentum-error.png", Split::Valid);
    assert!(frame.y.0 > 0.0 && frame.y.1 < 1.0, "{:?}", frame.y);
}

#[test]
fn fitted_range_keeps_a_margin_and_stays_in_the_unit_interval() {
    struct Case {
        name: &'static str,
        values: &'static [f64],
        expect: Option<(f64, f64)>,
    }
    let cases = [
        Case { name: "squashed near 1", values: &[0.9, 0.95, 1.0], expect: Some((0.892, 1.008)) },
        Case { name: "middle", values: &[0.3, 0.5], expect: Some((0.284, 0.516)) },
        Case { name: "identical values get the minimum span", values: &[0.4, 0.4], expect: Some((0.3884, 0.4116)) },
        Case { name: "a margin never crosses 0 from inside", values: &[0.005, 0.5], expect: Some((0.0, 0.5396)) },
        Case { name: "nothing finite", values: &[f64::NAN], expect: None },
    ];
    for c in cases {
        let got = super::fitted_range(c.values.iter().copied());
        let close = match (got, c.expect) {
            (Some(g), Some(e)) => (g.0 - e.0).abs() < 1e-9 && (g.1 - e.1).abs() < 1e-9,
            (g, e) => g == e,
        };
        assert!(close, "{}: {got:?} != {:?}", c.name, c.expect);
    }
}

#[test]
fn diverged_and_failed_runs_are_marked_where_their_value_is() {
    let dir = tempfile::tempdir().unwrap();
    sweep_with_kept_models(dir.path());
    let drawn = super::sweep::draw_sweep(dir.path(), &SweepResults::read(dir.path()).unwrap()).unwrap();
    // momentum values in sweep order: 0.0 (all done), 0.9 (rep-2 diverged in epoch 7).
    for set in Split::ALL {
        let (img, frame) = panel(&drawn, "axis-momentum-final.png", set);
        let at_axis = |i: f64| {
            let (x, y) = frame.px(i, frame.y.0);
            count_near(&img, (x, y - 8), 6, FAILED_MARK)
        };
        assert!(at_axis(1.0) > 10, "{set:?}: a cross on the axis under momentum = 0.9");
        assert_eq!(at_axis(0.0), 0, "{set:?}: no cross under momentum = 0.0");
        let (img, frame) = panel(&drawn, "axis-momentum-error.png", set);
        let (x, y) = frame.px(7.0, frame.y.1);
        assert!(count_near(&img, (x, y + 7), 6, FAILED_MARK) > 10, "{set:?}: a cross at epoch 7 on the top edge");
        let (x, y) = frame.px(3.0, frame.y.1);
        assert_eq!(count_near(&img, (x, y + 7), 6, FAILED_MARK), 0, "{set:?}: nothing at epoch 3");
    }
    // A sweep whose runs all finished draws no cross at all.
    let clean = tempfile::tempdir().unwrap();
    write_sweep(clean.path(), "clean");
    std::fs::write(clean.path().join("runs/momentum=0.9/rep-2/status.json"), "{\"state\": \"done\"}\n").unwrap();
    for (path, _) in super::sweep::draw_sweep(clean.path(), &SweepResults::read(clean.path()).unwrap()).unwrap() {
        assert!(load(&path).pixels().all(|p| *p != rgb(FAILED_MARK)), "{}", path.display());
    }
}

#[test]
fn an_ensemble_accuracy_given_for_a_configuration_is_drawn_on_the_test_panel() {
    let dir = tempfile::tempdir().unwrap();
    sweep_with_kept_models(dir.path());
    let mut results = SweepResults::read(dir.path()).unwrap();
    let without = super::sweep::draw_sweep(dir.path(), &results).unwrap();
    let (img, _) = panel(&without, "axis-batch_size-final.png", Split::Test);
    let black = |img: &RgbImage, at: (i32, i32)| count_near(img, at, 3, RGBColor(0, 0, 0));
    results.ensemble_test_acc.insert("batch_size=40".into(), Some(0.7));
    results.ensemble_test_acc.insert("baseline".into(), None);
    let with = super::sweep::draw_sweep(dir.path(), &results).unwrap();
    let (img2, frame) = panel(&with, "axis-batch_size-final.png", Split::Test);
    let at = frame.px(0.22, 0.7);
    assert!(black(&img2, at) > 20, "a diamond at batch_size = 40's ensemble accuracy");
    assert_eq!(black(&img, at), 0, "no diamond without an ensemble accuracy");
    let points = super::sweep::final_points_with(dir.path(), &results).unwrap();
    let of = |axis: &str, v: &str| points.iter().find(|p| p.axis == axis && p.value == v).unwrap().ensemble_test_acc;
    assert_eq!(of("batch_size", "40"), Some(0.7));
    assert_eq!(of("batch_size", "160"), None, "the baseline's is not known");
    let (img, frame) = panel(&with, "axis-batch_size-final.png", Split::Valid);
    assert_eq!(black(&img, frame.px(0.22, 0.7)), 0, "only the test panel shows it");
}

#[test]
fn weight_heatmaps_show_structure_after_the_first_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    // Epoch 1 changes 1000x more than the rest; after it, node n changes (n + 1) x 1e-3 every epoch.
    let mut csv = String::from("epoch,layer,node,dnorm,dtheta\n");
    for e in 1..=100 {
        for n in 0..4 {
            let v = if e == 1 { 5.0 } else { 1e-3 * f64::from(n + 1) * (1.0 + f64::from(e) / 1000.0) };
            csv += &format!("{e},0,{n},{v},{v}\n");
        }
    }
    std::fs::write(run.join("weights.csv"), csv).unwrap();
    plot_run(&run).unwrap();
    let img = load(&run.join("plots/weight-norm-L0.png"));
    let layout = super::heatmap::HeatmapLayout::new(super::heatmap::HEATMAP_SIZE, 4, 100, false);
    let at = |node: usize, col: usize| {
        let (x, y) = layout.cell(node, col).center();
        *img.get_pixel(x as u32, y as u32)
    };
    let later: Vec<Rgb<u8>> = (0..4).map(|n| at(n, 50)).collect();
    assert!(later.iter().collect::<HashSet<_>>().len() == 4, "four nodes, four colours at epoch 51: {later:?}");
    assert!(later.iter().all(|c| *c != rgb(hot(0.0))), "none is the map's bottom: {later:?}");
    assert_eq!(at(0, 0), rgb(hot(1.0)), "the first epoch is at the top of the scale");
    // On a min-max scale every later cell would be within 0.1% of the bottom colour.
    let plain = super::colormap::Scale::of([0.0, 5.0]);
    assert!(plain.color(4e-3) == hot(0.0) || plain.unit(4e-3) < 0.001);
}

#[test]
fn a_sweep_whose_every_run_diverged_still_draws_its_marks() {
    let dir = tempfile::tempdir().unwrap();
    write_sweep(dir.path(), "all-diverged");
    let plan = read_plan(&dir.path().join("plan.csv")).unwrap().unwrap();
    for run in &plan.runs {
        let status = "{\"state\": \"diverged\", \"message\": \"diverged in epoch 4\", \"epoch\": 4}\n";
        std::fs::write(dir.path().join("runs").join(&run.id).join("status.json"), status).unwrap();
    }
    let drawn = super::sweep::draw_sweep(dir.path(), &SweepResults::read(dir.path()).unwrap()).unwrap();
    assert_eq!(drawn.len(), 4, "an error and a final picture per axis");
    for (path, frames) in &drawn {
        assert_eq!(frames.len(), 1, "{}: one panel", path.display());
        assert!(load(path).pixels().filter(|p| **p == rgb(FAILED_MARK)).count() > 20, "{}", path.display());
    }
    let points = super::sweep::final_points(dir.path()).unwrap();
    assert!(points.iter().all(|p| p.done == 0 && p.diverged > 0 && p.accs.iter().all(|(_, a)| a.is_none())));
}

#[test]
fn a_done_run_without_metrics_counts_as_done_as_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    sweep_with_kept_models(dir.path());
    std::fs::remove_file(dir.path().join("runs/batch_size=40/rep-1/metrics.csv")).unwrap();
    let points = super::sweep::final_points(dir.path()).unwrap();
    let point = points.iter().find(|p| p.axis == "batch_size" && p.value == "40").unwrap();
    assert_eq!((point.done, point.missing, point.failed), (2, 0, 0), "as summary.csv counts it");
    // The test result is whatever the summary's reading of each run gives, averaged.
    let tests: Vec<f64> = ["rep-1", "rep-2"]
        .iter()
        .filter_map(|r| {
            crate::report::summary::read_run(&dir.path().join("runs/batch_size=40").join(r)).final_accs.test
        })
        .collect();
    assert_eq!(
        point.accs[Split::Test].map(|s| (s.mean, s.n)),
        Some((tests.iter().sum::<f64>() / tests.len() as f64, tests.len()))
    );
}

#[test]
fn class_activation_maps_colour_each_series_where_its_map_is_high() {
    use super::cam::{cam_color, draw_cams};
    use crate::results::cams::CamSample;
    let dir = tempfile::tempdir().unwrap();
    // Two classes, the second with two samples. Class "up" is driven by the second half of
    // its series, class "down" by the first: the drawn line must be dark where the map is
    // low and light yellow where it is high.
    let sample = |label: &str, row: usize, high_late: bool| {
        let input: Vec<f64> = (0..40).map(|t| (t as f64 / 6.0).sin()).collect();
        let cam: Vec<f64> = (0..40).map(|t| if (t >= 20) == high_late { 2.0 } else { -1.0 }).collect();
        CamSample {
            set: "test".into(),
            row,
            label: label.into(),
            predicted: label.into(),
            input,
            cam_predicted: cam.clone(),
            cam,
        }
    };
    let samples = vec![sample("up", 0, true), sample("down", 3, false), sample("down", 7, false)];
    let path = dir.path().join("cam.png");
    let frames = draw_cams(&path, "fcn", &samples).unwrap().expect("drawn");
    let img = load(&path);
    assert_eq!((img.width(), img.height()), (3 * 360, 52 + 2 * 130), "3 columns, a row per class");
    let (low, high) = (cam_color(0.0), cam_color(1.0));
    for (s, frame) in samples.iter().zip(&frames) {
        let late = s.cam[39] > s.cam[0];
        for t in [3usize, 8, 14, 26, 31, 36] {
            let at = frame.px(t as f64, s.input[t]);
            let (dark, light) = (count_near(&img, at, 2, low), count_near(&img, at, 2, high));
            let want_light = (t >= 20) == late;
            assert!(
                if want_light { light > 0 && dark == 0 } else { dark > 0 && light == 0 },
                "{} row {}: t = {t}: {dark} dark, {light} light pixels",
                s.label,
                s.row
            );
        }
    }
    // The second "down" sample sits beside the first, in the second row of panels.
    assert!(frames[2].plot.x0 > frames[1].plot.x0 && frames[2].plot.y0 == frames[1].plot.y0);
    assert!(frames[1].plot.y0 > frames[0].plot.y0);
    assert!(draw_cams(&dir.path().join("none.png"), "", &[]).unwrap().is_none());
}
