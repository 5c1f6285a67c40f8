"""Smith's learning-rate range test: one run, the learning rate growing exponentially per step.

Built on :func:`~stratopt.fit` with a custom schedule (``LambdaLR``) and a callback that stops
the run when the smoothed loss blows up, so it inherits fit's loss, costs and divergence
handling.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch
from scipy.signal import lfilter

from stratopt._market import MarketData
from stratopt.errors import ConfigError, DivergenceWarning
from stratopt.rules._base import Rule
from stratopt.training._fit import fit
from stratopt.training._optim import OptimizerName, check_lr
from stratopt._json import jsonable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["RANGE_BLOWUP", "RANGE_MIN_DROP", "LRRangeTest", "lr_range_test", "smooth_losses"]

#: The run stops when the smoothed loss rises above ``initial + RANGE_BLOWUP * scale``, where
#: ``scale`` is the largest drop seen so far (at least 10% of ``|initial|``).
RANGE_BLOWUP = 1.0
#: The steepest descent counts only if the smoothed loss fell by this share of ``|initial|``.
RANGE_MIN_DROP = 0.01

Method = Literal["steepest", "blowup", "minimum"]


def smooth_losses(losses: np.ndarray, beta: float) -> np.ndarray:
    """Bias-corrected exponential moving average, ``avg / (1 - beta^k)`` (as in fastai)."""
    x = np.asarray(losses, dtype=float)
    avg = lfilter([1 - beta], [1, -beta], x)  # avg_k = beta avg_(k-1) + (1 - beta) x_k, avg_0 = 0
    return avg / (1 - beta ** np.arange(1, x.size + 1))


@dataclass
class LRRangeTest:
    """What :func:`lr_range_test` returns.

    Attributes
    ----------
    table
        One row per step that was measured: ``step``, ``lr`` (the rate of that step), ``loss``
        after it and ``smoothed`` loss.
    suggestion
        Suggested learning rate, within ``[lr_min, lr_max]``.
    method
        How it was found: ``"steepest"``, ``"blowup"`` or ``"minimum"`` (see :func:`lr_range_test`).
    blowup_lr
        The rate at which the loss blew up and the run stopped (None: it never did).
    """

    table: pd.DataFrame
    initial_loss: float
    suggestion: float
    method: Method
    blowup_lr: float | None
    config: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """One line per fact: range, stop, suggestion and how it was found."""
        c = self.config
        stop = f"loss blew up at lr {self.blowup_lr:.3g}" if self.blowup_lr else "no blow-up in range"
        return (
            f"LR range test ({c.get('optimizer')}, {c.get('lr_min'):.3g} to {c.get('lr_max'):.3g}, "
            f"{len(self.table)} of {c.get('steps')} steps): {stop}; suggested lr {self.suggestion:.3g} "
            f"({self.method})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record with the table as columns."""
        return jsonable(
            {
                "suggestion": self.suggestion,
                "method": self.method,
                "blowup_lr": self.blowup_lr,
                "initial_loss": self.initial_loss,
                "config": self.config,
                "table": {k: self.table[k].tolist() for k in self.table.columns},
            }
        )

    def plot(self) -> Figure:
        """Loss and smoothed loss against lr (log x), suggestion and blow-up marked."""
        from stratopt.analysis._lr_plots import plot_range_test

        return plot_range_test(self)


class _Stopper:
    """fit callback: tracks the smoothed loss and asks fit to stop when it blows up."""

    def __init__(self, beta: float, tracked: Callable[[dict[str, Any]], float]) -> None:
        self.beta, self.tracked = beta, tracked
        self.avg, self.k = 0.0, 0
        self.initial = math.nan
        self.best = math.inf
        self.blew_at: int | None = None

    def __call__(self, row: dict[str, Any]) -> bool:
        value = self.tracked(row)
        if row["epoch"] == 0:
            self.initial = value
            return False
        self.k += 1
        self.avg = self.beta * self.avg + (1 - self.beta) * value
        smoothed = self.avg / (1 - self.beta**self.k)
        self.best = min(self.best, smoothed)
        scale = max(self.initial - self.best, 0.1 * abs(self.initial), 1e-12)
        if not math.isfinite(value) or smoothed > self.initial + RANGE_BLOWUP * scale:
            self.blew_at = int(row["epoch"])
            return True
        return False


