"""Probabilistic Sharpe Ratio and Minimum Track Record Length.

Bailey, D. H. and Lopez de Prado, M. (2012), "The Sharpe Ratio Efficient Frontier", Journal of
Risk 15(2). Both statistics rest on the asymptotic standard error of an estimated Sharpe ratio
under non-normal i.i.d. returns,

    sigma(SR) = sqrt((1 - g3 * SR + (g4 - 1) / 4 * SR**2) / (T - 1)),

with ``g3`` the skewness and ``g4`` the Pearson kurtosis (3 for a normal distribution, *not*
the excess kurtosis that pandas and ``scipy.stats.kurtosis`` report by default). All Sharpe
ratios here are per period, in the same frequency as the ``T`` observations: divide an
annual ratio by ``sqrt(periods_per_year)`` before passing it in.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from stratopt.errors import ConfigError
from stratopt.stats._sharpe import (
    ReturnsLike,
    _wrap,
    as_returns_array,
    check_periods_per_year,
    sample_moments,
)

__all__ = [
    "min_track_record_length",
    "min_track_record_years",
    "probabilistic_sharpe_ratio",
    "psr_from_returns",
]


def check_finite(name: str, value: float) -> float:
    """Return ``value`` as a float, or raise :class:`ConfigError` if it is not finite."""
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}={value!r} is not a number; pass a float.") from exc
    if not math.isfinite(out):
        raise ConfigError(f"{name}={value!r} must be finite; pass a real number.")
    return out


def check_shape_moments(skew: float, kurtosis: float) -> tuple[float, float]:
    """Validate skewness and Pearson kurtosis; catch excess kurtosis passed by mistake."""
    skew = check_finite("skew", skew)
    kurtosis = check_finite("kurtosis", kurtosis)
    # Every distribution has kurtosis >= 1 + skew**2; a smaller value is almost always an
    # excess kurtosis (normal = 0) passed where the Pearson one (normal = 3) is expected.
    if kurtosis < 1.0 + skew**2 - 1e-9:
        raise ConfigError(
            f"kurtosis={kurtosis!r} is below 1 + skew**2 = {1.0 + skew**2:.4g}, impossible for "
            "a Pearson kurtosis; if you passed excess kurtosis (normal = 0), add 3 to it."
        )
    return skew, kurtosis


def sharpe_variance_term(sr: np.ndarray | float, skew: np.ndarray | float, kurtosis: np.ndarray | float) -> np.ndarray:
    """``1 - g3 * SR + (g4 - 1) / 4 * SR**2``: T - 1 times the variance of the SR estimate."""
    return 1.0 - np.multiply(skew, sr) + (np.asarray(kurtosis) - 1.0) / 4.0 * np.square(sr)


def psr_core(
    sr: np.ndarray | float,
    sr_benchmark: float,
    n_obs: float,
    skew: np.ndarray | float,
    kurtosis: np.ndarray | float,
) -> np.ndarray:
    """Vectorised PSR on validated inputs; an infinite ``sr`` maps to 0 or 1."""
    sr = np.asarray(sr, dtype=np.float64)
    finite = np.isfinite(sr)
    sr_finite = np.where(finite, sr, 0.0)
    term = sharpe_variance_term(sr_finite, skew, kurtosis)
    if np.any(term <= 0):
        raise ConfigError(
            "1 - skew * sr + (kurtosis - 1) / 4 * sr**2 is not positive for the given sr, skew "
            "and kurtosis, so the Sharpe ratio's standard error is undefined; check that "
            "kurtosis is the Pearson kurtosis (normal = 3) of the same returns as skew."
        )
    z = (sr_finite - sr_benchmark) * np.sqrt(n_obs - 1.0) / np.sqrt(term)
    return np.where(finite, norm.cdf(z), (sr > 0).astype(np.float64))


def check_n_obs(n_obs: float) -> float:
    """Validate a number of observations (more than 1, so that ``T - 1 > 0``)."""
    n_obs = check_finite("n_obs", n_obs)
    if n_obs <= 1:
        raise ConfigError(
            f"n_obs={n_obs!r} must be greater than 1 (the number of returns the Sharpe ratio was estimated from)."
        )
    return n_obs


def probabilistic_sharpe_ratio(
    sr: float,
    *,
    sr_benchmark: float = 0.0,
    n_obs: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """Probability that the true Sharpe ratio exceeds ``sr_benchmark`` (PSR).

    Parameters
    ----------
    sr : float
        Estimated Sharpe ratio, per period (not annualised).
    sr_benchmark : float, default 0.0
        Benchmark Sharpe ratio ``SR*``, per period.
    n_obs : float
        Number of return observations ``T`` the estimate is based on (must exceed 1).
    skew : float, default 0.0
        Skewness ``g3`` of the returns.
    kurtosis : float, default 3.0
        **Pearson** kurtosis ``g4`` of the returns: 3 for normal returns. Pass
        ``scipy.stats.kurtosis(r, fisher=False)``, or ``pandas.Series.kurt() + 3``.

    Returns
    -------
    float
        ``PSR = Phi((SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR**2))``.

    Raises
    ------
    ConfigError
        On non-finite inputs, ``n_obs <= 1`` or a kurtosis below ``1 + skew**2``.

    Notes
    -----
    Bailey and Lopez de Prado (2012). Negative skew and fat tails widen the standard error of
    the estimate, so they lower the PSR of a positive Sharpe ratio.

    Examples
    --------
    A daily Sharpe of 0.1 (about 1.6 a year) over one year of normal returns:

    >>> round(probabilistic_sharpe_ratio(0.1, n_obs=252), 4)
    0.943
    """
    sr = check_finite("sr", sr)
    sr_benchmark = check_finite("sr_benchmark", sr_benchmark)
    n_obs = check_n_obs(n_obs)
    skew, kurtosis = check_shape_moments(skew, kurtosis)
    return float(psr_core(sr, sr_benchmark, n_obs, skew, kurtosis))


def psr_from_returns(returns: ReturnsLike, *, sr_benchmark: float = 0.0) -> float | np.ndarray | pd.Series:
    """PSR of a return series, with its Sharpe ratio, skew and kurtosis estimated from it.

    Parameters
    ----------
    returns : array-like or pandas Series/DataFrame
        Per-period (excess) returns, time in rows; 2-D input gives one PSR per column.
    sr_benchmark : float, default 0.0
        Benchmark Sharpe ratio, per period (annual / ``sqrt(periods_per_year)``).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        A float for 1-D input, one value per column otherwise (a Series for a DataFrame).

    Notes
    -----
    Uses the sample Sharpe ratio (``ddof=1``) and the plain moment estimators of skewness and
    Pearson kurtosis. A zero-spread series has skew 0 and kurtosis 3 by convention.
    """
    sr_benchmark = check_finite("sr_benchmark", sr_benchmark)
    arr = as_returns_array(returns)
    m = sample_moments(arr)
    return _wrap(psr_core(m.sharpe, sr_benchmark, m.n_obs, m.skew, m.kurtosis), returns)


def min_track_record_length(
    sr: float,
    *,
    sr_benchmark: float = 0.0,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    alpha: float = 0.05,
) -> float:
    """Minimum number of observations for ``sr`` to beat ``sr_benchmark`` at confidence 1 - alpha.

    Parameters
    ----------
    sr : float
        Observed Sharpe ratio, per period.
    sr_benchmark : float, default 0.0
        Benchmark Sharpe ratio, per period.
    skew : float, default 0.0
        Skewness of the returns.
    kurtosis : float, default 3.0
        **Pearson** kurtosis of the returns (normal = 3).
    alpha : float, default 0.05
        Significance level; the confidence is ``1 - alpha``.

    Returns
    -------
    float
        ``MinTRL = 1 + (1 - g3 * SR + (g4 - 1) / 4 * SR**2) * (z_{1-alpha} / (SR - SR*))**2``
        observations (fractional; round up for a count). ``inf`` when ``sr <= sr_benchmark``:
        no track record, however long, supports the claim.

    See Also
    --------
    min_track_record_years : the same in years, from annualised Sharpe ratios.

    Examples
    --------
    Annual Sharpe 2 against a benchmark of 1, daily normal returns (Bailey and Lopez de Prado
    2012 report 2.73 years):

    >>> n = min_track_record_length(2 / 252**0.5, sr_benchmark=1 / 252**0.5)
    >>> round(n / 252, 2)
    2.73
    """
    sr = check_finite("sr", sr)
    sr_benchmark = check_finite("sr_benchmark", sr_benchmark)
    skew, kurtosis = check_shape_moments(skew, kurtosis)
    alpha = check_finite("alpha", alpha)
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha={alpha!r} must lie strictly between 0 and 1 (e.g. 0.05).")
    if sr <= sr_benchmark:
        return math.inf
    term = float(sharpe_variance_term(sr, skew, kurtosis))
    if term <= 0:
        raise ConfigError(
            f"1 - skew * sr + (kurtosis - 1) / 4 * sr**2 = {term:.4g} is not positive for "
            f"sr={sr}, skew={skew}, kurtosis={kurtosis}; check that kurtosis is the Pearson "
            "kurtosis (normal = 3) of the same returns as skew."
        )
    return float(1.0 + term * (norm.ppf(1.0 - alpha) / (sr - sr_benchmark)) ** 2)


def min_track_record_years(
    annual_sr: float,
    *,
    annual_sr_benchmark: float = 0.0,
    periods_per_year: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    alpha: float = 0.05,
) -> float:
    """Minimum track record length in years, from annualised Sharpe ratios.

    Converts both ratios to per-period units (``annual / sqrt(periods_per_year)``), calls
    :func:`min_track_record_length` and divides the observation count by
    ``periods_per_year``. ``skew`` and ``kurtosis`` (Pearson, normal = 3) are those of the
    per-period returns.

    Parameters
    ----------
    annual_sr, annual_sr_benchmark : float
        Observed and benchmark Sharpe ratios, annualised.
    periods_per_year : float
        Observations per year: 252 (daily), 52 (weekly), 12 (monthly).
    skew, kurtosis, alpha : float
        As in :func:`min_track_record_length`.

    Returns
    -------
    float
        Years of data needed; ``inf`` when ``annual_sr <= annual_sr_benchmark``.

    Examples
    --------
    Monthly returns with skew -0.72 and kurtosis 5.78 (Bailey and Lopez de Prado 2012: 4.99):

    >>> years = min_track_record_years(
    ...     2.0, annual_sr_benchmark=1.0, periods_per_year=12, skew=-0.72, kurtosis=5.78
    ... )
    >>> round(years, 2)
    4.99
    """
    if periods_per_year is None:
        raise ConfigError("periods_per_year=None; pass 252, 52, 12 or your data's frequency.")
    check_periods_per_year(periods_per_year)
    scale = math.sqrt(periods_per_year)
    n = min_track_record_length(
        check_finite("annual_sr", annual_sr) / scale,
        sr_benchmark=check_finite("annual_sr_benchmark", annual_sr_benchmark) / scale,
        skew=skew,
        kurtosis=kurtosis,
        alpha=alpha,
    )
    return n / periods_per_year
