"""``Tuner``: a rule and every training setting, configured once and cloned per fold.

Like scikit-learn and skfolio estimators, a :class:`Tuner` holds its configuration (validated in
the constructor) and :meth:`Tuner.fit` returns a :class:`~stratopt.FitResult`. Walk-forward
clones it per fold (:meth:`Tuner.clone`) instead of threading keyword arguments.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from stratopt._market import MarketData, as_market_data
from stratopt.diagnostics import emit, fit_findings, trading_activity
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.rules._base import Rule
from stratopt.training._bookkeeping import check_fit_args, data_hash, loss_days
from stratopt.training._callbacks import (
    Callback,
    Checkpoint,
    Convergence,
    DivergenceGuard,
    EarlyStopping,
    FunctionCallback,
    GradientClipping,
    LRScheduler,
    ProgressBar,
)
from stratopt.training._config import Split, anneal, check_temperature, split_validation
from stratopt.training._loop import TrainState, fit_loop, lr_ratios
from stratopt.training._optim import OptimizerName, Schedule, make_optimizer, make_scheduler
from stratopt.training._result import FitResult, evaluate_rule
from stratopt.training._screen import screen_starts
from stratopt.training._shared_screen import SharedScreen
from stratopt.training._steps import History, Monitor, TrainLoss

__all__ = ["Select", "Tuner"]

Select = Literal["hard", "validation", "soft", "last"]
#: The monitor's log each selection reads (lower is better).
SELECT_KEY = {"hard": "hard_train", "validation": "hard_monitor", "soft": "monitor"}
UserCallback = Callback | Callable[[dict[str, Any]], bool | None]


@dataclass
class Tuner:
    """Train a rule's parameters to maximise a smoothed objective of its net returns.

    Each epoch is one optimiser step: soft positions over the training days (temperature
    annealed geometrically from ``temperature[0]`` to ``temperature[1]``), net returns with a
    smoothed |trade| cost, loss ``-objective + penalties`` per start, backward, step. Starts are
    independent rows of one batch, so ``n_starts`` costs one batched pass, not a loop.

    Parameters
    ----------
    rule
        The rule to train (never changed; results hold trained copies).
    loss
        Objective, costs, allocation, position mode and penalties (:class:`~stratopt.LossSpec`),
        used for training and for every reported number alike.
    optimizer, lr, momentum
        ``"sgd"``, ``"momentum"``, ``"adam"``, ``"rmsprop"``; learning rate, or one rate per
        start (each start then trains exactly as it would alone at its rate); momentum factor.
    epochs
        Maximum number of optimiser steps.
    batch_days, batches_per_step
        ``None`` is full-batch gradient descent. Otherwise each step averages the objective over
        ``batches_per_step`` random contiguous windows of ``batch_days`` days.
    schedule, clip_grad_norm
        Learning-rate schedule; gradient clipping per start.
    temperature
        One temperature, or (start, end) to anneal; the hard rule is temperature 0.
    validation
        Fraction of the last days held out, (start, end) dates at the end, or None (default:
        every day trains). Held-out days are reported beside the training days; they choose
        epochs and starts only with ``select="validation"`` or ``"soft"``.
    early_stopping
        (patience, min_delta): stop when no start's soft validation loss (train loss without a
        validation set) has improved by ``min_delta`` for ``patience`` epochs.
    patience
        Stop when for ``patience`` epochs no start has improved the measure ``select`` reads
        (its hard training loss with ``"hard"``, hard validation loss with ``"validation"``,
        soft monitored loss with ``"soft"``, the hard training loss with ``"last"``); None (the
        default) trains every epoch. Unlike ``early_stopping`` it watches what chooses the
        epoch, so with ``select="hard"`` the kept epoch is the one a full run would keep
        unless a start would have improved again later.
    select
        Which epoch each start keeps, and which start is reported: ``"hard"`` (default) the
        epoch whose HARD rule scored best on the training days; ``"validation"`` the best
        hard score on the validation days (a choice among many epochs and starts on few days
        is itself overfitting: prefer it only with a long validation window, or for early
        stopping); ``"soft"`` the best soft validation loss (train days without validation);
        ``"last"`` the final epoch. The validation days are always reported.
    n_starts, seed
        Starts trained together; the seed (0 when None) makes the screen, the random starts
        and window sampling reproducible.
        Without a screen the rule's current values are start 0 and the others are drawn at
        random over the whole box (log-uniformly for windows).
    screen
        Number of candidates of a global screen before gradient descent (default 256; 0: none,
        the starts are then the rule's values and random draws): a scrambled
        Sobol design over the box of the bounded parameters, plus the rule's own values, is
        scored with the HARD rule on the training days in batched passes, and the best
        ``n_starts`` distinct candidates become the starts. With ``select="hard"`` or
        ``"soft"`` a start whose training never beats its starting point keeps that point.
        Rules with unstructured weights (a neural policy) are not screened.
    anchors
        ``(rule, weight)`` pairs: each adds ``weight x`` the squared distance, in the optimiser's
        (unconstrained) space, of every start's parameters from ``rule``'s (same class and
        shape). Walk-forward uses it to pull a fold towards the previous fold's fit (stability)
        or towards the untuned rule (a prior).
    tol
        Converged when every live start's loss changes by less than ``tol`` for 10 epochs.
    dtype, device
        Float type and device (float64 on the CPU by default).
    progress
        A progress bar over epochs: by default on a terminal and in Jupyter, never in a log
        (see :mod:`stratopt._progress`); ``False`` turns it off.
    callbacks
        :class:`~stratopt.training.Callback` objects (full access to the loop's state), or plain
        functions called after each epoch with the leading start's history row that stop
        training by returning True.

    Examples
    --------
    >>> import stratopt
    >>> from stratopt.rules import MACrossover
    >>> tuner = stratopt.Tuner(MACrossover(), loss=stratopt.LossSpec(cost_bps=10), epochs=5)
    >>> tuner.clone(lr=0.1).lr
    0.1
    """

    rule: Rule
    loss: LossSpec = field(default_factory=LossSpec)
    optimizer: OptimizerName = "adam"
    lr: float | Sequence[float] = 0.05
    epochs: int = 100
    momentum: float = 0.9
    batch_days: int | None = None
    batches_per_step: int = 1
    schedule: Schedule = "constant"
    clip_grad_norm: float | None = None
    temperature: float | tuple[float, float] = (1.0, 0.1)
    validation: float | tuple[str, str] | None = None
    early_stopping: tuple[int, float] | None = None
    patience: int | None = None
    select: Select = "hard"
    n_starts: int = 4
    seed: int | None = None
    screen: int = 256
    anchors: tuple[tuple[Rule, float], ...] = ()
    tol: float = 1e-9
    dtype: torch.dtype = torch.float64
    device: torch.device | str | None = None
    progress: bool | None = None
    callbacks: Sequence[UserCallback] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.rule, Rule):
            raise ConfigError(f"rule must be a stratopt Rule, got {type(self.rule).__name__}")
        if not isinstance(self.loss, LossSpec):
            raise ConfigError(f"loss must be a stratopt.LossSpec, got {type(self.loss).__name__}")
        check_fit_args(
            self.epochs, self.batch_days, self.batches_per_step, self.n_starts, self.clip_grad_norm, self.early_stopping
        )
        if self.patience is not None and (
            isinstance(self.patience, bool) or not isinstance(self.patience, (int, np.integer)) or self.patience < 1
        ):
            raise ConfigError(f"patience={self.patience!r} must be None (train every epoch) or a whole number >= 1")
        if self.select not in ("hard", "validation", "soft", "last"):
            raise ConfigError(f"select={self.select!r} is not one of 'hard', 'validation', 'soft', 'last'")
        if self.dtype not in (torch.float64, torch.float32):
            raise ConfigError(f"dtype={self.dtype!r} must be torch.float64 or torch.float32")
        check_temperature(self.temperature)
        for anchor in self.anchors:
            if not (isinstance(anchor, tuple) and len(anchor) == 2 and isinstance(anchor[0], Rule)):
                raise ConfigError(f"anchors must be (rule, weight) pairs, got {anchor!r}")
            if not (isinstance(anchor[1], (int, float)) and math.isfinite(anchor[1]) and anchor[1] >= 0):
                raise ConfigError(f"anchor weight {anchor[1]!r} must be a finite number >= 0")
        lr_ratios(self.lr, self.rule.batch_size if self.rule.batch_size > 1 else self.n_starts)
        make_optimizer([torch.zeros(1, requires_grad=True)], self.optimizer, self._base_lr(), momentum=self.momentum)

    def _base_lr(self) -> float:
        lr = self.lr
        return lr if isinstance(lr, (int, float)) else (max(float(v) for v in lr) if len(lr) else math.nan)

    def clone(self, **changes: Any) -> Tuner:
        """A copy with some settings changed (the rule is copied, never shared)."""
        changes.setdefault("rule", self.rule)
        changes["rule"] = copy.deepcopy(changes["rule"])
        return dataclasses.replace(self, **changes)

    def get_params(self) -> dict[str, Any]:
        """The settings as a JSON-ready record (the rule by class name, the loss as a dict)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "rule":
                v = type(v).__name__
            elif f.name == "loss":
                v = v.to_dict()
            elif f.name in ("schedule",) and callable(v):
                v = "custom"
            elif f.name == "callbacks":
                v = len(v)
            elif f.name == "anchors":
                v = [[a.params if a.batch_size == 1 else None, w] for a, w in v]
            elif f.name in ("dtype", "device"):
                v = None if v is None else str(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    # ------------------------------------------------------------------------- fitting
    def fit(
        self,
        prices: pd.DataFrame | MarketData,
        *,
        train_days: np.ndarray | None = None,
        shared_screen: SharedScreen | None = None,
    ) -> FitResult:
        """Train on ``prices`` and return the best start as a :class:`~stratopt.FitResult`.

        ``train_days`` is a boolean mask over the days: a day's return counts in the training
        loss only if it and the day before are True; days marked False serve as indicator
        warm-up only (walk-forward uses this). ``shared_screen``: the screen's design already
        scored over a whole history that ``prices`` are consecutive days of (walk-forward
        scores it once for all its folds); the training days' columns of it are the screen.
        """
        self.rule._check_finite_params()  # before the windows are sized from the parameters
        # Refuse, before the work, a fit that cannot fit in memory. The forward and backward
        # pass hold about 14 tensors of starts x days x assets (marginal peak RSS per start,
        # measured with 64 and 256 starts of MACrossover on the bundled 20-asset sp500 data).
        import os

        if isinstance(prices, MarketData):
            n_days, n_assets = prices.n_days, prices.n_assets
        else:
            n_days, n_assets = len(prices), prices.shape[1] if np.ndim(prices) > 1 else 1
        per_start = max(1, n_days * n_assets * torch.finfo(self.dtype).bits // 8 * 14)
        n_run = max(self.n_starts, self.rule.batch_size)
        where = "memory available"
        if self.device is not None and torch.device(self.device).type == "cuda":
            limit, where = torch.cuda.mem_get_info(torch.device(self.device))[0], "free GPU memory"
        else:
            try:
                limit = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            except (AttributeError, ValueError, OSError):
                limit, where = 8 * 2**30, "memory assumed available"
        if n_run * per_start > limit:
            fits = limit // per_start
            raise ConfigError(
                f"n_starts={n_run} on {n_days} days x {n_assets} assets needs about "
                f"{n_run * per_start / 2**30:.1f} GiB for the forward and backward pass, more than the "
                f"{limit / 2**30:.1f} GiB of {where}; "
                + (f"use n_starts <= {fits}, " if fits >= 1 else "even one start does not fit; use ")
                + "fewer days or assets, or dtype=torch.float32"
            )
        data = as_market_data(prices, dtype=self.dtype, device=self.device)
        with small_work_threads(n_run * n_days * n_assets, data.device):
            return self._fit(data, train_days, shared_screen)

    def _fit(self, data: MarketData, train_days: np.ndarray | None, shared_screen: SharedScreen | None) -> FitResult:
        split, keep = self._split(data, train_days)
        # one object for the training days, so that its memoised features (allocation,
        # volatility, hard-rule EMAs) serve the screen, every step and the monitor alike
        train_data = data if not split.has_validation else data.slice(0, split.n_train)
        model, screen = self._starting_rule(train_data, split, keep, shared_screen)
        params: list[torch.Tensor] = [p for p in model.parameters() if p.requires_grad]
        base_lr, ratio = lr_ratios(self.lr, model.batch_size)
        opt = make_optimizer(params, self.optimizer, base_lr, momentum=self.momentum)
        gen = torch.Generator().manual_seed(self.seed if self.seed is not None else 0)
        train_loss = TrainLoss(
            model,
            train_data,
            self.loss,
            keep=keep,
            batch_days=self.batch_days,
            batches_per_step=self.batches_per_step,
            generator=gen,
            anchors=[(a.to(dtype=data.dtype, device=data.device), w) for a, w in self.anchors if w > 0],
        )
        t_start, t_end = check_temperature(self.temperature)
        monitor = Monitor(
            model,
            data,
            split,
            self.loss,
            keep=keep,
            final_temperature=t_end,
            soft=self.early_stopping is not None or self.select == "soft" or split.has_validation,
        )
        history = History(model, opt, has_validation=split.has_validation)
        state = TrainState(
            params=params,
            optimizer=opt,
            loss_fn=train_loss,
            n_starts=model.batch_size,
            epochs=self.epochs,
            temperature_fn=lambda e: anneal(t_start, t_end, e, self.epochs),
            lr_ratio=ratio,
        )
        initial = model.batch_params()
        callbacks = self._callbacks(model, opt, monitor, history)
        fit_loop(state, callbacks)
        checkpoint = next((c for c in callbacks if isinstance(c, Checkpoint)), None)
        result = self._result(model, data, split, keep, state, monitor, history, initial, screen)
        selected = int(checkpoint.best_epoch[result.best_start]) if checkpoint is not None else state.epoch
        found, warn = fit_findings(
            result.rule, _activity(result.rule, data, split, keep, self.loss), selected, self.epochs,
            result.history["loss"],
        )  # fmt: skip
        result.diagnostics = found
        emit(warn)
        return result

    def _split(self, data: MarketData, train_days: np.ndarray | None) -> tuple[Split, torch.Tensor | None]:
        min_days = math.ceil(self.rule.max_window()) + 2
        if data.n_days < min_days:
            raise ConfigError(
                f"the data has {data.n_days} days but the rule's longest window is "
                f"{self.rule.max_window():.0f} days; use more data or shorter windows"
            )
        split = split_validation(data, self.validation, min_train=min_days)
        keep = loss_days(train_days, data.n_days, split.n_train)
        n_loss = split.n_train - 1 if keep is None else int(keep.sum())
        if self.batch_days is not None and self.batch_days > n_loss:
            raise ConfigError(f"batch_days={self.batch_days} is longer than the {n_loss} training returns")
        return split, keep

    def _starting_rule(
        self, data: MarketData, split: Split, keep: torch.Tensor | None, shared: SharedScreen | None
    ) -> tuple[Rule, pd.DataFrame | None]:
        """The batched rule training starts from, and the screen's table if one ran."""
        screen = None
        if self.rule.batch_size == 1 and self.screen and shared is not None:
            shared_found = shared.starts(self.rule, data, keep, n_starts=self.n_starts)
            return shared_found.starts.to(dtype=data.dtype, device=data.device), shared_found.table
        if self.rule.batch_size == 1 and self.screen:
            found = screen_starts(
                self.rule, data, self.loss, keep=keep,
                n_candidates=self.screen, n_starts=self.n_starts, seed=self.seed,
            )  # fmt: skip
            if found is not None:
                return found.starts.to(dtype=data.dtype, device=data.device), found.table
        if self.rule.batch_size == 1 and self.n_starts > 1:
            model = self.rule.with_starts(self.n_starts, seed=0 if self.seed is None else self.seed)
        else:  # an already batched rule keeps its starts
            model = copy.deepcopy(self.rule)
        return model.to(dtype=data.dtype, device=data.device), screen

    def _callbacks(self, model: Rule, opt: torch.optim.Optimizer, monitor: Monitor, history: History) -> list[Callback]:
        bounded = [owner._raw[spec.name] for _, owner, spec in model.named_specs() if spec.transform != "identity"]
        steps: list[Callback] = []
        if self.clip_grad_norm is not None:
            steps.append(GradientClipping(self.clip_grad_norm))
        guard = DivergenceGuard(bounded, describe=f"lr={self.lr} ({self.optimizer})")
        steps.append(guard)
        steps += [LRScheduler(make_scheduler(opt, self.schedule, steps=self.epochs)), monitor]
        if self.select != "last":
            key = SELECT_KEY[self.select]
            min_delta = self.early_stopping[1] if self.early_stopping and self.select == "soft" else 0.0
            steps.append(Checkpoint(key, min_delta=min_delta))
        steps += [ProgressBar(self.progress), history]
        # stopping rules come after the history, so the last epoch is recorded
        steps += [DivergenceStop(guard), Convergence(self.tol)]
        if self.early_stopping is not None:
            steps.append(EarlyStopping(int(self.early_stopping[0]), float(self.early_stopping[1])))
        if self.patience is not None:
            steps.append(EarlyStopping(int(self.patience), 0.0, key=SELECT_KEY.get(self.select, "hard_train")))
        functions = [c for c in self.callbacks if not isinstance(c, Callback)]
        steps += [c for c in self.callbacks if isinstance(c, Callback)]
        if functions:
            steps.append(FunctionCallback(functions))
        return steps

    def _result(
        self,
        model: Rule,
        data: MarketData,
        split: Split,
        keep: torch.Tensor | None,
        state: TrainState,
        monitor: Monitor,
        history: History,
        initial: pd.DataFrame,
        screen: pd.DataFrame | None,
    ) -> FitResult:
        final = monitor.measure(soft=True)  # the final ranking and the starts table report it
        final_monitor = final[SELECT_KEY.get(self.select, "hard_train")]
        rank = torch.where(
            state.live | (state.status == "diverged"), final_monitor, torch.full_like(final_monitor, math.inf)
        )
        rank = torch.nan_to_num(rank, nan=math.inf)
        best = int(torch.argmin(rank)) if torch.isfinite(rank).any() else 0
        history_all = pd.DataFrame(history.rows)
        trained = model.select(best) if model.batch_size > 1 else model
        starts = model.batch_params()
        starts["monitor_loss"] = final_monitor.numpy()
        starts["diverged_at"] = state.diverged_at.numpy()
        d_at = int(state.diverged_at[best]) if int(state.diverged_at[best]) >= 0 else None
        return FitResult(
            rule=trained,
            batch_rule=model,
            history=history_all[history_all["start"] == best].drop(columns="start").set_index("epoch"),
            history_all=history_all,
            starts=starts,
            best_start=best,
            status="diverged" if d_at is not None else state.status,  # type: ignore[arg-type]
            diverged_at=d_at,
            metrics=evaluate_rule(
                trained, data, split, self.loss, temperature=check_temperature(self.temperature)[1], train_keep=keep
            ),
            config={
                **self.get_params(),
                "n_starts": model.batch_size,
                "rule": type(self.rule).__name__,
                "n_train": split.n_train,
                "n_days": split.n_days,
                "train_end": str(data.dates[split.n_train - 1].date()),
            },
            data_hash=data_hash(data),
            initial_starts=initial,
            loss=self.loss,
            screen=screen,
        )


def _activity(
    rule: Rule, data: MarketData, split: Split, keep: torch.Tensor | None, loss: LossSpec
) -> dict[str, float]:
    """Trading activity of the hard rule on the monitored days (validation, else train)."""
    with torch.no_grad():
        pos = loss.positions(rule, data, temperature=0.0)[0]
        held = loss.holdings(pos.unsqueeze(0), data)[0]
    behind_pos, behind = pos[:-1].cpu().numpy(), held[:-1].cpu().numpy()  # behind each return
    if split.has_validation:
        sl = slice(split.n_train - 1, split.n_days - 1)
        return trading_activity(behind[sl], behind_pos[sl])
    rows = np.arange(split.n_train - 1) if keep is None else np.flatnonzero(keep.cpu().numpy())
    return trading_activity(behind[rows], behind_pos[rows])


#: Elements per (starts x days x assets) tensor below which a fit runs on one torch thread:
#: splitting such small operations across threads costs more than it saves (measured on 2
#: cores: 2 assets 1.8x faster on one thread, 20 assets faster on two; benchmarks/README.md).
SMALL_WORK = 100_000


@contextlib.contextmanager
def small_work_threads(elements: int, device: torch.device) -> Iterator[None]:
    """One torch thread while a fit's tensors are too small to split (on the CPU), the
    caller's setting restored afterwards; never more threads than the caller set."""
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1 or elements >= SMALL_WORK:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class DivergenceStop(Callback):
    """The divergence guard's end-of-epoch part (warning, stop when every start is dead),
    placed after the history so that the epoch a start diverged at is recorded."""

    def __init__(self, guard: DivergenceGuard) -> None:
        self.guard = guard

    def on_epoch_end(self, state: TrainState) -> None:
        self.guard.report(state)
