"""Overfitting statistics: plain functions on per-period returns or Sharpe ratios.

- :func:`sharpe_ratio`: sample Sharpe ratio, per period unless annualised on request.
- :func:`probabilistic_sharpe_ratio`, :func:`psr_from_returns`: probability that the true
  Sharpe ratio beats a benchmark, given sample length, skewness and kurtosis.
- :func:`expected_max_sharpe`, :func:`deflated_sharpe_ratio`, :func:`dsr_from_returns`: the PSR
  against the best Sharpe ratio that trying many configurations would produce by luck.
- :func:`min_track_record_length`, :func:`min_track_record_years`: how long a track record
  must be before a Sharpe ratio is significantly above a benchmark.
- :func:`probability_of_backtest_overfitting`: PBO of picking the best of N configurations, by
  combinatorially symmetric cross-validation, returning a :class:`PBOResult`.

Conventions: Sharpe ratios, their variance and the benchmark are **per period** (divide an
annual ratio by ``sqrt(periods_per_year)``); kurtosis is **Pearson** kurtosis (normal = 3).
"""

from __future__ import annotations

from stratopt.stats._dsr import deflated_sharpe_ratio, dsr_from_returns, expected_max_sharpe
from stratopt.stats._pbo import PBOResult, probability_of_backtest_overfitting
from stratopt.stats._psr import (
    min_track_record_length,
    min_track_record_years,
    probabilistic_sharpe_ratio,
    psr_from_returns,
)
from stratopt.stats._sharpe import sharpe_ratio

__all__ = [
    "PBOResult",
    "deflated_sharpe_ratio",
    "dsr_from_returns",
    "expected_max_sharpe",
    "min_track_record_length",
    "min_track_record_years",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "psr_from_returns",
    "sharpe_ratio",
]
