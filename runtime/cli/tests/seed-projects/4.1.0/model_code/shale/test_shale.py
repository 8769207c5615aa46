import json

import pytest

from model_code.shale.model import ModelException, initialization, predict, train

DEPTH = [2010.0, 2010.5, 2011.0, 2011.5, 2012.0, 2012.5]
GR = [18.5, 45.0, 75.0, None, 110.2, 140.0]


def well_payload(name, depth, gr, **keyword_arguments):
    well = {"well_name": name, "input_logs": {"DEPTH": depth, "GR": gr}}
    if keyword_arguments:
        well["keyword_arguments"] = keyword_arguments
    return {"input": [well]}


class ServiceTest:
    prediction_input = well_payload("25/11-G-4", DEPTH, GR)
    prediction_check = None
    training_input = {
        "input": [
            {
                "well_name": "25/11-G-4",
                "input_logs": {
                    "DEPTH": [2000.0, 2000.5, 2001.0, 2001.5, 2002.0, 2002.5, 2003.0],
                    "GR": [20.1, 35.7, 60.2, 88.9, 120.4, 131.0, -999.25],
                },
            },
            {
                "well_name": "25/11-G-5",
                "input_logs": {
                    "DEPTH": [1500.0, 1500.5, 1501.0, 1501.5, 1502.0],
                    "GR": [25.3, 47.8, 99.1, 115.6, 126.2],
                },
            },
        ]
    }
    training_check = None


@pytest.fixture(scope="module")
def init_object():
    return initialization("artifacts/shale", None)


def test_predict(init_object):
    out = predict(ServiceTest.prediction_input, init_object, None)
    vsh = out[0]["VSH"]
    assert vsh[0] == 0.0 and vsh[5] == 1.0  # clipped
    assert vsh[3] is None
    assert vsh[1] == pytest.approx((45.0 - 22.0) / (128.0 - 22.0))
    assert out[0]["well_name"] == "25/11-G-4" and out[0]["DEPTH"] == DEPTH


def test_no_clip(init_object):
    out = predict(well_payload("A", [1.0], [140.0], clip=False), init_object, None)
    assert out[0]["VSH"][0] > 1.0


def test_train(tmp_path):
    metadata = train(data=ServiceTest.training_input, folder_path=str(tmp_path), secrets=None)
    assert metadata["samples"] == 11
    limits = json.loads((tmp_path / "gr_limits.json").read_text())
    assert limits["gr_clean"] < limits["gr_shale"]


def test_too_little_data(tmp_path):
    with pytest.raises(ModelException):
        train(data=well_payload("A", [1.0], [50.0]), folder_path=str(tmp_path), secrets=None)
