"""Processes for the concurrent-cache test: two rewrite one cache file while a third reads it.

They run under the ``spawn`` start method, so each is a fresh interpreter. Importing the
``stratopt`` package runs its ``__init__``, which imports torch (seconds per process); the cache
code needs neither, so the workers load ``stratopt.data._cache`` with the package registered
but its ``__init__`` not run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

DATES = pd.bdate_range("2000-01-03", periods=500)
EPOCH = pd.Timestamp("2020-01-01", tz="UTC")
WRITES, READS = 40, 300


def cache_module() -> ModuleType:
    """``stratopt.data._cache``, without running ``stratopt/__init__.py`` if not imported yet."""
    if "stratopt" not in sys.modules:
        spec = importlib.util.find_spec("stratopt")
        assert spec is not None, "stratopt is not importable"
        sys.modules["stratopt"] = importlib.util.module_from_spec(spec)
    from stratopt.data import _cache

    return _cache


def version(writer: int, k: int) -> int:
    return 1000 * (writer + 1) + k


def write_version(folder: Path, number: int) -> None:
    """One complete version: every price equals ``number``, and so does its fetch time."""
    prices = pd.Series(float(number), index=DATES)
    fetched_at = EPOCH + pd.Timedelta(seconds=number)
    cache_module().write_cache(folder, "AAPL", prices, start=None, end=None, fetched_at=fetched_at)


def writer(folder: str, writer_id: int, go: Any) -> None:
    go.wait(timeout=120)
    for k in range(WRITES):
        write_version(Path(folder), version(writer_id, k))


def reader(folder: str, go: Any, results: Any) -> None:
    """Read the file READS times; every read must give one whole version written above."""
    read_cache = cache_module().read_cache
    go.wait(timeout=120)
    failed, seen, problems = 0, set(), []
    for _ in range(READS):
        try:
            entry = read_cache(Path(folder), "AAPL")
            if entry is None:
                raise AssertionError("no cache file")
            number = int(entry.prices.iloc[0])
            whole = len(entry.prices) == len(DATES) and bool((entry.prices == number).all())
            if not whole or entry.fetched_at != EPOCH + pd.Timedelta(seconds=number):
                raise AssertionError(f"prices of version {number} with the metadata of another, or partial")
            seen.add(number)
        except Exception as exc:  # every failure counts, whatever its kind
            failed += 1
            problems.append(f"{type(exc).__name__}: {exc}")
    results.put((failed, READS, len(seen), problems[:3]))
