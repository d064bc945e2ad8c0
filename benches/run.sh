#!/usr/bin/env bash
# Reproduces BENCHMARKS.md. Needs hyperfine (Debian: apt-get install hyperfine); pinniped's side
# uses only this repository and its shipped data.
# The PyTorch side is optional: it runs only when the peer script is present (PEER, default
# ../shared/bench/pytorch_peer.py, which is not part of this repository) with a venv for it:
#     python3 -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install torch numpy scipy matplotlib
# The peer reads ARFF: it is generated here from the shipped TSV (the UCR archive's own ARFF, byte for byte).
# Run on a quiet machine from the repository root:  benches/run.sh [--no-peer | --peer-only | --engines] > /tmp/bench.log
set -euo pipefail
cd "$(dirname "$0")/.."
PEER=${PEER:-../shared/bench/pytorch_peer.py}
PY=${PY:-/tmp/peer-venv/bin/python}
OUT=${BENCH_OUT:-/tmp/pinniped-bench}
D=data/phoneme
if [ "${1:-}" != "--no-peer" ] && [ "${1:-}" != "--engines" ] && { [ ! -f "$PEER" ] || [ ! -x "$PY" ]; }; then
  [ "${1:-}" = "--peer-only" ] && { echo "benches/run.sh: --peer-only needs $PEER and $PY (set PEER and PY)" >&2; exit 2; }
  echo "benches/run.sh: no PyTorch peer ($PEER or $PY missing): measuring pinniped only" >&2
  set -- --no-peer
fi
case "$OUT" in /|"$HOME"|.|"") echo "benches/run.sh: refusing BENCH_OUT=$OUT (it is emptied)" >&2; exit 2;; esac
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --release -q
P=./target/release/pinniped
TRAIN="$P train -q --train $D/Phoneme_TRAIN.tsv.gz --test $D/Phoneme_TEST.tsv.gz --reserve-every 4"
rss() { /usr/bin/time -f "%e s wall, %M KB peak RSS" "$@" 2>&1 >/dev/null | tail -1; }

echo "## machine"; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2
# The engines side by side (issue 12): the same runs through `engine = "auto" | "native" | "candle"`.
# `--engines` measures only this section (and the peer's baseline, when present); ~4 min.
engines() {
  echo "## engines: baseline and batch-1 runs, and the paper experiment, per engine"
  hyperfine -N --warmup 1 --runs 5 --export-markdown "$OUT/engines.md" \
    -n "baseline auto"     "$TRAIN --set engine=\"auto\" --out $OUT/b" \
    -n "baseline native"   "$TRAIN --set engine=\"native\" --out $OUT/b" \
    -n "baseline candle"   "$TRAIN --set engine=\"candle\" --out $OUT/b" \
    -n "batch 1 auto"      "$TRAIN --batch-size 1 --set engine=\"auto\" --out $OUT/b" \
    -n "batch 1 native"    "$TRAIN --batch-size 1 --set engine=\"native\" --out $OUT/b" \
    -n "batch 1 candle"    "$TRAIN --batch-size 1 --set engine=\"candle\" --out $OUT/b"
  for e in auto native candle; do
    sed -e "s/^\[train\].*/[train]\nengine = \"$e\"/" -e "s|\"\.\./data/|\"$PWD/data/|" experiments/paper.toml > "$OUT/paper-$e.toml"
  done
  hyperfine -N --runs 3 --export-markdown "$OUT/engines-paper.md" --prepare "rm -rf $OUT/paper-e" \
    -n "paper.toml auto --jobs 2"   "$P run -q $OUT/paper-auto.toml --out $OUT/paper-e --jobs 2" \
    -n "paper.toml native --jobs 2" "$P run -q $OUT/paper-native.toml --out $OUT/paper-e --jobs 2" \
    -n "paper.toml candle --jobs 2" "$P run -q $OUT/paper-candle.toml --out $OUT/paper-e --jobs 2"
}
if [ "${1:-}" = "--engines" ]; then
  engines
  [ -f "$PEER" ] && [ -x "$PY" ] || exit 0
