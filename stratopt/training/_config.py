"""Validation of fit arguments, done once at the boundary."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stratopt._market import MarketData
from stratopt.errors import ConfigError

__all__ = ["Split", "anneal", "check_temperature", "split_validation"]


@dataclass(frozen=True)
class Split:
    """Positional day ranges: train is ``[0, n_train)``, validation ``[n_train, n_days)``."""

    n_train: int
    n_days: int

    @property
    def has_validation(self) -> bool:
        return self.n_train < self.n_days


def split_validation(
    data: MarketData, validation: float | tuple[str, str] | Sequence[str] | None, *, min_train: int
) -> Split:
    """Hold out the last fraction of days, or a (start, end) date range after the train days."""
    n = data.n_days
    if validation is None or (isinstance(validation, (int, float)) and validation == 0):
        n_train = n
    elif isinstance(validation, (int, float)) and not isinstance(validation, bool):
        if not 0 < validation < 1:
            raise ConfigError(f"validation={validation!r} must be a fraction in (0, 1) or (start, end) dates")
        n_train = n - round(validation * n)
    else:
        try:
            start, end = (pd.Timestamp(v) for v in validation)  # type: ignore[union-attr]
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"validation={validation!r} must be a fraction like 0.2 or a (start, end) pair of dates"
            ) from exc
        if start > end:
            raise ConfigError(f"validation start {start.date()} is after its end {end.date()}")
        if end < data.dates[-1] and (data.dates > end).any():
            raise ConfigError(
                f"validation must be the last part of the data (it ends {end.date()}, the data "
                f"ends {data.dates[-1].date()}); cut the prices at the validation end instead"
            )
        n_train = int(np.searchsorted(data.dates.values, np.datetime64(start), side="left"))
    if n_train < min_train:
        raise ConfigError(
            f"only {n_train} training days are left before the validation window, {min_train} "
            f"needed for this rule's longest window; use a smaller validation or more data"
        )
    if n_train < n and n - n_train < 2:
        raise ConfigError(f"validation={validation!r} leaves fewer than 2 validation days")
    return Split(n_train=n_train, n_days=n)


def check_temperature(temperature: float | tuple[float, float]) -> tuple[float, float]:
    """(start, end) temperatures, both finite and > 0."""
    start, end = (temperature, temperature) if isinstance(temperature, (int, float)) else tuple(temperature)
    for t in (start, end):
        if not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
            raise ConfigError(
                f"temperature={temperature!r}: training temperatures must be finite and > 0 "
                "(0 is the hard rule, which has no useful gradient)"
            )
    return float(start), float(end)


def anneal(start: float, end: float, epoch: int, epochs: int) -> float:
    """Geometric interpolation from ``start`` at epoch 0 to ``end`` at the last epoch."""
    if epochs <= 1 or start == end:
        return end if epochs <= 1 else start
    frac = epoch / (epochs - 1)
    return start * (end / start) ** frac
