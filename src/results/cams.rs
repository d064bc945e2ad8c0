//! `cams.csv.gz`: a convolutional run's class activation maps (`train::candle_conv::class_maps_of`)
//! for a few rows of each class, as the run's `plots/cam.png` draws them. One row per sample and
//! time step: `set,row,label,predicted,t,input,cam,cam_predicted`, where `row` is the sample's
//! row in its data file, `input` the network's input at `t` (averaged over its channels), `cam`
//! the map of the sample's own class and `cam_predicted` that of the class it was given.

use super::csv_number as num;
use super::diagnostics::{self, write_table};
use super::table::{cell, field, headers, index, open, records};
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;

/// The table's stem (`cams.csv.gz`).
pub(crate) const CAMS: &str = "cams";
/// Samples kept of each class: the first rows of the class in the file's order.
pub const PER_CLASS: usize = 3;
/// Classes kept, in class order (Phoneme's 39 fit): a bound on the table and the picture.
pub const MAX_CLASSES: usize = 40;

/// One sample's maps over its time steps.
#[derive(Clone, Debug, PartialEq)]
pub struct CamSample {
    /// The set its row is from (`test`, else `train`).
    pub set: String,
    pub row: usize,
    pub label: String,
    pub predicted: String,
    pub input: Vec<f64>,
    pub cam: Vec<f64>,
    pub cam_predicted: Vec<f64>,
}

/// Writes the samples' maps as `dir/cams.csv.gz`, atomically.
pub(crate) fn write(dir: &Path, samples: &[CamSample]) -> std::io::Result<()> {
    let mut csv = String::from("set,row,label,predicted,t,input,cam,cam_predicted\n");
    for s in samples {
        for t in 0..s.input.len() {
            let _ = writeln!(
                csv,
                "{},{},{},{},{t},{},{},{}",
                s.set,
                s.row,
                field(&s.label),
                field(&s.predicted),
                num(s.input[t]),
                num(s.cam[t]),
                num(s.cam_predicted[t])
            );
        }
    }
    write_table(dir, CAMS, &csv)
}

/// The samples of a run directory's `cams.csv.gz` in file order; empty when there is none.
pub(crate) fn read(run_dir: &Path) -> Result<Vec<CamSample>> {
    let Some(path) = diagnostics::table_path(run_dir, CAMS) else { return Ok(Vec::new()) };
    let Some(mut reader) = open(&path)? else { return Ok(Vec::new()) };
    let head = headers(&mut reader, &path)?;
    let col = |name: &str| {
        head.iter().position(|h| h == name).with_context(|| format!("{}: no `{name}` column", path.display()))
    };
    let (cs, cr, cl, cp, ct) = (col("set")?, col("row")?, col("label")?, col("predicted")?, col("t")?);
    let (ci, cc, cq) = (col("input")?, col("cam")?, col("cam_predicted")?);
    let mut samples: Vec<CamSample> = Vec::new();
    for rec in records(reader, &path) {
        let rec = rec?;
        let text = |i: usize| rec.get(i).unwrap_or("").to_string();
        let (set, row, t) = (text(cs), index(&rec, cr, &path)?, index(&rec, ct, &path)?);
        let value = |i: usize| -> Result<f64> { Ok(cell(&rec, i, &path)?.unwrap_or(f64::NAN)) };
        let same = samples.last().is_some_and(|s| s.set == set && s.row == row);
        if !same {
            if samples.len() >= PER_CLASS * MAX_CLASSES * 2 {
                bail!("{}: more than {} samples", path.display(), PER_CLASS * MAX_CLASSES * 2);
            }
            samples.push(CamSample {
                set,
                row,
                label: text(cl),
                predicted: text(cp),
                input: Vec::new(),
                cam: Vec::new(),
                cam_predicted: Vec::new(),
            });
        }
        let s = samples.last_mut().expect("pushed above");
        if t != s.input.len() {
            bail!(
                "{}: row {} of the {} set: time step {t} where {} was due",
                path.display(),
                s.row,
                s.set,
                s.input.len()
            );
        }
        s.input.push(value(ci)?);
        s.cam.push(value(cc)?);
        s.cam_predicted.push(value(cq)?);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip_and_a_gap_in_time_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = |row: usize, label: &str| CamSample {
            set: "test".into(),
            row,
            label: label.into(),
            predicted: "b,c".into(),
            input: vec![0.5, -1.0, 2.0],
            cam: vec![1e-7, 3.0, f64::NAN],
            cam_predicted: vec![0.0, 1.0, 2.0],
        };
        let samples = vec![s(4, "a"), s(9, "b,c")];
        write(dir.path(), &samples).unwrap();
        let back = read(dir.path()).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[1].row, back[1].label.as_str(), back[1].predicted.as_str()), (9, "b,c", "b,c"));
        assert_eq!(back[0].input, samples[0].input);
        assert_eq!(back[0].cam[..2], samples[0].cam[..2]);
        assert!(back[0].cam[2].is_nan());
        write_table(
            dir.path(),
            CAMS,
            "set,row,label,predicted,t,input,cam,cam_predicted\ntest,1,a,a,0,1,1,1\ntest,1,a,a,2,1,1,1\n",
        )
        .unwrap();
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("time step 2 where 1 was due"), "{e}");
        assert!(read(&dir.path().join("none")).unwrap().is_empty());
    }
}
