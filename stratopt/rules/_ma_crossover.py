"""Moving-average crossover with learnable fast and slow spans."""

from __future__ import annotations

import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.ops import ema, soft_sign
from stratopt.rules._base import Rule
from stratopt.rules._features import daily_vol
from stratopt.rules._params import Param

__all__ = ["MACrossover"]


class MACrossover(Rule, cli_name="ma-crossover"):
    """Long when the fast EMA of log price is above the slow one, short when below.

    Soft position ``tanh((ema_fast - ema_slow) / (vol * temperature))``, where ``vol`` is the
    causal 60-day EWMA volatility of daily log returns, which makes the gap unit-free (in daily
    sigmas) so one temperature suits every asset. Hard position ``sign(ema_fast - ema_slow)``
    with spans rounded to whole days.

    Parameters
    ----------
    fast, slow
        EMA spans in days, in [2, 400] (``alpha = 2 / (span + 1)``).
    vol_span
        Span of the volatility used to scale the gap (fixed, not trained).
    """

    def __init__(self, fast: float = 20.0, slow: float = 100.0, *, vol_span: float = 60.0) -> None:
        super().__init__()
        self.vol_span = float(vol_span)
        self.add_param(Param("fast", "days", 2.0, 400.0, 20.0, integer=True, doc="fast EMA span"), fast)
        self.add_param(Param("slow", "days", 2.0, 400.0, 100.0, integer=True, doc="slow EMA span"), slow)

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        n = p["fast"].shape[0]
        both = ema(data.log_prices, torch.cat([p["fast"], p["slow"]]))  # one FFT pass for both
        gap = both[:n] - both[n:]
        return soft_sign(gap / daily_vol(data, self.vol_span), temperature)
