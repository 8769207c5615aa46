"""Service listings against the live server."""

from __future__ import annotations

import pytest

import mlops_client


def ids(services):
    return {s["external_id"] for s in services}


def test_list_all(client):
    found = ids(client.services.list())
    assert {"well_log-prediction-dev", "well_log-prediction-test"} <= found


def test_list_by_env(client):
    dev = client.services.list(env="dev")
    test = client.services.list(env="test")
    assert dev and all(s["env"] == "dev" for s in dev)
    assert test and all(s["env"] == "test" for s in test)
    assert "well_log-prediction-dev" in ids(dev) and "well_log-prediction-test" not in ids(dev)
    assert "well_log-prediction-test" in ids(test)


def test_list_by_tags(client):
    # Tags match the description (case-insensitive substrings) or a metadata value.
    assert "well_log-prediction-dev" in ids(client.services.list(tags=["SONIC", "slowness"]))
    assert "well_log-prediction-dev" in ids(client.services.list(tags="sonic,slowness"))
    assert client.services.list(tags=["sonic", "no-such-tag-anywhere"]) == []
    both = client.services.list(env="test", tags=["sonic"])
    assert both and all(s["env"] == "test" for s in both)


def test_list_with_an_unknown_env_is_a_bad_request(client):
    with pytest.raises(mlops_client.BadRequest) as caught:
        client.services.list(env="staging")
    assert "staging" in caught.value.message


def test_get(client):
    service = client.services.get("well_log-prediction-test")
    assert service["external_id"] == "well_log-prediction-test"
    assert service["env"] == "test"
    assert service["service"] == "prediction"
    assert service["model_id"].startswith("well_log/test/")
    assert service["status"] == "ready"


def test_get_unknown_is_not_found(client):
    with pytest.raises(mlops_client.NotFound) as caught:
        client.services.get("no_such_model-prediction-dev")
    assert caught.value.envelope["status"] == "error"
