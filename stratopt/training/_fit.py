"""``fit``: train a rule's parameters by backpropagation through a smoothed Sharpe ratio."""

from __future__ import annotations

import copy
import hashlib
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from stratopt import objectives as obj
from stratopt._market import MarketData
from stratopt.errors import ConfigError, DivergenceWarning
from stratopt.pnl import Allocation, net_returns
from stratopt.rules._base import Rule
from stratopt.training._bookkeeping import (
    check_fit_args,
    history_rows,
    loss_days,
    per_start_sq_norm,
    scale_grads,
    snapshot,
)
from stratopt.training._config import anneal, check_temperature, split_validation
from stratopt.training._optim import OptimizerName, Schedule, make_optimizer, make_scheduler
from stratopt.training._result import FitResult, evaluate_rule

__all__ = ["RAW_LIMIT", "fit"]

#: A bounded parameter whose unconstrained value passes this magnitude sits on its bound with a
#: gradient below 1e-10 of its size (sigmoid'(25) ~ 1e-11): it cannot come back, so the start
#: is counted as diverged (a learning rate far too large throws parameters there in one step).
RAW_LIMIT = 25.0
#: Loss above ``initial + BLOWUP * max(1, |initial|)`` counts as a blow-up.
BLOWUP = 50.0


def _data_hash(data: MarketData) -> str:
    h = hashlib.sha256()
    h.update(np.asarray(data.dates.asi8).tobytes())
    h.update(",".join(data.tickers).encode())
    h.update(data.log_prices.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def _as_data(prices: pd.DataFrame | MarketData, dtype: torch.dtype) -> MarketData:
    if isinstance(prices, MarketData):
        return prices if prices.dtype == dtype else prices.to(dtype=dtype)
    return MarketData.from_prices(prices, dtype=dtype)


def fit(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    *,
    objective: obj.Objective | Callable[[Tensor], Tensor] = "sharpe",
    objective_kwargs: dict[str, Any] | None = None,
    optimizer: OptimizerName = "adam",
    lr: float = 0.05,
    epochs: int = 200,
    momentum: float = 0.9,
    batch_days: int | None = None,
    batches_per_step: int = 1,
    schedule: Schedule = "constant",
    clip_grad_norm: float | None = None,
    temperature: float | tuple[float, float] = (1.0, 0.1),
    validation: float | tuple[str, str] | None = 0.2,
    early_stopping: tuple[int, float] | None = None,
    select: Literal["hard", "soft", "last"] = "hard",
    n_starts: int = 1,
    seed: int | None = None,
    cost_bps: float = 5.0,
    slippage: float = 0.0,
    allocation: Allocation = "equal_risk",
    turnover_penalty: float = 0.0,
    l2_penalty: float = 0.0,
    tol: float = 1e-9,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    train_days: np.ndarray | None = None,
    progress: bool | None = None,
    callbacks: Sequence[Callable[[dict[str, Any]], bool | None]] = (),
) -> FitResult:
    """Train ``rule``'s parameters to maximise a smoothed objective of its net returns.

    Each epoch is one optimiser step: soft positions over the training days (temperature
    annealed geometrically from ``temperature[0]`` to ``temperature[1]``), net returns with a
    smoothed |trade| cost, loss ``-objective + penalties`` per start, backward, step. Starts are
    independent rows of one batch, so ``n_starts`` costs one batched pass, not a loop.

    Parameters
    ----------
    rule
        The rule to train (left unchanged; the result holds a trained copy).
    prices
        Price table (dates x tickers) or :class:`~stratopt.MarketData`. Only these days are
        used: pass train data only when evaluating out of sample.
    objective
        ``"sharpe"``, ``"sortino"``, ``"differential_sharpe"``, ``"mean_variance"`` or a callable
        (batch, days) -> (batch,), higher is better; ``objective_kwargs`` go to it
        (e.g. ``{"halflife": 252}``).
    optimizer, lr, momentum
        ``"sgd"``, ``"momentum"``, ``"adam"``, ``"rmsprop"``; learning rate; momentum factor.
    epochs
        Maximum number of optimiser steps.
    batch_days, batches_per_step
        ``None`` is full-batch gradient descent. Otherwise each step averages the objective over
        ``batches_per_step`` random contiguous windows of ``batch_days`` days (stochastic
        gradient descent over time; positions are still computed causally over all train days
        so each window has its indicator warm-up).
    schedule, clip_grad_norm
        Learning-rate schedule; gradient clipping per start.
    temperature
        One temperature, or (start, end) to anneal; the hard rule is temperature 0.
    validation
        Fraction of the last days held out, (start, end) dates at the end, or None. The
        validation objective is measured at the final temperature for early stopping and for
        choosing the best start.
    early_stopping
        (patience, min_delta): stop when no start's soft validation loss (train loss without a
        validation set) has improved by ``min_delta`` for ``patience`` epochs.
    select
        Which epoch's parameters each start keeps: ``"hard"`` (default) the epoch at which the
        HARD rule scored best on the validation days (train days without validation), so the
        reported rule is the best one the optimiser passed, not a soft optimum the hard rule
        does not share; ``"soft"`` the best soft validation loss (classic early-stopping
        restore); ``"last"`` the final epoch. The best start is chosen by the same measure.
    n_starts, seed
        Random starts trained together (the rule's current values are start 0); the seed makes
        starts and window sampling reproducible.
    cost_bps, slippage, allocation
        Costs and capital split across assets (see :func:`stratopt.pnl.net_returns`).
    turnover_penalty, l2_penalty
        Weights of the mean daily |position change| and of the squared distance of the
        unconstrained parameters from their start.
    tol
        Converged when every live start's loss changes by less than ``tol`` for 10 epochs.
    dtype, device
        Float type and device of the computation (float64 on the CPU by default; float32 is
        about twice as fast with Sharpe ratios equal to ~1e-4).
    train_days
        Boolean mask over the days of ``prices``: a day's return counts in the training loss
        only if it and the day before are True. Days marked False serve as indicator warm-up
        only (or are embargoed); walk-forward uses this. Default: all days.
    progress
        tqdm bar; by default only when stderr is a terminal.
    callbacks
        Called after each epoch with the history row (a dict); returning True stops training.

    Returns
    -------
    FitResult
        Best start's parameters in natural units, history, status, soft and hard metrics.
    """
    if not isinstance(rule, Rule):
        raise ConfigError(f"rule must be a stratopt Rule, got {type(rule).__name__}")
    check_fit_args(epochs, batch_days, batches_per_step, n_starts, clip_grad_norm, early_stopping)
    if select not in ("hard", "soft", "last"):
        raise ConfigError(f"select={select!r} is not one of 'hard', 'soft', 'last'")
    if turnover_penalty < 0 or l2_penalty < 0:
        raise ConfigError(f"penalties must be >= 0, got turnover={turnover_penalty}, l2={l2_penalty}")
    objective_fn = obj.get_objective(objective)
    obj_kwargs = dict(objective_kwargs or {})
    t_start, t_end = check_temperature(temperature)
    data = _as_data(prices, dtype)
    if device is not None:
        data = data.to(device=device)
    min_days = math.ceil(rule.max_window()) + 2
    if data.n_days < min_days:
        raise ConfigError(
            f"the data has {data.n_days} days but the rule's longest window is "
            f"{rule.max_window():.0f} days; use more data or shorter windows"
        )
    split = split_validation(data, validation, min_train=min_days)
    keep = loss_days(train_days, data.n_days, split.n_train)
    n_loss = split.n_train - 1 if keep is None else int(keep.sum())
    if batch_days is not None and batch_days > n_loss:
        raise ConfigError(f"batch_days={batch_days} is longer than the {n_loss} training returns")

    if rule.batch_size == 1 and n_starts > 1:
        model = rule.with_starts(n_starts, seed=seed)
    else:  # an already batched rule keeps its starts
        model = copy.deepcopy(rule)
    model = model.to(dtype=dtype, device=data.device)
    n = model.batch_size
    initial_starts = model.batch_params()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(params, optimizer, lr, momentum=momentum)
    sched = make_scheduler(opt, schedule, steps=epochs)
    train = data.slice(0, split.n_train)
    gen = torch.Generator().manual_seed(seed if seed is not None else 0)
    init_raw = [p.detach().clone() for p in params]
    bounded = [owner._raw[spec.name] for _, owner, spec in model.named_specs() if spec.transform != "identity"]

    def step_loss(tau: float) -> tuple[Tensor, Tensor]:
        pos = model(train, temperature=tau)
        r = net_returns(pos, train, cost_bps=cost_bps, slippage=slippage, allocation_scheme=allocation, smooth=True)
        if keep is not None:
            r = r[:, keep]
        soft_sharpe = obj.sharpe(r.detach())
        if batch_days is None:
            score = objective_fn(r, **obj_kwargs)
        else:
            starts = torch.randint(0, r.shape[1] - batch_days + 1, (batches_per_step,), generator=gen)
            idx = starts[:, None] + torch.arange(batch_days)
            windows = r[:, idx]  # (B, W, batch_days)
            score = objective_fn(windows.reshape(n * batches_per_step, batch_days), **obj_kwargs)
            score = score.reshape(n, batches_per_step).mean(-1)
        loss = -score
        if turnover_penalty:
            loss = loss + turnover_penalty * obj.turnover_penalty(pos)
        if l2_penalty:
            loss = loss + l2_penalty * obj.l2_penalty(params, init_raw)
        return loss, soft_sharpe

    # the soft monitor feeds early stopping, select="soft" and the validation Sharpe history
    need_soft_monitor = early_stopping is not None or select == "soft" or split.has_validation

    def monitor_loss() -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """On the validation days (train days without validation): soft loss at the final
        temperature and its Sharpe, and the HARD rule's loss (exact costs) and Sharpe."""
        with torch.no_grad():
            d, first_day = (data, split.n_train - 1) if split.has_validation else (train, 0)
            out = []
            for tau, smooth in ((t_end, True), (0.0, False)):
                if smooth and not need_soft_monitor:  # nothing reads it: save a forward pass
                    out += [torch.full((n,), math.nan), torch.full((n,), math.nan)]
                    continue
                r = net_returns(
                    model(d, temperature=tau),
                    d,
                    cost_bps=cost_bps,
                    slippage=slippage,
                    allocation_scheme=allocation,
                    smooth=smooth,
                )[:, first_day:]
                if keep is not None and not split.has_validation:
                    r = r[:, keep]
                out += [-objective_fn(r, **obj_kwargs), obj.sharpe(r)]
            return out[0], out[1], out[2], out[3]

    live = torch.ones(n, dtype=torch.bool)
    diverged_at = torch.full((n,), -1, dtype=torch.long)
    frozen = [p.detach().clone() for p in params]
    best_monitor = torch.full((n,), math.inf, dtype=torch.float64)
    best_raw = [p.detach().clone() for p in params]
    best_hard = torch.full((n,), math.inf, dtype=torch.float64)
    best_hard_raw = [p.detach().clone() for p in params]
    stale = torch.zeros(n, dtype=torch.long)
    calm = 0
    prev_loss: Tensor | None = None
    first_loss: Tensor | None = None
    status = "max_epochs"
    rows: list[dict[str, Any]] = []
    show = progress if progress is not None else sys.stderr.isatty()
    bar = tqdm(range(epochs), disable=not show, desc="fit", leave=False)
    for epoch in bar:
        tau = anneal(t_start, t_end, epoch, epochs)
        opt.zero_grad()
        loss, soft_sharpe = step_loss(tau)
        loss_d = loss.detach().double().cpu()
        if first_loss is None:
            first_loss = loss_d.clone()
        torch.where(live.to(loss.device) & torch.isfinite(loss), loss, torch.zeros_like(loss)).sum().backward()
        sq = per_start_sq_norm([p.grad for p in params], n)
        grad_norm = sq.sqrt()
        bad = ~torch.isfinite(loss_d) | ~torch.isfinite(grad_norm)
        bad |= loss_d > first_loss + BLOWUP * first_loss.abs().clamp_min(1.0)
        newly = live & bad
        if clip_grad_norm is not None:
            scale = (clip_grad_norm / grad_norm.clamp_min(1e-300)).clamp_max(1.0)
            scale_grads(params, scale, n)
        for p in params:  # dead or diverging starts get no update
            if p.grad is not None:
                mask = (live & ~bad).reshape(n, *([1] * (p.dim() - 1))).to(p.device)
                p.grad = torch.where(mask, torch.nan_to_num(p.grad), torch.zeros_like(p.grad))
        opt.step()
        with torch.no_grad():
            runaway = torch.zeros(n, dtype=torch.bool)
            for r in bounded:
                runaway |= (r.detach().abs() > RAW_LIMIT).reshape(n, -1).any(-1).cpu()
            for p in params:
                runaway |= (~torch.isfinite(p.detach())).reshape(n, -1).any(-1).cpu()
            newly |= live & runaway
            alive = live & ~newly
            for p, f in zip(params, frozen):
                m = alive.reshape(n, *([1] * (p.dim() - 1))).to(p.device)
                p.copy_(torch.where(m, p, f))  # restore the last finite values of dead starts
                f.copy_(p)
        diverged_at[newly] = epoch
        live &= ~newly
        sched.step()
        monitor, val_sharpe, hard_monitor, hard_sharpe = (t.double().cpu() for t in monitor_loss())
        improved = live & (monitor < best_monitor - (early_stopping[1] if early_stopping else 0.0))
        snapshot(params, best_raw, improved)
        best_monitor = torch.where(improved, monitor, best_monitor)
        hard_better = live & (hard_monitor < best_hard)
        snapshot(params, best_hard_raw, hard_better)
        best_hard = torch.where(hard_better, hard_monitor, best_hard)
        stale = torch.where(improved, torch.zeros_like(stale), stale + 1)
        row = history_rows(
            epoch,
            loss_d,
            soft_sharpe.double().cpu(),
            val_sharpe,
            hard_sharpe,
            grad_norm,
            opt,
            tau,
            model,
            diverged_at,
            split.has_validation,
        )
        rows.extend(row)
        if newly.any():
            warnings.warn(
                f"{int(newly.sum())} of {n} start(s) diverged at epoch {epoch} with lr={lr} "
                f"({optimizer}); their last finite parameters are kept: lower the learning rate",
                DivergenceWarning,
                stacklevel=2,
            )
        if not live.any():
            status = "diverged"
            break
        if prev_loss is not None and bool(((loss_d - prev_loss).abs()[live] < tol * (1 + loss_d.abs()[live])).all()):
            calm += 1
        else:
            calm = 0
        prev_loss = loss_d
        if calm >= 10:
            status = "converged"
            break
        if early_stopping is not None and bool((stale[live] >= early_stopping[0]).all()):
            status = "early_stopped"
            break
        leader = int(torch.argmin(torch.where(live, monitor, torch.full_like(monitor, math.inf))))
        if any(cb(row[leader]) for cb in callbacks):
            status = "early_stopped"
            break
    bar.close()
    if select != "last":  # every start goes back to its best epoch by the chosen measure
        best_value, kept = (best_hard, best_hard_raw) if select == "hard" else (best_monitor, best_raw)
        with torch.no_grad():
            for p, b in zip(params, kept):
                m = torch.isfinite(best_value).reshape(n, *([1] * (p.dim() - 1))).to(p.device)
                p.copy_(torch.where(m, b, p))
    need_soft_monitor = True  # the final ranking and the starts table report it
    soft_final, _, hard_final, _ = monitor_loss()
    final_monitor = (hard_final if select == "hard" else soft_final).double().cpu()
    rank = torch.where(live | (status == "diverged"), final_monitor, torch.full_like(final_monitor, math.inf))
    rank = torch.nan_to_num(rank, nan=math.inf)
    best = int(torch.argmin(rank)) if torch.isfinite(rank).any() else 0
    history_all = pd.DataFrame(rows)
    history = history_all[history_all["start"] == best].drop(columns="start").set_index("epoch")
    trained = model.select(best) if n > 1 else model
    metrics = evaluate_rule(
        trained,
        data,
        split,
        temperature=t_end,
        objective=objective_fn,
        objective_kwargs=obj_kwargs,
        cost_bps=cost_bps,
        slippage=slippage,
        allocation=allocation,
        train_keep=keep,
    )
    starts = model.batch_params()
    starts["monitor_loss"] = final_monitor.numpy()
    starts["diverged_at"] = diverged_at.numpy()
    d_at = int(diverged_at[best]) if int(diverged_at[best]) >= 0 else None
    return FitResult(
        rule=trained,
        batch_rule=model,
        history=history,
        history_all=history_all,
        starts=starts,
        best_start=best,
        status="diverged" if d_at is not None else status,
        diverged_at=d_at,
        metrics=metrics,
        config={
            "objective": objective if isinstance(objective, str) else getattr(objective, "__name__", "custom"),
            "objective_kwargs": obj_kwargs,
            "optimizer": optimizer,
            "lr": lr,
            "epochs": epochs,
            "batch_days": batch_days,
            "batches_per_step": batches_per_step,
            "schedule": schedule if isinstance(schedule, str) else "custom",
            "clip_grad_norm": clip_grad_norm,
            "temperature": [t_start, t_end],
            "validation": validation if not isinstance(validation, tuple) else list(validation),
            "early_stopping": list(early_stopping) if early_stopping else None,
            "select": select,
            "n_starts": n,
            "seed": seed,
            "cost_bps": cost_bps,
            "slippage": slippage,
            "allocation": allocation,
            "turnover_penalty": turnover_penalty,
            "l2_penalty": l2_penalty,
            "rule": type(rule).__name__,
            "n_train": split.n_train,
            "n_days": split.n_days,
            "train_end": str(data.dates[split.n_train - 1].date()),
        },
        data_hash=_data_hash(data),
        initial_starts=initial_starts,
    )
