import json
import math
import os
from pathlib import Path

import pytest

from model_code.model import ModelException, initialization, predict, train

ARTIFACT_FOLDER = Path("model_artifact")


class ServiceTest:
    prediction_input = {
        "input": [
            {
                "well": "15/9-F-11",
                "input_logs": {
                    "DEPTH": [2500.0, 2500.5, 2501.0, 2501.5],
                    "ACS": [150.2, 148.7, -999.25, 152.9],
                    "RDEP": [2.1, 3.4, 2.8, 1.7],
                    "DEN": [2.31, 2.35, 2.33, 2.29],
                },
            },
            {
                "well": "15/9-F-14",
                "input_logs": {
                    "DEPTH": [3100.0, 3100.5],
                    "ACS": [140.0, 139.5],
                    "RDEP": [10.0, 12.5],
                    "DEN": [2.45, 2.47],
                },
            },
        ]
    }
    prediction_check = {"status": "ok"}
    training_input = {
        "input": [
            {
                "well": "15/9-F-11",
                "input_logs": {
                    "DEPTH": [2500.0, 2500.5, 2501.0, 2501.5, 2502.0, 2502.5],
                    "ACS": [150.2, 148.7, 151.3, 152.9, 147.1, 149.8],
                    "RDEP": [2.1, 3.4, 2.8, 1.7, 4.2, 2.4],
                    "DEN": [2.31, 2.35, 2.33, 2.29, 2.38, 2.32],
                    "AC": [114.9, 113.6, 115.2, 116.8, 112.7, 114.5],
                },
            },
            {
                "well": "15/9-F-14",
                "input_logs": {
                    "DEPTH": [3100.0, 3100.5, 3101.0],
                    "ACS": [140.0, 139.5, -999.25],
                    "RDEP": [10.0, 12.5, 11.0],
                    "DEN": [2.45, 2.47, 2.46],
                    "AC": [104.8, 104.1, 104.5],
                },
            },
        ]
    }
    training_check = {"status": "ok"}


@pytest.fixture(scope="module")
def init_object():
    return initialization(ARTIFACT_FOLDER, None)


def test_predict_per_well(init_object):
    out = predict(ServiceTest.prediction_input, init_object, None)
    assert [w["well"] for w in out] == ["15/9-F-11", "15/9-F-14"]
    ac = out[0]["AC"]
    assert ac[2] is None  # a -999.25 sample gives no prediction
    expected = 12.5 + 0.42 * 150.2 - 3.1 * math.log(2.1) + 18.0 * 2.31
    assert ac[0] == pytest.approx(expected)
    json.dumps(out)  # the response must be JSON


def test_missing_curve_is_a_model_exception(init_object):
    data = {"input": [{"well": "A", "input_logs": {"DEPTH": [1.0], "ACS": [1.0], "DEN": [2.3]}}]}
    with pytest.raises(ModelException, match="RDEP"):
        predict(data, init_object, None)


def test_train_writes_an_artifact_that_predicts(tmp_path):
    metadata = train(data=ServiceTest.training_input, folder_path=str(tmp_path), secrets=None)
    assert metadata["rows"] == 8
    params = initialization(tmp_path, None)
    assert len(params["coefficients"]) == 4
    assert os.path.exists(tmp_path / "model.json")
