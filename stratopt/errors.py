"""Errors and warnings raised by stratopt.

Every message names the offending value and says how to fix it. Errors that signal bad user input
subclass :class:`ValueError` so that generic handlers still catch them.
"""

from __future__ import annotations

import sys

__all__ = [
    "ConfigError",
    "DataError",
    "DataRepairWarning",
    "DataUnavailableError",
    "DivergenceWarning",
    "LookAheadError",
    "StaleCacheWarning",
    "StratoptError",
    "StratoptWarning",
    "caller_level",
]


class StratoptError(Exception):
    """Base class of every error stratopt raises on purpose."""


class DataError(StratoptError, ValueError):
    """Price data that cannot be used as it is (bad values, bad layout, empty after filtering)."""


class DataUnavailableError(StratoptError, RuntimeError):
    """Data that could not be obtained: no network and no cached copy."""


class ConfigError(StratoptError, ValueError):
    """An argument outside its valid range or of the wrong kind."""


class LookAheadError(StratoptError, AssertionError):
    """A rule whose position on some day depends on prices after that day."""


class StratoptWarning(UserWarning):
    """Base class of stratopt's warnings."""


class StaleCacheWarning(StratoptWarning):
    """Data served from the on-disk cache because a fresh download failed."""


class DivergenceWarning(StratoptWarning):
    """An optimisation stopped because its loss or gradient blew up."""


class DataRepairWarning(StratoptWarning):
    """A price table was repaired (rows dropped, dates re-ordered or normalised, gaps filled)."""


class SuspiciousPriceWarning(StratoptWarning):
    """A price move that looks like a data fault: a one-day spike, an unadjusted split, a huge jump."""


class CorruptCacheError(DataUnavailableError):
    """A cached copy exists but cannot be read, and no fresh download replaced it."""


__all__ += ["CorruptCacheError", "SuspiciousPriceWarning"]


class DiagnosticWarning(StratoptWarning):
    """A result that is probably degenerate: say so rather than report it as a success."""


class IdleRuleWarning(DiagnosticWarning):
    """The hard rule holds a position on too few days (or trades in too few folds) to judge."""


class PinnedParameterWarning(DiagnosticWarning):
    """A fitted parameter sits at (or within 2% of) a bound: the optimum may lie beyond it."""


class EarlySelectionWarning(DiagnosticWarning):
    """The kept epoch lies in the first 5% of training: the fit may have learned nothing."""


__all__ += ["DiagnosticWarning", "EarlySelectionWarning", "IdleRuleWarning", "PinnedParameterWarning"]


def caller_level() -> int:
    """Stack level of the first frame outside stratopt, for :func:`warnings.warn`.

    Called from the function that calls :func:`warnings.warn`; the level counts from that
    function, so a warning points at the user's line however deep inside stratopt it was raised
    (``stratopt.fit`` -> ``Tuner.fit`` -> ..., or ``Tuner.fit`` called directly).
    """
    frame, level = sys._getframe(2), 2
    while frame.f_back is not None and _inside(frame.f_globals.get("__name__", "")):
        frame, level = frame.f_back, level + 1
    return level


def _inside(module: str) -> bool:
    return module == "stratopt" or module.startswith("stratopt.")
