//! Convolutional models (`model = "fcn" | "resnet"`) end to end on the shipped archive sets:
//! an FCN learns ItalyPowerDemand from raw amplitudes (and draws its class activation maps), FCN and ResNet sweeps are bit-identical
//! whatever `--jobs`, their checkpoints hold PyTorch's names and shapes and load in candle's
//! `VarBuilder` and in `pinniped eval` (a changed one refused by name), runs stopped inside an
//! epoch or killed resume to the same files, and the keys are validated (native refuses them
//! with exit 2).

mod common;

use common::*;
use std::fs;
use std::path::Path;

fn aeon(name: &str, split: &str) -> String {
    repo().join(format!("data/aeon/{name}_{split}.ts.gz")).display().to_string()
}

/// The last value in `column` of a run's metrics.csv.
fn last_column(metrics: &Path, column: &str) -> f64 {
    let text = fs::read_to_string(metrics).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == column).unwrap_or_else(|| panic!("a {column} column"));
    text.lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(col).filter(|v| !v.is_empty()))
        .last()
        .unwrap()
        .parse()
        .unwrap()
}

/// The training accuracy of every epoch of a run's metrics.csv.
fn train_accuracies(dir: &Path) -> Vec<f64> {
    let text = fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "train_acc").expect("a train_acc column");
    lines.map(|l| l.split(',').nth(col).unwrap().parse().unwrap()).collect()
}

#[test]
fn an_fcn_learns_italy_power_demand_from_raw_amplitudes() {
    // ItalyPowerDemand: 67 training series of 24 steps, 2 classes; a second on 2 shared cores.
    // (GunPoint learns too, but more slowly: about 0.84 after 20 epochs, 6 s.)
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fcn");
    let (train, test) = (aeon("ItalyPowerDemand", "TRAIN"), aeon("ItalyPowerDemand", "TEST"));
    pinniped()
        .args(["train", "-q", "--train", &train, "--test", &test, "--epochs", "12", "--batch-size", "25", "--out"])
        .arg(&out)
        .args(["--set", "model=\"fcn\"", "--set", "filters=[16, 32, 16]", "--set", "optimizer=\"adam\""])
        .args(["--set", "learning_rate=0.01", "--set", "loss=\"cross-entropy\""])
        .args(["--set", "minmax=false", "--set", "normalize=false"])
        .assert()
        .success();
    let acc = train_accuracies(&out);
    assert_eq!(acc.len(), 12);
    // Two classes of about equal size: chance is about 0.5.
    assert!(acc[11] >= 0.9, "training accuracy climbs well above chance: {acc:?}");
    assert!(acc[11] > acc[0], "{acc:?}");
    let config = fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("model = \"fcn\"") && config.contains("filters = [16, 32, 16]"), "{config}");
    // Class activation maps of the first 3 test rows of each class, 24 time steps each, drawn.
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(fs::File::open(out.join("cams.csv.gz")).unwrap()),
        &mut text,
    )
    .unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("set,row,label,predicted,t,input,cam,cam_predicted"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2 * 3 * 24, "2 classes × 3 rows × 24 steps");
    let samples: std::collections::BTreeSet<(&str, &str)> = rows.iter().map(|r| (r[2], r[1])).collect();
    assert_eq!(samples.len(), 6, "{samples:?}");
    assert!(rows.iter().all(|r| r[0] == "test" && r[6].parse::<f64>().unwrap().is_finite()));
    // A sample predicted right has the same map for its class and its prediction.
    assert!(rows.iter().any(|r| r[2] == r[3]) && rows.iter().filter(|r| r[2] == r[3]).all(|r| r[6] == r[7]));
    let png = image::open(out.join("plots/cam.png")).unwrap().to_rgb8();
    assert_eq!((png.width(), png.height()), (3 * 360, 52 + 2 * 130), "a row of 3 panels per class");
}

