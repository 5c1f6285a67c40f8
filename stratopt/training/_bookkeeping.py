"""Per-start bookkeeping of the fit loop: argument checks, gradient norms, snapshots, history."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from stratopt.errors import ConfigError
from stratopt.rules._base import Rule

__all__ = [
    "check_fit_args",
    "history_rows",
    "loss_days",
    "per_start_sq_norm",
    "scale_grads",
    "snapshot",
]


def check_fit_args(
    epochs: int,
    batch_days: int | None,
    batches_per_step: int,
    n_starts: int,
    clip_grad_norm: float | None,
    early_stopping: tuple[int, float] | None,
) -> None:
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ConfigError(f"epochs={epochs!r} must be a positive integer")
    if batch_days is not None and (not isinstance(batch_days, (int, np.integer)) or batch_days < 2):
        raise ConfigError(f"batch_days={batch_days!r} must be None (full batch) or an integer >= 2")
    if not isinstance(batches_per_step, (int, np.integer)) or batches_per_step < 1:
        raise ConfigError(f"batches_per_step={batches_per_step!r} must be a positive integer")
    if not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ConfigError(f"n_starts={n_starts!r} must be a positive integer")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ConfigError(f"clip_grad_norm={clip_grad_norm!r} must be None or positive")
    if early_stopping is not None:
        try:
            patience, min_delta = early_stopping
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"early_stopping={early_stopping!r} must be (patience, min_delta)") from exc
        if not isinstance(patience, (int, np.integer)) or patience < 1 or min_delta < 0:
            raise ConfigError(f"early_stopping={early_stopping!r}: patience >= 1 and min_delta >= 0 needed")


def per_start_sq_norm(tensors: Sequence[Tensor | None], n: int) -> Tensor:
    out = torch.zeros(n, dtype=torch.float64)
    for t in tensors:
        if t is not None:
            out += (t.detach().double() ** 2).reshape(n, -1).sum(-1).cpu()
    return out


def snapshot(params: Sequence[Tensor], store: Sequence[Tensor], which: Tensor) -> None:
    """Copy the current values of the starts in ``which`` into ``store``."""
    with torch.no_grad():
        for p, b in zip(params, store):
            m = which.reshape(-1, *([1] * (p.dim() - 1))).to(p.device)
            b.copy_(torch.where(m, p.detach(), b))


def loss_days(train_days: np.ndarray | None, n_days: int, n_train: int) -> Tensor | None:
    """Which of the ``n_train - 1`` training returns count in the loss (None: all)."""
    if train_days is None:
        return None
    mask = np.asarray(train_days, dtype=bool)
    if mask.shape != (n_days,):
        raise ConfigError(f"train_days has shape {mask.shape}; it needs one flag per day, ({n_days},)")
    keep = mask[1:n_train] & mask[: n_train - 1]
    if keep.sum() < 2:
        raise ConfigError("train_days leaves fewer than 2 training returns; mark more days True")
    return torch.from_numpy(keep)


def scale_grads(params: Sequence[Tensor], scale: Tensor, n: int) -> None:
    for p in params:
        if p.grad is not None:
            p.grad.mul_(scale.to(p.grad.dtype).to(p.device).reshape(n, *([1] * (p.dim() - 1))))


def history_rows(
    epoch: int,
    loss: Tensor,
    train_sharpe: Tensor,
    val_sharpe: Tensor,
    hard_sharpe: Tensor,
    grad_norm: Tensor,
    opt: torch.optim.Optimizer,
    tau: float,
    model: Rule,
    diverged_at: Tensor,
    has_val: bool,
) -> list[dict[str, Any]]:
    """One history row per start (plain lists, no DataFrame per epoch: this runs every step)."""
    with torch.no_grad():
        values = {name: spec.to_natural(owner._raw[spec.name]).tolist() for name, owner, spec in model.named_specs()}
    columns = {
        "loss": loss.tolist(),
        "train_sharpe": train_sharpe.tolist(),
        "val_sharpe": val_sharpe.tolist() if has_val else [math.nan] * model.batch_size,
        "monitor_hard_sharpe": hard_sharpe.tolist(),
        "grad_norm": grad_norm.tolist(),
    }
    dead = ((diverged_at >= 0) & (diverged_at <= epoch)).tolist()
    lr_now = opt.param_groups[0]["lr"]
    return [
        {
            "epoch": epoch,
            "start": b,
            **{k: v[b] for k, v in columns.items()},
            "lr": lr_now,
            "temperature": tau,
            "diverged": dead[b],
            **{k: v[b] for k, v in values.items()},
        }
        for b in range(model.batch_size)
    ]
