"""Prices from CSV files in the layouts people actually have.

Each file is recognised by its header (names compared case-insensitively, in any order):

- **long**: a date column, a ``ticker`` (or ``symbol``) column and a price column
  (``adj close`` preferred, then ``price``, ``close``, ``value``);
- **OHLCV, one ticker per file**, as yfinance and most vendors write them: a date column and
  price fields (open, high, low, close, adj close, volume, ...); ``Adj Close`` is used when
  present, else ``Close``; the ticker is the file name (``AAPL.csv`` -> ``AAPL``). A file with
  at least three of open/high/low/close/adj close/volume, a close among them, is OHLCV even
  with other columns (``VWAP``, ``Trades``, ...), which are ignored. yfinance's own two-row
  ``Price``/``Ticker`` header is read too, taking tickers from the header;
- **wide**: a date column and one price column per ticker.

The date column is the one named date, datetime, time or timestamp, else the first column.
A header that names a column twice is refused (pandas would silently rename the copy
``AAPL.1``).
Files may be gzip/bz2/xz/zip compressed. A folder, or a list of paths, combines files that hold
distinct tickers.
"""

from __future__ import annotations

import logging
import lzma
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from stratopt.data._dates import check_date_format
from stratopt.data._validate import clean_dates, parse_valid_dates
from stratopt.data._yfinance import OHLCV_FIELDS, close_from_frame, field_name, looks_like_bars
from stratopt.errors import DataError

__all__ = ["PathLike", "is_csv_name", "read_csv_prices"]

logger = logging.getLogger("stratopt.data")

PathLike: TypeAlias = str | os.PathLike[str]

_DATE_NAMES = ("date", "datetime", "time", "timestamp")
_TICKER_NAMES = ("ticker", "symbol")
_LONG_PRICE_NAMES = ("adj close", "price", "close", "value")
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip")
_TABLE = (".csv", ".txt")


def is_csv_name(path: Path) -> bool:
    """Whether a file name looks like a (possibly compressed) CSV file."""
    name = path.name.lower()
    for suffix in _COMPRESSION:
        name = name.removesuffix(suffix)
    return name.endswith(_TABLE) and not path.name.startswith(".")


def _ticker_from_name(path: Path) -> str:
    name = path.name
    for suffix in _COMPRESSION + _TABLE:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _expand(source: PathLike | Sequence[PathLike]) -> list[Path]:
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not items:
        raise DataError("the list of CSV paths is empty: pass at least one file or folder")
    paths: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and is_csv_name(p))
            if not found:
                raise DataError(
                    f"folder {path} holds no CSV files (*.csv, *.csv.gz, ...): "
                    "put one file per ticker or one wide/long file there"
                )
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise FileNotFoundError(f"price file {str(path)!r} does not exist: check the path")
    return paths


def _compression(path: Path) -> str | None:
    """The compression a file name implies, as pandas infers it: ``"gzip"``, ``"zip"``, ..."""
    name = path.name.lower()
    names = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zip": "zip"}
    return next((names[suffix] for suffix in _COMPRESSION if name.endswith(suffix)), None)


