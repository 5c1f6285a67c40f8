"""Figures of a walk-forward result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from stratopt.plotting import new_figure, plain_log_axis

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from stratopt.model_selection._wf_result import WalkForwardResult

__all__ = ["plot_walk_forward"]

_PLAIN = FuncFormatter(lambda v, _: f"{v:g}")
_NAMES = {"oos": "walk-forward", "buy_and_hold": "buy and hold", "untuned": "untuned"}


def _units(result: WalkForwardResult) -> dict[str, str]:
    """Unit of every parameter, from the registered rule class (empty if it cannot be built)."""
    from stratopt.rules._registry import registered_rules

    classes = {cls.__name__: cls for cls in registered_rules().values()}
    try:
        table = classes[str(result.config.get("rule"))]().param_table()
    except Exception:  # a rule that needs arguments, or an unregistered one: no units to group by
        return {}
    return {str(k): str(v) for k, v in table["unit"].items()}


def plot_walk_forward(result: WalkForwardResult) -> Figure:
    """Equity vs baselines (alternate folds shaded), parameters per fold, Sharpe by regime.

    Equity is on a log scale. Parameters are drawn as steps over each fold's test window:
    windows in days on a log scale on the left, a parameter of another unit (a ratio) on its
    own scale on the right, dashed.
    """
    fig = new_figure(figsize=(12, 8))
    grid = fig.add_gridspec(2, 2, height_ratios=[3, 2])
    ax_eq = fig.add_subplot(grid[0, :])
    ax_par = fig.add_subplot(grid[1, 0])
    ax_reg = fig.add_subplot(grid[1, 1])
    _equity(ax_eq, result)
    _parameters(ax_par, result)
    _regimes(ax_reg, result)
    return fig


def _equity(ax: Axes, result: WalkForwardResult) -> None:
    ax.plot(result.oos_equity.index, result.oos_equity.values, label="walk-forward (hard rule)", lw=1.6)
    for name, r in result.baselines.items():
        eq = (1.0 + r).cumprod()
        ax.plot(eq.index, eq.values, label=_NAMES.get(name, name.replace("_", " ")), lw=1.0, alpha=0.85)
    for k, row in result.folds.iterrows():
        if int(k) % 2 == 0:
            ax.axvspan(pd.Timestamp(row["test_start"]), pd.Timestamp(row["test_end"]), color="0.92", zorder=0)
    plain_log_axis(ax)
    ax.set(title="out-of-sample equity, growth of 1 (test folds shaded alternately)")
    ax.legend(loc="upper left")


def _parameters(ax: Axes, result: WalkForwardResult) -> None:
    folds = result.folds
    edges = pd.to_datetime(pd.concat([folds["test_start"], folds["test_end"].iloc[-1:]], ignore_index=True))
    units = _units(result)
    groups: dict[str, list[str]] = {}
    for p in result.param_names:
        groups.setdefault(units.get(p, ""), []).append(p)
    main_unit = "days" if "days" in groups else next(iter(groups), "")
    others = [u for u in groups if u != main_unit]
    main = groups.get(main_unit, [])
    if len(others) != 1:  # one unit, or too many for two scales: all on one axis
        main, others = list(result.param_names), []
    for j, p in enumerate(main):
        values = folds[p].to_numpy(dtype=float)
        ax.step(edges, np.r_[values, values[-1]], where="post", label=p, color=f"C{j}")
    log = main_unit == "days" and bool((folds[main].to_numpy(dtype=float) > 0).all())
    if log:
        plain_log_axis(ax)
    title = "fitted parameters per fold"
    if others:
        _second_scale(ax, edges, folds, groups[others[0]], others[0], first_colour=len(main), log=log)
        title += f" ({main_unit} left, {others[0]} right, dashed)"
    ax.set_ylabel(main_unit)
    ax.set_title(title, fontsize="medium")
    if not result.param_names:  # a neural policy: weights, no named parameter to draw
        ax.text(0.5, 0.5, "no named parameters (a neural policy's weights)", ha="center", va="center",
                transform=ax.transAxes, fontsize="small")  # fmt: skip
        ax.set(xticks=[], yticks=[], ylabel="")  # no scale to read: none of 0 to 1
        return
    ax.legend(fontsize="small", loc="best")


def _second_scale(
    ax: Axes, edges: pd.DatetimeIndex, folds: pd.DataFrame, names: list[str], unit: str, *, first_colour: int, log: bool
) -> None:
    """Draw ``names`` mapped linearly onto the height of ``ax`` and label that mapping on the
    right (a secondary axis: a second scale on one panel without a second set of axes)."""
    values = folds[names].to_numpy(dtype=float)
    v_lo, v_hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.1 * (v_hi - v_lo) if v_hi > v_lo else max(abs(v_lo) * 0.1, 1.0)
    v_lo, v_hi = v_lo - pad, v_hi + pad
    y_lo, y_hi = ax.get_ylim()

    def to_axis(v: Any) -> Any:
        share = (np.asarray(v, dtype=float) - v_lo) / (v_hi - v_lo)
        return y_lo * (y_hi / y_lo) ** share if log else y_lo + share * (y_hi - y_lo)

    def from_axis(y: Any) -> Any:
        y = np.asarray(y, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.log(y / y_lo) / np.log(y_hi / y_lo) if log else (y - y_lo) / (y_hi - y_lo)
        return v_lo + share * (v_hi - v_lo)

    for j, p in enumerate(names):
        v = folds[p].to_numpy(dtype=float)
        ax.step(edges, to_axis(np.r_[v, v[-1]]), where="post", ls="--", label=p, color=f"C{first_colour + j}")
    ax.set_ylim(y_lo, y_hi)
    right = ax.secondary_yaxis("right", functions=(from_axis, to_axis))
    right.set_yscale("linear")  # the mapping above is linear in the parameter on either scale
    right.yaxis.set_major_formatter(_PLAIN)
    right.set_ylabel(unit)


def _regimes(ax: Axes, result: WalkForwardResult) -> None:
    if result.regimes.empty:
        return
    reg = result.regimes
    labels = [r for _, r in reg.index]
    cols = [c for c in reg.columns if c.endswith("_sharpe")]
    x = np.arange(len(labels))
    width = 0.8 / max(len(cols), 1)
    for i, c in enumerate(cols):
        name = c.removesuffix("_sharpe")
        ax.bar(x + i * width, reg[c].to_numpy(dtype=float), width, label=_NAMES.get(name, name.replace("_", " ")))
    ax.set_xticks(x + width * (len(cols) - 1) / 2, labels, rotation=30, ha="right")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set(title="Sharpe ratio by regime (out of sample)")
    ax.margins(y=0.3)  # headroom: the legend, in one row at the top, covers no bar
    ax.legend(fontsize="small", ncol=len(cols), loc="upper center")
