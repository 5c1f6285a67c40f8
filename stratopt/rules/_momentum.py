"""Time-series momentum with a learnable lookback and a learnable entry threshold."""

from __future__ import annotations

import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.ops import soft_step
from stratopt.rules._base import Rule
from stratopt.rules._features import daily_vol
from stratopt.rules._params import Param

__all__ = ["Momentum", "lagged"]


def lagged(x: Tensor, lag: Tensor) -> Tensor:
    """``x[t - lag]`` for a real-valued lag per batch, linearly interpolated between whole days.

    Parameters
    ----------
    x
        Values (days, assets).
    lag
        Lags in days, shape (batch,), ``>= 0``. A lag of 10.25 gives
        ``0.75 x[t-10] + 0.25 x[t-11]``, so the result is differentiable in ``lag`` between
        whole days (it has a kink in its derivative at each whole day).

    Returns
    -------
    Tensor
        Shape (batch, days, assets). Lags reaching before day 0 read day 0 (warm-up), so the
        result is causal: row ``t`` uses rows ``<= t`` only.
    """
    whole = torch.floor(lag.detach())
    frac = (lag - whole).to(x.dtype).reshape(-1, 1, 1)
    t = torch.arange(x.shape[0], device=x.device)
    lo = (t[None, :] - whole.long().to(x.device)[:, None]).clamp_min(0)  # (batch, days)
    hi = (lo - 1).clamp_min(0)
    return (1.0 - frac) * x[lo] + frac * x[hi]


class Momentum(Rule, cli_name="momentum"):
    """Long after a significant rise over the lookback, short after a fall, flat in between.

    The signal is the lookback's log return in units of its expected standard deviation::

        z_t = (log p_t - log p_{t-L}) / (vol_t * sqrt(L))

    where ``vol_t`` is the causal 60-day EWMA volatility of daily log returns. The hard rule
    holds ``1[z > threshold] - 1[z < -threshold]``: long, short, or flat inside the band
    ``|z| <= threshold``. The soft rule replaces each step by a sigmoid,
    ``soft_step(z - threshold) - soft_step(-z - threshold)``, which stays in [-1, 1].

    While training, the lookback ``L`` is continuous: the past price is interpolated linearly
    between lags ``floor(L)`` and ``floor(L) + 1`` (see :func:`lagged`). The hard rule rounds
    ``L`` to whole days. Lags reaching before the first day use the first price, so during the
    first ``L`` days the signal covers a shorter history.

    Parameters
    ----------
    lookback
        Horizon of the momentum return in days, in (2, 400).
    threshold
        Half-width of the flat band in sigmas of the lookback return, in (0, 3).
    vol_span
        Span of the volatility that scales the return (fixed, not trained).

    Examples
    --------
    >>> rule = Momentum(lookback=120, threshold=0.5)
    >>> rule.params
    {'lookback': 120.0, 'threshold': 0.5}
    """

    def __init__(self, lookback: float = 120.0, threshold: float = 0.5, *, vol_span: float = 60.0) -> None:
        super().__init__()
        if not vol_span >= 1:
            raise ConfigError(f"vol_span={vol_span!r} must be >= 1 day")
        self.vol_span = float(vol_span)
        self.add_param(
            Param("lookback", "days", 2.0, 400.0, 120.0, integer=True, doc="momentum horizon", scale="log"), lookback
        )
        self.add_param(Param("threshold", "sigma", 0.0, 3.0, 0.5, doc="half-width of the flat band"), threshold)

    def signal(self, data: MarketData, lookback: Tensor) -> Tensor:
        """The momentum z-score (batch, days, assets) for lookbacks of shape (batch,)."""
        log_p = data.log_prices
        move = log_p - lagged(log_p, lookback)
        return move / (daily_vol(data, self.vol_span) * torch.sqrt(lookback).reshape(-1, 1, 1))

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        z = self.signal(data, p["lookback"])
        thr = p["threshold"].reshape(-1, 1, 1)
        return soft_step(z - thr, temperature) - soft_step(-z - thr, temperature)
