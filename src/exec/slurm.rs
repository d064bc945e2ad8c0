//! Slurm job arrays: pinniped writes the batch scripts and submits them; Slurm does
//! the scheduling. Task K of an N-task array runs `pinniped run FILE --shard K/N`
//! into the shared results directory; a merge job, after the whole array (`afterany`,
//! so one failed task cannot leave it pending forever), rebuilds the summary.
//! Nothing keeps running on the submitting machine.

use super::atomic::write_atomic;
use crate::spec::{InputError, Problem};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Debug)]
pub struct SlurmOptions {
    pub tasks: usize,
    pub max_parallel: Option<usize>,
    pub partition: Option<String>,
    pub time: Option<String>,
    pub cpus_per_task: usize,
    /// Tasks rerun failed and unfinished runs instead of running the sweep.
    pub only_failed: bool,
}

/// Refuses values that would break the scripts: a newline ends the `#SBATCH` block
/// (later directives are silently ignored), other control characters corrupt it.
/// Partition and time are also held to Slurm's own syntax. Every problem is listed.
pub fn check_script_values(o: &SlurmOptions, paths: &[&Path]) -> Result<(), InputError> {
    let mut problems = Vec::new();
    let mut refuse = |flag: &str, message: String| {
        problems.push(Problem { file: PathBuf::new(), line: None, key: Some(flag.to_string()), message })
    };
    let shown = crate::spec::problems::echo;
    if let Some(p) = &o.partition {
        if p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || "_-.,".contains(c)) {
            refuse(
                "--partition",
                format!(
                    "`{}` is not a partition name: use letters, digits, `_`, `-`, `.` (`,` between several)",
                    shown(p)
                ),
            );
        }
    }
    if let Some(t) = &o.time {
        let words = ["unlimited", "infinite"].contains(&t.to_ascii_lowercase().as_str());
        if !words && (t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '-')) {
            refuse(
                "--time",
                format!("`{}` is not a Slurm time: write minutes, H:MM:SS or D-HH:MM:SS, e.g. 1:00:00", shown(t)),
            );
        }
    }
    for path in paths {
        let text = path.display().to_string();
        if text.chars().any(char::is_control) {
            refuse(
                "path",
                format!(
                    "`{}` contains a control character (e.g. a newline), which would break the batch script: rename it",
                    crate::spec::problems::echo_path(path)
                ),
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InputError(problems))
    }
}

/// Single-quotes a word for a POSIX shell.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn abs(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

pub struct Scripts {
    pub array: PathBuf,
    pub merge: PathBuf,
}

/// Writes `<root>/slurm/array.sbatch` and `merge.sbatch`.
pub fn write_scripts(
    root: &Path,
    sweep_name: &str,
    sweep_file: &Path,
    out: &Path,
    o: &SlurmOptions,
) -> anyhow::Result<Scripts> {
    let dir = abs(&root.join("slurm"));
    let exe = abs(&std::env::current_exe()?);
    let cwd = abs(Path::new("."));
    check_script_values(o, &[&exe, &cwd, sweep_file, out])?;
    std::fs::create_dir_all(&dir)?;
    let (root, sweep_file, out) = (abs(root), abs(sweep_file), abs(out));
    let mut head = String::from("#!/bin/bash\n");
    let mut directive = |d: String| head.push_str(&format!("#SBATCH {d}\n"));
    directive(format!("--job-name={}", sh(&format!("pinniped-{sweep_name}"))));
    if let Some(p) = &o.partition {
        directive(format!("--partition={}", sh(p)));
    }
    if let Some(t) = &o.time {
        directive(format!("--time={}", sh(t)));
    }
    directive(format!("--cpus-per-task={}", o.cpus_per_task));
    let common = head;

    let throttle = o.max_parallel.map(|k| format!("%{k}")).unwrap_or_default();
    let work = if o.only_failed {
        format!(
            "{} rerun {} --failed --quiet --shard \"$SLURM_ARRAY_TASK_ID/{}\" --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\"",
            sh(&exe.display().to_string()),
            sh(&root.display().to_string()),
            o.tasks
        )
    } else {
        format!(
            "{} run {} --out {} --shard \"$SLURM_ARRAY_TASK_ID/{}\" --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\"",
            sh(&exe.display().to_string()),
            sh(&sweep_file.display().to_string()),
            sh(&out.display().to_string()),
            o.tasks
        )
    };
    let array = format!(
        "{common}#SBATCH --array=0-{}{throttle}\n#SBATCH --output={}\n\n# One shard of the sweep per array task; runs are claimed before they train,\n# so tasks can share the results directory. Exit code 1 = some runs failed.\ncd {}\nexport RAYON_NUM_THREADS=1\nexec {work}\n",
        o.tasks - 1,
        sh(&dir.join("task-%a.out").display().to_string()),
        sh(&cwd.display().to_string()),
    );
    let merge = format!(
        "{common}#SBATCH --output={}\n\n# After the whole array (submitted with --dependency=afterany:<array job>):\n# rebuild the summary from every shard's runs and show the state of the sweep.\ncd {}\n{} summarize {}\nexec {} status {}\n",
        sh(&dir.join("merge.out").display().to_string()),
        sh(&cwd.display().to_string()),
        sh(&exe.display().to_string()),
        sh(&root.display().to_string()),
        sh(&exe.display().to_string()),
        sh(&root.display().to_string()),
    );
    let scripts = Scripts { array: dir.join("array.sbatch"), merge: dir.join("merge.sbatch") };
    write_atomic(&scripts.array, array.as_bytes())?;
    write_atomic(&scripts.merge, merge.as_bytes())?;
    Ok(scripts)
}

/// `sbatch --parsable` → the job id.
fn sbatch(args: &[&str], script: &Path) -> anyhow::Result<String> {
    let out = Command::new("sbatch").arg("--parsable").args(args).arg(script).output().map_err(|e| {
        anyhow::anyhow!(
            "cannot run sbatch ({e}): is Slurm installed here? The scripts are in {}",
            script.parent().unwrap_or(script).display()
        )
    })?;
    if !out.status.success() {
        anyhow::bail!("sbatch {} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // --parsable prints "jobid" or "jobid;cluster".
    Ok(text.trim().split(';').next().unwrap_or("").to_string())
}

/// Submits the array, then the merge job depending on it; returns both ids.
pub fn submit(scripts: &Scripts) -> anyhow::Result<(String, String)> {
    let array = sbatch(&[], &scripts.array)?;
    let merge = sbatch(&[&format!("--dependency=afterany:{array}"), "--kill-on-invalid-dep=yes"], &scripts.merge)?;
    Ok((array, merge))
}
