"""Turns what bench/languages.sh measured into
bench/results/languages/<date>.json and .md, and puts the table into
README.md between its languages markers.

    python3 bench/languages.py <measurements dir> <date>

Standard library only.
"""

import json
import os
import sys

LANGS = [
    ("rust", "Rust"),
    ("python", "Python (componentize-py)"),
    ("numpy", "Python + numpy (componentize-py)"),
    ("js", "JavaScript (componentize-js)"),
    ("c", "C (clang, wasi-libc)"),
    ("onnx", "ONNX (runner, tract)"),
]


def main(work, date):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    results = {"date": date, "langs": {}}
    for key, _ in LANGS:
        with open(os.path.join(work, f"{key}.json")) as f:
            run = json.load(f)
        with open(os.path.join(work, f"{key}.size")) as f:
            run["component_bytes"] = int(f.read())
        results["langs"][key] = run
        results["machine"] = run["machine"]
    large = {}
    for key in ("rust", "python", "numpy"):
        with open(os.path.join(work, f"{key}-100k.json")) as f:
            large[key] = json.load(f)
    with open(os.path.join(work, "numpy-native.json")) as f:
        native = json.load(f)
    results["rows_100000"] = {"sandbox": large, "numpy_native": native}

    def p50(run, rows):
        for r in run["in_process"]:
            if r["rows"] == rows:
                return r["end_to_end"]["p50"]
        raise KeyError(rows)

    lines = [
        f"Measured {date} on {results['machine']} by `bench/languages.sh`: the well-log model, "
        "one run per language (the cold compile is a single measurement).",
        "",
        "| language | component | compile (first deploy) | load from cache | instantiate + initialize | "
        "first call | predict, 1 row (p50) | predict, 1,000 rows (p50) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key, name in LANGS:
        run = results["langs"][key]
        cold = run["cold"]
        lines.append(
            f"| {name} | {run['component_bytes'] / 1e6:.1f} MB | {cold['compile_ms']:,.0f} ms | "
            f"{cold['cache_load_ms']:.1f} ms | {cold['instantiate_and_initialize_ms']:.1f} ms | "
            f"{cold['first_call_ms']:.2f} ms | {p50(run, 1):.1f} µs | {p50(run, 1000):,.0f} µs |"
        )
    def engine_p50(run, rows):
        for r in run["in_process"]:
            if r["rows"] == rows:
                return r["predict"]["p50"]
        raise KeyError(rows)

    native_ms = native["p50_ms"]
    lines += [
        "",
        "100,000 rows per call, p50. The engine call is what the sandbox adds to the model's own code: "
        "the columns carried in and out and the model's `predict` (no JSON; the whole call adds "
        "parsing the request and writing the answer). The same numpy model natively: CPython "
        f"{native['python']} and numpy {native['numpy']} from PyPI, `predict` from the SDK's frame to its "
        "output frame (`bench/numpy_native.py`).",
        "",
        "| | engine call | whole call (with JSON) | engine call against native numpy |",
        "|---|--:|--:|--:|",
    ]
    for key, name in (("rust", "Rust, sandbox"), ("python", "Python, sandbox"), ("numpy", "Python + numpy, sandbox")):
        engine_ms = engine_p50(large[key], 100000) / 1e3
        whole_ms = p50(large[key], 100000) / 1e3
        lines.append(f"| {name} | {engine_ms:,.1f} ms | {whole_ms:,.1f} ms | {engine_ms / native_ms:.2f}× |")
    lines.append(f"| Python + numpy, native | {native_ms:,.1f} ms | | 1.00× |")
    table = "\n".join(lines) + "\n"

    out = os.path.join(root, "bench", "results", "languages")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{date}.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, f"{date}.md"), "w") as f:
        f.write(table)

    readme_path = os.path.join(root, "README.md")
    with open(readme_path) as f:
        readme = f.read()
    start, end = "<!-- languages:start -->\n", "<!-- languages:end -->"
    if start not in readme or end not in readme:
        sys.exit("README.md has no languages markers")
    before, rest = readme.split(start, 1)
    after = rest.split(end, 1)[1]
    with open(readme_path, "w") as f:
        f.write(before + start + table + end + after)
    print(table)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
