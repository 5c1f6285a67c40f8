"""Running the same fit at several learning rates: one batched fit when exact, else one by one.

The fit loop takes one learning rate per start and trains each start exactly as it would train
alone at its rate (every built-in optimiser's update is the rate times a direction that does not
depend on it). All rates of one seed then train as the starts of ONE batched fit, which costs
about as much per epoch as a single start. Options that couple the starts (early stopping and
callbacks watch all starts together) run one fit per rate; the convergence test is switched off
so that every run gets its full curve.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from stratopt._market import MarketData
from stratopt.errors import DivergenceWarning
from stratopt.rules._base import Rule
from stratopt.training._config import check_temperature, split_validation
from stratopt.training._fit import fit
from stratopt.training._result import evaluate_rule
from stratopt.training._tuner import Tuner

__all__ = ["Run", "can_vectorize", "replicate", "run_fits"]

#: fit options that couple the starts of one batched fit: with any set, each rate runs alone.
_ONE_BY_ONE = ("early_stopping", "callbacks")


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


def can_vectorize(optimizer: str, fit_args: dict[str, Any]) -> bool:
    """Whether the rates can train as one batched fit with exactly the same steps."""
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
        runs = _batched(rule, data, lrs, seed, fit_args)
        return [r if r is not None else _single(rule, data, lr, seed, args) for r, lr in zip(runs, lrs)]
    return [_single(rule, data, lr, seed, args) for lr in lrs]


def _fit_quietly(rule: Rule, data: MarketData, **kwargs: Any) -> Any:
    with warnings.catch_warnings():  # divergence is an expected outcome here; the verdict says it
        warnings.simplefilter("ignore", DivergenceWarning)
        return fit(rule, data, **kwargs)


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


def replicate(rule: Rule, n: int) -> Rule:
    """A rule with ``n`` identical starts, all equal to ``rule``'s (weights included)."""
    batched = rule.with_starts(n, seed=0)
    source = dict(rule.named_parameters())
    with torch.no_grad():
        for name, p in batched.named_parameters():
            p.copy_(source[name].expand_as(p))
    return batched


def _batched(
    rule: Rule, data: MarketData, lrs: Sequence[float], seed: int, fit_args: dict[str, Any]
) -> list[Run | None]:
    """All rates as the starts of one fit, each start at its own rate."""
    n = len(lrs)
    t0 = time.perf_counter()
    res = _fit_quietly(replicate(rule, n), data, lr=list(lrs), seed=seed, **{"tol": 0.0, **fit_args})
    seconds = (time.perf_counter() - t0) / n
    tuner = Tuner(rule, **{k: v for k, v in fit_args.items() if k not in ("lr", "n_starts")})
    split = split_validation(data, tuner.validation, min_train=math.ceil(rule.max_window()) + 2)
    t_end = check_temperature(tuner.temperature)[1]
    runs: list[Run | None] = []
    for i, lr in enumerate(lrs):
        h = res.history_all[res.history_all["start"] == i].drop(columns="start").set_index("epoch")
        d_at = int(res.starts["diverged_at"].iloc[i])
        if d_at >= 0:  # a diverged start stays frozen in the batch; alone, its fit stops there
            h = h.loc[:d_at]
        metrics = evaluate_rule(res.batch_rule.select(i), data, split, tuner.loss, temperature=t_end)
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
