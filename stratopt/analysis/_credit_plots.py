"""Figures for credit assignment: sensitivity bars and attribution through time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from stratopt.plotting import new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from stratopt.analysis._credit import CreditResult

__all__ = ["align_zeros", "plot_credit"]


def align_zeros(*axes: Axes) -> None:
    """Widen the y-limits of ``axes`` (twins sharing a panel) so that 0 sits at the same height
    on all of them and every limit still holds its data: two scales on one panel read as one
    only when their zero lines coincide. The common height of zero is the one that leaves the
    worst-filled axis the most of its height (an all-negative running sum beside daily values
    of both signs puts zero near the top, but not so near that the daily values flatten)."""
    lims = [ax.get_ylim() for ax in axes]
    below = np.array([max(-lo, 0.0) for lo, _ in lims])
    above = np.array([max(hi, 0.0) for _, hi in lims])
    shares = np.linspace(0.05, 0.95, 91)[:, None]  # candidate heights of zero, as a fraction
    spans = np.maximum(below / shares, above / (1.0 - shares))
    fill = np.where(spans > 0, (below + above) / np.where(spans > 0, spans, 1.0), 1.0)
    share = float(shares[np.argmax(fill.min(axis=1)), 0])
    for ax, b, a in zip(axes, below, above):
        span = max(b / share, a / (1.0 - share)) or 1.0
        ax.set_ylim(-share * span, (1.0 - share) * span)


def plot_credit(result: CreditResult, *, label: int = 3) -> Figure:
    """Sensitivity per parameter (left) and each parameter's attribution by decision date (right).

    Parameters
    ----------
    result
        A :class:`~stratopt.analysis.CreditResult`.
    label
        How many of each parameter's largest daily contributions to mark with their date.

    Returns
    -------
    Figure
        Left: bars of the change of the objective for +1% of each parameter (a layer: a move of
        1% of its norm along its gradient). Right, one panel per parameter: the daily
        contributions (they sum to the gradient) and, on a second axis, their running sum,
        which ends at the gradient.
    """
    names = list(result.params.index)
    k = len(names)
    fig = new_figure(figsize=(13, 1.2 + 2.0 * k))
    grid = fig.add_gridspec(k, 2, width_ratios=(1, 3))
    ax_bar = fig.add_subplot(grid[:, 0])
    sens = result.params["sensitivity"].to_numpy()
    colors = ["C2" if s >= 0 else "C3" for s in sens]
    ax_bar.barh(np.arange(k), sens, color=colors)
    ax_bar.set_yticks(np.arange(k), names)
    ax_bar.invert_yaxis()
    ax_bar.axvline(0.0, color="0.3", lw=0.8)
    ax_bar.xaxis.set_major_locator(MaxNLocator(4))
    ax_bar.set(title=f"sensitivity: change of {result.objective} for +1%", xlabel=result.objective)

    first = None
    for j, name in enumerate(names):
        ax = fig.add_subplot(grid[j, 1], sharex=first)
        first = first or ax
        series = result.by_date[name]
        ax.plot(series.index, series.to_numpy(), lw=0.6, color="C0")
        ax.axhline(0.0, color="0.3", lw=0.6)
        running = ax.twinx()
        running.plot(series.index, series.cumsum().to_numpy(), lw=1.0, color="0.55")
        running.set_ylabel("running sum", color="0.45", fontsize="small")
        top = result.top_days[result.top_days["param"] == name].head(label)
        ax.scatter(top["decided"], top["contribution"], color="C3", s=14, zorder=3)
        for row in top.itertuples():
            ax.annotate(
                f"{row.decided:%Y-%m-%d}",
                (row.decided, row.contribution),
                fontsize="x-small",
                xytext=(3, 3),
                textcoords="offset points",
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
                zorder=4,
            )
        gradient = result.params.loc[name, "gradient"]
        ax.set_title(f"{name}: gradient {gradient:.4g} (daily attribution, decision dates)", fontsize="small")
        ax.set_ylabel("per day", fontsize="small")
        ax.margins(y=0.15)  # room for the date labels under the title
        align_zeros(ax, running)
        if j < k - 1:
            ax.tick_params(labelbottom=False)
    return fig
