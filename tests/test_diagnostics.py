"""Diagnostics fire on constructed degenerate cases and stay quiet on a healthy fit."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch
from torch import Tensor

from stratopt import fit
from stratopt._market import MarketData
from stratopt.data import load_prices
from stratopt.diagnostics import loss_jumps, pinned_params, trading_activity
from stratopt.errors import (
    DiagnosticWarning,
    EarlySelectionWarning,
    IdleRuleWarning,
    PinnedParameterWarning,
)
from stratopt.ops import ema, soft_sign
from stratopt.rules import MACrossover, Param, RSIRule, Rule
from stratopt.rules._features import daily_vol


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL", "XOM", "JPM"], start="2000-01-01", end="2009-12-31")


class OldCrossover(Rule):
    """The first version's crossover: independent fast and slow spans in [2, 400], the gap in
    daily sigmas. Half its space is the inverted rule, and fast = slow is a cliff."""

    def __init__(self, fast: float, slow: float) -> None:
        super().__init__()
        self.add_param(Param("fast", "days", 2.0, 400.0, 20.0, integer=True), fast)
        self.add_param(Param("slow", "days", 2.0, 400.0, 100.0, integer=True), slow)

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        n = p["fast"].shape[0]
        both = ema(data.log_prices, torch.cat([p["fast"], p["slow"]]))
        return soft_sign((both[:n] - both[n:]) / daily_vol(data, 60.0), temperature)


def test_idle_rule_warns(prices: pd.DataFrame) -> None:
    # RSI bands at their extremes: in the market on very few days
    rule = RSIRule(period=30, overbought=90, oversold=10)
    with pytest.warns(IdleRuleWarning, match="holds a position on"):
        res = fit(rule, prices, epochs=2, lr=1e-6, n_starts=1, screen=0, progress=False)
    assert res.diagnostics["time_in_market"] < 0.05


def test_pinned_parameter_warns(prices: pd.DataFrame) -> None:
    rule = MACrossover(fast=2, slow=2.5)  # both on their lower bounds
    assert pinned_params(rule) == {"fast": "low", "ratio": "low"}
    with pytest.warns(PinnedParameterWarning, match="fast is at its low bound"):
        fit(rule, prices, epochs=2, lr=1e-6, select="last", n_starts=1, screen=0, progress=False)


def test_early_selection_warns(prices: pd.DataFrame) -> None:
    # a rate too large for any improvement after the first steps: the best epoch is the first
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit(
            MACrossover(fast=10, slow=50),
            prices,
            epochs=40,
            lr=5.0,
            optimizer="sgd",
            n_starts=1,
            screen=0,
            progress=False,
        )
    epoch = res.diagnostics["selected_epoch"]
    early = [w for w in caught if issubclass(w.category, EarlySelectionWarning)]
    assert (0 <= epoch < 2) == bool(early)


def test_inverted_start_under_the_old_formulation_shows_a_loss_jump(prices: pd.DataFrame) -> None:
    """The old formulation's inverted region: training from fast just below slow crosses the
    cliff fast = slow, where the loss jumps; the diagnostic names the epoch."""
    res = fit(
        OldCrossover(fast=95, slow=100),
        prices,
        epochs=80,
        lr=0.3,
        select="last",
        validation=None,
        n_starts=1,
        screen=0,
        progress=False,
    )
    h = res.history
    assert bool((h["fast"] > h["slow"]).any()), "the start crosses into the inverted rule"
    assert res.diagnostics["loss_jumps"], "the crossing of fast = slow shows as a loss jump"
    # the new formulation cannot cross: slow >= 1.25 fast at every epoch
    new = fit(
        MACrossover(fast=76, slow=100),
        prices,
        epochs=80,
        lr=0.3,
        select="last",
        validation=None,
        n_starts=1,
        screen=0,
        progress=False,
    )
    assert (new.history["slow"] >= 1.25 * new.history["fast"] * (1 - 1e-9)).all()
    # the constructed series always trips the detector
    series = pd.Series([-0.8] * 10 + [0.84] * 10, dtype=float)
    series += pd.Series(range(20), dtype=float) * 1e-3
    assert loss_jumps(series) == [10]


def test_healthy_fit_is_quiet(prices: pd.DataFrame) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit(
            MACrossover(fast=10, slow=50).with_bounds(fast=(2, 200), ratio=(1.25, 12)),
            prices,
            epochs=30,
            lr=0.05,
            n_starts=1,
            screen=0,
            progress=False,
        )
    assert not [w for w in caught if issubclass(w.category, DiagnosticWarning)], [str(w.message) for w in caught]
    d = res.diagnostics
    assert d["time_in_market"] > 0.9 and d["trades_per_year"] > 0 and not d["pinned"]
    assert "in the market" in res.summary()


def test_trading_activity_by_hand() -> None:
    import numpy as np

    pos = np.array([[0.0], [1.0], [1.0], [-1.0], [0.0]])
    held = pos * 0.5
    act = trading_activity(held, pos)
    assert act["time_in_market"] == pytest.approx(3 / 5)
    # sign changes: 0->1, 1->-1, -1->0 = 3 over 5 days
    assert act["trades_per_year"] == pytest.approx(3 / (5 / 252))
