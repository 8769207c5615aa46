# Shared by the HTTP benchmarks (bench/compare.sh, bench/onnx.sh): source it
# after setting `bench` (what `say` prefixes). It cds to the repository root
# and sets root, seconds (BENCH_SECONDS, 8 by default), date and work (a
# temporary folder, removed at exit along with every server in pids).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${BENCH_SECONDS:-8}"
date="$(date -u +%Y-%m-%d)"
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
say() { echo "$bench: $*" >&2; }

command -v wrk >/dev/null || { say "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

# start_server <name> <url> <body> <command…>: starts the command, waits for
# its first good answer to POSTing <body> to <url>, writes the milliseconds
# that took to $work/start-ms-<name>, and leaves its pid in $server_pid.
start_server() {
    local name="$1" url="$2" body="$3" t0
    shift 3
    t0=$(date +%s%N)
    "$@" > "$work/$name.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 1 6000); do
        if curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary "@$body" "$url"; then
            echo $(( ($(date +%s%N) - t0) / 1000000 )) > "$work/start-ms-$name"
            return
        fi
        sleep 0.005
    done
    say "$name did not start:"; tail -20 "$work/$name.log" >&2; exit 1
}

# mem_tree <pid>: the memory of a process and its children, as JSON:
# resident (RSS, which counts shared pages once per process) and
# proportional (PSS, which splits them: the fair sum for several workers).
mem_tree() {
    local pid="$1" rss=0 pss=0 p r q
    for p in $(proc_tree "$pid"); do
        r=$(awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        q=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        rss=$(( rss + ${r:-0} ))
        pss=$(( pss + ${q:-0} ))
    done
    printf '{"rss_kib": %s, "pss_kib": %s}' "$rss" "$pss"
}

# The pids of a process and all its descendants.
proc_tree() {
    local child
    echo "$1"
    for child in $(pgrep -P "$1" || true); do proc_tree "$child"; done
}

# run_wrk <out.json> <body file> <wrk arguments…>: one wrk run with
# bench/peers/wrk.lua, its JSON summary in <out.json>; a socket error or a
# non-2xx answer fails the benchmark (it would not be a measurement).
run_wrk() {
    local out="$1" body="$2"
    shift 2
    BODY_FILE="$body" wrk "$@" -s bench/peers/wrk.lua | tail -1 > "$out"
    python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
if r["errors"] or r["non_2xx"] or not r["requests"]:
    sys.exit(f"{sys.argv[1]}: {r['requests']} requests, {r['errors']} socket errors, "
             f"{r['non_2xx']} non-2xx answers: not a measurement")
PY
}

# one_row_request <out>: the example's request cut to its first row.
one_row_request() {
    python3 - "$1" <<'PY'
import json, sys
req = json.load(open("examples/well_log/fixtures/predict.request.json"))
json.dump({"data": {k: [v[0]] for k, v in req["data"].items()}}, open(sys.argv[1], "w"))
PY
}

# check_answer <name> <url> <body>: POSTs the one-row request once and
# fails unless the first `AC` value in the answer (wherever the server puts
# it) is the fixture's first, to 1e-9 relative. A server is timed only once
# it answers right.
check_answer() {
    local name="$1" url="$2" body="$3" expected
    expected=$(python3 -c 'import json; print(json.load(open("examples/well_log/fixtures/predict.expected.json"))["prediction"]["AC"][0])')
    curl -sf -H 'Content-Type: application/json' --data-binary "@$body" "$url" > "$work/answer-$name.json" \
        || { say "$name: the benchmark request failed"; exit 1; }
    python3 - "$name" "$work/answer-$name.json" "$expected" <<'PY' || exit 1
import json, sys
name, path, expected = sys.argv[1], sys.argv[2], float(sys.argv[3])
def ac(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "AC":
                return x[0] if isinstance(x, list) else x
            found = ac(x)
            if found is not None:
                return found
    if isinstance(v, list):
        for x in v:
            found = ac(x)
            if found is not None:
                return found
    return None
got = ac(json.load(open(path)))
if not isinstance(got, (int, float)) or abs(got - expected) > 1e-9 * abs(expected):
    sys.exit(f"{name} answered AC = {got}, the fixture says {expected}: {open(path).read()[:300]}")
print(f"{name}: answer checked (AC = {got!r})", file=sys.stderr)
PY
}
