//! Bounded resources: no path blocks, no key or file asks for unbounded work or memory,
//! and memory that runs out anyway fails one run, not the sweep.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Long enough for a slow machine, short enough that a hang fails the test instead of the suite.
const PROMPT: Duration = Duration::from_secs(60);

/// A two-class UCR file of `rows` series of `cols` values.
fn tiny_data(dir: &Path, name: &str, rows: usize, cols: usize) -> PathBuf {
    let text: String = (0..rows)
        .map(|r| {
            let values: Vec<String> = (0..cols).map(|c| format!("{}", ((r * 7 + c * 3) % 11) as f64 / 10.0)).collect();
            format!("{}\t{}\n", r % 2 + 1, values.join("\t"))
        })
        .collect();
    write(dir, name, &text)
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// Runs pinniped with `args`, expecting exit 2 within [`PROMPT`] and `wants` in stderr.
fn refused(case: &str, args: &[&std::ffi::OsStr], envs: &[(&str, &str)], wants: &[&str]) -> String {
    let mut cmd = pinniped();
    cmd.args(args).timeout(PROMPT);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "case {case}: expected exit 2 promptly, got {:?}: {stderr}", out.status);
    for want in wants {
        assert!(stderr.contains(want), "case {case}: stderr lacks `{want}`: {stderr}");
    }
    stderr
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn a_fifo_or_a_directory_is_refused_promptly_wherever_a_path_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = tiny_data(dir, "d.tsv", 8, 6);
    let model_dir = dir.join("m");
    pinniped()
        .args(["train", "-q", "--epochs", "1", "--hidden", "2", "--set", "plots=false", "--train"])
        .arg(&data)
        .arg("--out")
        .arg(&model_dir)
        .timeout(PROMPT)
        .assert()
        .success();
    let model = model_dir.join("model.safetensors");

    for kind in ["fifo", "directory"] {
        let bad = dir.join(format!("bad-{kind}.tsv"));
        // A results directory whose stored files are of this kind, and one holding summary.csv.
        let results = dir.join(format!("results-{kind}"));
        std::fs::create_dir_all(&results).unwrap();
        let (stored_sweep, stored_summary) = (results.join("sweep.toml"), results.join("summary.csv"));
        for p in [&bad, &stored_sweep, &stored_summary] {
            if kind == "fifo" {
                mkfifo(p);
            } else {
                std::fs::create_dir(p).unwrap();
            }
        }
        let sweep = write(
            dir,
            &format!("sweep-{kind}.toml"),
            &format!("name = \"s\"\n[data]\ntrain = {:?}\n[train]\nepochs = 1\n", bad.display().to_string()),
        );
        let name = format!("bad-{kind}.tsv");
        let results_name = format!("results-{kind}");
        let (o1, o2) = (dir.join("o1"), dir.join("o2"));
        let cases: Vec<(&str, Vec<&std::ffi::OsStr>, &str)> = vec![
            ("run SWEEP", vec![os("run"), os("--dry-run"), bad.as_os_str()], &name),
            ("train FILE", vec![os("train"), bad.as_os_str()], &name),
            (
                "train --train DATA",
                vec![os("train"), os("--out"), o1.as_os_str(), os("--train"), bad.as_os_str()],
                &name,
            ),
            ("sweep [data] train", vec![os("run"), os("--out"), o2.as_os_str(), sweep.as_os_str()], &name),
            ("eval --model", vec![os("eval"), os("--model"), bad.as_os_str(), os("--data"), data.as_os_str()], &name),
            ("eval --data", vec![os("eval"), os("--model"), model.as_os_str(), os("--data"), bad.as_os_str()], &name),
            ("compare FILE", vec![os("compare"), bad.as_os_str(), results.as_os_str()], &name),
            ("compare DIR/summary.csv", vec![os("compare"), results.as_os_str(), bad.as_os_str()], "summary.csv"),
            ("status DIR/sweep.toml", vec![os("status"), results.as_os_str()], &results_name),
        ];
        for (case, args, want) in cases {
            refused(&format!("{case} ({kind})"), &args, &[], &[want]);
        }
    }
    assert!(!dir.join("o1").exists() && !dir.join("o2").exists(), "nothing written for refused input");
}

