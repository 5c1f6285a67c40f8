"""Argument checks of a fit, the days its loss counts, and the hash of its data."""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError

__all__ = ["check_fit_args", "data_hash", "loss_days"]


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


def data_hash(data: MarketData) -> str:
    """A short hash of the dates, tickers and prices a fit saw."""
    h = hashlib.sha256()
    h.update(np.asarray(data.dates.asi8).tobytes())
    h.update(",".join(data.tickers).encode())
    h.update(data.log_prices.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]
