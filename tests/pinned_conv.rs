//! Pins the candle conv engine (`train::candle_conv`) against PyTorch: a tiny FCN and ResNet
//! (2 channels × 7 steps, 4 rows, 3 classes, an even kernel to exercise `padding="same"`) in
//! training mode — forward, cross-entropy loss, the gradient of every parameter, the batch-norm
//! running statistics after the pass — then one Adam step (lr 0.01, weight decay 0.01) and the
//! forward pass in evaluation mode (running statistics), in f32 and f64.
//!
//! The reference values are `tests/fixtures/torch_conv.json`, written by
//! `tests/fixtures/torch_conv.py` (`python tests/fixtures/torch_conv.py > tests/fixtures/torch_conv.json`),
//! whose core for each case is:
//!
//! ```python
//! model = ConvNet(family, channels, filters, kernels, classes)   # nn.Conv1d(padding="same"), nn.BatchNorm1d, nn.Linear
//! opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.01)
//! model.train()
//! out = model(x)                         # -> "out"
//! loss = F.cross_entropy(out, y)         # -> "loss"
//! opt.zero_grad(); loss.backward()       # -> "grads" (p.grad by state-dict name)
//! buffers = dict(model.named_buffers())  # -> "buffers" (running_mean, running_var)
//! opt.step()                             # -> "stepped"
//! model.eval(); eval_out = model(x)      # -> "eval_out"
//! ```
//!
//! The parameters' names and shapes are those of the module's state dict, so this also pins
//! `ConvArch::param_shapes` / `buffer_shapes` to PyTorch's.

use candle_core::Device;
use candle_nn::Optimizer as _;
use pinniped::spec::config::ModelConfig;
use pinniped::train::candle_conv::{CandleConv, Pass};
use pinniped::train::candle_engine::{loss_of, CandleOptimizer, OptimConfig};
use pinniped::train::conv::{ConvArch, ConvNet, InputLayout, NamedTensor};
use pinniped::train::{Loss, ModelFamily, MomentumRule, OptimizerKind, Real};
use serde_json::Value;

fn reals<T: Real>(v: &Value) -> Vec<T> {
    v.as_array().unwrap().iter().map(|x| T::of(x.as_f64().unwrap())).collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn close<T: Real>(what: &str, got: &[T], want: &[T], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g.f64(), w.f64());
        assert!((g - w).abs() <= tol * w.abs().max(1.0), "{what}[{i}]: {g} vs PyTorch {w}");
    }
}

fn check<T: Real>(c: &Value, tol: f64) {
    let family = match c["family"].as_str().unwrap() {
        "fcn" => ModelFamily::Fcn,
        _ => ModelFamily::Resnet,
    };
    let case = format!("{family:?} {}", T::NAME);
    let (rows, classes) = (c["rows"].as_u64().unwrap() as usize, c["classes"].as_u64().unwrap() as usize);
    let model = ModelConfig {
        family,
        filters: Some(usizes(&c["filters"])),
        kernels: Some(usizes(&c["kernels"])),
        ..Default::default()
    };
    let input = InputLayout {
        groups: c["channels"].as_u64().unwrap() as usize,
        length: c["length"].as_u64().unwrap() as usize,
        bands: 1,
    };
    let arch = ConvArch::new(&model, input, classes);
    let want: Vec<(String, Vec<usize>)> =
        c["params"].as_array().unwrap().iter().map(|p| (p[0].as_str().unwrap().to_string(), usizes(&p[1]))).collect();
    assert_eq!(arch.param_shapes(), want, "{case}: PyTorch's state-dict names and shapes");
    let buffers: Vec<String> = arch.buffer_shapes().into_iter().map(|(n, _)| n).collect();
    let torch_buffers: Vec<String> = c["buffers"].as_object().unwrap().keys().cloned().collect();
    let mut sorted = buffers.clone();
    sorted.sort();
    let mut torch_sorted = torch_buffers.clone();
    torch_sorted.sort();
    assert_eq!(sorted, torch_sorted, "{case}: buffers");

    let params = c["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| NamedTensor { name: p[0].as_str().unwrap().into(), shape: usizes(&p[1]), data: reals::<T>(&p[2]) })
        .collect();
    let mut net = ConvNet::<T>::initialise(&arch, &mut pinniped::stats::stream_rng(0, 0)).unwrap();
    net.params = params;
    let mut conv = CandleConv::new(&net, &Device::Cpu).unwrap();
    let x = conv.input(&reals::<T>(&c["x"]), rows).unwrap();
    let y: Vec<u32> = usizes(&c["y"]).into_iter().map(|v| v as u32).collect();

    let f = conv.forward(&x, Pass::Train).unwrap();
    close(
        &format!("{case} out"),
        &f.scores.flatten_all().unwrap().to_vec1::<T>().unwrap(),
        &reals::<T>(&c["out"]),
        tol,
    );
    let loss = loss_of::<T>(&f.scores, &y, Loss::CrossEntropy).unwrap();
    let value = loss.to_dtype(candle_core::DType::F64).unwrap().to_scalar::<f64>().unwrap();
    close(&format!("{case} loss"), &[value], &[c["loss"].as_f64().unwrap()], tol);
    let grads = loss.backward().unwrap();
    for ((name, _), var) in want.iter().zip(conv.vars()) {
        let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<T>().unwrap();
        close(&format!("{case} grad {name}"), &g, &reals::<T>(&c["grads"][name]), tol);
    }
    conv.commit(f.buffers);
    let after = conv.to_net().unwrap();
    for b in &after.buffers {
        close(&format!("{case} {}", b.name), &b.data, &reals::<T>(&c["buffers"][&b.name]), tol);
    }

    let config = OptimConfig {
        kind: OptimizerKind::Adam,
        lr: 0.01,
        momentum: 0.0,
        rule: MomentumRule::Damped,
        weight_decay: 0.01,
    };
    let mut opt = CandleOptimizer::new(conv.vars().to_vec(), config).unwrap();
    opt.step(&grads).unwrap();
    let stepped = conv.to_net().unwrap();
    for p in &stepped.params {
        close(&format!("{case} after the step: {}", p.name), &p.data, &reals::<T>(&c["stepped"][&p.name]), tol);
    }
    let eval = conv.forward(&x, Pass::Eval).unwrap().scores.flatten_all().unwrap().to_vec1::<T>().unwrap();
    close(&format!("{case} eval out"), &eval, &reals::<T>(&c["eval_out"]), tol);
}

#[test]
fn fcn_and_resnet_match_pytorch_in_f32_and_f64() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_conv.json");
    let cases: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for c in cases {
        match c["dtype"].as_str().unwrap() {
            // f32: PyTorch and candle sum in other orders.
            "float32" => check::<f32>(c, 2e-5),
            _ => check::<f64>(c, 1e-12),
        }
    }
}