def lr_range_test(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    *,
    lr_min: float = 1e-6,
    lr_max: float = 10.0,
    steps: int = 100,
    optimizer: OptimizerName = "sgd",
    temperature: float = 0.5,
    beta: float = 0.8,
    validation: float | tuple[str, str] | None = None,
    **fit_kwargs: Any,
) -> LRRangeTest:
    """Smith's learning-rate range test (Smith 2017, "Cyclical learning rates").

    One training run of ``steps`` optimiser steps whose learning rate grows exponentially from
    ``lr_min`` to ``lr_max`` (``lr_k = lr_min * (lr_max / lr_min) ** (k / (steps - 1))``). The
    loss after each step is recorded against that step's rate and smoothed by a bias-corrected
    exponential moving average (``beta``). The run stops early, without raising, when the loss
    blows up: fit reports divergence (non-finite loss or gradient, a parameter thrown onto its
    bound), or the smoothed loss rises above ``initial + RANGE_BLOWUP * scale`` (``scale`` the
    largest drop so far, at least 10% of ``|initial|``).

    The suggestion, clipped to ``[lr_min, lr_max]``:

    * ``"steepest"``: the rate where the smoothed loss falls fastest per log-rate (most negative
      ``d smoothed / d log lr``) on its way down to its lowest value (what follows the lowest
      point is instability, not descent), provided it fell by at least ``RANGE_MIN_DROP`` (1%)
      of ``|initial|`` before any blow-up;
    * ``"blowup"``: otherwise a tenth of the rate at which the loss blew up;
    * ``"minimum"``: otherwise (no descent, no blow-up) the rate of the lowest smoothed loss.

    Parameters
    ----------
    rule, prices
        As for :func:`~stratopt.fit` (the rule is left unchanged).
    lr_min, lr_max, steps
        Range of rates (``0 < lr_min < lr_max``) and number of steps (>= 3).
    optimizer, temperature, validation
        Passed to fit; the temperature is fixed, and no days are held out by default (the test
        reads the training loss only).
    beta
        Smoothing factor in [0, 1); 0 is no smoothing.
    **fit_kwargs
        Other fit options (``cost_bps``, ``objective``, ``batch_days``, ...).

    Examples
    --------
    >>> import stratopt
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL"], start="2004-01-01", end="2009-12-31")
    >>> test = lr_range_test(stratopt.MACrossover(), prices, lr_min=1e-4, lr_max=1e3, steps=40)
    >>> 1e-4 <= test.suggestion <= 1e3
    True
    """
    lo, hi = check_lr(lr_min), check_lr(lr_max)
    if not lo < hi:
        raise ConfigError(f"lr_min={lr_min!r} must be below lr_max={lr_max!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 3:
        raise ConfigError(f"steps={steps!r} must be an integer >= 3")
    if not 0 <= beta < 1:
        raise ConfigError(f"beta={beta!r} must be in [0, 1) (0: no smoothing)")
    for key in ("lr", "epochs", "schedule", "select", "tol", "callbacks"):
        if key in fit_kwargs:
            raise ConfigError(f"{key}={fit_kwargs[key]!r} cannot be set: the range test sets it")
    ratio = hi / lo

    def factor(epoch: int) -> float:  # the extra last epoch only measures the loss: rate stays
        return ratio ** (min(epoch, steps - 1) / (steps - 1))

    batch = fit_kwargs.get("batch_days") is not None

    def tracked(row: dict[str, Any]) -> float:  # window losses are noisy: read the full train Sharpe
        return -float(row["train_sharpe"]) if batch else float(row["loss"])

    stopper = _Stopper(beta, tracked)
    with warnings.catch_warnings():  # the blow-up is the point of the test; it is reported
        warnings.simplefilter("ignore", DivergenceWarning)
        res = fit(
            rule,
            prices,
            optimizer=optimizer,
            lr=lo,
            epochs=steps + 1,
            select="last",
            tol=0.0,
            temperature=temperature,
            validation=validation,
            callbacks=[stopper],
            schedule=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, factor),
            **fit_kwargs,
        )
    h = res.history
    curve = (-h["train_sharpe"] if batch else h["loss"]).to_numpy(dtype=float)
    rates = lo * np.array([factor(e) for e in range(len(curve))])
    blow_step: int | None = None  # the step whose rate blew the loss up
    if stopper.blew_at is not None:
        blow_step = stopper.blew_at - 1
    elif res.diverged_at is not None and res.diverged_at < steps:
        j = res.diverged_at
        ok = math.isfinite(curve[j]) and math.isfinite(float(h["grad_norm"].iloc[j]))
        blow_step = j if ok else max(j - 1, 0)  # a thrown parameter (step j) or a bad loss (step j-1)
    n = len(curve) - 1 if blow_step is None else min(len(curve) - 1, blow_step + 1)
    table = pd.DataFrame({"step": np.arange(n), "lr": rates[:n], "loss": curve[1 : n + 1]})
    finite = np.isfinite(table["loss"].to_numpy())
    table = table[finite].reset_index(drop=True)
    table["smoothed"] = smooth_losses(table["loss"].to_numpy(), beta)
    blowup_lr = float(rates[blow_step]) if blow_step is not None else None
    suggestion, method = _suggest(table, float(curve[0]), blow_step, blowup_lr)
    config = {
        "optimizer": optimizer,
        "lr_min": lo,
        "lr_max": hi,
        "steps": steps,
        "beta": beta,
        "temperature": temperature,
        "rule": type(rule).__name__,
        "status": res.status,
    }
    return LRRangeTest(
        table=table,
        initial_loss=float(curve[0]),
        suggestion=float(np.clip(suggestion, lo, hi)),
        method=method,
        blowup_lr=blowup_lr,
        config=config,
    )


def _suggest(
    table: pd.DataFrame, initial: float, blow_step: int | None, blowup_lr: float | None
) -> tuple[float, Method]:
    usable = table if blow_step is None else table[table["step"] < blow_step]
    if len(usable):  # the descent ends where the smoothed loss is lowest; later is instability
        usable = usable.iloc[: int(np.argmin(usable["smoothed"].to_numpy())) + 1]
    sm = usable["smoothed"].to_numpy()
    if len(sm) >= 3 and initial - sm.min() >= RANGE_MIN_DROP * max(abs(initial), 1e-12):
        slope = np.gradient(sm, np.log(usable["lr"].to_numpy()))
        i = int(np.argmin(slope))
        if slope[i] < 0:
            return float(usable["lr"].iloc[i]), "steepest"
    if blowup_lr is not None:
        return blowup_lr / 10, "blowup"
    if len(table) == 0:
        raise ConfigError("the range test measured no finite loss; check the data and the rule")
    return float(table["lr"].iloc[int(np.argmin(table["smoothed"].to_numpy()))]), "minimum"
