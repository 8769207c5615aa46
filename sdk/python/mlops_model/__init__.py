"""Write an mlops-host model in Python (componentize-py).

A model is a class; one instance is built per sandbox instance by
``initialization`` and used by every ``predict``::

    import mlops_model
    from mlops_model import Field, Frame, ModelError

    class Doubler(mlops_model.Model):
        inputs = [Field.f64("x", "any number")]
        outputs = [Field.f64("y", "twice x")]

        def initialization(self, artifact_folder, secrets):
            mlops_model.log.info("ready")

        def predict(self, frame, secrets):
            return Frame.from_f64("y", [2.0 * v for v in frame.f64("x")])

    Prediction = mlops_model.export(Doubler)

``export`` returns the class componentize-py looks for in the app module: the
module must bind it to the name ``Prediction``. Build with::

    componentize-py -d wit -w predictor componentize app -p . -p <this folder's parent> -o model.wasm

A model that also trains defines ``train`` and binds ``Training`` as well,
and is built for the world ``model`` (``-w model``)::

        def train(self, frame, folder_path, secrets):
            slope = ...  # fit it to the frame's columns
            mlops_model.write_artifact(folder_path, "params.json", json.dumps({"slope": slope}))
            return {"rows": frame.rows}

    Training = mlops_model.export_training(Doubler)

``train`` runs on an instance of its own (``initialization`` is not called):
what it writes into ``folder_path`` becomes a new artifact version, with the
returned metadata; an error or a trap leaves no version.

The package mirrors the Rust SDK (``sdk/rust``): the same error messages,
the same validity-bitmap rules, the same signature defaults.
"""

import os
import sys
import traceback
import types as _pytypes
from typing import Dict, List, Optional, Sequence, Union

from componentize_py_types import Err
from wit_world.imports import logging as _logging
from wit_world.imports import types as _wit

try:  # in a component built with numpy (`build-component.sh … --with numpy`)
    import numpy as _np
except ImportError:
    _np = None

__all__ = [
    "Field",
    "Frame",
    "Model",
    "ModelError",
    "export",
    "log",
    "read_artifact",
    "read_artifact_text",
    "secret",
    "write_artifact",
]


