"""Per-ticker tuning, serially: each row is what a direct fit of that ticker gives."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import stratopt
from stratopt.errors import ConfigError, DiagnosticWarning
from stratopt.parallel import TaskFailure

pytestmark = pytest.mark.filterwarnings("ignore::stratopt.errors.DiagnosticWarning")


def test_each_row_is_a_fit_on_the_ticker_alone_tested_on_its_holdout(
    two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner
) -> None:
    small_tuner = small_tuner.clone(epochs=2)
    result = stratopt.tune_tickers(small_tuner, two_stocks, holdout=0.25, progress=False)
    assert list(result.table.index) == ["AAPL", "XOM"] and result.failures == []
    xom = two_stocks[["XOM"]]
    n_fit = len(xom) - round(0.25 * len(xom))
    fit = small_tuner.fit(xom.iloc[:n_fit])
    test = stratopt.evaluate(fit.rule, xom, loss=small_tuner.loss, start=xom.index[n_fit])
    row = result.table.loc["XOM"]
    assert {k: row[k] for k in fit.params} == fit.params
    assert row["in_sample_sharpe"] == fit.metrics["train"]["hard_sharpe"]
    assert row["out_of_sample_sharpe"] == test["sharpe"].iloc[0]
    assert row["oos_start"] == xom.index[n_fit] and row["oos_end"] == xom.index[-1]
    assert result.results["XOM"].params == fit.params


def test_a_holdout_date_splits_every_ticker_there(two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner) -> None:
    result = stratopt.tune_tickers(small_tuner.clone(epochs=1), two_stocks, holdout="2006-01-01", progress=False)
    assert (result.table["oos_start"] == pd.Timestamp("2006-01-03")).all()
    assert all(r.config["train_end"] == "2005-12-30" for r in result.results.values())


def test_no_holdout_fits_every_day_and_reports_no_out_of_sample(
    two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner
) -> None:
    result = stratopt.tune_tickers(small_tuner.clone(epochs=1), two_stocks[["XOM"]], holdout=0, progress=False)
    assert math.isnan(result.table.loc["XOM", "out_of_sample_sharpe"])
    assert result.results["XOM"].config["n_train"] == len(two_stocks)


def test_a_ticker_that_fails_is_listed_and_the_others_complete(
    two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner
) -> None:
    prices = two_stocks.copy()
    prices["NEW"] = np.nan
    prices.iloc[-40:, 2] = 100.0 + np.arange(40.0)  # listed 40 days ago: shorter than the rule's windows
    result = stratopt.tune_tickers(small_tuner.clone(epochs=1), prices, progress=False)
    assert list(result.table.index) == ["AAPL", "XOM"]
    (failure,) = result.failures
    assert isinstance(failure, TaskFailure)
    assert (failure.label, failure.error_type) == ("NEW", "ConfigError")
    assert "longest window" in failure.message
    assert "failed: NEW: ConfigError" in result.summary()
    record = json.loads(result.to_json())
    assert record["failures"][0]["label"] == "NEW" and len(record["table"]) == 2


def test_a_group_is_tuned_as_one_portfolio(two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner) -> None:
    tuner = small_tuner.clone(epochs=1)
    result = stratopt.tune_tickers(tuner, two_stocks, groups={"both": ["AAPL", "XOM"]}, holdout=0, progress=False)
    assert result.table.index.name == "group"
    assert result.results["both"].params == tuner.fit(two_stocks).params


@pytest.mark.slow
def test_walk_forward_rows_are_each_tickers_own_walk_forward(
    two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner
) -> None:
    splitter = stratopt.WalkForward("2Y", "1Y")
    tuner = small_tuner.clone(epochs=2)
    result = stratopt.tune_tickers(tuner, two_stocks, walk_forward=splitter, progress=False)
    own = stratopt.walk_forward(tuner, two_stocks[["AAPL"]], splitter, progress=False)
    row = result.table.loc["AAPL"]
    assert row["out_of_sample_sharpe"] == own.metrics["sharpe"]
    assert row["in_sample_sharpe"] == own.folds["train_hard_sharpe"].mean()
    assert row["fast"] == own.folds["fast"].iloc[-1] and row["n_folds"] == len(own.folds)
    assert result.results["AAPL"].oos_returns.equals(own.oos_returns)


def test_warnings_of_a_fit_reach_the_caller_named_by_ticker(two_stocks: pd.DataFrame) -> None:
    # A window pinned at a bound: the fit's PinnedParameterWarning, re-raised with the ticker's name.
    rule = stratopt.MACrossover(fast=2, ratio=1.5)
    tuner = stratopt.Tuner(rule, epochs=1, n_starts=1, screen=0, lr=1e-9, seed=0)
    direct = _messages(lambda: tuner.fit(two_stocks[["XOM"]].iloc[:1000]))
    via = _messages(lambda: stratopt.tune_tickers(tuner, two_stocks[["XOM"]].iloc[:1250], progress=False))
    assert direct and via == [f"XOM: {m}" for m in direct]


def _messages(run: object) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()  # type: ignore[operator]
    return [str(w.message) for w in caught if issubclass(w.category, DiagnosticWarning)]


def test_bad_arguments_are_config_errors(two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner) -> None:
    with pytest.raises(ConfigError, match="holdout=0.2 and walk_forward"):
        stratopt.tune_tickers(small_tuner, two_stocks, walk_forward=True, holdout=0.2)
    with pytest.raises(ConfigError, match="holdout=1.5"):
        stratopt.tune_tickers(small_tuner, two_stocks, holdout=1.5)
    with pytest.raises(ConfigError, match="holdout='soon'"):
        stratopt.tune_tickers(small_tuner, two_stocks, holdout="soon")
    with pytest.raises(ConfigError, match=r"group 'g' names tickers not in prices: \['MSFT'\]"):
        stratopt.tune_tickers(small_tuner, two_stocks, groups={"g": ["XOM", "MSFT"]})
    with pytest.raises(ConfigError, match="walk_forward='yes'"):
        stratopt.tune_tickers(small_tuner, two_stocks, walk_forward="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="takes a stratopt.Tuner"):
        stratopt.tune_tickers("MACrossover", two_stocks)  # type: ignore[arg-type]


def test_summary_and_plot(two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner) -> None:
    result = stratopt.tune_tickers(small_tuner.clone(epochs=1), two_stocks, progress=False)
    text = result.summary()
    assert text.startswith("Per-ticker tuning: 2 of 2 tickers tuned (last 20% of each ticker's days held out)")
    assert "AAPL" in text and "out_of_sample_sharpe" in text
    fig = result.plot()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["AAPL", "XOM"]
    assert len(ax.patches) == 4
