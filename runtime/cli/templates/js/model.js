// {{model_name}}: predicts y = slope·x + intercept.
//
// `slope` and `intercept` come from `artifacts/params.json`, read once in
// `initialization`. Edit `inputs`/`outputs` and `predict` to make it your
// model; ./mlops-model.js (the SDK) documents the helpers.

import { exportModel, Field, Frame, log, ModelError, readArtifactText } from './mlops-model.js';

const ARTIFACT = 'params.json';

class LinearModel {
  // The columns the model reads and writes: the host checks requests
  // against them and reports them in the service's metadata.
  static inputs = [Field.f64('x', 'the input value')];
  static outputs = [Field.f64('y', 'slope·x + intercept')];

  // Runs once per sandbox instance: load artifacts here, not in predict.
  initialization(artifactFolder, secrets) {
    let params;
    try {
      params = JSON.parse(readArtifactText(artifactFolder, ARTIFACT));
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw ModelError.badArtifact(`${ARTIFACT}: ${e.message}`);
    }
    if (!Number.isFinite(params?.slope) || !Number.isFinite(params?.intercept)) {
      throw ModelError.badArtifact(`${ARTIFACT}: slope and intercept must be finite numbers`);
    }
    this.slope = params.slope;
    this.intercept = params.intercept;
    log.info('loaded params', { slope: this.slope, intercept: this.intercept });
  }

  predict(frame, secrets) {
    const x = frame.f64('x'); // Float64Array; a missing row holds 0
    const valid = frame.valid('x'); // boolean[], or null when no row is missing
    const y = new Float64Array(x.length);
    for (let row = 0; row < x.length; row++) {
      if (valid && !valid[row]) continue; // a missing input gives a missing output
      if (!Number.isFinite(x[row])) {
        // bad-input: the caller sent something wrong and can fix it.
        throw ModelError.badInput(`row ${row}: x must be a finite number`);
      }
      y[row] = this.slope * x[row] + this.intercept;
    }
    return Frame.fromF64('y', y, valid ?? undefined);
  }
}

// componentize-js looks for the `prediction` export.
export const prediction = exportModel(LinearModel);
