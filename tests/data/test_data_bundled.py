"""The bundled datasets load offline with the published shape, dates and values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stratopt.data import datasets, load_prices

TICKERS = [
    "AAPL",
    "AMD",
    "BAC",
    "BBY",
    "CVX",
    "GE",
    "HD",
    "JNJ",
    "JPM",
    "KO",
    "LLY",
    "MRK",
    "MSFT",
    "PEP",
    "PFE",
    "PG",
    "RRC",
    "UNH",
    "WMT",
    "XOM",
]


def test_sp500_shape_dates_and_form() -> None:
    prices = load_prices("sp500")
    assert prices.shape == (8313, 20)
    assert sorted(prices.columns) == TICKERS
    assert prices.index[0] == pd.Timestamp("1990-01-02")
    assert prices.index[-1] == pd.Timestamp("2022-12-28")
    assert prices.index.name == "date" and prices.columns.name == "ticker"
    assert isinstance(prices.index, pd.DatetimeIndex) and prices.index.tz is None
    assert prices.index.is_monotonic_increasing and prices.index.is_unique
    assert (prices.dtypes == np.float64).all()


def test_sp500_values_match_the_file_read_by_plain_pandas(sp500_raw: pd.DataFrame) -> None:
    prices = load_prices("sp500")
    np.testing.assert_array_equal(prices.to_numpy(), sp500_raw.to_numpy())
    np.testing.assert_array_equal(prices.index.to_numpy(), sp500_raw.index.to_numpy())


def test_sp500_index_same_dates_as_stocks() -> None:
    index = load_prices("sp500-index")
    assert list(index.columns) == ["SP500"]
    assert index.index.equals(load_prices("sp500").index)
    # Published closes of the S&P 500 on the first and last days of the sample.
    assert index.loc["1990-01-02", "SP500"] == 359.69
    assert index.loc["2022-12-28", "SP500"] == 3783.22


def test_datasets_lists_both_with_their_extent() -> None:
    table = datasets()
    assert list(table.index) == ["sp500", "sp500-index"]
    assert table.loc["sp500", "tickers"] == 20
    assert table.loc["sp500-index", "tickers"] == 1
    assert (table["rows"] == 8313).all()
    assert str(table.loc["sp500", "first"]) == "1990-01-02"
    assert str(table.loc["sp500", "last"]) == "2022-12-28"


def test_ticker_and_date_filters_on_bundled_data(sp500_raw: pd.DataFrame) -> None:
    prices = load_prices("sp500", tickers="msft, aapl", start="2020-01-01", end="2020-12-31")
    assert list(prices.columns) == ["MSFT", "AAPL"]
    expected = sp500_raw.loc["2020-01-01":"2020-12-31", ["MSFT", "AAPL"]]
    np.testing.assert_array_equal(prices.to_numpy(), expected.to_numpy())
    assert prices.index[0] == pd.Timestamp("2020-01-02")
    assert prices.index[-1] == pd.Timestamp("2020-12-31")
