"""Market regimes labelled causally, and strategy performance by regime.

A label on date ``t`` uses market returns up to ``t - 1`` only: it is what a trader knew when
deciding the position that earns the return of date ``t``. Volatility terciles compare the
trailing volatility with the quantiles of its own past (expanding window), never with the
whole sample.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from stratopt import metrics as m

__all__ = ["label_regimes", "regime_table"]


def label_regimes(
    prices: pd.DataFrame, *, vol_window: int = 63, trend_window: int = 126, min_history: int = 252
) -> pd.DataFrame:
    """Causal regime labels per date: ``volatility`` (low/mid/high) and ``trend`` (up/down).

    The market is the equal-weight average of the listed assets' daily returns. ``volatility``
    is the trailing ``vol_window``-day standard deviation placed in terciles of its own history
    up to that day (at least ``min_history`` days of it, else unlabelled); ``trend`` is the sign
    of the trailing ``trend_window``-day compounded market return. Both are shifted by one day.
    """
    market = prices.pct_change(fill_method=None).mean(axis=1, skipna=True).fillna(0.0)
    vol = market.rolling(vol_window, min_periods=vol_window).std()
    lo = vol.expanding(min_periods=min_history).quantile(1 / 3)
    hi = vol.expanding(min_periods=min_history).quantile(2 / 3)
    vol_label = pd.Series(pd.NA, index=prices.index, dtype="object")
    ok = lo.notna() & vol.notna()
    vol_label[ok & (vol <= lo)] = "low vol"
    vol_label[ok & (vol > lo) & (vol <= hi)] = "mid vol"
    vol_label[ok & (vol > hi)] = "high vol"
    growth = np.log1p(market).rolling(trend_window, min_periods=trend_window).sum()
    trend = pd.Series(pd.NA, index=prices.index, dtype="object")
    trend[growth.notna() & (growth >= 0)] = "trend up"
    trend[growth.notna() & (growth < 0)] = "trend down"
    return pd.DataFrame({"volatility": vol_label.shift(1), "trend": trend.shift(1)})


def regime_table(returns: dict[str, pd.Series], labels: pd.DataFrame) -> pd.DataFrame:
    """Annualised mean return (arithmetic), Sharpe and share of days of each return series within each regime.

    Parameters
    ----------
    returns
        Named daily return series (e.g. strategy and buy-and-hold) on the same dates.
    labels
        Output of :func:`label_regimes` (dates may be a superset).
    """
    rows = []
    first = next(iter(returns.values()))
    lab = labels.reindex(first.index)
    for kind in lab.columns:
        for regime in sorted(lab[kind].dropna().unique()):
            mask = (lab[kind] == regime).to_numpy()
            row: dict[str, object] = {
                "kind": kind,
                "regime": regime,
                "days": int(mask.sum()),
                "share": float(mask.mean()),
            }
            for name, r in returns.items():
                sub = r.to_numpy()[mask]
                row[f"{name}_sharpe"] = m.sharpe_ratio(sub) if sub.size > 1 else math.nan
                row[f"{name}_ann_mean"] = float(np.mean(sub) * m.PERIODS_PER_YEAR) if sub.size else math.nan
            rows.append(row)
    return pd.DataFrame(rows).set_index(["kind", "regime"]) if rows else pd.DataFrame()
