"""The walk-forward engine: isolation from the future for every rule, results, baselines."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stratopt.data import load_prices
from stratopt.errors import ConfigError, DataError
from stratopt.model_selection import WalkForward, walk_forward
from stratopt.rules import Blend, MACrossover, MeanReversion, MLPPolicy, Momentum, RSIRule, VolTarget

FIT = {"epochs": 4, "lr": 0.05}


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL", "XOM", "KO"], start="2001-01-01", end="2006-12-31")


RULES = {
    "ma_crossover": lambda: MACrossover(fast=10, slow=60),
    "momentum": lambda: Momentum(lookback=60),
    "mean_reversion": lambda: MeanReversion(),
    "rsi": lambda: RSIRule(),
    "vol_target": lambda: VolTarget(MACrossover(fast=10, slow=60)),
    "blend": lambda: Blend({"trend": MACrossover(fast=10, slow=60), "mom": Momentum(lookback=40)}),
    "mlp": lambda: MLPPolicy(n_lags=5, hidden=(4,), seed=0),
}


def _poison_after(prices: pd.DataFrame, last: pd.Timestamp) -> pd.DataFrame:
    poisoned = prices.copy()
    poisoned.loc[poisoned.index > last] *= 1000.0
    return poisoned


def _assert_fold_isolated(rule_factory, prices: pd.DataFrame, splitter: WalkForward, fold: int, **kw) -> None:
    clean = walk_forward(rule_factory(), prices, splitter, fit_kwargs=FIT, progress=False, **kw)
    end = pd.Timestamp(clean.folds.loc[fold, "test_end"])
    dirty = walk_forward(rule_factory(), _poison_after(prices, end), splitter, fit_kwargs=FIT, progress=False, **kw)
    params = clean.param_names
    pd.testing.assert_frame_equal(clean.folds.loc[:fold, params], dirty.folds.loc[:fold, params])
    assert (clean.folds.loc[:fold, "status"] == dirty.folds.loc[:fold, "status"]).all()
    pd.testing.assert_series_equal(clean.oos_returns.loc[:end], dirty.oos_returns.loc[:end])
    pd.testing.assert_frame_equal(clean.candidates.loc[:end], dirty.candidates.loc[:end])
    # and the poison does reach the later folds, so the test can fail
    assert not clean.oos_returns.loc[end:].iloc[1:].equals(dirty.oos_returns.loc[end:].iloc[1:])
    # the fit itself sees nothing after its train end: poison from the train end on
    train_end = pd.Timestamp(clean.folds.loc[fold, "train_end"])
    early = walk_forward(
        rule_factory(), _poison_after(prices, train_end), splitter, fit_kwargs=FIT, progress=False, **kw
    )
    pd.testing.assert_frame_equal(clean.folds.loc[:fold, params], early.folds.loc[:fold, params])


@pytest.mark.parametrize("name", sorted(RULES))
def test_poisoned_future_leaves_earlier_folds_unchanged(name: str, prices: pd.DataFrame) -> None:
    _assert_fold_isolated(RULES[name], prices, WalkForward(500, 250), fold=1)


@pytest.mark.parametrize(
    "splitter",
    [
        WalkForward(400, 200, anchored=True),
        WalkForward(400, 200, purge=10),
        WalkForward(400, 200, anchored=True, purge=5, embargo=20),
        WalkForward("2Y", "6M", purge=3, embargo=5),
    ],
    ids=["anchored", "purge", "anchored-purge-embargo", "calendar-purge-embargo"],
)
def test_poisoned_future_with_split_variants(splitter: WalkForward, prices: pd.DataFrame) -> None:
    _assert_fold_isolated(RULES["ma_crossover"], prices, splitter, fold=2, n_starts=2, seed=3)


def test_result_contents(prices: pd.DataFrame) -> None:
    splitter = WalkForward(500, 250)
    res = walk_forward(
        MACrossover(fast=10, slow=60), prices, splitter, fit_kwargs=FIT, n_starts=3, seed=0, progress=False
    )
    folds = splitter.folds(prices)
    assert len(res.folds) == len(folds)
    # out-of-sample dates are exactly the test windows, in order, without overlap
    expected = np.concatenate(
        [
            np.flatnonzero((prices.index >= a) & (prices.index <= b))
            for a, b in zip(folds["test_start"], folds["test_end"])
        ]
    )
    assert res.oos_returns.index.equals(prices.index[expected])
    for base in res.baselines.values():
        assert base.index.equals(res.oos_returns.index)
    assert res.candidates.shape == (len(res.oos_returns), 3)
    assert res.n_trials == 3 * len(folds)
    assert 0.0 <= res.dsr <= 1.0 and res.pbo is not None and 0.0 <= res.pbo.pbo <= 1.0
    assert {
        "fast",
        "slow",
        "status",
        "train_soft_sharpe",
        "train_hard_sharpe",
        "test_sharpe",
        "test_return",
        "turnover",
    } <= set(res.folds.columns)
    assert set(res.regimes.index.get_level_values("kind")) == {"volatility", "trend"}
    assert set(res.stability.index) == {"fast", "slow"}
    text = res.summary()
    assert "deflated Sharpe ratio" in text and "probability of backtest overfitting" in text
    json.dumps(res.to_dict())
    assert len(res.plot().axes) == 3


def test_test_returns_equal_a_backtest_of_the_fold_params(prices: pd.DataFrame) -> None:
    from stratopt.backtest import backtest

    res = walk_forward(MACrossover(fast=10, slow=60), prices, WalkForward(500, 250), fit_kwargs=FIT, progress=False)
    row = res.folds.loc[1]
    rule = MACrossover(fast=row["fast"], slow=row["slow"])
    bt = backtest(rule, prices.loc[: row["test_end"]], start=row["test_start"])
    pd.testing.assert_series_equal(
        bt.returns, res.oos_returns.loc[row["test_start"] : row["test_end"]], check_names=False, atol=1e-12
    )


def test_buy_and_hold_baseline_without_costs_is_the_average_asset(prices: pd.DataFrame) -> None:
    res = walk_forward(
        MACrossover(),
        prices,
        WalkForward(500, 250),
        fit_kwargs={"epochs": 1},
        cost_bps=0.0,
        allocation="equal",
        progress=False,
    )
    bh = res.baselines["buy_and_hold"]
    ref = prices.pct_change().mean(axis=1).loc[bh.index]
    np.testing.assert_allclose(bh.to_numpy(), ref.to_numpy(), atol=1e-12)


def test_too_little_data_and_misplaced_arguments(prices: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="days"):
        walk_forward(MACrossover(), prices.iloc[:300], WalkForward(500, 250), progress=False)
    with pytest.raises(ConfigError, match="n_starts"):
        walk_forward(MACrossover(), prices, fit_kwargs={"n_starts": 3}, progress=False)


def test_trial_variance_pools_within_folds() -> None:
    from stratopt.model_selection._walk_forward import trial_variance

    # two folds whose levels differ a lot but whose starts differ little
    folds = [[1.0, 1.1, 0.9], [-2.0, -2.1, -1.9]]
    assert trial_variance(folds) == pytest.approx(0.01)
    assert trial_variance([[0.5], [1.5]]) == pytest.approx(0.5)  # one start: across folds
