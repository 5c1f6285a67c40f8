"""The loss specification: validated once, applied to soft and hard paths alike."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from stratopt import backtest
from stratopt._market import MarketData
from stratopt.data import load_prices
from stratopt.errors import ConfigError
from stratopt.loss import POSITION_MODES, LossSpec
from stratopt.pnl import net_returns
from stratopt.rules import MACrossover, RSIRule


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL", "KO"], start="2004-01-01", end="2008-12-31")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cost_bps", float("nan")),
        ("cost_bps", float("inf")),
        ("cost_bps", -1.0),
        ("slippage", float("nan")),
        ("turnover_penalty", -0.1),
        ("cost_bps", "5"),
        ("cost_bps", True),
    ],
)
def test_bad_costs_are_refused_naming_the_value(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        LossSpec(**{field: value})  # type: ignore[arg-type]


def test_bad_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="allocation"):
        LossSpec(allocation="cap_weight")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="position_mode"):
        LossSpec(position_mode="long")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="nope"):
        LossSpec(objective="nope")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown loss setting"):
        LossSpec.from_dict({"cost": 5})


def test_spec_is_frozen_and_round_trips() -> None:
    spec = LossSpec(objective="sortino", objective_kwargs={"halflife": 126}, cost_bps=7, slippage=0.2)
    with pytest.raises(AttributeError):
        spec.cost_bps = 1.0  # type: ignore[misc]
    assert LossSpec.from_dict(spec.to_dict()) == spec
    assert spec.replace(cost_bps=1).cost_bps == 1.0 and spec.cost_bps == 7.0


def test_returns_are_pnl_net_returns_with_the_specs_settings(prices: pd.DataFrame) -> None:
    data = MarketData.from_prices(prices)
    spec = LossSpec(cost_bps=3.0, slippage=0.25, allocation="equal")
    pos = MACrossover(5, 30)(data, temperature=0.0)
    ref = net_returns(pos, data, cost_bps=3.0, slippage=0.25, allocation_scheme="equal")
    torch.testing.assert_close(spec.returns(pos, data), ref, rtol=0, atol=0)


@pytest.mark.parametrize("mode", POSITION_MODES)
@pytest.mark.parametrize("temperature", [0.0, 0.5])
def test_position_modes_hold_for_soft_and_hard(prices: pd.DataFrame, mode: str, temperature: float) -> None:
    data = MarketData.from_prices(prices)
    for rule in (MACrossover(5, 30), RSIRule(period=9, overbought=60, oversold=40)):
        raw = rule(data, temperature=temperature)
        pos = LossSpec(position_mode=mode).positions(rule, data, temperature=temperature)  # type: ignore[arg-type]
        if mode == "long_only":
            assert (pos >= 0).all() and torch.equal(pos, raw.clamp_min(0))
        elif mode == "short_only":
            assert (pos <= 0).all() and torch.equal(pos, raw.clamp_max(0))
        else:
            assert torch.equal(pos, raw)


def test_backtest_uses_the_spec(prices: pd.DataFrame) -> None:
    rule = MACrossover(5, 30)
    ls = backtest(rule, prices)
    lo = backtest(rule, prices, loss=LossSpec(position_mode="long_only"))
    assert (ls.positions.to_numpy() < 0).any() and (lo.positions.to_numpy() >= 0).all()
    assert not np.allclose(ls.returns, lo.returns)
    slip = backtest(rule, prices, loss=LossSpec(slippage=1.0))
    assert (slip.returns <= ls.returns + 1e-15).all() and (slip.returns < ls.returns).any()
    assert math.isfinite(slip.metrics["sharpe"])
