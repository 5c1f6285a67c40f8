"""The walk-forward engine: isolation from the future for every rule, results, baselines."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from stratopt.data import load_prices
from stratopt.errors import ConfigError, DataError
from stratopt.loss import LossSpec
from stratopt.model_selection import WalkForward, walk_forward
from stratopt.rules import Blend, MACrossover, MeanReversion, MLPPolicy, Momentum, RSIRule, VolTarget
from stratopt.training import Tuner

FIT = {"epochs": 4, "lr": 0.05, "validation": None}


def _tuner(rule, **kw) -> Tuner:
    return Tuner(rule, **{**FIT, **kw})


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
    clean = walk_forward(_tuner(rule_factory(), **kw), prices, splitter, progress=False)
    end = pd.Timestamp(clean.folds.loc[fold, "test_end"])
    dirty = walk_forward(_tuner(rule_factory(), **kw), _poison_after(prices, end), splitter, progress=False)
    params = clean.param_names
    pd.testing.assert_frame_equal(clean.folds.loc[:fold, params], dirty.folds.loc[:fold, params])
    assert (clean.folds.loc[:fold, "status"] == dirty.folds.loc[:fold, "status"]).all()
    pd.testing.assert_series_equal(clean.oos_returns.loc[:end], dirty.oos_returns.loc[:end])
    pd.testing.assert_frame_equal(clean.candidates.loc[:end], dirty.candidates.loc[:end])
    # and the poison does reach the later folds, so the test can fail
    assert not clean.oos_returns.loc[end:].iloc[1:].equals(dirty.oos_returns.loc[end:].iloc[1:])
    # the fit itself sees nothing after its train end: poison from the train end on
    train_end = pd.Timestamp(clean.folds.loc[fold, "train_end"])
    early = walk_forward(_tuner(rule_factory(), **kw), _poison_after(prices, train_end), splitter, progress=False)
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
    res = walk_forward(_tuner(MACrossover(fast=10, slow=60), n_starts=3, seed=0), prices, splitter, progress=False)
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
    assert res.n_trials == 1  # the walk-forward configurations compared, not starts x folds
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
    assert set(res.stability.index) == {"fast", "ratio", "slow"}
    text = res.summary()
    assert "deflated Sharpe ratio" in text and "probability of backtest overfitting" in text
    json.dumps(res.to_dict())
    assert len(res.plot().axes) == 3


def test_test_returns_equal_a_backtest_of_the_fold_params(prices: pd.DataFrame) -> None:
    from stratopt.backtesting import backtest

    res = walk_forward(_tuner(MACrossover(fast=10, slow=60)), prices, WalkForward(500, 250), progress=False)
    row = res.folds.loc[1]
    rule = MACrossover(fast=row["fast"], slow=row["slow"])
    bt = backtest(rule, prices.loc[: row["test_end"]], start=row["test_start"])
    pd.testing.assert_series_equal(
        bt.returns, res.oos_returns.loc[row["test_start"] : row["test_end"]], check_names=False, atol=1e-12
    )


def test_buy_and_hold_baseline_without_costs_is_the_average_asset(prices: pd.DataFrame) -> None:
    spec = LossSpec(cost_bps=0.0, allocation="equal")
    res = walk_forward(_tuner(MACrossover(), epochs=1, loss=spec), prices, WalkForward(500, 250), progress=False)
    bh = res.baselines["buy_and_hold"]
    ref = prices.pct_change().mean(axis=1).loc[bh.index]
    np.testing.assert_allclose(bh.to_numpy(), ref.to_numpy(), atol=1e-12)


def test_too_little_data_and_misplaced_arguments(prices: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="days"):
        walk_forward(MACrossover(), prices.iloc[:300], WalkForward(500, 250), progress=False)
    with pytest.raises(ConfigError, match="Tuner"):
        walk_forward(MACrossover(), prices, fit_kwargs={"n_starts": 3}, progress=False)
    with pytest.raises(ConfigError, match="WalkForward"):
        walk_forward(MACrossover(), prices, "2Y", progress=False)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown option"):
        walk_forward(MACrossover(), prices, windows=3, progress=False)


def test_splitter_options_are_accepted_as_keywords(prices: pd.DataFrame) -> None:
    a = walk_forward(
        _tuner(MACrossover(), epochs=1), prices, WalkForward(400, 200, anchored=True, purge=5), progress=False
    )
    b = walk_forward(
        _tuner(MACrossover(), epochs=1), prices, train=400, test=200, anchored=True, purge=5, progress=False
    )
    pd.testing.assert_frame_equal(a.folds, b.folds)


def test_slippage_applies_alike_to_training_test_windows_and_baselines(prices: pd.DataFrame) -> None:
    """One LossSpec: slippage in training, in every test window and in both baselines."""
    from stratopt.backtesting import backtest

    spec = LossSpec(cost_bps=2.0, slippage=0.5)
    res = walk_forward(_tuner(MACrossover(fast=10, slow=60), loss=spec), prices, WalkForward(500, 250), progress=False)
    row = res.folds.loc[1]
    window = slice(row["test_start"], row["test_end"])
    fitted = MACrossover(fast=row["fast"], slow=row["slow"])
    bt = backtest(fitted, prices.loc[: row["test_end"]], loss=spec, start=row["test_start"])
    pd.testing.assert_series_equal(bt.returns, res.oos_returns.loc[window], check_names=False, atol=1e-12)
    untuned = backtest(MACrossover(fast=10, slow=60), prices.loc[: row["test_end"]], loss=spec, start=row["test_start"])
    pd.testing.assert_series_equal(untuned.returns, res.baselines["untuned"].loc[window], check_names=False, atol=1e-12)
    # without slippage every series differs: the setting reached each of them
    plain = walk_forward(
        _tuner(MACrossover(fast=10, slow=60), loss=spec.replace(slippage=0.0)),
        prices,
        WalkForward(500, 250),
        progress=False,
    )
    for name in ("buy_and_hold", "untuned"):
        assert (res.baselines[name] < plain.baselines[name] - 1e-12).any()
    assert not np.allclose(res.oos_returns, plain.oos_returns)
    assert res.config["loss"]["slippage"] == 0.5
    # and training saw it: the fit's own train metrics use the same spec
    from stratopt.training import fit

    days = prices.loc[: row["train_end"]]
    with_slip = fit(MACrossover(fast=10, slow=60), days, epochs=2, validation=None, loss=spec)
    without = fit(MACrossover(fast=10, slow=60), days, epochs=2, validation=None, loss=spec.replace(slippage=0.0))
    assert with_slip.history["loss"].iloc[0] > without.history["loss"].iloc[0]


def test_a_600_day_window_gets_600_days_of_warm_up(prices: pd.DataFrame) -> None:
    from stratopt.rules import Param, Rule

    seen: list[int] = []

    class LongMomentum(Rule):
        def __init__(self) -> None:
            super().__init__()
            self.add_param(Param("lookback", "days", 2.0, 600.0, 300.0, integer=True))

        def _positions(self, data, p, temperature):
            seen.append(data.n_days)
            return Momentum(lookback=60)._positions(
                data, {"lookback": p["lookback"] * 0 + 60, "threshold": p["lookback"] * 0}, temperature
            )

    rule = LongMomentum()
    assert rule.warmup_days() == 600
    long_prices = load_prices("sp500", tickers=["AAPL", "XOM"], start="1995-01-01", end="2006-12-31")
    splitter = WalkForward(500, 250)
    res = walk_forward(Tuner(rule, epochs=1, validation=None), long_prices, splitter, progress=False)
    assert res.config["warmup_days"] == 600
    # a fold whose train window starts 600 or more days in gets exactly 600 days of warm-up
    starts = [int(train[0]) for train, _ in splitter.split(long_prices)]
    assert max(starts) >= 600
    assert 600 + 500 in seen and 400 + 500 not in seen  # the old fixed 400-day warm-up is gone


def test_trial_variance_pools_within_folds() -> None:
    from stratopt.model_selection._walk_forward import trial_variance

    # two folds whose levels differ a lot but whose starts differ little
    folds = [[1.0, 1.1, 0.9], [-2.0, -2.1, -1.9]]
    assert trial_variance(folds) == pytest.approx(0.01)
    assert trial_variance([[0.5], [1.5]]) == pytest.approx(0.5)  # one start: across folds


@pytest.mark.parametrize(
    "options",
    [{"validation": 0.3}, {"validation": 0.3, "ensemble": 2}, {"drift_penalty": 0.5, "prior_penalty": 0.1}],
    ids=["inner-validation", "ensemble", "penalties"],
)
def test_inner_validation_and_ensembles_never_read_test_days(prices: pd.DataFrame, options: dict) -> None:
    """Prices after a fold's train end are poisoned: that fold's fit and choice are unchanged."""
    options = dict(options)
    wf_options = {k: options.pop(k) for k in ("ensemble", "drift_penalty", "prior_penalty") if k in options}
    splitter = WalkForward(500, 250)

    def run(p: pd.DataFrame):
        return walk_forward(
            _tuner(MACrossover(10, 60), n_starts=3, seed=0, **options), p, splitter, progress=False, **wf_options
        )

    clean = run(prices)
    fold = 1
    train_end = pd.Timestamp(clean.folds.loc[fold, "train_end"])
    dirty = run(_poison_after(prices, train_end))
    params = clean.param_names
    pd.testing.assert_frame_equal(clean.folds.loc[:fold, params], dirty.folds.loc[:fold, params])
    test_end = pd.Timestamp(clean.folds.loc[fold, "test_end"])
    later = run(_poison_after(prices, test_end))
    pd.testing.assert_series_equal(clean.oos_returns.loc[:test_end], later.oos_returns.loc[:test_end])
    if "validation" in options:
        assert clean.folds["validation_hard_sharpe"].notna().all()


def test_an_ensemble_trades_the_mean_of_its_members_positions(prices: pd.DataFrame) -> None:
    from stratopt import LossSpec
    from stratopt._market import MarketData
    from stratopt.model_selection._wf_fold import _members, run_fold

    splitter = WalkForward(500, 250)
    train_idx, test_idx = list(splitter.split(prices))[1]
    tuner = _tuner(MACrossover(10, 60), n_starts=4, seed=0, validation=0.3)
    fold = run_fold(tuner, MACrossover(10, 60), prices, train_idx, test_idx, ensemble=3)
    # refit the same fold to get the members, then rebuild the ensemble by hand
    from stratopt.model_selection._wf_fold import _fit_quietly, _inner_validation

    lo = max(0, int(train_idx[0]) - tuner.rule.warmup_days())
    hi = int(train_idx[-1]) + 1
    mask = np.zeros(hi - lo, dtype=bool)
    mask[train_idx - lo] = True
    window = prices.iloc[lo:hi]
    fold_tuner, mask = _inner_validation(tuner, window, mask)
    res, _ = _fit_quietly(fold_tuner, window, mask)
    members = _members(res, 3)
    assert len(set(members)) == 3 and members[0] == res.best_start
    data = MarketData.from_prices(prices.iloc[: int(test_idx[-1]) + 1])
    spec = LossSpec()
    member_pos = [spec.positions(res.batch_rule.select(i), data, temperature=0.0) for i in members]
    mean_pos = sum(member_pos) / 3
    expected = spec.returns(mean_pos, data)[0].detach().numpy()[int(test_idx[0]) - 1 : int(test_idx[-1])]
    np.testing.assert_allclose(fold.oos.to_numpy(), expected, atol=1e-14)


def test_bad_walk_forward_options_are_refused(prices: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="ensemble"):
        walk_forward(_tuner(MACrossover(), n_starts=2), prices, ensemble=3, progress=False)
    with pytest.raises(ConfigError, match="drift_penalty"):
        walk_forward(_tuner(MACrossover()), prices, drift_penalty=-1.0, progress=False)
    with pytest.raises(ConfigError, match="inner validation"):
        walk_forward(
            _tuner(MACrossover(), validation=("2003-01-01", "2004-01-01")),
            prices,
            WalkForward(500, 250),
            progress=False,
        )


def test_headline_is_the_psr_and_the_dsr_deflates_by_configurations_compared(prices: pd.DataFrame) -> None:
    from stratopt import stats

    splitter = WalkForward(500, 250)
    tuner = _tuner(MACrossover(fast=10, slow=60), n_starts=3, seed=0)
    res = walk_forward(tuner, prices, splitter, progress=False)
    expected = stats.psr_from_returns(res.oos_returns.to_numpy())
    assert res.psr == pytest.approx(expected) and 0.0 < res.psr < 1.0
    assert res.n_trials == 1 and res.dsr == res.psr  # one configuration: nothing to deflate
    text = res.summary()
    assert "probabilistic Sharpe ratio" in text and "equal to the PSR with n_trials=1" in text
    saved = res.to_dict()
    assert saved["psr"] == pytest.approx(res.psr) and saved["n_trials"] == 1
    # in-sample selection among 3 starts, per fold
    sel = res.folds["selection_dsr"]
    assert sel.notna().all() and ((sel >= 0) & (sel <= 1)).all()
    assert "selection_dsr" in text and all("selection_dsr" in row for row in saved["folds"])
    # comparing 20 configurations deflates the same out-of-sample result
    more = walk_forward(tuner, prices, splitter, n_trials=np.int64(20), progress=False)
    assert more.n_trials == 20 and more.psr == pytest.approx(res.psr)
    assert more.dsr < res.psr
    assert "20 walk-forward configurations compared" in more.summary()


def test_selection_dsr_is_nan_with_one_start(prices: pd.DataFrame) -> None:
    res = walk_forward(
        _tuner(MACrossover(fast=10, slow=60), n_starts=1, screen=0), prices, WalkForward(500, 250), progress=False
    )
    assert res.folds["selection_dsr"].isna().all()
    assert res.dsr == res.psr
    json.dumps(res.to_dict(), allow_nan=False)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "5"])
def test_bad_n_trials_is_refused(prices: pd.DataFrame, bad: object) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"n_trials={bad!r} must be a positive whole number")):
        walk_forward(_tuner(MACrossover()), prices, n_trials=bad, progress=False)
