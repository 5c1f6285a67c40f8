"""How the data loaders word and raise their warnings: one place, so every message reads alike."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import pandas as pd

from stratopt.errors import DataRepairWarning, StratoptWarning, caller_level

__all__ = ["caller_level", "day", "logger", "repair", "show", "warn", "where"]

logger = logging.getLogger("stratopt.data")


def warn(message: str, category: type[StratoptWarning]) -> None:
    """Log ``message`` and warn with it, pointing at the user's call (not at stratopt)."""
    logger.info(message)
    warnings.warn(message, category, stacklevel=caller_level())


def repair(message: str) -> None:
    """Report a repair of the data (rows dropped, dates normalised, gaps filled)."""
    warn(message, DataRepairWarning)


def where(source: str | None) -> str:
    """`` in <source>`` for messages, or nothing when the source is unknown."""
    return f" in {source}" if source else ""


def show(values: Sequence[object], limit: int = 5) -> str:
    """The first ``limit`` values, comma-separated, with the total when some are left out."""
    shown = ", ".join(str(v) for v in list(values)[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def day(stamp: pd.Timestamp) -> str:
    """A date as ``YYYY-MM-DD``."""
    return f"{stamp:%Y-%m-%d}"
