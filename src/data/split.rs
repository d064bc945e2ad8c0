//! The three sets a run is scored on (train, validation, test): one name for them in
//! file names, columns, plots and records, and [`PerSplit`], a value per set by name
//! rather than by position.

use std::ops::{Index, IndexMut};

/// One of the sets a run is evaluated on, in the order every file and plot lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    Train,
    Valid,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// The word in file and column names (`confusion-valid.csv`, `valid_acc`).
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }

    /// The word in plot legends and titles.
    pub fn label(self) -> &'static str {
        match self {
            Split::Train => "Train",
            Split::Valid => "Validation",
            Split::Test => "Test",
        }
    }
}

/// One value per [`Split`], by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerSplit<T> {
    pub train: T,
    pub valid: T,
    pub test: T,
}

impl<T> PerSplit<T> {
    /// The value `f` gives each split.
    pub(crate) fn from_fn(mut f: impl FnMut(Split) -> T) -> Self {
        PerSplit { train: f(Split::Train), valid: f(Split::Valid), test: f(Split::Test) }
    }

    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> PerSplit<U> {
        PerSplit { train: f(self.train), valid: f(self.valid), test: f(self.test) }
    }

    /// Each split with its value, in [`Split::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Split, &T)> {
        Split::ALL.into_iter().map(move |s| (s, &self[s]))
    }
}

impl<T> Index<Split> for PerSplit<T> {
    type Output = T;
    fn index(&self, split: Split) -> &T {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }
}

impl<T> IndexMut<Split> for PerSplit<T> {
    fn index_mut(&mut self, split: Split) -> &mut T {
        match split {
            Split::Train => &mut self.train,
            Split::Valid => &mut self.valid,
            Split::Test => &mut self.test,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PerSplit, Split};

    #[test]
    fn per_split_values_are_found_by_name_in_file_order() {
        let mut v = PerSplit::from_fn(|s| s.name().len());
        assert_eq!((v.train, v.valid, v.test), (5, 5, 4));
        v[Split::Valid] = 9;
        assert_eq!(
            v.iter().map(|(s, n)| (s.name(), *n)).collect::<Vec<_>>(),
            [("train", 5), ("valid", 9), ("test", 4)]
        );
        assert_eq!(v.map(|n| n * 2)[Split::Test], 8);
        assert_eq!(Split::ALL.map(Split::label), ["Train", "Validation", "Test"]);
    }
}
