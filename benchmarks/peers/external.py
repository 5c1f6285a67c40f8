"""vectorbt's broadcast parameter grid and backtesting.py's ``Backtest.optimize`` on the crossover.

Both search the crossover's integer (fast, slow) spans over the same box and coarse-to-fine order
as the package's grid (:func:`~benchmarks.peers.tools.lattice`), on exponential moving averages
of log prices, long when fast > slow and short when below, trading at the close of the signal
day with 5 bps per unit traded: the package's crossover, run by each library's own backtester.
Each maximises the mean over stocks of its own per-stock Sharpe ratio on the in-sample days
(neither library tunes one parameter pair across a portfolio of separately sized assets); the
pair it prefers is then scored by the common yardstick. Each library's one-off start-up (numba
compilation for vectorbt) runs before its clock starts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.peers.spaces import Space
from benchmarks.peers.tools import Tool, lattice

COST = 5e-4  # 5 bps per unit traded, as the package's default LossSpec
ANNUAL = math.sqrt(252.0)


def span_pairs(space: Space) -> Iterator[tuple[int, int]]:
    """Distinct hard (fast, slow) spans in the grid's coarse-to-fine order."""
    seen: set[tuple[int, int]] = set()
    points = lattice(space.dim)
    while True:
        table = space.from_unit(np.array([next(points) for _ in range(256)]))
        for fast, ratio in table[["fast", "ratio"]].to_numpy():
            pair = (int(fast), int(max(round(fast * ratio), fast + 1)))
            if pair not in seen:
                seen.add(pair)
                yield pair


def as_params(pairs: list[tuple[int, int]]) -> pd.DataFrame:
    """The crossover's (fast, ratio) for hard spans (fast, slow)."""
    fast = np.array([p[0] for p in pairs], dtype=float)
    slow = np.array([p[1] for p in pairs], dtype=float)
    return pd.DataFrame({"fast": fast, "ratio": np.clip(slow / fast, 1.25, 8.0)})


def sharpe_columns(returns: np.ndarray) -> np.ndarray:
    """Annualised sample Sharpe ratio of each column (0 for a flat column)."""
    sd = returns.std(axis=0, ddof=1)
    return np.where(sd > 0, returns.mean(axis=0) / np.where(sd > 0, sd, 1.0) * ANNUAL, 0.0)


@dataclass
class VectorbtGrid(Tool):
    """vectorbt: ``MA.run`` over a batch of windows, ``Portfolio.from_signals`` on every
    (pair, stock) column at once."""

    name: str = "vectorbt"
    per_step: int = 16

    def __post_init__(self) -> None:
        import vectorbt as vbt

        self.vbt = vbt
        self.close = self.window.prices
        self.log_close = np.log(self.close)
        self.keep = np.asarray(self.close.index >= self.window.start)
        self.pairs = span_pairs(self.space)
        self._run([(5, 20)], self.close.iloc[-300:], self.log_close.iloc[-300:])  # numba compiles here

    def _run(self, pairs: list[tuple[int, int]], close: pd.DataFrame, log_close: pd.DataFrame) -> np.ndarray:
        n, k, days = close.shape[1], len(pairs), len(close)
        windows = [p[0] for p in pairs] + [p[1] for p in pairs]
        ma = self.vbt.MA.run(log_close, window=windows, ewm=True, param_product=False).ma.to_numpy()
        ma = ma.reshape(days, 2 * k, n)
        long = (ma[:, :k] > ma[:, k:]).reshape(days, k * n)
        short = (ma[:, :k] < ma[:, k:]).reshape(days, k * n)
        pf = self.vbt.Portfolio.from_signals(
            np.tile(close.to_numpy(), (1, k)),
            entries=long,
            exits=short,
            short_entries=short,
            short_exits=long,
            fees=COST,
            freq="1D",
        )
        return np.asarray(pf.returns()).reshape(days, k * n)

    def step(self) -> pd.Series | None:
        pairs = [next(self.pairs) for _ in range(self.per_step)]
        r = self._run(pairs, self.close, self.log_close)[self.keep]
        values = sharpe_columns(r).reshape(len(pairs), -1).mean(axis=1)
        return self.offer(as_params(pairs), values)


class _SerialPool:
    """backtesting.py's optimiser without worker processes: one thread, like every tool here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> _SerialPool:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def imap(self, func: Any, iterable: Any) -> Iterator[Any]:
        return map(func, iterable)


def _strategy() -> type:
    from backtesting import Strategy

    class Crossover(Strategy):  # type: ignore[misc]
        fast = 20
        slow = 100
        start = pd.Timestamp(0)

        def init(self) -> None:
            log_close = np.log(pd.Series(self.data.Close))
            self.f = self.I(lambda: log_close.ewm(span=self.fast, adjust=False).mean().to_numpy())
            self.s = self.I(lambda: log_close.ewm(span=self.slow, adjust=False).mean().to_numpy())

        def next(self) -> None:
            if self.data.index[-1] < self.start:  # warm-up: indicators only
                return
            if self.f[-1] > self.s[-1] and not self.position.is_long:
                self.position.close()
                self.buy()
            elif self.f[-1] < self.s[-1] and not self.position.is_short:
                self.position.close()
                self.sell()

    return Crossover


@dataclass
class BacktestingGrid(Tool):
    """backtesting.py: ``Backtest.optimize`` on each stock over a batch of (fast, slow) pairs
    (a constraint keeps only the batch's pairs), ``maximize="Sharpe Ratio"``: the library's own
    Sharpe ratio of the stock's equity, which stays flat before the in-sample start (the
    optimiser's statistics do not carry the equity curve, so the warm-up days cannot be cut
    out; they add the same flat stretch to every pair)."""

    name: str = "backtesting.py"
    per_step: int = 2

    def __post_init__(self) -> None:
        import backtesting

        backtesting.Pool = _SerialPool  # the optimiser's worker pool, looked up at call time
        import backtesting.backtesting

        backtesting.backtesting._tqdm = lambda seq, **_: seq  # no progress bars
        strategy = _strategy()
        strategy.start = self.window.start
        self.tests = []
        for ticker in self.window.prices.columns:
            c = self.window.prices[ticker]
            ohlc = pd.DataFrame({"Open": c, "High": c, "Low": c, "Close": c})
            self.tests.append(backtesting.Backtest(ohlc, strategy, cash=1e9, commission=COST, trade_on_close=True))
        self.pairs = span_pairs(self.space)

    def step(self) -> pd.Series | None:
        import warnings

        pairs = [next(self.pairs) for _ in range(self.per_step)]
        wanted = set(pairs)
        total = np.zeros(len(pairs))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for bt in self.tests:
                _, heat = bt.optimize(
                    fast=sorted({p[0] for p in pairs}),
                    slow=sorted({p[1] for p in pairs}),
                    constraint=lambda p: (p.fast, p.slow) in wanted,
                    maximize="Sharpe Ratio",
                    return_heatmap=True,
                )
                total += np.nan_to_num(heat.reindex(pd.MultiIndex.from_tuples(pairs)).to_numpy(dtype=float))
        return self.offer(as_params(pairs), total / len(self.tests))
