"""Turns the measurements bench/compare.sh took into bench/results/<date>.json
and .md, and puts the table into README.md between its bench markers.

    python3 bench/report.py <measurements dir> <date> <runs per point>

Each HTTP point is the median of the runs, shown with its range; every
contender is also given as a ratio to the HTTP floor (a bare hyper server
answering from memory), and the goals of issue 16 are checked against the
numbers. Standard library only.
"""

import json
import os
import statistics
import sys

CONTENDERS = [
    ("floor", "the floor: bare hyper, answer from memory"),
    ("mlops", "mlops-host (HTTP)"),
    ("fastapi", "FastAPI + uvicorn, 2 workers"),
    ("mlflow", "MLflow pyfunc (`mlflow models serve`), 2 workers"),
]
CONCURRENCY = [1, 8, 32]
# Large batches: who is measured, at which concurrency.
BIG = [
    ("floor", "the floor: bare hyper, answer from memory"),
    ("mlops", "mlops-host (HTTP)"),
    ("fastapi", "FastAPI + uvicorn, 2 workers"),
]
BIG_CONCURRENCY = [1, 2]
# Issue 16: the JSON path decodes at least this many values per second on
# one core.
DECODE_GOAL = 5e6
METRICS = ["requests_per_second", "p50", "p99"]


def load(path):
    with open(path) as f:
        return json.load(f)


def point(runs):
    """The median and range of each metric over the runs of one point."""
    for r in runs:
        r["requests_per_second"] = r["requests"] / (r["duration_us"] / 1e6)
    out = {"runs": runs}
    for m in METRICS:
        values = [r[m] for r in runs]
        out[m] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return out


def main(work, date, runs):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    machine = load(os.path.join(work, "machine.json"))
    machine["runs_per_point"] = runs
    native = {p["rows"]: p for p in load(os.path.join(work, "native.json"))}
    inproc = load(os.path.join(work, "inproc.json"))
    http = {}
    for key, _ in CONTENDERS:
        http[key] = {
            "start": load(os.path.join(work, f"start-{key}.json")),
            "points": {
                str(c): point([load(os.path.join(work, f"wrk-{key}-c{c}-{i}.json")) for i in range(1, runs + 1)])
                for c in CONCURRENCY
            },
        }
    big_rows = int(open(os.path.join(work, "big-rows")).read())
    big = {
        "rows": big_rows,
        "points": {
            key: {
                str(c): point([load(os.path.join(work, f"wrk-{key}-big-c{c}-{i}.json")) for i in range(1, runs + 1)])
                for c in BIG_CONCURRENCY
            }
            for key, _ in BIG
        },
    }
    results = {
        "date": date,
        "machine": machine,
        "native": list(native.values()),
        "mlops_in_process": inproc,
        "http": http,
        "http_large": big,
    }
    results["goals"] = goals(results)
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


def med(r, key, c, metric):
    return r["http"][key]["points"][str(c)][metric]["median"]


def goals(r):
    """Issue 16's goals, each with the measured value and whether it is met."""
    native = {p["rows"]: p for p in r["native"]}
    inproc = {p["rows"]: p for p in r["mlops_in_process"]["in_process"]}
    out = []

    def goal(what, value, unit, limit, met):
        out.append({"goal": what, "value": value, "unit": unit, "limit": limit, "met": bool(met)})

    rps = med(r, "mlops", 32, "requests_per_second") / med(r, "floor", 32, "requests_per_second")
    goal("HTTP c=32 requests/s, mlops-host / the floor", rps, "×", "≥ 0.85", rps >= 0.85)
    p50 = med(r, "mlops", 1, "p50") - med(r, "floor", 1, "p50")
    goal("HTTP c=1 p50, mlops-host − the floor", p50, "µs", "≤ 10", p50 <= 10)
    if 1 in native and 1 in inproc:
        d = inproc[1]["predict"]["p50"] - native[1]["p50"]
        goal("in process, 1 row, p50: mlops-host − native", d, "µs", "≤ 1.5", d <= 1.5)
    if 100000 in native and 100000 in inproc:
        x = inproc[100000]["predict"]["p50"] / native[100000]["p50"]
        goal("in process, 100,000 rows, p50: mlops-host / native", x, "×", "≤ 1.5", x <= 1.5)
    if 100000 in inproc:
        rate = decode_rate(r)
        goal("JSON decode, 100,000-row request, values per second on one core", rate / 1e6, " M/s",
             f"≥ {DECODE_GOAL / 1e6:.0f}", rate >= DECODE_GOAL)
    return out


def decode_rate(r):
    """Values per second the JSON decode of the 100,000-row request reaches
    (median decode time; the request has three columns)."""
    p = {p["rows"]: p for p in r["mlops_in_process"]["in_process"]}[100000]
    return 3 * p["rows"] / (p["phases"]["decode"]["p50"] / 1e6)


def us(v):
    return f"{v:,.0f} µs" if v >= 100 else f"{v:.1f} µs"


def spread_us(p):
    return f"{us(p['median'])} ({p['min']:,.0f}–{p['max']:,.0f})" if p["median"] >= 100 else \
        f"{us(p['median'])} ({p['min']:.1f}–{p['max']:.1f})"


def spread_rps(p):
    return f"{p['median']:,.0f} ({p['min'] / 1000:,.1f}k–{p['max'] / 1000:,.1f}k)"


def mib(kib):
    return f"{kib / 1024:,.0f}"


