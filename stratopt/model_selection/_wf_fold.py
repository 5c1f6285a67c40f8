"""One walk-forward fold: fit on the train window (inner validation inside it), trade the hard
rule (one start or an ensemble) on the test window, under the estimator's loss spec."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from stratopt import metrics as m
from stratopt._market import MarketData
from stratopt.diagnostics import trading_activity
from stratopt.errors import ConfigError, DiagnosticWarning
from stratopt.rules._base import Rule
from stratopt.training import FitResult, Tuner
from stratopt.training._shared_screen import SharedScreen

__all__ = ["INNER_PURGE_CAP", "Fold", "run_fold"]

#: The purge between inner training and inner validation days is the rule's longest current
#: window, capped at a quarter of trading days so that long windows leave days to train on.
INNER_PURGE_CAP = 63


class _BuyAndHold(Rule):
    """Long every listed asset, the passive baseline."""

    def _positions(self, data: MarketData, p: dict[str, torch.Tensor], temperature: float) -> torch.Tensor:
        return torch.ones((1, data.n_days, data.n_assets), dtype=data.dtype, device=data.device)


@dataclass
class Fold:
    """What one fold adds to the result."""

    row: dict[str, Any]
    oos: pd.Series
    candidates: np.ndarray  # (test days, starts)
    baselines: dict[str, pd.Series]
    trial_sharpes: list[float]
    rule: Rule
    diagnostics: list[tuple[type[Warning], str]]
    history: pd.DataFrame | None = None  # the fit's rows, one per start and epoch


def run_fold(
    tuner: Tuner,
    untuned: Rule,
    prices: pd.DataFrame,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    ensemble: int = 1,
    shared_screen: SharedScreen | None = None,
) -> Fold:
    """Fit on the train window (after the rule's warm-up), test the hard rule on the test window.

    With a fractional ``tuner.validation`` the last part of the train days is the inner
    validation set, purged from training by the rule's longest window (at most
    :data:`INNER_PURGE_CAP` days); it chooses the epoch and the start. The test window is read
    only to compute the test returns. ``shared_screen`` (scored over all of ``prices``) is
    the screen's design for every fold, sliced to this fold's training days.
    """
    lo = max(0, int(train_idx[0]) - tuner.rule.warmup_days())
    hi = int(train_idx[-1]) + 1
    mask = np.zeros(hi - lo, dtype=bool)
    mask[train_idx - lo] = True
    window = prices.iloc[lo:hi]
    window = window.loc[:, window.notna().any()]  # drop tickers not yet listed in this window
    if tuner.rule.max_window() + 2 > len(window):  # a warm start too long for this fold's data
        tuner = tuner.clone(rule=untuned)
    fold_tuner, mask = _inner_validation(tuner, window, mask)
    res, diagnostics = _fit_quietly(fold_tuner, window, mask, shared_screen)
    members = _members(res, ensemble)
    test = _test(res, members, tuner, untuned, prices, test_idx)
    train_all = _train_returns(res, tuner, window, mask)
    row = {
        **res.params,
        "status": res.status,
        "train_soft_sharpe": res.metrics["train"]["soft_sharpe"],
        "train_hard_sharpe": res.metrics["train"]["hard_sharpe"],
        "validation_hard_sharpe": res.metrics.get("validation", {}).get("hard_sharpe", math.nan),
        "test_sharpe": m.sharpe_ratio(test["returns"]),
        "test_return": float(np.prod(1.0 + test["returns"]) - 1.0),
        **test["activity"],
    }
    return Fold(
        row=row,
        oos=pd.Series(test["returns"], index=test["dates"]),
        candidates=test["candidates"].T,
        baselines=test["baselines"],
        trial_sharpes=[m.sharpe_ratio(r, periods=1) for r in train_all],
        rule=res.rule,
        diagnostics=diagnostics,
        history=res.history_all,
    )


def _inner_validation(tuner: Tuner, window: pd.DataFrame, mask: np.ndarray) -> tuple[Tuner, np.ndarray]:
    """The fold's tuner with its validation set to the last part of the train days (dates),
    and the train mask with the purge before those days removed."""
    frac = tuner.validation
    if frac is None:
        return tuner, mask
    if not isinstance(frac, (int, float)) or not 0 < frac < 1:
        raise ConfigError(
            f"validation={frac!r}: inside a walk-forward it must be None or the fraction of each train "
            "window held out as inner validation (e.g. 0.2), not dates"
        )
    train_pos = np.flatnonzero(mask)
    n_val = max(2, round(frac * len(train_pos)))
    purge = min(math.ceil(tuner.rule.max_window()), INNER_PURGE_CAP)
    first_val = train_pos[-n_val]
    mask = mask.copy()
    mask[max(0, first_val - purge) :] = False  # purge, and validation days do not train
    if mask.sum() < 2:
        raise ConfigError(f"validation={frac!r} leaves no training days in a fold; use a smaller fraction")
    dates = window.index
    select = "validation" if tuner.select == "hard" else tuner.select  # the inner validation chooses
    return tuner.clone(validation=(str(dates[first_val].date()), str(dates[-1].date())), select=select), mask


def _fit_quietly(
    tuner: Tuner, window: pd.DataFrame, mask: np.ndarray, shared_screen: SharedScreen | None = None
) -> tuple[FitResult, list[Any]]:
    """Fit, re-emitting ordinary warnings; diagnostic ones are returned for the fold summary."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = tuner.fit(window, train_days=mask, shared_screen=shared_screen)
    found = []
    for w in caught:
        if issubclass(w.category, DiagnosticWarning):
            found.append((w.category, str(w.message)))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res, found


