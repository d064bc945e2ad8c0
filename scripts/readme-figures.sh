#!/usr/bin/env bash
# Every figure README.md quotes, regenerated from the code as it is today: runs the experiments the
# README describes into a temporary directory and prints the README's tables (Markdown, paste-ready),
# its "best by validation" lines, divergence epochs, run counts and timings.
#   scripts/readme-figures.sh            paper.toml (f32), its learning-rate axis in f64, beyond.toml, random.toml, archive.toml + rank
#   scripts/readme-figures.sh --paper    only the paper's figures (skips beyond.toml, ~20 s)
# Needs python3 (standard library only) for the tables. Timings depend on the machine and its load:
# the README's are from 2 quiet cores. The first-build time is not measured here (it needs an empty
# target/ and an empty cargo registry cache).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
P=${CARGO_TARGET_DIR:-$PWD/target}/release/pinniped  # where cargo build put it
JOBS=${JOBS:-$(nproc)}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pinniped-figures.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# run NAME FILE: runs a sweep into $TMP/NAME, keeps its output, prints its wall time.
run() {
  local start
  start=$(now)
  "$P" run --jobs "$JOBS" --out "$TMP/$1" "$2" >"$TMP/$1.log" 2>&1 || { cat "$TMP/$1.log" >&2; exit 1; }
  since "$start"
}

echo "## machine: $(nproc) cores, --jobs $JOBS, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

start=$(now)
"$P" train -q --train data/phoneme/Phoneme_TRAIN.tsv.gz --test data/phoneme/Phoneme_TEST.tsv.gz --reserve-every 4 \
  --out "$TMP/one" >/dev/null
echo "one paper-baseline run (pinniped train, all artifacts): $(since "$start") s"

paper_s=$(run paper experiments/paper.toml)
# The paper's dtype, on the axis whose divergence the README dates.
# Data paths are relative to the sweep file, and the copy lives in $TMP: point them at data/.
sed -e 's/^dtype = "f32".*/dtype = "f64"/' -e '/^\[sweep\]/,$ { /^\(hidden\|batch_size\|momentum\|activation\) =/d }' \
  -e "s|\"\\.\\./data/|\"$PWD/data/|" experiments/paper.toml >"$TMP/paper-f64.toml"
grep -q '^dtype = "f64"' "$TMP/paper-f64.toml" || { echo "paper.toml no longer has dtype = \"f32\"" >&2; exit 1; }
grep -q "^train = \"$PWD/data/" "$TMP/paper-f64.toml" || { echo "paper.toml's train path is no longer ../data/…" >&2; exit 1; }
f64_s=$(run paper-f64 "$TMP/paper-f64.toml")
if [ "${1:-}" != "--paper" ]; then
  beyond_s=$(run beyond experiments/beyond.toml)
  # The selected configuration refitted on all training rows (`pinniped refit`), as the README shows.
  "$P" refit --jobs "$JOBS" "$TMP/beyond/beyond" >"$TMP/refit.log" 2>&1 || { cat "$TMP/refit.log" >&2; exit 1; }
  random_s=$(run random experiments/random.toml)
  # The archive sweep and its two rankings (README "Over the archive"), printed as pinniped prints them.
  archive_s=$(run archive experiments/archive.toml)
  echo "experiments/archive.toml: $archive_s s wall"
  "$P" rank "$TMP/archive/archive" --out "$TMP/archive-rank"
  "$P" rank "$TMP/archive/archive" --reference data/published/fawaz2019.csv --out "$TMP/archive-vs-published"
  cat "$TMP/archive-rank/ranks.csv" "$TMP/archive-vs-published/ranks.csv"
else beyond_s=; random_s=; fi

python3 - "$TMP" "$paper_s" "$f64_s" "$beyond_s" "$random_s" <<'PY'
import csv, json, os, sys

tmp, paper_s, f64_s, beyond_s, random_s = sys.argv[1:]

