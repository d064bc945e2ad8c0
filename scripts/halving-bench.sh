#!/usr/bin/env bash
# Successive halving against the full grid (README, "Successive halving"): runs
# experiments/paper-grid.toml and experiments/paper-grid-halving.toml (or the two files given) into a
# temporary directory and prints, for each, the epochs trained, the wall time and the best
# configuration by validation, then the test between the two best configurations on the full
# grid's runs (its comparisons.csv: every configuration against the grid's best, Holm-adjusted).
#   scripts/halving-bench.sh                      the paper grid: 2160 runs, about 30 min on 2 cores
#   scripts/halving-bench.sh --reduced            a 32-configuration grid of 64 epochs (about a minute)
#   scripts/halving-bench.sh GRID.toml HALVING.toml
# Needs python3 (standard library only). JOBS (default: nproc) sets --jobs; KEEP=DIR keeps the results.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
P=${CARGO_TARGET_DIR:-$PWD/target}/release/pinniped
JOBS=${JOBS:-$(nproc)}
TMP=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/pinniped-halving.XXXXXX")}
[ -n "${KEEP:-}" ] || trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP"

GRID=experiments/paper-grid.toml
HALVING=experiments/paper-grid-halving.toml
if [ "${1:-}" = "--reduced" ]; then
  # The same sweeps on fewer axis values and 64 epochs (rungs at 4 and 16), beside the data's path.
  for f in "$GRID" "$HALVING"; do
    python3 - "$f" "$TMP/$(basename "$f")" "$PWD" <<'PY'
import re, sys
src, dst, repo = sys.argv[1:]
t = open(src).read()
t = t.replace('"../data/', '"%s/data/' % repo)
head, sweep = t.split("\n[sweep]\n", 1)
for key, values in [("hidden", "[[4], [16]]"), ("learning_rate", "[0.01, 0.001]"), ("batch_size", "[40, 160]"),
                    ("momentum", "[0.0, 0.9]"), ("activation", '["sigmoid", "tanh"]')]:
    sweep = re.sub(r"(?m)^%s = \[.*\]$" % key, "%s = %s" % (key, values), sweep, count=1)
t = head + "\n[sweep]\n" + sweep
t = re.sub(r"(?m)^epochs = 256", "epochs = 64", t)
t = t.replace("rungs = [16, 64, 256]", "rungs = [4, 16, 64]")
open(dst, "w").write(t)
PY
  done
  GRID=$TMP/$(basename "$GRID"); HALVING=$TMP/$(basename "$HALVING")
elif [ $# -eq 2 ]; then
  GRID=$1; HALVING=$2
fi

now() { date +%s.%N; }
declare -A DIR SECONDS_OF
for which in grid halving; do
  file=$GRID; [ "$which" = halving ] && file=$HALVING
  start=$(now)
  "$P" run --jobs "$JOBS" --out "$TMP/$which" "$file" >"$TMP/$which.log" 2>&1 || { tail -20 "$TMP/$which.log" >&2; exit 1; }
  SECONDS_OF[$which]=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$file" | head -1)
  DIR[$which]=$TMP/$which/$name
done

python3 - "${DIR[grid]}" "${DIR[halving]}" "${SECONDS_OF[grid]}" "${SECONDS_OF[halving]}" <<'PY'
import csv, json, os, sys
grid, halving, grid_s, halving_s = sys.argv[1:]

def epochs(root):
    # Epochs trained: each run's status.json epoch (the last trained; a pruned run's is its rung).
    total = 0
    for r in csv.DictReader(open(os.path.join(root, "plan.csv"))):
        path = os.path.join(root, "runs", r["id"], "status.json")
        if os.path.exists(path):
            total += int(json.load(open(path)).get("epoch", 0))
    return total

def best(root):
    # summary.csv and comparisons.csv both have a row per configuration in plan order: the highest
    # mean final validation accuracy, the first on ties (as pinniped chooses).
    summary = list(csv.DictReader(open(os.path.join(root, "summary.csv"))))
    ids = [r["config"] for r in csv.DictReader(open(os.path.join(root, "comparisons.csv")))]
    scored = [(float(r["final_valid_acc_mean"]), -k, ids[k], r) for k, r in enumerate(summary) if r["final_valid_acc_mean"]]
    _, _, config, row = max(scored, key=lambda s: s[:2])
    return config, row

g_e, h_e = epochs(grid), epochs(halving)
(g_id, g_row), (h_id, h_row) = best(grid), best(halving)
print(f"grid:    {g_e} epochs, {grid_s} s, best by validation {g_id}: valid acc {float(g_row['final_valid_acc_mean']):.4f}")
print(f"halving: {h_e} epochs ({100 * h_e / max(g_e, 1):.1f}% of the grid's), {halving_s} s, best by validation {h_id}: valid acc {float(h_row['final_valid_acc_mean']):.4f}")
print(f"pruned:  {sum(1 for l in open(os.path.join(halving, 'rungs.csv')) if ',pruned,' in l)} configurations (rungs.csv)")
if g_id == h_id:
    print("the same best configuration")
else:
    row = next(r for r in csv.DictReader(open(os.path.join(grid, "comparisons.csv"))) if r["config"] == h_id)
    print(f"on the grid's runs, {h_id} − {row['reference']} ({row['test']}, {row['pairing']}): valid diff {row['valid_diff']}, "
          f"p {row['valid_p']}, Holm p {row['valid_p_holm']}; indistinguishable from the best: {row['indistinguishable_from_best']}")
PY
