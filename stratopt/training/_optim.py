"""Optimisers and learning-rate schedules by name, validated at the boundary."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Literal

import torch
from torch import Tensor

from stratopt.errors import ConfigError

__all__ = ["OptimizerName", "Schedule", "make_optimizer", "make_scheduler"]

OptimizerName = Literal["sgd", "momentum", "adam", "rmsprop"]
Schedule = (
    Literal["constant", "cosine", "exponential"]
    | Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]
)


def check_lr(lr: float) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ConfigError(f"lr={lr!r} must be a positive finite number, e.g. 0.05 for adam or 1.0 for sgd")
    return float(lr)


def make_optimizer(
    params: Iterable[Tensor], name: OptimizerName, lr: float, *, momentum: float = 0.9
) -> torch.optim.Optimizer:
    """``"sgd"`` (plain gradient descent), ``"momentum"`` (heavy ball), ``"adam"``, ``"rmsprop"``."""
    lr = check_lr(lr)
    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        if not 0 <= momentum < 1:
            raise ConfigError(f"momentum={momentum!r} must be in [0, 1)")
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ConfigError(f"optimizer={name!r} is not one of 'sgd', 'momentum', 'adam', 'rmsprop'")


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: Schedule, *, steps: int, gamma: float | None = None
) -> torch.optim.lr_scheduler.LRScheduler:
    """``"constant"``, ``"cosine"`` (to 0 over ``steps``), ``"exponential"`` (``gamma`` per step,
    default decaying to 1% over ``steps``), or a callable building a torch scheduler."""
    if callable(schedule):
        return schedule(optimizer)
    if schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    if schedule == "exponential":
        g = gamma if gamma is not None else 0.01 ** (1.0 / max(steps, 1))
        if not g > 0:
            raise ConfigError(f"schedule gamma={g!r} must be positive")
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=g)
    raise ConfigError(f"schedule={schedule!r} is not 'constant', 'cosine', 'exponential' or a callable")
