//! The hand-written backward pass against candle's autograd on random networks of
//! several shapes (the tiny fixed cases are pinned against PyTorch in
//! `pinned_torch.rs`), and the fused SGD step against gradients + optimiser.

use candle_core::{Device, Tensor, Var};
use pinniped::train::{Activation, Loss, Mlp, MomentumRule, Optimizer, OptimizerKind, Workspace};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_mlp(dims: &[usize], act: Activation, rng: &mut ChaCha8Rng) -> Mlp<f64> {
    let w = (0..dims.len() - 1)
        .map(|l| (0..dims[l] * dims[l + 1]).map(|_| rng.random_range(-0.5..0.5)).collect())
        .collect();
    let b = (0..dims.len() - 1).map(|l| (0..dims[l + 1]).map(|_| rng.random_range(-0.5..0.5)).collect()).collect();
    Mlp::from_parts(dims, act, w, b)
}

/// Loss and gradients by candle's autograd, for the same model.
fn candle_grads(mlp: &Mlp<f64>, x: &[f64], y: &[u32], rows: usize, loss: Loss) -> (f64, Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let dev = Device::Cpu;
    let mut vars = Vec::new();
    let mut a = Tensor::from_slice(x, (rows, mlp.dims()[0]), &dev).unwrap();
    for l in 0..mlp.layers() {
        let w = Var::from_slice(&mlp.weights()[l], (mlp.dims()[l], mlp.dims()[l + 1]), &dev).unwrap();
        let b = Var::from_slice(&mlp.biases()[l], mlp.dims()[l + 1], &dev).unwrap();
        a = a.matmul(w.as_tensor()).unwrap().broadcast_add(b.as_tensor()).unwrap();
        if l + 1 < mlp.layers() {
            a = match mlp.activation() {
                Activation::Sigmoid => candle_nn::ops::sigmoid(&a).unwrap(),
                Activation::Tanh => a.tanh().unwrap(),
                Activation::Relu => a.relu().unwrap(),
            };
        }
        vars.push((w, b));
    }
    let classes = mlp.classes();
    let labels = Tensor::from_slice(y, rows, &dev).unwrap();
    let onehot = Tensor::from_vec(
        (0..rows * classes)
            .map(|i| if y[i / classes] as usize == i % classes { 1.0 } else { 0.0 })
            .collect::<Vec<f64>>(),
        (rows, classes),
        &dev,
    )
    .unwrap();
    let l = match loss {
        Loss::MseSum => a.sub(&onehot).unwrap().sqr().unwrap().sum_all().unwrap(),
        Loss::MseMean => a.sub(&onehot).unwrap().sqr().unwrap().mean_all().unwrap(),
        Loss::CrossEntropy => candle_nn::loss::cross_entropy(&a, &labels).unwrap(),
    };
    let grads = l.backward().unwrap();
    let (mut gw, mut gb) = (Vec::new(), Vec::new());
    for (w, b) in &vars {
        gw.push(grads.get(w.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap());
        gb.push(grads.get(b.as_tensor()).unwrap().to_vec1::<f64>().unwrap());
    }
    (l.to_scalar::<f64>().unwrap(), gw, gb)
}

fn close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-9 * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
    }
}

#[test]
fn backward_matches_candle_autograd() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for dims in [vec![7, 5], vec![12, 9, 4], vec![10, 6, 8, 3], vec![33, 17, 5]] {
        for act in [Activation::Sigmoid, Activation::Tanh, Activation::Relu] {
            for loss in [Loss::MseSum, Loss::MseMean, Loss::CrossEntropy] {
                let mlp = random_mlp(&dims, act, &mut rng);
                let rows = rng.random_range(1..9);
                let x: Vec<f64> = (0..rows * dims[0]).map(|_| rng.random_range(-2.0..2.0)).collect();
                let y: Vec<u32> = (0..rows).map(|_| rng.random_range(0..*dims.last().unwrap() as u32)).collect();
                let (l, g) = mlp.loss_and_grads(&x, &y, rows, loss);
                let (cl, cw, cb) = candle_grads(&mlp, &x, &y, rows, loss);
                let what = format!("{dims:?} {act} {loss}");
                assert!((l - cl).abs() <= 1e-9 * (1.0 + cl.abs()), "{what}: loss {l} vs {cl}");
                for layer in 0..mlp.layers() {
                    close(&g.w[layer], &cw[layer], &format!("{what} w{layer}"));
                    close(&g.b[layer], &cb[layer], &format!("{what} b{layer}"));
                }
            }
        }
    }
}

#[test]
fn fused_sgd_step_equals_gradients_then_update() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for dims in [vec![20, 7, 4], vec![16, 4], vec![9, 6, 5, 3]] {
        for rows in [1, 5] {
            let mlp = random_mlp(&dims, Activation::Sigmoid, &mut rng);
            let x: Vec<f64> = (0..rows * dims[0]).map(|_| rng.random_range(-1.0..1.0)).collect();
            let y: Vec<u32> = (0..rows).map(|_| rng.random_range(0..*dims.last().unwrap() as u32)).collect();
            for rule in [MomentumRule::Damped, MomentumRule::Classic] {
                let mut a = mlp.clone();
                let mut ws = Workspace::new(&a, rows);
                let la = ws.sgd_step_fused(&mut a, &x, &y, rows, Loss::MseSum, 0.05);
                let mut b = mlp.clone();
                let (lb, g) = b.loss_and_grads(&x, &y, rows, Loss::MseSum);
                Optimizer::new(OptimizerKind::Sgd, 0.05, 0.0, rule, 0.0, &b).step(&mut b, &g);
                assert_eq!(la, lb);
                for l in 0..a.layers() {
                    close(&a.weights()[l], &b.weights()[l], "weights");
                    close(&a.biases()[l], &b.biases()[l], "biases");
                }
                assert_ne!(a.weights(), mlp.weights(), "the step changed something");
            }
        }
    }
}