def sweep(out, name):
    """(rows by config id, statuses by config id, best line, run count) of a finished sweep."""
    root = os.path.join(tmp, out, name)
    with open(os.path.join(root, "plan.csv")) as f:
        plan = list(csv.DictReader(f))
    with open(os.path.join(root, "summary.csv")) as f:
        summary = list(csv.DictReader(f))
    fixed = {"index", "id", "config", "repeat", "seed", "repetition", "fold", "split_seed"}
    axes = [k for k in plan[0] if k not in fixed]
    config_of = {tuple(r[a] for a in axes): r["config"] for r in plan}
    rows = {config_of[tuple(r[a] for a in axes)]: r for r in summary}
    statuses = {}
    for r in plan:
        with open(os.path.join(root, "runs", r["id"], "status.json")) as f:
            statuses.setdefault(r["config"], []).append(json.load(f))
    log = open(os.path.join(tmp, out + ".log")).read().splitlines()
    best = [l.strip() for l in log if l.startswith("best by validation")]
    line = best[-1] if best else "(no best-by-validation line)"
    # The whole-procedure estimate, printed after it (when the sweep has a test set).
    whole = [l.strip() for l in log if l.startswith("whole procedure")]
    line += "\n" + whole[-1] if whole else ""
    return rows, statuses, line, len(plan)

def epochs(statuses, config):
    """Divergence epochs of a configuration's runs, e.g. '9' or '14–15'."""
    e = sorted(s["epoch"] for s in statuses[config] if s["state"] == "diverged")
    if not e:
        return "none"
    return f"{e[0]}" if e[0] == e[-1] else f"{e[0]}–{e[-1]}"

def mean(row, metric, digits):
    v = row.get(f"{metric}_mean", "")
    return f"{float(v):.{digits}f}" if v else "—"

def mean_std(row, metric, digits):
    m, s = row.get(f"{metric}_mean", ""), row.get(f"{metric}_std", "")
    return f"{float(m):.{digits}f} ± {float(s):.{digits}f}" if m and s else mean(row, metric, digits)

def cells(rows, configs, metric, digits, single=mean):
    if len(configs) == 1:
        return single(rows[configs[0]], metric, digits)
    got = [mean(rows[c], metric, digits) for c in configs]
    return "—" if set(got) == {"—"} else " / ".join(got)

# ---- the paper
rows, st, best, n = sweep("paper", "paper")
rows64, st64, _, n64 = sweep("paper-f64", "paper")
print(f"\n## experiments/paper.toml (f32): {n} runs, {paper_s} s wall")
print(best)
lr32 = [epochs(st, c) for c in ("learning_rate=0.1", "learning_rate=0.01")]
lr64 = [epochs(st64, c) for c in ("learning_rate=0.1", "learning_rate=0.01")]
e32 = sorted(int(x) for e in lr32 if e != "none" for x in e.split("–"))
f32_span = f"{e32[0]}–{e32[-1]}" if e32 else "none"
print(f"divergence epochs, f32: lr 0.1: {lr32[0]}, lr 0.01: {lr32[1]}, relu: {epochs(st, 'activation=relu')}")
print(f"divergence epochs, f64 ({n64} runs, {f64_s} s): lr 0.1: {lr64[0]}, lr 0.01: {lr64[1]}")
diverged = lambda configs: sum(1 for c in configs for s in st[c] if s["state"] == "diverged")
paper_table = [
    ("baseline (h=64)", ["baseline"], "overfits: 160 training rows, 39 classes"),
    ("hidden = 1 / 4 / 16", ["hidden=1", "hidden=4", "hidden=16"], ""),
    ("learning rate 0.1, 0.01", ["learning_rate=0.1", "learning_rate=0.01"],
     f"all {diverged(['learning_rate=0.1', 'learning_rate=0.01'])} runs **diverge** (summed loss → huge curvature): "
     f"in epochs {f32_span} in f32, in epochs {lr64[0]} (lr 0.1) and {lr64[1]} (lr 0.01) in f64 (the paper's dtype), "
     "as the paper saw"),
    ("batch 1 / 40 / 80", ["batch_size=1", "batch_size=40", "batch_size=80"], ""),
    ("momentum 0.1 / 0.5 / 0.9", ["momentum=0.1", "momentum=0.5", "momentum=0.9"], ""),
    ("momentum 1.0", ["momentum=1.0"], "the damped rule `v ← lr(1−m)g + mv` freezes learning at m = 1"),
    ("tanh", ["activation=tanh"], ""),
    ("relu", ["activation=relu"],
     f"all {diverged(['activation=relu'])} runs **diverge** within {epochs(st, 'activation=relu').split('–')[-1]} epochs"),
]
print("\n| configuration | train acc | valid acc | test acc | note |\n|---|---|---|---|---|")
for label, configs, note in paper_table:
    got = [cells(rows, configs, m, d) for m, d in
           (("final_train_acc", 2), ("final_valid_acc", 2), ("final_test_acc", 3))]
    print(f"| {label} | {' | '.join(got)} | {note} |")

