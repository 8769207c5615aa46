"""Turns the measurements bench/compare.sh took into bench/results/<date>.json
and .md (a table of the numbers and of ratios mlops-host / peer), and puts
the table into README.md between its bench markers.

    python3 bench/report.py <measurements dir> <date>

Standard library only.
"""

import json
import os
import sys

CONTENDERS = [
    ("mlops", "mlops-host (HTTP)"),
    ("fastapi", "FastAPI + uvicorn, 2 workers"),
    ("mlflow", "MLflow pyfunc (`mlflow models serve`), 2 workers"),
]
CONCURRENCY = [1, 8, 32]


def load(path):
    with open(path) as f:
        return json.load(f)


def main(work, date):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    machine = load(os.path.join(work, "machine.json"))
    native = {p["rows"]: p for p in load(os.path.join(work, "native.json"))}
    inproc = load(os.path.join(work, "inproc.json"))
    http = {}
    for key, _ in CONTENDERS:
        http[key] = {
            "start": load(os.path.join(work, f"start-{key}.json")),
            "runs": {c: load(os.path.join(work, f"wrk-{key}-c{c}.json")) for c in CONCURRENCY},
        }
        for c, run in http[key]["runs"].items():
            run["requests_per_second"] = run["requests"] / (run["duration_us"] / 1e6)
    results = {
        "date": date,
        "machine": machine,
        "native": list(native.values()),
        "mlops_in_process": inproc,
        "http": http,
    }
    os.makedirs(os.path.join(root, "bench", "results"), exist_ok=True)
    with open(os.path.join(root, "bench", "results", f"{date}.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")

    md = table(results)
    with open(os.path.join(root, "bench", "results", f"{date}.md"), "w") as f:
        f.write(md)
    readme = os.path.join(root, "README.md")
    with open(readme) as f:
        text = f.read()
    start, end = "<!-- bench:start -->\n", "<!-- bench:end -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        with open(readme, "w") as f:
            f.write(before + start + md + end + after)
    print(md)


def us(v):
    return f"{v:,.0f} µs" if v >= 100 else f"{v:.1f} µs"


def table(r):
    m = r["machine"]
    lines = [
        f"Measured {r['date']} by `bench/compare.sh` on {m['cpu']} ({m['cpus']} cores, {m['memory']}), "
        f"{m['os']}; load generator wrk {m['wrk']}, on the same cores; 1-row request; "
        f"{m['seconds']} s per point.",
        "",
        "| | c=1 p50 | c=1 p99 | c=1 req/s | c=8 req/s | c=32 req/s | c=32 p99 | RSS after load | start → first prediction |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, name in CONTENDERS:
        h = r["http"][key]
        runs = h["runs"]
        lines.append(
            f"| {name} | {us(runs[1]['p50'])} | {us(runs[1]['p99'])} | {runs[1]['requests_per_second']:,.0f} | "
            f"{runs[8]['requests_per_second']:,.0f} | {runs[32]['requests_per_second']:,.0f} | {us(runs[32]['p99'])} | "
            f"{h['start']['rss_kib'] / 1024:,.0f} MiB | {h['start']['start_to_first_ms']:,.0f} ms |"
        )
    lines += ["", "Ratios, mlops-host / peer (below 1 is faster for latency, above 1 is more for throughput):", ""]
    lines += ["| peer | c=1 p50 | c=1 p99 | c=1 req/s | c=32 req/s | c=32 p99 | RSS |", "|---|---|---|---|---|---|---|"]
    mine = r["http"]["mlops"]
    for key, name in CONTENDERS[1:]:
        peer = r["http"][key]

        def ratio(f):
            a, b = f(mine), f(peer)
            return f"{a / b:.2g}×" if b else "—"

        lines.append(
            f"| {name} | {ratio(lambda h: h['runs'][1]['p50'])} | {ratio(lambda h: h['runs'][1]['p99'])} | "
            f"{ratio(lambda h: h['runs'][1]['requests_per_second'])} | {ratio(lambda h: h['runs'][32]['requests_per_second'])} | "
            f"{ratio(lambda h: h['runs'][32]['p99'])} | {ratio(lambda h: h['start']['rss_kib'])} |"
        )
    lines += [
        "",
        "In-process, warm, one call at a time: the example compiled natively (the floor) against mlops-host's "
        "engine call (dispatch, instance, copy in, guest compute, copy out; no JSON), p50:",
        "",
        "| rows | native | mlops-host | difference | ratio | mlops-host copy in / compute / copy out (mean) |",
        "|---|---|---|---|---|---|",
    ]
    native = {p["rows"]: p for p in r["native"]}
    for p in r["mlops_in_process"]["in_process"]:
        n = native.get(p["rows"])
        if not n:
            continue
        ph = p["phases_mean_us"]
        lines.append(
            f"| {p['rows']:,} | {us(n['p50'])} | {us(p['predict']['p50'])} | {us(p['predict']['p50'] - n['p50'])} | "
            f"{p['predict']['p50'] / n['p50']:.1f}× | {us(ph['copy_in'])} / {us(ph['compute'])} / {us(ph['copy_out'])} |"
        )
    cold = r["mlops_in_process"]["cold"]
    lines += [
        "",
        f"Cold: compiling the component {cold['compile_ms']:.0f} ms, loading it from the compile cache "
        f"{cold['cache_load_ms']:.2f} ms, instantiating and initialising {cold['instantiate_and_initialize_ms']:.2f} ms.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
