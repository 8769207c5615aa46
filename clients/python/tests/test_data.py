"""The request body: data made into strict JSON (no server needed)."""

from __future__ import annotations

import datetime
import decimal
import json

import numpy as np
import pandas as pd
import pytest

from mlops_client._data import request_body, to_json_data


def body(data, **kwargs):
    return json.loads(request_body(data, **kwargs))


def test_envelope_has_data_and_to_file_and_metadata_only_when_asked():
    assert body({"x": [1]}) == {"data": {"x": [1]}, "to_file": False}
    assert body({"x": [1]}, to_file=True) == {"data": {"x": [1]}, "to_file": True}
    assert body({"x": [1]}, metadata=True) == {"data": {"x": [1]}, "to_file": False, "metadata": True}


def test_dict_of_lists_nan_becomes_null():
    assert to_json_data({"a": [1.5, float("nan"), None], "b": ["x", None, "z"]}) == {
        "a": [1.5, None, None],
        "b": ["x", None, "z"],
    }


def test_dataframe_missing_values_and_numpy_types():
    df = pd.DataFrame(
        {
            "f": [1.0, np.nan, 3.5],
            "i": np.array([1, 2, 3], dtype=np.int64),
            "b": [True, False, True],
            "s": ["a", None, "c"],
            "n": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    data = to_json_data(df)
    assert data == {
        "f": [1.0, None, 3.5],
        "i": [1, 2, 3],
        "b": [True, False, True],
        "s": ["a", None, "c"],
        "n": [1, None, 3],
    }
    for column in data.values():
        for value in column:
            assert value is None or type(value) in (float, int, bool, str)
    # and the body is valid strict JSON
    json.loads(request_body(df), parse_constant=lambda c: pytest.fail(f"sent {c}"))


def test_nat_becomes_null_but_timestamps_are_refused_naming_the_column():
    assert to_json_data({"t": [pd.NaT, np.datetime64("NaT")]}) == {"t": [None, None]}
    df = pd.DataFrame({"x": [1.0], "when": [pd.Timestamp("2024-01-01")]})
    with pytest.raises(TypeError, match=r"column 'when', row 0 .*Timestamp"):
        to_json_data(df)


def test_infinity_is_refused_naming_column_and_row():
    with pytest.raises(ValueError, match=r"column 'DEN', row 2 is inf"):
        request_body({"DEN": [2.3, 2.4, float("inf")]})
    df = pd.DataFrame({"A": [1.0, -np.inf]}, index=["w1", "w2"])
    with pytest.raises(ValueError, match=r"column 'A', row 1 \(index 'w2'\) is -inf"):
        request_body(df)


def test_values_json_cannot_hold_are_refused():
    with pytest.raises(TypeError, match=r"column 'd', row 1 holds a Decimal"):
        to_json_data({"d": [1, decimal.Decimal("1.5")]})
    with pytest.raises(TypeError, match=r"data\['a'\]\['b'\] holds a date"):
        to_json_data({"a": {"b": datetime.date(2024, 1, 1)}})
    with pytest.raises(TypeError, match=r"keys must be strings"):
        to_json_data({"a": {1: 2}})


def test_dataframe_column_names_must_be_unique_strings():
    with pytest.raises(TypeError, match=r"column 0 .*named by a int"):
        to_json_data(pd.DataFrame([[1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"duplicate columns \['a'\]"):
        to_json_data(pd.DataFrame([[1.0, 2.0]], columns=["a", "a"]))


def test_any_json_document_passes_through_with_numpy_inside():
    doc = {"wells": [{"name": "A", "depth": np.float32(1.5), "curves": np.array([1, 2])}], "k": 3}
    assert to_json_data(doc) == {"wells": [{"name": "A", "depth": 1.5, "curves": [1, 2]}], "k": 3}
    assert to_json_data([1, "two", None, True]) == [1, "two", None, True]
    assert to_json_data(pd.Series([1.0, np.nan])) == [1.0, None]
