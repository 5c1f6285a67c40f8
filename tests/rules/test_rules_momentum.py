"""Momentum: the hard rule against a pandas reference, the interpolated lookback, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.rules import Momentum
from stratopt.rules._momentum import lagged


def pandas_momentum_z(prices: pd.DataFrame, lookback: int, vol_span: float = 60.0) -> pd.DataFrame:
    """The momentum z-score written with pandas alone."""
    lp = np.log(prices)
    past = lp.shift(lookback).fillna(lp.iloc[0])  # before day 0: the first price
    r = lp.diff()
    var = (r**2).ewm(span=vol_span, adjust=True).mean().fillna(0.0)
    vol = np.sqrt(var.clip(lower=1e-8))
    return (lp - past) / (vol * np.sqrt(lookback))


def test_lagged_interpolates_linearly_in_time() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).cumsum(axis=0)
    lags = np.array([0.0, 3.0, 10.25, 0.5, 39.9])
    out = lagged(torch.tensor(x), torch.tensor(lags)).numpy()
    t = np.arange(40)
    for b, lag in enumerate(lags):
        for j in range(2):
            # np.interp clamps before day 0 to x[0], the warm-up convention
            np.testing.assert_allclose(out[b, :, j], np.interp(t - lag, t, x[:, j]), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("lookback", "threshold"), [(20, 0.4), (63, 1.0), (5, 0.05)])
def test_hard_rule_matches_pandas(prices: pd.DataFrame, lookback: int, threshold: float) -> None:
    z = pandas_momentum_z(prices, lookback)
    expected = (z > threshold).astype(float) - (z < -threshold).astype(float)
    got = Momentum(lookback=lookback, threshold=threshold).positions(prices)
    clear = ((z.abs() - threshold).abs() > 1e-9).to_numpy()  # nothing sits on the threshold
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(got.to_numpy()[clear], expected.to_numpy()[clear])
    assert (got != 0).to_numpy().mean() > 0.3  # the rule is not trivially flat


def test_signal_matches_pandas(prices: pd.DataFrame) -> None:
    rule = Momentum(lookback=30)
    z = rule.signal(MarketData.from_prices(prices), torch.tensor([30.0], dtype=torch.float64))[0]
    np.testing.assert_allclose(z.numpy(), pandas_momentum_z(prices, 30).to_numpy(), rtol=1e-10, atol=1e-10)


def test_lookback_is_continuous_and_learnable(prices: pd.DataFrame) -> None:
    data = MarketData.from_prices(prices)
    below = Momentum(lookback=20 - 1e-7)(data, temperature=0.5)
    above = Momentum(lookback=20 + 1e-7)(data, temperature=0.5)
    assert (below - above).abs().max() < 1e-5  # no jump at a whole day
    rule = Momentum(lookback=20.4)
    rule(data, temperature=0.5).mean().backward()
    grads = {name: float(p.grad) for name, p in rule._raw.items()}
    assert all(np.isfinite(g) and g != 0 for g in grads.values()), grads


def test_hard_rule_rounds_the_lookback(prices: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(Momentum(lookback=20.4).positions(prices), Momentum(lookback=20).positions(prices))


def test_wider_band_is_flat_more_often(prices: pd.DataFrame) -> None:
    flat = [(Momentum(lookback=40, threshold=t).positions(prices) == 0).to_numpy().mean() for t in (0.1, 0.5, 1.5)]
    assert flat[0] < flat[1] < flat[2]


def test_validation() -> None:
    with pytest.raises(ConfigError, match="threshold=3.5"):
        Momentum(threshold=3.5)
    with pytest.raises(ConfigError, match="lookback=1.0"):
        Momentum(lookback=1)
    with pytest.raises(ConfigError, match="vol_span=0.5"):
        Momentum(vol_span=0.5)
