"""Date labels into trading days: formats, day/month order, time zones and times of day.

Numeric dates such as ``02/01/2011`` are read day first or month first by evidence, never by
a silent default:

- a label that is a valid date in only one order (``13/01/2011``) settles the order for the
  whole column; labels settling both orders in one column are an error;
- when every label is valid both ways, the order is the one whose dates are in sequence
  (ascending or descending, as files are written), else the one with no weekend dates (daily
  prices are quoted on weekdays);
- when both orders pass those checks, the labels are refused: pass ``date_format=``.

A column read day first is reported with a :class:`~stratopt.errors.DataRepairWarning` naming
the format used; ``date_format="%d/%m/%Y"`` says so up front and silences it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stratopt.data._report import logger, repair, where
from stratopt.errors import ConfigError, DataError

__all__ = ["check_date_format", "parse_dates"]

# Matches a trailing UTC offset ("Z", "+09:00", "-0500") so that mixed offsets can be dropped
# while keeping the local wall-clock date, which is the trading date of a daily bar.
# Only after a time of day, so that "02-01-2020" is not read as offset "-2020".
_OFFSET = r"^(.*\d:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}:?\d{2})$"

# A numeric date with the year last: day and month in either order, "/", "." or "-" between
# them, then possibly a time of day. Year-first dates (2011-01-02) never match.
_NUMERIC = r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})((?:[\sT].*)?)$"


def check_date_format(date_format: object) -> str | None:
    """Validate a ``date_format=`` argument: ``None`` or a strftime pattern like ``"%d/%m/%Y"``.

    Raises
    ------
    ConfigError
        If it is not a string holding at least one ``%`` directive.
    """
    if date_format is None:
        return None
    if not isinstance(date_format, str) or "%" not in date_format:
        raise ConfigError(
            f"date_format={date_format!r} is not a strftime pattern: pass e.g. '%d/%m/%Y' (day first) "
            "or '%m/%d/%Y' (month first)"
        )
    return date_format


def parse_dates(
    values: object,
    *,
    source: str | None = None,
    date_format: str | None = None,
) -> pd.DatetimeIndex:
    """Parse date labels into a tz-naive, midnight ``DatetimeIndex``; unparseable labels give NaT.

    Timezone-aware labels keep their local wall-clock date (the trading date of a daily bar), so
    a file that mixes ``2020-01-02`` with ``2020-01-03T00:00:00-05:00`` lands on two
    consecutive days. Times of day are dropped, with a warning. Numeric dates with the year last
    are read day first or month first by evidence (see the module docstring).

    Parameters
    ----------
    values
        Anything :class:`pandas.Index` accepts: strings, datetimes, integers like ``20200102``.
    source
        Where the labels come from, for messages.
    date_format
        A strftime pattern (``"%d/%m/%Y"``) for text labels; labels that do not match it give
        NaT. A trailing UTC offset is dropped before the pattern is applied.

    Returns
    -------
    pandas.DatetimeIndex
        Same length as ``values``; NaT where a label is not a date.

    Raises
    ------
    DataError
        Numeric dates whose day/month order cannot be told from the labels, or that mix both
        orders.
    """
    date_format = check_date_format(date_format)
    index = pd.Index(values)
    if isinstance(index, pd.DatetimeIndex):
        parsed = index
    else:
        if index.dtype.kind in "iu":  # 20200102 means a day, not nanoseconds since 1970
            index = index.astype(str)
        parsed = _parse_text(index, source, date_format)
    if parsed.tz is not None:
        logger.info("dropping the timezone %s of the dates%s", parsed.tz, where(source))
        parsed = parsed.tz_localize(None)
    parsed = parsed.as_unit("ns")
    normalised = parsed.normalize()
    timed = int((normalised != parsed).sum()) - int(parsed.isna().sum())
    if timed > 0:
        repair(f"{timed} dates{where(source)} carry a time of day; kept only the day")
    return normalised


def _present(text: pd.Index) -> np.ndarray:
    return np.asarray(text.notna()) & np.asarray((text != "").fillna(False), dtype=bool)


def _parse_text(index: pd.Index, source: str | None, date_format: str | None) -> pd.DatetimeIndex:
    text = index.astype("string").str.strip()
    offsets = pd.Series(text.str.extract(_OFFSET)[1].to_numpy(), dtype="string")
    if offsets.notna().any():
        if offsets[_present(text)].isna().any() or offsets.dropna().nunique() > 1:
            repair(f"dates{where(source)} mix timezones; kept each label's local date")
        else:
            logger.info(
                "dropping the UTC offset %s of the dates%s",
                offsets.dropna().iloc[0],
                where(source),
            )
        text = text.str.replace(_OFFSET, r"\1", regex=True)
    if date_format is not None:
        return pd.DatetimeIndex(pd.to_datetime(text, format=date_format, errors="coerce")).as_unit("ns")
    text = _day_month_to_iso(text, source)
    parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce")).as_unit("ns")
    retry = np.asarray(parsed.isna()) & _present(text)
    if retry.any():  # labels in another format than the first one; rare, so parse one by one
        again = pd.DatetimeIndex(pd.to_datetime(text[retry], errors="coerce", format="mixed"))
        values = parsed.to_numpy().copy()
        values[retry] = again.as_unit("ns").to_numpy()
        parsed = pd.DatetimeIndex(values)
    return parsed


def _dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> pd.DatetimeIndex:
    """Dates from numbers; NaT where the numbers make no date (month 13, 31 April)."""
    parts = pd.DataFrame({"year": year, "month": month, "day": day})
    valid = (parts["month"].between(1, 12) & parts["day"].between(1, 31)).to_numpy()
    out = np.full(len(parts), np.datetime64("NaT"), dtype="datetime64[ns]")
    if valid.any():
        out[valid] = pd.to_datetime(parts[valid], errors="coerce").to_numpy(dtype="datetime64[ns]")
    return pd.DatetimeIndex(out)


def _in_sequence(dates: pd.DatetimeIndex) -> bool:
    known = dates[~dates.isna()]
    return bool(known.is_monotonic_increasing or known.is_monotonic_decreasing)


def _weekends(dates: pd.DatetimeIndex) -> int:
    return int((dates[~dates.isna()].day_of_week >= 5).sum())


def _day_month_to_iso(text: pd.Index, source: str | None) -> pd.Index:
    """Rewrite numeric ``dd/mm/yyyy`` or ``mm/dd/yyyy`` labels as ISO ``yyyy-mm-dd``."""
    parts = text.str.extract(_NUMERIC)
    matched = parts[0].notna().to_numpy()
    if not matched.any():
        return text
    parts = parts[matched]
    first, second = parts[0].astype(int).to_numpy(), parts[2].astype(int).to_numpy()
    year = parts[3].astype(int).to_numpy()
    short = parts[3].str.len().to_numpy() == 2
    year = np.where(short, np.where(year < 69, 2000 + year, 1900 + year), year)  # as strptime's %y
    month_first, day_first = _dates(year, first, second), _dates(year, second, first)
    separator, year_code = parts.iloc[0, 1], "%y" if short[0] else "%Y"
    formats = {
        "day": f"%d{separator}%m{separator}{year_code}",
        "month": f"%m{separator}%d{separator}{year_code}",
    }
    labels = np.asarray(text[matched], dtype=object)
    order = _choose_order(month_first, day_first, labels, first, formats, source)
    chosen = day_first if order == "day" else month_first
    iso = pd.Index(chosen.strftime("%Y-%m-%d"), dtype="string") + pd.Index(parts[4].to_numpy(), dtype="string")
    out = np.asarray(text, dtype=object).copy()
    keep = ~np.asarray(chosen.isna())  # a label valid in neither order stays as it was: junk
    out[np.flatnonzero(matched)[keep]] = np.asarray(iso, dtype=object)[keep]
    return pd.Index(out, dtype="string")


def _choose_order(
    month_first: pd.DatetimeIndex,
    day_first: pd.DatetimeIndex,
    labels: np.ndarray,
    first: np.ndarray,
    formats: dict[str, str],
    source: str | None,
) -> str:
    """``"day"`` or ``"month"``: the reading the labels support, or a DataError."""
    only_day = np.asarray(month_first.isna() & ~day_first.isna())
    only_month = np.asarray(day_first.isna() & ~month_first.isna())
    hint = f"pass date_format={formats['day']!r} (day first) or date_format={formats['month']!r} (month first)"
    if only_day.any() and only_month.any():
        day_label, month_label = labels[only_day][0], labels[only_month][0]
        raise DataError(
            f"dates{where(source)} mix day-first ({day_label!r}) and month-first "
            f"({month_label!r}) labels: write them all one way, or {hint}"
        )
    if only_day.any():
        return _day_first(formats, source, f"{labels[only_day][0]!r} has no month {first[only_day][0]}")
    if only_month.any():
        logger.info("dates%s read month first as %r", where(source), formats["month"])
        return "month"
    both = np.asarray(~month_first.isna() & ~day_first.isna())
    differ = both & np.asarray(month_first != day_first)
    if not differ.any():  # 05/05/2020 and the like: both readings agree
        return "month"
    readings = {"month": month_first[both], "day": day_first[both]}
    in_sequence = {order: _in_sequence(dates) for order, dates in readings.items()}
    weekdays = {order: _weekends(dates) == 0 for order, dates in readings.items()}
    if in_sequence["month"] != in_sequence["day"]:
        order = "month" if in_sequence["month"] else "day"
        reason = "only then are they in date order"
    elif weekdays["month"] != weekdays["day"]:
        order = "month" if weekdays["month"] else "day"
        reason = "only then does none fall on a weekend"
    else:
        at = int(np.flatnonzero(differ)[0])
        raise DataError(
            f"dates{where(source)} can be read day first or month first ({labels[at]!r} is "
            f"{day_first[at]:%Y-%m-%d} or {month_first[at]:%Y-%m-%d}) and both readings are "
            f"consistent: {hint}"
        )
    if order == "month":
        logger.info("dates%s read month first as %r (%s)", where(source), formats["month"], reason)
        return order
    return _day_first(formats, source, reason)


def _day_first(formats: dict[str, str], source: str | None, reason: str) -> str:
    repair(
        f"dates{where(source)} read day first as {formats['day']!r} ({reason}); "
        f"pass date_format={formats['day']!r} to say so and silence this"
    )
    return "day"
