"""The one conversion of results to JSON-ready values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["jsonable"]


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types: dicts with string keys, lists, finite floats (NaN and inf
    become ``None``), ints, strings, booleans. Tables become lists of records (a Series a dict),
    timestamps ISO strings, paths strings; objects with ``to_dict()`` are converted through it.

    >>> jsonable({"a": np.float64("nan"), "b": (1, np.int64(2)), "c": pd.Timestamp("2020-01-02")})
    {'a': None, 'b': [1, 2], 'c': '2020-01-02T00:00:00'}
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return jsonable(obj.reset_index().to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return jsonable({str(k): v for k, v in obj.items()})
    if isinstance(obj, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(obj).isoformat()
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    return str(obj)
