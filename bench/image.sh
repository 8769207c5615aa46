#!/usr/bin/env bash
# The container image against the binary cargo builds: is the static (musl)
# build, run in a container, slower? Both serve the example from one store
# folder; the same requests, wrk, c=1 and c=32, BENCH_RUNS runs of each
# point (3), interleaved; the table shows the median and the spread. The
# container runs as the README shows (host network, read-only root, the
# cache the only writable volume). Writes bench/results/image/<date>-latency.md.
# Run it as root (the cache folder is handed to the image's user, 10001).
#
#   bench/image.sh [TAG]        (default localhost/mlops-host:latest, made by
#                                runtime/deploy/build-image; BENCH_SECONDS=8)
set -euo pipefail
bench=image
source "$(dirname "$0")/lib.sh"
tag=${1:-localhost/mlops-host:latest}
runs=${BENCH_RUNS:-3}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/runtime/deploy/image/containers.conf}
podman image exists "$tag" || { say "no image $tag: runtime/deploy/build-image $tag"; exit 1; }
name=mlops-bench-image-$$
trap 'podman rm --force --time 0 "$name" >/dev/null 2>&1 || true; cleanup' EXIT

say "building mlops-host (release) and deploying the example"
cargo build --release --quiet -p mlops-host
host="$root/target/release/mlops-host"
MLOPS_STORE="$work/store" MLOPS_CACHE_DIR="$work/cache-deploy" \
    "$host" deploy --settings examples/well_log/mlops_settings.yaml >/dev/null 2>&1
chmod -R a+rX "$work"
mkdir -p "$work/cache-image" && chown 10001:10001 "$work/cache-image"
one_row_request "$work/one.json"

declare -A urls=(
    [binary]=http://127.0.0.1:18171/services/well_log-prediction-dev/call
    [image]=http://127.0.0.1:18172/services/well_log-prediction-dev/call
)
start_server binary "${urls[binary]}" "$work/one.json" \
    "$host" serve --store "$work/store" --cache-dir "$work/cache-binary" --listen 127.0.0.1:18171
start_server image "${urls[image]}" "$work/one.json" \
    podman run --rm --name "$name" --network host --read-only --read-only-tmpfs=false \
    --cap-drop all --security-opt no-new-privileges \
    -v "$work/store:/store:ro" -v "$work/cache-image:/var/cache/mlops-host" -e MLOPS_STORE=/store \
    "$tag" serve --listen 127.0.0.1:18172
for n in binary image; do check_answer "$n" "${urls[$n]}" "$work/one.json"; done

for run in $(seq 1 "$runs"); do
    for c in 1 32; do
        threads=$(( c == 1 ? 1 : 2 ))
        for n in binary image; do
            say "run $run/$runs: $n at c=$c"
            run_wrk "$work/wrk-$n-c$c-$run.json" "$work/one.json" -t"$threads" -c"$c" -d"${seconds}s" "${urls[$n]}"
        done
    done
done

mkdir -p bench/results/image
out="bench/results/image/$date-latency.md"
python3 - "$work" "$runs" "$seconds" "$tag" "$(git rev-parse --short HEAD)" > "$out" <<'PY'
import json, statistics, sys
work, runs, seconds, tag, commit = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def point(n, c, key):
    vals = [json.load(open(f"{work}/wrk-{n}-c{c}-{r}.json")) for r in range(1, runs + 1)]
    xs = [v["requests"] / (v["duration_us"] / 1e6) if key == "rps" else v[key] for v in vals]
    return statistics.median(xs), min(xs), max(xs)
print(f"# The image against the binary, one request of one row ({commit})\n")
print(f"bench/image.sh: the example served by target/release/mlops-host (glibc) and by {tag} "
      f"(static musl, podman, host network, read-only root); wrk, {seconds} s a point, "
      f"median of {runs} interleaved runs (min–max).\n")
print("| served by | c=1 p50 µs | c=1 p99 µs | c=32 p50 µs | c=32 p99 µs | c=32 req/s |")
print("|---|---|---|---|---|---|")
for n, label in [("binary", "the binary (glibc)"), ("image", "the image (musl, in podman)")]:
    cells = []
    for c, key in [(1, "p50"), (1, "p99"), (32, "p50"), (32, "p99"), (32, "rps")]:
        m, lo, hi = point(n, c, key)
        cells.append(f"{m:,.0f} ({lo:,.0f}–{hi:,.0f})")
    print(f"| {label} | " + " | ".join(cells) + " |")
PY
cat "$out"
say "written to $out"
