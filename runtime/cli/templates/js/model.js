// {{model_name}}: predicts y = slope·x + intercept.
//
// `slope` and `intercept` come from `artifacts/params.json`, read once in
// `initialization`; `train` fits them to columns x and y by least squares
// and writes a new `params.json` (served as a new artifact version). Edit
// `inputs`/`outputs`, `predict` and `train` to make it your model;
// ./mlops-model.js (the SDK) documents the helpers.

import {
  exportModel,
  exportTraining,
  Field,
  Frame,
  log,
  ModelError,
  readArtifactText,
  writeArtifact,
} from './mlops-model.js';

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

  // Runs in an instance of its own (no initialization): fit, then write the
  // artifacts of the new version into folderPath.
  train(frame, folderPath, secrets) {
    if (!(frame instanceof Frame)) throw ModelError.badInput('training reads columns x and y');
    for (const name of ['x', 'y']) {
      if (!frame.allValid(name)) {
        throw ModelError.badInput(`column \`${name}\` has missing rows: training needs complete rows`);
      }
    }
    const [x, y] = [frame.f64('x'), frame.f64('y')];
    const n = x.length;
    if (n !== y.length || n < 2) {
      throw ModelError.badInput(`need x and y of the same length, at least 2 rows (got ${n} and ${y.length})`);
    }
    const sum = (values) => values.reduce((a, b) => a + b, 0);
    const meanX = sum(x) / n;
    const meanY = sum(y) / n;
    const sxx = sum(x.map((a) => (a - meanX) ** 2));
    if (!(Number.isFinite(sxx) && sxx > 0)) throw ModelError.badInput('x must vary and be finite');
    const slope = sum(x.map((a, i) => (a - meanX) * (y[i] - meanY))) / sxx;
    const intercept = meanY - slope * meanX;
    writeArtifact(folderPath, ARTIFACT, JSON.stringify({ slope, intercept }));
    // Metadata stored with the new version.
    return { rows: n, slope: slope.toFixed(4), intercept: intercept.toFixed(4) };
  }
}

// componentize-js looks for the `prediction` and `training` exports.
export const prediction = exportModel(LinearModel);
export const training = exportTraining(LinearModel);
