"""A scikit-learn model served the way many teams would: FastAPI + uvicorn,
a pydantic request model, the library's own predict. The model is the
joblib file in MODEL_JOBLIB; columns X_0 … X_{n-1} as mlops-host takes
them; the same response envelope."""

import os
from typing import Dict, List

import joblib
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

MODEL = joblib.load(os.environ["MODEL_JOBLIB"])
COLUMNS = [f"X_{j}" for j in range(MODEL.n_features_in_)]

app = FastAPI()


class Request(BaseModel):
    data: Dict[str, List[float]]
    to_file: bool = False


@app.post("/services/gbr-prediction-dev/call")
def call(req: Request):
    x = np.column_stack([np.asarray(req.data[c], dtype=float) for c in COLUMNS])
    y = MODEL.predict(x)
    return {"status": "ok", "prediction": {"variable": y.tolist()}, "prediction_file": None, "model_id": "gbr/dev/1"}
