"""The training loop: ``fit_loop`` -> ``run_epoch`` -> ``train_step``; everything else is a callback.

The loop steps a batch of independent starts (rows of every parameter tensor) on a per-start
loss. Early stopping, checkpointing, schedules, clipping, divergence handling, history and
progress are :class:`~stratopt.training.Callback` objects that read and write the
:class:`TrainState` at fixed points of each step (as in skorch's ``fit_loop``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from stratopt.errors import ConfigError

if TYPE_CHECKING:
    from stratopt.training._callbacks import Callback

__all__ = ["TrainState", "fit_loop", "lr_ratios", "run_epoch", "train_step"]


@dataclass
class TrainState:
    """What the loop and its callbacks share.

    ``loss_fn(state)`` returns the per-start loss (batch,) at ``state.temperature`` and may put
    diagnostics into ``state.logs``; the loop never looks inside it.
    """

    params: list[Tensor]
    optimizer: torch.optim.Optimizer
    loss_fn: Callable[[TrainState], Tensor]
    n_starts: int
    epochs: int
    temperature_fn: Callable[[int], float] = lambda epoch: 1.0
    lr_ratio: Tensor | None = None
    epoch: int = -1
    temperature: float = 1.0
    loss: Tensor = field(default_factory=lambda: torch.empty(0))
    grad_norm: Tensor = field(default_factory=lambda: torch.empty(0))
    live: Tensor = field(init=False)
    diverged_at: Tensor = field(init=False)
    logs: dict[str, Any] = field(default_factory=dict)
    status: str = "max_epochs"
    stop: bool = False

    def __post_init__(self) -> None:
        self.live = torch.ones(self.n_starts, dtype=torch.bool)
        self.diverged_at = torch.full((self.n_starts,), -1, dtype=torch.long)

    def request_stop(self, status: str) -> None:
        """End training after this epoch with ``status``."""
        self.stop, self.status = True, status


def fit_loop(state: TrainState, callbacks: Sequence[Callback]) -> TrainState:
    """Run up to ``state.epochs`` epochs, calling the callbacks' hooks; returns ``state``."""
    for cb in callbacks:
        cb.on_train_begin(state)
    try:
        for epoch in range(state.epochs):
            state.epoch = epoch
            run_epoch(state, callbacks)
            if state.stop:
                break
    finally:
        for cb in callbacks:
            cb.on_train_end(state)
    return state


def run_epoch(state: TrainState, callbacks: Sequence[Callback]) -> None:
    """One epoch: one optimiser step, then the callbacks' end-of-epoch work, in order."""
    state.logs = {}
    state.temperature = state.temperature_fn(state.epoch)
    train_step(state, callbacks)
    for cb in callbacks:
        cb.on_epoch_end(state)
        if state.stop:  # the first callback to stop training sets the status
            break


def train_step(state: TrainState, callbacks: Sequence[Callback]) -> None:
    """Loss, backward, per-start gradient norms, the optimiser step (per-start rates applied)."""
    state.optimizer.zero_grad()
    loss = state.loss_fn(state)
    state.loss = loss.detach().double().cpu()
    keep = state.live.to(loss.device) & torch.isfinite(loss)
    torch.where(keep, loss, torch.zeros_like(loss)).sum().backward()
    state.grad_norm = per_start_norm([p.grad for p in state.params], state.n_starts)
    for cb in callbacks:
        cb.on_after_backward(state)
    if state.stop:  # a callback ended training before this step (e.g. a diverged loss)
        return
    before = [p.detach().clone() for p in state.params] if state.lr_ratio is not None else None
    state.optimizer.step()
    if before is not None and state.lr_ratio is not None:
        _scale_updates(state.params, before, state.lr_ratio)
    for cb in callbacks:
        cb.on_step_end(state)


def per_start_norm(tensors: Sequence[Tensor | None], n: int) -> Tensor:
    """Euclidean norm of each start's slice across ``tensors`` (float64, on the CPU)."""
    out = torch.zeros(n, dtype=torch.float64)
    for t in tensors:
        if t is not None:
            out += (t.detach().double() ** 2).reshape(n, -1).sum(-1).cpu()
    return out.sqrt()


def per_start(mask_or_values: Tensor, like: Tensor) -> Tensor:
    """A (batch,) tensor shaped to broadcast over ``like`` (batch, ...), on its device."""
    return mask_or_values.reshape(-1, *([1] * (like.dim() - 1))).to(like.device)


def _scale_updates(params: Sequence[Tensor], before: Sequence[Tensor], ratio: Tensor) -> None:
    # Every built-in optimiser's update is its learning rate times a direction that does not
    # depend on the rate (SGD, heavy ball, Adam, RMSprop, and any schedule's factor), so scaling
    # start i's update by lr_i / lr is exactly training it at lr_i.
    with torch.no_grad():
        for p, b in zip(params, before):
            r = per_start(ratio, p).to(p.dtype)
            p.copy_(b + (p - b) * r)


def lr_ratios(lr: float | Sequence[float], n_starts: int) -> tuple[float, Tensor | None]:
    """The optimiser's rate and each start's rate relative to it (None: one shared rate)."""
    if isinstance(lr, (int, float)) and not isinstance(lr, bool):
        return float(lr), None
    rates = [float(v) for v in lr]  # type: ignore[union-attr]
    if len(rates) != n_starts:
        raise ConfigError(f"lr has {len(rates)} rates for {n_starts} starts; pass one rate or one per start")
    for v in rates:
        if not math.isfinite(v) or v <= 0:
            raise ConfigError(f"lr={v!r} must be a finite positive number")
    top = max(rates)
    return top, torch.tensor([v / top for v in rates], dtype=torch.float64)
