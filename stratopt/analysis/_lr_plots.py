"""Figures of a learning-rate comparison and of a learning-rate range test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from stratopt.plotting import axes_or_new, new_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from stratopt.analysis._learning_rates import LRComparison
    from stratopt.analysis._lr_range import LRRangeTest

__all__ = ["plot_comparison", "plot_range_test"]

_SHARPES = {
    "train_soft_sharpe": ("C0", "-", "train soft"),
    "train_hard_sharpe": ("C0", "--", "train hard"),
    "val_soft_sharpe": ("C1", "-", "validation soft"),
    "val_hard_sharpe": ("C1", "--", "validation hard"),
}


def plot_comparison(cmp: LRComparison) -> Figure:
    """Three panels: tracked loss per epoch (log x), its distance to the best loss of all runs
    (log x and y), and final Sharpe ratios against lr (log x) with each lr's verdict."""
    fig = new_figure(figsize=(15, 4.2))
    ax_loss, ax_gap, ax_sharpe = fig.subplots(1, 3)
    _draw_curves(cmp, ax_loss, ax_gap)
    _draw_sharpes(cmp.runs, ax_sharpe)
    return fig


def _draw_curves(cmp: LRComparison, ax_loss: Axes, ax_gap: Axes) -> None:
    """Each run's tracked loss and its distance to the best loss; diverged runs end in a cross."""
    h, runs = cmp.history, cmp.runs
    lrs = sorted(runs["lr"].unique())
    norm = LogNorm(min(lrs), max(lrs)) if len(lrs) > 1 else None
    cmap = colormaps["viridis"]
    calm = []  # loss values of runs that did not diverge: they set the y range
    stops = []  # (epoch + 1, loss) where diverged runs stopped
    for (lr, seed), g in h.groupby(["lr", "seed"], sort=True):
        color = cmap(norm(lr)) if norm else "C0"
        x = g["epoch"].to_numpy() + 1  # epoch 0 on a log axis
        y = g["tracked_loss"].to_numpy(dtype=float)
        label = f"lr {lr:.3g}" if seed == runs["seed"].iloc[0] else None
        verdict = runs[(runs["lr"] == lr) & (runs["seed"] == seed)]["verdict"].iloc[0]
        ax_loss.plot(x, y, color=color, label=label, lw=1.2)
        gap = y - cmp.best_loss
        ax_gap.plot(x, np.where(gap > 0, gap, np.nan), color=color, lw=1.2)
        if verdict == "diverged":
            last = np.flatnonzero(np.isfinite(y))
            stops.append((x[last[-1]], y[last[-1]]) if last.size else (x[-1], np.inf))
        else:
            calm.append(y[np.isfinite(y)])
    ax_loss.plot([], [], "x", color="red", ms=8, mew=2, label="diverged (stopped)")
    if calm:
        values = np.concatenate(calm)
        lo, hi = float(values.min()), float(values.max())
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1e-6)
        ax_loss.set_ylim(lo - pad, hi + pad)
    low, high = ax_loss.get_ylim()
    for x_stop, y_stop in stops:  # a blown-up loss is drawn on the edge of the panel
        ax_loss.plot(x_stop, float(np.clip(y_stop, low, high)), "x", color="red", ms=10, mew=2, clip_on=False)
    ax_loss.set(xscale="log", xlabel="epoch + 1", ylabel="loss", title="training loss per learning rate")
    ax_loss.legend(fontsize="small")
    ax_gap.set(
        xscale="log",
        yscale="log",
        xlabel="epoch + 1",
        ylabel="loss - best loss of all runs",
        title="distance to the best loss",
    )


def _draw_sharpes(runs: pd.DataFrame, ax_sharpe: Axes) -> None:
    """Final Sharpe ratios against lr, diverged runs crossed, each lr's verdicts on top."""
    by_lr = runs.groupby("lr")
    for col, (color, ls, label) in _SHARPES.items():
        ax_sharpe.plot(
            by_lr[col].mean().index, by_lr[col].mean().to_numpy(), color=color, ls=ls, marker="o", ms=4, label=label
        )
    bad = runs[runs["verdict"] == "diverged"]
    if len(bad):
        ax_sharpe.plot(bad["lr"], bad["val_hard_sharpe"], "x", color="red", ms=10, mew=2, label="diverged")
    for lr, verdicts in by_lr["verdict"]:
        text = "/".join(sorted(set(verdicts)))
        ax_sharpe.annotate(
            text,
            (lr, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="center",
            fontsize="x-small",
            color="0.3",
        )
    ax_sharpe.axhline(0.0, color="0.6", lw=0.8)
    ax_sharpe.set(
        xscale="log",
        xlabel="learning rate",
        ylabel="Sharpe ratio (annualised)",
        title="final Sharpe ratio against learning rate",
    )
    ax_sharpe.legend(fontsize="small", loc="lower left")


def plot_range_test(test: LRRangeTest, ax: Axes | None = None) -> Figure:
    """Loss and smoothed loss against lr (log x), the suggestion and the blow-up marked."""
    t = test.table
    fig, ax = axes_or_new(ax, (7, 4.2))
    ax.plot(t["lr"], t["loss"], color="C0", alpha=0.35, label="loss after the step")
    ax.plot(t["lr"], t["smoothed"], color="C0", label="smoothed")
    ax.axhline(test.initial_loss, color="0.6", lw=0.8, ls=":", label="initial loss")
    ax.axvline(test.suggestion, color="C2", ls="--", label=f"suggested lr {test.suggestion:.3g} ({test.method})")
    if test.blowup_lr is not None:
        ax.axvline(test.blowup_lr, color="red", ls=":", label=f"blew up at lr {test.blowup_lr:.3g}")
    ax.set(
        xscale="log",
        xlabel="learning rate",
        ylabel="loss",
        title=f"learning-rate range test ({test.config.get('optimizer')})",
    )
    ax.legend(fontsize="small")
    return fig
