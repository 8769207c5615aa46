// The well_log example model in JavaScript: predicts sonic slowness AC
// (µs/ft) from ACS (µs/ft), RDEP (ohm·m) and DEN (g/cm³) with
//
//     AC = c0 + c1·ACS + c2·ln(RDEP) + c3·DEN
//
// reading the coefficients from `model.json` in the artifact folder. It
// matches the Rust model in ../well_log (same artifact, answers and errors).

import { exportModel, Field, Frame, log, ModelError, readArtifactText } from '../../sdk/js/mlops-model.js';

const ARTIFACT = 'model.json';
const FORMAT = 'well-log-linear/1';
const INPUTS = ['ACS', 'RDEP', 'DEN'];

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
      if (!(Number.isFinite(a) && Number.isFinite(r) && Number.isFinite(d))) {
        throw ModelError.badInput(`row ${row}: ACS, RDEP and DEN must be finite numbers`);
      }
      if (r <= 0) throw ModelError.badInput(`row ${row}: RDEP (deep resistivity, ohm·m) must be greater than 0`);
      // Same operation order as the Rust model.
      ac[row] = c0 + c1 * a + c2 * Math.log(r) + c3 * d;
    }
    return Frame.fromF64('AC', ac, valid ?? undefined);
  }
}

export const prediction = exportModel(WellLog);