#[test]
fn conv_sweeps_are_bit_identical_whatever_jobs_and_checkpoints_have_pytorch_names() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = format!(
        "name = \"conv\"\nseed = 5\nrepeats = 2\n[data]\ntrain = {:?}\ntest = {:?}\nreserve_every = 5\n\
         [train]\nfilters = [4, 8]\nkernels = [5, 3]\nepochs = 2\nbatch_size = 12\nplots = false\n\
         optimizer = \"adam\"\nlearning_rate = 0.01\n[sweep]\nmodel = [\"fcn\", \"resnet\"]\n",
        aeon("BasicMotions", "TRAIN"),
        aeon("BasicMotions", "TEST")
    );
    let file = write(tmp.path(), "conv.toml", &sweep);
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    for (jobs, out) in [("1", &one), ("2", &two)] {
        pinniped().args(["run", "-q", "--jobs", jobs, "--out"]).arg(out).arg(&file).assert().success();
    }
    let runs = files(&one.join("conv"));
    assert_eq!(runs, files(&two.join("conv")));
    let mut compared = 0;
    for f in &runs {
        let (a, b) = (one.join("conv").join(f), two.join("conv").join(f));
        if f.ends_with("metrics.csv") {
            assert_eq!(metrics_without_time(&a), metrics_without_time(&b), "{f}");
            compared += 1;
        } else if ["model.safetensors", "weights.csv.gz", "activations.csv.gz", "predictions.npz", "cams.csv.gz"]
            .iter()
            .any(|end| f.ends_with(end))
        {
            assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap(), "{f}");
            compared += 1;
        }
    }
    assert_eq!(compared, 4 * 6, "4 runs × (metrics, model, weights, activations, predictions, cams)");

    // BasicMotions: 6 channels × 100 steps, 4 classes. The names and layouts are PyTorch's.
    let model = |id: &str| {
        let path = runs.iter().find(|f| f.starts_with(id) && f.ends_with("model.safetensors")).unwrap();
        one.join("conv").join(path)
    };
    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(
            &[model("runs/model=fcn")],
            candle_core::DType::F32,
            &candle_core::Device::Cpu,
        )
    }
    .unwrap();
    assert_eq!(vb.get((4, 6, 5), "blocks.0.conv.weight").unwrap().dims(), &[4, 6, 5]);
    assert_eq!(vb.get((8, 4, 3), "blocks.1.conv.weight").unwrap().dims(), &[8, 4, 3]);
    assert_eq!(vb.get(8, "blocks.1.bn.running_var").unwrap().dims(), &[8]);
    assert_eq!(vb.get((4, 8), "fc.weight").unwrap().dims(), &[4, 8]);
    let tensors = candle_core::safetensors::load(model("runs/model=resnet"), &candle_core::Device::Cpu).unwrap();
    for (name, shape) in [
        ("blocks.0.convs.0.conv.weight", vec![4, 6, 5]),
        ("blocks.0.convs.1.conv.weight", vec![4, 4, 3]),
        ("blocks.0.shortcut.conv.weight", vec![4, 6, 1]),
        ("blocks.1.shortcut.bn.running_mean", vec![8]),
        ("fc.bias", vec![4]),
    ] {
        assert_eq!(tensors[name].dims(), shape.as_slice(), "{name}");
    }
    // `eval` scores a conv checkpoint as the run scored its test set (trained for two epochs
    // without early stopping, the checkpoint is the last epoch's model).
    for id in ["runs/model=fcn", "runs/model=resnet"] {
        let out = pinniped()
            .args(["eval", "--csv", "--model"])
            .arg(model(id))
            .args(["--data", &aeon("BasicMotions", "TEST")])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{id}: {}", String::from_utf8_lossy(&out.stderr));
        let row: Vec<&str> = stdout.lines().nth(1).unwrap().split(',').collect();
        let (acc, rows): (f64, usize) = (row[0].parse().unwrap(), row[2].parse().unwrap());
        assert_eq!(rows, 40, "BasicMotions has 40 test series");
        let dir = model(id).parent().unwrap().to_path_buf();
        let run_test = last_column(&dir.join("metrics.csv"), "test_acc");
        assert_eq!(acc, run_test, "{id}: eval's accuracy is the run's test accuracy");
    }
    // A checkpoint whose tensor does not fit its embedded config is refused by name.
    let tampered = tmp.path().join("tampered.safetensors");
    let mut fcn = candle_core::safetensors::load(model("runs/model=fcn"), &candle_core::Device::Cpu).unwrap();
    let bytes = fs::read(model("runs/model=fcn")).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    fcn.insert(
        "fc.bias".into(),
        candle_core::Tensor::zeros(5, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&fcn, &tampered).unwrap();
    // candle's save writes no metadata: put the original's back.
    let raw = fs::read(&tampered).unwrap();
    let saved = safetensors::SafeTensors::deserialize(&raw).unwrap();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = saved.tensors().into_iter().collect();
    fs::write(&tampered, safetensors::serialize(views, header.metadata().clone()).unwrap()).unwrap();
    let refused = pinniped()
        .args(["eval", "--model"])
        .arg(&tampered)
        .args(["--data", &aeon("BasicMotions", "TEST")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`fc.bias` has shape [5]") && stderr.contains("[4]"), "{stderr}");
    // Trained for two epochs: the running statistics have moved off PyTorch's initial 0 and 1.
    let mean = tensors["blocks.0.convs.0.bn.running_mean"].to_vec1::<f32>().unwrap();
    assert!(mean.iter().any(|&m| m != 0.0), "{mean:?}");
}

/// The files of a conv sweep that must be bit-identical between two ways of training it.
fn conv_results(root: &Path) -> Vec<(String, Vec<u8>)> {
    let ends = ["model.safetensors", "weights.csv.gz", "activations.csv.gz", "predictions.npz", "cams.csv.gz"];
    files(root)
        .into_iter()
        .filter_map(|f| {
            let path = root.join(&f);
            if f.ends_with("metrics.csv") {
                Some((f, metrics_without_time(&path).into_bytes()))
            } else if ends.iter().any(|end| f.ends_with(end)) || f.contains("checkpoints/") {
                Some((f.clone(), fs::read(path).unwrap()))
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn conv_runs_stopped_inside_an_epoch_or_killed_resume_to_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    // BasicMotions: 32 training rows in batches of 12, so 3 batches an epoch; a state every epoch.
    let sweep = format!(
        "name = \"c\"\nseed = 3\nrepeats = 1\n[data]\ntrain = {:?}\ntest = {:?}\nreserve_every = 5\n\
         [train]\nfilters = [4, 8]\nkernels = [5, 3]\nepochs = 4\nbatch_size = 12\nplots = false\n\
         optimizer = \"adam\"\nlearning_rate = 0.01\nstate_every = 1\nsave_every = 1\n[sweep]\nmodel = [\"fcn\", \"resnet\"]\n",
        aeon("BasicMotions", "TRAIN"),
        aeon("BasicMotions", "TEST")
    );
    let file = write(tmp.path(), "c.toml", &sweep);
    let clean = tmp.path().join("clean");
    pinniped().args(["run", "-q", "--jobs", "1", "--out"]).arg(&clean).arg(&file).assert().success();
    let expected = conv_results(&clean.join("c"));
    assert_eq!(expected.iter().filter(|(f, _)| f.ends_with("model.safetensors")).count(), 2);
    for model in ["fcn", "resnet"] {
        let id = format!("model={model}/rep-1");
        // SIGUSR1 after batch 1 of epoch 3: saved there, exit 75; the same command finishes it.
        let out = tmp.path().join(format!("signalled-{model}"));
        let stopped = pinniped()
            .args(["run", "-q", "--jobs", "1", "--out"])
            .arg(&out)
            .arg(&file)
            .args(["--fake-signal-at", &format!("{id}@3:1")])
            .output()
            .unwrap();
        assert_eq!(stopped.status.code(), Some(75), "{}", String::from_utf8_lossy(&stopped.stderr));
        let again = pinniped().args(["run", "--jobs", "1", "--out"]).arg(&out).arg(&file).assert().success();
        let stderr = String::from_utf8_lossy(&again.get_output().stderr).to_string();
        assert!(stderr.contains(&format!("resuming {id} from epoch 2 + 1 of the 3 batches of epoch 3")), "{stderr}");
        assert!(conv_results(&out.join("c")) == expected, "{model}: stopped inside epoch 3, resumed");

        // Killed after epoch 3, before its state: resumes from epoch 2's.
        let out = tmp.path().join(format!("killed-{model}"));
        let killed = pinniped()
            .args(["run", "-q", "--jobs", "1", "--out"])
            .arg(&out)
            .arg(&file)
            .args(["--fake-kill-at", &format!("{id}@3")])
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(killed.status.signal(), Some(9));
        let again = pinniped().args(["run", "--jobs", "1", "--out"]).arg(&out).arg(&file).assert().success();
        let stderr = String::from_utf8_lossy(&again.get_output().stderr).to_string();
        assert!(stderr.contains(&format!("resuming {id} from epoch 2\n")), "{stderr}");
        assert!(conv_results(&out.join("c")) == expected, "{model}: killed after epoch 3, resumed");
    }
}

#[test]
fn conv_keys_are_checked_and_native_refuses_conv_models_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    for (extra, key, words) in [
        ("model = \"fcn\"\nengine = \"native\"\n", "engine", "trains MLPs only"),
        ("model = \"fcn\"\nfilters = [4, 8]\nblocks = 3\n", "filters", "2 values for 3 blocks"),
        ("model = \"resnet\"\nkernels = [0]\n", "kernels", "within 1..=1024"),
        ("model = \"fcn\"\nfeatures = \"multi-log-mel\"\n", "features", "log-mel"),
        ("model = \"cnn\"\n", "model", "\"mlp\", \"fcn\", \"resnet\""),
    ] {
        let file = write(
            tmp.path(),
            "bad.toml",
            &format!("name = \"bad\"\n[data]\ntrain = {:?}\n[train]\n{extra}", aeon("GunPoint", "TRAIN")),
        );
        let out = pinniped().args(["run", "-q", "--out"]).arg(tmp.path().join("out")).arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {stderr}");
        assert!(stderr.contains(key) && stderr.contains(words), "{extra}: {stderr}");
    }
}
