"""RSIRule: Wilder's RSI against a pandas reference, the contrarian band, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.rules import RSIRule
from stratopt.rules._rsi import rsi


def pandas_rsi(prices: pd.DataFrame, period: float) -> pd.DataFrame:
    """Wilder's RSI with pandas' ``ewm(alpha=1/period, adjust=False)`` on daily log returns."""
    change = np.log(prices).diff().fillna(0.0)
    gain = change.clip(lower=0).ewm(alpha=1 / period, adjust=False).mean()
    loss = (-change).clip(lower=0).ewm(alpha=1 / period, adjust=False).mean()
    total = gain + loss
    return (100 * gain / total).where(total > 0, 50.0)


@pytest.mark.parametrize("period", [14.0, 5.0, 14.5, 30.0])
def test_rsi_matches_pandas(prices: pd.DataFrame, period: float) -> None:
    data = MarketData.from_prices(prices)
    got = rsi(data.returns.log1p(), torch.tensor([period], dtype=torch.float64))[0]
    np.testing.assert_allclose(got.numpy(), pandas_rsi(prices, period).to_numpy(), rtol=0, atol=1e-9)


@pytest.mark.parametrize(("period", "overbought", "oversold"), [(14, 70, 30), (9, 60, 40), (3, 80, 20)])
def test_hard_rule_is_contrarian_band(prices: pd.DataFrame, period: int, overbought: float, oversold: float) -> None:
    level = pandas_rsi(prices, period)
    expected = (level < oversold).astype(float) - (level > overbought).astype(float)
    got = RSIRule(period=period, overbought=overbought, oversold=oversold).positions(prices)
    clear = ((level - overbought).abs() > 1e-9) & ((level - oversold).abs() > 1e-9)
    np.testing.assert_array_equal(got.to_numpy()[clear.to_numpy()], expected.to_numpy()[clear.to_numpy()])
    assert (got == 1).to_numpy().any() and (got == -1).to_numpy().any()


def test_trends_are_faded() -> None:
    days = pd.bdate_range("2020-01-01", periods=60)
    t = np.arange(60)
    prices = pd.DataFrame({"up": np.exp(0.01 * t), "down": np.exp(-0.01 * t), "flat": np.ones(60)}, index=days)
    pos = RSIRule(period=14).positions(prices)
    # day 0 has no move (RSI 50, flat); then a steady rise has RSI 100 and a fall RSI 0
    assert (pos.iloc[0] == 0).all()
    assert (pos["up"].iloc[1:] == -1).all() and (pos["down"].iloc[1:] == 1).all()
    assert (pos["flat"] == 0).all()


def test_soft_band_is_smooth_in_the_levels(prices: pd.DataFrame) -> None:
    rule = RSIRule(period=10.3, overbought=65, oversold=35)
    pos = rule(MarketData.from_prices(prices), temperature=0.5)
    pos.sum().backward()
    grads = {name: float(p.grad) for name, p in rule._raw.items()}
    assert all(np.isfinite(g) and g != 0 for g in grads.values()), grads
    # raising the overbought level can only reduce shorts: d(sum of positions)/d(overbought) > 0
    assert grads["overbought"] > 0 and grads["oversold"] > 0


def test_levels_are_bounded_on_their_side_of_50() -> None:
    with pytest.raises(ConfigError, match="overbought=45"):
        RSIRule(overbought=45)
    with pytest.raises(ConfigError, match="oversold=55"):
        RSIRule(oversold=55)
    with pytest.raises(ConfigError, match="period=1"):
        RSIRule(period=1)
