#!/usr/bin/env bash
# Serve the example model `well_log` from a throw-away store and run the
# Python client's tests against it, as the CI harness does.
#
#   clients/python/tests/run_local.sh [BINARY] [-- PYTEST ARGS...]
#
# BINARY defaults to target/release/mlops-host (it is not rebuilt here).
# PYTHON (default: python3) must have pytest, pandas and the client
# installed (`pip install ./clients/python pytest pandas`); set
# KEEP=1 to keep the temporary folder, PORT to pick the port (18080).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
bin=$repo/target/release/mlops-host
if [ $# -gt 0 ] && [ "$1" != "--" ]; then bin=$1; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi
python=${PYTHON:-python3}
port=${PORT:-18080}
example=$repo/examples/well_log
wasm=$repo/target/guests/wasm32-wasip2/guest/well_log.wasm

[ -x "$bin" ] || { echo "run_local.sh: no binary at $bin; build it first (cargo build --release -p mlops-host)" >&2; exit 2; }
[ -f "$wasm" ] || { echo "run_local.sh: no component at $wasm; build the example first (mlops-host test -f examples/well_log/mlops_settings.yaml)" >&2; exit 2; }

tmp=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    if [ "${KEEP:-}" = 1 ]; then echo "run_local.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# The example's settings with absolute paths and no build step.
settings=$tmp/mlops_settings.yaml
sed -e "s|^model_file:.*|model_file: $wasm|" \
    -e "s|^artifact_folder:.*|artifact_folder: $example/artifacts|" \
    -e "s|^fixtures:.*|fixtures: $example/fixtures|" \
    -e '/^build:/,/^[^ ]/{/^build:/d;/^  /d}' \
    "$example/mlops_settings.yaml" >"$settings"
if grep -q '^build:' "$settings"; then echo "run_local.sh: could not remove build: from $settings" >&2; exit 2; fi

export MLOPS_STORE=$tmp/store MLOPS_CACHE_DIR=$tmp/cache
unset MLOPS_ENV ENV
log=$tmp/setup.log
run() { "$@" >>"$log" 2>&1 || { echo "run_local.sh: failed: $*" >&2; cat "$log" >&2; exit 1; }; }
run "$bin" deploy -f "$settings"                 # well_log/dev/1
run "$bin" deploy -f "$settings"                 # well_log/dev/2 (the spare)
run "$bin" models promote well_log --to test --version 1
run "$bin" deploy -f "$settings" --env test      # well_log-prediction-test

export MLOPS_ADMIN_TOKEN=admin-$RANDOM$RANDOM MLOPS_CALLER_TOKEN=caller-$RANDOM$RANDOM
"$bin" serve --listen "127.0.0.1:$port" >"$tmp/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    if "$python" - "$port" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=1)
PY
    kill -0 "$server" 2>/dev/null || { echo "run_local.sh: the server stopped:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
    sleep 0.2
done

export MLOPS_URL=http://127.0.0.1:$port
export MLOPS_TOKEN=$MLOPS_CALLER_TOKEN
export MLOPS_TEST_FIXTURES=$example/fixtures
export MLOPS_TEST_SPARE_VERSION=well_log/dev/2
status=0
(cd "$here/.." && "$python" -m pytest "$@") || status=$?
[ $status -eq 0 ] || [ "${KEEP:-}" = 1 ] || echo "run_local.sh: rerun with KEEP=1 to keep the server's log and store" >&2
exit $status
