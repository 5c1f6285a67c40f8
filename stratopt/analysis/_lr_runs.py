"""Running the same fit at several learning rates: one batched fit when exact, else one by one.

For plain and heavy-ball gradient descent the update is linear in the learning rate and the
optimiser state (the momentum buffer) does not depend on it, so training start ``i`` with rate
``lr_ref`` on the loss scaled by ``lr_i / lr_ref`` takes exactly the steps that rate ``lr_i``
takes on the unscaled loss. All rates of one seed then train as the starts of ONE batched fit,
which costs about as much per epoch as a single start. Adam and RMSprop normalise the gradient
(a scaled loss changes nothing), so they, and options whose effect is not linear in the loss
scale (clipping, penalties, early stopping, callbacks, custom schedules, a convergence
tolerance), run one fit per rate.
"""

from __future__ import annotations

import inspect
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from stratopt import objectives as obj
from stratopt._market import MarketData
from stratopt.errors import DivergenceWarning
from stratopt.rules._base import Rule
from stratopt.training._config import check_temperature, split_validation
from stratopt.training._fit import BLOWUP, fit
from stratopt.training._result import evaluate_rule

__all__ = ["Run", "can_vectorize", "replicate", "run_fits"]

#: fit options whose effect is not linear in the loss scale: with any of them set, the rates
#: run one fit each (as does any explicit ``tol``, whose test is relative to the loss, and a
#: ``train_days`` mask, kept simple here as walk-forward's own business).
_ONE_BY_ONE = ("clip_grad_norm", "turnover_penalty", "l2_penalty", "early_stopping", "callbacks", "train_days")
_FIT_DEFAULTS = {
    k: p.default for k, p in inspect.signature(fit).parameters.items() if p.default is not inspect.Parameter.empty
}


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
    if optimizer not in ("sgd", "momentum"):
        return False
    if callable(fit_args.get("schedule", "constant")) or "tol" in fit_args:
        return False
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


def _scaled(objective: Callable[..., Tensor], scale: Tensor) -> Callable[..., Tensor]:
    n = scale.numel()

    def scaled_objective(returns: Tensor, **kwargs: Any) -> Tensor:
        score = objective(returns, **kwargs)
        if score.shape[0] % n:  # fit's final one-start report; recomputed unscaled by _batched
            return score
        # window batches are laid out start-major: (start, window) -> start * windows + window
        return score * scale.to(device=score.device, dtype=score.dtype).repeat_interleave(score.shape[0] // n)

    return scaled_objective


def _batched(
    rule: Rule, data: MarketData, lrs: Sequence[float], seed: int, fit_args: dict[str, Any]
) -> list[Run | None]:
    """All rates as the starts of one fit; None for a start to rerun alone (see below)."""
    n = len(lrs)
    ref = max(lrs)
    scale = torch.tensor([lr / ref for lr in lrs], dtype=torch.float64)
    a = {**_FIT_DEFAULTS, **fit_args}
    objective = obj.get_objective(a["objective"])
    t0 = time.perf_counter()
    res = _fit_quietly(
        replicate(rule, n), data, lr=ref, seed=seed, tol=0.0, **{**fit_args, "objective": _scaled(objective, scale)}
    )
    seconds = (time.perf_counter() - t0) / n
    # Final metrics per start, as fit computes them for its best start (same split and days).
    split = split_validation(data, a["validation"], min_train=math.ceil(rule.max_window()) + 2)
    t_end = check_temperature(a["temperature"])[1]
    runs: list[Run | None] = []
    for i, lr in enumerate(lrs):
        h = res.history_all[res.history_all["start"] == i].drop(columns="start").set_index("epoch")
        d_at = int(res.starts["diverged_at"].iloc[i])
        if d_at >= 0:  # a diverged start stays frozen in the batch; alone, its fit stops there
            h = h.loc[:d_at]
        h = h.assign(
            loss=h["loss"] / float(scale[i]), grad_norm=h["grad_norm"] / float(scale[i]), lr=h["lr"] * float(scale[i])
        )
        # fit's blow-up rule is not scale-free (max(1, |loss|)); a start that would have been
        # stopped by it alone but was not in the batch is rerun alone (never seen with the
        # built-in objectives, whose losses are bounded).
        first = float(h["loss"].iloc[0])
        blown = h["loss"] > first + BLOWUP * max(1.0, abs(first))
        if d_at >= 0:
            blown = blown.loc[: d_at - 1]
        if bool(blown.any()):
            runs.append(None)
            continue
        metrics = evaluate_rule(
            res.batch_rule.select(i),
            data,
            split,
            temperature=t_end,
            objective=objective,
            objective_kwargs=dict(a["objective_kwargs"] or {}),
            cost_bps=a["cost_bps"],
            slippage=a["slippage"],
            allocation=a["allocation"],
        )
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
