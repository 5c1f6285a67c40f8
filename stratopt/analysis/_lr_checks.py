"""Argument checks of the learning-rate comparison and range test: rates, optimisers, seeds and
fit settings, each refused with a message that names the value and the fix."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, get_args

import numpy as np

from stratopt.errors import ConfigError
from stratopt.loss import refuse_loss_settings
from stratopt.training import Tuner
from stratopt.training._optim import OptimizerName

__all__ = ["check_fit_kwargs", "check_lrs", "check_optimizers", "check_seeds"]


def check_lrs(lrs: Any) -> list[float]:
    """Learning rates as floats: a non-empty sequence of distinct positive finite numbers."""
    if isinstance(lrs, (str, bytes)) or not isinstance(lrs, Sequence | np.ndarray):
        raise ConfigError(f"lrs={lrs!r} must be a sequence of learning rates, e.g. [1e-3, 1e-2, 1e-1]")
    if len(lrs) == 0:
        raise ConfigError("lrs is empty; give at least one learning rate, e.g. [1e-3, 1e-2, 1e-1]")
    out: list[float] = []
    for lr in lrs:
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
            raise ConfigError(f"learning rate {lr!r} in lrs is not a number")
        if not math.isfinite(lr) or lr <= 0:
            raise ConfigError(f"learning rate {lr!r} in lrs must be positive and finite")
        if float(lr) in out:
            raise ConfigError(
                f"learning rate {lr!r} appears twice in lrs; list each rate once (use seeds to repeat runs)"
            )
        out.append(float(lr))
    return out


def check_optimizers(optimizer: Any, optimizers: Any) -> list[str]:
    """The optimisers to compare: ``optimizers`` (distinct known names) or ``[optimizer]``."""
    known = get_args(OptimizerName)
    if optimizers is None:
        names = [optimizer]
    elif isinstance(optimizers, str) or not isinstance(optimizers, Sequence) or len(optimizers) == 0:
        raise ConfigError(f"optimizers={optimizers!r} must be a non-empty sequence of names, e.g. ('sgd', 'adam')")
    else:
        if optimizer != "sgd":
            raise ConfigError(
                f"optimizer={optimizer!r} and optimizers={optimizers!r} both given; pass the names in optimizers only"
            )
        names = list(optimizers)
    for name in names:
        if name not in known:
            raise ConfigError(f"optimizer {name!r} is not one of {list(known)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"optimizers={names!r} repeats a name; list each optimiser once")
    return names


def check_seeds(seeds: Any) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = [seeds]
    if not isinstance(seeds, Sequence | np.ndarray) or isinstance(seeds, str) or len(seeds) == 0:
        raise ConfigError(f"seeds={seeds!r} must be a non-empty sequence of integers, e.g. (0, 1, 2)")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise ConfigError(f"seed {s!r} in seeds is not an integer")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds={list(seeds)!r} repeats a seed; list each seed once")
    return [int(s) for s in seeds]


def check_fit_kwargs(fit_kwargs: dict[str, Any], forbidden: dict[str, str]) -> None:
    """Refuse what is not a :func:`~stratopt.fit` setting, what the caller sets itself
    (``forbidden``: name -> what to do instead), and loss settings outside a LossSpec."""
    for key, value in fit_kwargs.items():
        if key in forbidden:
            raise ConfigError(f"{key}={value!r} cannot be set here: {forbidden[key]}")
    known = {f.name for f in dataclasses.fields(Tuner)} - {"rule"} | {"train_days"}
    refuse_loss_settings(fit_kwargs, where="stratopt.fit", known=known)
