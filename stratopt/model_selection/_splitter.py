"""Walk-forward splits of a daily price index into (train, test) folds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BaseOffset

from stratopt.errors import ConfigError, DataError
from stratopt.metrics import PERIODS_PER_YEAR

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = ["SizeLike", "WalkForward"]

#: A window size: trading days (rows) as an int, or a calendar span ("5Y", "6M", "2W", "63D",
#: or any pandas offset object).
SizeLike: TypeAlias = int | str | BaseOffset

_Size: TypeAlias = int | BaseOffset
_Prices: TypeAlias = pd.DataFrame | pd.Series | pd.DatetimeIndex
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([A-Za-z])\s*$")
# "Y" is mapped to months so that "1Y" and "12M" are the same offset; pandas 3 deprecates the
# bare "Y"/"M" frequency aliases, so strings are never handed to pandas' alias parser.
_UNIT_KWARG = {"Y": ("months", 12), "M": ("months", 1), "W": ("weeks", 1), "D": ("days", 1)}
_FOLD_COLUMNS = ["fold", "train_start", "train_end", "test_start", "test_end", "n_train", "n_test"]


def _parse_size(value: object, name: str) -> _Size:
    """Turn a user size into trading days (int) or a pandas offset, or raise ConfigError."""
    hint = "pass trading days as an int (e.g. 252) or a calendar span such as '5Y', '6M', '63D'"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, str, BaseOffset)):
        raise ConfigError(f"{name}={value!r} ({type(value).__name__}) is not a window size; {hint}")
    if isinstance(value, (int, np.integer)):
        if value < 1:
            raise ConfigError(f"{name}={value} must be at least 1 trading day; {hint}")
        return int(value)
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        unit = match.group(2).upper() if match else ""
        if unit not in _UNIT_KWARG:
            raise ConfigError(
                f"{name}={value!r} is not a known size: write a whole number and Y (years), "
                f"M (months), W (weeks) or D (calendar days), e.g. '5Y', or {hint}"
            )
        count = int(match.group(1))  # type: ignore[union-attr]
        if count < 1:
            raise ConfigError(f"{name}={value!r} must be a positive span; {hint}")
        kwarg, scale = _UNIT_KWARG[unit]
        return pd.DateOffset(**{kwarg: count * scale})
    probe = pd.Timestamp("2000-01-31")
    if not probe + value > probe:
        raise ConfigError(f"{name}={value!r} does not move dates forward; {hint}")
    return value


def _nonnegative_int(value: object, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"{name}={value!r} must be a whole number of trading days >= 0, e.g. 5")
    return int(value)


def _as_dates(prices: _Prices) -> pd.DatetimeIndex:
    """The validated DatetimeIndex of ``prices``: sorted, unique, without NaT."""
    index = prices.index if isinstance(prices, (pd.DataFrame, pd.Series)) else prices
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"WalkForward needs a DataFrame or Series with a DatetimeIndex, or a DatetimeIndex; "
            f"got {type(prices).__name__} with index type {type(index).__name__}; convert with "
            "prices.index = pd.to_datetime(prices.index)"
        )
    if index.hasnans:
        pos = int(np.flatnonzero(index.isna())[0])
        raise DataError(f"the date index has NaT at row {pos}; drop rows without a date first")
    ticks = index.asi8
    if np.any(np.diff(ticks) < 0):
        pos = int(np.flatnonzero(np.diff(ticks) < 0)[0]) + 1
        raise DataError(
            f"the date index is not sorted: {index[pos]} (row {pos}) comes after {index[pos - 1]}; "
            "sort it with prices.sort_index()"
        )
    if np.any(np.diff(ticks) == 0):
        pos = int(np.flatnonzero(np.diff(ticks) == 0)[0]) + 1
        raise DataError(
            f"the date index has duplicate date {index[pos]} (rows {pos - 1} and {pos}); keep one "
            "row per date, e.g. prices[~prices.index.duplicated()]"
        )
    return index


def _first_anchor(
    dates: pd.DatetimeIndex, train: _Size, purge: int, anchored: bool, min_train: int
) -> pd.Timestamp | None:
    """Date the first test window starts (maybe a non-trading day); None if past the data."""
    n = len(dates)
    if n == 0:
        return None
    if isinstance(train, int):
        start = (max(train, min_train) if anchored else train) + purge
        return dates[start] if start < n else None
    anchor = dates[0] + train
    if anchored and dates.searchsorted(anchor) - purge < min_train:
        start = min_train + purge
        return dates[start] if start < n else None
    return anchor if anchor <= dates[-1] else None


def _test_windows(
    dates: pd.DatetimeIndex,
    anchor: pd.Timestamp,
    test: _Size,
    step: _Size,
    same_grid: bool,
    reduce_test: bool,
) -> tuple[list[pd.Timestamp], np.ndarray, np.ndarray]:
    """Start dates, start rows and exclusive end rows of the test windows."""
    n = len(dates)
    if isinstance(step, int):
        starts = np.arange(dates.searchsorted(anchor), n, step, dtype=np.intp)
        anchors = [anchor, *dates[starts[1:]]]
    else:
        # Multiples of the offset from one anchor, so month-end clipping never accumulates.
        anchors, k = [], 0
        while (boundary := anchor + step * k) <= dates[-1]:
            anchors.append(boundary)
            k += 1
        starts = dates.searchsorted(pd.DatetimeIndex(anchors)).astype(np.intp)
        if np.any(np.diff(starts) == 0):
            raise ConfigError(
                f"step={step!r} is shorter than the spacing of the dates: two test windows would "
                "start on the same day; use a longer step"
            )
    if isinstance(test, int):
        ends = starts + test
        complete = ends <= n
    else:
        if same_grid:  # test k ends where test k+1 starts: contiguous windows, no month drift
            bounds = [anchor + step * (k + 1) for k in range(len(starts))]
        else:
            bounds = [start + test for start in anchors]
        ends = dates.searchsorted(pd.DatetimeIndex(bounds)).astype(np.intp)
        complete = ends < n  # the data runs past the window's end, so the window is whole
    keep = len(starts) if complete.all() else int(np.argmin(complete))
    if reduce_test and keep < len(starts):
        keep += 1
    return anchors[:keep], starts[:keep], np.minimum(ends[:keep], n)


@dataclass(frozen=True)
class WalkForward:
    """Walk-forward splitter: rolling or anchored train windows, each followed by a test window.

    Parameters
    ----------
    train : int or str or pandas offset
        Length of each train window (rolling), or of the first one (anchored). An int counts
        trading days (rows of the data). A string ``"<n>Y"``, ``"<n>M"``, ``"<n>W"`` or
        ``"<n>D"`` (years, months, weeks, calendar days; case-insensitive) or a pandas offset is
        a calendar span, resolved against the actual dates: ``"1Y"`` is the rows dated within
        one calendar year of the window's start. ``"63D"`` means 63 *calendar* days, as in
        pandas; pass ``63`` for 63 trading days.
    test : int or str or pandas offset
        Length of each test window: trading days or a calendar span, as for ``train``.
    step : int or str or pandas offset, optional
        Distance between the starts of consecutive test windows; defaults to ``test``, which
        makes the test windows contiguous. Must be at least ``test`` (test windows never overlap).
    anchored : bool, default False
        False: rolling, fixed-length train window. True: expanding train window that always
        starts at the first row.
    purge : int, default 0
        Trading days dropped between the end of each train window and the start of its test
        window, e.g. the longest holding or label horizon that could straddle the boundary.
    embargo : int, default 0
        Trading days after each test window that no *later* fold may train on: for every fold
        ``k`` and every earlier fold ``j < k``, the ``embargo`` rows right after fold ``j``'s test
        window are removed from fold ``k``'s train indices (which may then have holes). This
        keeps days whose features or labels overlap an earlier test window out of later fits.
        Must be shorter than the step between test starts.
    min_train : int, optional
        Anchored only: the first fold's train window holds at least this many rows; the first
        test window starts later if ``train`` alone would give fewer.
    reduce_test : bool, default False
        Keep a last test window that the data ends inside of, cut short at the last row. By
        default it is dropped so every test window has its full length. A calendar window counts
        as whole when the data has a date on or after the window's end.

    Notes
    -----
    Windows are placed on the rows of the data; fold ``k`` looks like::

        ... [ train k ][ purge ][ test k ][ embargo ] ... [ test k+1 ] ...

    * Test windows start on a grid: the first at ``first date + train`` (int ``train``: at row
      ``train + purge``; anchored: no earlier than row ``min_train + purge``), then every
      ``step`` (rows, or whole multiples of a calendar offset from that first start). A
      calendar test window holds the rows dated in ``[start, start + test)``.
    * Train ``k`` ends ``purge`` rows before test ``k`` starts. An int ``train`` gives exactly
      ``train`` rows before the purge; a calendar ``train`` is the span ``[start - train,
      start)`` less its last ``purge`` rows, which keeps test windows on calendar boundaries.
      Anchored train windows start at row 0. Embargoed rows are then taken out.

    Guaranteed: test windows are in time order and never overlap; every train row of a fold is
    more than ``purge`` rows before its test start; rolling train windows span a constant
    length; anchored train windows start at row 0 and each contains the previous one.

    Warnings
    --------
    The splitter only keeps the *windows* apart. It cannot stop look-ahead that is already in
    the inputs: features or signals computed with future prices (``shift(-1)``, centred
    rolling windows, scaling by whole-sample statistics) leak into every fold. A fold's fit
    must see rows up to its train end only; its test may use *earlier* rows as indicator
    warm-up, never later ones. Use ``purge`` for horizons that straddle the train/test boundary
    and check rules with :func:`stratopt.check_causality`.

    Examples
    --------
    >>> import pandas as pd
    >>> from stratopt.model_selection import WalkForward
    >>> dates = pd.bdate_range("2024-01-01", periods=12)
    >>> wf = WalkForward(4, 3, purge=1)
    >>> for train, test in wf.split(dates):
    ...     print(train.tolist(), test.tolist())
    [0, 1, 2, 3] [5, 6, 7]
    [3, 4, 5, 6] [8, 9, 10]
    >>> wf.folds(dates)
       fold train_start  train_end test_start   test_end  n_train  n_test
    0     0  2024-01-01 2024-01-04 2024-01-08 2024-01-10        4       3
    1     1  2024-01-04 2024-01-09 2024-01-11 2024-01-15        4       3

    Calendar sizes follow the dates, here three years of business days. The data ends on
    2022-12-30, inside the last half-year window (which ends on 2023-01-01), so that window is
    dropped unless ``reduce_test=True``:

    >>> dates = pd.bdate_range("2020-01-01", "2022-12-31")
    >>> WalkForward("1Y", "6M", anchored=True).folds(dates)
       fold train_start  train_end test_start   test_end  n_train  n_test
    0     0  2020-01-01 2020-12-31 2021-01-01 2021-06-30      262     129
    1     1  2020-01-01 2021-06-30 2021-07-01 2021-12-31      391     132
    2     2  2020-01-01 2021-12-31 2022-01-03 2022-06-30      523     129
    """

    train: SizeLike
    test: SizeLike
    _: KW_ONLY
    step: SizeLike | None = None
    anchored: bool = False
    purge: int = 0
    embargo: int = 0
    min_train: int | None = None
    reduce_test: bool = False
    _train: _Size = field(init=False, repr=False, compare=False)
    _test: _Size = field(init=False, repr=False, compare=False)
    _step: _Size = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        train, test = _parse_size(self.train, "train"), _parse_size(self.test, "test")
        step = test if self.step is None else _parse_size(self.step, "step")
        for flag in ("anchored", "reduce_test"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ConfigError(f"{flag}={getattr(self, flag)!r} must be True or False")
        purge = _nonnegative_int(self.purge, "purge")
        embargo = _nonnegative_int(self.embargo, "embargo")
        if self.min_train is not None:
            if not self.anchored:
                raise ConfigError(
                    f"min_train={self.min_train!r} applies to anchored splits only; a rolling "
                    "train window always has the length given by train, so drop min_train or "
                    "pass anchored=True"
                )
            if _nonnegative_int(self.min_train, "min_train") < 1:
                raise ConfigError(f"min_train={self.min_train!r} must be at least 1 row")
        if isinstance(step, int) and isinstance(test, int) and step < test:
            raise ConfigError(f"step={step} is shorter than test={test}: test windows would overlap; use step >= test")
        if isinstance(step, int) and embargo >= step:
            raise ConfigError(
                f"embargo={embargo} must be shorter than step={step}, otherwise every day after "
                "the first test window is embargoed and later folds cannot train on new data"
            )
        for name, value in (("_train", train), ("_test", test), ("_step", step)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "purge", purge)
        object.__setattr__(self, "embargo", embargo)

    def _positions(self, prices: _Prices) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every fold's (train rows, test rows), validated; the one place folds are computed."""
        dates = _as_dates(prices)
        n, purge, embargo = len(dates), self.purge, self.embargo
        anchor = _first_anchor(dates, self._train, purge, self.anchored, self.min_train or 0)
        if anchor is None:
            raise DataError(self._too_short_message(dates))
        same_grid = self.step is None or self._step == self._test
        anchors, starts, ends = _test_windows(dates, anchor, self._test, self._step, same_grid, self.reduce_test)
        if len(starts) == 0:
            raise DataError(self._too_short_message(dates))
        if np.any(starts[1:] < ends[:-1]):
            k = int(np.flatnonzero(starts[1:] < ends[:-1])[0])
            raise ConfigError(
                f"step={self.step!r} is shorter than test={self.test!r}: test window {k} ends on "
                f"{dates[ends[k] - 1].date()}, after test window {k + 1} starts on "
                f"{dates[starts[k + 1]].date()}; use a step at least as long as test"
            )
        if embargo and np.any(np.diff(starts) <= embargo):
            raise ConfigError(
                f"embargo={embargo} must be shorter than the step between test starts "
                f"({int(np.diff(starts).min())} rows here); shorten the embargo or lengthen step"
            )
        blocked = np.zeros(n, dtype=bool)
        folds = []
        for k, (start_date, start, end) in enumerate(zip(anchors, starts, ends, strict=True)):
            gap = int(start) - purge
            if self.anchored:
                first = 0
            elif isinstance(self._train, int):
                first = gap - self._train
            else:  # the calendar span before the test start; purge comes out of its end
                first = int(dates.searchsorted(start_date - self._train))
            train = np.arange(first, gap, dtype=np.intp)
            if embargo:
                train = train[~blocked[first:gap]]
                blocked[end : end + embargo] = True
            if train.size == 0:
                raise ConfigError(
                    f"fold {k} has no training days left after embargo={embargo} and "
                    f"purge={purge}; shorten them or lengthen train={self.train!r}"
                )
            folds.append((train, np.arange(start, end, dtype=np.intp)))
        return folds

    def _too_short_message(self, dates: pd.DatetimeIndex) -> str:
        def days(size: _Size) -> float:  # rough trading-day equivalent of a calendar span
            if isinstance(size, int):
                return size
            span = (pd.Timestamp("2001-01-01") + size) - pd.Timestamp("2001-01-01")
            return span.days * PERIODS_PER_YEAR / 365.25

        first = max(days(self._train), self.min_train or 0) if self.anchored else days(self._train)
        need = first + self.purge + days(self._test)
        exact = all(isinstance(size, int) for size in (self._train, self._test))
        return (
            f"data too short for one walk-forward fold: train={self.train!r} + purge={self.purge}"
            f" + test={self.test!r} need {'' if exact else 'about '}{round(need)} trading days, "
            f"but the data has {len(dates)} ({dates[0].date() if len(dates) else '-'} to "
            f"{dates[-1].date() if len(dates) else '-'}); use more data or smaller windows"
        )

    def split(self, prices: _Prices) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Iterate over ``(train, test)`` integer row positions for each fold, in time order.

        All folds are computed and checked up front, so errors are raised by the call itself.

        Parameters
        ----------
        prices : DataFrame, Series or DatetimeIndex
            Anything indexed by sorted, unique dates; only the index is read.

        Returns
        -------
        iterator of (numpy.ndarray, numpy.ndarray)
            Sorted intp row positions of the train and test rows, usable with ``prices.iloc``.

        Raises
        ------
        DataError
            Unsorted, duplicate or missing dates, or too little data for one fold.
        ConfigError
            Sizes that make test windows overlap or leave a fold with nothing to train on.
        """
        return iter(self._positions(prices))

    def get_n_splits(self, prices: _Prices) -> int:
        """Number of folds that :meth:`split` yields for ``prices``."""
        return len(self._positions(prices))

    def folds(self, prices: _Prices) -> pd.DataFrame:
        """One row per fold: its number, first and last train and test dates, and row counts.

        Dates are inclusive (the first and last row in each window). With an embargo the train
        rows may have holes, so ``n_train`` can be smaller than the span suggests.
        """
        dates = _as_dates(prices)
        rows = [
            (k, dates[tr[0]], dates[tr[-1]], dates[te[0]], dates[te[-1]], tr.size, te.size)
            for k, (tr, te) in enumerate(self._positions(dates))
        ]
        return pd.DataFrame(rows, columns=_FOLD_COLUMNS)

    def plot(self, prices: _Prices, *, ax: Axes | None = None) -> Figure:
        """Draw one bar per fold: train, purge, test and embargo spans over the dates.

        Parameters
        ----------
        prices : DataFrame, Series or DatetimeIndex
            The data to split.
        ax : matplotlib Axes, optional
            Axes to draw on; a new Figure (not registered with pyplot) otherwise.

        Returns
        -------
        matplotlib.figure.Figure
            The figure holding the chart; it is never shown.
        """
        import matplotlib.dates as mdates
        from matplotlib.patches import Patch

        from stratopt.plotting import new_figure

        dates = _as_dates(prices)
        folds = self._positions(dates)
        if ax is None:
            ax = new_figure(figsize=(10, 1 + 0.3 * len(folds))).add_subplot()
        x = mdates.date2num(dates.tz_localize(None) if dates.tz is not None else dates)
        colours = {"train": "tab:blue", "purge": "0.7", "test": "tab:orange", "embargo": "tab:red"}
        n = len(dates)
        for k, (train, test) in enumerate(folds):
            breaks = np.flatnonzero(np.diff(train) > 1)  # embargo can cut the train rows apart
            spans = {
                "train": (train[np.r_[0, breaks + 1]], train[np.r_[breaks, train.size - 1]]),
                "test": (test[:1], test[-1:]),
            }
            if self.purge:
                spans["purge"] = (test[:1] - self.purge, test[:1] - 1)
            if self.embargo and test[-1] + 1 < n:
                spans["embargo"] = (test[-1:] + 1, np.minimum(test[-1:] + self.embargo, n - 1))
            for part, (first, last) in spans.items():  # rows first..last inclusive
                xranges = [(x[a], x[b] + 1 - x[a]) for a, b in zip(first, last, strict=True)]
                ax.broken_barh(xranges, (k - 0.4, 0.8), color=colours[part], label=part)
        ax.set_yticks(range(len(folds)), [f"fold {k}" for k in range(len(folds))])
        ax.invert_yaxis()
        ax.xaxis_date()
        used = [p for p in colours if p in ("train", "test") or getattr(self, p)]
        ax.legend(
            handles=[Patch(color=colours[p], label=p) for p in used],
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
        kind = "Anchored" if self.anchored else "Rolling"
        ax.set_title(f"{kind} walk-forward: {len(folds)} folds")
        fig = ax.get_figure(root=True)
        if fig is None:
            raise ConfigError("ax is not attached to a figure; create it with fig.add_subplot()")
        return fig