def _members(res: FitResult, ensemble: int) -> list[int]:
    """The starts traded: the selected one, or the best ``ensemble`` by their monitored loss
    (inner validation if any, else the training days)."""
    if ensemble <= 1:
        return [res.best_start]
    order = res.starts["monitor_loss"].fillna(np.inf).to_numpy().argsort(kind="stable")
    return [int(i) for i in order[:ensemble]]


def _test(
    res: FitResult, members: list[int], tuner: Tuner, untuned: Rule, prices: pd.DataFrame, test_idx: np.ndarray
) -> dict[str, Any]:
    spec = tuner.loss
    test_lo, test_hi = int(test_idx[0]), int(test_idx[-1]) + 1
    upto = prices.iloc[:test_hi]
    data = MarketData.from_prices(upto.loc[:, upto.notna().any()])
    dates = prices.index[test_lo:test_hi]
    sl = slice(test_lo - 1, test_hi - 1)  # returns earned over the test dates
    with torch.no_grad():  # one hard pass over every start: the traded one(s) are rows of it
        pos = spec.positions(res.batch_rule, data, temperature=0.0)
        candidates = spec.returns(pos, data).cpu().numpy()[:, sl]
        traded = pos[members].mean(dim=0, keepdim=True)  # an ensemble trades its mean position
        returns = spec.returns(traded, data)[0].cpu().numpy()[sl]
        held = spec.holdings(traded, data)[0].cpu().numpy()
        baselines = {
            name: pd.Series(s.rule_returns(rule, data)[0].cpu().numpy()[sl], index=dates)
            for name, rule, s in (
                ("buy_and_hold", _BuyAndHold(), spec.replace(position_mode="long_short")),
                ("untuned", untuned, spec),
            )
        }
    behind = slice(test_lo - 1, test_hi - 1)  # holdings behind each test return
    activity = trading_activity(held[behind], traded[0].cpu().numpy()[behind])
    return {"returns": returns, "dates": dates, "candidates": candidates, "baselines": baselines, "activity": activity}


def _train_returns(res: FitResult, tuner: Tuner, window: pd.DataFrame, mask: np.ndarray) -> np.ndarray:
    """Every start's hard returns on the fold's training days (the trials of its selection)."""
    with torch.no_grad():
        train_data = MarketData.from_prices(window)
        r = tuner.loss.rule_returns(res.batch_rule, train_data).cpu().numpy()
    return r[:, mask[1:] & mask[:-1]]
