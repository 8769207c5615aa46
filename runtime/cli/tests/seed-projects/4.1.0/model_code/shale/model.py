"""shale_volume: shale volume VSH from GR, the linear gamma-ray index

    VSH = (GR - gr_clean) / (gr_shale - gr_clean), clipped to 0..1 unless
    the well's keyword_arguments say {"clip": false};

gr_clean and gr_shale (gr_limits.json) are GR's 5th and 95th percentiles in
the training wells."""

import json
import math
import os

from akerbp.mlops.core import logger

from model_code.common import curves

logging = logger.get_logger("shale_volume")

ARTIFACT = "gr_limits.json"


class ModelException(Exception):
    pass


def initialization(artifact_folder, secrets):
    with open(os.path.join(artifact_folder, ARTIFACT)) as f:
        limits = json.load(f)
    if not limits["gr_shale"] > limits["gr_clean"]:
        raise ModelException(f"{ARTIFACT}: gr_shale must be above gr_clean")
    return limits


def predict(data, init_object, secrets):
    lo, hi = init_object["gr_clean"], init_object["gr_shale"]
    output = []
    for well in data["input"]:
        logs = curves.get_logs(well, ["DEPTH", "GR"], ModelException)
        clip = (well.get("keyword_arguments") or {}).get("clip", True)
        vsh = []
        for gr in logs["GR"]:
            if curves.is_missing(gr):
                vsh.append(None)
                continue
            v = (gr - lo) / (hi - lo)
            vsh.append(min(1.0, max(0.0, v)) if clip else v)
        output.append({"well_name": curves.well_name(well), "DEPTH": logs["DEPTH"], "VSH": vsh})
    return output


def percentile(sorted_values, p):
    k = (len(sorted_values) - 1) * p / 100.0
    f, c = math.floor(k), math.ceil(k)
    return sorted_values[f] + (sorted_values[c] - sorted_values[f]) * (k - f)


def train(data, folder_path, secrets):
    grs = []
    for well in data["input"]:
        logs = curves.get_logs(well, ["GR"], ModelException)
        grs.extend(gr for gr in logs["GR"] if not curves.is_missing(gr))
    if len(grs) < 10:
        raise ModelException(f"Need at least 10 GR samples to train, got {len(grs)}")
    grs.sort()
    limits = {"gr_clean": percentile(grs, 5), "gr_shale": percentile(grs, 95)}
    with open(os.path.join(folder_path, ARTIFACT), "w") as f:
        json.dump(limits, f)
    logging.info(f"Trained on {len(grs)} GR samples: {limits}")
    return {"samples": len(grs), "gr_clean": round(limits["gr_clean"], 3), "gr_shale": round(limits["gr_shale"], 3)}
