#!/usr/bin/env bash
# Compares, in one run on this machine, with the same requests, the same
# load generator (wrk) and the same concurrency:
#   1. the example model compiled natively and called in-process (the
#      in-process floor);
#   2. the HTTP floor: a bare hyper server on the host's own stack that
#      reads each body and answers mlops-host's envelope from memory
#      (bench/src/bin/floor.rs);
#   3. mlops-host in-process (engine call) and over HTTP;
#   4. the same model in Python: FastAPI + uvicorn, and MLflow's pyfunc
#      scoring server (`mlflow models serve`), installed from PyPI into a
#      virtual environment under target/;
#   5. large batches (100,000 rows per request) over HTTP: the floor,
#      mlops-host and FastAPI, in rows per second.
# Every server's answer is checked against the fixture before it is timed;
# a wrk run with a socket error or a non-2xx answer fails the benchmark.
# Each HTTP point is run BENCH_RUNS times (3), interleaved across servers
# (all servers at c=1, then again…); the table shows the median and the
# spread. Writes bench/results/<date>.json and .md and updates the table in
# README.md.
#
#   bench/compare.sh            (BENCH_SECONDS=8 per point, BENCH_RUNS=3)
set -euo pipefail
bench=compare
source "$(dirname "$0")/lib.sh"

# --- tools -------------------------------------------------------------
venv="$root/target/bench-venv"
if ! "$venv/bin/python" -c 'import fastapi, uvicorn, mlflow, numpy, pandas' 2>/dev/null; then
    say "installing FastAPI, uvicorn and MLflow into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet fastapi "uvicorn[standard]" mlflow numpy pandas
fi
say "building mlops-host and the floors (release)"
cargo build --release --quiet -p mlops-host -p mlops-bench --bins
host="$root/target/release/mlops-host"
artifact="$root/examples/well_log/artifacts/model.json"

# --- requests ----------------------------------------------------------
one_row_request "$work/one.json"
"$venv/bin/python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
row = json.load(open(f"{work}/one.json"))["data"]
cols = ["ACS", "RDEP", "DEN"]
json.dump({"dataframe_split": {"columns": cols, "data": [[row[c][0] for c in cols]]}}, open(f"{work}/one-mlflow.json", "w"))
PY
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
mem="$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
os="$(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r)"
wrkv="$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')"
cat > "$work/machine.json" <<JSON
{"cpu": "$cpu", "cpus": $(nproc), "memory": "$mem", "os": "$os", "wrk": "$wrkv", "seconds": $seconds,
 "rustc": "$(rustc --version)", "python": "$("$venv/bin/python" --version)",
 "mlflow": "$("$venv/bin/python" -c 'import mlflow; print(mlflow.__version__)')",
 "fastapi": "$("$venv/bin/python" -c 'import fastapi; print(fastapi.__version__)')"}
JSON

# --- in-process --------------------------------------------------------
say "native floor"
"$root/target/release/native" "$artifact" "$root/examples/well_log/fixtures/predict.request.json" 1,100,10000,100000 > "$work/native.json"

export MLOPS_STORE="$work/store" MLOPS_CACHE_DIR="$work/cache"
say "deploying the example (builds its component)"
"$host" deploy --settings examples/well_log/mlops_settings.yaml >/dev/null 2>&1
component="$root/target/guests/wasm32-wasip2/guest/well_log.wasm"
say "mlops-host in-process"
"$host" bench "$component" --artifacts "$root/examples/well_log/artifacts" \
    --request examples/well_log/fixtures/predict.request.json --rows 1,100,10000,100000 --no-http --format json > "$work/inproc.json"

# --- HTTP --------------------------------------------------------------
runs="${BENCH_RUNS:-3}"

