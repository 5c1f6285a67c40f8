"""The problems of growing parameter count, and the one evaluator that scores every tool.

Every problem trades the bundled 20 large US stocks (or the first ``n_assets`` of them) under
the package's default :class:`~stratopt.LossSpec` (long/short, 5 bps per unit traded,
equal-risk allocation). A tool sees the in-sample window with the rule's warm-up before it and
maximises the in-sample score; :func:`score` is the single yardstick: the hard rule's
annualised Sharpe ratio (sample std) of the net returns earned on the scored days, as
:func:`stratopt.evaluate` computes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import torch

from benchmarks.peers.spaces import PerAssetCrossover, Space, space_for
from stratopt import evaluate
from stratopt._market import MarketData
from stratopt.loss import LossSpec
from stratopt.rules import Blend, MACrossover, MLPPolicy, Momentum, RSIRule, Rule, VolTarget

SPEC = LossSpec()


@dataclass(frozen=True)
class Window:
    """Prices a tool may see (warm-up + in-sample) and the first in-sample date."""

    prices: pd.DataFrame
    start: pd.Timestamp

    @property
    def train_days(self) -> np.ndarray:
        """Boolean mask of the in-sample days (the fit's ``train_days``)."""
        return np.asarray(self.prices.index >= self.start)

    @cached_property
    def data(self) -> MarketData:
        return MarketData.from_prices(self.prices)


@dataclass(frozen=True)
class Problem:
    """A rule to tune on a universe, with the in-sample and out-of-sample windows."""

    name: str
    k_label: str
    make_rule: Callable[[int], Rule]
    n_assets: int
    peers: tuple[str, ...] = ()  # the external grid tools that apply (vectorbt, backtesting.py)

    def rule(self) -> Rule:
        return self.make_rule(self.n_assets)

    def space(self) -> Space:
        return space_for(self.rule())

    def universe(self, prices: pd.DataFrame) -> pd.DataFrame:
        return prices.iloc[:, : self.n_assets]

    def window(self, prices: pd.DataFrame, start: str, end: str) -> Window:
        """In-sample ``[start, end]`` with the rule's warm-up days before ``start``."""
        px = self.universe(prices)
        first = int(px.index.searchsorted(pd.Timestamp(start)))
        lo = max(0, first - self.rule().warmup_days())
        return Window(px.iloc[lo : int(px.index.searchsorted(pd.Timestamp(end), side="right"))], px.index[first])


def blend3(_: int) -> Rule:
    return Blend({"ma": MACrossover(), "mom": Momentum(), "rsi": RSIRule()})


def mlp(_: int) -> Rule:
    return MLPPolicy(n_lags=5, hidden=(4,), activation="tanh", seed=0)


def problems(n_assets: int = 20) -> list[Problem]:
    """The five problems: 2, 4, 10, 29 and ``2 x n_assets`` parameters."""
    return [
        Problem("crossover", "2", lambda n: MACrossover(), n_assets, ("vectorbt", "backtesting.py")),
        Problem("voltarget", "4", lambda n: VolTarget(MACrossover()), n_assets),
        Problem("blend", "10", blend3, n_assets),
        Problem("mlp", "29", mlp, n_assets),
        Problem("per-asset", str(2 * n_assets), PerAssetCrossover, n_assets),
    ]


def score(space: Space, table: pd.DataFrame, window: Window) -> np.ndarray:
    """Hard annualised Sharpe of each row of ``table`` on the window's in-sample days."""
    with torch.no_grad():
        out = evaluate(space.batch(table), window.data, loss=SPEC, start=window.start)["sharpe"].to_numpy()
    return np.where(np.isfinite(out), out, -np.inf)


def test_returns(space: Space, params: pd.DataFrame, prices: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Hard net returns (dates x rows of ``params``) earned from ``start`` to the end of ``prices``
    (positions computed over all of ``prices``, so earlier days are warm-up only)."""
    data = MarketData.from_prices(prices)
    with torch.no_grad():
        r = SPEC.rule_returns(space.batch(params), data).double().cpu().numpy()
    dates = data.dates[1:]
    keep = np.asarray(dates >= start)
    return pd.DataFrame(r[:, keep].T, index=dates[keep])
