"""Metric formulas against empyrical-reloaded, an independent well-kept implementation."""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from stratopt import metrics as m


@pytest.fixture(params=[0, 1, 2])
def returns(request: pytest.FixtureRequest) -> pd.Series:
    rng = np.random.default_rng(request.param)
    r = rng.standard_t(4, size=1500) * 0.01 + 0.0003
    return pd.Series(r, index=pd.bdate_range("2010-01-01", periods=1500))


def test_sharpe(returns: pd.Series) -> None:
    assert m.sharpe_ratio(returns) == pytest.approx(ep.sharpe_ratio(returns), rel=1e-10)


def test_sortino(returns: pd.Series) -> None:
    assert m.sortino_ratio(returns) == pytest.approx(ep.sortino_ratio(returns), rel=1e-10)


def test_annual_return_and_volatility(returns: pd.Series) -> None:
    assert m.annual_return(returns) == pytest.approx(ep.annual_return(returns), rel=1e-10)
    assert m.annual_volatility(returns) == pytest.approx(ep.annual_volatility(returns), rel=1e-10)


def test_max_drawdown_and_calmar(returns: pd.Series) -> None:
    assert m.max_drawdown(returns) == pytest.approx(ep.max_drawdown(returns), rel=1e-10)
    assert m.calmar(returns) == pytest.approx(ep.calmar_ratio(returns), rel=1e-10)


def test_flat_series_has_no_nan_sharpe() -> None:
    assert m.sharpe_ratio(np.zeros(100)) == 0.0
