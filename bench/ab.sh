#!/usr/bin/env bash
# Compares two mlops-host binaries over HTTP in one run, interleaved so that
# the machine's drift falls on both alike: the example deployed once into
# one store, then for each round each binary serves it in turn and wrk
# loads it at c=1 and c=32 (1-row request). Writes
# bench/results/ab/<date>.json and .md with every round and the medians.
#
#   bench/ab.sh <before-binary> <after-binary> [rounds, default 5]
#
# (BENCH_SECONDS per point, 8 by default.) For "does this change make
# serving slower": build the old commit's binary, keep a copy, build the new
# one, and run both here.
set -euo pipefail
bench=ab
[ $# -ge 2 ] || { echo "usage: bench/ab.sh <before-binary> <after-binary> [rounds]" >&2; exit 2; }
before="$(realpath "$1")"
after="$(realpath "$2")"
rounds="${3:-5}"
source "$(dirname "$0")/lib.sh"

export MLOPS_STORE="$work/store" MLOPS_CACHE_DIR="$work/cache"
say "deploying the example with $after"
"$after" deploy --settings examples/well_log/mlops_settings.yaml >/dev/null 2>&1
python3 - "$work" <<'PY'
import json, sys
req = json.load(open("examples/well_log/fixtures/predict.request.json"))
json.dump({"data": {k: [v[0]] for k, v in req["data"].items()}}, open(f"{sys.argv[1]}/one.json", "w"))
PY
url="http://127.0.0.1:18185/services/well_log-prediction-dev/call"

# point <binary> <label> <round>: serves with the binary, loads it, stops it.
point() {
    local bin="$1" label="$2" round="$3" c threads
    start_server "$label-$round" "$url" "$work/one.json" "$bin" serve --listen 127.0.0.1:18185
    local pid="$server_pid"
    for c in 1 32; do
        threads=$([ "$c" -eq 1 ] && echo 1 || echo 2)
        say "round $round: $label, wrk -c$c -t$threads -d${seconds}s"
        run_wrk "$work/$label-$round-c$c.json" "$work/one.json" -t"$threads" -c"$c" -d"${seconds}s" "$url"
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

for round in $(seq 1 "$rounds"); do
    # Alternate which goes first, so neither always follows a warm machine.
    if [ $((round % 2)) -eq 1 ]; then
        point "$before" before "$round"; point "$after" after "$round"
    else
        point "$after" after "$round"; point "$before" before "$round"
    fi
done

python3 - "$work" "$rounds" "$date" "$before" "$after" "$seconds" <<'PY'
import json, statistics, sys
work, rounds, date, before, after, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
out = {"date": date, "seconds_per_point": float(seconds), "rounds": rounds,
       "binaries": {"before": before, "after": after}, "points": {}}
for label in ("before", "after"):
    for c in (1, 32):
        runs = [json.load(open(f"{work}/{label}-{r}-c{c}.json")) for r in range(1, rounds + 1)]
        for r in runs:
            # run_wrk already refused runs with errors or non-2xx answers.
            r["requests_per_sec"] = r["requests"] / (r["duration_us"] / 1e6)
        out["points"][f"{label}-c{c}"] = {
            "runs": runs,
            "median_rps": statistics.median(r["requests_per_sec"] for r in runs),
            "median_p50_us": statistics.median(r["p50"] for r in runs),
            "median_p99_us": statistics.median(r["p99"] for r in runs),
        }
json.dump(out, open(f"bench/results/ab/{date}.json", "w"), indent=2)
p = out["points"]
lines = [f"Measured {date} by `bench/ab.sh`: {rounds} interleaved rounds, {seconds} s per point, 1-row request; medians.", "",
         "| | c=1 p50 | c=1 req/s | c=32 req/s | c=32 p99 |", "|---|---|---|---|---|"]
for label in ("before", "after"):
    lines.append(f"| {label} | {p[label+'-c1']['median_p50_us']:.1f} µs | {p[label+'-c1']['median_rps']:,.0f} | "
                 f"{p[label+'-c32']['median_rps']:,.0f} | {p[label+'-c32']['median_p99_us']:,.0f} µs |")
ratio = p["after-c32"]["median_rps"] / p["before-c32"]["median_rps"]
lines += ["", f"after / before at c=32: {ratio:.3f}×; every round (req/s, before → after): " +
          ", ".join(f"{b['requests_per_sec']:,.0f} → {a['requests_per_sec']:,.0f}"
                    for b, a in zip(p["before-c32"]["runs"], p["after-c32"]["runs"]))]
open(f"bench/results/ab/{date}.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
say "wrote bench/results/ab/$date.json and .md"
