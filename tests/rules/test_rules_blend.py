"""Blend: a convex combination of sub-rules with learnable weights, trained jointly."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.objectives import sharpe
from stratopt.pnl import net_returns
from stratopt.rules import Blend, MACrossover, MeanReversion, Momentum, RSIRule


def four_rules() -> dict[str, object]:
    return {
        "ma": MACrossover(fast=8.2, slow=40.5),
        "mom": Momentum(lookback=30.3, threshold=0.3),
        "mr": MeanReversion(lookback=15.6, entry=1.5, exit=0.4),
        "rsi": RSIRule(period=10.2, overbought=65, oversold=35),
    }


@pytest.mark.parametrize("temperature", [0.0, 0.3])
def test_positions_are_the_weighted_average(prices: pd.DataFrame, temperature: float) -> None:
    rules = four_rules()
    alone = {k: copy.deepcopy(r) for k, r in rules.items()}
    weights = {"ma": 0.2, "mom": 0.7, "mr": 0.4, "rsi": 0.1}
    blend = Blend(rules, weights=weights)
    data = MarketData.from_prices(prices)
    with torch.no_grad():
        expected = sum(weights[k] * alone[k](data, temperature=temperature) for k in alone) / sum(weights.values())
        got = blend(data, temperature=temperature)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_shares_and_names() -> None:
    blend = Blend([MACrossover(), MACrossover(fast=5, slow=20), RSIRule()], weights={"rsi_rule": 0.2})
    assert blend.names == ("ma_crossover", "ma_crossover_2", "rsi_rule")
    assert blend.params["ma_crossover_2.fast"] == 5.0
    shares = blend.shares()
    np.testing.assert_allclose(shares.to_numpy(), [[0.5 / 1.2, 0.5 / 1.2, 0.2 / 1.2]], rtol=1e-12)
    assert list(blend.rules()) == list(blend.names)


def test_all_params_train_jointly(prices: pd.DataFrame) -> None:
    blend = Blend(four_rules())
    assert 6 <= len(blend.params) <= 20
    assert len(list(blend.named_specs())) == 14  # 2 + 2 + 3 + 3 rule params, 4 weights
    assert len(blend.params) == 15  # and the crossover's derived slow span
    data = MarketData.from_prices(prices)
    loss = -sharpe(net_returns(blend(data, temperature=0.5), data, smooth=True)).sum()
    loss.backward()
    raw = dict(blend.named_parameters())
    assert len(raw) == 14
    for name, param in raw.items():
        assert param.grad is not None and torch.isfinite(param.grad).all() and float(param.grad.abs()) > 0, name


def test_with_starts_draws_every_sub_rule() -> None:
    table = Blend(four_rules()).with_starts(5, seed=0).batch_params()
    assert table.shape == (5, 15)  # 14 parameters and the crossover's derived slow span
    assert (table.nunique() == 5).all()  # every parameter, weights and sub-rules', varies by start


def test_validation() -> None:
    with pytest.raises(ConfigError, match="at least two"):
        Blend([Momentum()])
    with pytest.raises(ConfigError, match="'a.b'"):
        Blend({"a.b": Momentum(), "c": RSIRule()})
    with pytest.raises(ConfigError, match="'names'"):
        Blend({"names": Momentum(), "c": RSIRule()})
    with pytest.raises(ConfigError, match="'x' is a str"):
        Blend({"x": "momentum", "c": RSIRule()})
    with pytest.raises(ConfigError, match="3 starts"):
        Blend([Momentum().with_starts(3, seed=0), RSIRule()])
    with pytest.raises(ConfigError, match="unknown rules \\['zz'\\]"):
        Blend([Momentum(), RSIRule()], weights={"zz": 0.3})
    with pytest.raises(ConfigError, match="w_momentum=1.5"):
        Blend([Momentum(), RSIRule()], weights={"momentum": 1.5})
