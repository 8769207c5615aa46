import numpy as np
import pytest

from model_code.porosity.model import ModelException, initialization, predict


class ServiceTest:
    prediction_input = {
        "input": [
            {
                "well_name": "25/11-G-4",
                "input_logs": {
                    "DEPTH": [1750.0, 1750.5, 1751.0, 1751.5, 1752.0],
                    "DEN": [2.41, 2.38, -999.25, 2.52, 1.95],
                    "NEU": [0.21, 0.24, 0.22, 0.15, 0.45],
                },
            }
        ]
    }
    prediction_check = None


@pytest.fixture(scope="module")
def init_object():
    return initialization("artifacts/porosity", None)


def test_predict(init_object):
    out = predict(ServiceTest.prediction_input, init_object, None)
    assert out[0]["well_name"] == "25/11-G-4"
    assert out[0]["DEPTH"] == [1750.0, 1750.5, 1751.0, 1751.5, 1752.0]
    phit = out[0]["PHIT"]
    assert phit[2] is None
    assert phit[0] == pytest.approx(1.2315 - 0.4521 * 2.41 + 0.3317 * 0.21)
    assert all(0.0 <= p <= 1.0 for p in phit if p is not None)


def test_missing_curve(init_object):
    with pytest.raises(ModelException, match="NEU"):
        predict({"input": [{"well_name": "A", "input_logs": {"DEPTH": [1.0], "DEN": [2.3]}}]}, init_object, None)


def test_bad_artifact(tmp_path):
    (tmp_path / "coefficients.json").write_text('{"coefficients": [1.0, 2.0]}')
    with pytest.raises(ModelException):
        initialization(str(tmp_path), None)
