"""A Python model for the host's error-handling tests. The request is a JSON
document whose `op` says what to do:

- `{"op": "ok"}` → `{"ok": true}`
- `{"op": "model_error", "message": M}` → ModelError bad-input M
- `{"op": "internal", "message": M}` → ModelError internal M
- `{"op": "raise", "message": M}` → a plain `RuntimeError(M)` (the SDK turns
  it into an internal model error and logs its traceback)
- `{"op": "loop"}` → loops forever (for deadline tests)

`train` takes `{"write_mb": N, "raise": bool, "escape": bool}`: writes N
files of 1 MiB into its folder, then raises a `RuntimeError` if asked; with
`escape` it first tries to write outside its folder (`/escape.txt` and
`<folder>/../escape.txt`) and reports what each attempt got in its metadata.
"""

import json

import mlops_model
from mlops_model import ModelError


class Probe(mlops_model.Model):
    inputs = "json"
    outputs = "json"

    def predict(self, data, secrets):
        try:
            request = json.loads(data)
        except ValueError as e:
            raise ModelError.bad_input(f"not JSON: {e}") from None
        op = request.get("op") if isinstance(request, dict) else None
        message = request.get("message", "") if isinstance(request, dict) else ""
        if op == "ok":
            return json.dumps({"ok": True})
        if op == "model_error":
            raise ModelError.bad_input(message)
        if op == "internal":
            raise ModelError.internal(message)
        if op == "raise":
            raise RuntimeError(message)
        if op == "loop":
            while True:
                pass
        raise ModelError.bad_input(f"unknown op {op!r}")


    def train(self, data, folder_path, secrets):
        try:
            request = json.loads(data)
        except ValueError as e:
            raise ModelError.bad_input(f"not JSON: {e}") from None
        metadata = {}
        if request.get("escape"):
            for key, path in (("root", "/escape.txt"), ("parent", f"{folder_path}/../escape.txt")):
                try:
                    with open(path, "w") as file:
                        file.write("out of the sandbox")
                    metadata[key] = "written"
                except OSError as e:
                    metadata[key] = f"refused: {type(e).__name__}"
        mb = int(request.get("write_mb", 1))
        block = bytes([7]) * (1 << 20)
        for i in range(mb):
            mlops_model.write_artifact(folder_path, f"part-{i}.bin", block)
        if request.get("raise"):
            raise RuntimeError(f"probe died after writing {mb} MiB")
        metadata["written_mb"] = mb
        return metadata


Prediction = mlops_model.export(Probe)
Training = mlops_model.export_training(Probe)
