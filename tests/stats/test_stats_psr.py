"""PSR and MinTRL: published values of Bailey and Lopez de Prado (2012) and calibration."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from stratopt.errors import ConfigError
from stratopt.stats import (
    min_track_record_length,
    min_track_record_years,
    probabilistic_sharpe_ratio,
    psr_from_returns,
)
from stratopt.stats._psr import psr_core


# Annual SR 2 against 1 at 95 %, normal returns; the paper prints two decimals.
@pytest.mark.parametrize(
    ("periods", "skew", "kurtosis", "years"),
    [(252, 0.0, 3.0, 2.73), (52, 0.0, 3.0, 2.83), (12, 0.0, 3.0, 3.24), (12, -0.72, 5.78, 4.99)],
)
def test_min_track_record_published(periods: int, skew: float, kurtosis: float, years: float) -> None:
    got = min_track_record_years(2.0, annual_sr_benchmark=1.0, periods_per_year=periods, skew=skew, kurtosis=kurtosis)
    assert round(got, 2) == years
    per_period = min_track_record_length(
        2.0 / math.sqrt(periods),
        sr_benchmark=1.0 / math.sqrt(periods),
        skew=skew,
        kurtosis=kurtosis,
    )
    assert per_period / periods == pytest.approx(got, rel=1e-12)


def test_min_track_record_is_where_psr_reaches_confidence() -> None:
    # By construction PSR(MinTRL) = 1 - alpha: the two functions must agree.
    sr, bench, skew, kurt = 0.12, 0.03, -0.5, 6.0
    n = min_track_record_length(sr, sr_benchmark=bench, skew=skew, kurtosis=kurt, alpha=0.01)
    psr = probabilistic_sharpe_ratio(sr, sr_benchmark=bench, n_obs=n, skew=skew, kurtosis=kurt)
    assert psr == pytest.approx(0.99, abs=1e-12)


def test_min_track_record_infinite_without_edge() -> None:
    assert min_track_record_length(0.05, sr_benchmark=0.05) == math.inf
    assert min_track_record_years(0.5, annual_sr_benchmark=1.0, periods_per_year=252) == math.inf


def test_psr_at_benchmark_is_half_and_grows_with_length() -> None:
    assert probabilistic_sharpe_ratio(0.1, sr_benchmark=0.1, n_obs=100) == 0.5
    short = probabilistic_sharpe_ratio(0.05, n_obs=100)
    long = probabilistic_sharpe_ratio(0.05, n_obs=1000)
    assert 0.5 < short < long < 1.0


def test_negative_skew_and_fat_tails_lower_psr() -> None:
    normal = probabilistic_sharpe_ratio(0.1, n_obs=500)
    assert probabilistic_sharpe_ratio(0.1, n_obs=500, skew=-1.0, kurtosis=6.0) < normal


def test_psr_from_returns_uses_sample_moments() -> None:
    r = np.random.default_rng(3).standard_t(5, size=400) * 0.01 + 0.001
    expected = probabilistic_sharpe_ratio(
        r.mean() / r.std(ddof=1),
        sr_benchmark=0.02,
        n_obs=r.size,
        skew=sps.skew(r),
        kurtosis=sps.kurtosis(r, fisher=False),
    )
    assert psr_from_returns(r, sr_benchmark=0.02) == pytest.approx(expected, rel=1e-12)
    frame = pd.DataFrame({"x": r, "y": -r})
    out = psr_from_returns(frame, sr_benchmark=0.02)
    assert isinstance(out, pd.Series) and out["x"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("skewed", [False, True])
def test_psr_is_calibrated_by_monte_carlo(skewed: bool) -> None:
    # With the benchmark equal to the true Sharpe ratio, PSR is ~uniform: it exceeds 0.95 in
    # about 5 % of samples. Skewed returns (skew -2, kurtosis 9) need the non-normal correction:
    # the normal-returns formula is visibly overconfident there.
    rng = np.random.default_rng(42)
    n_obs, n_paths, true_sr = 1000, 4000, 0.2
    if skewed:
        r = true_sr - (rng.exponential(size=(n_obs, n_paths)) - 1.0)
    else:
        r = true_sr + rng.normal(size=(n_obs, n_paths))
    psr = psr_from_returns(r, sr_benchmark=true_sr)
    assert abs(np.mean(psr > 0.95) - 0.05) < 0.015
    assert abs(np.mean(psr < 0.05) - 0.05) < 0.015
    if skewed:
        sr_hat = r.mean(axis=0) / r.std(axis=0, ddof=1)
        assert np.mean(psr_core(sr_hat, true_sr, n_obs, 0.0, 3.0) > 0.95) > 0.08


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sr": 0.1, "n_obs": 1}, "n_obs=1"),
        ({"sr": 0.1, "n_obs": 100, "kurtosis": 0.0}, "excess kurtosis"),
        ({"sr": 0.1, "n_obs": 100, "skew": -2.0, "kurtosis": 4.0}, "1 \\+ skew"),
        ({"sr": float("nan"), "n_obs": 100}, "sr=nan"),
        ({"sr": 0.1, "n_obs": 100, "sr_benchmark": "x"}, "not a number"),
    ],
)
def test_psr_validation(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        probabilistic_sharpe_ratio(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1])
def test_min_track_record_validation(alpha: float) -> None:
    with pytest.raises(ConfigError, match="alpha"):
        min_track_record_length(0.1, alpha=alpha)
    with pytest.raises(ConfigError, match="periods_per_year"):
        min_track_record_years(1.0, periods_per_year=-12)
