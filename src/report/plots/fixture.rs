//! Synthetic run and sweep directories in pinniped's file formats, for tests.

use std::fmt::Write as _;
use std::path::Path;

/// Shape of a synthetic run.
#[derive(Clone, Debug)]
pub(crate) struct RunShape {
    pub epochs: usize,
    pub hidden: Vec<usize>,
    pub classes: usize,
    /// Test accuracy only every `test_every` epochs (empty cells between).
    pub test_every: usize,
    pub confusion_every: usize,
    /// Accuracy offset, so runs of a sweep differ.
    pub(crate) skill: f64,
}

impl Default for RunShape {
    fn default() -> Self {
        Self { epochs: 12, hidden: vec![8], classes: 5, test_every: 4, confusion_every: 6, skill: 0.0 }
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// Writes every file a finished run has, with state `state`.
pub(crate) fn write_run(dir: &Path, shape: &RunShape, state: &str) {
    let RunShape { epochs, ref hidden, classes, test_every, confusion_every, skill } = *shape;
    let h = hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(", ");
    write(
        dir,
        "config.toml",
        &format!(
            "# run\n[data]\ntrain = \"x\"\n\n[train]\nhidden = [{h}]\nactivation = \"sigmoid\"\n\
             learning_rate = 0.001\nbatch_size = 160\nmomentum = 0.0\nepochs = {epochs}\n"
        ),
    );
    write(dir, "status.json", &format!("{{\n  \"state\": \"{state}\",\n  \"message\": \"\"\n}}\n"));

    let mut m = String::from("epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds\n");
    for e in 1..=epochs {
        let f = e as f64 / epochs as f64;
        let acc = |base: f64| (base + skill + 0.5 * f).min(1.0);
        let test = if e % test_every == 0 || e == epochs { format!("0.5,{}", acc(0.1)) } else { ",".into() };
        let _ = writeln!(m, "{e},0.5,{},0.5,{},{test},0.01", acc(0.3), acc(0.2));
    }
    write(dir, "metrics.csv", &m);

    let mut dims = hidden.clone();
    dims.push(classes);
    let mut w = String::from("epoch,layer,node,dnorm,dtheta\n");
    for e in 1..=epochs {
        for (l, &nodes) in dims.iter().enumerate() {
            for n in 0..nodes {
                let v = 1.0 / (e as f64) + n as f64 * 0.01;
                let _ = writeln!(w, "{e},{l},{n},{v},{}", v / 2.0);
            }
        }
    }
    write(dir, "weights.csv", &w);

    let bins = 20;
    let mut a = String::from("epoch,layer,node");
    if !hidden.is_empty() {
        for b in 0..bins {
            let _ = write!(a, ",{:.4}", b as f64 / bins as f64);
        }
    }
    a.push('\n');
    for e in 1..=epochs {
        for (l, &nodes) in hidden.iter().enumerate() {
            for n in 0..nodes {
                let _ = write!(a, "{e},{l},{n}");
                for b in 0..bins {
                    let _ = write!(a, ",{}", (b * 7 + n * 3 + e) % 13);
                }
                a.push('\n');
            }
        }
    }
    write(dir, "activations.csv", &a);

    for set in ["train", "valid", "test"] {
        let mut c = String::from("epoch,actual");
        for k in 1..=classes {
            let _ = write!(c, ",{k}");
        }
        c.push('\n');
        for e in (1..=epochs).filter(|e| e % confusion_every == 0 || *e == epochs) {
            for actual in 0..classes {
                let _ = write!(c, "{e},{}", actual + 1);
                for p in 0..classes {
                    let _ = write!(c, ",{}", if p == actual { 5 + e } else { (p + actual) % 3 });
                }
                c.push('\n');
            }
        }
        write(dir, &format!("confusion-{set}.csv"), &c);
    }
}

/// A one-at-a-time sweep over `batch_size` ∈ {40, 160} and `momentum` ∈ {0.0, 0.9}
/// (baseline 160, 0.0), 2 repeats, named `name`; `momentum=0.9/rep-2` diverged.
pub(crate) fn write_sweep(dir: &Path, name: &str) {
    let toml_name = name.replace('\\', "\\\\").replace('"', "\\\"");
    write(
        dir,
        "sweep.toml",
        &format!(
            "name = \"{toml_name}\"\nrepeats = 2\n\n[data]\ntrain = \"absent/TRAIN.tsv\"\n\n[train]\nbatch_size = 160\nmomentum = 0.0\n\n\
             [sweep]\ndesign = \"one-at-a-time\"\nbatch_size = [40, 160]\nmomentum = [0.0, 0.9]\n"
        ),
    );
    let configs = [("baseline", "160", "0.0"), ("batch_size=40", "40", "0.0"), ("momentum=0.9", "160", "0.9")];
    let mut plan = String::from("index,id,config,repeat,seed,batch_size,momentum\n");
    let mut summary_rows: Vec<([&str; 2], f64)> = Vec::new();
    let mut index = 0;
    for (c, (config, bs, m)) in configs.iter().enumerate() {
        for rep in 1..=2 {
            let id = format!("{config}/rep-{rep}");
            let _ = writeln!(plan, "{index},{id},{config},{rep},{},{bs},{m}", 1000 + index);
            index += 1;
            let state = if id == "momentum=0.9/rep-2" { "diverged" } else { "done" };
            let shape = RunShape { skill: 0.1 * c as f64 + 0.02 * rep as f64, ..RunShape::default() };
            write_run(&dir.join("runs").join(config).join(format!("rep-{rep}")), &shape, state);
        }
        summary_rows.push(([bs, m], 0.5 + 0.1 * c as f64));
    }
    write(dir, "plan.csv", &plan);
    let rows: Vec<(&[&str], f64)> = summary_rows.iter().map(|(v, valid)| (&v[..], *valid)).collect();
    write(dir, "summary.csv", &summary_text(&["batch_size", "momentum"], &rows));
}

/// A summary.csv over `axes`: per row its axis values and mean final validation accuracy
/// (std 0.02), 2 of 2 runs done, final train accuracy 0.8 ± 0.01, every other cell empty.
pub(crate) fn summary_text(axes: &[&str], rows: &[(&[&str], f64)]) -> String {
    use crate::results::summary_file::{header, ACC_METRICS, METRICS};
    let axes: Vec<String> = axes.iter().map(|a| a.to_string()).collect();
    let mut text = header(&axes);
    text.push('\n');
    for (values, valid) in rows {
        let mut cells: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        cells.extend(["2", "2", "0", "0", "2"].map(String::from));
        for (k, metric) in METRICS.iter().enumerate() {
            let (mean, std) = match *metric {
                "final_train_acc" => ("0.8".to_string(), "0.01".to_string()),
                "final_valid_acc" => (valid.to_string(), "0.02".to_string()),
                _ => (String::new(), String::new()),
            };
            cells.extend([mean, std]);
            if k < ACC_METRICS {
                cells.extend([String::new(), String::new()]);
            }
        }
        cells.extend([String::new(), String::new(), String::new()]);
        let _ = writeln!(text, "{}", cells.join(","));
    }
    text
}
