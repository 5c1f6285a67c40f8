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

import warnings

import numpy as np
import pandas as pd

from stratopt.data._report import logger, repair, where
from stratopt.errors import ConfigError, DataError

__all__ = ["as_index", "check_date_format", "parse_dates"]

# Matches a trailing UTC offset ("Z", "+09:00", "-0500") so that mixed offsets can be dropped
# while keeping the local wall-clock date, which is the trading date of a daily bar.
# Only after a time of day, so that "02-01-2020" is not read as offset "-2020".
_OFFSET = r"^(.*\d:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}:?\d{2})$"

# A numeric date with the year last: day and month in either order, "/", "." or "-" between
# them, then possibly a time of day. Year-first dates (2011-01-02) never match.
_NUMERIC = r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})((?:[\sT].*)?)$"


def as_index(values: object) -> pd.Index:
    """``values`` as an Index, keeping the dtype of a pandas object as it is.

    ``pd.Index(obj)`` on an object-dtype Index or Series of datetimes infers datetime64 on
    pandas 2 with a FutureWarning (the inference is deprecated, and gone in pandas 3); an
    explicit dtype gives the same result on both.
    """
    if isinstance(values, pd.Index):
        return values
    if isinstance(values, pd.Series):
        return pd.Index(values.array, dtype=values.dtype, name=values.name)
    return pd.Index(values)


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
    consecutive days, and a tz-aware index is read in its own timezone. UTC offsets that
    differ only as daylight saving time switches them (``-05:00`` in winter, ``-04:00`` in
    summer) are not a mix of timezones and give no warning. Times of day are dropped, with a
    warning that names daylight saving time only when it is the cause: two times one hour
    apart that switch a few times a year. Bars at 23:00 and 00:00 of that kind are midnight
    bars seen from another timezone and keep the day of the nearest midnight. Numeric dates
    with the year last are read day first or month first by evidence (see the module
    docstring).

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
        orders; a MultiIndex.
    """
    date_format = check_date_format(date_format)
    index = as_index(values)
    if isinstance(index, pd.MultiIndex):
        raise DataError(
            f"the dates{where(source)} are a MultiIndex of {index.nlevels} levels "
            f"{list(index.names)}: keep the date level alone, e.g. frame.droplevel(1)"
        )
    if isinstance(index, pd.DatetimeIndex):
        parsed = index
    else:
        if index.dtype.kind in "iu":  # 20200102 means a day, not nanoseconds since 1970
            index = index.astype(str)
        parsed = _parse_text(index, source, date_format)
    zone = None if parsed.tz is None else str(parsed.tz)
    if zone is not None:
        logger.info("dropping the timezone %s of the dates%s (keeping their dates there)", zone, where(source))
        parsed = parsed.tz_localize(None)
    return _drop_times(parsed.as_unit("ns"), zone, source)


def _drop_times(parsed: pd.DatetimeIndex, zone: str | None, source: str | None) -> pd.DatetimeIndex:
    """Midnight of each label's day; warn about times of day, naming daylight saving only as a cause.

    Two times of day one hour apart that switch only a few times a year are what daylight saving
    time does to bars stamped in another timezone. When they are 23:00 and 00:00, the 23:00 bars
    are midnight bars moved an hour back: they keep the day of the nearest midnight, not the day
    before.
    """
    normalised = parsed.normalize()
    minutes = np.asarray((parsed - normalised) / pd.Timedelta(minutes=1), dtype=float)
    timed = np.nan_to_num(minutes) > 0
    if not timed.any():
        return normalised
    seen = f" (in the index's timezone {zone})" if zone else ""
    if _daylight_saving(minutes, parsed):
        early, late = (f"{int(m) // 60:02d}:{int(m) % 60:02d}" for m in np.unique(minutes[~np.isnan(minutes)]))
        if (early, late) == ("00:00", "23:00"):
            moved = minutes == 23 * 60
            repair(
                f"{int(moved.sum())} dates{where(source)} fall at 23:00 rather than 00:00{seen}: "
                "midnight bars moved an hour back by daylight saving time; kept the day of the "
                "nearest midnight"
            )
            return normalised + pd.to_timedelta(np.where(moved, 1, 0), unit="D")
        repair(
            f"{int(timed.sum())} dates{where(source)} carry a time of day{seen}, {early} or {late} "
            "as daylight saving time moves it by an hour; kept only the day"
        )
        return normalised
    hint = f"{seen}; tz_convert the index to the market's timezone first if its bars belong to another" if zone else ""
    repair(f"{int(timed.sum())} dates{where(source)} carry a time of day; kept only the day{hint}")
    return normalised


def _daylight_saving(values: np.ndarray, dates: pd.DatetimeIndex) -> bool:
    """Whether ``values`` (minutes: UTC offsets or times of day) look like daylight saving time.

    That is: exactly two values, one hour apart (around the clock), switching at most twice a
    year in date order, as clocks change in spring and autumn.
    """
    known = ~np.isnan(values) & ~np.asarray(dates.isna())
    distinct = np.unique(values[known])
    if len(distinct) != 2:
        return False
    gap = abs(distinct[1] - distinct[0])
    if min(gap, 24 * 60 - gap) != 60:
        return False
    days = dates[known]
    in_order = values[known][np.argsort(np.asarray(days), kind="stable")]
    switches = int((in_order[1:] != in_order[:-1]).sum())
    return switches <= 2 * (days.max().year - days.min().year + 1)


def _offset_minutes(offset: object) -> float:
    """``"+09:00"``, ``"-0500"``, ``"Z"`` as minutes east of UTC; NaN when missing."""
    if not isinstance(offset, str):
        return float("nan")
    if offset == "Z":
        return 0.0
    digits = offset[1:].replace(":", "")
    sign = -1 if offset[0] == "-" else 1
    return float(sign * (int(digits[:2]) * 60 + int(digits[2:])))


def _present(text: pd.Index) -> np.ndarray:
    return np.asarray(text.notna()) & np.asarray((text != "").fillna(False), dtype=bool)


def _parse_text(index: pd.Index, source: str | None, date_format: str | None) -> pd.DatetimeIndex:
    text = index.astype("string").str.strip()
    offsets = np.asarray(text.str.extract(_OFFSET)[1], dtype=object)
    labelled = _present(text)
    if any(isinstance(o, str) for o in offsets):
        text = text.str.replace(_OFFSET, r"\1", regex=True)
    if date_format is not None:
        parsed = pd.DatetimeIndex(pd.to_datetime(text, format=date_format, errors="coerce")).as_unit("ns")
    else:
        parsed = _infer(_day_month_to_iso(text, source))
    if any(isinstance(o, str) for o in offsets):
        _report_offsets(offsets, labelled, parsed, source)
    return parsed


def _infer(text: pd.Index) -> pd.DatetimeIndex:
    with warnings.catch_warnings():
        # The labels that fail the format inferred from the first one are parsed one by one
        # below; pandas' advice to pass a format is stratopt's date_format= (documented).
        warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
        parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce")).as_unit("ns")
    retry = np.asarray(parsed.isna()) & _present(text)
    if retry.any():  # labels in another format than the first one; rare, so parse one by one
        again = pd.DatetimeIndex(pd.to_datetime(text[retry], errors="coerce", format="mixed"))
        values = parsed.to_numpy().copy()
        values[retry] = again.as_unit("ns").to_numpy()
        parsed = pd.DatetimeIndex(values)
    return parsed


def _report_offsets(offsets: np.ndarray, labelled: np.ndarray, parsed: pd.DatetimeIndex, source: str | None) -> None:
    """The UTC offsets were dropped, keeping local dates: say why that is right, or warn."""
    minutes = np.array([_offset_minutes(o) for o in offsets], dtype=float)
    missing = bool(np.isnan(minutes[labelled]).any())
    distinct = sorted({o for o in offsets[labelled] if isinstance(o, str)})
    several = len(np.unique(minutes[labelled & ~np.isnan(minutes)])) > 1
    if missing or (several and not _daylight_saving(minutes, parsed)):
        shown = ", ".join(distinct) + (" and none" if missing else "")
        repair(f"dates{where(source)} mix timezones (UTC offsets {shown}); kept each label's local date")
    elif several:
        logger.info(
            "dates%s carry UTC offsets %s, as daylight saving time switches them; kept each label's local date",
            where(source),
            " and ".join(distinct),
        )
    else:
        logger.info("dropping the UTC offset %s of the dates%s", distinct[0], where(source))


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
