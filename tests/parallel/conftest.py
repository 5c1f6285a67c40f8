from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import stratopt
from stratopt.parallel import DaskExecutor, executor
from stratopt.rules import MACrossover


@pytest.fixture(scope="session")
def two_stocks() -> pd.DataFrame:
    """Two bundled stocks over 2002-2006: long enough for the crossover's windows, fast to fit."""
    return stratopt.load_prices("sp500", tickers=["AAPL", "XOM"], start="2002-01-01", end="2006-12-31")


@pytest.fixture
def small_tuner() -> stratopt.Tuner:
    """A few epochs of a seeded two-start fit: enough to move the parameters, cheap to run."""
    return stratopt.Tuner(MACrossover(), epochs=5, n_starts=2, screen=16, seed=0)


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    """One local cluster of 2 worker processes per test module that asks for it (starting one takes seconds)."""
    with executor(n_jobs=2) as ex:
        assert isinstance(ex, DaskExecutor)
        yield ex
