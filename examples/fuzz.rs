//! A mutation fuzzer for pinniped's parsers (UCR, ARFF, aeon `.ts`, sweep files): bad input may
//! only ever give an error, never a panic or a hang.
//!
//!     cargo run --release --example fuzz -- <ucr|arff|ts|sweep> <seconds>
//!
//! Starts from `fuzz/corpus/<target>/`, mutates (bit flips, byte edits, splices,
//! interesting tokens, truncation), and keeps inputs whose error message has a new
//! shape (a cheap stand-in for coverage) in memory. A panic, or a case slower than
//! 2 s, is saved to `fuzz/crashes/<target>/` and ends the run with exit code 1;
//! `tests/fuzz_regressions.rs` replays every file there and in the corpus.
//! cargo-fuzz needs a nightly toolchain, which this project does not assume.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "NaN",
    "nan",
    "?",
    "inf",
    "-inf",
    "1e999",
    "-0",
    "0x10",
    "",
    ",",
    "\t",
    " ",
    "\n",
    "\r\n",
    "'",
    "\"",
    "{",
    "}",
    "%",
    "@attribute",
    "@ATTRIBUTE x string",
    "@attribute d date",
    "@relation",
    "@data",
    "{0 1}",
    "numeric",
    "real",
    "{a,b}",
    "[",
    "]",
    "[[",
    "=",
    "[train]",
    "[sweep]",
    "[data]",
    "hidden = [[1], [0]]",
    "design = \"grid\"",
    "epochs = 0",
    "learning_rate = -1",
    "momentum = []",
    "\u{feff}",
    "\u{0}",
    "é",
    "9999999999999999999999",
    "-1",
    "1.5e-320",
    ":",
    "@classLabel true a b",
    "@classLabel false",
    "@dimensions 2",
    "@equalLength false",
    "@seriesLength 3",
    "@missing true",
    "@timeStamps true",
    "@univariate false",
    "@targetLabel true",
    "#",
];

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.bytes());
            }
            3 => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let s = rng.below(other.len());
                    let e = (s + 1 + rng.below(64)).min(other.len());
                    v.splice(at..at, other[s..e].iter().copied());
                }
            }
            4 => v.truncate(at),
            5 if !v.is_empty() => {
                // Duplicate a line: ragged rows, repeated keys and tables.
                let s = rng.below(v.len());
                let line: Vec<u8> = v[s..].iter().copied().take_while(|&b| b != b'\n').collect();
                v.splice(at..at, line.into_iter().chain([b'\n']));
            }
            _ => {
                let i = rng.below(v.len().max(1));
                if i < v.len() {
                    const BYTES: &[u8] = b"0123456789.-e,\t\n ?'\"{}[]=@%:#";
                    v[i] = BYTES[rng.below(BYTES.len())];
                }
            }
        }
    }
    v
}

thread_local!(static IN_TARGET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });

/// Runs the target on one input; `Ok(message shape)` or `Err(panic message)`.
fn run_target(target: &str, input: &[u8], scratch: &Path) -> Result<String, String> {
    IN_TARGET.with(|f| f.set(true));
    let result = std::panic::catch_unwind(|| match target {
        "sweep" => {
            let text = String::from_utf8_lossy(input);
            match pinniped::spec::parse_sweep(Path::new("fuzz.toml"), &text).map(|s| pinniped::spec::expand(&s)) {
                Ok(Ok(_)) => "ok".to_string(),
                Ok(Err(e)) | Err(e) => e.to_string(),
            }
        }
        _ => {
            let gz = input.len() > 1 && input[0] == 0x1f && input[1] == 0x8b;
            let ext = match target {
                "arff" => "arff",
                "ts" => "ts",
                _ => "tsv",
            };
            let name = format!("fuzz.{ext}{}", if gz { ".gz" } else { "" });
            let path = scratch.join(name);
            std::fs::write(&path, input).expect("scratch file");
            match pinniped::data::read_table(&path, None, None) {
                // `.ts` data that reads is also pushed through the filling and resampling
                // policies, which the plain table read does not apply.
                Ok(_) if target == "ts" => {
                    use pinniped::data::ts::read;
                    use pinniped::data::{LengthPolicy, MissingPolicy, TargetLength};
                    match read(&path).and_then(|d| {
                        d.to_table(MissingPolicy::Interpolate, LengthPolicy::Resample, TargetLength::Exactly(16))
                    }) {
                        Ok(_) => "ok".to_string(),
                        Err(e) => e.to_string(),
                    }
                }
                Ok(_) => "ok".to_string(),
                Err(e) => e.to_string(),
            }
        }
    });
    IN_TARGET.with(|f| f.set(false));
    match result {
        // The message without the offending text: what kind of problem, roughly where.
        Ok(msg) => Ok(msg.chars().filter(|c| !c.is_ascii_digit()).take(45).collect()),
        Err(p) => Err(p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let target = args.get(1).map(String::as_str).unwrap_or("");
    if !["ucr", "arff", "ts", "sweep"].contains(&target) {
        eprintln!("usage: fuzz <ucr|arff|ts|sweep> <seconds>");
        std::process::exit(2);
    }
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut corpus: Vec<Vec<u8>> = std::fs::read_dir(root.join("corpus").join(target))
        .expect("fuzz/corpus/<target> exists")
        .flatten()
        .map(|e| std::fs::read(e.path()).expect("readable corpus file"))
        .collect();
    let scratch = tempfile_dir();
    // Panics inside the target are caught and reported below; print the others.
    std::panic::set_hook(Box::new(|info| {
        if !IN_TARGET.with(|f| f.get()) {
            eprintln!("fuzz driver: {info}");
        }
    }));
    let mut rng = Rng(0x243f6a8885a308d3 ^ seconds);
    let mut shapes: HashSet<String> = HashSet::new();
    let (start, limit) = (Instant::now(), Duration::from_secs(seconds));
    let mut cases = 0u64;
    while start.elapsed() < limit {
        let base = corpus[rng.below(corpus.len())].clone();
        let input = mutate(&mut rng, &base, &corpus);
        let t = Instant::now();
        let outcome = run_target(target, &input, &scratch);
        let slow = t.elapsed() > Duration::from_secs(2);
        cases += 1;
        match outcome {
            Ok(shape) if !slow => {
                if shapes.insert(shape) && corpus.len() < 5000 {
                    corpus.push(input);
                }
            }
            other => {
                let dir = root.join("crashes").join(target);
                std::fs::create_dir_all(&dir).expect("crash dir");
                let file = dir.join(format!("crash-{cases}"));
                std::fs::write(&file, &input).expect("crash file");
                eprintln!(
                    "{target}: {} after {cases} cases: {:?}; input saved to {}",
                    if slow { "hang" } else { "panic" },
                    other.err(),
                    file.display()
                );
                std::process::exit(1);
            }
        }
    }
    println!("{target}: {cases} cases in {seconds} s, {} distinct outcomes, no panic, no hang", shapes.len());
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pinniped-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
