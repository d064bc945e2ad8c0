//! `rungs.csv`: successive halving's decisions, one row per configuration per rung, with the
//! scores that decided them. Written atomically after every rung's decision, and rebuilt by
//! `summarize`; the decisions themselves are computed by `report::halving` from the runs' files.

use super::atomic::write_atomic;
use super::csv_number;
pub(crate) use super::layout::RUNGS_FILE;
use std::path::Path;

/// One configuration's decision at one rung.
#[derive(Clone, Debug, PartialEq)]
pub struct RungRow {
    /// The dataset's name in a multi-dataset sweep (the file then gains a first `dataset` column).
    pub dataset: Option<String>,
    /// 1-based rung number.
    pub rung: usize,
    /// The rung's epoch.
    pub epoch: usize,
    pub config: String,
    /// Runs with a finite score at the rung / runs of the configuration.
    pub scored: usize,
    pub runs: usize,
    /// Mean of the runs' scores (the ranking key); `None` when a run has none (ranks last).
    pub score: Option<f64>,
    /// 1-based rank within the rung (and dataset).
    pub rank: usize,
    pub kept: bool,
    /// The guard's p-value against the rung's best (`guard = "paired"`), where it was tested.
    pub p_value: Option<f64>,
    /// Why, in words.
    pub reason: String,
}

/// The text of `rungs.csv`: the rows in the order given (rung, dataset, rank).
pub fn rungs_csv(rows: &[RungRow], multi_dataset: bool) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header =
        vec!["rung", "epoch", "config", "scored", "runs", "score", "rank", "decision", "p_value", "reason"];
    if multi_dataset {
        header.insert(0, "dataset");
    }
    w.write_record(&header).expect("in memory");
    let num = |v: Option<f64>| v.map_or(String::new(), csv_number);
    for r in rows {
        let mut record = vec![
            r.rung.to_string(),
            r.epoch.to_string(),
            r.config.clone(),
            r.scored.to_string(),
            r.runs.to_string(),
            num(r.score),
            r.rank.to_string(),
            if r.kept { "kept" } else { "pruned" }.to_string(),
            num(r.p_value),
            r.reason.clone(),
        ];
        if multi_dataset {
            record.insert(0, r.dataset.clone().unwrap_or_default());
        }
        w.write_record(&record).expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8 fields")
}

/// Writes `root/rungs.csv` atomically; `Ok(false)` when it already held these bytes (then it is
/// left untouched, so shards deciding the same rung do not rewrite each other's file).
pub fn write(root: &Path, text: &str) -> std::io::Result<bool> {
    let path = root.join(RUNGS_FILE);
    if read(root).as_deref() == Some(text) {
        return Ok(false);
    }
    write_atomic(&path, text.as_bytes())?;
    Ok(true)
}

/// The stored `rungs.csv`, if any (bounded, never through a symlink).
pub fn read(root: &Path) -> Option<String> {
    crate::fsx::read_own_text(&root.join(RUNGS_FILE), crate::fsx::MAX_TEXT_BYTES).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_written_with_their_scores_and_a_dataset_column_only_for_several_datasets() {
        let row = RungRow {
            dataset: Some("GunPoint".into()),
            rung: 1,
            epoch: 16,
            config: "hidden=4,learning_rate=0.01".into(),
            scored: 3,
            runs: 3,
            score: Some(0.25),
            rank: 2,
            kept: false,
            p_value: Some(0.01),
            reason: "ranked 2 of 3, below the best 1".into(),
        };
        let one = rungs_csv(std::slice::from_ref(&row), false);
        assert_eq!(
            one,
            "rung,epoch,config,scored,runs,score,rank,decision,p_value,reason\n\
             1,16,\"hidden=4,learning_rate=0.01\",3,3,0.25,2,pruned,0.01,\"ranked 2 of 3, below the best 1\"\n"
        );
        let many = rungs_csv(&[row], true);
        assert!(many.starts_with("dataset,rung,") && many.contains("\nGunPoint,1,16,"), "{many}");
    }
}
