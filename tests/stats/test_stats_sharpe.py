"""Sample Sharpe ratio and moments against empyrical and scipy."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from stratopt.errors import ConfigError, DataError
from stratopt.stats import sharpe_ratio
from stratopt.stats._sharpe import sample_moments


@pytest.fixture
def returns() -> np.ndarray:
    return np.random.default_rng(7).normal(0.0005, 0.01, size=(600, 3))


def test_annualised_sharpe_matches_empyrical(returns: np.ndarray) -> None:
    # empyrical: mean / std(ddof=1) * sqrt(252), no risk-free rate.
    for col in returns.T:
        expected = empyrical.sharpe_ratio(col, risk_free=0.0, period="daily")
        assert sharpe_ratio(col, periods_per_year=252) == pytest.approx(expected, rel=1e-12)


def test_per_period_is_default_and_scales_by_sqrt(returns: np.ndarray) -> None:
    per_period = sharpe_ratio(returns)
    assert per_period == pytest.approx(sharpe_ratio(returns, periods_per_year=12) / np.sqrt(12))


def test_output_types_follow_input(returns: np.ndarray) -> None:
    df = pd.DataFrame(returns, columns=["a", "b", "c"])
    assert isinstance(sharpe_ratio(df["a"]), float)
    out = sharpe_ratio(df)
    assert isinstance(out, pd.Series) and list(out.index) == ["a", "b", "c"]
    np.testing.assert_allclose(out.to_numpy(), sharpe_ratio(returns))


def test_zero_spread_conventions() -> None:
    flat = np.column_stack([np.zeros(5), np.full(5, 0.01), np.full(5, -0.01)])
    np.testing.assert_array_equal(sharpe_ratio(flat), [0.0, np.inf, -np.inf])


def test_moments_match_scipy(returns: np.ndarray) -> None:
    skewed = np.column_stack([returns[:, 0], np.random.default_rng(1).exponential(size=600)])
    m = sample_moments(skewed)
    np.testing.assert_allclose(m.skew, sps.skew(skewed), rtol=1e-10)
    np.testing.assert_allclose(m.kurtosis, sps.kurtosis(skewed, fisher=False), rtol=1e-10)
    assert m.n_obs == 600


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([0.01, np.nan, 0.02], "NaN or infinite"),
        (np.zeros((3, 2, 2)), "3 dimensions"),
        ([0.01], "at least 2"),
        (["a", "b"], "could not be read"),
    ],
)
def test_bad_returns_raise(bad: object, match: str) -> None:
    with pytest.raises(DataError, match=match):
        sharpe_ratio(bad)  # type: ignore[arg-type]


def test_bad_periods_per_year() -> None:
    with pytest.raises(ConfigError, match="periods_per_year"):
        sharpe_ratio([0.01, 0.02], periods_per_year=0)
