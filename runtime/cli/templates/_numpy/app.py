"""{{model_name}}: predicts y = slope·x + intercept, with numpy.

`slope` and `intercept` come from `artifacts/params.json`, read once in
`initialization`; `train` fits them to columns x and y by least squares and
writes a new `params.json` (served as a new artifact version). Whole columns
are numpy arrays (`frame.f64_array`, `Frame.from_array`): no Python loop per
row. numpy is built for the sandbox by numpy/build-numpy.sh (build.sh runs
it; the first build takes about 2 minutes, later ones reuse it). Edit
`inputs`/`outputs`, `predict` and `train` to make it your model;
`mlops_model` (the SDK, in ./mlops_model) documents the helpers.
"""

import json
import math

import numpy as np  # imported here, at the top: componentize-py links in what the module imports

import mlops_model
from mlops_model import Field, Frame, ModelError

ARTIFACT = "params.json"


class LinearModel(mlops_model.Model):
    # The columns the model reads and writes: the host checks requests
    # against them and reports them in the service's metadata.
    inputs = [Field.f64("x", "the input value")]
    outputs = [Field.f64("y", "slope·x + intercept")]

    def initialization(self, artifact_folder, secrets):
        # Runs once per sandbox instance: load artifacts here, not in predict.
        try:
            params = json.loads(mlops_model.read_artifact_text(artifact_folder, ARTIFACT))
            self.slope = float(params["slope"])
            self.intercept = float(params["intercept"])
        except (ValueError, TypeError, KeyError) as e:
            raise ModelError.bad_artifact(f"{ARTIFACT}: {type(e).__name__}: {e}") from None
        if not (math.isfinite(self.slope) and math.isfinite(self.intercept)):
            raise ModelError.bad_artifact(f"{ARTIFACT}: slope and intercept must be finite numbers")
        mlops_model.log.info("loaded params", slope=self.slope, intercept=self.intercept, numpy=np.__version__)

    def predict(self, frame, secrets):
        x = frame.f64_array("x")  # float64 array; a missing row holds 0.0
        valid = frame.valid_array("x")  # bool array, or None when no row is missing
        used = np.ones(x.shape, dtype=bool) if valid is None else valid
        bad = np.flatnonzero(used & ~np.isfinite(x))
        if bad.size:
            # bad-input: the caller sent something wrong and can fix it.
            raise ModelError.bad_input(f"row {bad[0]}: x must be a finite number")
        y = np.where(used, self.slope * x + self.intercept, 0.0)  # a missing input gives a missing output
        return Frame.from_array("y", y, valid=valid)

    def train(self, frame, folder_path, secrets):
        # Runs in an instance of its own (no initialization): fit, then write
        # the artifacts of the new version into folder_path.
        if not isinstance(frame, Frame):
            raise ModelError.bad_input("training reads columns x and y")
        for name in ("x", "y"):
            if not frame.all_valid(name):
                raise ModelError.bad_input(f"column `{name}` has missing rows: training needs complete rows")
        x, y = frame.f64_array("x"), frame.f64_array("y")
        if x.shape != y.shape or x.size < 2:
            raise ModelError.bad_input(f"need x and y of the same length, at least 2 rows (got {x.size} and {y.size})")
        dx = x - x.mean()
        sxx = float(dx @ dx)
        if not (math.isfinite(sxx) and sxx > 0.0):
            raise ModelError.bad_input("x must vary and be finite")
        slope = float(dx @ (y - y.mean())) / sxx
        intercept = float(y.mean()) - slope * float(x.mean())
        mlops_model.write_artifact(folder_path, ARTIFACT, json.dumps({"slope": slope, "intercept": intercept}))
        # Metadata stored with the new version.
        return {"rows": x.size, "slope": f"{slope:.4f}", "intercept": f"{intercept:.4f}"}


# componentize-py looks for `Prediction` and `Training` in this module.
Prediction = mlops_model.export(LinearModel)
Training = mlops_model.export_training(LinearModel)
