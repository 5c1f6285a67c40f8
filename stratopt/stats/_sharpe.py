"""Sample Sharpe ratio and the return moments the Sharpe-ratio statistics need.

These helpers turn user input (a numpy array, a pandas Series or DataFrame of per-period
returns) into validated float64 arrays, and compute the per-period Sharpe ratio, skewness and
Pearson kurtosis column by column. Everything downstream (PSR, DSR, MinTRL) works in per-period
units, so annualisation happens only here and only on request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from stratopt.errors import ConfigError, DataError

__all__ = ["sharpe_ratio"]

ReturnsLike: TypeAlias = np.ndarray | pd.Series | pd.DataFrame | list[float]


def as_returns_array(returns: Any, *, name: str = "returns", min_obs: int = 2) -> np.ndarray:
    """Return ``returns`` as a finite float64 array of shape ``(T,)`` or ``(T, N)``.

    Raises
    ------
    DataError
        If the input is not 1-D or 2-D, has fewer than ``min_obs`` rows, or holds NaN/inf.
    """
    if isinstance(returns, (pd.Series, pd.DataFrame)):
        arr: np.ndarray = returns.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            arr = np.asarray(returns, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"{name} could not be read as numbers ({exc}); pass a numpy array or a pandas "
                "Series/DataFrame of per-period returns."
            ) from exc
    if arr.ndim not in (1, 2):
        raise DataError(
            f"{name} has {arr.ndim} dimensions (shape {arr.shape}); pass a 1-D series of "
            "returns or a 2-D matrix with time in rows and strategies in columns."
        )
    if arr.shape[0] < min_obs:
        raise DataError(
            f"{name} has {arr.shape[0]} observations; at least {min_obs} are needed. Pass a longer return series."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0]
        raise DataError(
            f"{name} holds {int(bad.sum())} NaN or infinite value(s), the first at position "
            f"{tuple(int(i) for i in first)}; drop those periods or fill them (e.g. with 0 for "
            "days without a position) before computing statistics."
        )
    return arr


def check_periods_per_year(periods_per_year: float | None) -> None:
    """Raise :class:`ConfigError` unless ``periods_per_year`` is None or a positive number."""
    if periods_per_year is not None and not (np.isfinite(periods_per_year) and periods_per_year > 0):
        raise ConfigError(
            f"periods_per_year={periods_per_year!r} must be a positive number "
            "(252 for daily, 52 for weekly, 12 for monthly returns) or None."
        )


def _wrap(values: np.ndarray, like: Any) -> Any:
    """Return a scalar for 1-D input, a Series for a DataFrame, an array otherwise."""
    if values.ndim == 0:
        return float(values)
    if isinstance(like, pd.DataFrame):
        return pd.Series(values, index=like.columns)
    return values


def _per_period_sharpe(arr: np.ndarray) -> np.ndarray:
    """Mean over sample standard deviation (ddof=1) along axis 0.

    A column with zero spread gets 0 if its mean is 0, else +/- inf: a riskless gain is
    infinitely good, and a flat (never-invested) strategy is neither good nor bad.
    """
    mean = arr.mean(axis=0)
    std = arr.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = mean / std
    return np.where(std > 0, sr, np.where(mean == 0, 0.0, np.copysign(np.inf, mean)))


def sharpe_ratio(returns: ReturnsLike, *, periods_per_year: float | None = None) -> float | np.ndarray | pd.Series:
    """Sample Sharpe ratio of per-period returns (no risk-free rate subtracted).

    Parameters
    ----------
    returns : array-like or pandas Series/DataFrame
        Per-period (excess) returns, time in rows; 2-D input gives one ratio per column.
    periods_per_year : float, optional
        If given, the ratio is annualised by ``sqrt(periods_per_year)``; by default it stays in
        per-period units, which is what :func:`probabilistic_sharpe_ratio` and friends expect.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        A float for 1-D input, one value per column otherwise (a Series for a DataFrame).

    Notes
    -----
    ``mean / std`` with the sample standard deviation (``ddof=1``). A zero-spread series has
    ratio 0 if its mean is 0 and +/- inf otherwise.

    Examples
    --------
    >>> round(sharpe_ratio([0.01, -0.005, 0.02, 0.0, -0.01]), 4)
    0.2491
    """
    check_periods_per_year(periods_per_year)
    arr = as_returns_array(returns)
    sr = _per_period_sharpe(arr)
    if periods_per_year is not None:
        sr = sr * np.sqrt(periods_per_year)
    return _wrap(sr, returns)


@dataclass(frozen=True)
class SampleMoments:
    """Per-period Sharpe ratio, skewness, Pearson kurtosis and length of each column."""

    sharpe: np.ndarray
    skew: np.ndarray
    kurtosis: np.ndarray
    n_obs: int


def sample_moments(arr: np.ndarray) -> SampleMoments:
    """Moments of a validated ``(T,)`` or ``(T, N)`` array, along axis 0.

    Skewness and kurtosis are the plain moment estimators ``m3 / m2**1.5`` and ``m4 / m2**2``
    (what ``scipy.stats.skew`` and ``scipy.stats.kurtosis(fisher=False)`` give by default).
    A zero-spread column gets skew 0 and kurtosis 3 (the normal values), which keeps the PSR
    variance term finite.
    """
    dev = arr - arr.mean(axis=0)
    m2 = np.mean(dev**2, axis=0)
    flat = m2 == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(flat, 0.0, np.mean(dev**3, axis=0) / m2**1.5)
        kurt = np.where(flat, 3.0, np.mean(dev**4, axis=0) / m2**2)
    return SampleMoments(sharpe=_per_period_sharpe(arr), skew=skew, kurtosis=kurt, n_obs=arr.shape[0])
