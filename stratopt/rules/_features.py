"""Parameter-free features shared by rules, computed once per data set and memoised."""

from __future__ import annotations

import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.ops import ewm_mean

__all__ = ["VOL_FLOOR", "daily_vol", "log_returns", "return_observed"]

#: Lower bound on a daily volatility estimate (1 basis point), so that dividing by it is safe.
VOL_FLOOR = 1e-4


def log_returns(data: MarketData) -> Tensor:
    """Daily log returns (days, assets); 0 on the first day and before listing."""

    def compute() -> Tensor:
        lr = torch.zeros_like(data.log_prices)
        lr[1:] = data.log_prices[1:] - data.log_prices[:-1]
        return lr

    return data.cached("log_returns", compute)


def return_observed(data: MarketData) -> Tensor:
    """True where a real daily return exists (the ticker was listed the day before)."""

    def compute() -> Tensor:
        seen = torch.zeros_like(data.tradable)
        seen[1:] = data.tradable[:-1]
        return seen

    return data.cached("return_observed", compute)


def daily_vol(data: MarketData, span: float | Tensor = 60.0) -> Tensor:
    """Causal EWMA volatility of daily log returns, zero-mean (RiskMetrics style).

    ``sqrt(ewm_mean(r^2))`` over observed returns only, floored at :data:`VOL_FLOOR`. A float
    span is memoised on ``data``; a tensor span of shape (batch,) is differentiable and gives
    shape (batch, days, assets).
    """

    def compute(s: Tensor) -> Tensor:
        r = log_returns(data)
        var = ewm_mean(r * r, s, weights=return_observed(data), floor=VOL_FLOOR**2)
        return torch.sqrt(var.clamp_min(VOL_FLOOR**2))

    if isinstance(span, Tensor):
        return compute(span)
    s = torch.tensor([float(span)], dtype=data.dtype, device=data.device)
    return data.cached(("daily_vol", float(span)), lambda: compute(s))
