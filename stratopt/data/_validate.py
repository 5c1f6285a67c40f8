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

import numpy as np
import pandas as pd

from stratopt.data._dates import as_index, check_date_format, parse_dates
from stratopt.data._jumps import OnJump, check_jumps, check_on_jump
from stratopt.data._names import check_ticker_names
from stratopt.data._report import day as _day
from stratopt.data._report import repair as _repair
from stratopt.data._report import show as _show
from stratopt.data._report import where as _where
from stratopt.data._yfinance import field_name, looks_like_bars
from stratopt.errors import DataError, DataRepairWarning

__all__ = [
    "DEFAULT_MAX_GAP",
    "DataRepairWarning",
    "clean_dates",
    "parse_dates",
    "parse_valid_dates",
    "validate_prices",
]

#: Longest run of missing days inside a ticker's history that is forward-filled. Five trading
#: days covers exchange holidays that differ between markets and short trading halts; a longer
#: hole is more likely a data fault, and filling it would invent a week of flat prices.
DEFAULT_MAX_GAP = 5


def validate_prices(
    prices: pd.DataFrame,
    *,
    max_gap: int = DEFAULT_MAX_GAP,
    source: str | None = None,
    date_format: str | None = None,
    on_jump: OnJump = "warn",
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
    date_format
        strftime pattern of text dates in the index, e.g. ``"%d/%m/%Y"``; by default numeric
        dates are read day first or month first by evidence (see
        :func:`~stratopt.data._dates.parse_dates`) and ISO or other forms are inferred.
    on_jump
        What to do about price jumps that look like data faults (a one-day spike, a move to
        within 1% of a split ratio, a fourfold move; see :mod:`stratopt.data._jumps`):
        ``"warn"`` (one :class:`~stratopt.errors.SuspiciousPriceWarning` naming each ticker and
        date), ``"raise"`` (a DataError) or ``"ignore"``.

    Returns
    -------
    pandas.DataFrame
        A new table in canonical form (see the module docstring).

    Raises
    ------
    DataError
        Duplicated dates, non-numeric columns, zero/negative/infinite prices, a ticker with no
        price at all, or a gap longer than ``max_gap``; each message names the ticker and date.
        Suspicious jumps when ``on_jump="raise"``. Ticker names holding invisible characters (``"X\\u200bOM"``), or equal once the spaces
        around them are stripped (see :mod:`stratopt.data._names`).
        Dates like ``02/01/2011`` whose day/month order cannot be told apart (pass
        ``date_format``).

    Warns
    -----
    DataRepairWarning
        Rows whose date does not parse were dropped (with their count), rows were sorted,
        dates were read day first (the format used is named), spaces around ticker names were
        stripped, or gaps were forward-filled.
    SuspiciousPriceWarning
        Price jumps that look like data faults (``on_jump="warn"``), each named by ticker and
        date in one warning.

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
    date_format = check_date_format(date_format)
    on_jump = check_on_jump(on_jump)
    if prices.shape[1] == 0:
        raise DataError(f"the price table{_where(source)} has no ticker columns")
    frame = _clean_columns(prices, source)
    frame = clean_dates(frame, source=source, date_format=date_format)
    frame = _to_float(frame, source)
    _check_values(frame, source)
    frame = _fill_gaps(frame, int(max_gap), source)
    check_jumps(frame, on_jump=on_jump, source=source)
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
    names = check_ticker_names(prices.columns, source=source)
    fields = {field_name(n) for n in names}
    if looks_like_bars(fields):
        raise DataError(
            f"the price table{_where(source)} has the columns of one ticker's bars ({', '.join(names)}), "
            "not one column per ticker: pass its close named after the ticker, e.g. "
            "frame[['Close']].rename(columns={'Close': 'AAPL'})"
        )
    frame = prices.copy()
    frame.columns = pd.Index(names, dtype=object)
    return frame


def parse_valid_dates(
    labels: object,
    *,
    source: str | None = None,
    date_format: str | None = None,
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Parse date labels and drop those that are not dates, with a warning giving the count.

    Parameters
    ----------
    labels
        Date labels, one per row (see :func:`parse_dates`).
    source
        Where the labels come from, for messages.
    date_format
        strftime pattern of the labels (see :func:`parse_dates`); inferred when ``None``.

    Returns
    -------
    dates : pandas.DatetimeIndex
        The parsed dates of the rows kept.
    keep : numpy.ndarray
        Boolean mask over ``labels``: True where the label parsed.
    """
    raw = as_index(labels)
    dates = parse_dates(raw, source=source, date_format=date_format)
    keep = ~np.asarray(dates.isna())
    if not keep.all():
        examples = [repr(v) for v in raw[~keep]]
        _repair(f"dropped {int((~keep).sum())} rows{_where(source)} whose date does not parse ({_show(examples, 3)})")
    return dates[keep], keep


def clean_dates(
    frame: pd.DataFrame,
    *,
    source: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Parse the index into dates: drop unparseable rows (warned), reject duplicates, sort.

    Parameters
    ----------
    frame
        Rows labelled by dates in any parseable form.
    source
        Where the rows come from, for messages.
    date_format
        strftime pattern of the labels (see :func:`parse_dates`); inferred when ``None``.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with a sorted, unique, tz-naive ``DatetimeIndex``.
    """
    dates, keep = parse_valid_dates(frame.index, source=source, date_format=date_format)
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
        if isinstance(column.dtype, pd.CategoricalDtype):  # judge the values, not the codes
            column = pd.Series(np.asarray(column), index=column.index)
        _check_kind(column, ticker, source)
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


def _check_kind(column: pd.Series, ticker: object, source: str | None) -> None:
    """Refuse columns that convert to numbers without being prices: booleans, dates, durations.

    ``pd.to_numeric`` turns datetimes into nanoseconds since 1970, ``True`` into 1 and a
    complex number into its real part; none of them is a price.
    """
    dtype = column.dtype
    if dtype.kind == "b" or isinstance(dtype, pd.BooleanDtype):
        raise DataError(f"column {ticker!r}{_where(source)} holds booleans, not prices")
    if dtype.kind in "mMc" or isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype)):
        raise DataError(f"column {ticker!r}{_where(source)} holds {dtype} values, not prices: pass a column of numbers")
    if dtype.kind == "O":
        values = column.to_numpy(dtype=object)
        odd = np.array([isinstance(v, (bool, np.bool_, complex, np.complexfloating)) for v in values], dtype=bool)
        if odd.any():
            at = int(odd.argmax())
            raise DataError(
                f"column {ticker!r}{_where(source)} holds {values[at]!r} on {_day(column.index[at])}, "
                f"not a price ({int(odd.sum())} such values); fix those cells or drop the column"
            )


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
