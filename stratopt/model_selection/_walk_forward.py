"""The walk-forward engine: refit on each train window, trade the hard rule on the next test."""

from __future__ import annotations

import copy
import math
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from stratopt import metrics as m
from stratopt import stats
from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.model_selection._regimes import label_regimes, regime_table
from stratopt.model_selection._splitter import WalkForward
from stratopt.model_selection._wf_result import WalkForwardResult
from stratopt.pnl import Allocation, holdings, net_returns
from stratopt.rules._base import Rule
from stratopt.training import fit

__all__ = ["walk_forward"]

#: Days before a train window used as indicator warm-up (the longest span a built-in allows).
WARMUP_DAYS = 400


class _BuyAndHold(Rule):
    """Long every listed asset, the passive baseline."""

    def _positions(self, data: MarketData, p: dict[str, torch.Tensor], temperature: float) -> torch.Tensor:
        return torch.ones((1, data.n_days, data.n_assets), dtype=data.dtype, device=data.device)


def _hard_returns(rule: Rule, data: MarketData, *, cost_bps: float, allocation: Allocation) -> np.ndarray:
    """Hard net returns of every start, (batch, days - 1), entry k earned over date k+1."""
    with torch.no_grad():
        pos = rule(data, temperature=0.0)
        return net_returns(pos, data, cost_bps=cost_bps, allocation_scheme=allocation).cpu().numpy()


def walk_forward(
    rule: Rule,
    prices: pd.DataFrame,
    splitter: WalkForward | None = None,
    *,
    fit_kwargs: dict[str, Any] | None = None,
    warm_start: bool = True,
    n_starts: int = 1,
    seed: int | None = None,
    cost_bps: float = 5.0,
    allocation: Allocation = "equal_risk",
    n_trials: int | None = None,
    warmup_days: int = WARMUP_DAYS,
    progress: bool | None = None,
) -> WalkForwardResult:
    """Fit on each train window, trade the hard rule on the following test window, stitch.

    For every fold of ``splitter`` (default ``WalkForward("5Y", "1Y")``):

    1. fit on the train window only. Up to ``warmup_days`` earlier days are passed as indicator
       warm-up and do not count in the loss; embargoed days inside the window are skipped.
       Nothing after the train end is seen.
    2. run the HARD rule with those parameters on the test window, computing positions over
       the prices up to the test end (earlier days are warm-up); costs are charged exactly.

    The test returns are stitched into one out-of-sample series and compared with buy-and-hold
    and with the untuned rule on the same dates.

    Parameters
    ----------
    rule
        The rule to tune; its current parameters are the first fold's start (and the untuned
        baseline).
    prices
        Price table (dates x tickers).
    splitter
        Fold layout.
    fit_kwargs
        Passed to :func:`stratopt.fit` (optimizer, lr, epochs, temperature, ...). Inside a fold
        ``validation`` defaults to None (the whole train window trains).
    warm_start
        Start each fold from the previous fold's fitted parameters.
    n_starts, seed
        Random starts per fold; all starts' out-of-sample returns form the candidate matrix of
        the probability of backtest overfitting.
    cost_bps, allocation
        Costs and capital split, the same in training and in the test.
    n_trials
        Number of configurations tried, for the deflated Sharpe ratio; default
        ``n_starts x folds``.
    warmup_days
        Indicator warm-up before each train window.
    progress
        tqdm bar over folds (default: only on a terminal).

    Returns
    -------
    WalkForwardResult
    """
    if not isinstance(rule, Rule) or rule.batch_size != 1:
        raise ConfigError("walk_forward takes a single-start stratopt Rule; use n_starts for multi-start")
    if not isinstance(prices, pd.DataFrame):
        raise ConfigError(f"prices must be a DataFrame of prices, got {type(prices).__name__}")
    if warmup_days < 0:
        raise ConfigError(f"warmup_days={warmup_days!r} must be >= 0")
    splitter = splitter if splitter is not None else WalkForward("5Y", "1Y")
    kwargs = {"validation": None, "progress": False, **(fit_kwargs or {})}
    for key in ("n_starts", "seed", "cost_bps", "allocation", "train_days"):
        if key in kwargs:
            raise ConfigError(f"pass {key} to walk_forward itself, not in fit_kwargs")
    splits = list(splitter.split(prices))
    fold_dates = splitter.folds(prices)
    dates = prices.index
    show = progress if progress is not None else sys.stderr.isatty()

    current = copy.deepcopy(rule)
    fold_rows: list[dict[str, Any]] = []
    oos_parts: list[pd.Series] = []
    candidate_parts: list[np.ndarray] = []
    trial_sharpes: list[list[float]] = []  # per fold: every start's hard train Sharpe
    baseline_parts: dict[str, list[pd.Series]] = {"buy_and_hold": [], "untuned": []}
    for k, (train_idx, test_idx) in enumerate(tqdm(splits, disable=not show, desc="walk-forward", leave=False)):
        lo = max(0, int(train_idx[0]) - warmup_days)
        hi = int(train_idx[-1]) + 1
        window = prices.iloc[lo:hi]
        mask = np.zeros(hi - lo, dtype=bool)
        mask[train_idx - lo] = True
        # drop tickers that have no price in this window at all (listed later)
        window = window.loc[:, window.notna().any()]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = fit(
                current,
                window,
                n_starts=n_starts,
                seed=None if seed is None else seed + k,
                cost_bps=cost_bps,
                allocation=allocation,
                train_days=mask,
                **kwargs,
            )
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        test_lo, test_hi = int(test_idx[0]), int(test_idx[-1]) + 1
        upto = prices.iloc[:test_hi]
        upto = upto.loc[:, upto.notna().any()]
        data = MarketData.from_prices(upto)
        test_dates = dates[test_lo:test_hi]
        sl = slice(test_lo - 1, test_hi - 1)  # returns earned over the test dates
        # one hard pass over every start: the selected start's returns and holdings are a row of it
        with torch.no_grad():
            pos = res.batch_rule(data, temperature=0.0)
            all_returns = net_returns(pos, data, cost_bps=cost_bps, allocation_scheme=allocation).cpu().numpy()
            held = holdings(pos[res.best_start : res.best_start + 1], data, allocation)[0].cpu().numpy()
        cand = all_returns[:, sl]
        best = cand[res.best_start]
        oos = pd.Series(best, index=test_dates)
        oos_parts.append(oos)
        candidate_parts.append(cand.T)
        for name, base in (("buy_and_hold", _BuyAndHold()), ("untuned", rule)):
            r = _hard_returns(base, data, cost_bps=cost_bps, allocation=allocation)[0, sl]
            baseline_parts[name].append(pd.Series(r, index=test_dates))
        trades = np.abs(np.diff(held[test_lo - 1 : test_hi], axis=0)).sum(axis=1)
        # every start's hard train Sharpe is one trial of the selection
        train_all = _hard_returns(
            res.batch_rule, MarketData.from_prices(window), cost_bps=cost_bps, allocation=allocation
        )[:, mask[1:] & mask[:-1]]
        trial_sharpes.append([m.sharpe_ratio(r, periods=1) for r in train_all])
        row = {
            "fold": k,
            **{c: fold_dates.iloc[k][c] for c in ("train_start", "train_end", "test_start", "test_end")},
            **res.params,
            "status": res.status,
            "train_soft_sharpe": res.metrics["train"]["soft_sharpe"],
            "train_hard_sharpe": res.metrics["train"]["hard_sharpe"],
            "test_sharpe": m.sharpe_ratio(best),
            "test_return": float(np.prod(1.0 + best) - 1.0),
            "turnover": float(trades.mean() * m.PERIODS_PER_YEAR),
        }
        fold_rows.append(row)
        if warm_start:
            current = res.rule
    folds = pd.DataFrame(fold_rows).set_index("fold")
    oos_returns = pd.concat(oos_parts).rename("oos")
    baselines = {name: pd.concat(parts).rename(name) for name, parts in baseline_parts.items()}
    candidates = pd.DataFrame(
        np.vstack(candidate_parts),
        index=oos_returns.index,
        columns=[f"start_{j}" for j in range(candidate_parts[0].shape[1])],
    )
    n_tried = n_trials if n_trials is not None else sum(len(f) for f in trial_sharpes)
    return WalkForwardResult(
        folds=folds,
        oos_returns=oos_returns,
        baselines=baselines,
        candidates=candidates,
        param_names=list(rule.params),
        regimes=regime_table({"oos": oos_returns, **baselines}, label_regimes(prices)),
        dsr=_deflated(oos_returns, trial_sharpes, n_tried),
        pbo=_pbo(candidates),
        n_trials=n_tried,
        config={
            "rule": type(rule).__name__,
            "splitter": repr(splitter),
            "n_starts": n_starts,
            "seed": seed,
            "cost_bps": cost_bps,
            "allocation": allocation,
            "warm_start": warm_start,
            "fit_kwargs": {k: v for k, v in kwargs.items() if k != "progress"},
        },
    )


