#!/bin/sh
# Bytes per run of a results directory, by file kind (BENCHMARKS.md, "Bytes per run"):
#   scripts/bytes-per-run.sh results/paper-grid
# Counts the finished runs (those with a status.json) and divides every kind's bytes by them.
set -eu
dir="$1"
runs=$(find "$dir/runs" -name status.json | wc -l)
[ "$runs" -gt 0 ] || { echo "no finished run under $dir/runs" >&2; exit 2; }
states=$(find "$dir/runs" -name status.json -exec grep -ho '"state": "[a-z]*"' {} + | sort | uniq -c | awk '{printf "%s %s ", $1, $3}')
echo "$runs finished runs ($states)"
find "$dir/runs" -type f -printf '%s %P\n' | awk -v runs="$runs" '
{ size = $1; p = $2; n = split(p, part, "/"); f = part[n];
  if (p ~ /\/plots\//) k = "plots/*.png";
  else if (p ~ /\/checkpoints\//) k = "checkpoints/*";
  else if (f ~ /^confusion-/) { k = f; sub(/^confusion-[a-z]*/, "confusion-*", k) }
  else if (f ~ /\.lock$/) next;
  else k = f;
  bytes[k] += size; total += size }
END { for (k in bytes) printf "%9.1f KB  %s\n", bytes[k] / runs / 1000, k;
      printf "%9.1f KB  %s\n", total / runs / 1000, "total per run" }' | sort -n -r
