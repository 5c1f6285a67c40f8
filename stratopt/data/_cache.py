"""On-disk cache of downloaded prices: one Parquet file per ticker, written atomically.

Parquet (through pyarrow) keeps the float64 prices and the datetime index exactly, and carries
a small JSON header (when and for which dates the data was fetched) in its schema metadata.
A write goes to a temporary file in the cache folder, named after the ticker, the process id and
a random part (so that two processes writing the same ticker never share one), and is then
renamed over the old file with :func:`os.replace`, which is atomic on POSIX and Windows: a
reader sees the old file or the new one, never half of one, and a process killed mid-write
leaves the previous file intact (and at worst a stray ``.tmp-*`` file that is never read).
A read that finds the file gone or unreadable tries once more (another process may have been
replacing it); a file still unreadable then is corrupt, and
:class:`~stratopt.errors.CorruptCacheError` says so, with the file to delete.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stratopt.errors import ConfigError, CorruptCacheError

__all__ = [
    "CacheEntry",
    "check_ticker",
    "read_cache",
    "resolve_cache_dir",
    "write_cache",
]

logger = logging.getLogger("stratopt.data")

#: Environment variable naming the cache folder when no ``cache_dir`` argument is given.
ENV_VAR = "STRATOPT_DATA"

# Yahoo symbols: letters, digits and . - = ^ & (BRK-B, ^GSPC, EURUSD=X, 0700.HK, M&M.NS).
# No slash, backslash, whitespace or "..", so a ticker can never leave the cache folder.
_TICKER = re.compile(r"\^?[A-Z0-9][A-Z0-9.\-=&_]{0,31}")
_META_KEY = b"stratopt"
# Pause before the second read of a file that was gone or unreadable, and before retrying a
# rename that Windows refused because a reader had the old file open.
_RETRY_PAUSE = 0.05
_REPLACE_TRIES = 20


def check_ticker(ticker: object) -> str:
    """Validate a ticker symbol and return it upper-cased, as Yahoo spells it.

    Parameters
    ----------
    ticker
        The symbol to check, e.g. ``"aapl"``, ``"BRK-B"``, ``"^GSPC"``.

    Returns
    -------
    str
        The upper-cased symbol, safe to use in a file name.

    Raises
    ------
    ConfigError
        If ``ticker`` is not a string, is empty, holds whitespace, a path separator, ``..``
        or any character outside letters, digits and ``. - = ^ & _``.
    """
    if not isinstance(ticker, str):
        raise ConfigError(f"ticker {ticker!r} must be a string like 'AAPL'")
    symbol = ticker.upper()
    if not _TICKER.fullmatch(symbol) or ".." in symbol:
        raise ConfigError(
            f"ticker {ticker!r} is not a valid symbol: use letters, digits and . - = ^ & _ "
            "only (e.g. 'AAPL', 'BRK-B', '^GSPC'), without spaces, slashes or '..'"
        )
    return symbol


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``cache_dir`` if given, else ``$STRATOPT_DATA``, else the user cache.

    Parameters
    ----------
    cache_dir
        Explicit folder; created on first write.

    Returns
    -------
    pathlib.Path
        For the user cache this is ``platformdirs.user_cache_dir("stratopt") / "prices"``.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("stratopt")) / "prices"


@dataclass(frozen=True)
class CacheEntry:
    """Prices of one ticker read back from the cache, with when and what was fetched.

    Attributes
    ----------
    prices
        Adjusted close, indexed by date (NaN-free).
    fetched_at
        When the download happened (UTC).
    start, end
        The date range that was requested (``None``: open-ended), inclusive.
    path
        The cache file.
    """

    prices: pd.Series
    fetched_at: pd.Timestamp
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    path: Path

    def age(self, now: pd.Timestamp | None = None) -> pd.Timedelta:
        """Time since the download."""
        return (pd.Timestamp.now(tz="UTC") if now is None else now) - self.fetched_at

    def covers(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
        """Whether the fetched range includes ``[start, end]`` (``None``: open-ended)."""
        starts_early = self.start is None or (start is not None and self.start <= start)
        ends_late = self.end is None or (end is not None and self.end >= end)
        return starts_early and ends_late


def _path(folder: Path, ticker: str) -> Path:
    # A prefix keeps names like "CON" or "NUL" (reserved on Windows) usable.
    return folder / f"yf-{check_ticker(ticker)}.parquet"


def _write_parquet(table: pa.Table, handle: object) -> None:
    """Write a table to an open file (a seam that tests replace to simulate a crash)."""
    pq.write_table(table, handle)


def write_cache(
    folder: Path,
    ticker: str,
    prices: pd.Series,
    *,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    fetched_at: pd.Timestamp | None = None,
) -> Path:
    """Store one ticker's prices atomically, replacing any earlier file.

    Parameters
    ----------
    folder
        Cache folder; created if missing.
    ticker
        Symbol, validated with :func:`check_ticker` before it becomes a file name.
    prices
        Adjusted close indexed by date.
    start, end
        The requested date range, recorded so that later requests know what is covered.
    fetched_at
        Download time (UTC); now by default.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = _path(folder, ticker)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "ticker": check_ticker(ticker),
        "fetched_at": (pd.Timestamp.now(tz="UTC") if fetched_at is None else fetched_at).isoformat(),
        "start": None if start is None else start.isoformat(),
        "end": None if end is None else end.isoformat(),
    }
    frame = pd.DataFrame({"close": prices.astype("float64").to_numpy()}, index=prices.index)
    frame.index.name = "date"
    table = pa.Table.from_pandas(frame, preserve_index=True)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()})
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".tmp-{path.stem}-{os.getpid()}-", suffix=".parquet")
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_parquet(table, handle)
            handle.flush()
            os.fsync(handle.fileno())
        _replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info("cached %d prices of %s in %s", len(frame), meta["ticker"], path)
    return path


