"""Well-log helpers shared by the models in model_code/."""

import math

NULL_VALUE = -999.25  # the filler the logs use for a missing sample


def is_missing(value):
    return value is None or value == NULL_VALUE or (isinstance(value, float) and math.isnan(value))


def as_floats(values):
    """The samples as floats, NaN where one is missing."""
    return [math.nan if is_missing(v) else float(v) for v in values]


def well_name(well):
    return well.get("well_name") or well.get("well")


def get_logs(well, curves, error):
    """The well's input_logs, checked: every curve present, all of one length.
    Raises `error` (the model's ModelException) saying what is wrong."""
    logs = well.get("input_logs") or {}
    missing = [c for c in curves if c not in logs]
    if missing:
        raise error(f"Well {well_name(well)}: missing curve(s) {', '.join(missing)}")
    if len({len(logs[c]) for c in curves}) != 1:
        raise error(f"Well {well_name(well)}: curves {', '.join(curves)} differ in length")
    return logs
