"""The well_log example model in Python: predicts sonic slowness AC (µs/ft)
from ACS (µs/ft), RDEP (ohm·m) and DEN (g/cm³) with

    AC = c0 + c1·ACS + c2·ln(RDEP) + c3·DEN

reading the coefficients from `model.json` in the artifact folder. It matches
the Rust model in ../well_log (same artifact, same answers, same errors).
"""

import json
import math

import mlops_model
from mlops_model import Field, Frame, ModelError

ARTIFACT = "model.json"
FORMAT = "well-log-linear/1"
INPUTS = ("ACS", "RDEP", "DEN")


class WellLog(mlops_model.Model):
    inputs = [
        Field.f64("ACS", "shear slowness, µs/ft"),
        Field.f64("RDEP", "deep resistivity, ohm·m (> 0)"),
        Field.f64("DEN", "bulk density, g/cm³"),
    ]
    outputs = [Field.f64("AC", "sonic (compressional) slowness, µs/ft")]

    def initialization(self, artifact_folder, secrets):
        try:
            params = json.loads(mlops_model.read_artifact_text(artifact_folder, ARTIFACT))
            if params["format"] != FORMAT:
                raise ValueError(f"artifact format is `{params['format']}`, this model reads `{FORMAT}`")
            self.coefficients = [float(c) for c in params["coefficients"]]
            if len(self.coefficients) != 4:
                raise ValueError("`coefficients` must hold 4 numbers")
            bad = [c for c in self.coefficients if not math.isfinite(c)]
            if bad:
                raise ValueError(f"coefficient {bad[0]} is not a finite number")
            fit = params["training"]
        except KeyError as e:
            raise ModelError.bad_artifact(f"{ARTIFACT}: missing key {e}") from None
        except (ValueError, TypeError) as e:
            raise ModelError.bad_artifact(f"{ARTIFACT}: {e}") from None
        mlops_model.log.info(f"loaded {ARTIFACT} (fitted on {fit['rows']} rows, rmse {fit['rmse']:.3f} µs/ft)")

    def predict(self, frame, secrets):
        for name in INPUTS:  # every missing column is reported before a mistyped one
            frame.column(name)
        acs, rdep, den = (frame.f64(name) for name in INPUTS)
        if not len(acs) == len(rdep) == len(den):
            raise ModelError.bad_input(
                f"ACS, RDEP and DEN must have the same length (got {len(acs)}, {len(rdep)} and {len(den)})"
            )
        valid = frame.valid(*INPUTS)  # None: every row present
        c0, c1, c2, c3 = self.coefficients
        ac = [0.0] * len(acs)
        for row in range(len(acs)):
            if valid is not None and not valid[row]:
                continue
            a, r, d = acs[row], rdep[row], den[row]
            if not (math.isfinite(a) and math.isfinite(r) and math.isfinite(d)):
                raise ModelError.bad_input(f"row {row}: ACS, RDEP and DEN must be finite numbers")
            if r <= 0.0:
                raise ModelError.bad_input(f"row {row}: RDEP (deep resistivity, ohm·m) must be greater than 0")
            # Same operation order as the Rust model, so results agree to the bit.
            ac[row] = c0 + c1 * a + c2 * math.log(r) + c3 * d
        return Frame.from_f64("AC", ac, valid=valid)


Prediction = mlops_model.export(WellLog)