#[test]
fn data_lines_and_decompressed_size_are_bounded_and_the_override_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = dir.join("out");
    // A 2 GiB sparse file: one endless line of zero bytes, never read into memory whole.
    let sparse = dir.join("sparse.tsv");
    std::fs::File::create(&sparse).unwrap().set_len(2 << 30).unwrap();
    let train = |data: &Path| {
        vec![os("train").to_owned(), os("--out").into(), out.clone().into(), os("--train").into(), data.into()]
    };
    let args = train(&sparse);
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    refused("sparse file", &args, &[], &["sparse.tsv:1:", "longer than 16777216 bytes", "PINNIPED_MAX_LINE_BYTES"]);

    // A gzip bomb (here: 30 MB of short rows in a small file) past a lowered total limit.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &b"1\t0\t0\n2\t0\t1\n".repeat(2_500_000)).unwrap();
    let bomb = dir.join("bomb.tsv.gz");
    std::fs::write(&bomb, gz.finish().unwrap()).unwrap();
    let args = train(&bomb);
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    refused(
        "gzip bomb",
        &args,
        &[("PINNIPED_MAX_DATA_BYTES", "1000000")],
        &["bomb.tsv.gz", "decompresses to more than 1000000 bytes", "PINNIPED_MAX_DATA_BYTES"],
    );
    refused("bad setting", &args, &[("PINNIPED_MAX_DATA_BYTES", "lots")], &["PINNIPED_MAX_DATA_BYTES=lots", "bytes"]);
    assert!(!out.exists(), "nothing written for refused data");
}

#[test]
fn every_count_and_size_key_has_an_upper_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path(), "d.tsv", 8, 6);
    let cases: &[(&str, &str, &str)] = &[
        ("hidden width", "[train]\nhidden = [100000000000]", "train.hidden"),
        ("hidden layers", &format!("[train]\nhidden = [{}]", vec!["2"; 65].join(", ")), "train.hidden"),
        ("epochs", "[train]\nepochs = 9223372036854775807", "train.epochs"),
        ("batch_size", "[train]\nbatch_size = 9223372036854775807", "train.batch_size"),
        ("histogram_bins", "[train]\nhistogram_bins = 1000000000000", "train.histogram_bins"),
        ("mel_bands", "[train]\nmel_bands = 1000000000", "train.mel_bands"),
        ("frame", "[train]\nframe = 1000000000000", "train.frame"),
        ("hop", "[train]\nhop = 1000000000000", "train.hop"),
        ("save_every", "[train]\nsave_every = 1000000000000", "train.save_every"),
        ("test_every", "[train]\ntest_every = 1000000000000", "train.test_every"),
        ("plot_every", "[train]\nplot_every = 1000000000000", "train.plot_every"),
        ("confusion_every", "[train]\nconfusion_every = 1000000000000", "train.confusion_every"),
        ("patience", "[train]\npatience = 1000000000000", "train.patience"),
        ("repeats", "repeats = 100000000", "repeats"),
        ("reserve_every", "reserve_every = 1000000000000", "data.reserve_every"),
        ("axis value", "[sweep]\nepochs = [1, 9223372036854775807]", "sweep.epochs[1]"),
    ];
    for (case, extra, key) in cases {
        // `repeats` is a top-level key and reserve_every a [data] key: place them there.
        let (top, data_extra, rest) = match *case {
            "repeats" => (*extra, "", ""),
            "reserve_every" => ("", *extra, ""),
            _ => ("", "", *extra),
        };
        let text =
            format!("name = \"b\"\n{top}\n[data]\ntrain = {:?}\n{data_extra}\n{rest}\n", data.display().to_string());
        let file = write(tmp.path(), "b.toml", &text);
        let limit = if *case == "repeats" { "from 1 to 10000" } else { "at most" };
        refused(case, &[os("run"), os("--dry-run"), file.as_os_str()], &[], &[key, limit]);
    }
}

