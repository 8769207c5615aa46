"""Retries, errors and request shapes against small local HTTP servers
(no mlops-host needed)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

import mlops_client
from conftest import envelope, json_reply

OK = {"status": "ok", "prediction": {"y": [1]}, "prediction_file": None, "model_id": "m/dev/1"}


def test_503_twice_then_ok_is_retried(fake):
    def respond(req):
        if server.count() <= 2:
            return envelope(503, "every instance is busy", {"Retry-After": "0"})
        return json_reply(200, OK)

    server = fake(respond)
    client = mlops_client.Client(server.url, token="t", retries=3, backoff=0.01)
    assert client.call("m-prediction-dev", {"x": [1]}) == OK
    assert server.count() == 3  # two refusals, then the answer
    assert all(r.body == server.requests[0].body for r in server.requests)


def test_429_is_retried_and_retry_after_is_honoured(fake):
    def respond(req):
        if server.count() == 1:
            return envelope(429, "slow down", {"Retry-After": "1"})
        return json_reply(200, OK)

    server = fake(respond)
    client = mlops_client.Client(server.url, token="t", retries=3, backoff=0.01)
    started = time.monotonic()
    client.call("m-prediction-dev", {"x": [1]})
    assert time.monotonic() - started >= 0.9  # waited Retry-After, not the 10 ms back-off
    assert server.count() == 2


def test_503_after_the_retries_raises_unavailable_with_the_envelope(fake):
    server = fake(lambda req: envelope(503, "still loading", {"Retry-After": "0"}))
    client = mlops_client.Client(server.url, token="t", retries=2, backoff=0.01)
    with pytest.raises(mlops_client.Unavailable) as caught:
        client.call("m-prediction-dev", {"x": [1]})
    assert caught.value.status == 503
    assert caught.value.attempts == 3
    assert caught.value.envelope["message"] == "still loading"
    assert server.count() == 3


def test_refused_port_raises_connection_failed_after_the_retries_quickly(refused_url):
    client = mlops_client.Client(refused_url, retries=2, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(mlops_client.ConnectionFailed) as caught:
        client.call("m-prediction-dev", {"x": [1]})
    assert time.monotonic() - started < 2.0
    assert caught.value.attempts == 3
    assert caught.value.status is None
    assert "MLOPS_URL" in str(caught.value)


def test_back_off_doubles(refused_url):
    client = mlops_client.Client(refused_url, retries=3, backoff=0.1)
    started = time.monotonic()
    with pytest.raises(mlops_client.ConnectionFailed):
        client.services.list()
    elapsed = time.monotonic() - started
    assert 0.65 <= elapsed < 3.0, elapsed  # 0.1 + 0.2 + 0.4


def test_a_read_timeout_is_not_retried(fake):
    release = threading.Event()

    def respond(req):
        release.wait(5)
        return json_reply(200, OK)

    server = fake(respond)
    client = mlops_client.Client(server.url, retries=3, backoff=0.01, timeout=0.3)
    try:
        with pytest.raises(mlops_client.Timeout) as caught:
            client.call("m-prediction-dev", {"x": [1]})
    finally:
        release.set()
    assert caught.value.status is None
    assert caught.value.attempts == 1
    assert server.count() == 1  # the model may have run: never sent twice


@pytest.mark.parametrize(
    "status, cls",
    [
        (400, mlops_client.BadRequest),
        (401, mlops_client.Unauthorized),
        (403, mlops_client.Forbidden),
        (404, mlops_client.NotFound),
        (405, mlops_client.BadRequest),
        (408, mlops_client.Timeout),
        (409, mlops_client.Conflict),
        (413, mlops_client.PayloadTooLarge),
        (422, mlops_client.ModelFailed),
        (500, mlops_client.ModelFailed),
        (502, mlops_client.ServerError),
        (504, mlops_client.GatewayTimeout),
    ],
)
def test_each_status_raises_its_exception_without_retry(fake, status, cls):
    server = fake(lambda req: envelope(status, f"failed with {status}"))
    client = mlops_client.Client(server.url, retries=3, backoff=0.01)
    with pytest.raises(cls) as caught:
        client.call("m-prediction-dev", {"x": [1]})
    error = caught.value
    assert isinstance(error, mlops_client.MlopsError)
    assert error.status == status
    assert error.message == f"failed with {status}"
    assert error.envelope == {"status": "error", "message": f"failed with {status}", "model_id": None}
    assert server.count() == 1


def test_a_non_json_error_body_still_gives_a_message(fake):
    server = fake(lambda req: (502, {"Content-Type": "text/html"}, b"<h1>Bad gateway</h1>"))
    client = mlops_client.Client(server.url, retries=0)
    with pytest.raises(mlops_client.ServerError) as caught:
        client.services.list()
    assert caught.value.envelope is None
    assert "Bad gateway" in caught.value.message


def test_tokens_and_request_shapes(fake):
    def respond(req):
        if req.path.startswith("/services?") or req.path == "/services":
            return json_reply(200, {"services": [{"external_id": "m-prediction-dev"}]})
        if req.path.startswith("/models?") or req.path == "/models":
            return json_reply(200, {"versions": []})
        if req.path.endswith("/promote"):
            return json_reply(200, {"status": "ok", "promoted": {}, "already_there": False})
        return json_reply(200, OK)

    server = fake(respond)
    client = mlops_client.Client(server.url + "/", token="caller", admin_token="admin")
    client.call("m-prediction-dev", {"x": [1.0, None]}, to_file=True, metadata=True)
    assert client.services.list(env="test", tags=["a b", "c"]) == [{"external_id": "m-prediction-dev"}]
    client.services.list()
    client.models.list(model="m", env="dev", include_deleted=True)
    client.models.promote("m", "dev", 3)
    client.models.promote("m", "test", "3", to="prod")
    mlops_client.Client(server.url, token="caller", admin_token="").models.promote("m", "dev", 1)

    call, listed, listed_all, models, promote, promote_to, fallback = server.requests
    assert (call.method, call.path) == ("POST", "/services/m-prediction-dev/call")
    assert call.headers["Authorization"] == "Bearer caller"
    assert call.headers["Content-Type"] == "application/json"
    assert call.json() == {"data": {"x": [1.0, None]}, "to_file": True, "metadata": True}
    assert listed.path == "/services?env=test&tags=a%20b%2Cc"
    assert listed_all.path == "/services"
    assert models.path == "/models?model=m&env=dev&include_deleted=true"
    assert (promote.method, promote.path) == ("POST", "/models/m/dev/3/promote")
    assert promote.headers["Authorization"] == "Bearer admin"
    assert promote.json() == {}
    assert promote_to.path == "/models/m/test/3/promote" and promote_to.json() == {"to": "prod"}
    assert fallback.headers["Authorization"] == "Bearer caller"  # no admin token: the caller's


def test_no_token_sends_no_authorization(fake, monkeypatch):
    monkeypatch.setenv("MLOPS_TOKEN", "from-env")
    server = fake(lambda req: json_reply(200, OK))
    mlops_client.Client(server.url, token="").call("m-prediction-dev", {"x": [1]})
    mlops_client.Client(server.url).call("m-prediction-dev", {"x": [1]})
    assert "Authorization" not in server.requests[0].headers
    assert server.requests[1].headers["Authorization"] == "Bearer from-env"


def test_call_parallel_keeps_input_order_and_reports_the_first_failure(fake):
    def respond(req):
        x = req.json()["data"]["x"][0]
        time.sleep(0.05 * (x % 3))  # finish out of order
        if x in (5, 9):
            return envelope(400, f"bad {x}")
        return json_reply(200, {**OK, "prediction": {"y": [x * 10]}})

    server = fake(respond)
    client = mlops_client.Client(server.url, retries=0)
    inputs = [{"x": [i]} for i in range(12)]
    with pytest.raises(mlops_client.BadRequest) as caught:
        client.call_parallel("m-prediction-dev", inputs, concurrency=4)
    error = caught.value
    assert error.index == 5 and error.message == "bad 5"
    assert "list_of_data[5]" in str(error)
    assert server.count() == 12  # every call ran
    results = error.results
    assert len(results) == 12
    for i, result in enumerate(results):
        if i in (5, 9):
            assert isinstance(result, mlops_client.BadRequest) and result.index == i
        else:
            assert result["prediction"] == {"y": [i * 10]}

    answers = client.call_parallel("m-prediction-dev", [{"x": [i]} for i in (1, 2, 3, 4)], 2)
    assert [a["prediction"]["y"][0] for a in answers] == [10, 20, 30, 40]
    assert client.call_parallel("m-prediction-dev", []) == []


def test_call_parallel_checks_every_input_before_sending(fake):
    server = fake(lambda req: json_reply(200, OK))
    client = mlops_client.Client(server.url)
    with pytest.raises(ValueError, match=r"list_of_data\[1\]: column 'x', row 0 is inf"):
        client.call_parallel("m-prediction-dev", [{"x": [1.0]}, {"x": [float("inf")]}])
    assert server.count() == 0


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MLOPS_URL", "http://example.invalid:1234/prefix/")
    monkeypatch.setenv("MLOPS_TOKEN", "t")
    monkeypatch.delenv("MLOPS_ADMIN_TOKEN", raising=False)
    client = mlops_client.Client()
    assert client.url == "http://example.invalid:1234/prefix"
    assert "token=set" in repr(client) and "admin_token=none" in repr(client)
    assert "t'" not in repr(client)
    monkeypatch.delenv("MLOPS_URL")
    assert mlops_client.Client().url == mlops_client.DEFAULT_URL
    with pytest.raises(ValueError, match="MLOPS_URL"):
        mlops_client.Client("127.0.0.1:8080")


def test_an_early_answer_to_a_large_body_is_read():
    """A server may answer 413 before reading the whole body and close;
    the client still reports the 413, not a broken connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        conn, _ = listener.accept()
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(65536)
        body = b'{"status":"error","message":"too large","model_id":null}'
        conn.sendall(
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        time.sleep(0.3)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = mlops_client.Client(f"http://127.0.0.1:{listener.getsockname()[1]}", retries=0)
    try:
        with pytest.raises(mlops_client.PayloadTooLarge) as caught:
            client.call("m-prediction-dev", {"x": [1.0] * 3_000_000})
        assert caught.value.message == "too large"
    finally:
        thread.join(2)
        listener.close()
