"""The walk-forward engine: refit on each train window, trade the hard rule on the next test."""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
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
from stratopt.rules._base import Rule
from stratopt.training import Tuner

__all__ = ["walk_forward"]


class _BuyAndHold(Rule):
    """Long every listed asset, the passive baseline."""

    def _positions(self, data: MarketData, p: dict[str, torch.Tensor], temperature: float) -> torch.Tensor:
        return torch.ones((1, data.n_days, data.n_assets), dtype=data.dtype, device=data.device)


@dataclass
class _Fold:
    """What one fold adds to the result."""

    row: dict[str, Any]
    oos: pd.Series
    candidates: np.ndarray  # (test days, starts)
    baselines: dict[str, pd.Series]
    trial_sharpes: list[float]
    rule: Rule


def walk_forward(
    estimator: Tuner | Rule,
    prices: pd.DataFrame,
    splitter: WalkForward | None = None,
    *,
    warm_start: bool = True,
    n_trials: int | None = None,
    progress: bool | None = None,
    **split_options: Any,
) -> WalkForwardResult:
    """Fit on each train window, trade the hard rule on the following test window, stitch.

    For every fold of ``splitter`` (default ``WalkForward("5Y", "1Y")``):

    1. clone ``estimator`` and fit it on the train window only. The rule's own warm-up
       (:meth:`Rule.warmup_days`: its longest possible window) of earlier days is passed as
       indicator warm-up and does not count in the loss; embargoed days are skipped. Nothing
       after the train end is seen.
    2. run the HARD rule with those parameters on the test window, computing positions over
       the prices up to the test end (earlier days are warm-up), under the estimator's
       :class:`~stratopt.LossSpec` (costs, slippage, allocation, position mode).

    The test returns are stitched into one out-of-sample series and compared with buy-and-hold
    and with the untuned rule on the same dates, under the same costs.

    Parameters
    ----------
    estimator
        A :class:`~stratopt.Tuner` configured with the rule and every training setting. A bare
        rule is tuned with ``Tuner(rule, validation=None)`` (the whole train window trains).
        Its rule's current parameters are the first fold's start and the untuned baseline;
        with ``seed`` set, fold ``k`` uses ``seed + k``.
    prices
        Price table (dates x tickers).
    splitter
        Fold layout, a :class:`WalkForward`.
    warm_start
        Start each fold from the previous fold's fitted parameters.
    n_trials
        Number of configurations tried, for the deflated Sharpe ratio; default
        ``n_starts x folds``.
    progress
        tqdm bar over folds (default: only on a terminal).
    **split_options
        Instead of ``splitter``: :class:`WalkForward` arguments (``train``, ``test``,
        ``anchored``, ``purge``, ``embargo``, ...), with train 5 years and test 1 year by default.

    Returns
    -------
    WalkForwardResult
    """
    tuner = _as_tuner(estimator)
    if not isinstance(prices, pd.DataFrame):
        raise ConfigError(f"prices must be a DataFrame of prices, got {type(prices).__name__}")
    splitter = _as_splitter(splitter, split_options)
    splits = list(splitter.split(prices))
    fold_dates = splitter.folds(prices)
    show = progress if progress is not None else sys.stderr.isatty()
    current = tuner.rule
    folds: list[_Fold] = []
    for k, (train_idx, test_idx) in enumerate(tqdm(splits, disable=not show, desc="walk-forward", leave=False)):
        seed = None if tuner.seed is None else tuner.seed + k
        fold = _run_fold(tuner.clone(rule=current, seed=seed, progress=False), tuner.rule, prices, train_idx, test_idx)
        fold.row = {"fold": k, **{c: fold_dates.iloc[k][c] for c in _DATE_COLUMNS}, **fold.row}
        folds.append(fold)
        if warm_start:
            current = fold.rule
    return _assemble(tuner, prices, splitter, folds, n_trials=n_trials, warm_start=warm_start)


_DATE_COLUMNS = ("train_start", "train_end", "test_start", "test_end")


def _as_tuner(estimator: Tuner | Rule) -> Tuner:
    if isinstance(estimator, Rule):
        estimator.require_single("walk_forward")
        return Tuner(estimator, validation=None)
    if not isinstance(estimator, Tuner):
        raise ConfigError(
            f"walk_forward takes a stratopt.Tuner (or a Rule), got {type(estimator).__name__}; "
            "configure training with stratopt.Tuner(rule, lr=..., epochs=..., n_starts=...)"
        )
    estimator.rule.require_single("walk_forward (use the Tuner's n_starts for multi-start)")
    return estimator


