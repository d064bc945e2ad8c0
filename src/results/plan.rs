//! A sweep's `plan.csv`: one row per planned run (its index, id, configuration, repeat,
//! seed, split and axis values; a multi-dataset sweep's rows led by `dataset`). Written
//! from the expanded `spec::Plan` when a sweep starts; read back as a [`PlanTable`] by
//! the plots and the report, which must also read directories made by older pinnipeds.

use super::atomic::write_atomic;
use super::layout::PLAN_FILE;
use super::table::{headers, open, records};
use crate::spec::Plan;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// The text of `plan.csv`. Ids contain commas (`batch_size=40,momentum=0.5/rep-1`):
/// fields are quoted as CSV says.
pub(crate) fn plan_csv(plan: &Plan) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> =
        ["index", "id", "config", "repeat", "seed", "repetition", "fold", "split_seed"].map(String::from).to_vec();
    header.extend(plan.axes.iter().cloned());
    let multi = !plan.datasets.is_empty();
    if multi {
        header.insert(0, "dataset".into());
    }
    w.write_record(&header)?;
    for r in &plan.runs {
        let mut row: Vec<String> = plan.dataset_of(r.config).map(String::from).into_iter().collect();
        row.extend([
            r.index.to_string(),
            r.id.clone(),
            plan.configs[r.config].id.clone(),
            r.repeat.to_string(),
            r.seed.to_string(),
            r.repetition.to_string(),
            r.fold.map_or(String::new(), |f| f.to_string()),
            r.split_seed.to_string(),
        ]);
        row.extend(plan.configs[r.config].axis_values.iter().cloned());
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Writes `root/plan.csv`, atomically.
pub fn write(root: &Path, plan: &Plan) -> Result<()> {
    write_atomic(&root.join(PLAN_FILE), &plan_csv(plan)?)?;
    Ok(())
}

/// `root/plan.csv`; an error naming it (and asking whether `root` is a sweep directory)
/// when it is absent or empty.
pub(crate) fn read_in(root: &Path) -> Result<PlanTable> {
    let path = root.join(PLAN_FILE);
    match read_plan(&path)? {
        Some(plan) => Ok(plan),
        None => bail!("{}: not found or empty; is {} a sweep directory?", path.display(), root.display()),
    }
}

/// One row of a sweep's `plan.csv`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PlanRow {
    /// `<config id>/rep-<k>`: the run's directory under `runs/`.
    pub id: String,
    pub config: String,
    /// Axis values in `PlanTable::axes` order, as pinniped formats them.
    pub values: Vec<String>,
}

/// A sweep's `plan.csv`: the axes (the columns after `seed`, `repetition`, `fold`,
/// `split_seed`; directories made before pairing have none of the last three) and every planned run.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PlanTable {
    pub axes: Vec<String>,
    pub runs: Vec<PlanRow>,
}

impl PlanTable {
    /// Axis values of config `baseline`, if the design has one.
    pub fn baseline(&self) -> Option<&[String]> {
        self.runs.iter().find(|r| r.config == "baseline").map(|r| r.values.as_slice())
    }
}

pub(crate) fn read_plan(path: &Path) -> Result<Option<PlanTable>> {
    let Some(mut reader) = open(path)? else {
        return Ok(None);
    };
    let head = headers(&mut reader, path)?;
    let col = |name: &str| {
        head.iter().position(|h| h == name).with_context(|| format!("{}: no `{name}` column", path.display()))
    };
    let (ci, cc, cs) = (col("id")?, col("config")?, col("seed")?);
    // No `[train]` key is named `split_seed`, so the column cannot be an axis.
    let first_axis = head.iter().position(|h| h == "split_seed").map_or(cs, |i| i.max(cs)) + 1;
    let axes = head[first_axis..].to_vec();
    let mut runs = Vec::new();
    for rec in records(reader, path) {
        let rec = rec?;
        let fields: Vec<&str> = rec.iter().collect();
        // pinniped has written ids like `a=1,b=2/rep-1` unquoted; then the extra
        // commas split id and config alike (the config id is the run id's prefix).
        let extra = fields.len().saturating_sub(head.len());
        let standard = (ci, cc, cs) == (1, 2, 4);
        let k = extra / 2;
        if extra > 0 && !(standard && extra % 2 == 0) {
            bail!(
                "{}: line {}: {} fields for {} columns",
                path.display(),
                rec.position().map_or(0, |p| p.line()),
                fields.len(),
                head.len()
            );
        }
        let span = |from: usize, to: usize| fields.get(from..=to).map(|f| f.join(",")).unwrap_or_default();
        let get = |i: usize| fields.get(i + if i > cc { extra } else { 0 }).map_or(String::new(), |f| (*f).to_owned());
        let (id, config) = if extra > 0 { (span(1, 1 + k), span(2 + k, 2 + 2 * k)) } else { (get(ci), get(cc)) };
        runs.push(PlanRow { id, config, values: (first_axis..head.len()).map(get).collect() });
    }
    Ok(Some(PlanTable { axes, runs }))
}
