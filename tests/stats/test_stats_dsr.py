"""Deflated Sharpe Ratio: the numerical example of Bailey and Lopez de Prado (2014)."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from scipy import stats as sps

from stratopt.errors import ConfigError
from stratopt.stats import (
    deflated_sharpe_ratio,
    dsr_from_returns,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
)

# The paper's example: annual SR 2.5 over 5 years of daily data (T = 1250), annual variance of
# trial Sharpe ratios 0.5, skew -3, kurtosis 10, all converted to per period with 250 days.
SR = 2.5 / math.sqrt(250)
EXAMPLE = {"sr_variance": 0.5 / 250, "n_obs": 1250, "skew": -3.0, "kurtosis": 10.0}


def test_expected_max_sharpe_published() -> None:
    assert round(expected_max_sharpe(100, 0.5 / 250), 4) == 0.1132


@pytest.mark.parametrize(("n_trials", "dsr"), [(100, 0.9004), (46, 0.9505)])
def test_deflated_sharpe_published(n_trials: int, dsr: float) -> None:
    assert round(deflated_sharpe_ratio(SR, n_trials=n_trials, **EXAMPLE), 4) == dsr


def test_dsr_is_psr_against_expected_max() -> None:
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    psr = probabilistic_sharpe_ratio(SR, sr_benchmark=sr0, n_obs=1250, skew=-3.0, kurtosis=10.0)
    assert deflated_sharpe_ratio(SR, n_trials=100, **EXAMPLE) == psr


@pytest.mark.parametrize("n_trials", [100, 1000])
def test_expected_max_sharpe_matches_monte_carlo(n_trials: int) -> None:
    # The formula approximates E[max of N normal draws]; within 2 % for N >= 100.
    mean, var = 0.01, 0.003
    draws = np.random.default_rng(0).normal(mean, math.sqrt(var), size=(5000, n_trials))
    simulated = draws.max(axis=1).mean()
    assert expected_max_sharpe(n_trials, var, sr_mean=mean) == pytest.approx(simulated, rel=0.02)


def test_expected_max_grows_with_trials_and_one_trial_is_the_mean() -> None:
    values = [expected_max_sharpe(n, 0.01) for n in (2, 10, 100, 1000)]
    assert all(a < b for a, b in pairwise(values))
    assert expected_max_sharpe(1, 0.01, sr_mean=0.05) == 0.05
    assert expected_max_sharpe(50, 0.0) == 0.0


def test_dsr_from_returns_with_trial_sharpes() -> None:
    rng = np.random.default_rng(5)
    r = rng.normal(0.001, 0.01, size=750)
    trials = rng.normal(0.0, 0.04, size=30)
    sr0 = expected_max_sharpe(30, float(np.var(trials, ddof=1)))
    expected = probabilistic_sharpe_ratio(
        r.mean() / r.std(ddof=1),
        sr_benchmark=sr0,
        n_obs=750,
        skew=sps.skew(r),
        kurtosis=sps.kurtosis(r, fisher=False),
    )
    assert dsr_from_returns(r, trial_sharpes=trials) == pytest.approx(expected, rel=1e-12)
    explicit = dsr_from_returns(r, n_trials=30, sr_variance=float(np.var(trials, ddof=1)))
    assert explicit == pytest.approx(expected, rel=1e-12)
    # More trials than recorded raise the bar.
    assert dsr_from_returns(r, trial_sharpes=trials, n_trials=300) < expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "pass trial_sharpes"),
        ({"n_trials": 10}, "pass trial_sharpes"),
        ({"trial_sharpes": [0.1], "n_trials": 10}, "at least 2"),
        ({"trial_sharpes": [0.1, 0.2], "sr_variance": 0.1}, "Both trial_sharpes"),
        ({"trial_sharpes": [0.1, 0.2, 0.3], "n_trials": 2}, "smaller than"),
    ],
)
def test_dsr_from_returns_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        dsr_from_returns(np.array([0.01, -0.02, 0.03]), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("n_trials", "var", "match"), [(0.5, 0.01, "at least 1"), (10, -0.01, "negative")])
def test_expected_max_validation(n_trials: float, var: float, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        expected_max_sharpe(n_trials, var)
