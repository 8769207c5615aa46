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

# Resident memory of a process and its children, KiB.
rss_tree() {
    local pid="$1" total child
    total=$(ps -o rss= -p "$pid" | tr -d ' ')
    for child in $(pgrep -P "$pid" || true); do
        total=$(( total + $(rss_tree "$child") ))
    done
    echo "$total"
}
