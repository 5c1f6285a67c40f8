"""Ticker names: what a column may be called, so that two tickers never merely look alike.

- Spaces, tabs and other whitespace around a name are stripped, with a
  :class:`~stratopt.errors.DataRepairWarning` listing the names as they were (``"XOM "``).
- A name holding an invisible character anywhere (a zero-width space as in ``"X\\u200bOM"``,
  a byte-order mark, a control character, a no-break or other non-ASCII space inside the
  name) is refused with a :class:`~stratopt.errors.DataError` giving its ``repr`` and the
  characters: it would print like another ticker and never match what the user types.
- Names that are equal once stripped (``"XOM"`` and ``"XOM "``) are refused, naming both.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from stratopt.data._report import repair, show, where
from stratopt.errors import ConfigError, DataError

__all__ = ["check_ticker_names", "invisible_characters"]

# Control, format (zero-width space, joiners, BOM), private-use, surrogate, unassigned, and line
# or paragraph separators. Spaces other than U+0020 inside a name are refused too.
_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def invisible_characters(name: str) -> list[str]:
    """The characters of ``name`` that do not show, as ``U+200B ZERO WIDTH SPACE``, in order."""
    found = []
    for char in dict.fromkeys(name):
        category = unicodedata.category(char)
        if category in _INVISIBLE or (category == "Zs" and char != " "):
            found.append(f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}")
    return found


def check_ticker_names(
    columns: Iterable[object],
    *,
    source: str | None = None,
    error: type[DataError] | type[ConfigError] = DataError,
) -> list[str]:
    """Ticker names as strings, stripped, checked for invisible characters and repeats.

    Parameters
    ----------
    columns
        The names, e.g. a DataFrame's columns; non-strings are converted with :class:`str`.
    source
        Where the names come from, for messages.
    error
        The error class to raise (:class:`DataError` for data, :class:`ConfigError` for an
        argument).

    Returns
    -------
    list of str
        The names with surrounding whitespace removed (warned about when any was).

    Raises
    ------
    DataError
        A name is empty, holds an invisible character, or equals another once stripped.
    """
    raw = [str(c) for c in columns]
    for name in raw:
        hidden = invisible_characters(name.strip())
        if hidden:
            raise error(
                f"ticker {name!r}{where(source)} holds invisible characters ({', '.join(hidden)}): "
                "retype the name without them"
            )
    names = [n.strip() for n in raw]
    if any(not n for n in names):
        raise error(f"the price table{where(source)} has a column with an empty name")
    spelled: dict[str, list[str]] = {}
    for before, after in zip(raw, names):
        spelled.setdefault(after, []).append(before)
    for name, forms in spelled.items():
        if len(forms) > 1 and len(set(forms)) > 1:
            raise error(
                f"ticker columns {', '.join(repr(f) for f in forms)}{where(source)} differ only by "
                f"spaces around the name: keep one column {name!r}"
            )
        if len(forms) > 1:
            raise error(f"ticker columns [{name!r}] appear more than once{where(source)}: keep one column each")
    changed = [repr(before) for before, after in zip(raw, names) if before != after]
    if changed:
        repair(f"stripped spaces around the ticker names {show(changed)}{where(source)}")
    return names
