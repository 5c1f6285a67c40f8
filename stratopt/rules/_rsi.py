"""Contrarian Relative Strength Index rule with learnable period and levels."""

from __future__ import annotations

import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.ops import ema, soft_step
from stratopt.rules._base import Rule
from stratopt.rules._features import log_returns
from stratopt.rules._params import Param

__all__ = ["RSIRule", "rsi"]

#: RSI points per unit of temperature: at temperature 1 a sigmoid spans about +-10 points
#: around a level, comparable to the gap between the classic 70/30 levels and 50.
RSI_SCALE = 10.0


def rsi(returns: Tensor, period: Tensor) -> Tensor:
    """Wilder's Relative Strength Index in [0, 100] with exponential smoothing.

    ``RSI = 100 G / (G + L)`` where ``G`` and ``L`` are exponential moving averages of daily
    gains ``max(r, 0)`` and losses ``max(-r, 0)`` with ``alpha = 1 / period`` (Wilder's
    smoothing; span ``2 period - 1``), started at the first observation as pandas
    ``ewm(alpha=1/period, adjust=False)`` does. Where nothing has moved yet (``G + L = 0``)
    the RSI is the neutral 50.

    Parameters
    ----------
    returns
        Daily returns (days, assets); 0 on the first day.
    period
        Periods in days, shape (batch,), ``>= 1``.

    Returns
    -------
    Tensor
        Shape (batch, days, assets); causal.
    """
    n_assets = returns.shape[1]
    moves = torch.cat([returns.clamp_min(0.0), (-returns).clamp_min(0.0)], dim=1)
    smooth = ema(moves, 2.0 * period - 1.0)  # gains and losses in one scan
    gain, loss = smooth[..., :n_assets], smooth[..., n_assets:]
    total = gain + loss
    moved = total > 0
    ratio = gain / torch.where(moved, total, torch.ones_like(total))
    return 100.0 * torch.where(moved, ratio, torch.full_like(ratio, 0.5))


class RSIRule(Rule, cli_name="rsi"):
    """Short when the RSI is above ``overbought``, long when below ``oversold``, else flat.

    A memoryless contrarian band on Wilder's RSI (:func:`rsi`) of daily log returns (log
    returns rather than price changes: over one day they are nearly the same, and they do not
    depend on the price level). Hard position ``1[RSI < oversold] - 1[RSI > overbought]``; soft
    position ``soft_step((oversold - RSI) / 10) - soft_step((RSI - overbought) / 10)`` at the
    given temperature, so one unit of temperature is about 10 RSI points. The hard rule rounds
    the period to whole days. The levels' bounds keep ``oversold < 50 < overbought``, so the
    two zones never overlap. On the second day of data the RSI is 0 or 100 (one move seen), so
    keep some warm-up data before the days you evaluate.

    Parameters
    ----------
    period
        Wilder period in days, in (2, 100).
    overbought
        RSI level above which the rule goes short, in [50, 90] (above 90 the rule would
        almost never trade).
    oversold
        RSI level below which the rule goes long, in [10, 50].

    Examples
    --------
    >>> RSIRule(period=14, overbought=70, oversold=30).params
    {'period': 14.0, 'overbought': 70.0, 'oversold': 30.0}
    """

    def __init__(self, period: float = 14.0, overbought: float = 70.0, oversold: float = 30.0) -> None:
        super().__init__()
        self.add_param(
            Param("period", "days", 2.0, 100.0, 14.0, integer=True, doc="Wilder RSI period", scale="log"), period
        )
        self.add_param(Param("overbought", "RSI", 50.0, 90.0, 70.0, doc="short above this RSI"), overbought)
        self.add_param(Param("oversold", "RSI", 10.0, 50.0, 30.0, doc="long below this RSI"), oversold)

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        level = rsi(log_returns(data), p["period"])
        over = p["overbought"].reshape(-1, 1, 1)
        under = p["oversold"].reshape(-1, 1, 1)
        long = soft_step((under - level) / RSI_SCALE, temperature)
        short = soft_step((level - over) / RSI_SCALE, temperature)
        return long - short
