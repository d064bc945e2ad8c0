//! Stratified k-fold assignment shared by every configuration of a sweep.
//!
//! Fold membership depends only on the labels and (sweep seed, repetition) — never on a
//! configuration's own seed — so every configuration validates on the same rows in repetition r,
//! fold f, and paired comparisons cancel the split-to-split noise.
//!
//! Where to call it: `train::fit::fit` builds its rows with `DataConfig::split(&order)`; with
//! `resample = "kfold" | "repeated-kfold"` the run's validation rows are the rows with
//! `fold_of_row(train_y, k, sweep_seed, repetition)[row] == fold` and its training rows the others.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    #[error("folds = {0} is too few: k-fold needs at least 2 folds")]
    TooFewFolds(usize),
    #[error("folds = {folds} is more than the {rows} training rows, so some folds would be empty; use at most {rows}")]
    MoreFoldsThanRows { folds: usize, rows: usize },
}

/// Fold (0..k) of every row, stratified by class like scikit-learn's
/// `StratifiedKFold(k, shuffle=True)`:
/// - every row is in exactly one fold;
/// - within each class, the folds' counts differ by at most one, and so do the folds' sizes;
/// - the assignment depends only on `(labels, k, seed, repetition)`, and differs across repetitions.
///
/// How: the rows of each class (classes in ascending label order) are shuffled by a ChaCha stream
/// of (seed, repetition) and dealt round-robin to the folds, each class continuing where the
/// previous one stopped.
///
/// A class with fewer rows than folds is still dealt out (as scikit-learn does, with a warning
/// there): its rows land in distinct folds and the other folds have none of it, so those folds
/// validate without that class. Errors: k < 2, or k greater than the number of rows.
pub fn fold_of_row(labels: &[u32], k: usize, seed: u64, repetition: usize) -> Result<Vec<usize>, FoldError> {
    if k < 2 {
        return Err(FoldError::TooFewFolds(k));
    }
    if k > labels.len() {
        return Err(FoldError::MoreFoldsThanRows { folds: k, rows: labels.len() });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(folds_seed(seed, repetition));
    let mut by_class: Vec<usize> = (0..labels.len()).collect();
    // Stable sort: rows of a class stay in file order before their shuffle.
    by_class.sort_by_key(|&row| labels[row]);
    let mut fold = vec![0; labels.len()];
    let mut next = 0;
    for class in by_class.chunk_by_mut(|&a, &b| labels[a] == labels[b]) {
        class.shuffle(&mut rng);
        for &row in class.iter() {
            fold[row] = next;
            next = (next + 1) % k;
        }
    }
    Ok(fold)
}

/// Seed of the fold stream: a hash of (sweep seed, repetition), so that nearby repetitions get
/// unrelated streams.
fn folds_seed(seed: u64, repetition: usize) -> u64 {
    let digest = Sha256::digest(format!("pinniped/folds/v1\0{seed}\0{repetition}").as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}
