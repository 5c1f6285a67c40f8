"""The hard backtest: timing, costs, metrics, windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stratopt.backtesting import backtest
from stratopt.data import load_prices
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.rules import MACrossover


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL", "KO"], start="2004-01-01", end="2012-12-31")


def test_returns_follow_the_timing_convention_by_hand(prices: pd.DataFrame) -> None:
    rule = MACrossover(fast=10, slow=50)
    res = backtest(rule, prices, loss=LossSpec(cost_bps=0.0, allocation="equal"))
    pos = rule.positions(prices)
    asset_ret = prices.pct_change()
    by_hand = (pos.shift(1) * asset_ret * 0.5).sum(axis=1).iloc[1:]
    np.testing.assert_allclose(res.returns.to_numpy(), by_hand.to_numpy(), atol=1e-12)


def test_costs_reduce_returns_by_exact_turnover(prices: pd.DataFrame) -> None:
    rule = MACrossover(fast=5, slow=20)
    free = backtest(rule, prices, loss=LossSpec(cost_bps=0.0, allocation="equal"))
    paid = backtest(rule, prices, loss=LossSpec(cost_bps=10.0, allocation="equal"))
    held = free.holdings
    trades = held.diff().abs().sum(axis=1)
    trades.iloc[0] = held.iloc[0].abs().sum()
    np.testing.assert_allclose((free.returns - paid.returns).to_numpy(), 1e-3 * trades.iloc[:-1].to_numpy(), atol=1e-14)
    assert paid.metrics["turnover"] == pytest.approx(trades.iloc[:-1].mean() * 252)


def test_start_end_window_uses_earlier_data_for_warm_up_only(prices: pd.DataFrame) -> None:
    rule = MACrossover(fast=20, slow=100)
    full = backtest(rule, prices)
    part = backtest(rule, prices, start="2010-01-01")
    assert part.returns.index[0] >= pd.Timestamp("2010-01-01")
    pd.testing.assert_series_equal(part.returns, full.returns.loc["2010-01-01":])
    assert part.equity.iloc[0] == pytest.approx(1 + part.returns.iloc[0])
    assert part.summary().startswith("hard backtest") and part.plot().axes


def test_metrics_keys_and_values(prices: pd.DataFrame) -> None:
    res = backtest(MACrossover(), prices)
    expected = {
        "annual_return",
        "annual_volatility",
        "sharpe",
        "sortino",
        "max_drawdown",
        "calmar",
        "turnover",
        "hit_rate",
        "exposure",
        "total_return",
        "n_days",
    }
    assert expected <= set(res.metrics)
    assert 0 < res.metrics["exposure"] <= 1 + 1e-12 and 0 <= res.metrics["hit_rate"] <= 1


def test_empty_window_and_batched_rule_are_errors(prices: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="no trading days"):
        backtest(MACrossover(), prices, start="2030-01-01")
    with pytest.raises(ConfigError, match="select"):
        backtest(MACrossover().with_starts(2, seed=0), prices)