fi
if [ "${1:-}" != "--peer-only" ] && [ "${1:-}" != "--engines" ]; then
engines
echo "## single runs (paper baseline: h=64, lr 0.001, batch 160, 256 epochs, test every epoch)"
DIRECT='--set method="direct"'
hyperfine -N --warmup 1 --runs 7 --export-markdown "$OUT/single.md" \
  -n "baseline f32"                   "$TRAIN --out $OUT/b" \
  -n "baseline f32, no plots"         "$TRAIN --set plots=false --out $OUT/b" \
  -n "baseline f32, checkpoint every 16 epochs" "$TRAIN --save-every 16 --out $OUT/b" \
  -n "baseline f32, direct"           "$TRAIN $DIRECT --out $OUT/b" \
  -n "baseline f64"                   "$TRAIN --dtype f64 --out $OUT/b" \
  -n "baseline f64, direct"           "$TRAIN --dtype f64 $DIRECT --out $OUT/b" \
  -n "batch 1 f32"                    "$TRAIN --batch-size 1 --out $OUT/b" \
  -n "batch 1 f32, direct"            "$TRAIN --batch-size 1 $DIRECT --out $OUT/b"
echo "peak RSS, baseline:"; rss $TRAIN --out "$OUT/b"
echo "peak RSS, baseline direct:"; rss $TRAIN $DIRECT --out "$OUT/b"
echo "peak RSS, batch 1:";  rss $TRAIN --batch-size 1 --out "$OUT/b"

echo "## plot cost: one run's plots (median of 11), and a sweep's plots + report.html"
cargo build --release -q --example plot_cost
./target/release/examples/plot_cost "$OUT/b" 11
rm -rf "$OUT/smoke"; $P run -q experiments/paper.toml --out "$OUT/paper-once" --jobs 2 >/dev/null
hyperfine -N --runs 5 -n "pinniped report (paper sweep)" "$P report $OUT/paper-once/paper"

echo "## the paper's experiment (45 runs, all artifacts)"
sed -e 's/^\[train\].*/[train]\nmethod = "direct"/' -e "s|\"\.\./data/|\"$PWD/data/|" experiments/paper.toml > "$OUT/paper-direct.toml"
hyperfine -N --runs 3 --export-markdown "$OUT/paper.md" \
  --prepare "rm -rf $OUT/paper" \
  -n "paper.toml --jobs 2" "$P run -q experiments/paper.toml --out $OUT/paper --jobs 2" \
  -n "paper.toml --jobs 1" "$P run -q experiments/paper.toml --out $OUT/paper --jobs 1" \
  -n "paper.toml direct --jobs 2" "$P run -q $OUT/paper-direct.toml --out $OUT/paper --jobs 2" \
  -n "paper.toml direct --jobs 1" "$P run -q $OUT/paper-direct.toml --out $OUT/paper --jobs 1"
rm -rf "$OUT/paper"; echo "peak RSS, --jobs 2:"; rss $P run -q experiments/paper.toml --out "$OUT/paper" --jobs 2
rm -rf "$OUT/paper"; echo "peak RSS, --jobs 1:"; rss $P run -q experiments/paper.toml --out "$OUT/paper" --jobs 1

echo "## scaling (direct method, no plots, test every epoch)"
for e in 64 128 256 512; do printf "epochs %4d: " $e; rss $TRAIN --set plots=false $DIRECT --epochs $e --out $OUT/s; done
# lr 1e-4: at the paper's 1e-3, mse-sum diverges early for 128+ hidden units and would stop the clock.
for h in 16 32 64 128 256; do printf "hidden %4d: " $h; rss $TRAIN --set plots=false $DIRECT --learning-rate 0.0001 --hidden $h --out $OUT/s; done
for n in 474 948 1896; do
  { zcat $D/Phoneme_TEST.tsv.gz || true; } | head -n $n | gzip -1 > "$OUT/test-$n.tsv.gz"
  printf "test rows %4d: " $n
  rss $P train -q --train $D/Phoneme_TRAIN.tsv.gz --test "$OUT/test-$n.tsv.gz" --reserve-every 4 --set plots=false $DIRECT --out $OUT/s