#[test]
fn a_plan_larger_than_the_bound_is_refused_before_it_is_built() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path(), "d.tsv", 8, 6);
    // 10 axes of 10 values: 10^10 configurations, which would take terabytes to list.
    let keys = [
        "epochs",
        "batch_size",
        "histogram_bins",
        "test_every",
        "save_every",
        "plot_every",
        "confusion_every",
        "mel_bands",
        "frame",
        "hop",
    ];
    let axes: String = keys
        .iter()
        .map(|k| format!("{k} = [{}]\n", (2..12).map(|v| v.to_string()).collect::<Vec<_>>().join(", ")))
        .collect();
    let text = format!("name = \"g\"\nrepeats = 1\n[data]\ntrain = {:?}\n[sweep]\n{axes}", data.display().to_string());
    let file = write(tmp.path(), "g.toml", &text);
    refused("grid", &[os("run"), os("--dry-run"), file.as_os_str()], &[], &["10000000000 runs", "limit of 100000"]);
}

#[test]
fn a_configuration_too_large_for_memory_is_refused_up_front_with_its_estimate() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path(), "d.tsv", 8, 64);
    let out = tmp.path().join("out");
    let text = format!(
        "name = \"m\"\nrepeats = 1\n[data]\ntrain = {:?}\n[train]\nepochs = 1\nplots = false\n[sweep]\nhidden = [[4], [1048576, 1048576]]\n",
        data.display().to_string()
    );
    let file = write(tmp.path(), "m.toml", &text);
    let m = refused(
        "sweep",
        &[os("run"), os("--out"), out.as_os_str(), file.as_os_str()],
        &[("PINNIPED_MAX_RUN_MEMORY", "8589934592")],
        &["configuration hidden=1048576x1048576", "needs about", "TiB", "8.0 GiB limit", "PINNIPED_MAX_RUN_MEMORY"],
    );
    assert!(!m.contains("configuration hidden=4"), "only the configuration too large is named: {m}");
    let m = refused(
        "train",
        &[
            os("train"),
            os("--out"),
            out.as_os_str(),
            os("--hidden"),
            os("1048576,1048576"),
            os("--train"),
            data.as_os_str(),
        ],
        &[("PINNIPED_MAX_RUN_MEMORY", "8589934592")],
        &["needs about", "hidden"],
    );
    assert!(!m.is_empty());
    assert!(!out.exists(), "nothing is written before refusing");
}

/// The operating system refuses the memory the estimate allowed: that run fails alone.
#[cfg(target_os = "linux")]
#[test]
fn a_run_whose_memory_runs_out_fails_alone_and_the_others_finish() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path(), "d.tsv", 8, 2048);
    let out = tmp.path().join("out");
    // 2048 × 1048576 f32 weights are 8 GiB: more than the 3 GiB address space granted below.
    let text = format!(
        "name = \"oom\"\nrepeats = 1\n[data]\ntrain = {:?}\n[train]\nepochs = 2\nplots = false\n\
         [sweep]\nhidden = [[4], [1048576], [3]]\n",
        data.display().to_string()
    );
    let file = write(tmp.path(), "oom.toml", &text);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pinniped"));
    cmd.args(["run", "-q", "--jobs", "1", "--out"]).arg(&out).arg(&file);
    cmd.env("PINNIPED_MAX_RUN_MEMORY", "100000000000000");
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 3 << 30, rlim_max: 3 << 30 };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out_put = assert_cmd::Command::from_std(cmd).timeout(PROMPT * 5).output().unwrap();
    let stderr = String::from_utf8_lossy(&out_put.stderr);
    assert_eq!(out_put.status.code(), Some(1), "runs failed, the sweep did not abort: {stderr}");
    let status = |id: &str| std::fs::read_to_string(out.join("oom/runs").join(id).join("status.json")).unwrap();
    let big = status("hidden=1048576/rep-1");
    assert!(big.contains("\"failed\"") && big.contains("out of memory"), "{big}");
    for id in ["hidden=4/rep-1", "hidden=3/rep-1"] {
        assert!(status(id).contains("\"done\""), "{id}: {}", status(id));
    }
}
