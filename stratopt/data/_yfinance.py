"""Prices from Yahoo Finance through yfinance, cached on disk, with an honest offline story.

yfinance does not raise when it cannot reach Yahoo: it prints an error and returns an EMPTY
DataFrame whose columns are the usual ``(Price, Ticker)`` MultiIndex. This module checks for
that itself, falls back to the on-disk cache with a :class:`~stratopt.errors.StaleCacheWarning`
that says how old the copy is, and otherwise raises
:class:`~stratopt.errors.DataUnavailableError` naming the tickers and the ways out.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stratopt.data._cache import (
    ENV_VAR,
    CacheEntry,
    check_ticker,
    read_cache,
    resolve_cache_dir,
    write_cache,
)
from stratopt.data._dates import parse_dates
from stratopt.errors import (
    ConfigError,
    CorruptCacheError,
    DataError,
    DataUnavailableError,
    StaleCacheWarning,
    StratoptWarning,
    caller_level,
)

__all__ = [
    "DEFAULT_MAX_AGE",
    "OHLCV_FIELDS",
    "Downloader",
    "close_from_frame",
    "field_name",
    "load_yfinance",
    "looks_like_bars",
]

logger = logging.getLogger("stratopt.data")

_FIELD_ALIASES = {"adjclose": "adj close", "adjusted close": "adj close", "adj. close": "adj close"}

#: Column names of one ticker's bars as yfinance and vendors write them (see :func:`field_name`).
OHLCV_FIELDS = frozenset(
    {
        "open",
        "high",
        "low",
        "close",
        "adj close",
        "volume",
        "dividends",
        "stock splits",
        "capital gains",
        "repaired?",
    }
)
# Three of these (with a close among them) make a table one ticker's bars even when it has
# other columns too (VWAP, trade count, ...): a wide table of tickers does not look like that.
_BAR_FIELDS = frozenset({"open", "high", "low", "close", "adj close", "volume"})

#: A function with the signature of :func:`yfinance.download` (tickers first, then keywords).
Downloader = Callable[..., pd.DataFrame | None]

#: Cached prices younger than this that cover the requested dates are used without a download.
DEFAULT_MAX_AGE = dt.timedelta(days=1)


def close_from_frame(frame: pd.DataFrame, tickers: Sequence[str] = ()) -> pd.DataFrame:
    """Adjusted close per ticker from a frame shaped like yfinance's output.

    Per ticker, ``Adj Close`` is used when it holds data, else ``Close`` (which yfinance
    adjusts for splits and dividends under its default ``auto_adjust=True``). Field names are
    matched case-insensitively, and either column level may hold them.

    Parameters
    ----------
    frame
        ``(Price, Ticker)`` or ``(Ticker, Price)`` MultiIndex columns, or flat OHLCV columns
        for a single ticker.
    tickers
        Needed only for flat columns: the one ticker they belong to.

    Returns
    -------
    pandas.DataFrame
        One column per ticker, with the index of ``frame``.
    """
    if isinstance(frame.columns, pd.MultiIndex):
        level = _price_level(frame.columns)
        fields = frame.columns.get_level_values(level)
        names = frame.columns.get_level_values(1 - level)
    elif len(tickers) == 1:
        fields = frame.columns
        names = pd.Index([tickers[0]] * len(frame.columns))
    else:
        raise DataError(
            f"cannot tell which tickers the columns {list(frame.columns)} belong to: "
            "pass a frame with (Price, Ticker) MultiIndex columns"
        )
    lowered = pd.Index([field_name(f) for f in fields])
    closes = {}
    for name in dict.fromkeys(names):
        for field in ("adj close", "close"):
            hits = (lowered == field) & (names == name)
            if hits.any() and frame.loc[:, hits].iloc[:, 0].notna().any():
                closes[str(name)] = frame.loc[:, hits].iloc[:, 0]
                break
        else:
            closes[str(name)] = pd.Series(float("nan"), index=frame.index)
    return pd.DataFrame(closes, index=frame.index)


def looks_like_bars(fields: set[str], *, need_close: bool = True) -> bool:
    """Whether column names (as :func:`field_name` gives them) are one ticker's OHLCV bars.

    Three or more of open/high/low/close/adj close/volume, a close among them unless
    ``need_close`` is False (a bar file without a close is then an error of its own).
    """
    bars = fields & _BAR_FIELDS
    return len(bars) >= 3 and (not need_close or bool(bars & {"close", "adj close"}))


def field_name(label: object) -> str:
    """Canonical lower-case name of a price field: ``Adj_Close``, ``adjclose`` -> ``adj close``."""
    name = re.sub(r"[\s_]+", " ", str(label).strip().lower())
    return _FIELD_ALIASES.get(name, name)


def _price_level(columns: pd.MultiIndex) -> int:
    for level in (0, 1):
        values = {field_name(v) for v in columns.get_level_values(level)}
        if values & {"close", "adj close"}:
            return level
    raise DataError(
        f"no 'Close' or 'Adj Close' field among the columns {list(columns[:6])}: "
        "download daily prices (yfinance.download) or pass a price table"
    )


def _download(
    symbols: list[str],
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    downloader: Downloader | None,
) -> tuple[dict[str, pd.Series], str]:
    """Prices that came back, by symbol, and a note on what went wrong (empty if nothing)."""
    if downloader is None:
        import yfinance

        downloader = yfinance.download
    kwargs: dict[str, Any] = {"auto_adjust": True, "progress": False, "actions": False}
    if start is None:
        kwargs["period"] = "max"
    else:
        kwargs["start"] = start.strftime("%Y-%m-%d")
    if end is not None:  # yfinance's end is exclusive, ours inclusive
        kwargs["end"] = (end + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    try:
        frame = downloader(symbols, **kwargs)
    except Exception as exc:  # network failures surface as many exception types across versions
        logger.warning("yfinance download of %s raised %r", symbols, exc)
        return {}, f"yfinance raised {type(exc).__name__}: {exc}"
    if frame is None or frame.empty:
        return {}, "yfinance returned an empty table, as it does when offline"
    closes = close_from_frame(frame, symbols)
    closes.index = parse_dates(closes.index, source="yfinance")
    got = {s: closes[s].dropna() for s in symbols if s in closes and closes[s].notna().any()}
    note = "" if len(got) == len(symbols) else "yfinance returned no prices for some tickers"
    return got, note


def _store(
    folder: Path,
    symbol: str,
    prices: pd.Series,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> None:
    # The new download replaces the old file rather than merging with it: adjusted prices are
    # rescaled back in time at every dividend, so series fetched on different days do not join.
    try:
        write_cache(folder, symbol, prices, start=start, end=end)
    except OSError as exc:  # a read-only or full disk should not lose data already downloaded
        message = f"could not cache {symbol} in {folder} ({exc}); set cache_dir or $STRATOPT_DATA"
        logger.info(message)
        warnings.warn(message, StratoptWarning, stacklevel=caller_level())


def _stale_message(symbol: str, entry: CacheEntry, note: str, covered: bool) -> str:
    age = entry.age()
    days, hours = age.days, age.seconds // 3600
    span = f"{entry.prices.index[0]:%Y-%m-%d} to {entry.prices.index[-1]:%Y-%m-%d}" if len(entry.prices) else "no dates"
    return (
        f"download of {symbol} failed ({note}); using the cached copy from "
        f"{entry.fetched_at:%Y-%m-%d %H:%M} UTC, {days} days {hours} hours old "
        f"(prices {span}, file {entry.path})" + ("" if covered else "; it does not cover all the requested dates")
    )


def load_yfinance(
    tickers: Sequence[str],
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    max_age: dt.timedelta = DEFAULT_MAX_AGE,
    downloader: Downloader | None = None,
) -> pd.DataFrame:
    """Daily adjusted close from Yahoo Finance, through the on-disk cache.

    A ticker whose cached copy is younger than ``max_age`` and covers ``[start, end]`` is served
    from the cache. The others are downloaded in one call and cached; when the download fails,
    an older cached copy is used with a :class:`~stratopt.errors.StaleCacheWarning`.

    Parameters
    ----------
    tickers
        Yahoo symbols; validated with :func:`~stratopt.data._cache.check_ticker` before any
        file is touched.
    start, end
        Inclusive date range; ``None`` for the whole history / up to today.
    cache_dir
        Cache folder (see :func:`~stratopt.data._cache.resolve_cache_dir`).
    max_age
        How old a cached copy may be before a fresh download is attempted.
    downloader
        Replaces :func:`yfinance.download` (for tests, proxies or other vendors).

    Returns
    -------
    pandas.DataFrame
        Raw wide table, one column per ticker (not yet validated).

    Raises
    ------
    DataUnavailableError
        A ticker could neither be downloaded nor found in the cache.
    CorruptCacheError
        A ticker could not be downloaded and its cache file is unreadable (the message names
        the file to delete). When the download works, it simply replaces such a file.
    """
    if isinstance(tickers, str) or not tickers:
        raise ConfigError(
            f"source='yfinance' needs a list of tickers, got {tickers!r}: "
            "pass tickers=['AAPL', 'MSFT'] (or --tickers AAPL,MSFT)"
        )
    if pd.Timedelta(max_age) < pd.Timedelta(0):
        raise ConfigError(f"max_age must be >= 0, got {max_age!r}")
    symbols = list(dict.fromkeys(check_ticker(t) for t in tickers))
    folder = resolve_cache_dir(cache_dir)
    cached: dict[str, CacheEntry | None] = {}
    corrupt: dict[str, CorruptCacheError] = {}
    for symbol in symbols:
        try:
            cached[symbol] = read_cache(folder, symbol)
        except CorruptCacheError as exc:  # a download replaces it; without one, it is the error
            logger.info("%s", exc)
            cached[symbol], corrupt[symbol] = None, exc
    prices: dict[str, pd.Series] = {}
    for symbol, entry in cached.items():
        if entry and entry.covers(start, end) and entry.age() <= pd.Timedelta(max_age):
            logger.info("using cached %s from %s", symbol, entry.path)
            prices[symbol] = entry.prices
    wanted = [s for s in symbols if s not in prices]
    if wanted:
        fetched, note = _download(wanted, start, end, downloader)
        for symbol in wanted:
            entry = cached[symbol]
            if symbol in fetched:
                _store(folder, symbol, fetched[symbol], start, end)
                prices[symbol] = fetched[symbol]
            elif entry is not None:
                message = _stale_message(symbol, entry, note, entry.covers(start, end))
                logger.info(message)
                warnings.warn(message, StaleCacheWarning, stacklevel=caller_level())
                prices[symbol] = entry.prices
        missing = [s for s in symbols if s not in prices]
        broken = [s for s in missing if s in corrupt]
        if broken:
            raise CorruptCacheError(
                f"could not download {broken} ({note}), and the cached copy is unusable: "
                f"{corrupt[broken[0]]}" + (f" ({len(broken)} such files)" if len(broken) > 1 else "")
            ) from corrupt[broken[0]]
        if missing:
            raise DataUnavailableError(
                f"could not get prices for {missing} from yfinance ({note}) and found no cached "
                f"copy in {folder}: connect to the internet and retry, point cache_dir (or "
                f"${ENV_VAR}) at a folder that holds a cache, or use a CSV file of prices as "
                "the source instead"
            )
    return pd.DataFrame({s: prices[s] for s in symbols})
