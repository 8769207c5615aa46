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

# Resident memory of a process and its children, KiB.
rss_tree() {
    local pid="$1" total child
    total=$(ps -o rss= -p "$pid" | tr -d ' ')
    for child in $(pgrep -P "$pid" || true); do
        total=$(( total + $(rss_tree "$child") ))
    done
    echo "$total"
}
