"""Fit the same rule on many tickers (or groups of tickers), one task each."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stratopt.errors import ConfigError
from stratopt.parallel._executor import Executor, TaskFailure, executor
from stratopt.parallel._tickers_result import TuneTickersResult
from stratopt.rules._base import Rule
from stratopt.training import Tuner

if TYPE_CHECKING:
    from distributed import Client

    from stratopt.model_selection import WalkForward

__all__ = ["tune_tickers"]

#: Share of each ticker's days held out by default when there is no walk-forward.
DEFAULT_HOLDOUT = 0.2


def tune_tickers(
    estimator: Tuner | Rule,
    prices: pd.DataFrame,
    *,
    walk_forward: bool | WalkForward = False,
    holdout: float | str | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    walk_forward_options: Mapping[str, Any] | None = None,
    n_jobs: int | None = None,
    scheduler: str | Client | Executor | None = None,
    progress: bool | None = None,
) -> TuneTickersResult:
    """Tune the same rule separately on each ticker, and test each fit out of sample.

    Each ticker (or each group of ``groups``, traded as one portfolio under the estimator's
    :class:`~stratopt.LossSpec`) is one independent task, with the same settings and seed:

    - without walk-forward, the estimator is fitted on the ticker's days before the holdout and
      its hard rule is scored on the holdout (earlier days warm its indicators up; nothing after
      the fit's last day is seen by the fit);
    - with ``walk_forward``, :func:`stratopt.walk_forward` runs on the ticker alone; the fitted
      parameters are the last fold's (the ones to trade next) and the out-of-sample Sharpe ratio
      is that of the stitched test returns.

    A ticker whose task raises (too short a history for the rule's windows, a divergent fit that
    errors) is listed in ``failures`` with its error; the others complete.

    Parameters
    ----------
    estimator
        A :class:`~stratopt.Tuner`, or a rule (tuned with ``Tuner(rule)``).
    prices
        Price table (dates x tickers). A ticker's days start at its first price.
    walk_forward
        ``False`` (default): one fit and a holdout. ``True``: walk-forward with
        ``WalkForward("5Y", "1Y")`` (:func:`stratopt.walk_forward`'s default); or the
        :class:`~stratopt.WalkForward` to use.
    holdout
        Without walk-forward: the share of each ticker's last days held out (default 0.2), or
        the first holdout date (``"2018-01-01"``); ``0`` fits on every day and reports no
        out-of-sample figures. Not used with walk-forward, whose test windows are the holdout.
    groups
        ``{name: [tickers]}`` to tune groups of tickers as portfolios instead of one ticker at
        a time.
    walk_forward_options
        Other :func:`stratopt.walk_forward` arguments (``warm_start``, ``ensemble``, ...).
    n_jobs, scheduler
        Where the tasks run (see :func:`stratopt.parallel.executor`): serial by default;
        ``n_jobs=K`` a local Dask cluster of K processes; or a Dask scheduler. The results are
        the same, in the same order.
    progress
        Progress over tickers (a bar on a terminal, a line per ticker in a log).

    Returns
    -------
    TuneTickersResult
        ``table``: one row per ticker (fitted parameters, status, in-sample and out-of-sample
        hard Sharpe ratio, out-of-sample annual return, out-of-sample dates); ``failures``;
        ``results``: each ticker's :class:`~stratopt.FitResult` or
        :class:`~stratopt.WalkForwardResult`.

    Examples
    --------
    >>> import stratopt
    >>> from stratopt.rules import MACrossover
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM"], start="2003", end="2005-12-31")
    >>> tuner = stratopt.Tuner(MACrossover(), epochs=2, n_starts=1, screen=8, seed=0)
    >>> result = stratopt.tune_tickers(tuner, prices, progress=False)
    >>> list(result.table.index), list(result.table.columns[:3])
    (['AAPL', 'XOM'], ['fast', 'ratio', 'slow'])
    """
    tuner = _as_tuner(estimator)
    if not isinstance(prices, pd.DataFrame) or prices.shape[1] < 1:
        raise ConfigError(f"prices must be a DataFrame of prices (dates x tickers), got {type(prices).__name__}")
    splitter = _as_splitter(walk_forward)
    if splitter is not None and holdout is not None:
        raise ConfigError(
            f"holdout={holdout!r} and walk_forward both given; walk-forward tests on its own test windows: "
            "drop holdout, or set walk_forward=False"
        )
    if splitter is None and walk_forward_options:
        raise ConfigError("walk_forward_options need walk_forward=True or a WalkForward")
    cut = _check_holdout(DEFAULT_HOLDOUT if holdout is None and splitter is None else holdout)
    members = _groups(groups, prices)
    shared = {
        "prices": prices,
        "tuner": tuner.clone(progress=False),
        "splitter": splitter,
        "holdout": cut,
        "options": dict(walk_forward_options or {}),
    }
    with executor(n_jobs, scheduler) as ex:
        outcomes = ex.map(
            _tune_one,
            list(members.items()),
            shared=shared,
            labels=list(members),
            desc="tune tickers",
            progress=progress,
            capture_warnings="label",  # a fit's warnings, raised where it ran, come back here
        )
    rows, results, failures = {}, {}, []
    for name, outcome in zip(members, outcomes):
        if isinstance(outcome, TaskFailure):
            failures.append(outcome)
            continue
        rows[name], results[name] = outcome
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "ticker" if groups is None else "group"
    config = {
        "tuner": tuner.get_params(),
        "walk_forward": None if splitter is None else repr(splitter),
        "holdout": cut,
        "groups": {k: list(v) for k, v in members.items()},
    }
    return TuneTickersResult(table=table, failures=failures, results=results, config=config)


def _tune_one(
    member: tuple[str, Sequence[str]],
    *,
    prices: pd.DataFrame,
    tuner: Tuner,
    splitter: WalkForward | None,
    holdout: float | str | None,
    options: dict[str, Any],
) -> tuple[dict[str, Any], Any]:
    """One ticker's (or group's) fit and out-of-sample test: (row, result)."""
    name, tickers = member
    window = prices.loc[:, list(tickers)]
    first = window.first_valid_index()
    if first is None:
        raise ConfigError(f"{name} has no prices")
    window = window.loc[first:]
    if splitter is None:
        return _fit_and_hold_out(tuner, window, holdout)
    return _walk_forward(tuner, window, splitter, options)


def _fit_and_hold_out(tuner: Tuner, window: pd.DataFrame, holdout: float | str | None) -> tuple[dict[str, Any], Any]:
    from stratopt.evaluation import evaluate

    n_fit = _n_fit(window.index, holdout)
    res = tuner.fit(window.iloc[:n_fit])
    row: dict[str, Any] = {**res.params, "status": res.status, "in_sample_sharpe": res.metrics["train"]["hard_sharpe"]}
    if n_fit < len(window):
        test = evaluate(res.rule, window, loss=tuner.loss, start=window.index[n_fit])
        row.update(
            out_of_sample_sharpe=float(test["sharpe"].iloc[0]),
            out_of_sample_return=float(test["annual_return"].iloc[0]),
            oos_start=window.index[n_fit],
            oos_end=window.index[-1],
        )
    else:
        row.update(out_of_sample_sharpe=math.nan, out_of_sample_return=math.nan, oos_start=pd.NaT, oos_end=pd.NaT)
    return row, res


def _walk_forward(
    tuner: Tuner, window: pd.DataFrame, splitter: WalkForward, options: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    from stratopt.model_selection import walk_forward

    wf = walk_forward(tuner, window, splitter, progress=False, **options)
    last = wf.folds.iloc[-1]
    row: dict[str, Any] = {
        **{p: float(last[p]) for p in wf.param_names},
        "status": str(last["status"]),
        "in_sample_sharpe": float(wf.folds["train_hard_sharpe"].mean()),
        "out_of_sample_sharpe": wf.metrics["sharpe"],
        "out_of_sample_return": wf.metrics["annual_return"],
        "oos_start": wf.oos_returns.index[0],
        "oos_end": wf.oos_returns.index[-1],
        "n_folds": len(wf.folds),
        "psr": wf.psr,
    }
    return row, wf


def _n_fit(dates: pd.DatetimeIndex, holdout: float | str | None) -> int:
    """Days the fit sees: all but the holdout."""
    if holdout is None or holdout == 0:
        return len(dates)
    if isinstance(holdout, float):
        return len(dates) - max(1, round(holdout * len(dates)))
    n_fit = int(np.searchsorted(dates, pd.Timestamp(holdout)))
    if n_fit < 2 or n_fit >= len(dates) - 1:
        raise ConfigError(
            f"holdout={holdout!r} leaves {n_fit} days to fit and {len(dates) - n_fit} to test on data from "
            f"{dates[0].date()} to {dates[-1].date()}; pick a date inside the data"
        )
    return n_fit


def _check_holdout(holdout: Any) -> float | str | None:
    if holdout is None:
        return None
    if isinstance(holdout, (int, float)) and not isinstance(holdout, bool):
        if not 0 <= holdout < 1:
            raise ConfigError(
                f"holdout={holdout!r} must be a share of the days in [0, 1), or a date such as '2018-01-01'"
            )
        return float(holdout)
    if isinstance(holdout, (str, pd.Timestamp)):
        try:
            pd.Timestamp(holdout)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"holdout={holdout!r} is neither a share of the days nor a date such as '2018-01-01'"
            ) from exc
        return str(holdout)
    raise ConfigError(f"holdout={holdout!r} must be a share of the days in [0, 1), or a date such as '2018-01-01'")


def _as_tuner(estimator: Any) -> Tuner:
    if isinstance(estimator, Rule):
        estimator.require_single("tune_tickers")
        return Tuner(estimator)
    if not isinstance(estimator, Tuner):
        raise ConfigError(f"tune_tickers takes a stratopt.Tuner (or a Rule), got {type(estimator).__name__}")
    estimator.rule.require_single("tune_tickers (use the Tuner's n_starts for multi-start)")
    return estimator


def _as_splitter(walk_forward: Any) -> WalkForward | None:
    from stratopt.model_selection import WalkForward

    if walk_forward is False or walk_forward is None:
        return None
    if walk_forward is True:
        return WalkForward("5Y", "1Y")  # walk_forward's own default
    if isinstance(walk_forward, WalkForward):
        return walk_forward
    raise ConfigError(f"walk_forward={walk_forward!r} must be False, True or a stratopt.WalkForward")


def _groups(groups: Mapping[str, Sequence[str]] | None, prices: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    if groups is None:
        return {str(t): (t,) for t in prices.columns}
    if not isinstance(groups, Mapping) or not groups:
        raise ConfigError(f"groups must be a non-empty mapping {{name: [tickers]}}, got {groups!r}")
    out = {}
    for name, tickers in groups.items():
        members = (tickers,) if isinstance(tickers, str) else tuple(tickers)
        missing = [t for t in members if t not in prices.columns]
        if not members or missing:
            raise ConfigError(
                f"group {name!r} names tickers not in prices: {missing or 'none given'}; "
                f"the columns are {list(prices.columns)}"
            )
        out[str(name)] = members
    return out
