"""Deflated Sharpe Ratio: the PSR against the best Sharpe ratio luck alone would produce.

Bailey, D. H. and Lopez de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5).
After ``N`` trials whose Sharpe ratios have variance ``V`` (and no skill), the expected maximum
Sharpe ratio is approximately

    SR0 = sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)))

with ``gamma`` the Euler-Mascheroni constant. The DSR is the PSR with ``SR0`` as benchmark.
All Sharpe ratios and their variance are per period, like the returns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from stratopt.errors import ConfigError
from stratopt.stats._psr import (
    check_finite,
    check_n_obs,
    check_shape_moments,
    psr_core,
)
from stratopt.stats._sharpe import ReturnsLike, _wrap, as_returns_array, sample_moments

__all__ = ["deflated_sharpe_ratio", "dsr_from_returns", "expected_max_sharpe"]


def expected_max_sharpe(n_trials: float, sr_variance: float, *, sr_mean: float = 0.0) -> float:
    """Expected maximum Sharpe ratio among ``n_trials`` unskilled trials (``SR0``).

    Parameters
    ----------
    n_trials : float
        Number of (independent) trials ``N``, at least 1. An effective number of trials, e.g.
        from clustering correlated configurations, may be fractional.
    sr_variance : float
        Variance ``V`` of the trials' Sharpe ratios, per period (an annual variance divided by
        ``periods_per_year``).
    sr_mean : float, default 0.0
        Mean of the trials' Sharpe ratios; 0 under the null of no skill.

    Returns
    -------
    float
        ``sr_mean + sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)))``;
        ``sr_mean`` itself when ``N == 1`` (nothing was selected).

    Notes
    -----
    The approximation of the expected maximum of ``N`` normal draws from extreme value theory
    (Bailey and Lopez de Prado 2014, eq. for ``SR0``); it is within about 1 % of the exact value
    for ``N >= 100`` and slightly high for small ``N``.

    Examples
    --------
    >>> round(expected_max_sharpe(100, 0.5 / 250), 4)
    0.1132
    """
    n_trials = check_finite("n_trials", n_trials)
    if n_trials < 1:
        raise ConfigError(f"n_trials={n_trials!r} must be at least 1 (the number of configurations tried).")
    sr_variance = check_finite("sr_variance", sr_variance)
    if sr_variance < 0:
        raise ConfigError(
            f"sr_variance={sr_variance!r} is negative; pass the variance (not a covariance or "
            "a difference) of the trials' per-period Sharpe ratios."
        )
    sr_mean = check_finite("sr_mean", sr_mean)
    if n_trials == 1:
        return sr_mean
    gamma = np.euler_gamma
    z = (1.0 - gamma) * norm.ppf(1.0 - 1.0 / n_trials) + gamma * norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return sr_mean + math.sqrt(sr_variance) * float(z)


def deflated_sharpe_ratio(
    sr: float,
    *,
    n_trials: float,
    sr_variance: float,
    n_obs: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """Deflated Sharpe Ratio: the PSR of ``sr`` against :func:`expected_max_sharpe`.

    Parameters
    ----------
    sr : float
        Sharpe ratio of the selected (best) trial, per period.
    n_trials : float
        Number of trials (configurations, starts, folds) tried before selecting ``sr``.
    sr_variance : float
        Variance of the trials' per-period Sharpe ratios.
    n_obs : float
        Number of return observations behind ``sr``.
    skew : float, default 0.0
        Skewness of the selected trial's returns.
    kurtosis : float, default 3.0
        **Pearson** kurtosis of the selected trial's returns (normal = 3).

    Returns
    -------
    float
        Probability that the true Sharpe ratio is positive after accounting for selection among
        ``n_trials`` and for non-normal returns. Below 0.95 means the result is not significant
        at the 5 % level.

    Examples
    --------
    The numerical example of Bailey and Lopez de Prado (2014): annual SR 2.5 on 5 years of
    daily data after 100 trials with annual Sharpe variance 0.5, skew -3, kurtosis 10.

    >>> dsr = deflated_sharpe_ratio(
    ...     2.5 / 250**0.5, n_trials=100, sr_variance=0.5 / 250, n_obs=1250, skew=-3, kurtosis=10
    ... )
    >>> round(dsr, 4)
    0.9004
    """
    sr = check_finite("sr", sr)
    n_obs = check_n_obs(n_obs)
    skew, kurtosis = check_shape_moments(skew, kurtosis)
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    return float(psr_core(sr, sr0, n_obs, skew, kurtosis))


def dsr_from_returns(
    returns: ReturnsLike,
    *,
    trial_sharpes: np.ndarray | pd.Series | list[float] | None = None,
    n_trials: float | None = None,
    sr_variance: float | None = None,
) -> float | np.ndarray | pd.Series:
    """DSR of a return series, with its Sharpe ratio, skew and kurtosis estimated from it.

    Give either ``trial_sharpes`` (the per-period Sharpe ratios of every trial, the selected one
    included) or both ``n_trials`` and ``sr_variance``.

    Parameters
    ----------
    returns : array-like or pandas Series/DataFrame
        Per-period returns of the selected strategy; 2-D input gives one DSR per column.
    trial_sharpes : array-like, optional
        Per-period Sharpe ratios of all trials; ``sr_variance`` becomes their sample variance
        (``ddof=1``) and ``n_trials`` their count unless given.
    n_trials : float, optional
        Number of trials; overrides ``len(trial_sharpes)`` when more were tried than recorded.
    sr_variance : float, optional
        Variance of the trials' per-period Sharpe ratios (only without ``trial_sharpes``).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        A float for 1-D input, one value per column otherwise (a Series for a DataFrame).
    """
    if trial_sharpes is not None:
        if sr_variance is not None:
            raise ConfigError(
                "Both trial_sharpes and sr_variance were given; pass trial_sharpes alone (its "
                "variance is used) or n_trials with sr_variance."
            )
        trials = np.asarray(trial_sharpes, dtype=np.float64).ravel()
        if trials.size < 2 or not np.all(np.isfinite(trials)):
            raise ConfigError(
                f"trial_sharpes has {trials.size} value(s), "
                f"{int(np.sum(~np.isfinite(trials)))} not finite; pass at least 2 finite "
                "per-period Sharpe ratios, one per trial."
            )
        if n_trials is not None and n_trials < trials.size:
            raise ConfigError(
                f"n_trials={n_trials!r} is smaller than len(trial_sharpes)={trials.size}; "
                "n_trials counts every trial, so leave it out or pass at least that many."
            )
        sr_variance = float(np.var(trials, ddof=1))
        n_trials = trials.size if n_trials is None else n_trials
    elif n_trials is None or sr_variance is None:
        raise ConfigError(
            f"n_trials={n_trials!r}, sr_variance={sr_variance!r}: pass trial_sharpes, or both n_trials and sr_variance."
        )
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    arr = as_returns_array(returns)
    m = sample_moments(arr)
    return _wrap(psr_core(m.sharpe, sr0, m.n_obs, m.skew, m.kurtosis), returns)
