// A JavaScript model for the host's error-handling tests. The request is a
// JSON document whose `op` says what to do:
//
// - {"op": "ok"} → {"ok": true}
// - {"op": "model_error", "message": M} → ModelError bad-input M
// - {"op": "internal", "message": M} → ModelError internal M
// - {"op": "raise", "message": M} → a plain `TypeError(M)` (the SDK turns it
//   into an internal model error and logs its stack)
// - {"op": "loop"} → loops forever (for deadline tests)

import { exportModel, ModelError } from '../../../sdk/js/mlops-model.js';

class Probe {
  static inputs = 'json';
  static outputs = 'json';

  predict(data) {
    let request;
    try {
      request = JSON.parse(data);
    } catch (e) {
      throw ModelError.badInput(`not JSON: ${e.message}`);
    }
    const { op, message = '' } = request ?? {};
    switch (op) {
      case 'ok':
        return JSON.stringify({ ok: true });
      case 'model_error':
        throw ModelError.badInput(message);
      case 'internal':
        throw ModelError.internal(message);
      case 'raise':
        throw new TypeError(message);
      case 'loop':
        for (;;) {}
      default:
        throw ModelError.badInput(`unknown op ${JSON.stringify(op)}`);
    }
  }
}

export const prediction = exportModel(Probe);
