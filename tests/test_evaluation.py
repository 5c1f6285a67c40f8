"""The batched hard evaluator and parameter tables: equal to one backtest per parameter set."""

from __future__ import annotations

import pandas as pd
import pytest

import stratopt
from stratopt import LossSpec, backtest, evaluate
from stratopt.errors import ConfigError
from stratopt.rules import MACrossover, Momentum, VolTarget


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return stratopt.load_prices("sp500", tickers=["AAPL", "XOM", "KO"], start="1998-01-01", end="2006-12-31")


def test_every_row_equals_its_own_backtest(prices: pd.DataFrame) -> None:
    grid = pd.DataFrame({"fast": [3, 10, 20, 50], "slow": [12, 40, 100, 300]})
    spec = LossSpec(cost_bps=7, slippage=0.1, position_mode="long_only")
    table = evaluate(MACrossover().with_params(grid), prices, loss=spec, start="2001-01-01", chunk=3)
    assert list(table["slow"]) == pytest.approx([12, 40, 100, 300])
    for i, row in grid.iterrows():
        bt = backtest(MACrossover(**row), prices, loss=spec, start="2001-01-01")
        assert table.loc[i, "sharpe"] == pytest.approx(bt.metrics["sharpe"], rel=1e-10)
        assert table.loc[i, "annual_return"] == pytest.approx(bt.metrics["annual_return"], rel=1e-9)
        assert table.loc[i, "max_drawdown"] == pytest.approx(bt.metrics["max_drawdown"], rel=1e-9)
        assert table.loc[i, "turnover"] == pytest.approx(bt.metrics["turnover"], rel=1e-9)
        exposure = (bt.holdings.shift(1).iloc[1:].abs().sum(axis=1) > 0).mean()
        assert table.loc[i, "time_in_market"] == pytest.approx(exposure, abs=1e-3)


def test_with_params_keeps_unlisted_params_and_accepts_sub_rules(prices: pd.DataFrame) -> None:
    rule = VolTarget(MACrossover(fast=10, slow=50), target_vol=0.2)
    batched = rule.with_params(pd.DataFrame({"rule.fast": [5, 8], "target_vol": [0.1, 0.3]}))
    table = batched.batch_params()
    assert table["rule.fast"].tolist() == pytest.approx([5, 8])
    assert table["rule.ratio"].tolist() == pytest.approx([5.0, 5.0])  # kept from the rule
    assert table["vol_span"].tolist() == pytest.approx([60.0, 60.0])
    with pytest.raises(ConfigError, match="unknown parameter"):
        Momentum().with_params({"window": [5]})
    with pytest.raises(ConfigError, match="at least one row"):
        Momentum().with_params(pd.DataFrame({"lookback": []}))


def test_bad_windows_are_refused(prices: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="fewer than 2 trading days"):
        evaluate(MACrossover(), prices, start="2030-01-01")
    with pytest.raises(ConfigError, match="chunk"):
        evaluate(MACrossover(), prices, chunk=0)