def _check_zip(path: Path) -> None:
    """A zip file must hold exactly one member, the CSV table (pandas' own rule, said plainly)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot read {path} as a zip file ({exc}): check that it is a valid zip archive") from exc
    if len(names) != 1:
        shown = ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
        raise DataError(
            f"zip file {path} holds {len(names)} entries ({shown or 'none'}), not one CSV file: "
            "unzip it and pass the folder, or zip each CSV file on its own"
        )


def _read(path: Path, **kwargs: Any) -> pd.DataFrame:
    compression = _compression(path)
    if compression == "zip":
        _check_zip(path)
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} as CSV ({exc}): check that it is a text table") from exc
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        # gzip.BadGzipFile and bz2's "Invalid data stream" are OSErrors, a truncated archive an
        # EOFError, a damaged xz file an LZMAError; pandas raises ValueError for odd zip files.
        what = f"a {compression} compressed CSV file" if compression else "a CSV text file"
        raise DataError(
            f"cannot read {path} ({type(exc).__name__}: {exc}): check that it is {what}"
            + (" (decompress it by hand to see what is inside)" if compression else "")
        ) from exc


def _is_yfinance_header(path: Path) -> bool:
    head = _read(path, header=None, nrows=2, dtype=str, usecols=[0])
    firsts = [str(v).strip().lower() for v in head.iloc[:, 0]]
    return firsts == ["price", "ticker"]


def _check_header(path: Path) -> None:
    """Refuse a header that names a column twice: pandas would rename the copy ``AAPL.1``."""
    header = _read(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    names = [str(v) for v in header.iloc[0]] if len(header) else []
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        if name.strip():
            seen.setdefault(name, []).append(position)
    repeated = {name: places for name, places in seen.items() if len(places) > 1}
    if repeated:
        name, places = next(iter(repeated.items()))
        where = ", ".join(str(p) for p in places)
        more = f" (and {len(repeated) - 1} more repeated names)" if len(repeated) > 1 else ""
        raise DataError(
            f"{path} has the column {name!r} {len(places)} times (columns {where}){more}: "
            "keep one column per name (pandas would silently rename the copies "
            f"{name + '.1'!r}, ...)"
        )


def _read_file(path: Path, date_format: str | None) -> pd.DataFrame:
    """One file as a wide table of raw prices, with parsed dates."""
    source = str(path)
    if _is_yfinance_header(path):
        raw = _read(path, header=[0, 1], index_col=0)
        logger.info("%s: yfinance two-row header, tickers from the header", path)
        return clean_dates(close_from_frame(raw), source=source, date_format=date_format)
    _check_header(path)
    raw = _read(path)
    names = [field_name(c) for c in raw.columns]
    date_col = next((c for c, n in zip(raw.columns, names, strict=True) if n in _DATE_NAMES), raw.columns[0])
    others = {c: n for c, n in zip(raw.columns, names, strict=True) if c != date_col}
    if set(others.values()) & set(_TICKER_NAMES):
        return _from_long(raw, date_col, others, source, date_format)
    fields = set(others.values())
    if others and (fields <= OHLCV_FIELDS or looks_like_bars(fields, need_close=False)):
        if not fields & {"close", "adj close"}:
            raise DataError(
                f"{path} has price fields {list(others)} but no 'Close' or 'Adj Close' column: "
                "add one (stratopt uses adjusted close)"
            )
        ticker = _ticker_from_name(path)
        extra = [c for c, n in others.items() if n not in OHLCV_FIELDS]
        logger.info(
            "%s: one-ticker OHLCV file, ticker %r from the file name%s",
            path,
            ticker,
            f"; ignoring the columns {extra}" if extra else "",
        )
        bars = raw.set_index(date_col).drop(columns=extra)
        return clean_dates(close_from_frame(bars, [ticker]), source=source, date_format=date_format)
    return clean_dates(raw.set_index(date_col), source=source, date_format=date_format)


def _from_long(
    raw: pd.DataFrame,
    date_col: object,
    others: dict[object, str],
    source: str,
    date_format: str | None,
) -> pd.DataFrame:
    ticker_col = next(c for c, n in others.items() if n in _TICKER_NAMES)
    price_col = next((c for name in _LONG_PRICE_NAMES for c, n in others.items() if n == name), None)
    if price_col is None:
        raise DataError(
            f"{source} looks like a long table (it has a {ticker_col!r} column) but has no price "
            f"column among {list(others)}: name one 'price', 'close' or 'adj close'"
        )
    table = raw[[date_col, ticker_col, price_col]].set_axis(["date", "ticker", "price"], axis=1)
    dates, keep = parse_valid_dates(table["date"], source=source, date_format=date_format)
    table = table.loc[keep].assign(date=dates)
    table["ticker"] = table["ticker"].astype(str)  # names are checked, and stripped, in validate_prices
    duplicated = table[table.duplicated(["date", "ticker"])]
    if len(duplicated):
        pairs = [f"{t} on {d:%Y-%m-%d}" for d, t in zip(duplicated["date"], duplicated["ticker"], strict=True)]
        raise DataError(
            f"{source} lists the same ticker and date more than once ({', '.join(pairs[:5])}): "
            "keep one price per ticker and date"
        )
    wide = table.pivot(index="date", columns="ticker", values="price")
    wide.columns = pd.Index([str(c) for c in wide.columns], dtype=object)
    return clean_dates(wide, source=source)


def read_csv_prices(
    source: PathLike | Sequence[PathLike],
    *,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Read one or more CSV files of prices into one wide table.

    Parameters
    ----------
    source
        A file, a folder (every ``*.csv``/``*.csv.gz`` in it), or a list of files and folders.
    date_format
        strftime pattern of the date column, e.g. ``"%d/%m/%Y"``; inferred when ``None``
        (numeric dates are read day first or month first by evidence, see
        :mod:`stratopt.data._dates`).

    Returns
    -------
    pandas.DataFrame
        Raw wide table with parsed, sorted dates and one column per ticker (values not yet
        validated; see :func:`~stratopt.data.validate_prices`).

    Raises
    ------
    FileNotFoundError
        A path does not exist.
    DataError
        A file cannot be read, has no recognisable layout, names a column twice, or two files
        hold the same ticker.
    """
    date_format = check_date_format(date_format)
    paths = _expand(source)
    frames = [_read_file(path, date_format) for path in paths]
    owner: dict[str, Path] = {}
    for path, frame in zip(paths, frames, strict=True):
        for ticker in frame.columns:
            if ticker in owner:
                raise DataError(
                    f"ticker {ticker!r} is in both {owner[ticker]} and {path}: keep each ticker in one file"
                )
            owner[ticker] = path
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, axis=1, join="outer", sort=True)
