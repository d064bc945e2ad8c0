//! `pinniped slurm FILE`: write (and with --submit, submit) a Slurm job array that runs
//! the sweep in shards, after checking the sweep and laying out its results directory.

use super::args::SlurmArgs;
use super::error::{exit, AppError};
use super::prepare::prepare;
use super::results_dir::{check_out_dir, with_stored_pairing};
use crate::exec::sweep;
use crate::output::count;
use crate::report::comparisons::Protocol;
use crate::report::summary;
use crate::spec::{expand, load_sweep};

pub fn slurm(a: SlurmArgs) -> Result<u8, AppError> {
    use crate::exec::slurm::{check_script_values, submit, write_scripts, SlurmOptions};
    let sweep = load_sweep(&a.file)?;
    let sweep = with_stored_pairing(&a.out.join(&sweep.name), sweep, false);
    let plan = expand(&sweep)?;
    // clap bounds the counts (at least 1); more tasks than runs would start empty tasks.
    let tasks = a.tasks.min(plan.runs.len());
    if tasks < a.tasks {
        outln!(
            "note: --tasks {} is more than the sweep's {}: writing {}, one run each",
            a.tasks,
            count(plan.runs.len(), "run"),
            count(tasks, "task")
        );
    }
    let opts = SlurmOptions {
        tasks,
        max_parallel: a.max_parallel,
        partition: a.partition,
        time: a.time,
        cpus_per_task: a.cpus_per_task,
        only_failed: a.only_failed,
        requeue: a.requeue.then_some(a.warn_seconds),
    };
    let root = a.out.join(&sweep.name);
    check_out_dir(&root)?;
    check_script_values(&opts, &[&a.file, &a.out])?;
    // Validate the data and lay out the results directory now, so that errors show
    // here rather than in N task logs, and `status` works while the array runs.
    let prepared = prepare(&sweep, &plan)?;
    sweep::check_compatible(&root, &sweep, prepared.digest())?;
    sweep::write_sweep_files(&root, &sweep, &plan, prepared.digest())?;
    summary::write(&root, &plan, &Protocol::of(&sweep))?;
    let scripts = write_scripts(&root, &sweep.name, &a.file, &a.out, &opts)?;
    outln!(
        "wrote {} ({} over {}) and {}",
        scripts.array.display(),
        count(tasks, "task"),
        count(plan.runs.len(), "run"),
        scripts.merge.display()
    );
    if a.submit {
        let (array, merge) = submit(&scripts)?;
        outln!("submitted array job {array} and merge job {merge} (after the array)");
        outln!("watch: squeue -j {array},{merge}   progress: pinniped status {}", root.display());
    } else {
        outln!(
            "submit with: j=$(sbatch --parsable {}) && sbatch --dependency=afterany:$j {}",
            scripts.array.display(),
            scripts.merge.display()
        );
    }
    Ok(exit::OK)
}
