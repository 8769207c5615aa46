"""The well_log example model in Python: predicts sonic slowness AC (µs/ft)
from ACS (µs/ft), RDEP (ohm·m) and DEN (g/cm³) with

    AC = c0 + c1·ACS + c2·ln(RDEP) + c3·DEN

reading the coefficients from `model.json` in the artifact folder; `train`
fits them by ordinary least squares and writes a new `model.json`. It matches
the Rust model in ../well_log (same artifact, same answers, same errors, and
the same coefficients from the same training data: the same arithmetic in
the same order).
"""

import json
import math

import mlops_model
from mlops_model import Field, Frame, ModelError

ARTIFACT = "model.json"
FORMAT = "well-log-linear/1"
INPUTS = ("ACS", "RDEP", "DEN")
TRAINING = ("ACS", "RDEP", "DEN", "AC")


def invalid_row(acs, rdep, den):
    """Why a row cannot be used, or None when it can."""
    if not (math.isfinite(acs) and math.isfinite(rdep) and math.isfinite(den)):
        return "ACS, RDEP and DEN must be finite numbers"
    if rdep <= 0.0:
        return "RDEP (deep resistivity, ohm·m) must be greater than 0"
    return None


def predict_row(c, acs, rdep, den):
    return c[0] + c[1] * acs + c[2] * math.log(rdep) + c[3] * den


def solve(a, b):
    """Solves a 4×4 system by Gaussian elimination with partial pivoting
    (the Rust model's order of operations), or None when it is singular."""
    a = [row[:] for row in a]
    b = b[:]
    for col in range(4):
        pivot = col
        for i in range(col + 1, 4):  # the last of equal magnitudes, as Rust's max_by
            if abs(a[i][col]) >= abs(a[pivot][col]):
                pivot = i
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        b[col], b[pivot] = b[pivot], b[col]
        pivot_row = a[col][:]
        for row in range(col + 1, 4):
            factor = a[row][col] / pivot_row[col]
            for k in range(col, 4):
                a[row][k] -= factor * pivot_row[k]
            b[row] -= factor * b[col]
    x = [0.0] * 4
    for row in (3, 2, 1, 0):
        tail = -0.0
        for k in range(row + 1, 4):
            tail += a[row][k] * x[k]
        x[row] = (b[row] - tail) / a[row][row]
    return x


def fit(acs, rdep, den, ac):
    """Fits the coefficients by ordinary least squares (normal equations);
    returns the content of `model.json`. Raises ValueError saying what is
    wrong with the data. Sums run left to right, like Rust's (Python's
    `sum` compensates, which would change the last bits)."""
    rows = len(ac)
    if not len(acs) == len(rdep) == len(den) == rows:
        raise ValueError("ACS, RDEP, DEN and AC must have the same length")
    if rows < 8:
        raise ValueError(f"need at least 8 rows to fit, got {rows}")
    xtx = [[0.0] * 4 for _ in range(4)]
    xty = [0.0] * 4
    for i in range(rows):
        why = invalid_row(acs[i], rdep[i], den[i])
        if why:
            raise ValueError(f"row {i}: {why}")
        x = (1.0, acs[i], math.log(rdep[i]), den[i])
        for a in range(4):
            xty[a] += x[a] * ac[i]
            for b in range(4):
                xtx[a][b] += x[a] * x[b]
    coefficients = solve(xtx, xty)
    if coefficients is None:
        raise ValueError("the training data do not determine the fit")
    total = -0.0
    for value in ac:
        total += value
    mean = total / rows
    sse, sst = 0.0, 0.0
    for i in range(rows):
        residual = ac[i] - predict_row(coefficients, acs[i], rdep[i], den[i])
        sse += residual * residual
        sst += (ac[i] - mean) * (ac[i] - mean)
    return {
        "format": FORMAT,
        "terms": ["1", "ACS", "ln(RDEP)", "DEN"],
        "coefficients": coefficients,
        "training": {"rows": rows, "rmse": math.sqrt(sse / rows), "r2": 1.0 - sse / sst},
    }


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
            why = invalid_row(a, r, d)
            if why:
                raise ModelError.bad_input(f"row {row}: {why}")
            # Same operation order as the Rust model, so results agree to the bit.
            ac[row] = c0 + c1 * a + c2 * math.log(r) + c3 * d
        return Frame.from_f64("AC", ac, valid=valid)

    def train(self, frame, folder_path, secrets):
        if not isinstance(frame, Frame):
            raise ModelError.bad_input("training reads columns: send `data` as an object of named columns")
        for name in TRAINING:
            if not frame.all_valid(name):
                raise ModelError.bad_input(f"column `{name}` has missing rows: training needs complete rows")
        try:
            params = fit(*(frame.f64(name) for name in TRAINING))
        except ValueError as e:
            raise ModelError.bad_input(str(e)) from None
        mlops_model.write_artifact(folder_path, ARTIFACT, json.dumps(params, indent=2) + "\n")
        fit_ = params["training"]
        return {"rows": fit_["rows"], "rmse": f"{fit_['rmse']:.4f}", "r2": f"{fit_['r2']:.4f}"}


Prediction = mlops_model.export(WellLog)
Training = mlops_model.export_training(WellLog)
