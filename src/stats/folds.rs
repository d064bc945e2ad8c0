//! Stratified k-fold assignment shared by every configuration of a sweep.
//!
//! Fold membership depends only on the labels and (sweep seed, repetition) — never on a
//! configuration's own seed — so every configuration validates on the same rows in repetition r,
//! fold f, and paired comparisons cancel the split-to-split noise.
//!
//! Where it is called: `DataConfig::split_rows` (for `train::fit::fit`); with
//! `resample = "kfold" | "repeated-kfold"` the run's validation rows are the rows with
//! `fold_of_row(train_y, k, split_seed, repetition)[row] == fold - 1` and its training rows the others.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FoldError {
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
pub(crate) fn fold_of_row(labels: &[u32], k: usize, seed: u64, repetition: usize) -> Result<Vec<usize>, FoldError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Phoneme-like labels: 39 classes of uneven size (1 to 11 rows), 214 rows, shuffled order.
    fn uneven_labels() -> Vec<u32> {
        let mut labels: Vec<u32> = (0..39u32).flat_map(|c| std::iter::repeat_n(c, 1 + (c as usize * 7) % 11)).collect();
        labels.truncate(214);
        // A fixed interleaving so that rows of a class are not adjacent in the file.
        let n = labels.len();
        (0..n).map(|i| labels[(i * 97) % n]).collect()
    }

    fn counts_per_fold(folds: &[usize], k: usize, rows: impl Iterator<Item = usize>) -> Vec<usize> {
        let mut counts = vec![0; k];
        rows.for_each(|row| counts[folds[row]] += 1);
        counts
    }

    #[test]
    fn every_row_is_in_exactly_one_fold_and_folds_differ_by_at_most_one_row() {
        let labels = uneven_labels();
        for k in [2, 3, 5, 10] {
            let folds = fold_of_row(&labels, k, 7, 0).unwrap();
            assert_eq!(folds.len(), labels.len(), "k = {k}: one fold per row");
            assert!(folds.iter().all(|&f| f < k), "k = {k}: fold in range");
            let sizes = counts_per_fold(&folds, k, 0..labels.len());
            assert_eq!(sizes.iter().sum::<usize>(), labels.len(), "k = {k}: complete");
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1 && *lo > 0, "k = {k}: fold sizes {sizes:?}");
        }
    }

    #[test]
    fn each_class_is_spread_over_the_folds_within_one_row() {
        let labels = uneven_labels();
        for k in [2, 5, 10] {
            let folds = fold_of_row(&labels, k, 11, 3).unwrap();
            for class in 0..39u32 {
                let rows = (0..labels.len()).filter(|&r| labels[r] == class);
                let counts = counts_per_fold(&folds, k, rows);
                let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
                assert!(hi - lo <= 1, "k = {k}, class {class}: per-fold counts {counts:?}");
            }
        }
    }

    #[test]
    fn a_class_with_fewer_rows_than_folds_lands_in_distinct_folds() {
        // Class 9 has 2 rows and class 4 one row, with 5 folds.
        let labels = [0, 0, 0, 0, 0, 9, 0, 0, 9, 0, 4, 0];
        let folds = fold_of_row(&labels, 5, 1, 0).unwrap();
        assert_ne!(folds[5], folds[8], "the two rows of class 9 share a fold");
        let sizes = counts_per_fold(&folds, 5, 0..labels.len());
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
    }

    #[test]
    fn folds_depend_only_on_seed_and_repetition() {
        let labels = uneven_labels();
        let base = fold_of_row(&labels, 5, 2026, 0).unwrap();
        assert_eq!(fold_of_row(&labels, 5, 2026, 0).unwrap(), base, "same (seed, repetition)");
        for (case, other) in [
            ("next repetition", fold_of_row(&labels, 5, 2026, 1).unwrap()),
            ("another repetition", fold_of_row(&labels, 5, 2026, 9).unwrap()),
            ("another seed", fold_of_row(&labels, 5, 2027, 0).unwrap()),
        ] {
            let moved = base.iter().zip(&other).filter(|(a, b)| a != b).count();
            // Unrelated assignments agree on about 1/k of the rows; require most rows to move.
            assert!(moved > labels.len() / 2, "{case}: only {moved} of {} rows changed fold", labels.len());
        }
    }

    #[test]
    fn too_few_or_too_many_folds_are_refused() {
        assert_eq!(fold_of_row(&[0, 1, 0], 1, 0, 0), Err(FoldError::TooFewFolds(1)));
        assert_eq!(fold_of_row(&[0, 1, 0], 0, 0, 0), Err(FoldError::TooFewFolds(0)));
        assert_eq!(fold_of_row(&[0, 1, 0], 4, 0, 0), Err(FoldError::MoreFoldsThanRows { folds: 4, rows: 3 }));
        assert_eq!(fold_of_row(&[0, 1, 0], 3, 0, 0).map(|f| f.len()), Ok(3), "leave-one-out is allowed");
    }
}
