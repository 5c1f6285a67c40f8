from __future__ import annotations

import pandas as pd
import pytest

from stratopt.data import load_prices


@pytest.fixture(scope="session")
def three_stocks() -> pd.DataFrame:
    """Three bundled stocks over 2000-2009: long enough for 200-day windows, fast to fit."""
    return load_prices("sp500", tickers=["AAPL", "XOM", "JPM"], start="2000-01-01", end="2009-12-31")
