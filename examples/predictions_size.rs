//! Measures one run's `predictions.npz` on Phoneme (BENCHMARKS.md, "Predictions per run"):
//!
//!     cargo run --release --example predictions_size
//!
//! Trains two configurations on the shipped split (the paper's baseline: sigmoid, MSE;
//! and a cross-entropy/Adam one, whose probabilities are peaked), then encodes the kept
//! model's predictions with the probabilities as float16, float32 or uint8, deflated or
//! stored, and prints the bytes and how often the stored probabilities' argmax is the
//! model's prediction (what an ensemble of the stored values can rely on).

use pinniped::features::{Pipeline, Prepared};
use pinniped::results::predictions::{encode_as, Predictions, SetPredictions, Stored};
use pinniped::spec::{DataConfig, TrainConfig};
use zip::CompressionMethod;

fn main() -> anyhow::Result<()> {
    let root = env!("CARGO_MANIFEST_DIR");
    let data: DataConfig = toml::from_str(&format!(
        "train = \"{root}/data/phoneme/Phoneme_TRAIN.tsv.gz\"\ntest = \"{root}/data/phoneme/Phoneme_TEST.tsv.gz\"\nreserve_every = 4"
    ))?;
    let configs = [
        ("paper baseline (sigmoid, mse-sum, 256 epochs)", String::new()),
        ("cross-entropy, adam, 100 epochs", "loss = \"cross-entropy\"\noptimizer = \"adam\"\nepochs = 100".into()),
    ];
    for (name, toml_text) in configs {
        let cfg: TrainConfig = toml::from_str(&format!("plots = false\n{toml_text}"))?;
        let prepared = Prepared::load(&data, &[Pipeline::of(&cfg)])?;
        let fit = pinniped::train::fit::<f32>(
            &cfg,
            &data,
            2019,
            &pinniped::spec::Split::own(2019),
            &prepared.run_data(Pipeline::of(&cfg)),
            &mut |_| Ok(()),
        )?;
        let p = fit.predictions.expect("predictions = true");
        let test = p.test.as_ref().expect("a test set");
        println!(
            "{name}: {} valid rows, {} test rows, {} classes; test accuracy {:.4}",
            p.valid.rows(),
            test.rows(),
            p.classes,
            test.accuracy().unwrap_or(0.0)
        );
        println!("| probabilities | compression | bytes | argmax of stored = prediction (test rows) |");
        println!("|---|---|---|---|");
        for (stored, label) in
            [(Stored::F16, "float16"), (Stored::F32, "float32"), (Stored::U8, "uint8 (round(255 p))")]
        {
            for (method, how) in [(CompressionMethod::Deflated, "deflate"), (CompressionMethod::Stored, "none")] {
                let bytes = encode_as(&p, stored, method).map_err(anyhow::Error::msg)?;
                println!("| {label} | {how} | {} | {:.2}% |", bytes.len(), 100.0 * agreement(&p, test, stored));
            }
        }
        println!();
    }
    Ok(())
}

/// The fraction of rows whose stored probabilities have a unique maximum at the predicted class.
fn agreement(p: &Predictions, s: &SetPredictions, stored: Stored) -> f64 {
    let round = |v: f32| match stored {
        Stored::F16 => half::f16::from_f32(v).to_f32(),
        Stored::F32 => v,
        Stored::U8 => (v * 255.0).round(),
    };
    let agree = s
        .prob
        .chunks_exact(p.classes)
        .zip(&s.predicted)
        .filter(|(row, &pred)| {
            let r: Vec<f32> = row.iter().map(|&v| round(v)).collect();
            let max = r[pred as usize];
            r.iter().enumerate().all(|(c, &v)| c == pred as usize || v < max)
        })
        .count();
    agree as f64 / s.rows() as f64
}
