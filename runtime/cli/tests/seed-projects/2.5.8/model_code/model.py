"""sonic_ac: sonic slowness AC (us/ft) from ACS, RDEP and DEN, per well.

AC = c0 + c1*ACS + c2*ln(RDEP) + c3*DEN, coefficients in model.json.
"""

import json
import os

from akerbp.mlops.core import logger

import model_code.helper
from model_code.helper import features, is_missing

logging = logger.get_logger("sonic_ac")

ARTIFACT = "model.json"
REQUIRED = ["ACS", "RDEP", "DEN"]


class ModelException(Exception):
    pass


def initialization(artifact_folder, secrets):
    with open(os.path.join(artifact_folder, ARTIFACT)) as f:
        params = json.load(f)
    if len(params.get("coefficients", [])) != 4:
        raise ModelException(f"{ARTIFACT} must hold 4 coefficients")
    logging.info(f"Loaded {ARTIFACT}, trained on {', '.join(params['trained_on'])}")
    return params


def _logs(well, curves):
    logs = well.get("input_logs") or {}
    missing = [c for c in curves if c not in logs]
    if missing:
        raise ModelException(f"Well {well.get('well')}: missing curve(s) {', '.join(missing)}")
    lengths = {len(logs[c]) for c in curves}
    if len(lengths) != 1:
        raise ModelException(f"Well {well.get('well')}: curves differ in length")
    return logs


def predict(data, init_object, secrets):
    c = init_object["coefficients"]
    output = []
    for well in data["input"]:
        logs = _logs(well, REQUIRED + ["DEPTH"])
        ac = []
        for acs, rdep, den in zip(logs["ACS"], logs["RDEP"], logs["DEN"]):
            if is_missing(acs) or is_missing(rdep) or is_missing(den):
                ac.append(None)
                continue
            if rdep <= 0:
                raise ModelException(f"Well {well['well']}: RDEP must be greater than 0, got {rdep}")
            x = features(acs, rdep, den)
            ac.append(sum(ci * xi for ci, xi in zip(c, x)))
        logging.info(f"Predicted AC for well {well['well']} ({len(ac)} samples)")
        output.append({"well": well["well"], "DEPTH": logs["DEPTH"], "AC": ac})
    return output


def train(data, folder_path, secrets):
    xtx = [[0.0] * 4 for _ in range(4)]
    xty = [0.0] * 4
    rows, wells = 0, []
    for well in data["input"]:
        logs = _logs(well, REQUIRED + ["AC"])
        wells.append(well["well"])
        for acs, rdep, den, ac in zip(logs["ACS"], logs["RDEP"], logs["DEN"], logs["AC"]):
            if any(is_missing(v) for v in (acs, rdep, den, ac)) or rdep <= 0:
                continue
            x = features(acs, rdep, den)
            for i in range(4):
                xty[i] += x[i] * ac
                for j in range(4):
                    xtx[i][j] += x[i] * x[j]
            rows += 1
    if rows < 4:
        raise ModelException(f"Need at least 4 complete samples to train, got {rows}")
    try:
        coefficients = model_code.helper.solve(xtx, xty)
    except ValueError as e:
        raise ModelException(f"Cannot fit: {e}")
    params = {"terms": ["1", "ACS", "ln(RDEP)", "DEN"], "coefficients": coefficients, "trained_on": wells}
    with open(os.path.join(folder_path, ARTIFACT), "w") as f:
        json.dump(params, f, indent=2)
    logging.info(f"Trained on {rows} samples from {len(wells)} well(s)")
    return {"rows": rows, "wells": ",".join(wells)}
