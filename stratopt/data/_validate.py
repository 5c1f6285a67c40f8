"""Validation of a price table: one function that turns a loose table into the canonical form.

The canonical form, which every loader returns and every other part of stratopt can rely on:

- a :class:`pandas.DatetimeIndex` named ``date``: tz-naive, midnight, sorted, unique,
  ``datetime64[ns]`` (the same on pandas 2 and 3);
- one ``float64`` column per ticker, the column index named ``ticker``;
- positive, finite prices; NaN only before a ticker's first price (not listed yet).

Each problem is either an error (:class:`~stratopt.errors.DataError`, naming the ticker, the date
and the fix) or a repair that is logged and warned about with :class:`DataRepairWarning`.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from stratopt.errors import DataError, DataRepairWarning

__all__ = [
    "DEFAULT_MAX_GAP",
    "DataRepairWarning",
    "clean_dates",
    "parse_dates",
    "parse_valid_dates",
    "validate_prices",
]

logger = logging.getLogger("stratopt.data")

#: Longest run of missing days inside a ticker's history that is forward-filled. Five trading
#: days covers exchange holidays that differ between markets and short trading halts; a longer
#: hole is more likely a data fault, and filling it would invent a week of flat prices.
DEFAULT_MAX_GAP = 5

# Matches a trailing UTC offset ("Z", "+09:00", "-0500") so that mixed offsets can be dropped
# while keeping the local wall-clock date, which is the trading date of a daily bar.
# Only after a time of day, so that "02-01-2020" is not read as offset "-2020".
_OFFSET = r"^(.*\d:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}:?\d{2})$"


def _repair(message: str) -> None:
    logger.info(message)
    warnings.warn(message, DataRepairWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """Stack level of the first frame outside stratopt, so warnings point at the user's call."""
    frame, level = sys._getframe(2), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("stratopt"):
        frame, level = frame.f_back, level + 1
    return level


def _where(source: str | None) -> str:
    return f" in {source}" if source else ""


