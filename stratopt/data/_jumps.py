"""Price jumps that look like data faults rather than market moves.

Each ticker's daily log returns ``r`` are measured against its own robust volatility
``sigma = 1.4826 * MAD(r)`` (the median absolute deviation, which one bad price cannot inflate).
A move is a candidate when ``|r| > T = max(0.25, 10 * sigma)``: at least a 22% fall or a 28%
rise, and ten typical days. A ticker with fewer than 20 returns has no volatility to speak of:
there ``T`` is the 0.25 floor and no move is called split-like (in a handful of rows any
doubling would be). A candidate is reported when it also looks like one of:

- **a one-day spike**: both ``r`` and the next day's return exceed ``2 * T``, with opposite
  signs, and the price comes back to within half of the move (a 1e6x typo, a price in the
  wrong unit for one day);
- **an unadjusted split**: ``exp(r)`` is within 1% of a split ratio (1/2, 1/3, 1/4, 1/5, 1/8,
  1/10, 2/3, 2/5, or a reverse split 2, 3, 4, 5, 10), the move is not undone the next day, and
  the price was moving before (at most half of the previous ten returns are zero: a stale quote
  catching up lands on round ratios by itself);
- **a huge move**: ``|r| > max(log 4, 3 * T)``, a fourfold rise or fall in one day.

Real crashes of 30-50% pass (the bundled ``sp500`` data, 1990-2022, gives no report); a 50%
overnight drop to within 1% of half the price, or one price a million times too large, does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from stratopt.data._report import day, warn, where
from stratopt.errors import ConfigError, DataError, SuspiciousPriceWarning

__all__ = ["Jump", "OnJump", "check_jumps", "check_on_jump", "find_jumps"]

OnJump = Literal["warn", "raise", "ignore"]
_ON_JUMP: tuple[OnJump, ...] = ("warn", "raise", "ignore")

#: Smallest log return that can be a suspicious jump, and the multiple of robust volatility.
JUMP_FLOOR, JUMP_SIGMAS = 0.25, 10.0
#: How close (in log) a move must come to a split ratio to look like an unadjusted split.
SPLIT_TOLERANCE = 0.01
_SPLITS = {
    1 / 2: "2-for-1 split",
    1 / 3: "3-for-1 split",
    1 / 4: "4-for-1 split",
    1 / 5: "5-for-1 split",
    1 / 8: "8-for-1 split",
    1 / 10: "10-for-1 split",
    2 / 3: "3-for-2 split",
    2 / 5: "5-for-2 split",
    2.0: "1-for-2 reverse split",
    3.0: "1-for-3 reverse split",
    4.0: "1-for-4 reverse split",
    5.0: "1-for-5 reverse split",
    10.0: "1-for-10 reverse split",
}
_STALE_LOOKBACK = 10
#: Fewest returns a ticker needs for its own volatility to count and for a move to be called
#: split-like; shorter histories use the floor alone.
_SPLIT_MIN_RETURNS = 20


@dataclass(frozen=True)
class Jump:
    """One suspicious move: the ticker, the day of the new price, the log return and its kind."""

    ticker: str
    date: pd.Timestamp
    log_return: float
    kind: Literal["spike", "split", "huge"]
    detail: str

    @property
    def factor(self) -> float:
        """New price over old price (``inf`` or 0 beyond the float range)."""
        return math.exp(self.log_return) if abs(self.log_return) < 700 else (math.inf if self.log_return > 0 else 0.0)

    def describe(self) -> str:
        """``AAPL on 2020-03-02: x0.5 ...`` for messages."""
        if abs(self.log_return) < 700:
            factor = f"{self.factor:.3g}"
        else:  # prices of 1e-300 and 1e300 in one table: say the power of ten
            factor = f"1e{self.log_return / math.log(10):+.0f}"
        return f"{self.ticker} on {day(self.date)}: x{factor} {self.detail}"


def _robust_sigma(returns: np.ndarray) -> float:
    if len(returns) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(returns - np.median(returns))))


def _split_like(move: float) -> str | None:
    for ratio, name in _SPLITS.items():
        if abs(move - math.log(ratio)) < SPLIT_TOLERANCE:
            return name
    return None


def _stale(returns: np.ndarray, position: int) -> bool:
    before = returns[max(0, position - _STALE_LOOKBACK) : position]
    before = before[~np.isnan(before)]
    return len(before) > 0 and float((before == 0).mean()) >= 0.5


def _column_jumps(ticker: str, dates: pd.DatetimeIndex, returns: np.ndarray) -> list[Jump]:
    known = ~np.isnan(returns)
    threshold = max(JUMP_FLOOR, JUMP_SIGMAS * _robust_sigma(returns[known]))
    size = np.where(known, np.abs(np.nan_to_num(returns)), 0.0)
    found: list[Jump] = []
    enough = int(known.sum()) >= _SPLIT_MIN_RETURNS  # else no volatility, and no split call
    threshold = threshold if enough else JUMP_FLOOR
    skip = -1
    for i in np.flatnonzero(size > threshold):
        if i == skip:
            continue
        move = float(returns[i])
        date = dates[i + 1]
        after = float(returns[i + 1]) if i + 1 < len(returns) and known[i + 1] else 0.0
        undone = after * move < 0 and abs(move + after) < 0.5 * abs(move)
        if undone and min(abs(move), abs(after)) > 2 * threshold:
            found.append(Jump(ticker, date, move, "spike", "then back the next day (a one-day spike?)"))
            skip = i + 1
            continue
        split = _split_like(move) if enough and not undone and not _stale(returns, int(i)) else None
        if split is not None:
            found.append(Jump(ticker, date, move, "split", f"in one day, as a {split} would make it (unadjusted?)"))
        elif abs(move) > max(math.log(4), 3 * threshold):
            found.append(Jump(ticker, date, move, "huge", "in one day"))
    return found


def find_jumps(prices: pd.DataFrame) -> list[Jump]:
    """Suspicious jumps in a canonical price table (positive prices, NaN only before listing).

    Parameters
    ----------
    prices
        Dates as index, one column per ticker (see :func:`~stratopt.data.validate_prices`).

    Returns
    -------
    list of Jump
        In date order, then ticker order; empty for clean data.
    """
    if len(prices) < 2:
        return []
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.diff(np.log(prices.to_numpy(dtype=float)), axis=0)
    jumps = [
        jump
        for j, ticker in enumerate(prices.columns)
        for jump in _column_jumps(str(ticker), pd.DatetimeIndex(prices.index), returns[:, j])
    ]
    return sorted(jumps, key=lambda jump: (jump.date, jump.ticker))


def check_on_jump(on_jump: object) -> OnJump:
    """Validate ``on_jump=``: ``"warn"``, ``"raise"`` or ``"ignore"``."""
    for mode in _ON_JUMP:
        if isinstance(on_jump, str) and on_jump == mode:
            return mode
    raise ConfigError(f"on_jump={on_jump!r} is not one of 'warn', 'raise', 'ignore'")


def check_jumps(prices: pd.DataFrame, *, on_jump: OnJump = "warn", source: str | None = None) -> list[Jump]:
    """Find suspicious jumps and act on them: one warning for all, a DataError, or nothing.

    Returns
    -------
    list of Jump
        What was found (also when ``on_jump="ignore"``).
    """
    on_jump = check_on_jump(on_jump)
    if on_jump == "ignore":
        return []
    jumps = find_jumps(prices)
    if not jumps:
        return jumps
    listed = "; ".join(jump.describe() for jump in jumps[:5])
    more = f" ({len(jumps)} in all)" if len(jumps) > 5 else ""
    message = f"suspicious price jumps{where(source)}: {listed}{more}"
    if on_jump == "raise":
        raise DataError(f"{message}: fix the source (stratopt expects split-adjusted prices) or pass on_jump='warn'")
    warn(
        f"{message}; check the source (stratopt expects split-adjusted prices), or pass "
        "on_jump='raise' to refuse such data or on_jump='ignore' to accept it",
        SuspiciousPriceWarning,
    )
    return jumps