def _replace(tmp: str, path: Path) -> None:
    """``os.replace``, retried while Windows refuses to replace a file a reader holds open."""
    for attempt in range(_REPLACE_TRIES):
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            if os.name != "nt" or attempt == _REPLACE_TRIES - 1:
                raise
            time.sleep(_RETRY_PAUSE)


def _read_entry(path: Path, ticker: str) -> CacheEntry:
    # One open file, read whole: pq.read_table(path) may open the path twice (schema, then
    # data), and a writer replacing the file in between would pair one version's metadata
    # with another's prices. An open file keeps its version even after os.replace.
    with path.open("rb") as handle:
        table = pq.read_table(pa.BufferReader(handle.read()))
    meta = json.loads((table.schema.metadata or {})[_META_KEY])
    frame = table.to_pandas()
    prices = frame["close"].astype("float64")
    prices.index = pd.DatetimeIndex(prices.index, name="date")
    return CacheEntry(
        prices=prices.rename(meta.get("ticker", ticker)),
        fetched_at=pd.Timestamp(meta["fetched_at"]),
        start=None if meta["start"] is None else pd.Timestamp(meta["start"]),
        end=None if meta["end"] is None else pd.Timestamp(meta["end"]),
        path=path,
    )


def read_cache(folder: Path, ticker: str) -> CacheEntry | None:
    """Read one ticker's cached prices, or ``None`` if there are none.

    A file that is gone or unreadable on the first try is read once more after a short pause:
    another process may have been replacing it. A file still unreadable is corrupt (written by
    another program, truncated by a disk fault) and is never loaded as partial data.

    Raises
    ------
    CorruptCacheError
        The file exists but cannot be read, twice; the message names it and says to delete it.
    """
    path = _path(folder, ticker)
    for attempt in (1, 2):
        if not path.is_file():
            return None
        try:
            return _read_entry(path, ticker)
        except FileNotFoundError:  # replaced or deleted between the check and the read
            if attempt == 2:
                return None
        except (OSError, KeyError, TypeError, ValueError, pa.ArrowException) as exc:
            if attempt == 2:
                raise CorruptCacheError(
                    f"cache file {path} is corrupt ({type(exc).__name__}: {exc}): delete it; the next "
                    "download writes a fresh copy"
                ) from exc
        logger.info("cache file %s was gone or unreadable; reading it once more", path)
        time.sleep(_RETRY_PAUSE)
    return None  # pragma: no cover - the loop always returns or raises
