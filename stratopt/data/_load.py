"""The one entry point for prices: ``load_prices(source, ...)`` for every kind of source."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

import pandas as pd

from stratopt.data._bundled import BUNDLED, read_bundled
from stratopt.data._csv import read_csv_prices
from stratopt.data._dates import check_date_format
from stratopt.data._jumps import OnJump, check_on_jump
from stratopt.data._names import check_ticker_names, invisible_characters
from stratopt.data._validate import DEFAULT_MAX_GAP, validate_prices
from stratopt.data._yfinance import DEFAULT_MAX_AGE, Downloader, close_from_frame, load_yfinance
from stratopt.errors import ConfigError, DataError

__all__ = ["PriceSource", "load_prices", "parse_tickers"]

#: What :func:`load_prices` accepts as ``source``.
PriceSource: TypeAlias = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | pd.DataFrame

#: A date as :func:`load_prices` accepts it for ``start`` and ``end``.
DateLike: TypeAlias = str | dt.date | pd.Timestamp | None


def load_prices(
    source: PriceSource = "sp500",
    *,
    tickers: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    start: DateLike = None,
    end: DateLike = None,
    max_gap: int = DEFAULT_MAX_GAP,
    cache_dir: str | os.PathLike[str] | None = None,
    max_age: dt.timedelta = DEFAULT_MAX_AGE,
    downloader: Downloader | None = None,
    date_format: str | None = None,
    on_jump: OnJump = "warn",
) -> pd.DataFrame:
    """Load daily adjusted close prices from any supported source, validated.

    Parameters
    ----------
    source
        - a bundled dataset name: ``"sp500"`` (20 large US stocks, 1990-2022) or
          ``"sp500-index"`` (see :func:`~stratopt.data.datasets`); a bundled name wins over a
          file of the same name in the working folder;
        - ``"yfinance"``: download ``tickers`` from Yahoo Finance, cached on disk;
        - a CSV file (wide, long or one-ticker OHLCV; see :mod:`stratopt.data._csv`), a folder
          of CSV files, or a list of files;
        - a DataFrame with dates as index and one column per ticker, or the
          ``(Price, Ticker)`` frame that ``yfinance.download`` returns (adjusted close is taken).
    tickers
        Tickers to keep (a list, or one string like ``"AAPL,MSFT"``); all when ``None``.
        Required for ``"yfinance"``. Matched exactly, else case-insensitively.
    exclude
        Tickers to drop (same forms as ``tickers``), e.g. those not yet listed at ``start``;
        each must be in the source.
    start, end
        Inclusive date range; the whole history when ``None``. Compared with the loaded dates,
        which are tz-naive: a tz-aware index keeps each bar's date in its own timezone (see
        :func:`~stratopt.data._dates.parse_dates`), and a tz-aware ``start`` or ``end`` counts
        as its own local date (``Timestamp("2010-01-04 00:00", tz="Asia/Tokyo")`` is
        2010-01-04).
    max_gap
        Longest run of missing prices that is forward-filled (see
        :func:`~stratopt.data.validate_prices`).
    cache_dir
        yfinance cache folder; default ``$STRATOPT_DATA``, else the user cache folder.
    max_age
        yfinance: a cached copy younger than this is used without downloading.
    downloader
        yfinance: replaces :func:`yfinance.download` (tests, proxies).
    date_format
        CSV files and DataFrames with text dates: the strftime pattern of the dates, e.g.
        ``"%d/%m/%Y"``. By default ISO and other unambiguous forms are inferred, and numeric
        dates such as ``02/01/2011`` are read day first or month first only when the labels
        settle the order (a day above 12, dates in sequence, no weekend dates); otherwise
        a DataError asks for ``date_format``.
    on_jump
        Price jumps that look like data faults (a one-day spike, an unadjusted split):
        ``"warn"`` (default), ``"raise"`` or ``"ignore"`` (see
        :func:`~stratopt.data.validate_prices`).

    Returns
    -------
    pandas.DataFrame
        DatetimeIndex named ``date`` (tz-naive, sorted, unique), one ``float64`` column per
        ticker (column index named ``ticker``). NaN only before a ticker's first price.

    Raises
    ------
    DataError
        Bad values or layout (named ticker and date), an unknown ticker (the available ones are
        listed), a filter that leaves nothing (the filter is named), or a file that cannot be
        read (a damaged archive, a zip holding more than one file; the file is named).
    ConfigError
        ``source`` is of a kind not listed above (``None``, a number, ...), or ``start`` is
        after ``end``.
    DataUnavailableError
        yfinance is unreachable and nothing is cached; its subclass
        :class:`~stratopt.errors.CorruptCacheError` when the cached copy is unreadable (the
        message names the file to delete).
    FileNotFoundError
        ``source`` is neither a dataset name nor an existing path.

    Examples
    --------
    >>> from stratopt.data import load_prices
    >>> prices = load_prices("sp500", tickers=["AAPL", "MSFT"], start="2020-01-01")
    >>> prices.shape
    (754, 2)
    """
    first, last = _bound(start, "start"), _bound(end, "end")
    if first is not None and last is not None and first > last:
        raise ConfigError(f"start={first:%Y-%m-%d} is after end={last:%Y-%m-%d}: swap them")
    _check_source(source)
    date_format = check_date_format(date_format)
    on_jump = check_on_jump(on_jump)
    wanted = None if tickers is None else parse_tickers(tickers)
    dropped = None if exclude is None else parse_tickers(exclude)
    if isinstance(source, pd.DataFrame):
        # A yf.download(...) result can be passed as it is: take its adjusted close.
        raw = close_from_frame(source) if isinstance(source.columns, pd.MultiIndex) else source
        label = "the given DataFrame"
    elif isinstance(source, str) and source in BUNDLED:
        raw, label = read_bundled(source), f"bundled dataset {source!r}"
    elif isinstance(source, str) and source == "yfinance":
        if wanted is None:
            raise ConfigError(
                "source='yfinance' needs tickers: pass tickers=['AAPL', 'MSFT'] "
                "(or --tickers AAPL,MSFT on the command line)"
            )
        raw = load_yfinance(
            wanted,
            start=first,
            end=last,
            cache_dir=cache_dir,
            max_age=max_age,
            downloader=downloader,
        )
        label, wanted = "yfinance", None
    else:
        if isinstance(source, (str, os.PathLike)) and not Path(source).expanduser().exists():
            raise FileNotFoundError(
                f"source {str(source)!r} is not a bundled dataset ({', '.join(BUNDLED)}), "
                "'yfinance', or an existing file or folder: check the name or the path"
            )
        raw = read_csv_prices(source, date_format=date_format)
        label = str(source) if isinstance(source, (str, os.PathLike)) else "the given files"
    if wanted is not None:
        if not isinstance(raw.columns, pd.MultiIndex):
            raw = raw.set_axis(check_ticker_names(raw.columns, source=label), axis=1)
        raw = raw[_select([str(c) for c in raw.columns], wanted, label)]
    if dropped is not None:
        names = [str(c) for c in raw.columns]
        gone = set(_select(names, dropped, label))
        if gone == set(names):
            raise DataError(f"exclude={dropped} drops every ticker of {label}: keep at least one")
        raw = raw[[c for c, name in zip(raw.columns, names) if name not in gone]]
    prices = validate_prices(raw, max_gap=max_gap, source=label, date_format=date_format, on_jump=on_jump)
    return _window(prices, first, last, label)


_ACCEPTED = (
    "a bundled dataset name ('sp500', 'sp500-index'), 'yfinance', a CSV file or folder path, "
    "a list of such paths, or a DataFrame of prices"
)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_source(source: object) -> None:
    """Refuse a ``source`` of the wrong kind with one line saying what is accepted."""
    if isinstance(source, (str, os.PathLike, pd.DataFrame)):
        return
    if isinstance(source, pd.Series):
        raise ConfigError(
            f"source is a pandas Series ({source.name!r}); pass a DataFrame instead, e.g. "
            "series.to_frame('AAPL'), with dates as the index and one column per ticker"
        )
    if isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
        for item in source:
            if not isinstance(item, (str, os.PathLike)):
                raise ConfigError(
                    f"source list item {_short(item)} ({type(item).__name__}) is not a path: "
                    "a list source holds CSV file or folder paths only"
                )
        return
    raise ConfigError(f"source={_short(source)} ({type(source).__name__}) is not a price source: pass {_ACCEPTED}")


def parse_tickers(tickers: str | Sequence[str]) -> list[str]:
    """Split ``"AAPL, MSFT"`` or a list into distinct, stripped ticker strings, in order.

    Raises
    ------
    ConfigError
        If nothing is left, an item is not a string, or an item holds an invisible character
        (a zero-width space, a control character; see :mod:`stratopt.data._names`).
    """
    items = re.split(r"[,\s]+", tickers) if isinstance(tickers, str) else list(tickers)
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"ticker {item!r} must be a string like 'AAPL'")
        hidden = invisible_characters(item.strip())
        if hidden:
            raise ConfigError(f"ticker {item!r} holds invisible characters ({', '.join(hidden)}): retype it")
    names = list(dict.fromkeys(i.strip() for i in items if i.strip()))
    if not names:
        raise ConfigError(f"tickers={tickers!r} names no ticker: pass e.g. ['AAPL', 'MSFT']")
    return names


def _bound(value: DateLike, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}={value!r} is not a date: use the form 2020-01-31") from exc
    if pd.isna(stamp):
        raise ConfigError(f"{name}={value!r} is not a date: use the form 2020-01-31")
    if stamp.tz is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def _select(available: list[str], wanted: list[str], label: str) -> list[str]:
    by_upper: dict[str, list[str]] = {}
    for name in available:
        by_upper.setdefault(name.upper(), []).append(name)
    chosen, unknown = [], []
    for ticker in wanted:
        if ticker in available:
            chosen.append(ticker)
        elif len(by_upper.get(ticker.upper(), [])) == 1:
            chosen.append(by_upper[ticker.upper()][0])
        else:
            unknown.append(ticker)
    if unknown:
        shown = ", ".join(sorted(available)[:40]) + (", ..." if len(available) > 40 else "")
        raise DataError(f"tickers {unknown} are not in {label}; available: {shown}")
    return list(dict.fromkeys(chosen))


def _window(prices: pd.DataFrame, first: pd.Timestamp | None, last: pd.Timestamp | None, label: str) -> pd.DataFrame:
    lo, hi = prices.index[0], prices.index[-1]
    span = f"{label} covers {lo:%Y-%m-%d} to {hi:%Y-%m-%d}"
    if first is not None and first > hi:
        raise DataError(f"start={first:%Y-%m-%d} leaves no rows: {span}; choose an earlier start")
    if last is not None and last < lo:
        raise DataError(f"end={last:%Y-%m-%d} leaves no rows: {span}; choose a later end")
    window = prices.loc[first:last]
    if window.empty:
        raise DataError(
            f"start={first:%Y-%m-%d} and end={last:%Y-%m-%d} leave no rows between them "
            f"({span}, with no dates in that range): widen the range"
        )
    blank = window.columns[window.isna().all().to_numpy()]
    if len(blank):
        listed = ", ".join(f"{t} from {prices[t].first_valid_index():%Y-%m-%d}" for t in blank)
        raise DataError(
            f"tickers {list(blank)} have no prices from {window.index[0]:%Y-%m-%d} to "
            f"{window.index[-1]:%Y-%m-%d} (they trade {listed}): choose a later start or drop them with "
            f"exclude={[str(t) for t in blank]} (--exclude {','.join(str(t) for t in blank)})"
        )
    return window