def table(r):
    m = r["machine"]
    lines = [
        f"Measured {r['date']} by `bench/compare.sh` on {m['cpu']} ({m['cpus']} cores, {m['memory']}), "
        f"{m['os']}; load generator wrk {m['wrk']}, on the same cores; 1-row request; "
        f"{m['seconds']} s per run, each point the median of {m['runs_per_point']} interleaved runs "
        f"(range in brackets); every server's answer checked against the fixture first, and a run "
        f"with a socket error or a non-2xx answer fails the benchmark.",
        "",
        "| | c=1 p50 | c=1 p99 | c=1 req/s | c=8 req/s | c=32 req/s | c=32 p99 | RSS / PSS after load, MiB | start → first prediction |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, name in CONTENDERS:
        h = r["http"][key]
        p = h["points"]
        mem = h["start"]["memory"]
        lines.append(
            f"| {name} | {spread_us(p['1']['p50'])} | {spread_us(p['1']['p99'])} | "
            f"{spread_rps(p['1']['requests_per_second'])} | {spread_rps(p['8']['requests_per_second'])} | "
            f"{spread_rps(p['32']['requests_per_second'])} | {spread_us(p['32']['p99'])} | "
            f"{mib(mem['rss_kib'])} / {mib(mem['pss_kib'])} | {h['start']['start_to_first_ms']:,.0f} ms |"
        )

    def ratio(a, b):
        return f"{a / b:.2f}×" if b else "—"

    lines += ["", "Each server against the floor (requests/s: above 1 is more; p50: the difference):", ""]
    lines += ["| | c=1 p50 − floor | c=1 req/s | c=8 req/s | c=32 req/s |", "|---|---|---|---|---|"]
    for key, name in CONTENDERS[1:]:
        lines.append(
            f"| {name} | {med(r, key, 1, 'p50') - med(r, 'floor', 1, 'p50'):+,.1f} µs | "
            + " | ".join(ratio(med(r, key, c, "requests_per_second"), med(r, "floor", c, "requests_per_second"))
                         for c in CONCURRENCY)
            + " |"
        )
    lines += ["", "mlops-host against each peer (below 1 is faster for latency, above 1 is more for throughput):", ""]
    lines += ["| peer | c=1 p50 | c=1 p99 | c=1 req/s | c=32 req/s | c=32 p99 | PSS |", "|---|---|---|---|---|---|---|"]
    for key, name in CONTENDERS[2:]:
        lines.append(
            f"| {name} | {ratio(med(r, 'mlops', 1, 'p50'), med(r, key, 1, 'p50'))} | "
            f"{ratio(med(r, 'mlops', 1, 'p99'), med(r, key, 1, 'p99'))} | "
            f"{ratio(med(r, 'mlops', 1, 'requests_per_second'), med(r, key, 1, 'requests_per_second'))} | "
            f"{ratio(med(r, 'mlops', 32, 'requests_per_second'), med(r, key, 32, 'requests_per_second'))} | "
            f"{ratio(med(r, 'mlops', 32, 'p99'), med(r, key, 32, 'p99'))} | "
            f"{ratio(r['http']['mlops']['start']['memory']['pss_kib'], r['http'][key]['start']['memory']['pss_kib'])} |"
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
    big = r["http_large"]
    bp = big["points"]

    def bmed(key, c, metric):
        return bp[key][str(c)][metric]["median"]

    lines += [
        "",
        f"Large batches over HTTP: {big['rows']:,} rows per request (three columns in, one out), "
        "the same wrk runs (one thread), rows per second = requests per second × rows:",
        "",
        "| | c=1 p50 | c=1 rows/s | c=2 rows/s | c=2 rows/s against the floor |",
        "|---|---|---|---|---|",
    ]
    for key, name in BIG:
        lines.append(
            f"| {name} | {spread_us(bp[key]['1']['p50'])} | "
            f"{bmed(key, 1, 'requests_per_second') * big['rows'] / 1e6:,.2f} M | "
            f"{bmed(key, 2, 'requests_per_second') * big['rows'] / 1e6:,.2f} M | "
            f"{ratio(bmed(key, 2, 'requests_per_second'), bmed('floor', 2, 'requests_per_second'))} |"
        )
    inbig = {p["rows"]: p for p in r["mlops_in_process"]["in_process"]}.get(100000)
    if inbig:
        ph = inbig["phases"]
        lines += [
            "",
            f"mlops-host against FastAPI at {big['rows']:,} rows: "
            f"{ratio(bmed('mlops', 1, 'requests_per_second'), bmed('fastapi', 1, 'requests_per_second'))} the rows/s at c=1, "
            f"{ratio(bmed('mlops', 2, 'requests_per_second'), bmed('fastapi', 2, 'requests_per_second'))} at c=2. "
            f"In process, the same request: JSON decode {us(ph['decode']['p50'])} "
            f"({decode_rate(r) / 1e6:,.1f} M values/s on one core), engine call {us(inbig['predict']['p50'])}, "
            f"JSON encode {us(ph['encode']['p50'])} (p50s).",
        ]
    cold = r["mlops_in_process"]["cold"]
    lines += [
        "",
        f"Cold: compiling the component {cold['compile_ms']:.0f} ms, loading it from the compile cache "
        f"{cold['cache_load_ms']:.2f} ms, instantiating and initialising {cold['instantiate_and_initialize_ms']:.2f} ms.",
        "",
        "Goals:",
        "",
    ]
    for g in r["goals"]:
        value = (f"{g['value']:.2f}{g['unit']}" if g["unit"] in ("×", " M/s")
                 else f"{g['value']:+.1f} {g['unit']}")
        unit = {"×": "", " M/s": " M/s"}.get(g["unit"], " " + g["unit"])
        lines.append(f"- {g['goal']}: {value} (goal {g['limit']}{unit}): "
                     f"{'met' if g['met'] else 'missed'}")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
