"""The example model served the way many teams would: FastAPI + uvicorn,
numpy, a pydantic request model. Same artifact (MODEL_JSON), same formula
and same response envelope as mlops-host."""

import json
import os
from typing import Dict, List, Optional

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

with open(os.environ["MODEL_JSON"]) as f:
    C0, C1, C2, C3 = json.load(f)["coefficients"]

app = FastAPI()


class Request(BaseModel):
    data: Dict[str, List[Optional[float]]]
    to_file: bool = False


@app.post("/services/well_log-prediction-dev/call")
def call(req: Request):
    acs = np.asarray(req.data["ACS"], dtype=float)
    rdep = np.asarray(req.data["RDEP"], dtype=float)
    den = np.asarray(req.data["DEN"], dtype=float)
    ac = C0 + C1 * acs + C2 * np.log(rdep) + C3 * den
    # A missing input (null) gives a missing output, as mlops-host answers.
    out = ac.tolist()
    for i in np.flatnonzero(np.isnan(ac)):
        out[i] = None
    return {"status": "ok", "prediction": {"AC": out}, "prediction_file": None, "model_id": "well_log/dev/1"}