declare -A urls bodies spids
# start <name> <port> <path> <body> <command…>: starts a server, checks its
# answer, records its start time.
start() {
    local name="$1" url="http://127.0.0.1:$2$3" body="$4"
    shift 4
    start_server "$name" "$url" "$body" "$@"
    check_answer "$name" "$url" "$body"
    urls[$name]="$url"
    bodies[$name]="$body"
    spids[$name]="$server_pid"
}

start mlops 18181 /services/well_log-prediction-dev/call "$work/one.json" "$host" serve --listen 127.0.0.1:18181
# The floor answers with mlops-host's own answer to the same request.
start floor 18184 /services/well_log-prediction-dev/call "$work/one.json" \
    "$root/target/release/floor" 127.0.0.1:18184 "$work/answer-mlops.json"
start fastapi 18182 /services/well_log-prediction-dev/call "$work/one.json" env MODEL_JSON="$artifact" \
    "$venv/bin/uvicorn" --app-dir bench/peers fastapi_app:app --host 127.0.0.1 --port 18182 --workers 2 --log-level warning
"$venv/bin/python" bench/peers/mlflow_model.py "$artifact" "$work/mlflow-model" >/dev/null 2>&1
start mlflow 18183 /invocations "$work/one-mlflow.json" env PATH="$venv/bin:$PATH" MLFLOW_TRACKING_URI="file://$work/mlruns" \
    "$venv/bin/mlflow" models serve -m "$work/mlflow-model" --env-manager local -h 127.0.0.1 -p 18183 -w 2

for run in $(seq 1 "$runs"); do
    for c in 1 8 32; do
        threads=$([ "$c" -eq 1 ] && echo 1 || echo 2)
        for name in floor mlops fastapi mlflow; do
            say "run $run/$runs, $name: wrk -c$c -t$threads -d${seconds}s"
            run_wrk "$work/wrk-$name-c$c-$run.json" "${bodies[$name]}" -t"$threads" -c"$c" -d"${seconds}s" "${urls[$name]}"
        done
    done
done
# Memory after the 1-row load.
for name in floor mlops fastapi mlflow; do
    printf '{"start_to_first_ms": %s, "memory": %s}\n' "$(cat "$work/start-ms-$name")" "$(mem_tree "${spids[$name]}")" \
        > "$work/start-$name.json"
done

# --- large batches over HTTP ---------------------------------------------
# 100,000 rows per request (the fixture's rows repeated, nulls included):
# what a client pays to send a large batch, decode and encode included. The
# floor answers mlops-host's own answer to it from memory. MLflow is left
# out: its pandas path is the slowest of the peers at one row already.
big_rows=100000
python3 - "$work/big.json" "$big_rows" <<'PY'
import json, sys
req = json.load(open("examples/well_log/fixtures/predict.request.json"))["data"]
n = int(sys.argv[2])
json.dump({"data": {k: [v[i % len(v)] for i in range(n)] for k, v in req.items()}}, open(sys.argv[1], "w"))
PY
for name in mlops fastapi; do check_answer "$name-big" "${urls[$name]}" "$work/big.json"; done
start floor-big 18185 /services/well_log-prediction-dev/call "$work/big.json" \
    "$root/target/release/floor" 127.0.0.1:18185 "$work/answer-mlops-big.json"
declare -A big_urls=([floor]="${urls[floor-big]}" [mlops]="${urls[mlops]}" [fastapi]="${urls[fastapi]}")
for run in $(seq 1 "$runs"); do
    for c in 1 2; do
        for name in floor mlops fastapi; do
            say "run $run/$runs, $name, $big_rows rows: wrk -c$c -t1 -d${seconds}s"
            run_wrk "$work/wrk-$name-big-c$c-$run.json" "$work/big.json" -t1 -c"$c" -d"${seconds}s" --timeout 30s "${big_urls[$name]}"
        done
    done
done
echo "$big_rows" > "$work/big-rows"

"$venv/bin/python" bench/report.py "$work" "$date" "$runs"
say "wrote bench/results/$date.json and .md, and the table in README.md"
