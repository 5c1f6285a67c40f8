"""Figures for results: one way to make them, shown inline by Jupyter, never a window.

Every ``plot()`` in stratopt returns a :class:`StratoptFigure`: a plain matplotlib ``Figure``
built outside pyplot (so scripts and tests never open a window and no global figure list
grows) that also knows how to draw itself as PNG, which is what Jupyter and IPython display
when a figure is the value of a cell. ``display(fig)`` and ``fig.savefig(path)`` work as usual.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["StratoptFigure", "axes_or_new", "new_figure"]


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
