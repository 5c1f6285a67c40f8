"""The protocol every result follows: ``summary()``, a readable repr, ``to_dict()`` and JSON,
``plot(ax=None)`` returning a figure, and ``save()`` / ``load()`` where a result can be rebuilt
from its record (as arch's results share one base)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stratopt._json import jsonable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Result"]


class Result:
    """Base of stratopt's result objects.

    Subclasses implement :meth:`summary` (plain text for people) and :meth:`to_dict` (a
    JSON-ready record) and, where there is something to draw, :meth:`plot`.
    """

    def summary(self) -> str:
        """A plain-text report."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the result."""
        raise NotImplementedError

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """:meth:`to_dict` as JSON text (NaN and inf become ``null``); written to ``path`` if given."""
        text = json.dumps(jsonable(self.to_dict()), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    def plot(self, ax: Axes | None = None) -> Figure:
        """The result's figure (a matplotlib Figure that Jupyter shows inline)."""
        raise NotImplementedError(f"{type(self).__name__} has nothing to plot")

    def __repr__(self) -> str:
        first = self.summary().strip().splitlines()
        return f"<{type(self).__name__}: {first[0] if first else ''}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython and Jupyter show the summary
        printer.text(repr(self) if cycle else self.summary())
