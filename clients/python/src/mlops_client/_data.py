"""The request body of a call: the user's data made into strict JSON.

``data`` is a pandas DataFrame (duck-typed, pandas is never imported), a
dict of columns, or any JSON document. Missing values (NaN, NaT, pandas
NA, None) become ``null``; numpy scalars and arrays become Python numbers
and lists; infinities and values JSON cannot hold are refused, naming the
column and row (or the path in a document) so the caller can fix them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

Path = Tuple[Union[str, int], ...]


def request_body(data: Any, *, to_file: bool = False, metadata: bool = False) -> bytes:
    """The body of ``POST /services/{id}/call``: ``{"data": ..., "to_file":
    ...}``, plus ``"metadata": true`` only when asked for."""
    envelope: Dict[str, Any] = {"data": to_json_data(data), "to_file": bool(to_file)}
    if metadata:
        envelope["metadata"] = True
    return json.dumps(envelope, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def to_json_data(data: Any) -> Any:
    """``data`` as plain JSON values (dict, list, str, int, float, bool,
    None). Raises ValueError for an infinity, TypeError for a value JSON
    cannot hold."""
    if is_dataframe(data):
        return _frame(data)
    return _clean(data, (), None)


def is_dataframe(obj: Any) -> bool:
    """Whether ``obj`` looks like a pandas DataFrame."""
    return (
        not isinstance(obj, Mapping)
        and hasattr(obj, "to_dict")
        and hasattr(obj, "columns")
        and hasattr(obj, "index")
    )


def _frame(df: Any) -> Any:
    columns = list(df.columns)
    for name in columns:
        if not isinstance(name, str):
            raise TypeError(
                f"column {name!r} of the DataFrame is named by a {type(name).__name__}; "
                "columns must be named by strings (df.columns = df.columns.astype(str))"
            )
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise ValueError(f"the DataFrame has duplicate columns {dupes}; rename them")
    labels = list(df.index)
    return _clean(df.to_dict(orient="list"), (), labels)


def _clean(value: Any, path: Path, labels: Optional[Sequence[Any]]) -> Any:
    if value is None or isinstance(value, str):
        return None if value is None else str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise ValueError(
                f"{_where(path, labels)} is {value} (infinite): JSON has no infinity; "
                "replace it with a finite number, or None for a missing value"
            )
        return float(value)
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas.NA, pandas.NaT
        return None
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"{_where(path + (str(key),), labels)}: keys must be strings, "
                    f"not {type(key).__name__} ({key!r})"
                )
            out[key] = _clean(item, path + (key,), labels)
        return out
    if isinstance(value, (list, tuple)):
        return _clean_list(value, path, labels)
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # a numpy scalar
        plain = value.item()
        if type(plain) is type(value):
            raise _unsupported(value, path, labels)
        return _clean(plain, path, labels)
    if hasattr(value, "tolist"):  # a numpy array or pandas Series
        return _clean(value.tolist(), path, labels)
    raise _unsupported(value, path, labels)


def _clean_list(values: Sequence[Any], path: Path, labels: Optional[Sequence[Any]]) -> Any:
    """:func:`_clean` of each item, with plain values (most of a column)
    handled inline: columns of millions of values are common."""
    out: List[Any] = []
    append = out.append
    isfinite = math.isfinite
    for i, item in enumerate(values):
        kind = type(item)
        if kind is float and isfinite(item):
            append(item)
        elif kind is str or kind is int or kind is bool or item is None:
            append(item)
        else:
            append(_clean(item, path + (i,), labels))
    return out


def _unsupported(value: Any, path: Path, labels: Optional[Sequence[Any]]) -> TypeError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return TypeError(
        f"{_where(path, labels)} holds a {type(value).__name__} ({shown}), which JSON cannot "
        "hold; convert it first (e.g. to str with .astype(str) or .isoformat(), or to float)"
    )


def _where(path: Path, labels: Optional[Sequence[Any]]) -> str:
    """Where a value is: "column 'DEN', row 3" in columns, else a path."""
    if len(path) >= 2 and isinstance(path[0], str) and isinstance(path[1], int):
        row = path[1]
        where = f"column {path[0]!r}, row {row}"
        if labels is not None and row < len(labels) and not _same(labels[row], row):
            where += f" (index {labels[row]!r})"
        rest = "".join(f"[{p!r}]" for p in path[2:])
        return where + (f", at {rest}" if rest else "")
    if len(path) == 1 and isinstance(path[0], str):
        return f"column {path[0]!r}"
    return "data" + "".join(f"[{p!r}]" for p in path)


def _same(label: Any, row: int) -> bool:
    try:
        return bool(label == row)
    except (TypeError, ValueError):
        return False
