"""PorosityNet: total porosity PHIT = c0 + c1*DEN + c2*NEU (clipped to 0..1),
with the coefficients in coefficients.json."""

import json
import os

import numpy as np
from akerbp.mlops.core.logger import get_logger

from model_code.common.curves import as_floats, get_logs, well_name

logger = get_logger(__name__)

ARTIFACT = "coefficients.json"


class ModelException(Exception):
    pass


def initialization(artifact_folder, secrets):
    with open(os.path.join(artifact_folder, ARTIFACT)) as f:
        params = json.load(f)
    coefficients = np.asarray(params["coefficients"], dtype=np.float64)
    if coefficients.shape != (3,) or not np.all(np.isfinite(coefficients)):
        raise ModelException(f"{ARTIFACT}: need 3 finite coefficients, got {params['coefficients']}")
    logger.info(f"Loaded {ARTIFACT}: {coefficients.tolist()}")
    return {"coefficients": coefficients}


def predict(data, init_object, secrets):
    c = init_object["coefficients"]
    output = []
    for well in data["input"]:
        logs = get_logs(well, ["DEPTH", "DEN", "NEU"], ModelException)
        den = np.asarray(as_floats(logs["DEN"]))
        neu = np.asarray(as_floats(logs["NEU"]))
        x = np.column_stack([np.ones_like(den), den, neu])
        phit = np.clip(x.dot(c), 0.0, 1.0)  # a missing sample stays NaN
        output.append(
            {
                "well_name": well_name(well),
                "DEPTH": logs["DEPTH"],
                "PHIT": [None if np.isnan(v) else float(v) for v in phit],
            }
        )
    logger.info(f"Predicted PHIT for {len(output)} well(s)")
    return output
