"""Verdicts on a training run from its loss curve: pure functions with their thresholds.

:func:`loss_curve_verdict` says whether a run diverged, oscillated, was too slow or was good;
:func:`steps_to_fraction` how many steps it took to get most of the way to the best loss. Both
compare a curve with the best loss of all runs of a comparison, so they work the same for
negative losses (a negative Sharpe ratio) and positive ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "BLOWUP_PROGRESS",
    "GOOD_PROGRESS",
    "OSC_LARGE_CHANGE",
    "OSC_MAX_NET",
    "OSC_MIN_EPOCHS",
    "OSC_MIN_FLIPS",
    "OSC_RUN_FLIPS",
    "STEPS_FRACTION",
    "TAIL",
    "Verdict",
    "curve_stats",
    "edge_hints",
    "loss_curve_verdict",
    "steps_to_fraction",
]

Verdict = Literal["diverged", "oscillating", "too_slow", "good"]

#: ``diverged`` also when the final loss ends above the initial loss by more than this share of
#: |initial - best loss of all runs| (a bounded loss such as a Sharpe cannot blow up to infinity).
BLOWUP_PROGRESS = -0.5
#: Steps to reach this fraction of the way from the initial loss to the best loss of all runs.
STEPS_FRACTION = 0.95
#: ``good`` needs the final loss to have covered at least this fraction of that way: the same
#: fraction as the steps, so that a ``good`` run always has a number of steps to 95%.
GOOD_PROGRESS = STEPS_FRACTION
#: A loss change is large when it exceeds this fraction of |initial - best loss of all runs|.
OSC_LARGE_CHANGE = 0.01
#: Still bouncing at the end: at least this share of the second half's steps reverse a large
#: change...
OSC_MIN_FLIPS = 0.25
#: ...and the second half's net decrease is below this share of its total movement.
OSC_MAX_NET = 0.1
#: Bounced and ended far from the best: at least this share of all steps reverse a large change.
OSC_RUN_FLIPS = 0.1
#: The final loss is the median over this last share of the epochs (robust to a last bounce).
TAIL = 0.1
#: Curves shorter than this are never called oscillating (too few steps to judge).
OSC_MIN_EPOCHS = 10


def _span(initial: float, best_loss: float) -> float:
    """How far the best run got below this curve's start (nan when no run improved)."""
    span = initial - best_loss
    return span if span > 1e-12 * max(1.0, abs(initial)) else math.nan


def steps_to_fraction(
    loss: Sequence[float] | np.ndarray, *, best_loss: float, fraction: float = STEPS_FRACTION
) -> int | None:
    """First epoch at which a loss curve has covered ``fraction`` of the way to ``best_loss``.

    The target is ``loss[0] + fraction * (best_loss - loss[0])``, which works for negative
    losses (a negative Sharpe) as well as positive ones. Epoch ``e``'s loss is measured after
    ``e`` optimiser steps, so the answer is a number of steps.

    Returns
    -------
    int or None
        None when the curve never gets there, or when ``best_loss`` is not below ``loss[0]``.

    Examples
    --------
    >>> steps_to_fraction([-0.2, -0.5, -0.9, -0.99, -1.0], best_loss=-1.0)
    3
    """
    curve = np.asarray(loss, dtype=float)
    span = _span(float(curve[0]), best_loss)
    if math.isnan(span):
        return None
    hit = np.flatnonzero(curve <= curve[0] - fraction * span)
    return int(hit[0]) if hit.size else None


def _flip_share(curve: np.ndarray, large_change: float) -> float:
    """Share of steps that reverse the sign of a loss change, both changes being large."""
    d = np.diff(curve)
    if d.size < 2:
        return 0.0
    large = np.abs(d) > large_change
    return float(((np.sign(d[1:]) != np.sign(d[:-1])) & large[1:] & large[:-1]).sum() / (d.size - 1))


