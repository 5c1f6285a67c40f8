"""yfinance source: download, cache write and hit, offline fallback, atomic writes, safe tickers.

The fake downloader (conftest.FakeYfinance) builds its frames the way yfinance 1.7 does, and
offline returns what yfinance returns then: an EMPTY frame with (Price, Ticker) columns.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from stratopt.data import _cache, check_ticker, load_prices, resolve_cache_dir
from stratopt.data._cache import read_cache, write_cache
from stratopt.errors import (
    ConfigError,
    CorruptCacheError,
    DataUnavailableError,
    StaleCacheWarning,
    StratoptWarning,
)

START, END = "2020-01-01", "2020-06-30"


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    """The fake prints like yfinance does when a ticker fails; keep test output clean."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def load(fake, cache_dir: Path, tickers=("AAPL", "MSFT"), **kwargs) -> pd.DataFrame:
    kwargs.setdefault("start", START)
    kwargs.setdefault("end", END)
    return load_prices("yfinance", tickers=list(tickers), cache_dir=cache_dir, downloader=fake, **kwargs)


def test_download_returns_adjusted_close_and_writes_the_cache(
    fake_yf, cache_dir: Path, sp500_raw: pd.DataFrame
) -> None:
    fake = fake_yf()
    prices = load(fake, cache_dir, tickers=("aapl", "MSFT"))
    expected = sp500_raw.loc[START:END, ["AAPL", "MSFT"]]
    pd.testing.assert_frame_equal(prices, expected, check_names=False, check_freq=False, check_index_type=False)
    assert prices.index.name == "date" and prices.columns.name == "ticker"
    ((tickers, kwargs),) = fake.calls
    assert sorted(tickers) == ["AAPL", "MSFT"]
    assert kwargs["auto_adjust"] is True
    assert kwargs["start"] == START and kwargs["end"] == "2020-07-01"  # yfinance's end is exclusive
    for ticker in ("AAPL", "MSFT"):
        entry = read_cache(cache_dir, ticker)
        assert entry is not None and entry.path.name == f"yf-{ticker}.parquet"
        pd.testing.assert_series_equal(
            entry.prices,
            expected[ticker],
            check_names=False,
            check_freq=False,
            check_index_type=False,
        )
        assert entry.prices.dtype == "float64" and entry.age() < pd.Timedelta(minutes=1)


def test_fresh_cache_is_used_without_downloading(fake_yf, cache_dir: Path) -> None:
    fake = fake_yf()
    first = load(fake, cache_dir)
    again = load(fake, cache_dir)
    narrower = load(fake, cache_dir, start="2020-02-01", end="2020-03-31")
    assert len(fake.calls) == 1
    pd.testing.assert_frame_equal(again, first)
    pd.testing.assert_frame_equal(narrower, first.loc["2020-02-01":"2020-03-31"])
    load(fake, cache_dir, end="2020-12-31")  # not covered by the cache: downloads again
    assert len(fake.calls) == 2


def test_no_start_asks_yfinance_for_the_whole_history(fake_yf, cache_dir: Path) -> None:
    fake = fake_yf()
    prices = load(fake, cache_dir, tickers=("KO",), start=None, end=None)
    assert fake.calls[0][1]["period"] == "max" and "start" not in fake.calls[0][1]
    assert prices.index[0] == pd.Timestamp("1990-01-02")


def test_offline_with_old_cache_warns_how_old(fake_yf, cache_dir: Path, sp500_raw: pd.DataFrame) -> None:
    fetched = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=3, hours=5, minutes=10)
    for ticker in ("AAPL", "MSFT"):
        write_cache(
            cache_dir,
            ticker,
            sp500_raw.loc["2019-01-01":"2020-12-31", ticker],
            start=pd.Timestamp("2019-01-01"),
            end=pd.Timestamp("2020-12-31"),
            fetched_at=fetched,
        )
    offline = fake_yf(online=False)
    with pytest.warns(StaleCacheWarning, match="3 days 5 hours old") as record:
        prices = load(offline, cache_dir)
    assert len(offline.calls) == 1 and offline.calls[0][0] == ["AAPL", "MSFT"]
    assert {str(w.message).split()[2] for w in record} == {"AAPL", "MSFT"}
    pd.testing.assert_frame_equal(
        prices,
        sp500_raw.loc[START:END, ["AAPL", "MSFT"]],
        check_names=False,
        check_freq=False,
        check_index_type=False,
    )


def test_offline_without_cache_names_tickers_and_fix(fake_yf, cache_dir: Path) -> None:
    with pytest.raises(DataUnavailableError) as info:
        load(fake_yf(online=False), cache_dir, tickers=("AAPL", "MSFT"))
    message = str(info.value)
    assert "['AAPL', 'MSFT']" in message and "empty table" in message
    assert "connect to the internet" in message and "CSV" in message
    assert not any(cache_dir.glob("*.parquet")) if cache_dir.exists() else True


def test_downloader_that_raises_counts_as_offline(cache_dir: Path) -> None:
    def broken(tickers, **kwargs):
        raise ConnectionError("no route to host")

    with pytest.raises(DataUnavailableError, match="ConnectionError: no route to host"):
        load(broken, cache_dir, tickers=("AAPL",))


