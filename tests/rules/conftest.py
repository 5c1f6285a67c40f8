"""Fixtures for the rule tests: small slices of the bundled S&P 500 prices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def sp500() -> pd.DataFrame:
    """The bundled prices (8313 days x 20 stocks), read with plain pandas."""
    return pd.read_csv(DATA / "sp500_dataset.csv.gz", index_col=0, parse_dates=True)


@pytest.fixture(scope="session")
def prices(sp500: pd.DataFrame) -> pd.DataFrame:
    """400 days x 3 stocks from 1995 on: long enough for every default window, fast."""
    return sp500.loc["1995":, ["AAPL", "JPM", "XOM"]].iloc[:400].copy()


@pytest.fixture(scope="session")
def short_prices(sp500: pd.DataFrame) -> pd.DataFrame:
    """60 days x 2 stocks for gradient checks."""
    return sp500.loc["2001":, ["MSFT", "KO"]].iloc[:60].copy()


@pytest.fixture(scope="session")
def late_prices(prices: pd.DataFrame) -> pd.DataFrame:
    """``prices`` with JPM listed only from day 80 on (NaN before)."""
    frame = prices.copy()
    frame.iloc[:80, 1] = np.nan
    return frame
