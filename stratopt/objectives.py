"""Objectives: small pure functions of strategy returns (batch, days) -> score (batch,).

Higher is better; the training loss is the negative objective plus penalties. All are smooth
where the returns are nonzero, and annualised with ``periods_per_year`` (252 trading days).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import Tensor

from stratopt.errors import ConfigError
from stratopt.metrics import PERIODS_PER_YEAR
from stratopt.ops._ema import linear_recurrence

__all__ = [
    "OBJECTIVES",
    "Objective",
    "differential_sharpe",
    "get_objective",
    "l2_penalty",
    "mean_variance",
    "sharpe",
    "sortino",
    "turnover_penalty",
]

Objective = Literal["sharpe", "sortino", "differential_sharpe", "mean_variance"]
PERIODS = PERIODS_PER_YEAR


def _time_weights(returns: Tensor, halflife: float | None) -> Tensor:
    """Weights over days summing to 1: equal, or halving every ``halflife`` days into the past."""
    n = returns.shape[-1]
    if halflife is None:
        return torch.full((n,), 1.0 / n, dtype=returns.dtype, device=returns.device)
    if not halflife > 0:
        raise ConfigError(f"halflife={halflife!r} must be a positive number of days")
    age = torch.arange(n - 1, -1, -1, dtype=returns.dtype, device=returns.device)
    w = torch.exp(-math.log(2.0) * age / halflife)
    return w / w.sum()


def sharpe(
    returns: Tensor, *, eps: float = 1e-12, halflife: float | None = None, periods_per_year: int = PERIODS
) -> Tensor:
    """Smoothed annualised Sharpe ratio ``mean / sqrt(var + eps) * sqrt(periods)``.

    The variance is the population one (divides by n), as in Deep Momentum Networks (Lim, Zohren
    & Roberts 2019); ``eps`` keeps the gradient finite for a flat strategy. With ``halflife`` the
    mean and variance are exponentially time-weighted so recent days count more.
    """
    w = _time_weights(returns, halflife)
    mean = (returns * w).sum(-1)
    var = (((returns - mean.unsqueeze(-1)) ** 2) * w).sum(-1)
    return mean / torch.sqrt(var + eps) * math.sqrt(periods_per_year)


def sortino(
    returns: Tensor, *, eps: float = 1e-12, halflife: float | None = None, periods_per_year: int = PERIODS
) -> Tensor:
    """Annualised Sortino ratio: mean over root-mean-square of the negative returns."""
    w = _time_weights(returns, halflife)
    mean = (returns * w).sum(-1)
    downside = ((returns.clamp_max(0.0) ** 2) * w).sum(-1)
    return mean / torch.sqrt(downside + eps) * math.sqrt(periods_per_year)


def mean_variance(
    returns: Tensor, *, risk_aversion: float = 2.0, halflife: float | None = None, periods_per_year: int = PERIODS
) -> Tensor:
    """Annualised mean-variance utility ``mu - risk_aversion / 2 * sigma^2``."""
    w = _time_weights(returns, halflife)
    mean = (returns * w).sum(-1)
    var = (((returns - mean.unsqueeze(-1)) ** 2) * w).sum(-1)
    return periods_per_year * mean - 0.5 * risk_aversion * periods_per_year * var


def differential_sharpe(
    returns: Tensor, *, eta: float = 0.01, eps: float = 1e-12, periods_per_year: int = PERIODS
) -> Tensor:
    """Mean Moody-Saffell differential Sharpe ratio (Moody & Saffell 2001), annualised.

    With ``A``, ``B`` exponential moving estimates of the first and second moments (rate
    ``eta``), ``D[t] = (B[t-1] dA[t] - A[t-1] dB[t] / 2) / (B[t-1] - A[t-1]^2)^(3/2)`` is the
    first-order change of the moving Sharpe ratio ``S = A / sqrt(B - A^2)`` caused by return
    ``R[t]``: ``S[t] ~ S[t-1] + eta D[t]``. Returned is ``eta * mean(D) * sqrt(periods)`` after a
    warm-up of ``1 / eta`` days, the average daily gain of the moving (recency-weighted) Sharpe
    ratio; it rewards returns that improve the Sharpe ratio as they arrive, which is the
    reward of Moody & Saffell's recurrent reinforcement learning. The moving moments come from
    the same chunked scan as the EMAs, so there is no loop over days.
    """
    if not 0 < eta < 1:
        raise ConfigError(f"eta={eta!r} must be in (0, 1)")
    b = returns.shape[0]
    q = torch.full((b,), 1.0 - eta, dtype=returns.dtype, device=returns.device)
    moments = eta * linear_recurrence(torch.stack([returns, returns * returns], dim=-1), q)  # (B, T, 2)
    prev = torch.nn.functional.pad(moments[:, :-1], (0, 0, 1, 0))
    a_prev, b_prev = prev[..., 0], prev[..., 1]
    d_a = returns - a_prev
    d_b = returns * returns - b_prev
    denom = (b_prev - a_prev**2).clamp_min(0.0) + eps
    d = (b_prev * d_a - 0.5 * a_prev * d_b) / denom**1.5
    # skip the warm-up where the moments are not yet estimated
    start = min(int(1.0 / eta), returns.shape[-1] - 1)
    return d[:, start:].mean(-1) * math.sqrt(periods_per_year) * eta


OBJECTIVES: dict[str, Callable[..., Tensor]] = {
    "sharpe": sharpe,
    "sortino": sortino,
    "differential_sharpe": differential_sharpe,
    "mean_variance": mean_variance,
}


def get_objective(name: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """An objective by name, or a user's callable (batch, days) -> (batch,) passed through."""
    if callable(name):
        return name
    if name not in OBJECTIVES:
        raise ConfigError(f"objective={name!r} is not one of {sorted(OBJECTIVES)}; or pass a callable")
    return OBJECTIVES[name]


def turnover_penalty(positions: Tensor) -> Tensor:
    """Mean absolute daily change of position per asset, shape (batch,)."""
    return torch.diff(positions, dim=1).abs().mean(dim=(1, 2))


def l2_penalty(raw: Sequence[Tensor], raw_init: Sequence[Tensor]) -> Tensor:
    """Sum of squared moves of the unconstrained parameters from their start, shape (batch,)."""
    total = torch.zeros(raw[0].shape[0], dtype=raw[0].dtype, device=raw[0].device)
    for r, r0 in zip(raw, raw_init):
        total = total + ((r - r0) ** 2).reshape(r.shape[0], -1).sum(-1)
    return total
