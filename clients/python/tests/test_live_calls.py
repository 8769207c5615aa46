"""Calls against the live server (MLOPS_URL...): the example model
well_log, deployed in dev and test."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import mlops_client
from conftest import assert_close

DEV = "well_log-prediction-dev"


@pytest.fixture(scope="module")
def request_data(live):
    return live.fixture("predict.request.json")["data"]


@pytest.fixture(scope="module")
def expected(live):
    return live.fixture("predict.expected.json")["prediction"]


def test_call_with_a_dict_of_lists(client, request_data, expected):
    answer = client.call(DEV, request_data)
    assert answer["status"] == "ok"
    assert answer["prediction_file"] is None
    assert answer["model_id"].startswith("well_log/dev/")
    assert_close(answer["prediction"], expected)


def test_call_with_a_dataframe_and_a_nan_row(client, request_data, expected):
    df = pd.DataFrame(request_data)
    df.loc[0, "DEN"] = math.nan  # a missing input: a missing output
    assert df["DEN"].isna().sum() >= 2  # the fixture's own null is NaN here too
    answer = client.call(DEV, df)
    want = dict(expected)
    want["AC"] = [None] + list(expected["AC"][1:])
    assert_close(answer["prediction"], want)


def test_call_a_pinned_version_and_test(client, request_data, expected):
    assert_close(client.call("well_log-prediction-dev-1", request_data)["prediction"], expected)
    answer = client.call("well_log-prediction-test", request_data)
    assert answer["model_id"].startswith("well_log/test/")
    assert_close(answer["prediction"], expected)


def test_module_level_call_uses_the_environment(live, request_data, expected):
    answer = mlops_client.call(DEV, request_data)
    assert_close(answer["prediction"], expected)
    answers = mlops_client.call_parallel(DEV, [request_data, request_data], concurrency=2)
    assert [a["status"] for a in answers] == ["ok", "ok"]


def test_call_parallel_returns_answers_in_input_order(client, request_data, expected):
    # 24 different inputs: rows start..start+length-1 (wrapping) of the fixture.
    rows = len(expected["AC"])
    picks = [[(i % rows + k) % rows for k in range(1 + i // rows)] for i in range(24)]
    assert len({tuple(p) for p in picks}) == 24
    inputs = [{col: [values[r] for r in pick] for col, values in request_data.items()} for pick in picks]
    answers = client.call_parallel(DEV, inputs, concurrency=4)
    assert len(answers) == len(inputs)
    for i, (pick, answer) in enumerate(zip(picks, answers)):
        assert_close(answer["prediction"], {"AC": [expected["AC"][r] for r in pick]}, f"input {i}")


def test_call_parallel_raises_the_first_error_after_all_ran(client, request_data, expected, live):
    bad = live.fixture("bad_rdep.request.json")["data"]
    inputs = [request_data, bad, request_data, {"ACS": [1.0]}]
    with pytest.raises(mlops_client.MlopsError) as caught:
        client.call_parallel(DEV, inputs, concurrency=4)
    assert caught.value.index == 1
    assert isinstance(caught.value, mlops_client.ModelFailed)
    results = caught.value.results
    assert_close(results[0]["prediction"], expected)
    assert_close(results[2]["prediction"], expected)
    assert isinstance(results[3], mlops_client.BadRequest) and results[3].index == 3


def test_to_file_gives_a_prediction_file(client, request_data):
    answer = client.call(DEV, request_data, to_file=True)
    assert answer["status"] == "ok"
    assert isinstance(answer["prediction_file"], str) and answer["prediction_file"]
    assert answer["prediction"] == {}


def test_metadata_block_on_request(client, request_data, expected):
    answer = client.call(DEV, request_data, metadata=True)
    assert_close(answer["prediction"], expected)
    assert isinstance(answer.get("metadata"), dict), f"no metadata block in {answer!r}"
    assert "metadata" not in client.call(DEV, request_data)


def test_unknown_service_is_not_found_with_the_envelope(client):
    with pytest.raises(mlops_client.NotFound) as caught:
        client.call("no_such_model-prediction-dev", {"x": [1.0]})
    error = caught.value
    assert error.status == 404
    assert error.envelope["status"] == "error"
    assert error.envelope["message"] == error.message
    assert "no_such_model-prediction-dev" in error.message


def test_bad_data_is_a_bad_request_with_the_envelope_message(client):
    with pytest.raises(mlops_client.BadRequest) as caught:
        client.call(DEV, {"ACS": [180.0]})  # RDEP and DEN missing
    error = caught.value
    assert error.status == 400
    assert error.envelope["status"] == "error"
    assert error.message == error.envelope["message"]
    assert "RDEP" in error.message
    assert error.model_id and error.model_id.startswith("well_log/dev/")


def test_a_model_refusing_its_input_is_model_failed_422(client, live):
    bad = live.fixture("bad_rdep.request.json")["data"]
    want = live.fixture("bad_rdep.expected.json")["message"]
    with pytest.raises(mlops_client.ModelFailed) as caught:
        client.call(DEV, bad)
    assert caught.value.status == 422
    assert caught.value.message == want


def test_no_token_is_unauthorized(live, request_data):
    with pytest.raises(mlops_client.Unauthorized) as caught:
        live.client(token="").call(DEV, request_data)
    assert caught.value.status == 401
    assert caught.value.envelope["status"] == "error"
    with pytest.raises(mlops_client.Unauthorized):
        live.client(token="not-the-token").services.list()
