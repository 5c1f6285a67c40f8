"""Every stratopt warning points at the user's line, however deep inside stratopt it is raised."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest

import stratopt
from stratopt.errors import DivergenceWarning, PinnedParameterWarning, StratoptWarning
from stratopt.rules import MACrossover

SETTINGS = {"epochs": 2, "screen": 0, "n_starts": 1, "progress": False}


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return stratopt.load_prices("sp500", tickers=["AAPL", "XOM"], start="2004-01-01", end="2008-12-31")


@contextmanager
def origins() -> Iterator[list[tuple[type[Warning], str, int]]]:
    """stratopt's warnings raised in the block: (category, file, line)."""
    found: list[tuple[type[Warning], str, int]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield found
    found += [(w.category, w.filename, w.lineno) for w in caught if issubclass(w.category, StratoptWarning)]


def _here() -> int:
    """The line of the caller's next statement."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno + 1


def test_fit_findings_point_at_the_call_through_fit_and_through_the_tuner(prices: pd.DataFrame) -> None:
    rule = MACrossover(fast=100, slow=700)  # at the bound of fast: a pinned-parameter finding
    with origins() as found:
        line = _here()
        stratopt.fit(rule, prices, **SETTINGS)
    assert any(c is PinnedParameterWarning for c, _, _ in found)
    assert {(f, n) for _, f, n in found} == {(__file__, line)}
    with origins() as found:
        line = _here()
        stratopt.Tuner(rule, **SETTINGS).fit(prices)
    assert any(c is PinnedParameterWarning for c, _, _ in found)
    assert {(f, n) for _, f, n in found} == {(__file__, line)}


def test_a_divergence_points_at_the_call(prices: pd.DataFrame) -> None:
    tuner = stratopt.Tuner(MACrossover(), optimizer="sgd", lr=1e9, epochs=5, screen=0, progress=False)
    with origins() as found:
        line = _here()
        tuner.fit(prices)
    assert any(c is DivergenceWarning for c, _, _ in found)
    assert {(f, n) for _, f, n in found} == {(__file__, line)}


def test_walk_forward_fold_summaries_point_at_the_call(prices: pd.DataFrame) -> None:
    tuner = stratopt.Tuner(MACrossover(fast=100, slow=300), validation=None, **SETTINGS)
    with origins() as found:
        line = _here()
        stratopt.walk_forward(tuner, prices, stratopt.WalkForward(600, 250), progress=False)
    assert found and {(f, n) for _, f, n in found} == {(__file__, line)}
