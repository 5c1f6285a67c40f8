"""Columns and row labels that convert to numbers or dates without being prices or dates."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from stratopt.data import load_prices, validate_prices
from stratopt.errors import DataError

DAYS = pd.bdate_range("2020-01-01", periods=4)


@pytest.mark.parametrize(
    "column",
    [
        pd.date_range("2020-01-01", periods=4),
        pd.date_range("2020-01-01", periods=4, tz="UTC"),
        pd.to_timedelta([1, 2, 3, 4], unit="D"),
        pd.period_range("2020-01-01", periods=4, freq="D"),
        np.array([1 + 0j, 2, 3, 4]),
        pd.array([True, False, None, True], dtype="boolean"),
    ],
    ids=["datetime", "datetime-tz", "timedelta", "period", "complex", "nullable-bool"],
)
def test_columns_that_are_not_prices_are_refused(column: object) -> None:
    # pd.to_numeric would turn dates into nanoseconds since 1970 and complex numbers into reals.
    with pytest.raises(DataError, match=r"column 'A' holds .*not prices"):
        validate_prices(pd.DataFrame({"A": column, "B": [1.0, 1.1, 1.2, 1.3]}, index=DAYS))


@pytest.mark.parametrize("odd", [True, np.bool_(False), 2 + 1j])
def test_booleans_and_complex_numbers_inside_a_text_column_are_refused(odd: object) -> None:
    column = pd.Series(["1.0", odd, "1.2", 1.3], index=DAYS, dtype=object)
    with pytest.raises(DataError, match=rf"column 'A' holds {re.escape(repr(odd))} on 2020-01-02, not a price"):
        validate_prices(pd.DataFrame({"A": column}))


def test_numbers_as_text_nullable_numbers_and_categories_still_load() -> None:
    raw = pd.DataFrame(
        {
            "TXT": pd.Series(["1.0", "1.1", " 1.2 ", "1.3"], dtype=object).to_numpy(),
            "F64": pd.array([1.0, None, 1.2, 1.3], dtype="Float64"),
            "I64": pd.array([1, 2, 3, 4], dtype="Int64"),
            "CAT": pd.Categorical([2.0, 2.5, 2.0, 3.0]),
        },
        index=DAYS,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the forward-filled gap
        out = validate_prices(raw)
    assert out["F64"].tolist() == [1.0, 1.0, 1.2, 1.3] and out["CAT"].tolist() == [2.0, 2.5, 2.0, 3.0]
    assert (out.dtypes == "float64").all()


def test_one_tickers_bars_as_a_dataframe_are_refused_with_the_fix() -> None:
    # What yfinance.Ticker("AAPL").history() returns: flat OHLCV columns, not one per ticker.
    close = pd.Series(np.linspace(10.0, 12.0, 4), index=DAYS.tz_localize("America/New_York"))
    bars = pd.DataFrame({"Open": close, "High": close, "Low": close, "Close": close, "Volume": 1e6})
    for frame in (bars, bars.assign(Dividends=0.0, **{"Stock Splits": 0.0})):
        with pytest.raises(DataError, match=r"columns of one ticker's bars \(Open, High, Low, Close, Volume") as info:
            load_prices(frame)
        assert "frame[['Close']].rename(columns={'Close': 'AAPL'})" in str(info.value)


def test_multiindex_rows_are_refused_naming_the_levels() -> None:
    rows = pd.MultiIndex.from_arrays([DAYS, ["x"] * 4], names=["date", "venue"])
    with pytest.raises(DataError, match=r"MultiIndex of 2 levels \['date', 'venue'\].*droplevel"):
        validate_prices(pd.DataFrame({"A": [1.0, 1.1, 1.2, 1.3]}, index=rows))


@pytest.mark.parametrize("zones", [[None] * 4, ["UTC", "Asia/Tokyo", None, "UTC"]])
def test_object_index_of_timestamps_leaks_no_library_warning(zones: list[str | None]) -> None:
    # On pandas 2, pd.Index(<object Index of datetimes>) warned that its dtype inference is
    # deprecated (FutureWarning); the dates are read the same way without it.
    labels = pd.Index(
        [pd.Timestamp(d).tz_localize(z) if z else pd.Timestamp(d) for d, z in zip(DAYS, zones)], dtype=object
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        warnings.filterwarnings("ignore", "dates mix timezones")
        out = validate_prices(pd.DataFrame({"A": [1.0, 1.1, 1.2, 1.3]}, index=labels))
    assert list(out.index) == list(DAYS)


def test_date_labels_in_a_format_pandas_cannot_infer_leak_no_pandas_warning() -> None:
    raw = pd.DataFrame({"A": [1.0, 1.1, 1.2]}, index=["Date", "2 Jan 2020", "2020-01-03"])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = validate_prices(raw)
    assert len(out) == 2
    assert not [w for w in record if "Could not infer format" in str(w.message)]
