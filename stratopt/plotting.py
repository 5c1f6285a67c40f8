"""Figures for results: one way to make them, shown inline by Jupyter, never a window.

Every ``plot()`` in stratopt returns a :class:`StratoptFigure`: a plain matplotlib ``Figure``
built outside pyplot (so scripts and tests never open a window and no global figure list
grows) that also knows how to draw itself as PNG, which is what Jupyter and IPython display
when a figure is the value of a cell. ``display(fig)`` and ``fig.savefig(path)`` work as usual.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["StratoptFigure", "axes_or_new", "new_figure", "plain_log_axis"]


class StratoptFigure(Figure):
    """A matplotlib Figure that Jupyter shows inline without ``%matplotlib inline``."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


def new_figure(figsize: tuple[float, float] = (10.0, 5.0), **kwargs: Any) -> StratoptFigure:
    """A new figure (constrained layout) for a result's plot."""
    kwargs.setdefault("layout", "constrained")
    return StratoptFigure(figsize=figsize, **kwargs)


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = (10.0, 5.0)) -> tuple[Figure, Axes]:
    """The given axes and their figure, or one new axes on a new figure."""
    if ax is not None:
        fig = ax.get_figure()
        assert fig is not None
        return fig, ax  # type: ignore[return-value]
    fig = new_figure(figsize)
    return fig, fig.add_subplot()


def plain_log_axis(ax: Axes) -> None:
    """Log y-axis with ticks at round values labelled plainly (0.5, 1, 2), never 9.8x10^-1 or
    2 x 10^0; call it once the data are drawn (the ticks follow the current limits)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, NullLocator

    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    ticks: list[float] = []
    for subs in ((1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)):
        decades = range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
        ticks = [m * 10.0**k for k in decades for m in subs if lo <= m * 10.0**k <= hi]
        if len(ticks) >= 3:
            break
    if len(ticks) < 3:
        ticks = [float(t) for t in MaxNLocator(5).tick_values(lo, hi) if lo <= t <= hi]

    def label(value: float, _pos: int) -> str:
        return f"{value:,.0f}" if value >= 1000 else f"{value:.4g}"

    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(label))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_formatter(NullFormatter())
