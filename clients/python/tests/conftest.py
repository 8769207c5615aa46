"""Shared fixtures: the live server from the environment (tests using it
FAIL when it is not configured, they never skip), and a tiny scriptable
HTTP server for the transport tests."""

from __future__ import annotations

import json
import math
import os
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import mlops_client

SETUP_HINT = (
    "these tests need a live mlops-host: run clients/python/tests/run_local.sh, or export "
    "MLOPS_URL, MLOPS_TOKEN, MLOPS_ADMIN_TOKEN, MLOPS_TEST_FIXTURES and "
    "MLOPS_TEST_SPARE_VERSION as it does"
)


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: {SETUP_HINT}", pytrace=False)
    return value


@dataclass(frozen=True)
class Live:
    """The live server the harness started, and what it deployed."""

    url: str
    token: str
    admin_token: str
    fixtures: Path
    spare: str  # a model id like well_log/dev/2, safe to promote

    def client(self, **kwargs: Any) -> mlops_client.Client:
        """A client of the live server; keyword arguments override."""
        options: Dict[str, Any] = {"url": self.url, "token": self.token, "admin_token": ""}
        options.update(kwargs)
        return mlops_client.Client(**options)

    def fixture(self, name: str) -> Any:
        return json.loads((self.fixtures / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def live() -> Live:
    url = required_env("MLOPS_URL")
    fixtures = Path(required_env("MLOPS_TEST_FIXTURES"))
    if not (fixtures / "predict.request.json").is_file():
        pytest.fail(f"MLOPS_TEST_FIXTURES={fixtures} has no predict.request.json", pytrace=False)
    return Live(
        url=url,
        token=required_env("MLOPS_TOKEN"),
        admin_token=required_env("MLOPS_ADMIN_TOKEN"),
        fixtures=fixtures,
        spare=required_env("MLOPS_TEST_SPARE_VERSION"),
    )


@pytest.fixture()
def client(live: Live) -> mlops_client.Client:
    """A caller-token client of the live server."""
    return live.client()


@pytest.fixture(scope="session")
def artifacts(live: Live) -> Path:
    """The example's artifact folder (what version 1 was uploaded from)."""
    folder = live.fixtures.parent / "artifacts"
    if not folder.is_dir():
        pytest.fail(f"no artifact folder beside the fixtures: {folder}", pytrace=False)
    return folder


def assert_close(actual: Any, expected: Any, where: str = "prediction") -> None:
    """Equal JSON documents, numbers within 1e-9 relative."""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), (
            f"{where}: {actual!r} is not a number (expected {expected!r})"
        )
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-300), (
            f"{where}: {actual!r} != {expected!r}"
        )
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), (
            f"{where}: keys {sorted(actual) if isinstance(actual, dict) else actual!r} "
            f"!= {sorted(expected)}"
        )
        for key in expected:
            assert_close(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{where}: {actual!r} != {expected!r}"
        )
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, f"{where}[{i}]")
    else:
        raise AssertionError(f"{where}: unexpected expected value {expected!r}")


# A scriptable HTTP server on loopback ------------------------------------

Reply = Tuple[int, Dict[str, str], bytes]


@dataclass
class Request:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class FakeServer:
    """Answers each request with ``respond(request)``, recording them."""

    respond: Callable[[Request], Reply]
    requests: List[Request] = field(default_factory=list)
    url: str = ""

    def count(self) -> int:
        return len(self.requests)


def json_reply(status: int, doc: Any, headers: Optional[Dict[str, str]] = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(doc).encode()


def envelope(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> Reply:
    return json_reply(status, {"status": "error", "message": message, "model_id": None}, headers)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on purpose (the timeout test)


@pytest.fixture()
def fake() -> Iterator[Callable[[Callable[[Request], Reply]], FakeServer]]:
    """``fake(respond)`` starts a server answering with ``respond``."""
    servers: List[ThreadingHTTPServer] = []

    def start(respond: Callable[[Request], Reply]) -> FakeServer:
        state = FakeServer(respond)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, dict(self.headers.items()), body)
                with lock:
                    state.requests.append(req)
                status, headers, payload = state.respond(req)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        server = _QuietServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def refused_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
