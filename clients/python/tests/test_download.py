"""models.download against a local fake of the Model Manager routes: the
version it picks, and that it never leaves a half-written folder."""

from __future__ import annotations

import urllib.parse
from typing import Dict, List

import pytest

import mlops_client
from conftest import envelope, json_reply

FILES: Dict[str, bytes] = {"model.json": b'{"c": [1, 2]}', "sub/a b.bin": bytes(range(256)) * 300}


def record(version: int, files: Dict[str, bytes], deleted: bool = False, sizes=None) -> dict:
    sizes = sizes or {}
    return {
        "model_id": f"well_log/dev/{version}",
        "model": "well_log",
        "env": "dev",
        "version": version,
        "files": [{"path": p, "size": sizes.get(p, len(b)), "blake3": "00"} for p, b in files.items()],
        "size": sum(len(b) for b in files.values()),
        "metadata": {},
        "created": "2024-01-01T00:00:00Z",
        "created_by": "me",
        "promoted_from": None,
        "deleted": {"at": "2024-01-02T00:00:00Z", "by": "me"} if deleted else None,
    }


def model_manager(fake, versions: List[dict], content: Dict[str, bytes]):
    """A fake of GET /models, /models/m/e/v and /models/m/e/v/file."""

    def respond(req):
        url = urllib.parse.urlsplit(req.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        parts = url.path.strip("/").split("/")
        if parts == ["models"]:
            live = [r for r in versions if query.get("include_deleted") == "true" or not r["deleted"]]
            return json_reply(200, {"versions": live})
        if len(parts) == 4:
            for r in versions:
                if r["version"] == int(parts[3]):
                    return json_reply(200, r)
            return envelope(404, f"no version {parts[3]}")
        if len(parts) == 5 and parts[4] == "file" and query.get("path") in content:
            return 200, {"Content-Type": "application/octet-stream"}, content[query["path"]]
        return envelope(404, f"no file {query.get('path')!r}")

    return fake(respond)


def leftovers(parent) -> List[str]:
    return sorted(p.name for p in parent.iterdir())


def test_latest_live_version_is_downloaded(fake, tmp_path):
    server = model_manager(
        fake, [record(1, {"old": b"x"}), record(2, FILES), record(3, {"x": b"y"}, deleted=True)], FILES
    )
    client = mlops_client.Client(server.url, token="t")
    got = client.models.download("well_log", "dev", tmp_path / "out" / "v")
    assert got["version"] == 2
    for path, content in FILES.items():
        assert (tmp_path / "out" / "v" / path).read_bytes() == content
    assert leftovers(tmp_path / "out") == ["v"]
    file_requests = [r.path for r in server.requests if "/file?" in r.path]
    assert file_requests == [
        "/models/well_log/dev/2/file?path=model.json",
        "/models/well_log/dev/2/file?path=sub%2Fa%20b.bin",
    ]


def test_an_explicit_version_into_an_existing_empty_folder(fake, tmp_path):
    server = model_manager(fake, [record(1, FILES), record(2, {"x": b"y"})], FILES)
    (tmp_path / "empty").mkdir()
    got = mlops_client.Client(server.url).models.download("well_log", "dev", tmp_path / "empty", 1)
    assert got["model_id"] == "well_log/dev/1"
    assert (tmp_path / "empty" / "model.json").read_bytes() == FILES["model.json"]
    assert leftovers(tmp_path) == ["empty"]


def test_a_non_empty_folder_is_refused_before_any_request(fake, tmp_path):
    server = model_manager(fake, [record(1, FILES)], FILES)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    (tmp_path / "file").write_text("a file")
    client = mlops_client.Client(server.url)
    for folder in ("full", "file"):
        with pytest.raises(ValueError, match="not an empty folder"):
            client.models.download("well_log", "dev", tmp_path / folder)
    assert server.count() == 0
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("bad", ["../evil", "/etc/passwd", "a/../../evil", "C:evil", "a\\b", "", "."])
def test_unsafe_paths_from_the_server_are_refused(fake, tmp_path, bad):
    server = model_manager(fake, [record(1, {"ok.txt": b"1", bad: b"2"})], {"ok.txt": b"1", bad: b"2"})
    with pytest.raises(mlops_client.ServerError, match="refusing the file path"):
        mlops_client.Client(server.url).models.download("well_log", "dev", tmp_path / "out")
    assert leftovers(tmp_path) == []
    assert not [r for r in server.requests if "/file?" in r.path]  # nothing fetched


def test_a_size_mismatch_leaves_nothing(fake, tmp_path):
    server = model_manager(fake, [record(1, FILES, sizes={"sub/a b.bin": 5})], FILES)
    with pytest.raises(mlops_client.ServerError, match=r"arrived with 76800 bytes, its record says 5"):
        mlops_client.Client(server.url).models.download("well_log", "dev", tmp_path / "out")
    assert leftovers(tmp_path) == []


def test_a_missing_file_leaves_nothing(fake, tmp_path):
    server = model_manager(fake, [record(1, FILES)], {"model.json": FILES["model.json"]})
    (tmp_path / "out").mkdir()
    with pytest.raises(mlops_client.NotFound) as caught:
        mlops_client.Client(server.url).models.download("well_log", "dev", tmp_path / "out")
    assert caught.value.envelope["status"] == "error"
    assert leftovers(tmp_path) == ["out"] and leftovers(tmp_path / "out") == []


def test_no_live_version_is_not_found(fake, tmp_path):
    server = model_manager(fake, [record(1, FILES, deleted=True)], FILES)
    with pytest.raises(mlops_client.NotFound, match="no live version of well_log in dev"):
        mlops_client.Client(server.url).models.download("well_log", "dev", tmp_path / "out")
    assert leftovers(tmp_path) == []
