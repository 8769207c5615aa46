"""Call mlops-host services from Python, and manage their model versions.

>>> import mlops_client
>>> client = mlops_client.Client("http://127.0.0.1:8080", token="...")
>>> client.call("well_log-prediction-dev", {"ACS": [190.0], "RDEP": [2.0], "DEN": [2.3]})
{'status': 'ok', 'prediction': {'AC': [...]}, 'prediction_file': None, 'model_id': 'well_log/dev/1'}

Or, with ``MLOPS_URL`` and ``MLOPS_TOKEN`` in the environment, as the
Python framework akerbp.mlops did::

    mlops_client.call("well_log-prediction-dev", df)

Standard library only; pandas DataFrames are accepted without importing
pandas.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Iterable, List, Optional

from ._version import __version__
from .client import DEFAULT_URL, Client, Models, Services
from .errors import (
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    GatewayTimeout,
    MlopsError,
    ModelFailed,
    NotFound,
    PayloadTooLarge,
    ServerError,
    Timeout,
    Unauthorized,
    Unavailable,
)

__all__ = [
    "__version__",
    "DEFAULT_URL",
    "Client",
    "Services",
    "Models",
    "call",
    "call_parallel",
    "default_client",
    "MlopsError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "PayloadTooLarge",
    "ModelFailed",
    "Unavailable",
    "Timeout",
    "GatewayTimeout",
    "ServerError",
    "ConnectionFailed",
]

_default: Optional[Client] = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The client the module-level functions use, built on first use from
    ``MLOPS_URL``, ``MLOPS_TOKEN`` and ``MLOPS_ADMIN_TOKEN`` (later changes
    to them are not seen: build a :class:`Client` for other settings)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


def call(
    external_id: str, data: Any, to_file: bool = False, metadata: bool = False
) -> Dict[str, Any]:
    """:meth:`Client.call` on the :func:`default_client`."""
    return default_client().call(external_id, data, to_file=to_file, metadata=metadata)


def call_parallel(
    external_id: str,
    list_of_data: Iterable[Any],
    concurrency: int = 8,
    to_file: bool = False,
    metadata: bool = False,
) -> List[Dict[str, Any]]:
    """:meth:`Client.call_parallel` on the :func:`default_client`."""
    return default_client().call_parallel(
        external_id, list_of_data, concurrency=concurrency, to_file=to_file, metadata=metadata
    )
