"""VolTarget: leverage against a pandas reference, realised volatility near the target, cap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.rules import MACrossover, Momentum, Param, Rule, VolTarget


class AlwaysLong(Rule):
    """Position +1 everywhere (the parameter only makes it a valid rule)."""

    def __init__(self) -> None:
        super().__init__()
        self.add_param(Param("unused", "x", 0.0, 1.0, 0.5))

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        return torch.ones(p["unused"].shape[0], data.n_days, data.n_assets, dtype=data.dtype)


def pandas_leverage(prices: pd.DataFrame, target: float, span: float, cap: float) -> pd.DataFrame:
    r = np.log(prices).diff()
    vol = np.sqrt((r**2).ewm(span=span, adjust=True).mean().fillna(0.0).clip(lower=1e-8))
    return (target / (vol * np.sqrt(252))).clip(upper=cap)


@pytest.mark.parametrize(("target", "span", "cap"), [(0.10, 60, 2.0), (0.25, 20, 1.5), (0.05, 5, 3.0)])
def test_positions_match_pandas(prices: pd.DataFrame, target: float, span: int, cap: float) -> None:
    inner = MACrossover(fast=5, slow=30)
    expected = inner.positions(prices) * pandas_leverage(prices, target, span, cap)
    got = VolTarget(MACrossover(fast=5, slow=30), target_vol=target, vol_span=span, max_leverage=cap).positions(prices)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-10, atol=1e-12)


def test_realised_volatility_is_near_target(sp500: pd.DataFrame) -> None:
    prices = sp500.loc["2000":"2007", ["JNJ", "XOM", "MSFT", "KO"]]
    rule = VolTarget(AlwaysLong(), target_vol=0.12, vol_span=30, max_leverage=10.0)
    pos = rule.positions(prices)
    earned = pos.shift(1) * prices.pct_change()  # held from the close of t-1 to t
    realised = earned.iloc[60:].std() * np.sqrt(252)
    raw = prices.pct_change().iloc[60:].std() * np.sqrt(252)
    assert ((realised - 0.12).abs() < 0.03).all(), realised
    assert ((raw - 0.12).abs() > 0.05).any()  # unscaled, the assets are far from the target


def test_cap_binds_on_quiet_assets(sp500: pd.DataFrame) -> None:
    prices = sp500.loc["2005":"2006", ["KO", "JNJ"]]
    loose = VolTarget(AlwaysLong(), target_vol=0.5, max_leverage=100.0).positions(prices)
    capped = VolTarget(AlwaysLong(), target_vol=0.5, max_leverage=2.0).positions(prices)
    assert (loose.iloc[60:] > 2.0).to_numpy().mean() > 0.5
    assert capped.to_numpy().max() == 2.0


def test_inner_params_are_namespaced(prices: pd.DataFrame) -> None:
    rule = VolTarget(MACrossover(fast=10, slow=50), target_vol=0.2, vol_span=30)
    assert rule.params == {"target_vol": 0.2, "vol_span": 30.0, "rule.fast": 10.0, "rule.ratio": 5.0, "rule.slow": 50.0}
    rule.set_params({"rule.fast": 7})
    assert rule.rule.params["fast"] == 7.0
    pos = rule(MarketData.from_prices(prices), temperature=0.5)
    pos.sum().backward()
    for name, param in rule.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all() and param.grad.abs().sum() > 0, name


def test_validation() -> None:
    with pytest.raises(ConfigError, match="Momentum"):
        VolTarget(Momentum)  # the class, not an instance
    with pytest.raises(ConfigError, match="max_leverage=0"):
        VolTarget(Momentum(), max_leverage=0)
    with pytest.raises(ConfigError, match="3 starts"):
        VolTarget(Momentum().with_starts(3, seed=0))
    with pytest.raises(ConfigError, match="target_vol=1.5"):
        VolTarget(Momentum(), target_vol=1.5)