def _show(values: Sequence[object], limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in list(values)[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _day(stamp: pd.Timestamp) -> str:
    return f"{stamp:%Y-%m-%d}"


def parse_dates(values: object, *, source: str | None = None) -> pd.DatetimeIndex:
    """Parse date labels into a tz-naive, midnight ``DatetimeIndex``; unparseable labels give NaT.

    Timezone-aware labels keep their local wall-clock date (the trading date of a daily bar), so
    a file that mixes ``2020-01-02`` with ``2020-01-03T00:00:00-05:00`` lands on two
    consecutive days. Times of day are dropped, with a warning.

    Parameters
    ----------
    values
        Anything :class:`pandas.Index` accepts: strings, datetimes, integers like ``20200102``.
    source
        Where the labels come from, for messages.

    Returns
    -------
    pandas.DatetimeIndex
        Same length as ``values``; NaT where a label is not a date.
    """
    index = pd.Index(values)
    if isinstance(index, pd.DatetimeIndex):
        parsed = index
    else:
        if index.dtype.kind in "iu":  # 20200102 means a day, not nanoseconds since 1970
            index = index.astype(str)
        parsed = _parse_text(index, source)
    if parsed.tz is not None:
        logger.info("dropping the timezone %s of the dates%s", parsed.tz, _where(source))
        parsed = parsed.tz_localize(None)
    parsed = parsed.as_unit("ns")
    normalised = parsed.normalize()
    timed = int((normalised != parsed).sum()) - int(parsed.isna().sum())
    if timed > 0:
        _repair(f"{timed} dates{_where(source)} carry a time of day; kept only the day")
    return normalised


def _parse_text(index: pd.Index, source: str | None) -> pd.DatetimeIndex:
    text = index.astype("string").str.strip()
    offsets = pd.Series(text.str.extract(_OFFSET)[1].to_numpy(), dtype="string")
    if offsets.notna().any():
        labelled = np.asarray(text.notna()) & np.asarray((text != "").fillna(False), dtype=bool)
        if offsets[labelled].isna().any() or offsets.dropna().nunique() > 1:
            _repair(f"dates{_where(source)} mix timezones; kept each label's local date")
        else:
            logger.info(
                "dropping the UTC offset %s of the dates%s",
                offsets.dropna().iloc[0],
                _where(source),
            )
        text = text.str.replace(_OFFSET, r"\1", regex=True)
    parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce")).as_unit("ns")
    present = np.asarray(text.notna()) & np.asarray((text != "").fillna(False), dtype=bool)
    retry = np.asarray(parsed.isna()) & present
    if retry.any():  # labels in another format than the first one; rare, so parse one by one
        again = pd.DatetimeIndex(pd.to_datetime(text[retry], errors="coerce", format="mixed"))
        values = parsed.to_numpy().copy()
        values[retry] = again.as_unit("ns").to_numpy()
        parsed = pd.DatetimeIndex(values)
    return parsed


def validate_prices(
    prices: pd.DataFrame,
    *,
    max_gap: int = DEFAULT_MAX_GAP,
    source: str | None = None,
) -> pd.DataFrame:
    """Check a price table and bring it into stratopt's canonical form.

    Parameters
    ----------
    prices
        One row per date (the index holds the dates, in any parseable form) and one column of
        prices per ticker.
    max_gap
        Longest run of missing prices inside a ticker's history that is forward-filled (never
        back-filled). Longer runs are an error. ``0`` fills nothing.
    source
        Where the table comes from (a file name, a dataset name); used in messages.

    Returns
    -------
    pandas.DataFrame
        A new table in canonical form (see the module docstring).

    Raises
    ------
    DataError
        Duplicated dates, non-numeric columns, zero/negative/infinite prices, a ticker with no
        price at all, or a gap longer than ``max_gap``; each message names the ticker and date.

    Warns
    -----
    DataRepairWarning
        Rows whose date does not parse were dropped (with their count), rows were sorted, or
        gaps were forward-filled.

    Notes
    -----
    Missing prices before a ticker's first valid price stay NaN: the ticker was not listed yet,
    and later stages treat it as not tradable there. Missing prices after the last valid price
    count as a gap (a ticker that stopped trading must be dropped or the window shortened).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame(
    ...     {"A": [None, 10.0, None, 10.5], "B": [2.0, 2.1, 2.2, 2.3]},
    ...     index=["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"],
    ... )
    >>> prices = validate_prices(raw)  # warns: forward-filled 1 missing prices
    >>> prices["A"].tolist()  # not listed on the first day: NaN stays; the gap is filled
    [nan, 10.0, 10.0, 10.5]
    """
    if not isinstance(prices, pd.DataFrame):
        raise DataError(
            f"prices must be a pandas DataFrame, got {type(prices).__name__}: "
            "pass one column per ticker with dates as the index"
        )
    if isinstance(max_gap, bool) or not isinstance(max_gap, (int, np.integer)) or max_gap < 0:
        raise DataError(f"max_gap must be an integer >= 0, got {max_gap!r}")
    if prices.shape[1] == 0:
        raise DataError(f"the price table{_where(source)} has no ticker columns")
    frame = _clean_columns(prices, source)
    frame = clean_dates(frame, source=source)
    frame = _to_float(frame, source)
    _check_values(frame, source)
    frame = _fill_gaps(frame, int(max_gap), source)
    frame.index.name = "date"
    frame.index.freq = None
    frame.columns.name = "ticker"
    return frame


def _clean_columns(prices: pd.DataFrame, source: str | None) -> pd.DataFrame:
    if isinstance(prices.columns, pd.MultiIndex):
        raise DataError(
            f"the price table{_where(source)} has MultiIndex columns {list(prices.columns[:3])}; "
            "select one price field first (e.g. frame['Close']) so that columns are tickers"
        )
    names = [str(c).strip() for c in prices.columns]
    if any(not n for n in names):
        raise DataError(f"the price table{_where(source)} has a column with an empty name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"ticker columns {dupes} appear more than once{_where(source)}: keep one column each")
    frame = prices.copy()
    frame.columns = pd.Index(names, dtype=object)
    return frame


def parse_valid_dates(labels: object, *, source: str | None = None) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Parse date labels and drop those that are not dates, with a warning giving the count.

    Parameters
    ----------
    labels
        Date labels, one per row (see :func:`parse_dates`).
    source
        Where the labels come from, for messages.

    Returns
    -------
    dates : pandas.DatetimeIndex
        The parsed dates of the rows kept.
    keep : numpy.ndarray
        Boolean mask over ``labels``: True where the label parsed.
    """
    raw = pd.Index(labels)
    dates = parse_dates(raw, source=source)
    keep = ~np.asarray(dates.isna())
    if not keep.all():
        examples = [repr(v) for v in raw[~keep]]
        _repair(f"dropped {int((~keep).sum())} rows{_where(source)} whose date does not parse ({_show(examples, 3)})")
    return dates[keep], keep


def clean_dates(frame: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """Parse the index into dates: drop unparseable rows (warned), reject duplicates, sort.

    Parameters
    ----------
    frame
        Rows labelled by dates in any parseable form.
    source
        Where the rows come from, for messages.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with a sorted, unique, tz-naive ``DatetimeIndex``.
    """
    dates, keep = parse_valid_dates(frame.index, source=source)
    frame = frame.loc[keep]
    if len(dates) == 0:
        raise DataError(f"the price table{_where(source)} has no rows with a valid date")
    frame = frame.set_axis(dates, axis=0)
    duplicated = dates[dates.duplicated()].unique()
    if len(duplicated):
        raise DataError(
            f"dates appear more than once{_where(source)}: {_show([_day(d) for d in duplicated])}; "
            "keep one row per date"
        )
    if not dates.is_monotonic_increasing:
        _repair(f"rows{_where(source)} were not in date order; sorted them")
        frame = frame.sort_index()
    return frame


def _to_float(frame: pd.DataFrame, source: str | None) -> pd.DataFrame:
    columns = {}
    for ticker in frame.columns:
        column = frame[ticker]
        if column.dtype.kind == "b":
            raise DataError(f"column {ticker!r}{_where(source)} holds booleans, not prices")
        numeric = pd.to_numeric(column, errors="coerce")
        failed = numeric.isna() & column.notna()
        if column.dtype.kind not in "iuf" and failed.any():
            date, value = failed.idxmax(), column[failed.idxmax()]
            raise DataError(
                f"column {ticker!r}{_where(source)} is not numeric: {value!r} on {_day(date)} "
                f"({int(failed.sum())} such values); fix those cells or drop the column"
            )
        columns[ticker] = numeric.astype("float64")
    return pd.DataFrame(columns, index=frame.index)


def _check_values(frame: pd.DataFrame, source: str | None) -> None:
    values = frame.to_numpy()
    bad = ~np.isnan(values) & ~(np.isfinite(values) & (values > 0))
    if bad.any():
        rows, cols = np.nonzero(bad)
        ticker, date = frame.columns[cols[0]], frame.index[rows[0]]
        raise DataError(
            f"price of {ticker} on {_day(date)} is {float(values[rows[0], cols[0]]):g}"
            f"{_where(source)}; "
            f"prices must be positive and finite ({int(bad.sum())} bad values in all): "
            "fix or remove those rows"
        )
    empty = frame.columns[np.isnan(values).all(axis=0)]
    if len(empty):
        raise DataError(f"tickers {list(empty)} have no prices at all{_where(source)}: drop those columns")


def _fill_gaps(frame: pd.DataFrame, max_gap: int, source: str | None) -> pd.DataFrame:
    missing = frame.isna()
    listed = frame.notna().cummax()  # True from the first valid price on
    holes = missing & listed
    if not holes.to_numpy().any():
        return frame
    filled = frame.ffill(limit=max_gap) if max_gap > 0 else frame
    too_long = filled.isna() & listed
    if too_long.to_numpy().any():
        ticker = too_long.columns[too_long.any().to_numpy()][0]
        first, last = _gap_around(frame[ticker], int(too_long[ticker].to_numpy().argmax()))
        until = _day(frame.index[last]) + (" (end of data)" if last == len(frame) - 1 else "")
        raise DataError(
            f"{ticker} has no price for {last - first + 1} days in a row{_where(source)}, "
            f"from {_day(frame.index[first])} to {until}; at most {max_gap} are forward-filled: "
            f"fill that gap in the source, drop {ticker}, or pass a larger max_gap"
        )
    counts = (holes & filled.notna()).sum()
    counts = counts[counts > 0]
    _repair(
        f"forward-filled {int(counts.sum())} missing prices{_where(source)} "
        f"(gaps of at most {max_gap} days): " + ", ".join(f"{t} {n}" for t, n in counts.items())
    )
    return filled


def _gap_around(column: pd.Series, position: int) -> tuple[int, int]:
    """First and last position of the run of NaN that holds ``position``."""
    valid = column.notna().to_numpy()
    before = np.flatnonzero(valid[:position])
    after = np.flatnonzero(valid[position:])
    first = int(before[-1]) + 1 if len(before) else 0
    last = position + int(after[0]) - 1 if len(after) else len(column) - 1
    return first, last
