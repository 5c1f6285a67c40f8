"""Diagnostics that speak up: idle rules, pinned parameters, early selections, loss jumps.

A degenerate fit (collapsed, inverted, idle, pinned at a bound) is reported as such, with a
warning of the package's own classes (:class:`~stratopt.errors.DiagnosticWarning` and its
subclasses), never as a success. These functions measure; the results call them.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch

from stratopt.errors import EarlySelectionWarning, IdleRuleWarning, PinnedParameterWarning, caller_level
from stratopt.rules._base import Rule

__all__ = [
    "EARLY_SHARE",
    "IDLE_SHARE",
    "PIN_SHARE",
    "emit",
    "loss_jumps",
    "pinned_params",
    "trading_activity",
]

#: A rule in the market on fewer days than this share is idle.
IDLE_SHARE = 0.05
#: A parameter within this share of its range (in the optimiser's space) of a bound is pinned.
PIN_SHARE = 0.02
#: A kept epoch within the first this share of training is early.
EARLY_SHARE = 0.05
#: A change of loss larger than this many times the median change is a jump.
JUMP_FACTOR = 20.0


def pinned_params(rule: Rule) -> dict[str, str]:
    """Parameters of a single-start rule at or within :data:`PIN_SHARE` of a bound:
    ``{name: "low" | "high"}`` (bounds measured in the parameter's own scale: log for windows)."""
    rule.require_single("pinned_params")
    out = {}
    with torch.no_grad():
        for name, owner, spec in rule.named_specs():
            if spec.transform != "sigmoid":
                continue
            u = float(spec.to_unit(spec.to_natural(owner._raw[spec.name].detach().double()))[0])
            if u <= PIN_SHARE:
                out[name] = "low"
            elif u >= 1.0 - PIN_SHARE:
                out[name] = "high"
    return out


def trading_activity(holdings: np.ndarray, positions: np.ndarray) -> dict[str, float]:
    """Time in market, trades per year and annual turnover of a hard rule.

    ``holdings`` and ``positions`` are (days, assets) arrays for the days whose returns count,
    each row the holding behind that day's return; a trade is a change of the position's sign
    (entering, leaving or reversing) in one asset.
    """
    from stratopt.metrics import PERIODS_PER_YEAR

    days = max(len(holdings), 1)
    years = days / PERIODS_PER_YEAR
    gross = np.abs(holdings).sum(axis=1)
    signs = np.sign(positions)
    changes = np.count_nonzero(np.diff(signs, axis=0)) + np.count_nonzero(signs[:1])
    return {
        "time_in_market": float((gross > 0).mean()) if len(gross) else math.nan,
        "trades_per_year": float(changes / years / max(positions.shape[1], 1)),
        "turnover": float(np.abs(np.diff(holdings, axis=0)).sum(axis=1).mean() * PERIODS_PER_YEAR)
        if len(holdings) > 1
        else math.nan,
    }


def loss_jumps(loss: pd.Series) -> list[int]:
    """Epochs whose loss changed by more than :data:`JUMP_FACTOR` times the median change
    (and by more than 0.1): a start that crossed a cliff of the loss surface."""
    step = loss.diff().abs().dropna()
    if len(step) < 5:
        return []
    typical = float(step.median())
    limit = max(JUMP_FACTOR * typical, 0.1)
    return [int(e) for e in step.index[step > limit]]


def emit(messages: list[tuple[type[Warning], str]]) -> None:
    """Issue each (warning class, message) pair, pointing at the user's line."""
    level = caller_level()
    for category, text in messages:
        warnings.warn(text, category, stacklevel=level)


def fit_findings(
    rule: Rule, activity: dict[str, float], selected_epoch: int, epochs: int, history: pd.Series
) -> tuple[dict[str, Any], list[tuple[type[Warning], str]]]:
    """The diagnostics of a fit and the warnings they call for."""
    pinned = pinned_params(rule)
    jumps = loss_jumps(history)
    found: dict[str, Any] = {
        **activity,
        "pinned": pinned,
        "selected_epoch": selected_epoch,
        "loss_jumps": jumps,
    }
    warn: list[tuple[type[Warning], str]] = []
    if activity["time_in_market"] < IDLE_SHARE:
        warn.append(
            (
                IdleRuleWarning,
                f"the fitted rule holds a position on {activity['time_in_market']:.1%} of the monitored days "
                f"(under {IDLE_SHARE:.0%}): its Sharpe ratio rests on too few days to mean anything",
            )
        )
    for name, side in pinned.items():
        warn.append(
            (
                PinnedParameterWarning,
                f"{name} is at its {side} bound (within {PIN_SHARE:.0%} of the range): the best value may lie "
                "beyond it; widen the bound with rule.with_bounds(...) if that makes sense",
            )
        )
    if 0 <= selected_epoch < max(1, int(EARLY_SHARE * epochs)) and epochs >= 20:
        warn.append(
            (
                EarlySelectionWarning,
                f"the kept parameters are from epoch {selected_epoch} of {epochs}: training did not improve "
                "on them; check the learning rate or the starting values",
            )
        )
    return found, warn
