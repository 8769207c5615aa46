"""Saves the example model as an MLflow pyfunc model (the same artifact and
formula), for `mlflow models serve`.

    python mlflow_model.py <model.json> <output dir>
"""

import json
import sys

import mlflow.pyfunc
import numpy as np
import pandas as pd


class WellLog(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["model"]) as f:
            self.c = json.load(f)["coefficients"]

    def predict(self, context, model_input, params=None):
        c0, c1, c2, c3 = self.c
        ac = c0 + c1 * model_input["ACS"] + c2 * np.log(model_input["RDEP"]) + c3 * model_input["DEN"]
        return pd.DataFrame({"AC": ac})


if __name__ == "__main__":
    mlflow.pyfunc.save_model(path=sys.argv[2], python_model=WellLog(), artifacts={"model": sys.argv[1]})
