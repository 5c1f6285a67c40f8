"""Ticker names that only look alike: invisible characters are refused, outer spaces stripped."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from stratopt.data import DataRepairWarning, load_prices, parse_tickers, validate_prices
from stratopt.errors import ConfigError, DataError

DAYS = ["2021-03-01", "2021-03-02", "2021-03-03"]


def table(*names: str) -> pd.DataFrame:
    return pd.DataFrame({n: [1.0 + k, 2.0 + k, 3.0 + k] for k, n in enumerate(names)}, index=DAYS)


@pytest.mark.parametrize("name", ["X\u200bOM", "\ufeffXOM", "XOM\u200d", "X\tOM", "BRK\xa0B", "XO\u2060M"])
def test_invisible_character_in_a_ticker_is_refused_with_its_repr(name: str) -> None:
    with pytest.raises(DataError, match="invisible characters") as info:
        validate_prices(table("XOM", name) if name.strip() != "XOM" else table(name))
    message = str(info.value)
    assert repr(name) in message and "U+" in message and "\n" not in message


def test_zero_width_space_next_to_the_real_ticker_in_a_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("Date,XOM,X\u200bOM\n2021-03-01,1,2\n2021-03-02,1.5,2.5\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"ticker 'X\\u200bOM' in .*wide\.csv holds invisible characters \(U\+200B ZERO WIDTH SPACE\)"
    ):
        load_prices(path)


def test_zero_width_space_in_a_long_file_and_in_a_file_name(tmp_path: Path) -> None:
    long = tmp_path / "long.csv"
    long.write_text("date,ticker,price\n2021-03-01,XOM,1\n2021-03-01,X\u200bOM,2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"'X\\u200bOM'"):
        load_prices(long)
    folder = tmp_path / "bars"
    folder.mkdir()
    (folder / "X\u200bOM.csv").write_text("Date,Open,High,Low,Close\n2021-03-01,1,1,1,1\n")
    with pytest.raises(DataError, match=r"'X\\u200bOM'"):
        load_prices(folder)


def test_names_equal_once_stripped_are_refused_naming_both() -> None:
    with pytest.raises(DataError, match=r"'XOM', 'XOM ' differ only by spaces around the name"):
        validate_prices(table("XOM", "XOM "))
    with pytest.raises(DataError, match=r"' XOM', 'XOM' in the given DataFrame differ only by spaces"):
        load_prices(table(" XOM", "XOM"), tickers=["XOM"])


def test_spaces_around_a_name_are_stripped_with_a_warning(tmp_path: Path) -> None:
    with pytest.warns(DataRepairWarning, match=r"stripped spaces around the ticker names 'XOM ', ' JPM'"):
        out = validate_prices(table("XOM ", " JPM", "KO"))
    assert list(out.columns) == ["XOM", "JPM", "KO"]
    path = tmp_path / "spaced.csv"
    path.write_text("Date, AAA, BBB\n2021-03-01, 1, 2\n2021-03-02, 1.5, 2.5\n")
    with pytest.warns(DataRepairWarning, match="stripped spaces"):
        assert list(load_prices(path, tickers="aaa").columns) == ["AAA"]


def test_clean_names_give_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRepairWarning)
        assert list(validate_prices(table("BRK B", "^GSPC", "M&M.NS")).columns) == ["BRK B", "^GSPC", "M&M.NS"]


def test_tickers_argument_with_an_invisible_character_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"'X\\u200bOM' holds invisible characters"):
        parse_tickers(["AAPL", "X\u200bOM"])
    with pytest.raises(ConfigError, match="invisible"):
        load_prices("sp500", tickers="AAPL,X\u200bOM")
