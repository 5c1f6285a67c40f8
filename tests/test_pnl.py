"""The timing convention and costs, on numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.pnl import allocation, net_returns


def _data(prices: list[list[float]]) -> MarketData:
    idx = pd.bdate_range("2020-01-01", periods=len(prices))
    return MarketData.from_prices(pd.DataFrame(prices, index=idx, columns=["A", "B"][: len(prices[0])]))


def test_position_at_t_earns_return_from_t_to_t_plus_1() -> None:
    data = _data([[100.0], [110.0], [99.0], [99.0]])  # returns +10%, -10%, 0%
    pos = torch.tensor([[[1.0], [-1.0], [-1.0], [0.0]]], dtype=torch.float64)
    net = net_returns(pos, data, cost_bps=0.0)[0].numpy()
    # day 0 long earns +10%; day 1 short earns +10% (price fell 10%); day 2 short earns 0
    np.testing.assert_allclose(net, [0.10, 0.10, 0.0])


def test_costs_charged_on_position_changes_with_initial_trade() -> None:
    data = _data([[100.0], [100.0], [100.0], [100.0]])
    pos = torch.tensor([[[1.0], [-1.0], [-1.0], [0.0]]], dtype=torch.float64)
    net = net_returns(pos, data, cost_bps=10.0)[0].numpy()
    # trades: 0->1 (1 unit), 1->-1 (2 units), -1->-1 (0); final trade never earns, not charged
    np.testing.assert_allclose(net, [-0.001, -0.002, 0.0])


def test_smooth_costs_are_within_documented_bound() -> None:
    data = _data([[100.0]] * 50)
    pos = torch.sin(torch.linspace(0, 6, 50, dtype=torch.float64)).reshape(1, 50, 1)
    exact = net_returns(pos, data, cost_bps=10.0)
    smooth = net_returns(pos, data, cost_bps=10.0, smooth=True)
    # each day's smoothed |trade| is at most eps=1e-4 below the exact one
    assert ((smooth - exact) >= 0).all() and ((smooth - exact) <= 10e-4 * 1e-4 + 1e-15).all()


def test_equal_allocation_splits_capital_over_listed_assets_only() -> None:
    idx = pd.bdate_range("2020-01-01", periods=4)
    prices = pd.DataFrame({"A": [1.0, 1.1, 1.2, 1.3], "B": [np.nan, np.nan, 2.0, 2.1]}, index=idx)
    w = allocation(MarketData.from_prices(prices), "equal").numpy()
    np.testing.assert_allclose(w, [[1, 0], [1, 0], [0.5, 0.5], [0.5, 0.5]])


def test_equal_risk_gives_less_capital_to_the_volatile_asset() -> None:
    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2020-01-01", periods=300)
    prices = pd.DataFrame(
        {
            "calm": 100 * np.exp(np.cumsum(rng.normal(0, 0.005, 300))),
            "wild": 100 * np.exp(np.cumsum(rng.normal(0, 0.03, 300))),
        },
        index=idx,
    )
    w = allocation(MarketData.from_prices(prices), "equal_risk").numpy()
    assert np.allclose(w.sum(1), 1.0) and (w[100:, 0] > 3 * w[100:, 1]).all()


def test_negative_cost_rejected() -> None:
    data = _data([[100.0], [101.0]])
    with pytest.raises(ConfigError, match="cost_bps=-1"):
        net_returns(torch.zeros(1, 2, 1, dtype=torch.float64), data, cost_bps=-1)


def test_equal_risk_caps_a_stale_quote_at_four_times_the_median_asset() -> None:
    rng = np.random.default_rng(1)
    idx = pd.bdate_range("2020-01-01", periods=200)
    prices = pd.DataFrame({c: 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 200))) for c in "ABC"}, index=idx)
    prices["STALE"] = 50.0  # never moves: zero volatility
    w = allocation(MarketData.from_prices(prices), "equal_risk").numpy()
    assert np.allclose(w.sum(1), 1.0)
    ratio = w[100:, 3] / np.median(w[100:, :3], axis=1)
    assert (ratio <= 4.0 * 1.3).all() and (ratio > 2.0).all()


@pytest.mark.parametrize("smooth", [False, True])
@pytest.mark.parametrize("slippage", [0.0, 0.3])
def test_returns_from_a_start_day_are_those_entries_of_the_whole_series(smooth: bool, slippage: float) -> None:
    """Training skips a fold's warm-up returns with ``start``; what it keeps must not change."""
    from stratopt._market import MarketData
    from stratopt.data import load_prices

    data = MarketData.from_prices(load_prices("sp500", tickers=["AAPL", "XOM", "KO"], start="2004", end="2006"))
    gen = torch.Generator().manual_seed(0)
    pos = torch.tanh(torch.randn(3, data.n_days, data.n_assets, dtype=torch.float64, generator=gen))
    whole = net_returns(pos, data, smooth=smooth, slippage=slippage)
    for start in (0, 1, 7, 300, data.n_days - 2):
        part = net_returns(pos, data, smooth=smooth, slippage=slippage, start=start)
        assert torch.equal(part, whole[:, start:])  # bit for bit, the trade into day ``start`` included
    with pytest.raises(ConfigError, match="start=-1"):
        net_returns(pos, data, start=-1)
