"""Running the same fit at several learning rates: one batched fit when exact, else one by one.

The fit loop takes one learning rate per start and trains each start exactly as it would train
alone at its rate (every built-in optimiser's update is the rate times a direction that does not
depend on it; clipping, penalties and divergence are per start). All rates of one seed then train
as the starts of ONE batched fit, which costs about as much per epoch as a single start. Options
that couple the starts (early stopping, callbacks and a convergence test watch all starts
together) run one fit per rate; the convergence test is switched off by default so that every run
gets its full curve.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from stratopt._market import MarketData
from stratopt.analysis._common import replicate
from stratopt.errors import DiagnosticWarning, DivergenceWarning
from stratopt.rules._base import Rule
from stratopt.training import FitResult, Tuner, fit
from stratopt.training._config import check_temperature
from stratopt.training._result import evaluate_rule

__all__ = ["Run", "can_vectorize", "run_fits"]

#: fit options that couple the starts of one batched fit: with any set, each rate runs alone.
#: (Early stopping and callbacks watch all starts together; a convergence test stops the batch
#: only when every start has converged.)
_ONE_BY_ONE = ("early_stopping", "callbacks", "tol")


@dataclass
class Run:
    """One fit of the comparison: its history (index ``epoch``), status and final metrics."""

    lr: float
    seed: int
    history: pd.DataFrame
    status: str
    diverged_at: int | None
    metrics: dict[str, dict[str, float]]
    seconds: float
    optimizer: str = ""


def can_vectorize(fit_args: dict[str, Any]) -> bool:
    """Whether the rates can train as one batched fit with exactly the same steps (any
    optimiser: per-start rates are exact for all of them)."""
    return not any(_is_set(fit_args.get(k)) for k in _ONE_BY_ONE)


def _is_set(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    return True


def run_fits(
    rule: Rule, data: MarketData, lrs: Sequence[float], seed: int, *, vectorize: bool, fit_args: dict[str, Any]
) -> list[Run]:
    """One :class:`Run` per learning rate (in the order of ``lrs``) for one seed."""
    args = {"tol": 0.0, **fit_args}  # no convergence stop: every run gets the full curve
    if vectorize and len(lrs) > 1:
        return _batched(rule, data, lrs, seed, fit_args)
    return [_single(rule, data, lr, seed, args) for lr in lrs]


def _fit_quietly(rule: Rule, data: MarketData, **kwargs: Any) -> FitResult:
    with warnings.catch_warnings():
        # divergence is an expected outcome here, which the verdict reports; the fit's own
        # diagnostics (a pinned parameter, no improvement) describe its best start, which
        # means nothing in a batch of learning rates
        warnings.simplefilter("ignore", DivergenceWarning)
        warnings.simplefilter("ignore", DiagnosticWarning)
        # one start per rate, from the rule as given: no screen, no random starts
        return fit(rule, data, **{"n_starts": 1, "screen": 0, **kwargs})


def _single(rule: Rule, data: MarketData, lr: float, seed: int, args: dict[str, Any]) -> Run:
    t0 = time.perf_counter()
    res = _fit_quietly(rule, data, lr=lr, seed=seed, **args)
    return Run(
        lr=lr,
        seed=seed,
        history=res.history.copy(),
        status=res.status,
        diverged_at=res.diverged_at,
        metrics=res.metrics,
        seconds=time.perf_counter() - t0,
    )


def _batched(rule: Rule, data: MarketData, lrs: Sequence[float], seed: int, fit_args: dict[str, Any]) -> list[Run]:
    """All rates as the starts of one fit, each start at its own rate."""
    n = len(lrs)
    t0 = time.perf_counter()
    res = _fit_quietly(replicate(rule, n), data, lr=list(lrs), seed=seed, **{"tol": 0.0, **fit_args})
    seconds = (time.perf_counter() - t0) / n
    settings = {k: v for k, v in fit_args.items() if k not in ("lr", "n_starts", "train_days")}
    tuner = Tuner(rule, **settings)
    # the same train/validation split and loss days as the fit, so each start's metrics are
    # what its fit alone reports
    split, keep = tuner._split(data, fit_args.get("train_days"))
    t_end = check_temperature(tuner.temperature)[1]
    runs: list[Run] = []
    for i, lr in enumerate(lrs):
        h = res.history_all[res.history_all["start"] == i].drop(columns="start").set_index("epoch")
        d_at = int(res.starts["diverged_at"].iloc[i])
        if d_at >= 0:  # a diverged start stays frozen in the batch; alone, its fit stops there
            h = h.loc[:d_at]
        metrics = evaluate_rule(res.batch_rule.select(i), data, split, tuner.loss, temperature=t_end, train_keep=keep)
        runs.append(
            Run(
                lr=lr,
                seed=seed,
                history=h,
                status="diverged" if d_at >= 0 else "max_epochs",
                diverged_at=d_at if d_at >= 0 else None,
                metrics=metrics,
                seconds=seconds,
            )
        )
    return runs
