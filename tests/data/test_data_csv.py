"""CSV loaders: every layout, written from the real bundled prices, reads back to the same table."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratopt.data import DataRepairWarning, load_prices
from stratopt.errors import DataError

TICKERS = ["AAPL", "JPM", "XOM"]


@pytest.fixture
def reference(sp500_raw: pd.DataFrame) -> pd.DataFrame:
    """A slice of the real prices: what each file below must read back as."""
    return sp500_raw.loc["2019-01-01":"2020-12-31", TICKERS]


def assert_same(prices: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert prices.index.name == "date" and prices.columns.name == "ticker"
    assert (prices.dtypes == "float64").all()
    pd.testing.assert_frame_equal(
        prices[reference.columns],
        reference,
        check_names=False,
        check_freq=False,
        check_index_type=False,
    )
    assert prices.index.equals(pd.DatetimeIndex(reference.index))


def ohlcv(close: pd.Series, adj: pd.Series | None = None) -> pd.DataFrame:
    """A vendor-style OHLCV table around a close series."""
    table = pd.DataFrame(
        {
            "Open": close * 0.99,
            "High": close * 1.02,
            "Low": close * 0.97,
            "Close": close,
            "Volume": 1000,
        }
    )
    if adj is not None:
        table["Adj Close"] = adj
    return table.rename_axis("Date")


def test_wide_file(tmp_path: Path, reference: pd.DataFrame) -> None:
    path = tmp_path / "wide.csv"
    reference.rename_axis("Date").to_csv(path)
    assert_same(load_prices(path), reference)


def test_wide_file_gzipped_and_filtered(tmp_path: Path, reference: pd.DataFrame) -> None:
    path = tmp_path / "wide.csv.gz"
    reference.rename_axis("Date").to_csv(path)
    prices = load_prices(str(path), tickers=["xom"], start="2020-03-02", end="2020-03-31")
    assert_same(prices, reference.loc["2020-03-02":"2020-03-31", ["XOM"]])


def test_long_file_any_column_order_and_case(tmp_path: Path, reference: pd.DataFrame) -> None:
    long = reference.rename_axis("date").reset_index().melt(id_vars="date", var_name="TICKER", value_name="Price")
    path = tmp_path / "long.csv"
    long[["Price", "TICKER", "date"]].to_csv(path, index=False)  # ordered by ticker, then date
    assert_same(load_prices(path), reference)


def test_long_file_prefers_adjusted_close(tmp_path: Path, reference: pd.DataFrame) -> None:
    long = reference.rename_axis("Date").reset_index().melt(id_vars="Date", var_name="Symbol", value_name="Adj Close")
    long["Close"] = long["Adj Close"] * 1.5
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    assert_same(load_prices(path), reference)


def test_long_file_with_repeated_ticker_and_date_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("date,ticker,price\n2020-01-02,AAA,1\n2020-01-02,AAA,2\n")
    with pytest.raises(DataError, match="AAA on 2020-01-02"):
        load_prices(path)


def test_ohlcv_folder_shuffled_columns_adj_close_preferred(tmp_path: Path, reference: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    for ticker in TICKERS:
        table = ohlcv(reference[ticker] * 1.25, adj=reference[ticker]).reset_index()
        table.columns = [c.upper() if rng.random() < 0.5 else c.lower() for c in table.columns]
        table = table[list(rng.permutation(table.columns))]
        table.to_csv(tmp_path / f"{ticker}.csv", index=False)
    (tmp_path / "notes.md").write_text("not a price file")
    assert_same(load_prices(tmp_path), reference)


def test_ohlcv_without_adj_close_uses_close(tmp_path: Path, reference: pd.DataFrame) -> None:
    ohlcv(reference["JPM"]).to_csv(tmp_path / "JPM.csv.gz")
    assert_same(load_prices(tmp_path / "JPM.csv.gz"), reference[["JPM"]])


def test_list_of_files_combines_tickers(tmp_path: Path, reference: pd.DataFrame) -> None:
    paths = []
    for ticker in TICKERS:
        ohlcv(reference[ticker]).to_csv(tmp_path / f"{ticker}.csv")
        paths.append(tmp_path / f"{ticker}.csv")
    assert_same(load_prices(paths), reference)


def test_files_as_yfinance_writes_them(tmp_path: Path, fake_yf, reference: pd.DataFrame) -> None:
    """``yf.download(...).to_csv()`` writes a two-row Price/Ticker header and a 'Date' row."""
    download = fake_yf()(TICKERS, start="2019-01-01", end="2021-01-01", auto_adjust=True)
    download.to_csv(tmp_path / "all.csv")
    assert (tmp_path / "all.csv").read_text().splitlines()[1].startswith("Ticker,")
    assert_same(load_prices(tmp_path / "all.csv"), reference)
    single = fake_yf()(["XOM"], start="2019-01-01", end="2021-01-01", auto_adjust=True)
    single.to_csv(tmp_path / "xom_download.csv")
    assert_same(load_prices(tmp_path / "xom_download.csv"), reference[["XOM"]])


def test_junk_row_in_a_wide_file_is_dropped_with_a_warning(tmp_path: Path, reference: pd.DataFrame) -> None:
    path = tmp_path / "wide.csv"
    text = reference.rename_axis("Date").to_csv().splitlines()
    path.write_text("\n".join([text[0], ",Tlt,Tlt,Tlt", *text[1:]]) + "\n")
    with pytest.warns(DataRepairWarning, match="dropped 1 rows"):
        assert_same(load_prices(path), reference)


def test_same_ticker_in_two_files_is_an_error(tmp_path: Path, reference: pd.DataFrame) -> None:
    ohlcv(reference["XOM"]).to_csv(tmp_path / "XOM.csv")
    reference.rename_axis("Date").to_csv(tmp_path / "wide.csv")
    with pytest.raises(DataError, match="'XOM' is in both"):
        load_prices(tmp_path)


def test_ohlcv_without_close_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "A.csv").write_text("Date,Open,High,Low,Volume\n2020-01-02,1,2,0.5,10\n")
    with pytest.raises(DataError, match="no 'Close' or 'Adj Close'"):
        load_prices(tmp_path / "A.csv")


def test_negative_price_in_file_names_ticker_and_date(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Date,AAA,BBB\n2020-01-02,1.0,2.0\n2020-01-03,1.1,-2.0\n")
    with pytest.raises(DataError, match=r"price of BBB on 2020-01-03 is -2 in .*bad\.csv"):
        load_prices(path)


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        load_prices(tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match="not a bundled dataset"):
        load_prices("sp5000")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no CSV files"):
        load_prices(tmp_path / "empty")


def test_unreadable_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "blob.csv"
    path.write_bytes(b"")
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(DataError, match=r"blob\.csv"):
        load_prices(path)


@pytest.mark.parametrize(
    "header",
    ["Date,AAPL,MSFT,AAPL", "Date,AAPL,MSFT,AAPL,AAPL", "Date,AAPL,AAPL.1,AAPL"],
)
def test_repeated_column_name_is_refused_not_renamed(tmp_path: Path, header: str) -> None:
    path = tmp_path / "dupes.csv"
    width = header.count(",")
    rows = [f"2020-01-0{d}," + ",".join(str(d + k) for k in range(width)) for d in (2, 3)]
    path.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(DataError, match=r"dupes\.csv has the column 'AAPL' [23] times \(columns 2, 4") as info:
        load_prices(path)
    assert "'AAPL.1'" in str(info.value) and "\n" not in str(info.value)


def test_repeated_column_in_a_gzipped_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dupes.csv.gz"
    pd.DataFrame([[1.0, 2.0, 3.0]], columns=["XOM", "XOM", "JPM"], index=pd.Index(["2020-01-02"], name="Date")).to_csv(
        path
    )
    with pytest.raises(DataError, match=r"the column 'XOM' 2 times \(columns 2, 3\)"):
        load_prices(path)


def test_an_unnamed_date_column_next_to_tickers_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",AAA,BBB\n2020-01-02,1,2\n2020-01-03,1.5,2.5\n")
    assert list(load_prices(path).columns) == ["AAA", "BBB"]


@pytest.mark.parametrize("adjusted", [True, False])
@pytest.mark.parametrize("extra", [["VWAP"], ["vwap", "Trades"], ["Dividends", "VWAP"]])
def test_ohlcv_file_with_unknown_extra_columns_takes_the_close(
    tmp_path: Path, reference: pd.DataFrame, adjusted: bool, extra: list[str]
) -> None:
    close = reference["XOM"]
    table = ohlcv(close * 1.25 if adjusted else close, adj=close if adjusted else None)
    for k, name in enumerate(extra):
        table[name] = close * (1.001 + k)
    table.to_csv(tmp_path / "XOM.csv")
    assert (tmp_path / "XOM.csv").read_text().startswith("Date,Open,High,Low,Close,Volume")
    assert_same(load_prices(tmp_path / "XOM.csv"), reference[["XOM"]])


def test_vendor_spelling_of_adjusted_close(tmp_path: Path, reference: pd.DataFrame) -> None:
    close = reference["JPM"]
    table = ohlcv(close * 2).rename(columns={"Close": "close"})
    table["Adj. Close"] = close
    table["VWAP"] = close
    table.to_csv(tmp_path / "JPM.csv")
    assert_same(load_prices(tmp_path / "JPM.csv"), reference[["JPM"]])


def test_ohlcv_like_file_with_extras_but_no_close_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "A.csv").write_text("Date,Open,High,Low,Volume,VWAP\n2020-01-02,1,2,0.5,10,1.1\n")
    with pytest.raises(DataError, match=r"A\.csv has price fields .*'VWAP'.* no 'Close' or 'Adj Close'"):
        load_prices(tmp_path / "A.csv")


def test_wide_file_with_a_ticker_named_like_a_field_stays_wide(tmp_path: Path) -> None:
    # LOW (Lowe's) and OPEN (Opendoor) are tickers: two field-like names do not make a bar file.
    path = tmp_path / "wide.csv"
    path.write_text("Date,LOW,OPEN,HD\n2020-01-02,1,2,3\n2020-01-03,1.1,2.1,3.1\n")
    assert list(load_prices(path).columns) == ["LOW", "OPEN", "HD"]