def _as_splitter(splitter: Any, options: dict[str, Any]) -> WalkForward:
    moved = sorted(set(options) & {"fit_kwargs", "n_starts", "seed", "cost_bps", "slippage", "allocation"})
    if moved:
        raise ConfigError(
            f"walk_forward no longer takes {moved}: configure training in the estimator, e.g. "
            "walk_forward(stratopt.Tuner(rule, lr=0.05, n_starts=4, seed=0, loss=stratopt.LossSpec(cost_bps=5)), prices)"
        )
    if splitter is not None and not isinstance(splitter, WalkForward):
        raise ConfigError(
            f"splitter={splitter!r} is not a WalkForward; pass WalkForward({splitter!r}, '1Y') or "
            f"train={splitter!r}, test='1Y' as keywords"
        )
    if splitter is not None and options:
        raise ConfigError(f"pass either a splitter or its options {sorted(options)}, not both")
    if splitter is not None:
        return splitter
    try:
        options = dict(options)
        return WalkForward(options.pop("train", "5Y"), options.pop("test", "1Y"), **options)
    except TypeError as exc:
        raise ConfigError(
            f"walk_forward got unknown option(s) {sorted(options)} ({exc}); its own options are warm_start, "
            "n_trials and progress, and the splitter's are train, test, step, anchored, purge, "
            "embargo, min_train and reduce_test"
        ) from None


def _run_fold(tuner: Tuner, untuned: Rule, prices: pd.DataFrame, train_idx: np.ndarray, test_idx: np.ndarray) -> _Fold:
    """Fit on the train window (after the rule's warm-up), test the hard rule on the test window."""
    lo = max(0, int(train_idx[0]) - tuner.rule.warmup_days())
    hi = int(train_idx[-1]) + 1
    mask = np.zeros(hi - lo, dtype=bool)
    mask[train_idx - lo] = True
    window = prices.iloc[lo:hi]
    window = window.loc[:, window.notna().any()]  # drop tickers not yet listed in this window
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = tuner.fit(window, train_days=mask)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    spec = tuner.loss
    test_lo, test_hi = int(test_idx[0]), int(test_idx[-1]) + 1
    upto = prices.iloc[:test_hi]
    data = MarketData.from_prices(upto.loc[:, upto.notna().any()])
    test_dates = prices.index[test_lo:test_hi]
    sl = slice(test_lo - 1, test_hi - 1)  # returns earned over the test dates
    with torch.no_grad():  # one hard pass over every start: the selected start is a row of it
        pos = spec.positions(res.batch_rule, data, temperature=0.0)
        cand = spec.returns(pos, data).cpu().numpy()[:, sl]
        held = spec.holdings(pos[res.best_start : res.best_start + 1], data)[0].cpu().numpy()
        train_data = MarketData.from_prices(window)
        train_all = spec.rule_returns(res.batch_rule, train_data).cpu().numpy()[:, mask[1:] & mask[:-1]]
        baselines = {
            name: pd.Series(s.rule_returns(rule, data)[0].cpu().numpy()[sl], index=test_dates)
            for name, rule, s in (
                ("buy_and_hold", _BuyAndHold(), spec.replace(position_mode="long_short")),
                ("untuned", untuned, spec),
            )
        }
    best = cand[res.best_start]
    trades = np.abs(np.diff(held[test_lo - 1 : test_hi], axis=0)).sum(axis=1)
    row = {
        **res.params,
        "status": res.status,
        "train_soft_sharpe": res.metrics["train"]["soft_sharpe"],
        "train_hard_sharpe": res.metrics["train"]["hard_sharpe"],
        "test_sharpe": m.sharpe_ratio(best),
        "test_return": float(np.prod(1.0 + best) - 1.0),
        "turnover": float(trades.mean() * m.PERIODS_PER_YEAR),
    }
    return _Fold(
        row=row,
        oos=pd.Series(best, index=test_dates),
        candidates=cand.T,
        baselines=baselines,
        trial_sharpes=[m.sharpe_ratio(r, periods=1) for r in train_all],
        rule=res.rule,
    )


def _assemble(
    tuner: Tuner,
    prices: pd.DataFrame,
    splitter: WalkForward,
    folds: list[_Fold],
    *,
    n_trials: int | None,
    warm_start: bool,
) -> WalkForwardResult:
    oos_returns = pd.concat([f.oos for f in folds]).rename("oos")
    baselines = {name: pd.concat([f.baselines[name] for f in folds]).rename(name) for name in folds[0].baselines}
    candidates = pd.DataFrame(
        np.vstack([f.candidates for f in folds]),
        index=oos_returns.index,
        columns=[f"start_{j}" for j in range(folds[0].candidates.shape[1])],
    )
    trial_sharpes = [f.trial_sharpes for f in folds]
    n_tried = n_trials if n_trials is not None else sum(len(t) for t in trial_sharpes)
    return WalkForwardResult(
        folds=pd.DataFrame([f.row for f in folds]).set_index("fold"),
        oos_returns=oos_returns,
        baselines=baselines,
        candidates=candidates,
        param_names=list(tuner.rule.params),
        regimes=regime_table({"oos": oos_returns, **baselines}, label_regimes(prices)),
        dsr=_deflated(oos_returns, trial_sharpes, n_tried),
        pbo=_pbo(candidates),
        n_trials=n_tried,
        config={
            **tuner.get_params(),
            "splitter": repr(splitter),
            "warm_start": warm_start,
            "warmup_days": tuner.rule.warmup_days(),
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
