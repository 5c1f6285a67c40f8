"""Day/month order of numeric dates: read by evidence, refused when the labels cannot tell."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratopt.data import DataRepairWarning, load_prices, validate_prices
from stratopt.errors import ConfigError, DataError


def write(path: Path, dates: pd.DatetimeIndex, fmt: str, *, header: str = "Date,AAA,BBB") -> pd.DataFrame:
    """A wide file with dates written in ``fmt``; returns the table it must load as."""
    values = pd.DataFrame(
        {"AAA": 100 + np.arange(len(dates), dtype=float), "BBB": 50 + 0.5 * np.arange(len(dates))},
        index=dates,
    )
    lines = [header] + [f"{d.strftime(fmt)},{a},{b}" for d, (a, b) in zip(dates, values.to_numpy())]
    path.write_text("\n".join(lines) + "\n")
    return values.sort_index()


def loads_as(prices: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(prices.index) == list(expected.index)
    np.testing.assert_array_equal(prices.to_numpy(), expected.to_numpy())
    assert (prices.index.day_of_week < 5).all()


def test_day_first_file_is_read_day_first_and_says_which_format(tmp_path: Path) -> None:
    # Starts 03/01/2011 (3 January) and runs past the 12th, where month first has no month 13.
    path = tmp_path / "eu.csv"
    expected = write(path, pd.bdate_range("2011-01-03", periods=60), "%d/%m/%Y")
    with pytest.warns(
        DataRepairWarning, match=r"eu\.csv read day first as '%d/%m/%Y' \('13/01/2011' has no month 13\)"
    ):
        prices = load_prices(path)
    loads_as(prices, expected)


def test_day_first_file_with_date_format_loads_without_warnings(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    expected = write(path, pd.bdate_range("2011-01-03", periods=60), "%d/%m/%Y")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRepairWarning)
        loads_as(load_prices(path, date_format="%d/%m/%Y"), expected)


def test_brief_example_day_first_file_starting_on_the_2nd(tmp_path: Path) -> None:
    """A file starting 02/01/2011 (2 January, a Sunday): it used to load with dates in February."""
    path = tmp_path / "eu.csv"
    expected = write(
        path, pd.DatetimeIndex(["2011-01-02"]).append(pd.bdate_range("2011-01-03", periods=30)), "%d/%m/%Y"
    )
    with pytest.warns(DataRepairWarning, match="day first"):
        prices = load_prices(path)
    assert list(prices.index) == list(expected.index)
    assert prices.loc["2011-01-13", "AAA"] == expected.loc["2011-01-13", "AAA"]


def test_month_first_file_is_read_month_first_silently(tmp_path: Path) -> None:
    path = tmp_path / "us.csv"
    expected = write(path, pd.bdate_range("2011-01-03", periods=60), "%m/%d/%Y")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRepairWarning)
        loads_as(load_prices(path), expected)


def test_days_up_to_12_only_weekends_settle_it(tmp_path: Path) -> None:
    # 3 to 12 January: month first gives 1 March, 1 April, ... 1 December, some on weekends.
    path = tmp_path / "short.csv"
    expected = write(path, pd.bdate_range("2011-01-03", "2011-01-12"), "%d/%m/%Y")
    with pytest.warns(DataRepairWarning, match="only then does none fall on a weekend"):
        loads_as(load_prices(path), expected)
    us = tmp_path / "short_us.csv"
    expected = write(us, pd.bdate_range("2011-01-03", "2011-01-12"), "%m/%d/%Y")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRepairWarning)
        loads_as(load_prices(us), expected)


def test_days_up_to_12_only_the_order_of_rows_settles_it(tmp_path: Path) -> None:
    # 1-11 February then 1-11 March: month first reads 2 January, 2 February, ... then 3 January.
    dates = pd.bdate_range("2011-02-01", "2011-02-11").append(pd.bdate_range("2011-03-01", "2011-03-11"))
    path = tmp_path / "two_months.csv"
    expected = write(path, dates, "%d/%m/%Y")
    with pytest.warns(DataRepairWarning, match="only then are they in date order"):
        loads_as(load_prices(path), expected)


def test_newest_first_file_counts_as_in_sequence(tmp_path: Path) -> None:
    path = tmp_path / "desc.csv"
    expected = write(path, pd.bdate_range("2011-01-03", periods=40)[::-1], "%d/%m/%Y")
    with pytest.warns(DataRepairWarning) as record:
        loads_as(load_prices(path), expected)
    assert any("day first" in str(w.message) for w in record)


def test_ambiguous_dates_are_refused_naming_the_file_and_date_format(tmp_path: Path) -> None:
    # Calendar days 1 to 12 January (7 days a week): both readings are in sequence, both hit
    # weekends; nothing in the file tells 02/01/2011 (2 January) from 1 February.
    path = tmp_path / "crypto.csv"
    write(path, pd.date_range("2011-01-01", "2011-01-12"), "%d/%m/%Y")
    with pytest.raises(DataError, match=r"crypto\.csv can be read day first or month first") as info:
        load_prices(path)
    message = str(info.value)
    assert "date_format='%d/%m/%Y'" in message and "date_format='%m/%d/%Y'" in message
    assert "'02/01/2011' is 2011-01-02 or 2011-02-01" in message
    prices = load_prices(path, date_format="%d/%m/%Y")
    assert prices.index[0] == pd.Timestamp("2011-01-01") and len(prices) == 12


def test_mixed_orders_in_one_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("Date,AAA\n12/01/2011,1\n13/01/2011,2\n01/14/2011,3\n")
    with pytest.raises(DataError, match=r"mixed\.csv mix day-first \('13/01/2011'\) and month-first \('01/14/2011'\)"):
        load_prices(path)


def test_dots_and_two_digit_years(tmp_path: Path) -> None:
    path = tmp_path / "de.csv"
    expected = write(path, pd.bdate_range("2011-01-03", periods=20), "%d.%m.%y")
    with pytest.warns(DataRepairWarning, match=r"as '%d\.%m\.%y'"):
        loads_as(load_prices(path), expected)


def test_long_file_with_day_first_dates(tmp_path: Path) -> None:
    dates = pd.bdate_range("2011-01-03", periods=20)
    rows = [f"{d:%d/%m/%Y},{t},{base + p}" for t, base in (("AAA", 10.0), ("BBB", 20.0)) for p, d in enumerate(dates)]
    path = tmp_path / "long.csv"
    path.write_text("date,ticker,price\n" + "\n".join(rows) + "\n")
    with pytest.warns(DataRepairWarning, match="day first"):
        prices = load_prices(path)
    assert list(prices.index) == list(dates)


def test_dataframe_with_text_dates_takes_date_format_too() -> None:
    raw = pd.DataFrame({"A": [1.0, 2.0, 3.0]}, index=["01/02/2021", "02/02/2021", "03/02/2021"])
    prices = load_prices(raw, date_format="%d/%m/%Y")
    assert list(prices.index.strftime("%Y-%m-%d")) == ["2021-02-01", "2021-02-02", "2021-02-03"]
    month_first = validate_prices(raw, date_format="%m/%d/%Y")
    assert list(month_first.index.strftime("%Y-%m-%d")) == ["2021-01-02", "2021-02-02", "2021-03-02"]


@pytest.mark.parametrize("bad", ["dd/mm/yyyy", 5, ""])
def test_bad_date_format_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="date_format="):
        load_prices("sp500", date_format=bad)  # type: ignore[arg-type]


def test_iso_and_single_agreeing_dates_are_untouched() -> None:
    raw = pd.DataFrame({"A": [1.0, 2.0]}, index=["05/05/2020", "2020-05-06"])
    assert list(validate_prices(raw).index.strftime("%Y-%m-%d")) == ["2020-05-05", "2020-05-06"]
