"""The HTTP transport: one connection per request, bounded retries with
doubling back-off, the server's answer turned into bytes or a typed error.

The retry policy is the Rust client's (``runtime/client``): a request is
sent again only when it cannot have reached the model, that is when the
connection could not be opened, or the server answered 429 or 503 (busy,
loading; a ``Retry-After`` in seconds is honoured, capped at
:data:`MAX_WAIT`). A failure after the request was sent (a read timeout, a
broken connection) is never retried: a call is a POST and may have run.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, BinaryIO, Dict, Optional

from ._version import __version__
from .errors import ConnectionFailed, MlopsError, Timeout, error_for_status

#: The longest wait between two attempts, seconds (back-off or Retry-After).
MAX_WAIT = 30.0
#: Statuses that say "not now" without the request reaching a model.
RETRY_STATUSES = frozenset({429, 503})
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: its status, body (empty when streamed to a sink) and
    the attempts it took."""

    status: int
    body: bytes
    attempts: int
    size: int


class Transport:
    """Sends requests to one mlops-host server."""

    def __init__(self, url: str, retries: int, backoff: float, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"invalid mlops-host URL {url!r}: expected http://host[:port] or https://host[:port]"
                " (set url= or MLOPS_URL)"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"invalid mlops-host URL {url!r}: no query or fragment, please")
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("retries and backoff must be >= 0 and timeout > 0")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Optional[bytes] = None,
        token: Optional[str] = None,
        sink: Optional[BinaryIO] = None,
    ) -> Answer:
        """Sends ``method path`` (``path`` starts with ``/`` and is already
        percent-encoded) and returns a 2xx answer; its body goes to
        ``sink`` when one is given. Raises an :class:`MlopsError` subclass
        for any other outcome."""
        url = self.url + path
        headers = {
            "Accept": "application/json, application/octet-stream",
            "User-Agent": f"mlops-host-client/{__version__} (python)",
            "Connection": "close",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        attempt = 0
        while True:
            attempt += 1
            conn = self._connection()
            try:
                try:
                    conn.connect()
                except ssl.SSLCertVerificationError as e:
                    raise ConnectionFailed(
                        f"TLS certificate of {self.url} not trusted: {e}",
                        attempts=attempt,
                        url=url,
                    ) from e
                except OSError as e:
                    if attempt <= self.retries:
                        self._sleep(attempt, None)
                        continue
                    raise ConnectionFailed(
                        f"cannot reach mlops-host at {self.url} after {attempt} attempt(s): {e}; "
                        "is it running there? (set url= or MLOPS_URL)",
                        attempts=attempt,
                        url=url,
                    ) from e
                try:
                    try:
                        conn.request(method, self._prefix + path, body=body, headers=headers)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # it may have answered early (413) and closed: read that
                    resp = conn.getresponse()
                    if resp.status in RETRY_STATUSES and attempt <= self.retries:
                        resp.read()
                        self._sleep(attempt, resp.getheader("Retry-After"))
                        continue
                    if 200 <= resp.status < 300:
                        if sink is None:
                            data = resp.read()
                            return Answer(resp.status, data, attempt, len(data))
                        size = 0
                        while True:
                            chunk = resp.read(_CHUNK)
                            if not chunk:
                                break
                            try:
                                sink.write(chunk)
                            except OSError as e:  # a local disk, not the connection
                                raise _SinkFailed(e) from e
                            size += len(chunk)
                        return Answer(resp.status, b"", attempt, size)
                    raise _error(resp.status, resp.read(), attempt, url)
                except MlopsError:
                    raise
                except _SinkFailed as e:
                    raise e.error from None
                except (socket.timeout, TimeoutError) as e:
                    raise Timeout(
                        f"no answer from {self.url} within {self.timeout:g} s after the request "
                        "was sent; not retried, as the model may have run (raise timeout=)",
                        attempts=attempt,
                        url=url,
                    ) from e
                except (OSError, http.client.HTTPException) as e:
                    raise ConnectionFailed(
                        f"the connection to {self.url} broke after the request was sent: "
                        f"{e!r}; not retried, as the model may have run",
                        attempts=attempt,
                        url=url,
                    ) from e
            finally:
                conn.close()

    def _sleep(self, attempt: int, retry_after: Optional[str]) -> None:
        """Waits before attempt ``attempt + 1``: the server's Retry-After
        (seconds) if it sent one, else the back-off doubled per attempt."""
        wait = self.backoff * (2 ** min(attempt - 1, 16))
        if retry_after is not None:
            try:
                seconds = float(retry_after.strip())
            except ValueError:
                seconds = -1.0  # an HTTP date: keep the back-off
            if seconds >= 0:
                wait = seconds
        time.sleep(min(wait, MAX_WAIT))


class _SinkFailed(Exception):
    """Writing a streamed answer failed locally (e.g. a full disk)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _error(status: int, body: bytes, attempts: int, url: str) -> MlopsError:
    """The typed exception for an error answer, with its envelope."""
    envelope: Optional[Dict[str, Any]] = None
    message = ""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        doc = None
    if isinstance(doc, dict):
        envelope = doc
        found = doc.get("message", doc.get("error"))
        if isinstance(found, str):
            message = found
    if not message:
        text = body.decode("utf-8", "replace").strip()
        message = text[:500] if text else http.client.responses.get(status, "error")
    hint = _HINTS.get(status)
    cls = error_for_status(status)
    return cls(message, status=status, envelope=envelope, attempts=attempts, url=url, hint=hint)


_HINTS = {
    401: "set token= or MLOPS_TOKEN to the server's caller token",
    403: "admin routes need the admin token: set admin_token= or MLOPS_ADMIN_TOKEN",
    413: "send fewer rows per call: split the data (and send the parts with call_parallel)",
    503: "still busy or loading after the retries: retry later, or raise retries=",
    504: "the model ran past its deadline (limits.timeout_ms): send fewer rows per call",
}
