"""validate_prices: every bad-input case is an error naming ticker and date, or a warned repair."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stratopt.data import DataRepairWarning, load_prices, validate_prices
from stratopt.errors import DataError


def frame(values: dict[str, list[object]], dates: list[object]) -> pd.DataFrame:
    return pd.DataFrame(values, index=pd.Index(dates, dtype=object))


DAYS = ["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-04", "2021-03-05"]


def test_clean_table_passes_without_warnings(recwarn: pytest.WarningsRecorder) -> None:
    out = validate_prices(frame({"A": [1, 2, 3, 4, 5], "B": [5.0, 4, 3, 2, 1]}, DAYS))
    assert not [w for w in recwarn if issubclass(w.category, DataRepairWarning)]
    assert list(out.index.strftime("%Y-%m-%d")) == DAYS
    assert out.index.dtype == "datetime64[ns]" and (out.dtypes == "float64").all()
    assert out.index.name == "date" and out.columns.name == "ticker"


def test_junk_date_rows_are_dropped_with_a_count() -> None:
    # A junk row like the second header line some tools write (",Tlt,Tlt,Tlt").
    raw = frame({"A": ["Tlt", 1.0, 2.0], "B": ["Tlt", 3.0, 4.0]}, [None, DAYS[0], DAYS[1]])
    with pytest.warns(DataRepairWarning, match="dropped 1 rows"):
        out = validate_prices(raw)
    assert out.shape == (2, 2) and out.loc[DAYS[1], "B"] == 4.0


def test_duplicated_dates_are_an_error_naming_them() -> None:
    raw = frame({"A": [1.0, 2.0, 3.0]}, [DAYS[0], DAYS[1], DAYS[1]])
    with pytest.raises(DataError, match="2021-03-02"):
        validate_prices(raw)


def test_unsorted_rows_are_sorted_with_a_warning() -> None:
    raw = frame({"A": [3.0, 1.0, 2.0]}, [DAYS[2], DAYS[0], DAYS[1]])
    with pytest.warns(DataRepairWarning, match="sorted"):
        out = validate_prices(raw)
    assert out["A"].tolist() == [1.0, 2.0, 3.0]


def test_mixed_timezone_labels_keep_their_local_date() -> None:
    raw = frame(
        {"A": [1.0, 2.0, 3.0]},
        ["2021-03-01", "2021-03-02T00:00:00-05:00", "2021-03-03T00:00:00+09:00"],
    )
    with pytest.warns(DataRepairWarning, match="mix timezones"):
        out = validate_prices(raw)
    assert list(out.index.strftime("%Y-%m-%d")) == DAYS[:3] and out.index.tz is None


def test_tz_aware_index_becomes_naive_local_dates() -> None:
    index = pd.date_range("2021-03-01", periods=3, tz="America/New_York")
    out = validate_prices(pd.DataFrame({"A": [1.0, 2.0, 3.0]}, index=index))
    assert out.index.tz is None and list(out.index.strftime("%Y-%m-%d")) == DAYS[:3]


def test_leading_nan_kept_interior_gap_forward_filled_never_back_filled() -> None:
    raw = frame({"A": [np.nan, np.nan, 10.0, np.nan, 12.0], "B": [1.0, 2, 3, 4, 5]}, DAYS)
    with pytest.warns(DataRepairWarning, match="forward-filled 1 missing prices"):
        out = validate_prices(raw, max_gap=1)
    assert np.isnan(out["A"].iloc[:2]).all()  # not listed yet: stays NaN
    assert out["A"].iloc[3] == 10.0  # filled from the day before, not from the day after


def test_gap_longer_than_limit_names_ticker_and_dates() -> None:
    raw = frame({"A": [1.0, np.nan, np.nan, np.nan, 5.0], "B": [1.0, 2, 3, 4, 5]}, DAYS)
    with pytest.raises(DataError, match=r"A has no price for 3 days.*2021-03-02 to 2021-03-04"):
        validate_prices(raw, max_gap=2)
    with pytest.warns(DataRepairWarning, match="A 3"):
        assert validate_prices(raw, max_gap=3, on_jump="ignore")["A"].tolist() == [1.0, 1.0, 1.0, 1.0, 5.0]


def test_trailing_gap_beyond_limit_is_an_error() -> None:
    raw = frame({"A": [1.0, 2.0, np.nan, np.nan, np.nan], "B": [1.0, 2, 3, 4, 5]}, DAYS)
    with pytest.raises(DataError, match=r"2021-03-03 to 2021-03-05 \(end of data\)"):
        validate_prices(raw, max_gap=2)


@pytest.mark.parametrize("bad", [0.0, -3.5, np.inf, -np.inf])
def test_non_positive_or_infinite_price_names_ticker_and_date(bad: float) -> None:
    raw = frame({"A": [1.0, 2.0, 3.0], "B": [1.0, bad, 3.0]}, DAYS[:3])
    with pytest.raises(DataError, match=r"price of B on 2021-03-02"):
        validate_prices(raw)


def test_non_numeric_column_is_an_error() -> None:
    raw = frame({"A": [1.0, 2.0, 3.0], "B": ["1.0", "n/a?", "3"]}, DAYS[:3])
    with pytest.raises(DataError, match=r"column 'B' is not numeric: 'n/a\?' on 2021-03-02"):
        validate_prices(raw)


def test_all_nan_ticker_is_an_error() -> None:
    with pytest.raises(DataError, match=r"\['B'\] have no prices"):
        validate_prices(frame({"A": [1.0, 2.0], "B": [np.nan, np.nan]}, DAYS[:2]))


def test_empty_after_date_filter_names_the_filter() -> None:
    with pytest.raises(DataError, match="start=2031-01-01"):
        load_prices("sp500", start="2031-01-01")
    with pytest.raises(DataError, match="end=1989-12-31"):
        load_prices("sp500", end="1989-12-31")
    with pytest.raises(DataError, match="start=2021-01-02 and end=2021-01-03"):
        load_prices("sp500", start="2021-01-02", end="2021-01-03")  # a weekend


def test_unknown_ticker_lists_the_available_ones() -> None:
    with pytest.raises(DataError, match=r"\['NOPE'\] are not in .*AAPL, AMD, BAC"):
        load_prices("sp500", tickers=["AAPL", "NOPE"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(min_value=0.01, max_value=1e6)), min_size=2, max_size=40),
    st.integers(min_value=0, max_value=6),
)
def test_gap_filling_matches_pandas_ffill_or_errors(values: list[float | None], max_gap: int) -> None:
    """Property: the result is pandas' ffill(limit) when every interior gap fits the limit."""
    column = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    dates = pd.bdate_range("2020-01-01", periods=len(values))
    raw = pd.DataFrame({"A": column.to_numpy()}, index=dates)
    valid = column.notna()
    if not valid.any():
        with pytest.raises(DataError):
            validate_prices(raw, max_gap=max_gap)
        return
    after_listing = column[valid.idxmax() :]
    runs = after_listing.isna().groupby(after_listing.notna().cumsum()).sum()
    if runs.max() > max_gap:
        with pytest.raises(DataError, match="days in a row"):
            validate_prices(raw, max_gap=max_gap)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRepairWarning)
        out = validate_prices(raw, max_gap=max_gap, on_jump="ignore")  # random prices jump
    np.testing.assert_array_equal(out["A"].to_numpy(), column.ffill().to_numpy())
