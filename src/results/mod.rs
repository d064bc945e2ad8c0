//! The files of a results directory, each with one owner: its name, schema, writer and
//! reader: so far the layout (paths), atomic writes, run directories and their status, the
//! per-run diagnostics tables (gzip CSV), the per-run predictions and the event log
//! (`events.jsonl`); the other files move here with the architecture issue (12).

pub mod atomic;
pub mod diagnostics;
pub mod events;
pub mod layout;
pub mod predictions;
pub mod rundir;