done

fi
[ "${1:-}" = "--no-peer" ] && exit 0
echo "## PyTorch peer, same machine, same session"
SD=$OUT/arff
mkdir -p "$SD"
for part in TRAIN TEST; do
  { printf '@relation Phoneme\n\n'; for i in $(seq 1 1024); do printf '@attribute att%d numeric\n' "$i"; done
    printf '@attribute target {%s}\n\n@data\n' "$(seq -s, 1 39)"
    zcat "$D/Phoneme_$part.tsv.gz" | awk -F'\t' -v OFS=, '{ label = $1; for (i = 1; i < NF; i++) $i = $(i + 1); $NF = label; print }'
  } | gzip -1 > "$SD/Phoneme_$part.arff.gz"
done
PEERRUN="$PY $PEER --train-arff $SD/Phoneme_TRAIN.arff.gz --test-arff $SD/Phoneme_TEST.arff.gz --layer-dims 1024,64,39 --learning-rate 0.001 --momentum 0.0 --activation-unit sigmoid --epochs 256 --sgd --reserve-every 4 --disjoint-reserve --plot-every 256 --plot-confusion-every 256 --save-every 256 --quiet"
hyperfine -N --runs 3 --export-markdown "$OUT/peer.md" \
  -n "peer baseline f32 1 thread" "$PEERRUN --batch-size 160 --dtype float32 --threads 1 --workspace-dir $OUT/peer" \
  -n "peer baseline f32 2 threads" "$PEERRUN --batch-size 160 --dtype float32 --threads 2 --workspace-dir $OUT/peer" \
  -n "peer baseline f64 1 thread" "$PEERRUN --batch-size 160 --dtype float64 --threads 1 --workspace-dir $OUT/peer" \
  -n "peer batch 1 f32 1 thread" "$PEERRUN --batch-size 1 --dtype float32 --threads 1 --workspace-dir $OUT/peer"
echo "peak RSS, peer baseline:"; rss $PEERRUN --batch-size 160 --dtype float32 --threads 1 --workspace-dir $OUT/peer
[ "${1:-}" = "--engines" ] && exit 0

echo "## the paper's experiment with the peer: 15 configurations x 3 seeds, 2 at a time"
configs="64,0.001,160,0.0,sigmoid 1,0.001,160,0.0,sigmoid 4,0.001,160,0.0,sigmoid 16,0.001,160,0.0,sigmoid
64,0.1,160,0.0,sigmoid 64,0.01,160,0.0,sigmoid 64,0.001,1,0.0,sigmoid 64,0.001,40,0.0,sigmoid 64,0.001,80,0.0,sigmoid
64,0.001,160,0.1,sigmoid 64,0.001,160,0.5,sigmoid 64,0.001,160,0.9,sigmoid 64,0.001,160,1.0,sigmoid
64,0.001,160,0.0,tanh 64,0.001,160,0.0,relu"
jobs=""
for c in $configs; do for s in 1 2 3; do
  IFS=, read -r h lr b m a <<<"$c"
  jobs+="$PY $PEER --train-arff $SD/Phoneme_TRAIN.arff.gz --test-arff $SD/Phoneme_TEST.arff.gz --layer-dims 1024,$h,39 --learning-rate $lr --batch-size $b --momentum $m --activation-unit $a --epochs 256 --sgd --reserve-every 4 --disjoint-reserve --plot-every 256 --plot-confusion-every 256 --save-every 256 --dtype float32 --threads 1 --seed $s --quiet --workspace-dir $OUT/peer-$h-$lr-$b-$m-$a-$s"$'\n'
done; done
printf '%s' "$jobs" > "$OUT/peer-jobs.txt"
/usr/bin/time -f "peer paper experiment: %e s wall, %M KB peak RSS (largest process)" \
  xargs -P 2 -I{} sh -c '{} >/dev/null 2>&1 || true' < "$OUT/peer-jobs.txt"
