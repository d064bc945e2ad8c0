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
pub(crate) struct SlurmOptions {
    pub tasks: usize,
    pub(crate) max_parallel: Option<usize>,
    pub partition: Option<String>,
    pub time: Option<String>,
    pub(crate) cpus_per_task: usize,
    /// Tasks rerun failed and unfinished runs instead of running the sweep.
    pub(crate) only_failed: bool,
    /// `--requeue`: ask for SIGUSR1 this many seconds before the time limit; pinniped saves
    /// its running runs' state and exits [`crate::output::EXIT_SUSPENDED`], and the task
    /// requeues itself (`scontrol requeue`) to resume them.
    pub(crate) requeue: Option<usize>,
}

/// `--signal=B:USR1@SECS` takes at most 65535 seconds (Slurm's limit).
pub const MAX_WARN_SECONDS: usize = 65535;

/// Refuses values that would break the scripts: a newline ends the `#SBATCH` block
/// (later directives are silently ignored), other control characters corrupt it.
/// Partition and time are also held to Slurm's own syntax. Every problem is listed.
pub(crate) fn check_script_values(o: &SlurmOptions, paths: &[&Path]) -> Result<(), InputError> {
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
pub(crate) fn write_scripts(
    root: &Path,
    sweep_name: &str,
    sweep_file: &Path,
    out: &Path,
    o: &SlurmOptions,
) -> Result<Scripts, super::ExecError> {
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
    let mut requeue_head = String::new();
    if let Some(secs) = o.requeue {
        // `B:` sends the warning to this batch script (which passes it on), not to every step.
        requeue_head = format!("#SBATCH --requeue\n#SBATCH --signal=B:USR1@{secs}\n");
    }

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
    let run = match o.requeue {
        None => format!("exec {work}\n"),
        Some(secs) => requeue_body(&work, secs),
    };
    let array = format!(
        "{common}#SBATCH --array=0-{}{throttle}\n#SBATCH --output={}\n{requeue_head}\n# One shard of the sweep per array task; runs are claimed before they train,\n# so tasks can share the results directory. Exit code 1 = some runs failed.\ncd {}\nexport RAYON_NUM_THREADS=1\n{run}",
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

/// The task's work under `--requeue`: pinniped in the background so that the script can pass
/// Slurm's warning on; exit code 75 (its runs' state saved) requeues the task.
fn requeue_body(work: &str, secs: usize) -> String {
    let code = crate::output::EXIT_SUSPENDED;
    [
        format!("# --requeue: {secs} s before the time limit Slurm sends SIGUSR1 to this script, which passes it"),
        format!("# on; pinniped saves every running run's state at its next batch boundary and exits {code}; the"),
        "# task is then requeued and resumes those runs exactly where they stopped.".into(),
        "warned=0".into(),
        "trap 'warned=1; kill -USR1 \"$pid\" 2>/dev/null' USR1".into(),
        format!("{work} &"),
        "pid=$!".into(),
        "wait \"$pid\"; rc=$?".into(),
        "# The trap interrupts `wait`: wait again for pinniped's own exit code.".into(),
        "if [ \"$warned\" = 1 ]; then wait \"$pid\"; rc=$?; fi".into(),
        format!("if [ \"$rc\" = {code} ]; then"),
        "  scontrol requeue \"$SLURM_JOB_ID\"".into(),
        "fi".into(),
        "exit \"$rc\"\n".into(),
    ]
    .join("\n")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(requeue: Option<usize>) -> SlurmOptions {
        SlurmOptions {
            tasks: 4,
            max_parallel: None,
            partition: None,
            time: Some("1:00:00".into()),
            cpus_per_task: 2,
            only_failed: false,
            requeue,
        }
    }

    fn array_script(requeue: Option<usize>) -> String {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out/s");
        let scripts =
            write_scripts(&root, "s", &tmp.path().join("s.toml"), &tmp.path().join("out"), &options(requeue)).unwrap();
        std::fs::read_to_string(scripts.array).unwrap()
    }

    #[test]
    fn requeue_asks_for_the_warning_and_requeues_on_the_suspended_exit_code() {
        let plain = array_script(None);
        assert!(!plain.contains("--requeue") && !plain.contains("--signal") && !plain.contains("scontrol"));
        assert!(plain.contains("\nexec '"), "without --requeue pinniped replaces the shell:\n{plain}");

        let script = array_script(Some(120));
        let directives: Vec<&str> = script.lines().filter(|l| l.starts_with("#SBATCH")).collect();
        assert!(directives.contains(&"#SBATCH --requeue"), "{script}");
        assert!(directives.contains(&"#SBATCH --signal=B:USR1@120"), "{script}");
        // Directives after the first command are ignored by sbatch: all of them come first.
        let first_command = script.lines().position(|l| l.starts_with("cd ")).unwrap();
        assert!(script.lines().skip(first_command).all(|l| !l.starts_with("#SBATCH")), "{script}");
        for line in [
            "trap 'warned=1; kill -USR1 \"$pid\" 2>/dev/null' USR1",
            "pid=$!",
            "if [ \"$warned\" = 1 ]; then wait \"$pid\"; rc=$?; fi",
            "if [ \"$rc\" = 75 ]; then",
            "  scontrol requeue \"$SLURM_JOB_ID\"",
            "exit \"$rc\"",
        ] {
            assert!(script.lines().any(|l| l == line), "missing `{line}` in:\n{script}");
        }
        assert!(
            script.contains(" run '")
                && script.contains("--shard \"$SLURM_ARRAY_TASK_ID/4\" --jobs")
                && script.contains(" &\n")
        );
        assert!(!script.contains("\nexec "), "pinniped runs in the background so that the trap can pass USR1 on");
    }

    /// The script's shell logic on its own: a stand-in for pinniped that exits 75 on SIGUSR1
    /// (as pinniped does), `scontrol` a stub that records its arguments.
    #[test]
    fn the_requeue_script_passes_the_warning_on_and_requeues_the_task() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let log = tmp.path().join("requeued");
        std::fs::write(bin.join("scontrol"), format!("#!/bin/sh\necho \"$@\" > {}\n", log.display())).unwrap();
        let ready = tmp.path().join("ready");
        let work = format!("sh -c 'trap \"exit 75\" USR1; touch {}; while :; do sleep 0.05; done'", ready.display());
        let script = format!("{}\n", requeue_body(&work, 60));
        std::fs::write(tmp.path().join("task.sh"), &script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("scontrol"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = std::process::Command::new("bash")
            .arg(tmp.path().join("task.sh"))
            .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
            .env("SLURM_JOB_ID", "4242")
            .spawn()
            .unwrap();
        // Until the stand-in runs (both traps set), then Slurm's warning to the script alone.
        for _ in 0..6000 {
            if ready.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(ready.exists(), "the stand-in never started");
        // SAFETY: a signal to the child we spawned.
        unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(75), "the script exits with pinniped's code");
        assert_eq!(std::fs::read_to_string(&log).unwrap().trim(), "requeue 4242");
    }
}