def test_partial_download_caches_what_came_and_names_what_did_not(fake_yf, cache_dir: Path) -> None:
    with pytest.raises(DataUnavailableError, match=r"\['ZZZZ'\]"):
        load(fake_yf(), cache_dir, tickers=("AAPL", "ZZZZ"))
    assert read_cache(cache_dir, "AAPL") is not None
    assert read_cache(cache_dir, "ZZZZ") is None


def test_crash_during_cache_write_keeps_the_previous_cache(
    fake_yf, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(fake_yf(), cache_dir, tickers=("AAPL",))
    before = read_cache(cache_dir, "AAPL")

    def killed_midway(table, handle) -> None:
        handle.write(b"PAR1 half a file")  # the first bytes of a Parquet file, then death
        raise KeyboardInterrupt

    monkeypatch.setattr(_cache, "_write_parquet", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        load(fake_yf(), cache_dir, tickers=("AAPL",), end="2020-12-31")
    after = read_cache(cache_dir, "AAPL")
    assert after is not None and after.fetched_at == before.fetched_at
    pd.testing.assert_series_equal(after.prices, before.prices)
    assert [p.name for p in cache_dir.iterdir()] == ["yf-AAPL.parquet"]  # temp file removed


def test_leftover_temp_file_from_a_hard_kill_is_never_read(fake_yf, cache_dir: Path) -> None:
    load(fake_yf(), cache_dir, tickers=("AAPL",))
    (cache_dir / ".tmp-yf-AAPL-x1y2.parquet").write_bytes(b"PAR1 truncated")
    prices = load(fake_yf(online=False), cache_dir, tickers=("AAPL",))
    assert prices.shape[1] == 1 and prices.notna().all().all()


def test_corrupt_cache_file_offline_is_named_as_corrupt_with_the_fix(fake_yf, cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True)
    path = cache_dir / "yf-AAPL.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(CorruptCacheError) as info:
        load(fake_yf(online=False), cache_dir, tickers=("AAPL",))
    message = str(info.value)
    assert isinstance(info.value, DataUnavailableError) and "\n" not in message
    assert f"cache file {path} is corrupt" in message and "delete it" in message
    assert "no cached copy" not in message and "['AAPL']" in message


def test_corrupt_cache_file_is_replaced_by_a_download(fake_yf, cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True)
    (cache_dir / "yf-AAPL.parquet").write_bytes(b"PAR1 not really parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("error", StratoptWarning)
        prices = load(fake_yf(), cache_dir, tickers=("AAPL",))
    assert prices.notna().all().all()
    entry = read_cache(cache_dir, "AAPL")
    assert entry is not None and len(entry.prices) == len(prices)


@pytest.mark.parametrize(
    "ticker", ["../../x", "/etc/passwd", "..", "a b", " ", "AAPL/../x", "C:\\x", "x\x00", "A" * 40]
)
def test_unsafe_tickers_are_rejected_before_touching_a_path(fake_yf, cache_dir: Path, ticker: str) -> None:
    fake = fake_yf()
    with pytest.raises(ConfigError):
        load(fake, cache_dir, tickers=(ticker,))
    assert fake.calls == [] and not cache_dir.exists()


@pytest.mark.parametrize("ticker", ["BRK-B", "^GSPC", "EURUSD=X", "0700.HK", "m&m.ns"])
def test_real_yahoo_symbols_are_accepted(ticker: str) -> None:
    assert check_ticker(ticker) == ticker.upper()


def test_yfinance_needs_tickers(cache_dir: Path) -> None:
    with pytest.raises(ConfigError, match="needs tickers"):
        load_prices("yfinance", cache_dir=cache_dir)


def test_cache_folder_argument_then_env_then_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATOPT_DATA", str(tmp_path / "env"))
    assert resolve_cache_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_cache_dir() == tmp_path / "env"
    monkeypatch.delenv("STRATOPT_DATA")
    import platformdirs

    assert resolve_cache_dir() == Path(platformdirs.user_cache_dir("stratopt")) / "prices"


def test_env_var_folder_receives_the_cache(fake_yf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATOPT_DATA", str(tmp_path / "env"))
    load_prices("yfinance", tickers=["KO"], start=START, end=END, downloader=fake_yf())
    assert (tmp_path / "env" / "yf-KO.parquet").is_file()


def test_unwritable_cache_still_returns_the_download(fake_yf, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.warns(StratoptWarning, match="could not cache KO"):
        prices = load(fake_yf(), not_a_folder, tickers=("KO",))
    assert prices.shape[1] == 1 and prices.notna().all().all()


def test_a_yfinance_download_can_be_passed_as_a_dataframe(fake_yf, sp500_raw: pd.DataFrame) -> None:
    download = fake_yf()(["AAPL", "MSFT"], start=START, end="2020-07-01", auto_adjust=True)
    prices = load_prices(download, tickers=["MSFT"])
    pd.testing.assert_frame_equal(
        prices,
        sp500_raw.loc[START:END, ["MSFT"]],
        check_names=False,
        check_freq=False,
        check_index_type=False,
    )
