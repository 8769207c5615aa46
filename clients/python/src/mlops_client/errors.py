"""Typed exceptions: one class per kind of failure, each carrying the
server's error envelope (``{"status": "error", "message": ..., "model_id":
...}``) when there was one.

Every exception of this package is an :class:`MlopsError`; catch the
subclasses to react to one kind of failure::

    try:
        client.call("well_log-prediction-dev", data)
    except mlops_client.BadRequest as e:      # fix the input
        print(e.message, e.envelope)
    except mlops_client.Unavailable:           # retried already; try later
        ...
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Type, Union


class MlopsError(Exception):
    """A request to mlops-host failed.

    Attributes:
        message: what went wrong (the envelope's ``message`` when the server
            sent one).
        status: the HTTP status, or None when no HTTP answer applies (the
            server was unreachable, or the check failed on this side).
        envelope: the server's JSON error body as a dict, or None.
        attempts: how many times the request was sent (retries included).
        url: the URL requested.
        hint: what to do about it, when this client knows better than the
            message (shown by ``str()``).
        index: in :meth:`Client.call_parallel`, the position in the input
            list of the call that failed; None elsewhere.
        results: in :meth:`Client.call_parallel`, one entry per input: the
            answer dict, or the exception of that call; None elsewhere.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        envelope: Optional[Dict[str, Any]] = None,
        attempts: int = 1,
        url: Optional[str] = None,
        hint: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status
        self.envelope = envelope
        self.attempts = attempts
        self.url = url
        self.index: Optional[int] = None
        self.results: Optional[List[Union[Dict[str, Any], "MlopsError"]]] = None

    @property
    def model_id(self) -> Optional[str]:
        """The envelope's ``model_id`` (the version that failed), if any."""
        if isinstance(self.envelope, dict):
            value = self.envelope.get("model_id")
            return value if isinstance(value, str) else None
        return None

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        item = f"list_of_data[{self.index}]: " if self.index is not None else ""
        hint = f" [{self.hint}]" if self.hint else ""
        status = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{item}{status}{self.message}{hint}{where}"


class BadRequest(MlopsError):
    """400: the request is wrong (the data does not fit the model's inputs,
    an unknown filter, a service of the wrong kind...). Fix it and resend."""


class Unauthorized(MlopsError):
    """401: no token, or a wrong one. Set ``token=`` or ``MLOPS_TOKEN``."""


class Forbidden(MlopsError):
    """403: the token is valid but too weak (admin routes need the admin
    token: set ``admin_token=`` or ``MLOPS_ADMIN_TOKEN``)."""


class NotFound(MlopsError):
    """404: no such service, model version or route."""


class Conflict(MlopsError):
    """409: the change conflicts with the store's state (e.g. a promotion
    target that already holds other content)."""


class PayloadTooLarge(MlopsError):
    """413: the request body is larger than the service accepts
    (``limits.max_request_mb``); send fewer rows per call."""


class ModelFailed(MlopsError):
    """The model itself failed: 422 when it refused its input (its message
    says why; the input is the caller's to fix), 500 when it crashed, hit a
    limit (memory, output size) or the host failed internally. Not retried:
    the same input fails again."""


class Unavailable(MlopsError):
    """503 (or 429) still, after the retries: every instance busy, the
    service not loaded yet, or the host still loading its store."""


class Timeout(MlopsError):
    """No answer in time. 408: the request body did not reach the server in
    time. ``status`` None: no answer within the client's ``timeout`` after
    the request was sent (the model may have run: not retried)."""


class GatewayTimeout(Timeout):
    """504: the call ran past the model's deadline (``limits.timeout_ms``),
    or a ``to_file`` upload ran past its deadline."""


class ServerError(MlopsError):
    """Another 5xx (502: the store or the prediction-file sink failed), or a
    downloaded file that does not match its record."""


class ConnectionFailed(MlopsError):
    """No HTTP answer: the server could not be reached after
    ``attempts`` tries (refused, unknown host, connect timeout), or the
    connection broke after the request was sent (not retried)."""


_BY_STATUS: Dict[int, Type[MlopsError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: BadRequest,
    408: Timeout,
    409: Conflict,
    413: PayloadTooLarge,
    422: ModelFailed,
    429: Unavailable,
    500: ModelFailed,
    503: Unavailable,
    504: GatewayTimeout,
}


def error_for_status(status: int) -> Type[MlopsError]:
    """The exception class for an HTTP error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 500 <= status < 600:
        return ServerError
    if 400 <= status < 500:
        return BadRequest
    return MlopsError
