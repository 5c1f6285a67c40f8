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

from stratopt._json import jsonable
from stratopt._market import MarketData
from stratopt._result import Result
from stratopt.analysis._common import check_rule, resolve_loss
from stratopt.analysis._lr_checks import check_fit_kwargs
from stratopt.errors import ConfigError, DiagnosticWarning, DivergenceWarning
from stratopt.loss import LossSpec
from stratopt.rules._base import Rule
from stratopt.training import FitResult, fit
from stratopt.training._optim import OptimizerName, check_lr

if TYPE_CHECKING:
    from matplotlib.axes import Axes
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


@dataclass(repr=False)
class LRRangeTest(Result):
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
    config
        Optimiser, range, steps, smoothing, temperature, rule, the loss spec and fit's status.
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

    def plot(self, ax: Axes | None = None) -> Figure:
        """Loss and smoothed loss against lr (log x), suggestion and blow-up marked (on ``ax``
        if given)."""
        from stratopt.analysis._lr_plots import plot_range_test

        return plot_range_test(self, ax=ax)


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


#: fit settings the range test sets itself
_RANGE_SETS = dict.fromkeys(("lr", "epochs", "schedule", "select", "tol", "callbacks"), "the range test sets it")


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
    loss: LossSpec | None = None,
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
        As for :func:`~stratopt.fit` (a single-start rule, left unchanged).
    lr_min, lr_max, steps
        Range of rates (``0 < lr_min < lr_max``) and number of steps (>= 3).
    optimizer, temperature, validation
        Passed to fit; the temperature is fixed, and no days are held out by default (the test
        reads the training loss only).
    beta
        Smoothing factor in [0, 1); 0 is no smoothing.
    loss
        Objective, costs, slippage, allocation, position mode and penalties
        (:class:`~stratopt.LossSpec`, default ``LossSpec()``).
    **fit_kwargs
        Other fit settings (``batch_days``, ``clip_grad_norm``, ``dtype``, ...).

    Examples
    --------
    >>> import stratopt
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL"], start="2004-01-01", end="2009-12-31")
    >>> test = lr_range_test(stratopt.MACrossover(), prices, lr_min=1e-4, lr_max=1e3, steps=40)
    >>> 1e-4 <= test.suggestion <= 1e3
    True
    """
    check_rule(rule, "lr_range_test")
    lo, hi = _check_range(lr_min, lr_max, steps, beta)
    check_fit_kwargs(fit_kwargs, _RANGE_SETS)
    spec = resolve_loss(loss)
    factor = _Growth(lo, hi, steps)
    batch = fit_kwargs.get("batch_days") is not None
    stopper = _Stopper(beta, _tracked_loss(batch))
    settings = {"optimizer": optimizer, "temperature": temperature, "validation": validation, **fit_kwargs}
    res = _sweep(rule, prices, spec, factor, stopper, settings)
    curve = (-res.history["train_sharpe"] if batch else res.history["loss"]).to_numpy(dtype=float)
    table, blowup_lr, blow_step = _range_table(res, curve, factor, stopper, beta)
    suggestion, method = _suggest(table, float(curve[0]), blow_step, blowup_lr)
    config = {
        "optimizer": optimizer,
        "lr_min": lo,
        "lr_max": hi,
        "steps": steps,
        "beta": beta,
        "temperature": temperature,
        "rule": type(rule).__name__,
        "loss": spec.to_dict(),
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


def _sweep(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    loss: LossSpec,
    factor: _Growth,
    stopper: _Stopper,
    settings: dict[str, Any],
) -> FitResult:
    """The one fit of the test: ``factor.steps`` steps at a growing rate, plus one that only
    measures the loss; ``stopper`` ends it when the loss blows up."""
    with warnings.catch_warnings():  # the blow-up (and parameters thrown onto their bounds) is the point
        warnings.simplefilter("ignore", DivergenceWarning)
        warnings.simplefilter("ignore", DiagnosticWarning)
        return fit(
            rule,
            prices,
            lr=factor.lo,
            epochs=factor.steps + 1,
            select="last",
            tol=0.0,
            loss=loss,
            callbacks=[stopper],
            schedule=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, factor),
            **{"n_starts": 1, "screen": 0, **settings},
        )


def _check_range(lr_min: float, lr_max: float, steps: int, beta: float) -> tuple[float, float]:
    lo, hi = check_lr(lr_min), check_lr(lr_max)
    if not lo < hi:
        raise ConfigError(f"lr_min={lr_min!r} must be below lr_max={lr_max!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 3:
        raise ConfigError(f"steps={steps!r} must be an integer >= 3")
    if not 0 <= beta < 1:
        raise ConfigError(f"beta={beta!r} must be in [0, 1) (0: no smoothing)")
    return lo, hi


class _Growth:
    """The schedule's factor of epoch ``e``: ``(hi / lo) ** (e / (steps - 1))``; the extra last
    epoch only measures the loss, so its rate stays that of the last step."""

    def __init__(self, lo: float, hi: float, steps: int) -> None:
        self.lo, self.ratio, self.steps = lo, hi / lo, steps

    def __call__(self, epoch: int) -> float:
        return self.ratio ** (min(epoch, self.steps - 1) / (self.steps - 1))


def _tracked_loss(batch: bool) -> Callable[[dict[str, Any]], float]:
    """What the stopper reads from a history row: window losses are noisy, so with
    ``batch_days`` the negative soft Sharpe over all training days."""

    def tracked(row: dict[str, Any]) -> float:
        return -float(row["train_sharpe"]) if batch else float(row["loss"])

    return tracked


def _range_table(
    res: FitResult, curve: np.ndarray, factor: _Growth, stopper: _Stopper, beta: float
) -> tuple[pd.DataFrame, float | None, int | None]:
    """The measured steps (rate, loss after the step, smoothed), the rate that blew the loss up
    and its step (None, None when it never did)."""
    rates = factor.lo * np.array([factor(e) for e in range(len(curve))])
    blow_step: int | None = None  # the step whose rate blew the loss up
    if stopper.blew_at is not None:
        blow_step = stopper.blew_at - 1
    elif res.diverged_at is not None and res.diverged_at < factor.steps:
        j = res.diverged_at
        ok = math.isfinite(curve[j]) and math.isfinite(float(res.history["grad_norm"].iloc[j]))
        blow_step = j if ok else max(j - 1, 0)  # a thrown parameter (step j) or a bad loss (step j-1)
    n = len(curve) - 1 if blow_step is None else min(len(curve) - 1, blow_step + 1)
    table = pd.DataFrame({"step": np.arange(n), "lr": rates[:n], "loss": curve[1 : n + 1]})
    table = table[np.isfinite(table["loss"].to_numpy())].reset_index(drop=True)
    table["smoothed"] = smooth_losses(table["loss"].to_numpy(), beta)
    return table, (float(rates[blow_step]) if blow_step is not None else None), blow_step


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
