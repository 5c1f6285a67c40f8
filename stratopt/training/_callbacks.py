"""Callbacks of the training loop: each does one job at fixed points of a step.

Hooks, in the order the loop calls them: ``on_train_begin``; per epoch ``on_after_backward``
(gradients are there), ``on_step_end`` (after the optimiser step), ``on_epoch_end``; and
``on_train_end``. Callbacks run in list order; the first to call ``state.request_stop`` ends
training with its status. Write your own by subclassing :class:`Callback`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from stratopt import _progress
from stratopt.errors import ConfigError, DivergenceWarning, caller_level
from stratopt.training._loop import TrainState, per_start

__all__ = [
    "BLOWUP",
    "RAW_LIMIT",
    "Callback",
    "Checkpoint",
    "Convergence",
    "DivergenceGuard",
    "EarlyStopping",
    "FunctionCallback",
    "GradientClipping",
    "LRScheduler",
    "ProgressBar",
]

#: A bounded parameter whose unconstrained value passes this magnitude sits on its bound with a
#: gradient below 1e-10 of its size (sigmoid'(25) ~ 1e-11): it cannot come back, so the start
#: is counted as diverged (a learning rate far too large throws parameters there in one step).
RAW_LIMIT = 25.0
#: Loss above ``initial + BLOWUP * max(1, |initial|)`` counts as a blow-up.
BLOWUP = 50.0


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, state: TrainState) -> None:
        """Before the first epoch."""

    def on_after_backward(self, state: TrainState) -> None:
        """Gradients and ``state.grad_norm`` are computed; the optimiser has not stepped."""

    def on_step_end(self, state: TrainState) -> None:
        """The optimiser has stepped."""

    def on_epoch_end(self, state: TrainState) -> None:
        """End of the epoch; ``state.logs`` holds what earlier callbacks measured."""

    def on_train_end(self, state: TrainState) -> None:
        """After the last epoch (also when training stopped early)."""


class GradientClipping(Callback):
    """Scale each start's gradient so that its norm is at most ``max_norm``."""

    def __init__(self, max_norm: float) -> None:
        if not max_norm > 0:
            raise ConfigError(f"clip_grad_norm={max_norm!r} must be None or positive")
        self.max_norm = float(max_norm)

    def on_after_backward(self, state: TrainState) -> None:
        scale = (self.max_norm / state.grad_norm.clamp_min(1e-300)).clamp_max(1.0)
        for p in state.params:
            if p.grad is not None:
                p.grad.mul_(per_start(scale.to(p.grad.dtype), p.grad))


class DivergenceGuard(Callback):
    """Stop starts whose loss or gradient is not finite or blows up, or whose bounded
    parameters run away; their last finite parameters are kept, and a warning says so.

    Parameters
    ----------
    bounded
        Unconstrained tensors of bounded parameters (checked against :data:`RAW_LIMIT`).
    describe
        Text naming the optimiser settings, for the warning.
    """

    def __init__(self, bounded: Sequence[Tensor] = (), *, describe: str = "") -> None:
        self.bounded = list(bounded)
        self.describe = describe
        self.first_loss: Tensor | None = None
        self.frozen: list[Tensor] = []
        self.newly = torch.zeros(0, dtype=torch.bool)

    def on_train_begin(self, state: TrainState) -> None:
        self.frozen = [p.detach().clone() for p in state.params]
        self.first_loss = None

    def on_after_backward(self, state: TrainState) -> None:
        loss = state.loss
        if self.first_loss is None:
            self.first_loss = loss.clone()
        bad = ~torch.isfinite(loss) | ~torch.isfinite(state.grad_norm)
        bad |= loss > self.first_loss + BLOWUP * self.first_loss.abs().clamp_min(1.0)
        self.newly = state.live & bad
        ok = state.live & ~bad
        for p in state.params:  # dead or diverging starts get no update
            if p.grad is not None:
                p.grad = torch.where(per_start(ok, p), torch.nan_to_num(p.grad), torch.zeros_like(p.grad))

    def on_step_end(self, state: TrainState) -> None:
        n = state.n_starts
        with torch.no_grad():
            runaway = torch.zeros(n, dtype=torch.bool)
            for r in self.bounded:
                runaway |= (r.detach().abs() > RAW_LIMIT).reshape(n, -1).any(-1).cpu()
            for p in state.params:
                runaway |= (~torch.isfinite(p.detach())).reshape(n, -1).any(-1).cpu()
            self.newly |= state.live & runaway
            alive = state.live & ~self.newly
            for p, f in zip(state.params, self.frozen):
                p.copy_(torch.where(per_start(alive, p), p, f))  # restore dead starts' last finite values
                f.copy_(p)
        state.diverged_at[self.newly] = state.epoch
        state.live &= ~self.newly

    def report(self, state: TrainState) -> None:
        """Warn about the starts that diverged this epoch; stop when none is left.

        Called at the end of the epoch after the history is written (see the tuner's
        ``DivergenceStop``), so the diverging epoch is recorded."""
        if self.newly.any():
            warnings.warn(
                f"{int(self.newly.sum())} of {state.n_starts} start(s) diverged at epoch {state.epoch}"
                f"{' with ' + self.describe if self.describe else ''}; their last finite parameters "
                "are kept: lower the learning rate",
                DivergenceWarning,
                stacklevel=caller_level(),
            )
        if not state.live.any():
            state.request_stop("diverged")


