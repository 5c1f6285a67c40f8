"""The peer benchmark's search spaces, grid order and per-asset rule, against independent truth."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

import stratopt
from benchmarks.peers.spaces import PerAssetCrossover, Space, WeightSpace
from benchmarks.peers.tools import lattice
from stratopt import MarketData
from stratopt.rules import MACrossover, MLPPolicy
from stratopt.rules._mlp import lagged_returns


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return stratopt.load_prices("sp500", tickers=["AAPL", "XOM", "KO"], end="2001-12-31")


def test_lattice_levels_are_nested_grids_without_repeats():
    points = list(itertools.islice(lattice(2), 1 + 8 + 40))
    assert np.allclose(points[0], [0.5, 0.5])
    level2 = {tuple(p) for p in points[1:9]}
    assert level2 == {(a, b) for a in (0.25, 0.5, 0.75) for b in (0.25, 0.5, 0.75)} - {(0.5, 0.5)}
    level3 = {tuple(p) for p in points[9:]}
    assert len(level3) == 40  # 7 x 7 points minus the 9 of the coarser levels
    assert all(round(c * 8) == c * 8 for p in level3 for c in p)
    assert not level3 & level2


def test_space_maps_the_unit_cube_onto_the_rules_box_and_back():
    space = Space(MACrossover())
    u = np.random.default_rng(0).uniform(size=(50, 2))
    table = space.from_unit(u)
    assert table["fast"].between(2, 100).all() and (table["fast"] == table["fast"].round()).all()
    assert table["ratio"].between(1.25, 8).all()
    assert np.allclose(space.to_unit(table)[:, 1], u[:, 1])  # ratio is continuous: exact round trip
    loaded = space.batch(table).batch_params()
    assert np.allclose(loaded[["fast", "ratio"]].to_numpy(), table.to_numpy())


def test_weight_space_loads_each_row_into_its_own_start(prices):
    policy = MLPPolicy(n_lags=3, hidden=(2,), activation="tanh", seed=0)
    space = WeightSpace(policy)
    assert space.dim == 3 * 2 + 2 + 2 * 1 + 1
    table = space.from_unit(np.random.default_rng(1).uniform(size=(3, space.dim)))
    data = MarketData.from_prices(prices)
    with torch.no_grad():
        z = space.batch(table).score(data, temperature=0.0).numpy()
    x = lagged_returns(data, 3).numpy()  # (days, assets, lags)
    for i, row in table.iterrows():
        w = row.to_numpy()
        w0, b0, w1, b1 = w[:6].reshape(3, 2), w[6:8], w[8:10].reshape(2, 1), w[10]
        expected = (np.tanh(x @ w0 + b0) @ w1)[..., 0] + b1
        assert np.allclose(z[i], expected, atol=1e-12)
    assert np.allclose(space.to_unit(table), space.to_unit(space.params_of(space.batch(table))))


@pytest.mark.parametrize("temperature", [0.0, 0.5])
def test_per_asset_crossover_trades_each_stock_as_its_own_crossover(prices, temperature):
    spans = {"fast_0": 10, "ratio_0": 3.0, "fast_1": 30, "ratio_1": 2.0, "fast_2": 5, "ratio_2": 7.5}
    rule = PerAssetCrossover(3).set_params(spans)
    data = MarketData.from_prices(prices)
    with torch.no_grad():
        both = rule(data, temperature=temperature)[0]
        for j, ticker in enumerate(prices.columns):
            alone = MACrossover(fast=spans[f"fast_{j}"], ratio=spans[f"ratio_{j}"])
            expected = alone(MarketData.from_prices(prices[[ticker]]), temperature=temperature)[0, :, 0]
            assert torch.allclose(both[:, j], expected, atol=1e-12)


def test_per_asset_crossover_refuses_other_universes(prices):
    with pytest.raises(stratopt.ConfigError, match="3 assets"):
        PerAssetCrossover(3)(MarketData.from_prices(prices[["AAPL"]]), temperature=0.0)
