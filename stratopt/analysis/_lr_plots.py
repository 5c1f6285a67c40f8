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

__all__ = ["VERDICT_COLORS", "plot_comparison", "plot_range_test"]

_SHARPES = {
    "train_soft_sharpe": ("C0", "-", "train soft"),
    "train_hard_sharpe": ("C0", "--", "train hard"),
    "val_soft_sharpe": ("C1", "-", "validation soft"),
    "val_hard_sharpe": ("C1", "--", "validation hard"),
}


#: Colour of each verdict, for the rate labels under the Sharpe panel.
VERDICT_COLORS = {"good": "C2", "too_slow": "0.45", "oscillating": "C1", "diverged": "red"}
#: Share of viridis used for the rates: its last 20% (yellow) does not show on white.
_CMAP_TOP = 0.8


def plot_comparison(cmp: LRComparison) -> Figure:
    """One row of three panels per optimiser: tracked loss per epoch (log x), its distance to
    the best loss of all runs (log x and y), and final Sharpe ratios against lr (log x) with
    each rate's verdict under its tick. The loss panels share their y range across optimisers."""
    optimizers = list(dict.fromkeys(cmp.runs["optimizer"]))
    n = len(optimizers)
    fig = new_figure(figsize=(15, 4.4 * n))
    axes = fig.subplots(n, 3, squeeze=False, sharey="col")
    calm: list[np.ndarray] = []
    stops = []
    for row, opt in zip(axes, optimizers):
        values, ends = _draw_curves(cmp, opt, row[0], row[1], several=n > 1)
        calm += values
        stops.append(ends)
        _draw_sharpes(cmp.runs[cmp.runs["optimizer"] == opt], row[2], title=f"{opt}: " if n > 1 else "")
    if calm:
        everything = np.concatenate(calm)
        lo, hi = float(everything.min()), float(everything.max())
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1e-6)
        axes[0, 0].set_ylim(lo - pad, hi + pad)  # shared by the column
    for row, ends in zip(axes, stops):
        _mark_stops(row[0], ends)
    return fig


def _draw_curves(
    cmp: LRComparison, optimizer: str, ax_loss: Axes, ax_gap: Axes, *, several: bool
) -> tuple[list[np.ndarray], list[tuple[float, float]]]:
    """One optimiser's tracked loss and distance to the best loss per rate. Returns the loss
    values of the runs that did not diverge (they set the y range) and where the diverged runs
    stopped (crossed by :func:`_mark_stops` once the y range is set)."""
    h = cmp.history[cmp.history["optimizer"] == optimizer]
    runs = cmp.runs[cmp.runs["optimizer"] == optimizer]
    lrs = sorted(cmp.runs["lr"].unique())
    norm = LogNorm(min(lrs), max(lrs)) if len(lrs) > 1 else None
    cmap = colormaps["viridis"]
    calm = []
    stops = []  # (epoch + 1, loss) where diverged runs stopped
    for (lr, seed), g in h.groupby(["lr", "seed"], sort=True):
        color = cmap(_CMAP_TOP * float(norm(lr))) if norm else "C0"
        x = g["epoch"].to_numpy() + 1  # epoch 0 on a log axis
        y = g["tracked_loss"].to_numpy(dtype=float)
        label = f"lr {lr:.3g}" if seed == runs["seed"].iloc[0] else None
        verdict = runs[(runs["lr"] == lr) & (runs["seed"] == seed)]["verdict"].iloc[0]
        ax_loss.plot(x, y, color=color, label=label, lw=1.4)
        gap = y - cmp.best_loss
        ax_gap.plot(x, np.where(gap > 0, gap, np.nan), color=color, lw=1.4)
        if verdict == "diverged":
            last = np.flatnonzero(np.isfinite(y))
            stops.append((x[last[-1]], y[last[-1]]) if last.size else (x[-1], np.inf))
        else:
            calm.append(y[np.isfinite(y)])
    if stops:
        ax_loss.plot([], [], "x", color="red", ms=8, mew=2, label="diverged (stopped)")
    prefix = f"{optimizer}: " if several else ""
    ax_loss.set(xscale="log", xlabel="epoch + 1", ylabel="loss", title=f"{prefix}training loss per learning rate")
    ax_loss.legend(fontsize="small")
    ax_gap.set(
        xscale="log",
        yscale="log",
        xlabel="epoch + 1",
        ylabel="loss - best loss of all runs",
        title=f"{prefix}distance to the best loss",
    )
    return calm, stops


def _mark_stops(ax_loss: Axes, stops: list[tuple[float, float]]) -> None:
    """A red cross where each diverged run stopped; a blown-up loss on the panel's edge."""
    low, high = ax_loss.get_ylim()
    for x_stop, y_stop in stops:
        ax_loss.plot(x_stop, float(np.clip(y_stop, low, high)), "x", color="red", ms=10, mew=2, clip_on=False)
    ax_loss.set_ylim(low, high)


def _draw_sharpes(runs: pd.DataFrame, ax_sharpe: Axes, *, title: str = "") -> None:
    """Final Sharpe ratios against lr, diverged runs crossed; each rate's tick label carries
    its verdicts (one per seed, coloured by verdict)."""
    by_lr = runs.groupby("lr")
    for col, (color, ls, label) in _SHARPES.items():
        ax_sharpe.plot(
            by_lr[col].mean().index, by_lr[col].mean().to_numpy(), color=color, ls=ls, marker="o", ms=4, label=label
        )
    bad = runs[runs["verdict"] == "diverged"]
    if len(bad):
        ax_sharpe.plot(bad["lr"], bad["val_hard_sharpe"], "x", color="red", ms=10, mew=2, label="diverged")
    ax_sharpe.axhline(0.0, color="0.6", lw=0.8)
    ax_sharpe.set(
        xscale="log",
        xlabel="learning rate (verdict)",
        ylabel="Sharpe ratio (annualised)",
        title=f"{title}final Sharpe ratio" if title else "final Sharpe ratio against learning rate",
    )
    rates = sorted(runs["lr"].unique())
    verdicts = ["/".join(dict.fromkeys(v.replace("_", " ") for v in by_lr.get_group(lr)["verdict"])) for lr in rates]
    ax_sharpe.set_xticks(rates, [f"{lr:.3g}\n{v}" for lr, v in zip(rates, verdicts)], fontsize="small")
    ax_sharpe.minorticks_off()
    for tick, lr in zip(ax_sharpe.get_xticklabels(), rates):
        kinds = set(by_lr.get_group(lr)["verdict"])
        tick.set_color(VERDICT_COLORS[kinds.pop()] if len(kinds) == 1 else "black")
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
