"""The vectorbt and backtesting.py adapters trade the package's crossover (checked against a
hand-written pandas long/short crossover), and their searches return valid crossover parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import stratopt
from benchmarks.peers.problems import Window
from benchmarks.peers.spaces import Space
from stratopt.rules import MACrossover

pytestmark = [
    pytest.mark.slow,  # vectorbt compiles its numba kernels on first use
    pytest.mark.filterwarnings("ignore::UserWarning"),  # backtesting.py: trades open at the end
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

FAST, SLOW = 10, 40


@pytest.fixture(scope="module")
def window() -> Window:
    prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM"], start="2009-01-01", end="2011-12-31")
    return Window(prices, prices.index[300])


def by_hand(close: pd.Series, start: pd.Timestamp, *, warm: int) -> pd.Series:
    """Daily returns of the long/short EMA crossover on log prices, 5 bps per unit traded,
    flat for the first ``warm`` days and before ``start``."""
    log = np.log(close)
    gap = log.ewm(span=FAST, adjust=False).mean() - log.ewm(span=SLOW, adjust=False).mean()
    pos = np.sign(gap)
    pos[: warm - 1] = 0.0
    pos[close.index < start] = 0.0
    held = pos.shift(fill_value=0.0)
    return held * close.pct_change().fillna(0.0) - 5e-4 * pos.diff().abs().fillna(0.0)


def test_vectorbt_adapter_trades_the_crossover(window):
    pytest.importorskip("vectorbt")
    from benchmarks.peers.external import VectorbtGrid

    tool = VectorbtGrid(Space(MACrossover()), window, 0)
    r = pd.DataFrame(tool._run([(FAST, SLOW)], window.prices, tool.log_close), index=window.prices.index)
    keep = window.prices.index >= window.prices.index[400]  # both flat-start conventions are long past
    for j, ticker in enumerate(window.prices.columns):
        hand = by_hand(window.prices[ticker], window.prices.index[0], warm=SLOW)
        assert np.corrcoef(r[j][keep], hand[keep])[0, 1] > 0.99
    chosen = tool.step()
    assert chosen is not None and 2 <= chosen["fast"] <= 100 and 1.25 <= chosen["ratio"] <= 8


def test_backtesting_adapter_trades_the_crossover(window):
    pytest.importorskip("backtesting")
    from benchmarks.peers.external import BacktestingGrid

    tool = BacktestingGrid(Space(MACrossover()), window, 0)
    stats = tool.tests[0].run(fast=FAST, slow=SLOW)
    equity = stats["_equity_curve"]["Equity"].pct_change().fillna(0.0)
    hand = by_hand(window.prices.iloc[:, 0], window.start, warm=1)
    after = window.prices.index > window.start
    assert (equity[window.prices.index < window.start] == 0).all()  # no trade in the warm-up
    assert np.corrcoef(equity[after], hand[after])[0, 1] > 0.99
    chosen = tool.step()
    assert chosen is not None and 2 <= chosen["fast"] <= 100 and 1.25 <= chosen["ratio"] <= 8
