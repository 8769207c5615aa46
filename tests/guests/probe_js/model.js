// A JavaScript model for the host's error-handling tests. The request is a
// JSON document whose `op` says what to do:
//
// - {"op": "ok"} → {"ok": true}
// - {"op": "model_error", "message": M} → ModelError bad-input M
// - {"op": "internal", "message": M} → ModelError internal M
// - {"op": "raise", "message": M} → a plain `TypeError(M)` (the SDK turns it
//   into an internal model error and logs its stack)
// - {"op": "loop"} → loops forever (for deadline tests)
//
// `train` takes {"write_mb": N, "raise": bool, "escape": bool}: writes N
// files of 1 MiB into its folder, then throws a `TypeError` if asked; with
// `escape` it first tries to write outside its folder (`../escape.txt`
// through the preopened folder, and `/escape.txt`) and reports what each
// attempt got in its metadata.

import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { exportModel, exportTraining, ModelError, writeArtifact } from '../../../sdk/js/mlops-model.js';

// Tries to create `path` relative to the preopened folder `dir`.
function tryWrite(dir, path) {
  try {
    const file = dir.openAt({}, path, { create: true }, { write: true });
    file.write(new TextEncoder().encode('out of the sandbox'), 0n);
    return 'written';
  } catch (e) {
    return `refused: ${e?.payload ?? e}`;
  }
}

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

  train(data, folderPath) {
    let request;
    try {
      request = JSON.parse(data);
    } catch (e) {
      throw ModelError.badInput(`not JSON: ${e.message}`);
    }
    const metadata = {};
    if (request.escape) {
      const preopens = getDirectories();
      const output = preopens.find(([, mount]) => mount === folderPath);
      metadata.parent = output ? tryWrite(output[0], '../escape.txt') : 'no preopen';
      const root = preopens.find(([, mount]) => mount === '/');
      metadata.root = root ? tryWrite(root[0], 'escape.txt') : 'refused: no preopen for /';
    }
    const mb = Number(request.write_mb ?? 1);
    const block = new Uint8Array(1 << 20).fill(7);
    for (let i = 0; i < mb; i++) writeArtifact(folderPath, `part-${i}.bin`, block);
    if (request.raise) throw new TypeError(`probe died after writing ${mb} MiB`);
    metadata.written_mb = mb;
    return metadata;
  }
}

export const prediction = exportModel(Probe);
export const training = exportTraining(Probe);
