"""Rule comparison: each rule's walk-forward as if run alone, the same folds for all, the
deflated Sharpe ratio counting the rules compared, buy-and-hold beside them, names and errors."""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

import stratopt
from stratopt import stats
from stratopt.data import load_prices
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.model_selection import walk_forward
from stratopt.model_selection._compare import RuleComparison, compare_rules
from stratopt.rules import Momentum
from stratopt.training import Tuner

matplotlib.use("Agg")

SETTINGS = {"epochs": 2, "n_starts": 1, "seed": 0}
SPLIT = {"train": "2Y", "test": "1Y"}


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL", "KO"], start="2001-01-01", end="2005-12-31")


@pytest.fixture(scope="module")
def tuned_momentum() -> Tuner:
    return Tuner(Momentum(lookback=60), loss=LossSpec(position_mode="long_only"), **SETTINGS)


@pytest.fixture(scope="module")
def comparison(prices: pd.DataFrame, tuned_momentum: Tuner) -> RuleComparison:
    rules = {"crossover": "crossover", "momentum": tuned_momentum}
    return compare_rules(rules, prices, settings=SETTINGS, progress=False, **SPLIT)


def test_each_rule_is_its_own_walk_forward_on_the_same_folds(
    prices: pd.DataFrame, tuned_momentum: Tuner, comparison: RuleComparison
) -> None:
    alone = walk_forward(tuned_momentum, prices, progress=False, **SPLIT)
    mine = comparison.results["momentum"]
    np.testing.assert_array_equal(mine.oos_returns.to_numpy(), alone.oos_returns.to_numpy())
    folds = [r.folds[["test_start", "test_end"]] for r in comparison.results.values()]
    pd.testing.assert_frame_equal(folds[0], folds[1])
    assert len(folds[0]) >= 2
    # a Tuner keeps its own loss (long only: time out of the market), a name gets the settings
    assert comparison.table.loc["momentum", "time_in_market"] < 1.0
    assert comparison.results["crossover"].config["rule"] == "MACrossover"


def test_table_against_the_statistics_themselves(comparison: RuleComparison) -> None:
    t = comparison.table
    assert list(t.index) == ["crossover", "momentum", "buy_and_hold"] and comparison.n_trials == 2
    for name in ("crossover", "momentum", "buy_and_hold"):
        r = comparison.oos_returns[name].to_numpy()
        assert t.loc[name, "oos_sharpe"] == pytest.approx(stratopt.metrics.sharpe_ratio(r))
        assert t.loc[name, "psr"] == pytest.approx(float(stats.psr_from_returns(r)))
        assert t.loc[name, "max_drawdown"] == pytest.approx(stratopt.metrics.max_drawdown(r))
    bh = comparison.results["crossover"].baselines["buy_and_hold"]
    np.testing.assert_allclose(comparison.oos_returns["buy_and_hold"].to_numpy(), bh.to_numpy())
    # picking the best of two rules costs confidence: every DSR is below its PSR
    for name in ("crossover", "momentum"):
        assert 0.0 < t.loc[name, "dsr"] < t.loc[name, "psr"]
    assert math.isnan(t.loc["buy_and_hold", "dsr"])  # the baseline was not a trial
    diff = t.loc["crossover", "oos_sharpe"] - t.loc["buy_and_hold", "oos_sharpe"]
    assert t.loc["crossover", "sharpe_vs_buy_and_hold"] == pytest.approx(diff)
    assert (t.loc[["crossover", "momentum"], "turnover"] >= 0).all()
    assert comparison.best == t.drop(index="buy_and_hold")["oos_sharpe"].idxmax()


def test_summary_json_and_plot(comparison: RuleComparison) -> None:
    text = comparison.summary()
    assert "2 rules compared by walk-forward on the same" in text and "best of 2 rules" in text
    record = json.loads(comparison.to_json())
    assert [row["rule"] for row in record["table"]] == ["crossover", "momentum", "buy_and_hold"]
    assert record["n_trials"] == 2 and set(record["results"]) == {"crossover", "momentum"}
    fig = comparison.plot()
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert [lab.split(" (")[0] for lab in labels] == ["crossover", "momentum", "buy and hold"]


def test_rule_names_and_bad_input(prices: pd.DataFrame) -> None:
    from stratopt.model_selection._compare import _as_tuners

    tuners = _as_tuners(["crossover", "rsi", Momentum(), Momentum()], {"epochs": 3})
    assert list(tuners) == ["ma-crossover", "rsi", "momentum", "momentum-2"]
    assert tuners["rsi"].epochs == 3 and tuners["rsi"].validation is None
    for rules, match in [
        (["crossover"], "at least two"),
        (["crossover", "nope"], "'nope' is not one of"),
        (["crossover", "m"], "matches several"),
        ("crossover", "must be a list"),
        (["crossover", 3], "is not a Rule"),
    ]:
        with pytest.raises(ConfigError, match=match):
            compare_rules(rules, prices, **SPLIT)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n_trials=3 cannot be set here"):
        compare_rules(["crossover", "rsi"], prices, n_trials=3, **SPLIT)


def test_exported_at_the_top_level() -> None:
    assert stratopt.compare_rules is compare_rules and "compare_rules" in stratopt.__all__
