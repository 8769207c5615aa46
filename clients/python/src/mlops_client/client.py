"""The client of one mlops-host server: calls, services, the Model Manager."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ._data import request_body
from ._http import Answer, Transport
from .errors import MlopsError, NotFound, ServerError

#: Where the server is when neither ``url=`` nor ``MLOPS_URL`` says.
DEFAULT_URL = "http://127.0.0.1:8080"

Json = Dict[str, Any]
Version = Union[int, str]
PathLike = Union[str, "os.PathLike[str]"]


class Client:
    """A client of one mlops-host server.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8080`` (default:
            ``MLOPS_URL``, else ``http://127.0.0.1:8080``).
        token: the caller token, sent as ``Authorization: Bearer <token>``
            (default: ``MLOPS_TOKEN``; ``""`` sends none).
        admin_token: the admin token, for :meth:`Models.promote` (default:
            ``MLOPS_ADMIN_TOKEN``; without one, ``token`` is used).
        retries: how many times a request is sent again after a
            connection failure, 429 or 503 (0 for never).
        backoff: the first wait between attempts, seconds; it doubles per
            attempt (a ``Retry-After`` from the server replaces it; any
            wait is capped at 30 s).
        timeout: seconds to connect, and then to wait for each read of the
            answer, per attempt.

    A client holds no connection and no mutable state: share one between
    threads freely.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        admin_token: Optional[str] = None,
        retries: int = 3,
        backoff: float = 0.1,
        timeout: float = 60.0,
    ) -> None:
        url = url or os.environ.get("MLOPS_URL") or DEFAULT_URL
        self._transport = Transport(url, retries, backoff, timeout)
        self._token = (os.environ.get("MLOPS_TOKEN") if token is None else token) or None
        admin = os.environ.get("MLOPS_ADMIN_TOKEN") if admin_token is None else admin_token
        self._admin_token = admin or None
        self.services = Services(self)
        self.models = Models(self)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._transport.url

    def __repr__(self) -> str:
        token = "set" if self._token else "none"
        admin = "set" if self._admin_token else "none"
        return f"mlops_client.Client(url={self.url!r}, token={token}, admin_token={admin})"

    def call(
        self, external_id: str, data: Any, to_file: bool = False, metadata: bool = False
    ) -> Json:
        """Calls a service and returns its answer, ``{"status": "ok",
        "prediction": ..., "prediction_file": None, "model_id": ...}``.

        Args:
            external_id: ``<model>-<service>-<env>`` (the latest version) or
                ``<model>-<service>-<env>-<version>`` (a pinned one).
            data: a pandas DataFrame, a dict of columns (``{"name":
                [values...]}``) or, for a model taking JSON, any JSON
                document. NaN, NaT and None are sent as null (a missing
                value).
            to_file: have the server write the prediction to a file and
                answer its id in ``prediction_file``.
            metadata: ask for the answer's ``metadata`` block.

        Raises:
            ValueError: a value is infinite (JSON has no infinity).
            TypeError: a value JSON cannot hold (e.g. a timestamp).
            MlopsError: the call failed; the subclass says how.
        """
        body = request_body(data, to_file=to_file, metadata=metadata)
        return self._call_body(external_id, body)

    def call_parallel(
        self,
        external_id: str,
        list_of_data: Iterable[Any],
        concurrency: int = 8,
        to_file: bool = False,
        metadata: bool = False,
    ) -> List[Json]:
        """Calls a service once per item of ``list_of_data``, at most
        ``concurrency`` calls at a time, and returns the answers in the
        order of the inputs.

        Every call runs to its end even when some fail. If any failed, the
        error of the first failed input (in input order) is raised once all
        are done, with ``index`` (its position) and ``results`` (one entry
        per input: the answer dict, or that call's exception) set, so the
        answers that did arrive are not lost.

        Every item is converted before the first call is sent: a ValueError
        or TypeError names the item and nothing is sent.
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        bodies: List[bytes] = []
        for i, data in enumerate(list_of_data):
            try:
                bodies.append(request_body(data, to_file=to_file, metadata=metadata))
            except (TypeError, ValueError) as e:
                raise type(e)(f"list_of_data[{i}]: {e}") from e
        if not bodies:
            return []
        results: List[Union[Json, MlopsError]] = []
        with ThreadPoolExecutor(max_workers=min(concurrency, len(bodies))) as pool:
            futures = [pool.submit(self._call_body, external_id, body) for body in bodies]
            try:
                for future in futures:
                    try:
                        results.append(future.result())
                    except MlopsError as e:
                        results.append(e)
            except BaseException:  # Ctrl-C, or a bug: send no more calls
                for future in futures:
                    future.cancel()
                raise
        failed = [i for i, r in enumerate(results) if isinstance(r, MlopsError)]
        for i in failed:
            error = results[i]
            assert isinstance(error, MlopsError)
            error.index = i
            error.results = results
        if failed:
            first = results[failed[0]]
            assert isinstance(first, MlopsError)
            raise first
        return results  # type: ignore[return-value]  # no errors left

    def _call_body(self, external_id: str, body: bytes) -> Json:
        path = _path("services", _id(external_id), "call")
        answer = self._transport.send("POST", path, body=body, token=self._token)
        doc = self._json(answer, path)
        if doc.get("status") == "error":
            raise MlopsError(
                str(doc.get("message", "the service answered status error")),
                status=answer.status,
                envelope=doc,
                attempts=answer.attempts,
                url=self.url + path,
            )
        return doc

    def _get(self, path: str) -> Json:
        return self._json(self._transport.send("GET", path, token=self._token), path)

    def _json(self, answer: Answer, path: str) -> Json:
        try:
            doc = json.loads(answer.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ServerError(
                f"the answer is not JSON ({e}): {answer.body[:200]!r}",
                status=answer.status,
                attempts=answer.attempts,
                url=self.url + path,
            ) from e
        if not isinstance(doc, dict):
            raise ServerError(
                f"the answer is not a JSON object: {answer.body[:200]!r}",
                status=answer.status,
                attempts=answer.attempts,
                url=self.url + path,
            )
        return doc


class Services:
    """Deployed services (``client.services``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(
        self, env: Optional[str] = None, tags: Union[str, Iterable[str], None] = None
    ) -> List[Json]:
        """The services, optionally only those of ``env`` (dev, test or
        prod) and matching every tag (a tag matches a case-insensitive
        substring of the description, or a metadata value). ``tags`` is a
        list of strings or one comma-separated string."""
        query: Dict[str, str] = {}
        if env is not None:
            query["env"] = env
        if tags is not None:
            joined = tags if isinstance(tags, str) else ",".join(tags)
            if joined:
                query["tags"] = joined
        doc = self._client._get(_path("services", query=query))
        return list(doc.get("services", []))

    def get(self, external_id: str) -> Json:
        """One service, with its metadata (NotFound if there is none)."""
        return self._client._get(_path("services", _id(external_id)))


class Models:
    """The Model Manager: artifact versions per model and environment
    (``client.models``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(
        self, model: Optional[str] = None, env: Optional[str] = None, include_deleted: bool = False
    ) -> List[Json]:
        """The versions (records), sorted by model, env and version;
        deleted ones only with ``include_deleted``."""
        query: Dict[str, str] = {}
        if model is not None:
            query["model"] = model
        if env is not None:
            query["env"] = env
        if include_deleted:
            query["include_deleted"] = "true"
        doc = self._client._get(_path("models", query=query))
        return list(doc.get("versions", []))

    def get(self, model: str, env: str, version: Version) -> Json:
        """One version's record (NotFound if there is none)."""
        return self._client._get(_path("models", model, env, _version(version)))

    def latest(self, model: str, env: str) -> Json:
        """The record of the highest live (not deleted) version of ``model``
        in ``env``; NotFound (status None) if there is none."""
        live = [
            r
            for r in self.list(model=model, env=env)
            if r.get("model") == model and r.get("env") == env and not r.get("deleted")
        ]
        if not live:
            raise NotFound(
                f"no live version of {model} in {env}; "
                f"client.models.list(model={model!r}) shows what there is"
            )
        return max(live, key=lambda r: int(r["version"]))

    def download(
        self, model: str, env: str, folder: PathLike, version: Optional[Version] = None
    ) -> Json:
        """Downloads a version's files into ``folder`` and returns its
        record; the latest live version when ``version`` is None.

        ``folder`` must not exist or be empty (else ValueError); its parent
        is created if needed. The files go to a temporary folder beside it,
        each checked against the record's size, and only then is the
        temporary folder renamed to ``folder``: on any failure nothing is
        left behind.
        """
        target = Path(os.fspath(folder)).absolute()
        _check_empty(target)
        record = self.latest(model, env) if version is None else self.get(model, env, version)
        model_id = record.get("model_id", f"{model}/{env}/{record.get('version')}")
        files = _files(record, model_id)
        remote = _path("models", model, env, _version(record.get("version", version)), "file")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.parent / f".{target.name}.{secrets.token_hex(4)}.partial"
        os.mkdir(partial)
        try:
            for name, relative, size in files:
                dest = partial.joinpath(*relative.parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "xb") as out:
                    path = remote + "?" + _query({"path": name})
                    answer = self._client._transport.send(
                        "GET", path, token=self._client._token, sink=out
                    )
                if answer.size != size:
                    raise ServerError(
                        f"{model_id}: file {name!r} arrived with {answer.size} bytes, its "
                        f"record says {size}; nothing was kept, try again",
                        url=self._client.url + path,
                    )
            _check_empty(target)
            if target.exists():
                target.rmdir()
            os.rename(partial, target)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return record

    def promote(self, model: str, env: str, version: Version, to: Optional[str] = None) -> Json:
        """Promotes a version to the next environment (dev → test → prod),
        or to ``to``, under the same number. Needs the admin token. Returns
        ``{"status": "ok", "promoted": <record>, "already_there": bool}``:
        promoting again is harmless (``already_there`` True)."""
        body = json.dumps({} if to is None else {"to": to}).encode("utf-8")
        path = _path("models", model, env, _version(version), "promote")
        client = self._client
        token = client._admin_token or client._token
        return client._json(client._transport.send("POST", path, body=body, token=token), path)


def _quote(value: str) -> str:
    """Percent-encodes everything but unreserved characters (a space is
    %20, not +; a slash or comma is encoded too)."""
    return urllib.parse.quote(value, safe="")


def _query(params: Mapping[str, str]) -> str:
    """``a=1&b=2``, each key and value percent-encoded."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items())


def _path(*segments: str, query: Optional[Mapping[str, str]] = None) -> str:
    """``/a/b`` from segments, each percent-encoded, and a query."""
    path = "/" + "/".join(_quote(s) for s in segments)
    if query:
        path += "?" + _query(query)
    return path


def _id(external_id: str) -> str:
    if not isinstance(external_id, str) or not external_id:
        raise ValueError(
            f"an external id is a non-empty string like 'well_log-prediction-dev', not {external_id!r}"
        )
    return external_id


def _version(version: Any) -> str:
    try:
        number = int(version)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or isinstance(version, bool) or str(version).strip() != str(number):
        raise ValueError(f"a version is a positive integer, not {version!r}")
    return str(number)


def _check_empty(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(
            f"{folder} already exists and is not an empty folder; "
            "download into a new or empty folder"
        )


def _files(record: Json, model_id: str) -> List[Tuple[str, PurePosixPath, int]]:
    """``(server path, safe relative path, size)`` for each file of a
    record; refuses any path that would land outside the folder."""
    files = record.get("files")
    if not isinstance(files, list):
        raise ServerError(f"{model_id}: the record has no list of files: {record!r:.200}")
    out = []
    for f in files:
        name = f.get("path") if isinstance(f, dict) else None
        size = f.get("size") if isinstance(f, dict) else None
        if not isinstance(name, str) or not isinstance(size, int) or isinstance(size, bool):
            raise ServerError(f"{model_id}: a file entry without path and size: {f!r:.200}")
        out.append((name, _relative(name, model_id), size))
    return out


def _relative(name: str, model_id: str) -> PurePosixPath:
    """A server's file path as a safe relative path: no absolute path, no
    drive, no backslash, no ``..``, not empty."""
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or path.is_absolute()
        or PureWindowsPath(name).drive
        or not path.parts
        or any(part == ".." for part in path.parts)
    ):
        raise ServerError(
            f"{model_id}: refusing the file path {name!r} from the server: it is not a plain "
            "relative path inside the folder; nothing was written"
        )
    return path
