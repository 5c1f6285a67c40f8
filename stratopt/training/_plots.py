"""Figures of a fit's history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stratopt.plotting import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from stratopt.training._result import FitResult

__all__ = ["plot_fit"]


def plot_fit(result: FitResult) -> Figure:
    """Three panels: loss, soft Sharpe (train, validation), and each parameter, per epoch."""
    h = result.history
    fixed = {"loss", "train_sharpe", "val_sharpe", "monitor_hard_sharpe", "grad_norm", "lr", "temperature", "diverged"}
    params = [c for c in h.columns if c not in fixed]
    fig = new_figure(figsize=(12, 3.5))
    ax_loss, ax_sharpe, ax_params = fig.subplots(1, 3)
    ax_loss.plot(h.index, h["loss"], color="C0")
    ax_loss.set(title=f"loss ({result.status})", xlabel="epoch")
    ax_sharpe.plot(h.index, h["train_sharpe"], label="train (soft)")
    if h["val_sharpe"].notna().any():
        ax_sharpe.plot(h.index, h["val_sharpe"], label="validation (soft)")
    ax_sharpe.plot(h.index, h["monitor_hard_sharpe"], label="hard rule (monitored days)", ls="--")
    ax_sharpe.set(title="Sharpe ratio", xlabel="epoch")
    ax_sharpe.legend()
    for p in params:
        ax_params.plot(h.index, h[p], label=p)
    ax_params.set(title="parameters (natural units)", xlabel="epoch")
    kept = result.diagnostics.get("selected_epoch")
    if kept is not None and kept >= 0:
        for ax in (ax_loss, ax_sharpe, ax_params):
            ax.axvline(kept, color="0.4", ls=":", lw=1)
        ax_loss.annotate(
            f"kept: epoch {kept}",
            (kept, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize="small",
            ha="left",
            va="top",
        )
    if params:
        ax_params.legend(fontsize="small")
    return fig
