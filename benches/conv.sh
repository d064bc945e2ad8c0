#!/usr/bin/env bash
# Seconds per training epoch of FCN and ResNet (issue 16) on Phoneme with the candle engine on the
# CPU (one thread per run), beside the same modules in PyTorch (benches/conv_peer.py, one thread)
# in the same session. Raw amplitudes (1 × 1024) and log-mel (40 bands × 7 frames).
# Run on a quiet machine from the repository root:  benches/conv.sh [EPOCHS] > /tmp/conv-bench.log
# The PyTorch side runs when $PY has torch (default /tmp/peer-venv/bin/python; see benches/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-4}
[ "$EPOCHS" -ge 3 ] || { echo "benches/conv.sh: EPOCHS must be at least 3" >&2; exit 2; }
PY=${PY:-/tmp/peer-venv/bin/python}
OUT=${BENCH_OUT:-/tmp/pinniped-conv-bench}
D=data/phoneme
case "$OUT" in /|"$HOME"|.|"") echo "benches/conv.sh: refusing BENCH_OUT=$OUT (it is emptied)" >&2; exit 2;; esac
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --release -q
P=./target/release/pinniped
echo "## machine"; nproc; grep -m1 'model name' /proc/cpuinfo; date -u
# Training rows only (no validation), test set at the last epoch only, no per-run files beyond
# metrics.csv: an epoch is the batches plus the evaluation pass that gives train_loss / train_acc.
per_epoch() { # metrics.csv → median seconds of epochs 2..N−1 (1 warms up, N also tests)
  awk -F, 'NR > 2 { print prev_d } NR > 2 { prev_d = $NF - prev } NR > 1 { prev = $NF }' "$1" | tail -n +2 | sort -g |
    awk '{ d[n++] = $1 } END { printf "%.2f", n % 2 ? d[(n - 1) / 2] : (d[n / 2 - 1] + d[n / 2]) / 2 }'
}
for family in fcn resnet; do
  for features in amplitude log-mel; do
    dir="$OUT/$family-$features"
    $P train -q --train $D/Phoneme_TRAIN.tsv.gz --test $D/Phoneme_TEST.tsv.gz --epochs "$EPOCHS" \
      --batch-size 16 --set model=\"$family\" --set optimizer=\"adam\" --set features=\"$features\" \
      --set test_every=0 --set plots=false --set diagnostics=false --out "$dir" > /dev/null
    echo "pinniped candle $family $features: $(per_epoch "$dir/metrics.csv") s/epoch (epochs 2..$((EPOCHS - 1)), median)"
    if [ -x "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then
      shape="1 1024"; [ "$features" = log-mel ] && shape="40 7"
      echo "pytorch $($PY benches/conv_peer.py $family $shape 214 39 "$EPOCHS")"
    fi
  done
done
