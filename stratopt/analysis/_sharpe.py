"""Annualised sample Sharpe ratio of a batch of return series, as a tensor.

The hard Sharpe ratio of many rules at once (a loss landscape's grid, a credit assignment's hard
rule). It uses the sample standard deviation (ddof=1), as :func:`stratopt.metrics.sharpe_ratio`
and the backtest do, and the zero-spread convention of :mod:`stratopt.stats`: a series with no
spread scores 0 if its mean is 0 (never invested) and +/-inf otherwise (a riskless gain or loss),
and a series with fewer than 2 returns or a non-finite one scores NaN. Row for row it equals
:func:`stratopt.metrics.sharpe_ratio`, which takes one series as a NumPy array.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from stratopt.metrics import PERIODS_PER_YEAR

__all__ = ["sample_sharpe"]


def sample_sharpe(returns: Tensor, periods_per_year: float = PERIODS_PER_YEAR) -> Tensor:
    """``mean / std * sqrt(periods_per_year)`` of each row of ``returns`` (..., days) -> (...).

    The std is the sample one (ddof=1). Zero spread gives 0 if the mean is 0, else +/-inf; a
    row of fewer than 2 returns, or holding a NaN or inf, gives NaN. Meant for reporting (under ``torch.no_grad``): the
    branches it does not take may hold inf or NaN, so it is not a training objective.

    Examples
    --------
    >>> r = torch.tensor([[0.01, -0.01, 0.02], [0.0, 0.0, 0.0], [0.01, 0.01, 0.01], [0.01, math.nan, 0.0]])
    >>> sample_sharpe(r, periods_per_year=1)
    tensor([0.4364, 0.0000,    inf,    nan])
    """
    n = returns.shape[-1]
    if n < 2:
        return torch.full(returns.shape[:-1], math.nan, dtype=returns.dtype, device=returns.device)
    centred = returns - returns.mean(-1, keepdim=True)
    mean = returns.mean(-1)
    sd = torch.sqrt((centred**2).sum(-1) / (n - 1))  # a few times faster than Tensor.std here
    flat = torch.where(mean == 0, torch.zeros_like(mean), torch.copysign(torch.full_like(mean, math.inf), mean))
    out = torch.where(sd > 0, mean / sd * math.sqrt(periods_per_year), flat)
    return torch.where(torch.isfinite(returns).all(-1), out, torch.full_like(out, math.nan))
