"""Drives the local CDF test server with the real Python cognite-sdk.

Reads CDF_BASE_URL, CDF_PROJECT, CDF_TOKEN_URL, CDF_CLIENT_ID,
CDF_CLIENT_SECRET and READ_EXTERNAL_ID (a file written by the Rust client)
from the environment; prints one JSON object with what it saw; exits non-zero
on any mismatch.
"""

import json
import os
import sys
import tempfile

from cognite.client import ClientConfig, CogniteClient
from cognite.client.credentials import OAuthClientCredentials
from cognite.client.data_classes import DataSetWrite
from cognite.client.exceptions import CogniteDuplicatedError, CogniteNotFoundError


def main() -> int:
    env = os.environ
    creds = OAuthClientCredentials(
        token_url=env["CDF_TOKEN_URL"],
        client_id=env["CDF_CLIENT_ID"],
        client_secret=env["CDF_CLIENT_SECRET"],
        scopes=[env["CDF_BASE_URL"] + "/.default"],
    )
    client = CogniteClient(
        ClientConfig(
            client_name="mlops-host-tests",
            project=env["CDF_PROJECT"],
            credentials=creds,
            base_url=env["CDF_BASE_URL"],
        )
    )
    out = {}

    ds = client.data_sets.create(DataSetWrite(external_id="py", name="py"))
    out["data_set_id"] = ds.id
    assert client.data_sets.retrieve(external_id="py").id == ds.id

    body = json.dumps({"AC": [101.5, 99.25, None]}).encode()
    created = client.files.upload_bytes(
        body,
        name="pred.json",
        external_id="py/pred.json",
        mime_type="application/json",
        metadata={"model_id": "well_log/dev/1"},
        data_set_id=ds.id,
    )
    out["file_id"] = created.id
    assert client.files.download_bytes(external_id="py/pred.json") == body, "bytes differ"
    got = client.files.retrieve(external_id="py/pred.json")
    assert got.uploaded, got
    assert got.metadata == {"model_id": "well_log/dev/1"}, got.metadata
    assert got.data_set_id == ds.id
    listed = client.files.list(metadata={"model_id": "well_log/dev/1"}, limit=None)
    assert [f.external_id for f in listed] == ["py/pred.json"], listed

    try:
        client.files.upload_bytes(b"again", name="pred.json", external_id="py/pred.json")
        raise AssertionError("a duplicate external id was accepted")
    except CogniteDuplicatedError as e:
        out["duplicated"] = [d.get("externalId") for d in e.duplicated]

    # upload(path) goes through the multipart endpoints.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "weights.bin")
        blob = bytes(range(256)) * 64
        with open(path, "wb") as f:
            f.write(blob)
        client.files.upload(path, external_id="py/weights.bin", name="weights.bin")
        assert client.files.download_bytes(external_id="py/weights.bin") == blob, "multipart bytes differ"

    # A file our Rust client wrote, read as a prediction reader would.
    out["read"] = json.loads(client.files.download_bytes(external_id=env["READ_EXTERNAL_ID"]))

    client.files.delete(external_id="py/pred.json")
    try:
        client.files.retrieve_multiple(external_ids=["py/pred.json"])
        raise AssertionError("a deleted file is still there")
    except CogniteNotFoundError as e:
        out["missing"] = [m.get("externalId") for m in e.not_found]

    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
