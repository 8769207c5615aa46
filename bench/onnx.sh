#!/usr/bin/env bash
# The ONNX benchmark: a 300-tree, depth-6 gradient-boosted model from
# scikit-learn, on 1 row and on 10,000 rows, in one run on this machine:
#   - the library's own predict and onnxruntime, in Python (bench/onnx_bench.py);
#   - mlops-host in process (mlops-host bench) and over HTTP (wrk);
#   - FastAPI + uvicorn serving the same model with scikit-learn (wrk).
# The model folder is made the way a data scientist makes it: mlops-host
# init --lang onnx --from model.onnx, then deploy. Writes
# bench/results/onnx/<date>.{json,md} and the table in README.md.
#
#   bench/onnx.sh            (BENCH_SECONDS=8 per HTTP point by default)
set -euo pipefail
bench="onnx bench"
source "$(dirname "$0")/lib.sh"

# --- tools -------------------------------------------------------------
onnx_env=$(tests/onnx/venv)
eval "$onnx_env"
python="$MLOPS_ONNX_PYTHON"
venv_bin="$(dirname "$python")"
say "building mlops-host (release)"
cargo build --release --quiet -p mlops-host
host="$root/target/release/mlops-host"

# --- the model, and Python in-process ----------------------------------
say "training the model and timing scikit-learn and onnxruntime"
"$python" bench/onnx_bench.py prepare "$work"
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
os="$(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r)"
wrkv="$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')"
cat > "$work/machine.json" <<JSON
{"cpu": "$cpu", "cpus": $(nproc), "os": "$os", "wrk": "$wrkv", "seconds": $seconds, "rustc": "$(rustc --version)"}
JSON

# --- mlops-host in process ---------------------------------------------
export MLOPS_STORE="$work/store" MLOPS_CACHE_DIR="$work/cache"
"$host" init "$work/gbr" --lang onnx --from "$work/model.onnx" --no-ci >/dev/null
"$host" deploy -f "$work/gbr/mlops_settings.yaml" >/dev/null 2>&1
say "mlops-host in-process"
"$host" bench gbr-prediction-dev --request "$work/request-10000.json" --rows 1,10000 --samples 200 \
    --no-http --format json > "$work/inproc.json"

# --- HTTP --------------------------------------------------------------

load() {
    local name="$1" url="$2" rows
    for rows in 1 10000; do
        say "$name, $rows row(s): wrk -c1 -t1 -d${seconds}s"
        run_wrk "$work/wrk-$name-$rows.json" "$work/request-$rows.json" -t1 -c1 -d"${seconds}s" "$url"
    done
}

url="http://127.0.0.1:18191/services/gbr-prediction-dev/call"
start_server mlops "$url" "$work/request-1.json" "$host" serve --listen 127.0.0.1:18191
load mlops "$url"
component_kib=$(( $(wc -c < "$root/target/onnx-runner/wasm32-wasip2/guest/mlops_onnx_runner.wasm") / 1024 ))
printf '{"memory": %s, "component_kib": %s}\n' "$(mem_tree "$server_pid")" "$component_kib" > "$work/start.json"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

url="http://127.0.0.1:18192/services/gbr-prediction-dev/call"
start_server fastapi "$url" "$work/request-1.json" env MODEL_JOBLIB="$work/model.joblib" \
    "$venv_bin/uvicorn" --app-dir bench/peers fastapi_sklearn:app --host 127.0.0.1 --port 18192 --workers 2 --log-level warning
load fastapi "$url"

"$python" bench/onnx_bench.py report "$work" "$date"
say "wrote bench/results/onnx/$date.json and .md, and the table in README.md"
