"""The hard backtest: timing, costs, metrics, windows."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt._trades import drawdown_dates
from stratopt.backtesting import backtest
from stratopt.data import load_prices
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.rules import MACrossover, Param, Rule


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


# ------------------------------------------------------------------ the trader's report
class Scripted(Rule):
    """Holds the positions it is given (days x assets); the parameter only makes it a rule."""

    def __init__(self, positions: np.ndarray) -> None:
        super().__init__()
        self.add_param(Param("unused", "x", 0.0, 1.0, 0.5))
        self.script = torch.as_tensor(positions, dtype=torch.float64)

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        return self.script.to(data.dtype).expand(p["unused"].shape[0], -1, -1)


@pytest.fixture()
def scripted() -> tuple[pd.DataFrame, np.ndarray]:
    dates = pd.bdate_range("2020-01-06", periods=10)
    prices = pd.DataFrame(
        {
            "A": [100, 100, 110, 121, 110, 110, 99, 99, 99, 108.9],
            "B": [100, 90, 80, 70, 60, 50, 40, 30, 20, 10],
        },
        index=dates,
        dtype=float,
    )
    # decided at each close; the last row is never held over a reported day
    pos = np.array([[0, 1, 1, 1, 0, -1, -1, 0, 1, 1], [1] * 10], dtype=float).T
    return prices, pos


def test_trades_counted_by_hand(scripted: tuple[pd.DataFrame, np.ndarray]) -> None:
    prices, pos = scripted
    res = backtest(Scripted(pos), prices, loss=LossSpec(cost_bps=0.0, allocation="equal"))
    d = prices.index
    t = res.trades
    # A: long over days decided at closes 1-3, short at 5-6, long at 8 (still open); B: long throughout
    assert list(zip(t["ticker"], t["side"], t["entry"], t["exit"], t["days"])) == [
        ("B", "long", d[0], d[9], 9),
        ("A", "long", d[1], d[4], 3),
        ("A", "short", d[5], d[7], 2),
        ("A", "long", d[8], d[9], 1),
    ]
    np.testing.assert_allclose(t["return"], [10 / 100 - 1, 110 / 100 - 1, 0.1, 108.9 / 99 - 1])
    mt = res.metrics
    assert (mt["n_trades"], mt["n_long_trades"], mt["n_short_trades"]) == (4, 3, 1)
    assert mt["win_rate"] == pytest.approx(3 / 4)
    assert mt["avg_holding_days"] == pytest.approx((9 + 3 + 2 + 1) / 4)
    assert mt["time_in_market"] == 1.0  # B is always held


def test_time_in_market_and_win_rate_of_one_asset(scripted: tuple[pd.DataFrame, np.ndarray]) -> None:
    prices, pos = scripted
    res = backtest(Scripted(pos[:, :1]), prices[["A"]], loss=LossSpec(cost_bps=0.0))
    assert res.metrics["time_in_market"] == pytest.approx(6 / 9)  # closes 1, 2, 3, 5, 6, 8 of 0-8
    assert res.metrics["win_rate"] == 1.0 and res.metrics["n_trades"] == 3
    assert res.metrics["avg_holding_days"] == pytest.approx(2.0)


def test_trades_inside_a_window_start_at_its_first_day(scripted: tuple[pd.DataFrame, np.ndarray]) -> None:
    prices, pos = scripted
    d = prices.index
    res = backtest(Scripted(pos), prices, loss=LossSpec(cost_bps=0.0, allocation="equal"), start=d[3], end=d[6])
    assert res.returns.index[0] == d[3] and res.returns.index[-1] == d[6]
    a = res.trades[res.trades["ticker"] == "A"]
    assert list(zip(a["side"], a["entry"], a["exit"], a["days"])) == [("long", d[2], d[4], 2), ("short", d[5], d[6], 1)]


def test_drawdown_dates_by_hand() -> None:
    idx = pd.bdate_range("2021-03-01", periods=6)
    dates, days = drawdown_dates(pd.Series([1.0, 1.2, 0.9, 1.0, 1.3, 1.1], index=idx))
    assert dates == {"peak": idx[1], "trough": idx[2], "recovery": idx[4]} and days == 1
    dates, days = drawdown_dates(pd.Series([1.0, 1.1, 0.8, 0.7, 0.9], index=idx[:5]))
    assert dates == {"peak": idx[1], "trough": idx[3], "recovery": None} and days == 2
    assert drawdown_dates(pd.Series([1.0, 1.1, 1.2], index=idx[:3]))[0]["peak"] is None


def test_buy_and_hold_is_the_mean_asset_return_with_equal_allocation(prices: pd.DataFrame) -> None:
    free = backtest(MACrossover(), prices, loss=LossSpec(cost_bps=0.0, allocation="equal"), start="2010-01-01")
    by_hand = prices.pct_change().mean(axis=1).loc[free.returns.index]
    np.testing.assert_allclose(free.benchmark_returns.to_numpy(), by_hand.to_numpy(), atol=1e-14)
    assert free.benchmark_metrics["sharpe"] == pytest.approx(by_hand.mean() / by_hand.std() * 252**0.5)
    assert (
        free.benchmark_metrics["time_in_market"] == 1.0 and free.metrics["sharpe"] != free.benchmark_metrics["sharpe"]
    )
    # with costs, buy-and-hold pays to enter at the close before the first reported day, and only then
    paid = backtest(MACrossover(), prices, loss=LossSpec(cost_bps=10.0, allocation="equal"), start="2010-01-01")
    gap = (free.benchmark_returns - paid.benchmark_returns).to_numpy()
    assert gap[0] == pytest.approx(1e-3) and np.abs(gap[1:]).max() < 1e-15


def test_summary_is_written_for_people(prices: pd.DataFrame) -> None:
    res = backtest(MACrossover(fast=20.3, slow=100), prices, start="2008-01-01")
    text = res.summary()
    assert ".0000" not in text and "fast=20," in text and "20.3" not in text
    assert "buy & hold" in text and "%" in text and "win rate" in text and "worst drawdown" in text
    days = next(line for line in text.splitlines() if line.startswith("days"))
    assert days.split()[1:] == [str(len(res.returns))] * 2
    sharpe = next(line for line in text.splitlines() if line.startswith("Sharpe"))
    assert sharpe.split()[1] == f"{res.metrics['sharpe']:.2f}"
    trough = res.drawdown["trough"]
    assert trough is not None and str(trough.date()) in text


def test_bad_start_is_a_config_error_and_tz_aware_index_takes_a_plain_date(prices: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match=r"start='garbage'.*YYYY-MM-DD"):
        backtest(MACrossover(), prices, start="garbage")
    with pytest.raises(ConfigError, match="end="):
        backtest(MACrossover(), prices, end="not a date")
    naive = backtest(MACrossover(), prices, start="2010-01-01", end="2010-12-31")
    aware = backtest(MACrossover(), prices.tz_localize("America/New_York"), start="2010-01-01", end="2010-12-31")
    np.testing.assert_array_equal(naive.returns.to_numpy(), aware.returns.to_numpy())
    assert str(aware.returns.index[0].date()) == "2010-01-04"
    stamped = backtest(MACrossover(), prices, start=pd.Timestamp("2010-01-01", tz="America/New_York"), end="2010-12-31")
    pd.testing.assert_series_equal(stamped.returns, naive.returns)


def test_to_dict_is_json_ready(prices: pd.DataFrame) -> None:
    res = backtest(MACrossover(), prices, start="2010-01-01")
    back = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert back["metrics"]["n_trades"] == len(res.trades) == len(back["trades"])
    assert set(back["trades"][0]) == {"ticker", "side", "entry", "exit", "days", "return"}
    assert back["benchmark_metrics"]["sharpe"] == pytest.approx(res.benchmark_metrics["sharpe"])
    assert len(back["benchmark_returns"]) == len(res.returns) and back["drawdown"]["peak"] is not None
    assert back["hard_params"] == {k: pytest.approx(v) for k, v in res.hard_params.items()}


@pytest.mark.parametrize("window", [("2004-01-01", None), ("2010-03-01", "2010-04-15")])
def test_plot_labels_the_log_axis_plainly(prices: pd.DataFrame, window: tuple[str, str | None]) -> None:
    res = backtest(MACrossover(), prices, start=window[0], end=window[1])
    fig = res.plot()
    fig.savefig(io.BytesIO(), format="png")  # draws the labels
    ax_eq = fig.axes[0]
    labels = [t.get_text() for t in ax_eq.get_yticklabels() + ax_eq.get_yticklabels(minor=True) if t.get_text()]
    assert len(labels) >= 2 and not any("10^" in s or "times" in s or "$" in s for s in labels)
    assert ax_eq.get_yscale() == "log" and "vs buy & hold" in ax_eq.get_title()
    assert [str(line.get_label()).split(" (")[0] for line in ax_eq.get_lines()][:2] == ["rule", "buy & hold"]