# ---- beyond
def ci(row, metric, digits=3):
    m, lo, hi = (row.get(f"{metric}_{k}", "") for k in ("mean", "ci_low", "ci_high"))
    return f"{float(m):.{digits}f} [{float(lo):.{digits}f}, {float(hi):.{digits}f}]" if m and lo and hi else mean(row, metric, digits)

if beyond_s:
    rows, st, best, n = sweep("beyond", "beyond")
    print(f"\n## experiments/beyond.toml: {n} runs ({len(rows)} configurations), {beyond_s} s wall")
    print(best)
    print(next(l.strip() for l in open(os.path.join(tmp, "refit.log")) if l.startswith("refit ")))
    selected = best.split()[3] if best.startswith("best by validation: ") else ""
    with open(os.path.join(tmp, "beyond", "beyond", "comparisons.csv")) as f:
        comparisons = {r["config"]: r for r in csv.DictReader(f)}
    labels = {
        "baseline": "(baseline: log-mel, frame 256, hop 128, 20 bands)",
        "features=amplitude": "features = amplitude (the paper's input)",
        "hidden=none": "hidden = [] (linear)",
        "hidden=512x256": "hidden = [512, 256]",
        "optimizer=sgd": "optimizer = sgd (lr 1e-3, no momentum)",
    }
    def label(c):
        return labels.get(c, c.replace("=", " = ", 1))
    def signed(v, digits=3):
        return f"{float(v):+.{digits}f}" if v else "—"
    print("\n| change from the baseline | valid acc [95% CI] | paired Δ valid vs baseline [95% CI] | Holm p | test acc [95% CI] | ensemble test |")
    print("|---|---|---|---|---|---|")
    for c, row in rows.items():
        k = comparisons[c]
        mark = " (**selected**)" if c == selected else ""
        delta = (f"{signed(k['valid_diff'])} [{signed(k['valid_diff_ci_low'])}, {signed(k['valid_diff_ci_high'])}]"
                 if k["valid_diff"] else "—")
        p = f"{float(k['valid_p_holm']):.2g}" if k["valid_p_holm"] else "—"
        ens = f"{float(row['ensemble_test_acc']):.3f}" if row.get("ensemble_test_acc") else "—"
        print(f"| {label(c)}{mark} | {ci(row, 'final_valid_acc')} | {delta} | {p} | {ci(row, 'final_test_acc')} | {ens} |")
    distinct = [c for c, k in comparisons.items() if k["indistinguishable_from_best"] == "no"]
    print(f"\ndistinguishable from the best by validation (Holm, paired): {', '.join(distinct) or 'none'}")
    pct = lambda c: f"{100 * float(rows[c]['final_test_acc_mean']):.0f}%"
    print("prose: test acc amplitude → spectrum → log-spectrum → log-mel baseline → multi-log-mel: "
          + " → ".join(pct(c) for c in ("features=amplitude", "features=spectrum", "features=log-spectrum", "baseline", "features=multi-log-mel")))

# ---- random (a sobol design)
if random_s:
    rows, st, best, n = sweep("random", "random")
    print(f"\n## experiments/random.toml: {n} runs ({len(rows)} configurations), {random_s} s wall")
    print(best)
PY
