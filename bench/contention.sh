#!/usr/bin/env bash
# Quick calls while long ones run: the example model called at c=1 by wrk,
# alone and while two clients keep the probe model looping until its 300 ms
# deadline (each loop call runs on a CPU for 300 ms). A long call moves to
# the engine's low-priority pool once it has run for 2 ms (MOVE_AFTER in
# runtime/engine/src/lib.rs); this measures what the quick calls see. Three rounds; writes
# bench/results/contention/<date>.md.
#
#   bench/contention.sh [mlops-host binary, default target/release/mlops-host]
set -euo pipefail
bench=contention
source "$(dirname "$0")/lib.sh"
host="${1:-$root/target/release/mlops-host}"
[ -x "$host" ] || cargo build --release --quiet -p mlops-host
(cd "$root" && cargo build --quiet --locked --profile guest --target wasm32-wasip2 \
    -p well-log -p probe-guest --lib --target-dir target/guests)
guests="$root/target/guests/wasm32-wasip2/guest"
mkdir -p "$work/probe_artifacts"
echo ok > "$work/probe_artifacts/init.txt"
cat > "$work/mlops_settings.yaml" <<YAML
model_name: well_log
model_file: $guests/well_log.wasm
artifact_folder: $root/examples/well_log/artifacts
---
model_name: probe
model_file: $guests/probe_guest.wasm
artifact_folder: probe_artifacts
limits:
  memory_mb: 64
  timeout_ms: 300
  max_instances: 2
YAML
export MLOPS_STORE="$work/store" MLOPS_CACHE_DIR="$work/cache"
"$host" deploy -f "$work/mlops_settings.yaml" >/dev/null 2>&1
one_row_request "$work/one.json"
echo '{"data": {"op": "loop"}}' > "$work/loop.json"
base=http://127.0.0.1:18186/services
start_server mlops "$base/well_log-prediction-dev/call" "$work/one.json" "$host" serve --listen 127.0.0.1:18186
check_answer mlops "$base/well_log-prediction-dev/call" "$work/one.json"

mkdir -p bench/results/contention
out="bench/results/contention/$date.md"
{
    echo "Measured $date by \`bench/contention.sh\` on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores), commit $(git rev-parse --short HEAD); wrk on the same cores, 4 s per point."
    echo
    echo "| round | alone p50 | alone p99 | with two looping guests: p50 | p99 | max | p99 ratio |"
    echo "|---|---|---|---|---|---|---|"
} > "$out"
for round in 1 2 3; do
    run_wrk "$work/alone-$round.json" "$work/one.json" -t1 -c1 -d4s "$base/well_log-prediction-dev/call"
    # The looping calls end in 504 (their deadline): not run_wrk, which
    # would refuse them.
    BODY_FILE="$work/loop.json" wrk -t1 -c2 -d5s -s bench/peers/wrk.lua "$base/probe-prediction-dev/call" >/dev/null &
    loops=$!
    sleep 0.3
    run_wrk "$work/loud-$round.json" "$work/one.json" -t1 -c1 -d4s "$base/well_log-prediction-dev/call"
    wait "$loops"
    python3 - "$work/alone-$round.json" "$work/loud-$round.json" "$round" >> "$out" <<'PY'
import json, sys
q, l = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
us = lambda v: f"{v:,.0f} µs"
print(f"| {sys.argv[3]} | {us(q['p50'])} | {us(q['p99'])} | {us(l['p50'])} | {us(l['p99'])} | {us(l['max'])} | {l['p99'] / q['p99']:.1f}× |")
PY
    sleep 1
done
cat "$out"
say "wrote $out"
