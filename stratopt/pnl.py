"""Strategy returns from positions: the one place where the timing convention lives.

A position decided at the close of day ``t`` earns the return from ``t`` to ``t+1``; trading to
it costs ``cost`` times the change of holding, charged in the same period::

    R[t+1] = sum_i h[t, i] r[t+1, i]  -  sum_i c[t, i] |h[t, i] - h[t-1, i]|,   h[-1] = 0

where ``h = position x allocation`` and ``c = cost_bps / 1e4 + slippage x vol[t, i]``. Soft
(training) and hard (backtest) paths both come through here, so they cannot disagree on timing.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.ops import smooth_abs
from stratopt.rules._features import daily_vol

__all__ = ["Allocation", "allocation", "holdings", "net_returns"]

Allocation = Literal["equal_risk", "equal"]

#: Floor of an asset's volatility in equal-risk allocation, as a share of the cross-sectional
#: median that day: no asset gets more than four times the median asset's capital.
MIN_VOL_SHARE = 0.25

#: Smoothing of |x| in training costs; see :func:`stratopt.ops.smooth_abs` for the error bound.
SMOOTH_ABS_EPS = 1e-4


def allocation(data: MarketData, scheme: Allocation = "equal_risk", *, vol_span: float = 60.0) -> Tensor:
    """Capital share of each asset per day (days, assets); rows sum to 1 over listed assets.

    ``"equal_risk"`` weights assets by inverse causal EWMA volatility (known at the close of
    ``t``), so each contributes about the same risk, with each volatility floored at
    :data:`MIN_VOL_SHARE` of the day's cross-sectional median; ``"equal"`` splits capital evenly. A single
    asset always gets 1.
    """
    if scheme not in ("equal_risk", "equal"):
        raise ConfigError(f"allocation={scheme!r} is not one of 'equal_risk', 'equal'")

    def compute() -> Tensor:
        live = data.tradable.to(data.dtype)
        if scheme == "equal_risk":
            vol = daily_vol(data, vol_span)[0]
            # a stale quote (a price that does not move for weeks, as in early bundled data) has
            # near-zero volatility and would take almost all the capital: floor each asset's
            # volatility at a quarter of the day's median across listed assets
            listed_vol = torch.where(data.tradable, vol, torch.full_like(vol, float("nan")))
            median = torch.nanmedian(listed_vol, dim=1, keepdim=True).values.nan_to_num(nan=0.0)
            raw = live / torch.maximum(vol, MIN_VOL_SHARE * median)
        else:
            raw = live
        total = raw.sum(dim=1, keepdim=True)
        return torch.where(total > 0, raw / total.clamp_min(torch.finfo(raw.dtype).tiny), raw)

    return data.cached(("allocation", scheme, float(vol_span)), compute)


def holdings(positions: Tensor, data: MarketData, scheme: Allocation = "equal_risk") -> Tensor:
    """Positions (batch, days, assets) scaled to portfolio holdings by :func:`allocation`."""
    return positions * allocation(data, scheme)


def net_returns(
    positions: Tensor,
    data: MarketData,
    *,
    cost_bps: float = 5.0,
    slippage: float = 0.0,
    allocation_scheme: Allocation = "equal_risk",
    smooth: bool = False,
    start: int = 0,
) -> Tensor:
    """Portfolio net returns (batch, days - 1); entry ``k`` is earned from day ``k`` to ``k+1``.

    Parameters
    ----------
    positions
        Positions in [-1, 1] (batch, days, assets) decided at each day's close.
    data
        The market data the positions were computed on.
    cost_bps
        Proportional cost per unit of holding traded, in basis points.
    slippage
        Extra cost per unit traded as a fraction of the asset's daily volatility (0.1 = a tenth
        of a daily sigma), larger in turbulent markets.
    allocation_scheme
        How capital is split across assets (see :func:`allocation`).
    smooth
        Use :func:`stratopt.ops.smooth_abs` for |trade| (training); the hard backtest uses the
        exact absolute value.
    start
        Only the entries from ``start`` on (shape (batch, days - 1 - start)), equal to those
        entries of the whole result: training skips the warm-up days' returns this way, whose
        positions it still needs for the trade into the first counted day.
    """
    if cost_bps < 0 or slippage < 0:
        raise ConfigError(f"cost_bps={cost_bps} and slippage={slippage} must be >= 0")
    n_days = data.returns.shape[0]
    if not 0 <= start < n_days - 1:
        raise ConfigError(f"start={start} must be a day from 0 to {n_days - 2}")
    # holdings from the day before ``start`` (the trade into day ``start`` needs them)
    lo = max(start - 1, 0)
    h = positions[:, lo:] * allocation(data, allocation_scheme)[lo:]
    gross = (h[:, start - lo : -1] * data.returns[start + 1 :]).sum(dim=-1)
    before = h[:, :1] if start > 0 else torch.zeros_like(h[:, :1])
    trades = torch.diff(h[:, start - lo :], dim=1, prepend=before)[:, :-1]
    size = smooth_abs(trades, SMOOTH_ABS_EPS) if smooth else trades.abs()
    rate: Tensor | float = cost_bps / 1e4
    if slippage:
        rate = rate + slippage * daily_vol(data)[0, start:-1]
    return gross - (size * rate).sum(dim=-1)
