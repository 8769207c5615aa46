"""The Model Manager routes against the live server: the harness deployed
well_log twice in dev and promoted well_log/dev/1 to test;
MLOPS_TEST_SPARE_VERSION (e.g. well_log/dev/2) is safe to promote."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlops_client

MODEL = "well_log"


def artifact_files(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def split(model_id: str):
    model, env, version = model_id.split("/")
    return model, env, int(version)


def test_list(client):
    versions = client.models.list()
    ids = [r["model_id"] for r in versions]
    assert {"well_log/dev/1", "well_log/test/1"} <= set(ids)
    for r in versions:
        assert r["model_id"] == f"{r['model']}/{r['env']}/{r['version']}"
    dev = [r["version"] for r in versions if (r["model"], r["env"]) == (MODEL, "dev")]
    assert dev == sorted(dev) and len(dev) >= 2


def test_list_filters(client):
    dev = client.models.list(model=MODEL, env="dev")
    assert dev and all((r["model"], r["env"]) == (MODEL, "dev") for r in dev)
    assert all(not r.get("deleted") for r in dev)
    everything = client.models.list(model=MODEL, env="dev", include_deleted=True)
    assert {r["model_id"] for r in dev} <= {r["model_id"] for r in everything}
    assert client.models.list(model="no_such_model") == []


def test_get(client, artifacts):
    record = client.models.get(MODEL, "dev", 1)
    assert record["model_id"] == "well_log/dev/1"
    assert (record["model"], record["env"], record["version"]) == (MODEL, "dev", 1)
    files = {f["path"]: f["size"] for f in record["files"]}
    assert files == {path: len(data) for path, data in artifact_files(artifacts).items()}
    assert record["size"] == sum(files.values())
    assert record["deleted"] is None


def test_get_missing_is_not_found(client):
    assert client.models.get(MODEL, "dev", 1)["version"] == 1  # the route exists
    with pytest.raises(mlops_client.NotFound) as caught:
        client.models.get(MODEL, "dev", 9999)
    assert caught.value.envelope["status"] == "error"


def test_download_latest_and_pinned(client, artifacts, tmp_path):
    want = artifact_files(artifacts)
    latest = client.models.download(MODEL, "dev", tmp_path / "latest")
    live_dev = [r["version"] for r in client.models.list(model=MODEL, env="dev")]
    assert latest["version"] == max(live_dev)
    assert artifact_files(tmp_path / "latest") == want

    pinned = client.models.download(MODEL, "test", tmp_path / "pinned", version=1)
    assert pinned["model_id"] == "well_log/test/1"
    assert artifact_files(tmp_path / "pinned") == want
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "pinned"]


def test_download_missing_version_leaves_nothing(client, tmp_path):
    assert client.models.list(model=MODEL, env="dev")  # the route exists
    with pytest.raises(mlops_client.NotFound):
        client.models.download(MODEL, "dev", tmp_path / "out", version=9999)
    assert list(tmp_path.iterdir()) == []


def test_promote_then_promote_again(live):
    model, env, version = split(live.spare)
    client = live.client(admin_token=live.admin_token)
    target = f"{model}/test/{version}"
    was_there = target in {r["model_id"] for r in client.models.list(model=model, env="test")}

    first = client.models.promote(model, env, version, to="test")
    assert first["status"] == "ok"
    assert first["promoted"]["model_id"] == target
    assert first["promoted"]["env"] == "test"
    assert first["promoted"]["promoted_from"] == live.spare
    assert first["already_there"] is was_there

    again = client.models.promote(model, env, version, to="test")
    assert again["status"] == "ok"
    assert again["already_there"] is True
    assert again["promoted"]["model_id"] == target

    assert target in {r["model_id"] for r in client.models.list(model=model, env="test")}
    assert client.models.get(model, "test", version)["promoted_from"] == live.spare


def test_promote_needs_the_admin_token(live):
    model, env, version = split(live.spare)
    with pytest.raises((mlops_client.Forbidden, mlops_client.Unauthorized)) as caught:
        live.client(admin_token="").models.promote(model, env, version, to="test")
    assert caught.value.status in (401, 403)
    assert caught.value.envelope["status"] == "error"
    with pytest.raises(mlops_client.Unauthorized):
        live.client(token="", admin_token="").models.promote(model, env, version, to="test")


def test_promote_to_an_unknown_env_is_a_bad_request(live):
    model, env, version = split(live.spare)
    client = live.client(admin_token=live.admin_token)
    with pytest.raises(mlops_client.BadRequest) as caught:
        client.models.promote(model, env, version, to="staging")
    assert caught.value.envelope["status"] == "error"
