//! Multivariate series through the feature pipeline, on the shipped BasicMotions (6 channels
//! × 100) and JapaneseVowels (12 channels, unequal lengths padded to 32): every spectral kind is
//! computed per channel and concatenated channel-major; univariate GunPoint gets exactly the
//! single-series transform; a trained multivariate spectral model evaluates to its own accuracy.

mod common;

use common::*;
use pinniped::features::spectral::{self, SpectralParams};
use pinniped::features::{Pipeline, Prepared};
use pinniped::spec::options::Features;
use pinniped::spec::DataConfig;
use std::fs;

fn aeon(name: &str, split: &str) -> String {
    repo().join(format!("data/aeon/{name}_{split}.ts.gz")).display().to_string()
}

fn data(name: &str, extra: &str) -> DataConfig {
    toml::from_str(&format!("train = {:?}\ntest = {:?}\n{extra}", aeon(name, "TRAIN"), aeon(name, "TEST"))).unwrap()
}

/// Every spectral kind, with frames that fit a 32-sample channel at all three multi-log-mel scales.
const KINDS: [Features; 4] = [Features::Spectrum, Features::LogSpectrum, Features::LogMel, Features::MultiLogMel];
const PARAMS: SpectralParams = SpectralParams { frame: 16, hop: 8, mel_bands: 3, sample_rate: 8_000.0 };

fn pipeline(features: Features) -> Pipeline {
    Pipeline { minmax: false, normalize: false, features, params: PARAMS }
}

/// Checks, row by row and bit for bit, that the prepared features of each split are the
/// concatenation of each channel's own single-series transform.
fn check_per_channel(cfg: &DataConfig, channels: usize, length: usize) {
    let pipelines: Vec<Pipeline> = KINDS.iter().map(|&f| pipeline(f)).collect();
    let prepared = Prepared::load(cfg, &pipelines).unwrap();
    let dataset = &prepared.dataset;
    assert_eq!((dataset.channels(), dataset.series_length, dataset.cols), (channels, length, channels * length));
    for kind in KINDS {
        let one = spectral::output_width(kind, length, &PARAMS).unwrap();
        let run = prepared.run_data(pipeline(kind));
        assert_eq!(run.cols, channels * one, "{kind:?}");
        let test = dataset.test.as_ref().unwrap();
        for (raw, got) in [(&dataset.train.x, run.train_x), (&test.x, run.test.unwrap().0)] {
            assert_eq!(got.len(), raw.len() / dataset.cols * run.cols, "{kind:?}");
            for (raw_row, row) in raw.chunks_exact(dataset.cols).zip(got.chunks_exact(run.cols)) {
                let want: Vec<f64> = raw_row
                    .chunks_exact(length)
                    .flat_map(|channel| spectral::transform(kind, channel, length, &PARAMS).unwrap())
                    .collect();
                assert_eq!(row, want.as_slice(), "{kind:?}");
            }
        }
    }
}

#[test]
fn basic_motions_features_are_per_channel_and_channel_major() {
    check_per_channel(&data("BasicMotions", ""), 6, 100);
}

#[test]
fn japanese_vowels_features_are_per_channel_after_padding() {
    check_per_channel(&data("JapaneseVowels", "length = \"pad\"\nseries_length = 32\n"), 12, 32);
}

#[test]
fn univariate_features_are_the_single_series_transform() {
    let cfg = data("GunPoint", "");
    let pipelines: Vec<Pipeline> = KINDS.iter().map(|&f| pipeline(f)).collect();
    let prepared = Prepared::load(&cfg, &pipelines).unwrap();
    assert_eq!(prepared.dataset.channels(), 1);
    let cols = prepared.dataset.cols;
    for kind in KINDS {
        let run = prepared.run_data(pipeline(kind));
        assert_eq!(
            run.train_x,
            spectral::transform(kind, &prepared.dataset.train.x, cols, &PARAMS).unwrap(),
            "{kind:?}"
        );
    }
}

#[test]
fn a_frame_longer_than_one_channel_is_refused_naming_the_key() {
    // BasicMotions rows are 600 values but each channel only 100: a 128-sample frame cannot fit.
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "s.toml",
        &format!(
            "name = \"bm\"\n[data]\ntrain = {:?}\nreserve_every = 4\n[train]\nfeatures = \"log-mel\"\nframe = 128\nhop = 64\nmel_bands = 8\n",
            aeon("BasicMotions", "TRAIN")
        ),
    );
    let out = pinniped().args(["run", "-q", "--out"]).arg(tmp.path().join("out")).arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("train.frame") && stderr.contains("series length 100"), "{stderr}");
}

#[test]
fn eval_reproduces_a_multivariate_spectral_model() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, features) in ["spectrum", "multi-log-mel"].into_iter().enumerate() {
        let out = tmp.path().join(format!("run{i}"));
        pinniped()
            .args(["train", "-q", "--train", &aeon("BasicMotions", "TRAIN"), "--test", &aeon("BasicMotions", "TEST")])
            .args(["--reserve-every", "4", "--hidden", "16", "--epochs", "8", "--batch-size", "8", "--out"])
            .arg(&out)
            .args(["--set", &format!("features=\"{features}\""), "--set", "standardize=true"])
            .args(["--set", "frame=32", "--set", "hop=16", "--set", "mel_bands=4"])
            .assert()
            .success();
        let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
        let test_acc: f64 = metrics.lines().last().unwrap().split(',').nth(6).unwrap().parse().unwrap();
        let eval = pinniped()
            .args(["eval", "--csv", "--model"])
            .arg(out.join("model.safetensors"))
            .args(["--data", &aeon("BasicMotions", "TEST")])
            .output()
            .unwrap();
        assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
        let text = String::from_utf8(eval.stdout).unwrap();
        let acc: f64 = text.lines().nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        assert_eq!(acc, test_acc, "{features}: eval computes the features per channel as training did");
    }
}
