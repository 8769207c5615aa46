"""Runs a Python model's `predict` natively (CPython + numpy from PyPI), to
compare with the same code in the sandbox: the model module is imported
with the Python SDK (sdk/python/mlops_model) over stand-ins for the
bindings componentize-py generates (plain records: what the SDK reads and
builds), the request's rows are repeated to `rows`, and `predict` is timed
from the SDK's frame (lists, as the bindings hand them over) to its output
frame. Prints JSON: {"rows", "samples", "p50_ms", "min_ms", "python", "numpy"}.

    python bench/numpy_native.py <model folder> <request.json> <rows> [samples]
"""

import importlib
import json
import math
import os
import platform
import statistics
import sys
import time
import types


class _Enum:
    """`DataType.F64`, `ErrorKind.BAD_INPUT`…: the member's name."""

    def __getattr__(self, name):
        return name


class _Record:
    def __init__(self, *args, **fields):
        if args:
            self.value = args[0]
        self.__dict__.update(fields)


def _bindings():
    """The modules the SDK imports from componentize-py's output."""
    records = {}

    def record(name):
        if name not in records:
            records[name] = type(name, (_Record,), {})
        return records[name]

    wit_types = types.ModuleType("wit_world.imports.types")
    wit_types.__getattr__ = lambda name: _Enum() if name in ("DataType", "ErrorKind") else record(name)
    logging = types.ModuleType("wit_world.imports.logging")
    logging.Level = _Enum()
    logging.log = lambda level, message, fields: None
    imports = types.ModuleType("wit_world.imports")
    imports.types, imports.logging = wit_types, logging
    world = types.ModuleType("wit_world")
    world.imports = imports
    cpt = types.ModuleType("componentize_py_types")
    cpt.Err = type("Err", (Exception,), {})
    sys.modules.update({
        "wit_world": world, "wit_world.imports": imports, "wit_world.imports.types": wit_types,
        "wit_world.imports.logging": logging, "componentize_py_types": cpt,
    })
    return wit_types


def main():
    folder, request, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    samples = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    wit = _bindings()
    sys.path[:0] = [os.path.abspath(folder), os.path.join(root, "sdk", "python")]
    app = importlib.import_module("app")
    import numpy
    import mlops_model

    data = json.load(open(request))["data"]
    columns = []
    for name, values in data.items():
        repeated = [values[i % len(values)] for i in range(rows)]
        present = [v is not None for v in repeated]
        filled = [0.0 if v is None else float(v) for v in repeated]
        bits = None
        if not all(present):
            bits = bytearray((rows + 7) // 8)
            for i, p in enumerate(present):
                if p:
                    bits[i // 8] |= 1 << (i % 8)
            bits = bytes(bits)
        columns.append(wit.Column(name=name, data=wit.ColumnData_F64(filled), validity=bits))
    frame = mlops_model.Frame(columns)
    model_class = next(v for v in vars(app).values()
                       if isinstance(v, type) and issubclass(v, mlops_model.Model) and v is not mlops_model.Model)
    model = model_class()
    model.initialization(os.path.join(root, "examples", "well_log", "artifacts"), {})
    times = []
    for i in range(samples + max(1, samples // 10)):
        start = time.perf_counter()
        out = model.predict(frame, {})
        elapsed = time.perf_counter() - start
        if i >= max(1, samples // 10):
            times.append(elapsed * 1e3)
    ac = out.columns[0].data.value
    assert len(ac) == rows and all(math.isfinite(v) for v in ac)
    print(json.dumps({
        "rows": rows, "samples": samples, "p50_ms": statistics.median(times), "min_ms": min(times),
        "python": platform.python_version(), "numpy": numpy.__version__,
    }))


if __name__ == "__main__":
    main()
