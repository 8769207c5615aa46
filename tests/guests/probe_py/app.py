"""A Python model for the host's error-handling tests. The request is a JSON
document whose `op` says what to do:

- `{"op": "ok"}` → `{"ok": true}`
- `{"op": "model_error", "message": M}` → ModelError bad-input M
- `{"op": "internal", "message": M}` → ModelError internal M
- `{"op": "raise", "message": M}` → a plain `RuntimeError(M)` (the SDK turns
  it into an internal model error and logs its traceback)
- `{"op": "loop"}` → loops forever (for deadline tests)
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


Prediction = mlops_model.export(Probe)
