// The well_log example model in JavaScript: predicts sonic slowness AC
// (µs/ft) from ACS (µs/ft), RDEP (ohm·m) and DEN (g/cm³) with
//
//     AC = c0 + c1·ACS + c2·ln(RDEP) + c3·DEN
//
// reading the coefficients from `model.json` in the artifact folder; `train`
// fits them by ordinary least squares and writes a new `model.json`. It
// matches the Rust model in ../well_log (same artifact, answers and errors,
// and the same coefficients from the same training data: the same
// arithmetic in the same order).

import {
  exportModel,
  exportTraining,
  Field,
  Frame,
  log,
  ModelError,
  readArtifactText,
  writeArtifact,
} from '../../sdk/js/mlops-model.js';

const ARTIFACT = 'model.json';
const FORMAT = 'well-log-linear/1';
const INPUTS = ['ACS', 'RDEP', 'DEN'];
const TRAINING = ['ACS', 'RDEP', 'DEN', 'AC'];

// Why a row cannot be used, or null when it can.
function invalidRow(acs, rdep, den) {
  if (!(Number.isFinite(acs) && Number.isFinite(rdep) && Number.isFinite(den))) {
    return 'ACS, RDEP and DEN must be finite numbers';
  }
  if (rdep <= 0) return 'RDEP (deep resistivity, ohm·m) must be greater than 0';
  return null;
}

// Solves a 4×4 system by Gaussian elimination with partial pivoting (the
// Rust model's order of operations); null when it is singular.
function solve(matrix, rhs) {
  const a = matrix.map((row) => row.slice());
  const b = rhs.slice();
  for (let col = 0; col < 4; col++) {
    let pivot = col;
    // The last of equal magnitudes, as Rust's max_by.
    for (let i = col + 1; i < 4; i++) if (Math.abs(a[i][col]) >= Math.abs(a[pivot][col])) pivot = i;
    if (Math.abs(a[pivot][col]) < 1e-12) return null;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    [b[col], b[pivot]] = [b[pivot], b[col]];
    const pivotRow = a[col].slice();
    for (let row = col + 1; row < 4; row++) {
      const factor = a[row][col] / pivotRow[col];
      for (let k = col; k < 4; k++) a[row][k] -= factor * pivotRow[k];
      b[row] -= factor * b[col];
    }
  }
  const x = [0, 0, 0, 0];
  for (let row = 3; row >= 0; row--) {
    let tail = -0;
    for (let k = row + 1; k < 4; k++) tail += a[row][k] * x[k];
    x[row] = (b[row] - tail) / a[row][row];
  }
  return x;
}

// Fits the coefficients by ordinary least squares (normal equations) and
// returns the content of model.json; throws a bad-input error saying what
// is wrong with the data.
function fit(acs, rdep, den, ac) {
  const rows = ac.length;
  if (acs.length !== rows || rdep.length !== rows || den.length !== rows) {
    throw ModelError.badInput('ACS, RDEP, DEN and AC must have the same length');
  }
  if (rows < 8) throw ModelError.badInput(`need at least 8 rows to fit, got ${rows}`);
  const xtx = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
  const xty = [0, 0, 0, 0];
  for (let i = 0; i < rows; i++) {
    const why = invalidRow(acs[i], rdep[i], den[i]);
    if (why) throw ModelError.badInput(`row ${i}: ${why}`);
    const x = [1, acs[i], Math.log(rdep[i]), den[i]];
    for (let a = 0; a < 4; a++) {
      xty[a] += x[a] * ac[i];
      for (let b = 0; b < 4; b++) xtx[a][b] += x[a] * x[b];
    }
  }
  const c = solve(xtx, xty);
  if (!c) throw ModelError.badInput('the training data do not determine the fit');
  let total = -0;
  for (let i = 0; i < rows; i++) total += ac[i];
  const mean = total / rows;
  let sse = 0;
  let sst = 0;
  for (let i = 0; i < rows; i++) {
    const residual = ac[i] - (c[0] + c[1] * acs[i] + c[2] * Math.log(rdep[i]) + c[3] * den[i]);
    sse += residual * residual;
    sst += (ac[i] - mean) * (ac[i] - mean);
  }
  return {
    format: FORMAT,
    terms: ['1', 'ACS', 'ln(RDEP)', 'DEN'],
    coefficients: c,
    training: { rows, rmse: Math.sqrt(sse / rows), r2: 1 - sse / sst },
  };
}

// Checks the parsed artifact; returns why it is unusable, or null.
function problem(params) {
  if (params?.format !== FORMAT) return `artifact format is \`${params?.format}\`, this model reads \`${FORMAT}\``;
  const c = params.coefficients;
  if (!Array.isArray(c) || c.length !== 4) return '`coefficients` must hold 4 numbers';
  const bad = c.find((v) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad !== undefined) return `coefficient ${bad} is not a finite number`;
  return null;
}

class WellLog {
  static inputs = [
    Field.f64('ACS', 'shear slowness, µs/ft'),
    Field.f64('RDEP', 'deep resistivity, ohm·m (> 0)'),
    Field.f64('DEN', 'bulk density, g/cm³'),
  ];
  static outputs = [Field.f64('AC', 'sonic (compressional) slowness, µs/ft')];

  initialization(artifactFolder) {
    let params;
    try {
      params = JSON.parse(readArtifactText(artifactFolder, ARTIFACT));
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw ModelError.badArtifact(`${ARTIFACT}: ${e.message}`);
    }
    const why = problem(params);
    if (why) throw ModelError.badArtifact(`${ARTIFACT}: ${why}`);
    this.coefficients = params.coefficients;
    const { rows, rmse } = params.training ?? {};
    log.info(`loaded ${ARTIFACT} (fitted on ${rows} rows, rmse ${Number(rmse).toFixed(3)} µs/ft)`);
  }

  predict(frame) {
    for (const name of INPUTS) frame.column(name); // every missing column is reported before a mistyped one
    const [acs, rdep, den] = INPUTS.map((name) => frame.f64(name));
    if (rdep.length !== acs.length || den.length !== acs.length) {
      throw ModelError.badInput(
        `ACS, RDEP and DEN must have the same length (got ${acs.length}, ${rdep.length} and ${den.length})`,
      );
    }
    const valid = frame.valid(...INPUTS); // null: every row present
    const [c0, c1, c2, c3] = this.coefficients;
    const ac = new Float64Array(acs.length);
    for (let row = 0; row < acs.length; row++) {
      if (valid && !valid[row]) continue;
      const [a, r, d] = [acs[row], rdep[row], den[row]];
      const why = invalidRow(a, r, d);
      if (why) throw ModelError.badInput(`row ${row}: ${why}`);
      // Same operation order as the Rust model.
      ac[row] = c0 + c1 * a + c2 * Math.log(r) + c3 * d;
    }
    return Frame.fromF64('AC', ac, valid ?? undefined);
  }

  train(frame, folderPath) {
    if (!(frame instanceof Frame)) {
      throw ModelError.badInput('training reads columns: send `data` as an object of named columns');
    }
    for (const name of TRAINING) {
      if (!frame.allValid(name)) {
        throw ModelError.badInput(`column \`${name}\` has missing rows: training needs complete rows`);
      }
    }
    const params = fit(...TRAINING.map((name) => frame.f64(name)));
    writeArtifact(folderPath, ARTIFACT, `${JSON.stringify(params, null, 2)}\n`);
    const { rows, rmse, r2 } = params.training;
    return { rows, rmse: rmse.toFixed(4), r2: r2.toFixed(4) };
  }
}

export const prediction = exportModel(WellLog);
export const training = exportTraining(WellLog);
