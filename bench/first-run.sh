#!/usr/bin/env bash
# A newcomer's first run, measured: the README's first command from a fresh
# clone of this repository's HEAD (empty target/, HOME without caches; the
# cargo registry as it is on this machine), with cargo's --timings, until
# the README's curl line gets the README's answer. Writes
# bench/results/first-run/<date>-<commit>.md: the wall clock to the first
# served prediction, cargo's summary and its slowest units.
#
#   bench/first-run.sh        (nothing else should run: it times a build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
commit="$(git rev-parse --short HEAD)"
date="$(date -u +%Y-%m-%d)"
work="$(mktemp -d)"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
say() { echo "first-run: $*" >&2; }

git clone -q "$root" "$work/clone"
mkdir -p "$work/home"
cd "$work/clone"
command=$(sed -n '/^\*\*1\. Build, deploy and serve/,/^```$/{/^cargo run/p}' README.md | head -1)
[ -n "$command" ] || { say "README has no first command"; exit 1; }
curl_line=$(sed -n '/^curl -s http:\/\/127.0.0.1:8080\/services\/well_log-prediction-dev/p' README.md | head -1)
answer=$(sed -n '/^```json$/{n;p;q}' README.md)
say "running: $command (with --timings)"
t0=$(date +%s%N)
# --timings goes before `--`: cargo's flag, not the command's.
timed=${command/ -- / --timings -- }
# rustup and cargo where they are installed; everything else of HOME empty.
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
HOME="$work/home" RUSTUP_HOME="$rustup_home" CARGO_HOME="$cargo_home" \
    bash -c "$timed" > "$work/run.log" 2>&1 &
server=$!
got=""
for _ in $(seq 1 36000); do
    got=$(bash -c "$curl_line" 2>/dev/null || true)
    [ -n "$got" ] && break
    kill -0 "$server" 2>/dev/null || { say "the command stopped:"; tail -30 "$work/run.log" >&2; exit 1; }
    sleep 0.1
done
wall_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$got" = "$answer" ] || { say "the answer is not the README's: $got"; exit 1; }
say "served the README's answer after $((wall_ms / 1000)) s"

html=$(ls target/cargo-timings/cargo-timing-*.html | head -1)
mkdir -p "$root/bench/results/first-run"
out="$root/bench/results/first-run/$date-$commit.md"
python3 - "$html" "$wall_ms" "$commit" "$(nproc)" "$(rustc --version)" > "$out" <<'PY'
import json, re, sys
html, wall_ms, commit, cpus, rustc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
text = open(html).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);", text, re.S).group(1))
summary = re.search(r"<td>Total time:</td><td>(.*?)</td>", text)
total = summary.group(1) if summary else "?"
summed = sum(u["duration"] for u in units)
print(f"# First run: the README's first command from a fresh clone ({commit})\n")
print(f"{cpus} CPUs, {rustc}; empty `target/` and HOME, the cargo registry cached; `bench/first-run.sh`.\n")
print(f"- **To the first served prediction: {wall_ms / 1000:.0f} s** (the README's answer, exactly)")
print(f"- `cargo run --release --timings`: {total}, {len(units)} units, {summed:.0f} s summed\n")
print("| unit | s |\n|---|---:|")
for u in sorted(units, key=lambda u: -u["duration"])[:15]:
    target = u.get("target", "").strip()
    name = u["name"] + (f" {target}" if target else "")
    print(f"| {name} | {u['duration']:.1f} |")
PY
cat "$out"