class LRScheduler(Callback):
    """Step a torch learning-rate scheduler once per epoch."""

    def __init__(self, scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
        self.scheduler = scheduler

    def on_epoch_end(self, state: TrainState) -> None:
        self.scheduler.step()


class Checkpoint(Callback):
    """Keep each start's parameters at the epoch where ``state.logs[key]`` was lowest, and
    restore them at the end (the best epoch by that measure, per start). If an earlier callback
    measured the starting point (``state.logs[key]`` at train begin), a start that never beats
    it keeps its starting parameters (``best_epoch`` -1)."""

    def __init__(self, key: str, *, min_delta: float = 0.0) -> None:
        self.key, self.min_delta = key, float(min_delta)
        self.best = torch.empty(0)
        self.best_epoch = torch.empty(0)
        self.stored: list[Tensor] = []

    def on_train_begin(self, state: TrainState) -> None:
        self.best = torch.full((state.n_starts,), math.inf, dtype=torch.float64)
        start = state.logs.get(self.key)
        if start is not None:
            self.best = torch.where(torch.isfinite(start), start, self.best)
        self.best_epoch = torch.full((state.n_starts,), -1, dtype=torch.long)
        self.stored = [p.detach().clone() for p in state.params]

    def on_epoch_end(self, state: TrainState) -> None:
        value = state.logs[self.key]
        improved = state.live & (value < self.best - self.min_delta)
        with torch.no_grad():
            for p, b in zip(state.params, self.stored):
                b.copy_(torch.where(per_start(improved, p), p.detach(), b))
        self.best = torch.where(improved, value, self.best)
        self.best_epoch = torch.where(improved, torch.full_like(self.best_epoch, state.epoch), self.best_epoch)

    def on_train_end(self, state: TrainState) -> None:
        with torch.no_grad():
            for p, b in zip(state.params, self.stored):
                p.copy_(torch.where(per_start(torch.isfinite(self.best), p), b, p))


class EarlyStopping(Callback):
    """Stop when no live start's ``state.logs[key]`` improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, patience: int, min_delta: float = 0.0, *, key: str = "monitor") -> None:
        if not isinstance(patience, int) or patience < 1 or not min_delta >= 0:
            raise ConfigError(f"early_stopping=({patience!r}, {min_delta!r}): patience >= 1 and min_delta >= 0 needed")
        self.patience, self.min_delta, self.key = patience, float(min_delta), key
        self.best = torch.empty(0)
        self.stale = torch.empty(0)

    def on_train_begin(self, state: TrainState) -> None:
        self.best = torch.full((state.n_starts,), math.inf, dtype=torch.float64)
        self.stale = torch.zeros(state.n_starts, dtype=torch.long)

    def on_epoch_end(self, state: TrainState) -> None:
        value = state.logs[self.key]
        improved = state.live & (value < self.best - self.min_delta)
        self.best = torch.where(improved, value, self.best)
        self.stale = torch.where(improved, torch.zeros_like(self.stale), self.stale + 1)
        if bool((self.stale[state.live] >= self.patience).all()):
            state.request_stop("early_stopped")


class Convergence(Callback):
    """Stop as ``converged`` when every live start's loss changes by less than ``tol`` (relative
    to ``1 + |loss|``) for ``patience`` epochs in a row."""

    def __init__(self, tol: float, patience: int = 10) -> None:
        if not tol >= 0:
            raise ConfigError(f"tol={tol!r} must be >= 0")
        self.tol, self.patience = float(tol), patience
        self.prev: Tensor | None = None
        self.calm = 0

    def on_epoch_end(self, state: TrainState) -> None:
        loss, live = state.loss, state.live
        if self.prev is not None and bool(((loss - self.prev).abs()[live] < self.tol * (1 + loss.abs()[live])).all()):
            self.calm += 1
        else:
            self.calm = 0
        self.prev = loss
        if self.calm >= self.patience:
            state.request_stop("converged")


class FunctionCallback(Callback):
    """Plain functions called after each epoch with the leading start's history row (a dict);
    one returning True stops training as ``early_stopped``."""

    def __init__(self, functions: Sequence[Callable[[dict[str, Any]], bool | None]]) -> None:
        self.functions = list(functions)

    def on_epoch_end(self, state: TrainState) -> None:
        monitor = state.logs["monitor"]
        leader = int(torch.argmin(torch.where(state.live, monitor, torch.full_like(monitor, math.inf))))
        row = state.logs["rows"][leader]
        if any(f(row) for f in self.functions):
            state.request_stop("early_stopped")


class ProgressBar(Callback):
    """A tqdm bar over epochs, in a terminal and in Jupyter (see :mod:`stratopt._progress`).

    ``show`` None (the default) shows it where stderr is a terminal or in Jupyter, True always,
    False never. A fit is one step of longer work, so nothing is printed in a log."""

    def __init__(self, show: bool | None = None, *, desc: str = "fit") -> None:
        self.show = show
        self.desc = desc
        self.bar: Any = None

    def on_train_begin(self, state: TrainState) -> None:
        self.bar = _progress.bar(total=state.epochs, desc=self.desc, progress=self.show)

    def on_epoch_end(self, state: TrainState) -> None:
        self.bar.update(1)

    def on_train_end(self, state: TrainState) -> None:
        if self.bar is not None:
            self.bar.close()
