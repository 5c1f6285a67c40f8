"""How long work shows its progress: one place decides, for every loop of the package.

Three modes, chosen once per call from the caller's ``progress`` argument:

- ``"bar"``: a tqdm bar, in a terminal (stderr is a TTY) and in Jupyter. In Jupyter the widget
  bar of ``tqdm.notebook`` is used only if ipywidgets is importable; otherwise the plain text
  bar, so that neither importing nor running stratopt prints tqdm's ``IProgress not found``
  warning (``tqdm.auto`` warns at import in a kernel without ipywidgets).
- ``"lines"``: stderr is not a terminal and not Jupyter (a log file, CI): no bar (its carriage
  returns make logs unreadable), but one plain line per finished long step (:func:`line`,
  :func:`fold_line`), so that a long run still shows it is moving.
- ``"off"``: ``progress=False`` (the command line's ``--quiet``): nothing at all.

``progress=True`` forces the bar wherever stderr goes; ``None`` (every default) picks
``"bar"`` or ``"lines"`` from where stderr goes.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

__all__ = ["Mode", "bar", "fold_line", "folds", "in_jupyter", "line", "mode"]

Mode = Literal["bar", "lines", "off"]


def in_jupyter() -> bool:
    """True inside a Jupyter kernel (notebook, lab, VS Code), False in a terminal or a Qt console.

    Read from the modules already imported, as ``tqdm.autonotebook`` does: IPython is never
    imported here."""
    if "ipykernel.zmqshell" not in sys.modules:
        return False
    if any(k == "QT_API" or k.startswith("SPYDER") for k in os.environ):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    name = type(shell).__name__.lower()
    return shell is not None and "qt" not in name and "spyder" not in name


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def mode(progress: bool | None = None) -> Mode:
    """The progress mode for a caller's ``progress`` argument (see the module docstring)."""
    if progress is False:
        return "off"
    if progress is True or _stderr_is_terminal() or in_jupyter():
        return "bar"
    return "lines"


def _tqdm_class() -> Any:
    """``tqdm.notebook.tqdm`` in Jupyter with ipywidgets, else the plain ``tqdm.std.tqdm``."""
    if in_jupyter() and _has_ipywidgets():
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm
    from tqdm.std import tqdm as std_tqdm

    return std_tqdm


def _has_ipywidgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    progress: bool | None = None,
    leave: bool = False,
) -> Any:
    """A tqdm bar over ``iterable`` (or ``total`` steps advanced with ``update``), disabled
    unless :func:`mode` is ``"bar"``. Use it like tqdm: iterate it, or ``update`` and ``close``."""
    cls = _tqdm_class()
    return cls(iterable, total=total, desc=desc, leave=leave, disable=mode(progress) != "bar")


def line(text: str, *, progress: bool | None = None) -> None:
    """Print ``text`` as one line on stderr in the ``"lines"`` mode (a log, CI); nothing else."""
    if mode(progress) == "lines":
        print(text, file=sys.stderr, flush=True)


def fold_line(
    what: str,
    k: int,
    n: int,
    start: Any,
    end: Any,
    *,
    result: str = "",
    seconds: float | None = None,
    progress: bool | None = None,
) -> None:
    """One line for a finished fold in the ``"lines"`` mode, e.g.
    ``walk-forward fold 3/28 2001-01-02..2001-12-31: test Sharpe 0.41 (12.3 s)``.

    ``k`` counts from 0 (printed from 1); ``start`` and ``end`` are dates (anything with
    ``date()``, or text); ``result`` is what the fold measured, already formatted."""
    span = f"{_day(start)}..{_day(end)}"
    text = f"{what} fold {k + 1}/{n} {span}"
    if result:
        text += f": {result}"
    if seconds is not None:
        text += f" ({seconds:.1f} s)"
    line(text, progress=progress)


def _day(date: Any) -> str:
    return str(date.date()) if hasattr(date, "date") else str(date)


def folds(
    splits: Sequence[Any],
    dates: Any,
    results: Sequence[Any],
    *,
    what: str = "walk-forward",
    describe: Callable[[Any], str] | None = None,
    progress: bool | None = None,
) -> Iterator[Any]:
    """Iterate ``splits`` under a bar (``"bar"`` mode) or with one :func:`fold_line` per
    finished fold (``"lines"`` mode).

    ``dates`` is the splitter's fold table (``test_start`` and ``test_end`` columns, one row per
    split); ``results`` is the list the loop appends each finished fold to, read after each
    step so that ``describe(results[-1])`` (default: its ``row["test_sharpe"]``) ends the line.
    A fold's seconds are the time the loop body took for it."""
    describe = describe or _test_sharpe
    n = len(splits)
    how = mode(progress)
    for k, item in enumerate(bar(splits, desc=what, progress=progress)):
        began = time.perf_counter()
        yield item
        if how == "lines":
            done = describe(results[-1]) if len(results) > k else ""
            row = dates.iloc[k]
            fold_line(
                what,
                k,
                n,
                row["test_start"],
                row["test_end"],
                result=done,
                seconds=time.perf_counter() - began,
                progress=progress,
            )


def _test_sharpe(fold: Any) -> str:
    value = getattr(fold, "row", {}).get("test_sharpe")
    return "" if value is None else f"test Sharpe {value:.2f}"
