"""The well_log example model in Python with numpy: predicts sonic slowness
AC (µs/ft) from ACS (µs/ft), RDEP (ohm·m) and DEN (g/cm³) with

    AC = c0 + c1·ACS + c2·ln(RDEP) + c3·DEN

on whole columns (numpy arrays, no Python loop per row), reading the
coefficients from `model.json` in the artifact folder. It gives the Rust
model's answers to the bit (../well_log): the same operations in the same
order, and numpy's `log` on this target is the C library's, as Python's
`math.log` is.
"""

import json

import numpy as np

import mlops_model
from mlops_model import Field, Frame, ModelError

ARTIFACT = "model.json"
FORMAT = "well-log-linear/1"
INPUTS = ("ACS", "RDEP", "DEN")


class WellLogNumpy(mlops_model.Model):
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
            coefficients = np.array(params["coefficients"], dtype=np.float64)
            if coefficients.shape != (4,):
                raise ValueError("`coefficients` must hold 4 numbers")
            if not np.isfinite(coefficients).all():
                bad = coefficients[~np.isfinite(coefficients)][0]
                raise ValueError(f"coefficient {bad} is not a finite number")
            fit = params["training"]
        except KeyError as e:
            raise ModelError.bad_artifact(f"{ARTIFACT}: missing key {e}") from None
        except (ValueError, TypeError) as e:
            raise ModelError.bad_artifact(f"{ARTIFACT}: {e}") from None
        # Python floats: numpy then multiplies each array by a scalar, as Rust does per row.
        self.c0, self.c1, self.c2, self.c3 = (float(c) for c in coefficients)
        mlops_model.log.info(
            f"loaded {ARTIFACT} (fitted on {fit['rows']} rows, rmse {fit['rmse']:.3f} µs/ft), numpy {np.__version__}"
        )

    def predict(self, frame, secrets):
        for name in INPUTS:  # every missing column is reported before a mistyped one
            frame.column(name)
        acs, rdep, den = (frame.f64_array(name) for name in INPUTS)
        if not len(acs) == len(rdep) == len(den):
            raise ModelError.bad_input(
                f"ACS, RDEP and DEN must have the same length (got {len(acs)}, {len(rdep)} and {len(den)})"
            )
        valid = frame.valid_array(*INPUTS)  # None: every row present
        used = np.ones(len(acs), dtype=np.bool_) if valid is None else valid
        finite = np.isfinite(acs) & np.isfinite(rdep) & np.isfinite(den)
        bad = used & (~finite | (rdep <= 0.0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            if not finite[row]:
                raise ModelError.bad_input(f"row {row}: ACS, RDEP and DEN must be finite numbers")
            raise ModelError.bad_input(f"row {row}: RDEP (deep resistivity, ohm·m) must be greater than 0")
        # Missing rows: log(1) instead of log(placeholder), then 0 like the others.
        ln_rdep = np.log(np.where(used, rdep, 1.0))
        ac = self.c0 + self.c1 * acs + self.c2 * ln_rdep + self.c3 * den
        ac[~used] = 0.0
        return Frame.from_array("AC", ac, valid=valid)


Prediction = mlops_model.export(WellLogNumpy)
