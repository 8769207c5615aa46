"""The ONNX benchmark's Python side (bench/onnx.sh runs it).

    python onnx_bench.py prepare WORK   trains the model, exports it, writes the
                                  requests, and times the library's own
                                  predict and onnxruntime in-process
    python onnx_bench.py report WORK DATE
                                  gathers WORK's measurements into
                                  bench/results/onnx/DATE.{json,md} and the
                                  README table

The model: scikit-learn's GradientBoostingRegressor, 300 trees of depth 6, on
10 features of make_regression (seeded), exported with skl2onnx (float32).
"""

import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = (1, 10_000)


def timed(fn, repeats):
    fn()
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6


def prepare(work):
    import joblib
    import numpy as np
    import onnxruntime as ort
    import sklearn
    import skl2onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import make_regression
    from sklearn.ensemble import GradientBoostingRegressor

    X, y = make_regression(n_samples=20_000, n_features=10, noise=5.0, random_state=0)
    t = time.perf_counter()
    model = GradientBoostingRegressor(n_estimators=300, max_depth=6, random_state=0).fit(X[:10_000], y[:10_000])
    fit_s = time.perf_counter() - t
    onx = convert_sklearn(model, initial_types=[("X", FloatTensorType([None, 10]))], target_opset={"": 17, "ai.onnx.ml": 3})
    (work / "model.onnx").write_bytes(onx.SerializeToString())
    joblib.dump(model, work / "model.joblib")
    test = X[10_000:]
    for n in ROWS:
        data = {f"X_{j}": test[:n, j].tolist() for j in range(10)}
        (work / f"request-{n}.json").write_text(json.dumps({"data": data}))

    python = {"sklearn": sklearn.__version__, "skl2onnx": skl2onnx.__version__, "onnxruntime": ort.__version__,
              "python": platform.python_version(), "fit_seconds": round(fit_s, 1), "p50_us": {}}
    for threads, name in ((0, "onnxruntime"), (1, "onnxruntime_1_thread")):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(onx.SerializeToString(), options, providers=["CPUExecutionProvider"])
        for n in ROWS:
            x = test[:n].astype(np.float32)
            python["p50_us"][f"{name}_{n}"] = timed(lambda: session.run(None, {"X": x}), 50 if n > 1 else 3000)
    for n in ROWS:
        x = test[:n]
        python["p50_us"][f"sklearn_{n}"] = timed(lambda: model.predict(x), 20 if n > 1 else 1000)
    (work / "python.json").write_text(json.dumps(python, indent=1))


def fmt_us(us):
    if us is None:
        return "–"
    if us >= 10_000:
        return f"{us / 1000:,.1f} ms"
    if us >= 1000:
        return f"{us / 1000:,.2f} ms"
    return f"{us:,.1f} µs"


def report(work, date):
    python = json.loads((work / "python.json").read_text())
    machine = json.loads((work / "machine.json").read_text())
    bench = json.loads((work / "inproc.json").read_text())
    start = json.loads((work / "start.json").read_text())
    by_rows = {r["rows"]: r for r in bench["in_process"]}
    http = {}
    for who in ("mlops", "fastapi"):
        for n in ROWS:
            path = work / f"wrk-{who}-{n}.json"
            if path.exists():
                http[f"{who}_{n}"] = json.loads(path.read_text())
    p = python["p50_us"]
    rows = [
        ("scikit-learn `predict` (in Python, no server)", p["sklearn_1"], p["sklearn_10000"]),
        ("onnxruntime (in Python, default: 2 threads)", p["onnxruntime_1"], p["onnxruntime_10000"]),
        ("onnxruntime (in Python, 1 thread)", p["onnxruntime_1_thread_1"], p["onnxruntime_1_thread_10000"]),
        ("mlops-host in process: engine call (no JSON)", by_rows[1]["predict"]["p50"], by_rows[10_000]["predict"]["p50"]),
        ("mlops-host in process: JSON in, JSON out", by_rows[1]["end_to_end"]["p50"], by_rows[10_000]["end_to_end"]["p50"]),
        ("mlops-host over HTTP (wrk, 1 connection)", http["mlops_1"]["p50"], http["mlops_10000"]["p50"]),
        ("FastAPI + uvicorn + scikit-learn over HTTP (wrk, 1 connection)", http["fastapi_1"]["p50"], http["fastapi_10000"]["p50"]),
    ]
    ratio_10k = by_rows[10_000]["end_to_end"]["p50"] / p["onnxruntime_10000"]
    ratio_http = http["mlops_1"]["p50"] / http["fastapi_1"]["p50"]
    cold = bench["cold"]
    summary = {
        "date": date,
        "machine": machine,
        "python": python,
        "in_process": bench["in_process"],
        "cold": cold,
        "http": http,
        "serve": start,
        "ratios": {"mlops_in_process_10000_over_onnxruntime": ratio_10k, "mlops_http_1_over_fastapi": ratio_http},
    }
    out = ROOT / "bench" / "results" / "onnx"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{date}.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = [
        f"Measured {date} by `bench/onnx.sh` on {machine['cpu']} ({machine['cpus']} cores), {machine['os']}: "
        f"scikit-learn's GradientBoostingRegressor, 300 trees of depth 6 on 10 features, exported with skl2onnx "
        f"{python['skl2onnx']} (float32); onnxruntime {python['onnxruntime']}, scikit-learn {python['sklearn']}, "
        f"wrk {machine['wrk']} on the same cores, {machine['seconds']} s per HTTP point. p50 per call:",
        "",
        "| | 1 row | 10,000 rows |",
        "|---|--:|--:|",
    ]
    lines += [f"| {name} | {fmt_us(one)} | {fmt_us(many)} |" for name, one, many in rows]
    lines += [
        "",
        f"mlops-host in process (JSON included) over onnxruntime on 10,000 rows: {ratio_10k:.2f}× (goal ≤ 2×); "
        f"mlops-host over HTTP over FastAPI + scikit-learn on 1 row: {ratio_http:.3f}× (goal ≤ 0.2×). "
        f"The runner component: {start['component_kib'] / 1024:.1f} MB, compiled in {cold['compile_ms'] / 1000:.1f} s "
        f"on first use, loaded from the compile cache in {cold['cache_load_ms']:.1f} ms, instantiated and "
        f"initialised (graph read and prepared) in {cold['instantiate_and_initialize_ms']:.1f} ms; "
        f"`serve` with this model loaded: {start['memory']['rss_kib'] / 1024:.0f} MiB resident.",
        "",
    ]
    table = "\n".join(lines)
    (out / f"{date}.md").write_text(table)
    readme = ROOT / "README.md"
    text = readme.read_text()
    begin, end = "<!-- onnx:start -->\n", "<!-- onnx:end -->"
    if begin not in text or end not in text:
        sys.exit("README.md has no <!-- onnx:start --> / <!-- onnx:end --> markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(head + begin + table + end + tail)


def main():
    if sys.argv[1] == "prepare":
        prepare(Path(sys.argv[2]))
    elif sys.argv[1] == "report":
        report(Path(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