def curve_stats(curve: np.ndarray, best_loss: float) -> dict[str, float]:
    span = _span(float(curve[0]), best_loss)
    tail = curve[-max(1, math.ceil(TAIL * len(curve))) :]
    final = float(np.median(tail))
    progress = (curve[0] - final) / span if not math.isnan(span) else math.nan
    large = OSC_LARGE_CHANGE * (span if not math.isnan(span) else max(abs(curve[0]), 1e-12))
    second = curve[len(curve) // 2 :]
    movement = float(np.abs(np.diff(second)).sum())
    net = float(second[0] - second[-1]) / movement if movement > 0 else 1.0
    return {
        "final_loss": final,
        "progress": float(progress),
        "flip_rate": _flip_share(curve, large),
        "tail_flip_rate": _flip_share(second, large),
        "net_share": net,
    }


def loss_curve_verdict(loss: Sequence[float] | np.ndarray, *, best_loss: float, diverged: bool = False) -> Verdict:
    """Classify one training run from its loss curve, given the best loss of all runs.

    Rules, applied in this order:

    * ``diverged``: the fit reported divergence (non-finite loss or gradient, loss above
      ``initial + 50 * max(1, |initial|)``, or a bounded parameter thrown onto its bound), the
      curve holds a non-finite value, or the loss blew up within its bounds: the final loss
      (median of the last 10% of epochs) ends above the initial loss by more than half of
      ``|initial - best_loss|`` (:data:`BLOWUP_PROGRESS`).
    * ``oscillating``: at least :data:`OSC_MIN_EPOCHS` epochs, the loss reverses a lot (a
      reversal: a step whose loss change has the opposite sign of the previous one, both
      changes above :data:`OSC_LARGE_CHANGE`, 1% of ``|initial - best_loss|``) and it is not
      decreasing overall. Either it is still bouncing at the end (in the second half of the
      run at least :data:`OSC_MIN_FLIPS`, 25%, of the steps are reversals, and the net decrease
      is below :data:`OSC_MAX_NET`, 10%, of the total movement, the sum of ``|change|``), or it
      ended far from the best (final progress below :data:`GOOD_PROGRESS`) after bouncing (at
      least :data:`OSC_RUN_FLIPS`, 10%, of all steps are reversals) or after having been
      within :data:`STEPS_FRACTION` (95%) of the way to the best loss: it overshot, which a
      smaller learning rate cures, so it is not called slow.
    * ``too_slow``: the final loss (median of the last 10% of epochs) has covered less than
      :data:`GOOD_PROGRESS` (95%) of the way from the initial loss to ``best_loss``; also when
      no run improved on its initial loss at all. A run that went smoothly into a worse local
      minimum is reported here too: it did not get to the best loss in the epochs given.
    * ``good``: everything else.

    Examples
    --------
    >>> epochs = np.arange(100)
    >>> loss_curve_verdict(-1 + np.exp(-epochs / 5), best_loss=-1.0)
    'good'
    >>> loss_curve_verdict(-1e-3 * epochs / 100, best_loss=-1.0)
    'too_slow'
    >>> loss_curve_verdict(0.3 * (-1.0) ** epochs, best_loss=-1.0)
    'oscillating'
    """
    curve = np.asarray(loss, dtype=float)
    if diverged or curve.size == 0 or not np.isfinite(curve).all():
        return "diverged"
    s = curve_stats(curve, best_loss)
    if s["progress"] < BLOWUP_PROGRESS:
        return "diverged"
    far = math.isnan(s["progress"]) or s["progress"] < GOOD_PROGRESS
    if curve.size >= OSC_MIN_EPOCHS:
        bouncing = s["tail_flip_rate"] >= OSC_MIN_FLIPS and s["net_share"] < OSC_MAX_NET
        overshot = s["flip_rate"] >= OSC_RUN_FLIPS or steps_to_fraction(curve, best_loss=best_loss) is not None
        if bouncing or (far and overshot):
            return "oscillating"
    if far:
        return "too_slow"
    return "good"


def edge_hints(runs: pd.DataFrame) -> list[str]:
    """One hint per optimiser whose best rate is the largest or the smallest of the grid.

    ``runs`` has columns ``optimizer``, ``lr``, ``verdict`` and ``final_loss`` (one row per
    run). An optimiser's best rate is the one with the lowest median final loss over its seeds,
    diverged rates left out; when two or more rates did not diverge and the best sits at an
    end of the grid, the best rate may lie beyond it.

    Examples
    --------
    >>> runs = pd.DataFrame({"optimizer": "sgd", "lr": [0.01, 0.1, 1.0], "verdict": "good",
    ...                      "final_loss": [-1.0, -1.1, -1.2]})
    >>> edge_hints(runs)
    ['sgd: the best rate, 1, is the largest tried; widen the grid above 1']
    """
    hints = []
    for opt, group in runs.groupby("optimizer", sort=False):
        rates = sorted(group["lr"].unique())
        calm = group[group["verdict"] != "diverged"]
        final = calm.groupby("lr")["final_loss"].median().dropna()
        if len(final) < 2:  # one rate that did not diverge: nothing to compare it with
            continue
        best = float(final.idxmin())
        if best == rates[-1]:
            hints.append(f"{opt}: the best rate, {best:.3g}, is the largest tried; widen the grid above {best:.3g}")
        elif best == rates[0]:
            hints.append(f"{opt}: the best rate, {best:.3g}, is the smallest tried; widen the grid below {best:.3g}")
    return hints