def trial_variance(trial_sharpes: list[list[float]]) -> float:
    """Variance of the trials' per-period Sharpe ratios, as the deflated Sharpe ratio needs it.

    With several starts per fold it is the pooled within-fold variance: the spread between
    configurations tried on the same data, which is what selection exploits (differences
    between periods are not). With one start per fold it falls back to the variance across
    folds, an upper bound that deflates more.
    """
    folds = [[s for s in f if math.isfinite(s)] for f in trial_sharpes]
    within = [np.var(f, ddof=1) for f in folds if len(f) >= 2]
    if within:
        return float(np.mean(within))
    flat = [s for f in folds for s in f]
    return float(np.var(flat, ddof=1)) if len(flat) >= 2 else math.nan


def _deflated(oos: pd.Series, trial_sharpes: list[list[float]], n_trials: int) -> float:
    """DSR of the out-of-sample Sharpe given ``n_trials`` and the trials' Sharpe variance."""
    variance = trial_variance(trial_sharpes)
    if not math.isfinite(variance) or variance <= 0 or n_trials < 2 or oos.std() == 0:
        return math.nan
    return float(stats.dsr_from_returns(oos.to_numpy(), n_trials=n_trials, sr_variance=variance))


def _pbo(candidates: pd.DataFrame) -> stats.PBOResult | None:
    """PBO over the multi-start candidates (needs >= 2 starts and enough days for 16 blocks)."""
    if candidates.shape[1] < 2:
        return None
    n_splits = 16 if len(candidates) >= 16 * 20 else 8
    if len(candidates) < n_splits * 2:
        return None
    return stats.probability_of_backtest_overfitting(candidates.to_numpy(), n_splits=n_splits)
