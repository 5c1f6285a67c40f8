"""Figures of a fit's history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from stratopt.plotting import new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from stratopt.training._result import FitResult

__all__ = ["plot_fit"]

_NOT_PARAMS = {
    "loss",
    "train_sharpe",
    "val_sharpe",
    "monitor_hard_sharpe",
    "grad_norm",
    "lr",
    "temperature",
    "diverged",
}


def _by_unit(result: FitResult, params: list[str]) -> dict[str, list[str]]:
    """The parameters grouped by unit, in history order: days share a panel, a ratio gets its own."""
    units = result.rule.param_table()["unit"].to_dict()
    groups: dict[str, list[str]] = {}
    for p in params:
        groups.setdefault(str(units.get(p, "")), []).append(p)
    return groups


def plot_fit(result: FitResult) -> Figure:
    """Loss (left), Sharpe ratios (middle) and the parameters per epoch (right), one panel per
    unit so that a ratio is not drawn flat on a scale of days; a dotted line marks the epoch
    whose parameters were kept, and the legends sit below the panels, off the curves."""
    h = result.history
    groups = _by_unit(result, [c for c in h.columns if c not in _NOT_PARAMS])
    fig = new_figure(figsize=(13, 4.2))
    grid = fig.add_gridspec(max(len(groups), 1), 3)
    ax_loss = fig.add_subplot(grid[:, 0])
    ax_sharpe = fig.add_subplot(grid[:, 1], sharex=ax_loss)
    ax_loss.plot(h.index, h["loss"], color="k", lw=1.2, label="training loss (soft)")
    ax_loss.set(title=f"training loss (stopped: {result.status.replace('_', ' ')})", xlabel="epoch")
    ax_sharpe.plot(h.index, h["train_sharpe"], label="train (soft)", color="C0")
    if h["val_sharpe"].notna().any():
        ax_sharpe.plot(h.index, h["val_sharpe"], label="validation (soft)", color="C1")
    where = "validation" if h["val_sharpe"].notna().any() else "train"
    ax_sharpe.plot(h.index, h["monitor_hard_sharpe"], label=f"hard rule ({where} days)", ls="--", color="C2")
    ax_sharpe.set(title="Sharpe ratio per epoch", xlabel="epoch")
    panels = []
    colour = 3
    for k, (unit, names) in enumerate(groups.items()):
        ax = fig.add_subplot(grid[k, 2], sharex=ax_loss)
        for p in names:
            ax.plot(h.index, h[p], label=p, color=f"C{colour % 10}")
            colour += 1
        _readable_scale(ax, h[names].to_numpy(dtype=float), log=unit == "days")
        ax.set_ylabel(unit or "value", fontsize="small")
        if len(names) > 1:
            ax.legend(fontsize="x-small", loc="best", frameon=False)
        else:
            ax.set_title(names[0], fontsize="small", loc="left")
        if k < len(groups) - 1:
            ax.tick_params(labelbottom=False)
        panels.append(ax)
    if panels:
        panels[0].set_title("parameters (natural units)", loc="right")
        panels[-1].set_xlabel("epoch")
    kept = result.diagnostics.get("selected_epoch")
    if kept is not None and kept >= 0:
        for ax in (ax_loss, ax_sharpe, *panels):
            ax.axvline(kept, color="0.3", ls=":", lw=1.2, label=f"kept: epoch {kept}" if ax is ax_loss else None)
    handles, labels = ax_loss.get_legend_handles_labels()
    more = ax_sharpe.get_legend_handles_labels()
    fig.legend(handles + more[0], labels + more[1], loc="outside lower center", ncols=5, fontsize="small")
    return fig


def _readable_scale(ax: Axes, values: np.ndarray, *, log: bool) -> None:
    """Windows in days on a log axis (they are optimised in log space: 5 to 10 days is as far as
    100 to 200) with plain labels; a parameter that barely moves gets a visible range around
    its value instead of an offset label such as ``1e-11 + 7.999999998``."""
    finite = values[np.isfinite(values)]
    if log and finite.size and finite.min() > 0:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        if finite.max() / finite.min() < 2:  # at least a factor 2 on screen
            mid = np.sqrt(finite.max() * finite.min())
            ax.set_ylim(mid / np.sqrt(2), mid * np.sqrt(2))
        return
    ax.ticklabel_format(axis="y", useOffset=False)
    if finite.size and np.ptp(finite) < 0.02 * max(np.abs(finite).max(), 1e-12):
        mid, half = float(finite.mean()), 0.02 * max(abs(float(finite.mean())), 1e-12)
        ax.set_ylim(mid - half, mid + half)
