"""Performance metrics of a return series, reported for hard backtests.

Conventions (checked against empyrical-reloaded in the tests):

* ``sharpe``: ``mean / std * sqrt(252)`` with the sample std (ddof=1), risk-free rate 0, as in
  empyrical. The training loss uses the population std (DESIGN.md); the two differ by the
  factor ``sqrt((n-1)/n)``, under 0.01% for a year of days.
* ``annual_return``: compound (geometric) growth per 252 days, as empyrical.
* ``sortino``: annualised mean over the downside deviation ``sqrt(mean(min(r, 0)^2))``,
  as empyrical with required return 0.
* ``max_drawdown``: the worst fall of the compounded equity curve from its running peak
  (a negative number), as empyrical.
* ``turnover`` (backtests): mean over days of ``sum_i |h[t,i] - h[t-1,i]|`` times 252, the
  one-way annual turnover of the holdings ``h``; ``exposure`` is the mean gross holding and
  ``hit_rate`` the share of days with a position whose net return was positive.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from stratopt.errors import ConfigError
from stratopt.stats._sharpe import _per_period_sharpe

__all__ = [
    "PERIODS_PER_YEAR",
    "annual_return",
    "annual_volatility",
    "calmar",
    "max_drawdown",
    "performance",
    "sample_sharpe",
    "sharpe_ratio",
    "sortino_ratio",
]

PERIODS_PER_YEAR = 252


def _arr(returns: np.ndarray) -> np.ndarray:
    r = np.asarray(returns, dtype=float)
    if r.ndim > 1 and sum(n > 1 for n in r.shape) > 1:
        raise ConfigError(
            f"metrics take one return series, got an array of shape {r.shape}; pass one row at a time "
            "(e.g. [sharpe_ratio(row) for row in returns]) or use stratopt.stats.sharpe_ratio per column"
        )
    return r.reshape(-1)


def sharpe_ratio(returns: np.ndarray, periods: int = PERIODS_PER_YEAR) -> float:
    """Annualised Sharpe ratio ``mean / std * sqrt(periods)`` (sample std, ddof=1).

    The package's one convention (shared with :func:`stratopt.stats.sharpe_ratio`): a series
    without spread has ratio 0 if its mean is 0 (a strategy that never trades) and +/-inf
    otherwise; fewer than 2 returns, or any NaN, give NaN (never a number made from NaN).

    >>> sharpe_ratio(np.zeros(5)), sharpe_ratio(np.array([0.01, np.nan, 0.02]))
    (0.0, nan)
    """
    r = _arr(returns)
    if r.size < 2 or not np.isfinite(r).all():
        return math.nan
    return float(_per_period_sharpe(r) * math.sqrt(periods))


def sortino_ratio(returns: np.ndarray, periods: int = PERIODS_PER_YEAR) -> float:
    r = _arr(returns)
    if r.size == 0:
        return math.nan
    dd = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return float(r.mean() * math.sqrt(periods) / dd) if dd > 0 else math.inf if r.mean() > 0 else 0.0


def annual_return(returns: np.ndarray, periods: int = PERIODS_PER_YEAR) -> float:
    r = _arr(returns)
    if r.size == 0:
        return math.nan
    growth = float(np.prod(1.0 + r))
    return growth ** (periods / r.size) - 1.0 if growth > 0 else -1.0


def annual_volatility(returns: np.ndarray, periods: int = PERIODS_PER_YEAR) -> float:
    r = _arr(returns)
    return float(r.std(ddof=1) * math.sqrt(periods)) if r.size > 1 else math.nan


def max_drawdown(returns: np.ndarray) -> float:
    r = _arr(returns)
    if r.size == 0:
        return math.nan
    equity = np.concatenate([[1.0], np.cumprod(1.0 + r)])
    return float(np.min(equity / np.maximum.accumulate(equity) - 1.0))


def calmar(returns: np.ndarray, periods: int = PERIODS_PER_YEAR) -> float:
    mdd = max_drawdown(returns)
    return annual_return(returns, periods) / abs(mdd) if mdd < 0 else math.nan


def performance(returns: np.ndarray, *, periods: int = PERIODS_PER_YEAR) -> dict[str, float]:
    """All headline metrics of a net return series, keyed by snake_case names."""
    r = _arr(returns)
    return {
        "total_return": float(np.prod(1.0 + r) - 1.0) if r.size else math.nan,
        "annual_return": annual_return(r, periods),
        "annual_volatility": annual_volatility(r, periods),
        "sharpe": sharpe_ratio(r, periods),
        "sortino": sortino_ratio(r, periods),
        "max_drawdown": max_drawdown(r),
        "calmar": calmar(r, periods),
        "n_days": float(r.size),
    }


def sample_sharpe(returns: Tensor, periods_per_year: float = PERIODS_PER_YEAR) -> Tensor:
    """``mean / std * sqrt(periods_per_year)`` of each row of a tensor (..., days) -> (...):
    :func:`sharpe_ratio` for a batch of series (the landscape's grid, the batched evaluator).

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
