"""Figures of a walk-forward result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from stratopt.plotting import new_figure

if TYPE_CHECKING:
    from stratopt.model_selection._wf_result import WalkForwardResult

__all__ = ["plot_walk_forward"]


def plot_walk_forward(result: WalkForwardResult) -> Figure:
    """Equity vs baselines (alternate folds shaded), parameters per fold, Sharpe by regime."""
    fig = new_figure(figsize=(12, 8))
    grid = fig.add_gridspec(2, 2, height_ratios=[3, 2])
    ax_eq = fig.add_subplot(grid[0, :])
    ax_par = fig.add_subplot(grid[1, 0])
    ax_reg = fig.add_subplot(grid[1, 1])
    ax_eq.plot(result.oos_equity.index, result.oos_equity.values, label="walk-forward", lw=1.5)
    for name, r in result.baselines.items():
        eq = (1.0 + r).cumprod()
        ax_eq.plot(eq.index, eq.values, label=name.replace("_", " "), lw=1.0, alpha=0.8)
    for k, row in result.folds.iterrows():
        if int(k) % 2 == 0:
            ax_eq.axvspan(pd.Timestamp(row["test_start"]), pd.Timestamp(row["test_end"]), color="0.9", zorder=0)
    ax_eq.set(yscale="log", title="out-of-sample equity (test folds shaded alternately)")
    ax_eq.legend()
    starts = pd.to_datetime(result.folds["test_start"])
    for p in result.param_names:
        ax_par.step(starts, result.folds[p], where="post", label=p)
    ax_par.set(title="fitted parameters per fold (natural units)")
    ax_par.legend(fontsize="small")
    if not result.regimes.empty:
        reg = result.regimes
        labels = [r for _, r in reg.index]
        cols = [c for c in reg.columns if c.endswith("_sharpe")]
        x = np.arange(len(labels))
        width = 0.8 / max(len(cols), 1)
        for i, c in enumerate(cols):
            ax_reg.bar(x + i * width, reg[c].to_numpy(dtype=float), width, label=c.removesuffix("_sharpe"))
        ax_reg.set_xticks(x + width * (len(cols) - 1) / 2, labels, rotation=30, ha="right")
        ax_reg.axhline(0.0, color="k", lw=0.5)
        ax_reg.set(title="Sharpe by regime (out of sample)")
        ax_reg.legend(fontsize="small")
    return fig
