"""Trades, activity and the worst drawdown of a hard backtest: the numbers of a trader's report.

A trade is a run of days on which one asset's position keeps the same nonzero sign; its return
is the asset's compounded return over those days, signed by the side and scaled by the position
(before costs). Entering, leaving or reversing ends a run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from stratopt.metrics import PERIODS_PER_YEAR

__all__ = ["TRADE_COLUMNS", "activity", "drawdown_dates", "trade_stats", "trade_table"]

TRADE_COLUMNS = ["ticker", "side", "entry", "exit", "days", "return"]


def trade_table(
    positions: np.ndarray,
    asset_returns: np.ndarray,
    closes: pd.DatetimeIndex,
    tickers: Sequence[str],
) -> pd.DataFrame:
    """One row per trade, in order of entry.

    ``positions`` and ``asset_returns`` are (days, assets): the position held over each reported
    day and the asset's return that day. ``closes`` has one more date than there are days: the
    close each position was decided at, then the last reported date. A trade enters at the close
    its first position was decided and exits at the close the position changed (or, still open,
    at the last reported date); ``days`` counts the days it was held.

    >>> pos = np.array([[1.0], [1.0], [0.0], [-1.0]])
    >>> ret = np.array([[0.1], [-0.1], [0.5], [-0.2]])
    >>> closes = pd.date_range("2020-01-01", periods=5)
    >>> trade_table(pos, ret, closes, ["A"])[["side", "days", "return"]].round(4)
        side  days  return
    0   long     2   -0.01
    1  short     1    0.20
    """
    rows: list[dict[str, Any]] = []
    n = positions.shape[0]
    for j, ticker in enumerate(tickers):
        p = positions[:, j]
        sign = np.sign(p)
        cuts = np.flatnonzero(np.diff(sign) != 0) + 1
        starts = np.concatenate([[0], cuts]).astype(int)
        stops = np.concatenate([cuts, [n]]).astype(int)
        for a, b in zip(starts, stops):
            if a >= n or sign[a] == 0:
                continue
            growth = float(np.prod(1.0 + p[a:b] * asset_returns[a:b, j]))
            rows.append(
                {
                    "ticker": str(ticker),
                    "side": "long" if sign[a] > 0 else "short",
                    "entry": closes[a],
                    "exit": closes[b],
                    "days": int(b - a),
                    "return": growth - 1.0,
                }
            )
    table = pd.DataFrame(rows, columns=TRADE_COLUMNS)
    if len(table):
        table = table.sort_values(["entry", "ticker"], kind="stable").reset_index(drop=True)
    return table.astype({"days": int, "return": float})


def trade_stats(trades: pd.DataFrame) -> dict[str, float]:
    """Counts, win rate (share of trades with a positive return) and mean holding days."""
    n = len(trades)
    return {
        "n_trades": float(n),
        "n_long_trades": float((trades["side"] == "long").sum()),
        "n_short_trades": float((trades["side"] == "short").sum()),
        "win_rate": float((trades["return"] > 0).mean()) if n else math.nan,
        "avg_holding_days": float(trades["days"].mean()) if n else math.nan,
    }


def activity(holdings: np.ndarray, previous: np.ndarray, returns: np.ndarray) -> dict[str, float]:
    """Turnover, exposure, hit rate and time in market of the holdings behind each reported day
    (``previous``: the holdings one close before the first of them)."""
    traded = np.abs(np.diff(np.vstack([previous, holdings]), axis=0)).sum(axis=1)
    gross = np.abs(holdings).sum(axis=1)
    active = gross > 0
    return {
        "turnover": float(traded.mean() * PERIODS_PER_YEAR),
        "exposure": float(gross.mean()),
        "hit_rate": float((returns[active] > 0).mean()) if active.any() else math.nan,
        "time_in_market": float(active.mean()),
    }


def drawdown_dates(equity: pd.Series) -> tuple[dict[str, pd.Timestamp | None], int]:
    """Peak, trough and recovery dates of the worst drawdown of ``equity`` (which starts with
    its initial value), and its length from peak to trough in days. Dates are ``None`` when
    the curve never falls below a peak; ``recovery`` is ``None`` when it never gets back."""
    values = equity.to_numpy(dtype=float)
    dd = values / np.maximum.accumulate(values) - 1.0
    trough = int(np.argmin(dd))
    if not dd[trough] < 0:
        return {"peak": None, "trough": None, "recovery": None}, 0
    peak = int(np.argmax(values[: trough + 1]))
    back = np.flatnonzero(values[trough:] >= values[peak])
    recovery = equity.index[trough + int(back[0])] if back.size else None
    return {"peak": equity.index[peak], "trough": equity.index[trough], "recovery": recovery}, trough - peak