class ModelError(Exception):
    """An error the model reports on purpose; raise it from a model method.

    Any other exception becomes an ``internal`` error (its traceback is
    logged), so a bug does not crash the instance.
    """

    def __init__(self, kind: _wit.ErrorKind, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message

    @classmethod
    def bad_input(cls, message: str) -> "ModelError":
        """The caller's data is wrong; the message says what to fix."""
        return cls(_wit.ErrorKind.BAD_INPUT, message)

    @classmethod
    def bad_artifact(cls, message: str) -> "ModelError":
        """An artifact is missing or malformed."""
        return cls(_wit.ErrorKind.BAD_ARTIFACT, message)

    @classmethod
    def unsupported(cls, message: str) -> "ModelError":
        """The model does not offer this operation."""
        return cls(_wit.ErrorKind.UNSUPPORTED, message)

    @classmethod
    def internal(cls, message: str) -> "ModelError":
        """Anything else."""
        return cls(_wit.ErrorKind.INTERNAL, message)


_TYPE_NAMES = {
    _wit.ColumnData_F64: "f64",
    _wit.ColumnData_S64: "s64",
    _wit.ColumnData_String: "string",
    _wit.ColumnData_Bool: "bool",
}


def _check_name(name: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ModelError.internal(
            f"artifact name `{name}` is not a relative path inside the folder (like `model.json` or `sub/model.json`)"
        )


def _numpy():
    if _np is None:
        raise ModelError.internal(
            "numpy is not in this component: build it with numpy "
            "(`mlops-host init --lang python --with numpy`, or `--with numpy` to sdk/python/build-component.sh)"
        )
    return _np


def _bitmap(valid: Sequence[bool]) -> Optional[bytes]:
    """The validity bitmap for ``valid`` (bit ``i % 8`` of byte ``i // 8``,
    least significant bit first), or ``None`` when every row is present."""
    if all(valid):
        return None
    bits = bytearray((len(valid) + 7) // 8)
    for row, present in enumerate(valid):
        if present:
            bits[row // 8] |= 1 << (row % 8)
    return bytes(bits)


def _row_valid(column: _wit.Column, row: int) -> bool:
    bits = column.validity
    if bits is None:
        return True
    byte = row // 8
    return byte < len(bits) and bits[byte] & (1 << (row % 8)) != 0


class Frame:
    """A table of named columns: what ``predict`` reads and returns."""

    def __init__(self, columns: Optional[List[_wit.Column]] = None):
        self.columns: List[_wit.Column] = columns if columns is not None else []

    @classmethod
    def from_f64(cls, name: str, values: List[float], valid: Optional[Sequence[bool]] = None) -> "Frame":
        """A frame with one ``f64`` column; ``valid[i]`` False marks row ``i``
        missing (its value should be 0.0)."""
        return cls().with_f64(name, values, valid)

    def with_f64(self, name: str, values: List[float], valid: Optional[Sequence[bool]] = None) -> "Frame":
        """Adds an ``f64`` column and returns the frame."""
        return self._with(name, _wit.ColumnData_F64(values), valid)

    def with_s64(self, name: str, values: List[int], valid: Optional[Sequence[bool]] = None) -> "Frame":
        """Adds an ``s64`` column and returns the frame."""
        return self._with(name, _wit.ColumnData_S64(values), valid)

    def with_strings(self, name: str, values: List[str], valid: Optional[Sequence[bool]] = None) -> "Frame":
        """Adds a string column and returns the frame."""
        return self._with(name, _wit.ColumnData_String(values), valid)

    def with_bools(self, name: str, values: List[bool], valid: Optional[Sequence[bool]] = None) -> "Frame":
        """Adds a boolean column and returns the frame."""
        return self._with(name, _wit.ColumnData_Bool(values), valid)

    @classmethod
    def from_array(cls, name: str, values, valid=None) -> "Frame":
        """A frame with one column from a numpy array (see ``with_array``)."""
        return cls().with_array(name, values, valid)

    def with_array(self, name: str, values, valid=None) -> "Frame":
        """Adds a column from a numpy array and returns the frame: float
        arrays become ``f64``, integer arrays ``s64``, boolean arrays
        ``bool``, string or object arrays ``string``. ``valid`` is a boolean
        array (False marks a missing row) or ``None``. Converted in C
        (``tolist``), without a Python loop per value."""
        np = _numpy()
        array = np.asarray(values)
        if array.ndim != 1:
            raise ModelError.internal(f"column `{name}` must be one-dimensional, got shape {array.shape}")
        kind = array.dtype.kind
        if kind == "f":
            data = _wit.ColumnData_F64(array.astype(np.float64, copy=False).tolist())
        elif kind in "iu":
            data = _wit.ColumnData_S64(array.astype(np.int64).tolist())
        elif kind == "b":
            data = _wit.ColumnData_Bool(array.tolist())
        elif kind in "UO":
            data = _wit.ColumnData_String([str(v) for v in array.tolist()])
        else:
            raise ModelError.internal(f"column `{name}`: numpy dtype {array.dtype} has no column type")
        validity = None
        if valid is not None:
            mask = np.asarray(valid, dtype=np.bool_)
            if mask.shape != array.shape:
                raise ModelError.internal(f"column `{name}`: `valid` has shape {mask.shape}, the values {array.shape}")
            if not mask.all():
                validity = np.packbits(mask, bitorder="little").tobytes()
        self.columns.append(_wit.Column(name=name, data=data, validity=validity))
        return self

    def _with(self, name: str, data: _wit.ColumnData, valid: Optional[Sequence[bool]]) -> "Frame":
        validity = None if valid is None else _bitmap(valid)
        self.columns.append(_wit.Column(name=name, data=data, validity=validity))
        return self

    @property
    def rows(self) -> int:
        """The number of rows (that of the first column; 0 without columns)."""
        return len(self.columns[0].data.value) if self.columns else 0

    def column(self, name: str) -> _wit.Column:
        """The column called ``name``, or a ``bad-input`` error naming it."""
        for column in self.columns:
            if column.name == name:
                return column
        have = ", ".join(c.name for c in self.columns) or "no columns"
        raise ModelError.bad_input(f"missing column `{name}` (the request has: {have})")

    def _values(self, name: str, want: type) -> list:
        data = self.column(name).data
        if not isinstance(data, want):
            raise ModelError.bad_input(
                f"column `{name}` holds {_TYPE_NAMES[type(data)]} values, expected {_TYPE_NAMES[want]}"
            )
        return data.value

    def f64(self, name: str) -> List[float]:
        """The ``f64`` values of column ``name`` (missing rows hold 0.0)."""
        return self._values(name, _wit.ColumnData_F64)

    def s64(self, name: str) -> List[int]:
        """The ``s64`` values of column ``name``."""
        return self._values(name, _wit.ColumnData_S64)

    def strings(self, name: str) -> List[str]:
        """The strings of column ``name``."""
        return self._values(name, _wit.ColumnData_String)

    def bools(self, name: str) -> List[bool]:
        """The booleans of column ``name``."""
        return self._values(name, _wit.ColumnData_Bool)

    def array(self, name: str):
        """Column ``name`` as a numpy array (``f64`` → float64, ``s64`` →
        int64, ``bool`` → bool, ``string`` → object), converted in C
        without a Python loop per value. Missing rows hold 0, False or "".
        Needs a component built with numpy."""
        np = _numpy()
        data = self.column(name).data
        if isinstance(data, _wit.ColumnData_F64):
            return np.array(data.value, dtype=np.float64)
        if isinstance(data, _wit.ColumnData_S64):
            return np.array(data.value, dtype=np.int64)
        if isinstance(data, _wit.ColumnData_Bool):
            return np.array(data.value, dtype=np.bool_)
        return np.array(data.value, dtype=object)

    def f64_array(self, name: str):
        """The ``f64`` column ``name`` as a float64 numpy array (``bad-input``
        when it is missing or of another type, like ``f64``)."""
        return _numpy().array(self.f64(name), dtype=_np.float64)

    def valid_array(self, *names: str):
        """``valid`` as a numpy boolean array (True where every one of the
        named columns has a value), or ``None`` when none of them has a
        validity bitmap. Needs a component built with numpy."""
        np = _numpy()
        columns = [self.column(name) for name in names]
        if all(c.validity is None for c in columns):
            return None
        rows = len(columns[0].data.value)
        valid = np.ones(rows, dtype=np.bool_)
        for column in columns:
            if column.validity is None:
                continue
            bits = np.unpackbits(np.frombuffer(bytes(column.validity), dtype=np.uint8), bitorder="little")
            present = np.zeros(rows, dtype=np.bool_)  # rows past a short bitmap are missing
            n = min(rows, bits.size)
            present[:n] = bits[:n].astype(np.bool_)
            valid &= present
        return valid

    def all_valid(self, name: str) -> bool:
        """Whether column ``name`` has a value in every row."""
        column = self.column(name)
        bits = column.validity
        if bits is None:
            return True
        full, rest = divmod(len(column.data.value), 8)
        if len(bits) < full + (rest > 0) or bytes(bits[:full]) != b"\xff" * full:
            return False
        mask = (1 << rest) - 1
        return rest == 0 or bits[full] & mask == mask

    def valid(self, *names: str) -> Optional[List[bool]]:
        """Which rows hold a value in every one of the named columns, or
        ``None`` when none of them has a validity bitmap (every row present:
        the fast path). Rows past the end of a short bitmap are missing."""
        columns = [self.column(name) for name in names]
        if all(c.validity is None for c in columns):
            return None
        rows = len(columns[0].data.value) if columns else 0
        return [all(_row_valid(c, row) for c in columns) for row in range(rows)]


class Field:
    """Builds the ``field`` records of a signature."""

    @staticmethod
    def required(name: str, data_type: _wit.DataType, description: str) -> _wit.Field:
        """A column the model needs (rows may be missing)."""
        return _wit.Field(name=name, type=data_type, required=True, nullable=True, description=description)

    @staticmethod
    def optional(name: str, data_type: _wit.DataType, description: str) -> _wit.Field:
        """A column the model uses when it is there."""
        return _wit.Field(name=name, type=data_type, required=False, nullable=True, description=description)

    @staticmethod
    def f64(name: str, description: str) -> _wit.Field:
        """A required ``f64`` column."""
        return Field.required(name, _wit.DataType.F64, description)


class _Log:
    """Logging to the host: ``log.info("message", key="value", ...)``."""

    @staticmethod
    def _emit(level: _logging.Level, message: str, fields: Dict[str, object]) -> None:
        _logging.log(level, message, [(k, str(v)) for k, v in fields.items()])

    def trace(self, message: str, **fields: object) -> None:
        self._emit(_logging.Level.TRACE, message, fields)

    def debug(self, message: str, **fields: object) -> None:
        self._emit(_logging.Level.DEBUG, message, fields)

    def info(self, message: str, **fields: object) -> None:
        self._emit(_logging.Level.INFO, message, fields)

    def warn(self, message: str, **fields: object) -> None:
        self._emit(_logging.Level.WARN, message, fields)

    def error(self, message: str, **fields: object) -> None:
        self._emit(_logging.Level.ERROR, message, fields)


log = _Log()

# The secrets of the call in progress; `secret` reads them.
_secrets: Dict[str, str] = {}


def secret(name: str) -> Optional[str]:
    """The value of a secret the model declared, if the host has it. Valid
    inside ``initialization``, ``predict`` and ``train``."""
    return _secrets.get(name)


def read_artifact(artifact_folder: Optional[str], name: str) -> bytes:
    """Reads an artifact file. A missing folder or file is a ``bad-artifact``
    error that names the file."""
    if artifact_folder is None:
        raise ModelError.bad_artifact(
            f"the model needs artifact `{name}` but has no artifact folder: "
            "set `artifact_folder` in mlops_settings.yaml"
        )
    try:
        with open(f"{artifact_folder}/{name}", "rb") as file:
            return file.read()
    except OSError as e:
        raise ModelError.bad_artifact(f"cannot read artifact `{name}`: {e.strerror or e}") from None


def read_artifact_text(artifact_folder: Optional[str], name: str) -> str:
    """Reads an artifact file as UTF-8 text."""
    try:
        return read_artifact(artifact_folder, name).decode("utf-8")
    except UnicodeDecodeError:
        raise ModelError.bad_artifact(f"artifact `{name}` is not UTF-8 text") from None


def write_artifact(folder_path: str, name: str, content: Union[bytes, str]) -> None:
    """Writes an artifact file into ``folder_path`` (the folder ``train`` is
    given); ``name`` may hold subfolders (``sub/model.json``). Text is
    written as UTF-8. A failure is an ``internal`` error naming the file."""
    _check_name(name)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    path = f"{folder_path}/{name}"
    try:
        if "/" in name:
            os.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with open(path, "wb") as file:
            file.write(data)
    except OSError as e:
        raise ModelError.internal(f"cannot write artifact `{name}`: {e.strerror or e}") from None


class Model:
    """Base class of a model. Class attributes describe its signature:

    - ``inputs``: a list of fields (the model reads a frame), ``"json"`` (it
      reads a JSON document, passed as ``str``) or ``"any"`` (it gets a
      ``Frame`` or a ``str`` and checks itself). Default ``"any"``.
    - ``outputs``: the same for what ``predict`` returns. Default ``"any"``.
    """

    inputs: Union[List[_wit.Field], str] = "any"
    outputs: Union[List[_wit.Field], str] = "any"

    def initialization(self, artifact_folder: Optional[str], secrets: Dict[str, str]) -> None:
        """Loads what ``predict`` needs (read artifacts, check them)."""

    def predict(self, data: Union[Frame, str], secrets: Dict[str, str]) -> Union[Frame, str]:
        """Predicts from ``data``: returns a ``Frame`` or JSON text."""
        raise ModelError.unsupported("this model does not predict")

    def train(self, data: Union[Frame, str], folder_path: str, secrets: Dict[str, str]) -> Optional[Dict[str, object]]:
        """Trains on ``data`` (a ``Frame``, or JSON text) and writes the new
        artifacts into ``folder_path`` (``write_artifact``). Returns string
        metadata for the new version (values are turned into text), or
        ``None``. Runs on an instance of its own: ``initialization`` is not
        called first."""
        raise ModelError.unsupported("this model does not train")


def _schema(spec: Union[List[_wit.Field], str]) -> _wit.Schema:
    if spec == "json":
        return _wit.Schema_Json()
    if spec == "any":
        return _wit.Schema_Any()
    return _wit.Schema_Frame(list(spec))


def _input(spec: Union[List[_wit.Field], str], data: _wit.Payload) -> Union[Frame, str]:
    if isinstance(data, _wit.Payload_Frame):
        if spec == "json":
            raise ModelError.bad_input("this model reads a JSON document, not columns")
        return Frame(data.value.columns)
    if spec not in ("json", "any"):
        raise ModelError.bad_input("this model reads columns: send `data` as an object of named columns")
    return data.value


def _output(result: Union[Frame, str]) -> _wit.Payload:
    if isinstance(result, Frame):
        return _wit.Payload_Frame(_wit.Frame(result.columns))
    if isinstance(result, str):
        return _wit.Payload_Json(result)
    raise ModelError.internal(f"predict returned a {type(result).__name__}: return a Frame or JSON text")


def _entries(metadata: object) -> List[_wit.Entry]:
    if metadata is None:
        return []
    if not isinstance(metadata, dict):
        raise ModelError.internal(
            f"train returned a {type(metadata).__name__}: return a dict of metadata (or None)"
        )
    return [_wit.Entry(key=str(k), value=str(v)) for k, v in metadata.items()]


def _call(secrets: List[_wit.Secret], method, *args):
    """Runs a model method with the call's secrets, turning exceptions into
    the `model-error` a WIT `result` carries."""
    global _secrets
    _secrets = {s.name: s.value for s in secrets}
    try:
        return method(*args, _secrets)
    except ModelError as e:
        raise Err(_wit.ModelError(kind=e.kind, message=e.message)) from None
    except Exception as e:
        log.error("unexpected exception", traceback=traceback.format_exc())
        raise Err(_wit.ModelError(kind=_wit.ErrorKind.INTERNAL, message=f"{type(e).__name__}: {e}")) from None
    finally:
        _secrets = {}


class _State:
    """The `state` resource: holds the model instance `initialization` built."""

    def __init__(self, model: Model):
        self.model = model


def export(model_class: type) -> type:
    """The `prediction` export for ``model_class``; bind it to ``Prediction``
    in the app module."""

    class Prediction:
        def initialization(self, artifact_folder: Optional[str], secrets: List[_wit.Secret]) -> _State:
            model = model_class()
            _call(secrets, model.initialization, artifact_folder)
            return _State(model)

        def predict(self, data: _wit.Payload, state: _State, secrets: List[_wit.Secret]) -> _wit.Payload:
            model = state.model

            def run(payload, call_secrets):
                return _output(model.predict(_input(model_class.inputs, payload), call_secrets))

            return _call(secrets, run, data)

        def describe(self) -> _wit.Signature:
            return _wit.Signature(inputs=_schema(model_class.inputs), outputs=_schema(model_class.outputs))

    return Prediction


def export_training(model_class: type) -> type:
    """The `training` export for ``model_class`` (its ``train``); bind it to
    ``Training`` in the app module and build for the world ``model``."""

    class Training:
        def train(self, data: _wit.Payload, folder_path: str, secrets: List[_wit.Secret]) -> List[_wit.Entry]:
            def run(payload, call_secrets):
                model = model_class()
                return _entries(model.train(_input("any", payload), folder_path, call_secrets))

            return _call(secrets, run, data)

    return Training


# componentize-py finds the class of an exported resource in a module named
# after the exporting interface (`prediction.State`). Registering that module
# here spares every model a one-line `prediction.py`.
_resource_module = _pytypes.ModuleType("prediction")
_resource_module.State = _State
sys.modules.setdefault("prediction", _resource_module)
