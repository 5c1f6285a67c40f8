"""Property: malformed price frames give a valid canonical table or a stratopt error, never a crash.

Frames are drawn with NaN runs, infinities, zeros, negatives, duplicate and unsorted dates, mixed
timezones, junk date labels, object columns, single rows, constant prices, and huge and tiny
magnitudes. Each goes to ``validate_prices``, to ``load_prices`` on a CSV file written from it,
and to ``MarketData.from_prices``. A warning is fine; any exception other than a
:class:`~stratopt.errors.StratoptError` fails, and so does a result that breaks the canonical
form. Deprecation warnings from the libraries underneath are errors here, so that the data path
cannot leak them.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import stratopt
from stratopt.data import load_prices, validate_prices
from stratopt.errors import StratoptError, StratoptWarning

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Tokyo"]
TICKERS = ["AAA", "BBB", "CCC", "DDD"]


@st.composite
def price_columns(draw: st.DrawFn, n: int) -> list[object]:
    """One column: mostly plausible prices, with the faults real files have."""
    kind = draw(st.sampled_from(["walk", "constant", "huge", "tiny", "faulty", "objects", "integers", "empty"]))
    if kind == "walk":
        start = draw(st.floats(0.5, 500.0))
        steps = draw(st.lists(st.floats(-0.2, 0.2), min_size=n, max_size=n))
        values: list[object] = list(start * np.exp(np.cumsum(steps)))
    elif kind == "constant":
        values = [draw(st.floats(1e-3, 1e3))] * n
    elif kind == "huge":
        values = draw(st.lists(st.floats(1e200, 1e308), min_size=n, max_size=n))
    elif kind == "tiny":
        values = draw(st.lists(st.floats(1e-308, 1e-200), min_size=n, max_size=n))
    elif kind == "faulty":
        cell = st.one_of(
            st.floats(0.01, 1e4),
            st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.0, -1e-9, 5e-324, 1e308]),
        )
        values = draw(st.lists(cell, min_size=n, max_size=n))
    elif kind == "objects":
        cell = st.one_of(
            st.floats(0.01, 1e4).map(str),
            st.sampled_from(["", "n/a", "1,5", "12.5%", "$3", " 7 ", "nan", "inf", "True", None]),
            st.booleans(),
            st.floats(0.01, 1e4),
            st.just(pd.Timestamp("2020-01-01")),
        )
        values = draw(st.lists(cell, min_size=n, max_size=n))
    elif kind == "integers":
        values = draw(st.lists(st.integers(-5, 10**6), min_size=n, max_size=n))
    else:
        values = [math.nan] * n
    if n and draw(st.booleans()):  # a run of NaN somewhere
        first = draw(st.integers(0, n - 1))
        length = draw(st.integers(1, n - first))
        values[first : first + length] = [math.nan] * length
    return values


@st.composite
def date_labels(draw: st.DrawFn, n: int) -> pd.Index:
    """Dates as files and frames carry them, with duplicates, disorder, zones and junk."""
    start = draw(st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2030-01-01").date()))
    days = pd.bdate_range(start, periods=n) if draw(st.booleans()) else pd.date_range(start, periods=n)
    kind = draw(st.sampled_from(["naive", "aware", "mixed zones", "strings", "offsets", "day first", "junk"]))
    if kind == "naive":
        labels = pd.Index(days)
    elif kind == "aware":
        labels = pd.Index(days.tz_localize(draw(st.sampled_from(ZONES))) + pd.Timedelta(hours=draw(st.integers(0, 23))))
    elif kind == "mixed zones":
        zones = draw(st.lists(st.sampled_from([*ZONES, None]), min_size=n, max_size=n))
        labels = pd.Index(
            [pd.Timestamp(d).tz_localize(z) if z else pd.Timestamp(d) for d, z in zip(days, zones)], dtype=object
        )
    elif kind == "strings":
        labels = pd.Index(days.strftime(draw(st.sampled_from(["%Y-%m-%d", "%Y%m%d", "%m/%d/%Y", "%d.%m.%Y"]))))
    elif kind == "offsets":
        offsets = draw(
            st.lists(st.sampled_from(["Z", "+00:00", "-05:00", "-04:00", "+09:00", ""]), min_size=n, max_size=n)
        )
        labels = pd.Index([f"{d:%Y-%m-%dT%H:%M:%S}{o}" for d, o in zip(days, offsets)])
    elif kind == "day first":
        labels = pd.Index(days.strftime("%d/%m/%Y"))
    else:
        junk = st.sampled_from(["", "Date", "Tlt", "2020-13-45", "not a date", "31/31/2020", None])
        labels = pd.Index([draw(junk) if draw(st.integers(0, 4)) == 0 else f"{d:%Y-%m-%d}" for d in days], dtype=object)
    labels = list(labels)
    if n > 1 and draw(st.booleans()):  # a repeated date
        labels[draw(st.integers(1, n - 1))] = labels[0]
    if n > 1 and draw(st.booleans()):  # rows out of order
        order = draw(st.permutations(range(n)))
        labels = [labels[i] for i in order]
    return pd.Index(labels, dtype=object) if kind == "mixed zones" else pd.Index(labels)


@st.composite
def malformed_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    k = draw(st.integers(1, 3))
    names = draw(st.lists(st.sampled_from(TICKERS), min_size=k, max_size=k))  # repeats happen
    columns = [draw(price_columns(n)) for _ in range(k)]
    frame = pd.DataFrame(dict(enumerate(columns)), index=draw(date_labels(n)))
    frame.columns = names
    return frame


def check_canonical(prices: pd.DataFrame) -> None:
    """The canonical form every loader promises (see stratopt.data._validate)."""
    index = prices.index
    assert isinstance(index, pd.DatetimeIndex) and index.tz is None and index.dtype == "datetime64[ns]"
    assert index.is_monotonic_increasing and index.is_unique and (index == index.normalize()).all()
    assert index.name == "date" and prices.columns.name == "ticker"
    assert len(prices) >= 1 and prices.shape[1] >= 1
    assert all(dtype == np.float64 for dtype in prices.dtypes)
    values = prices.to_numpy()
    listed = ~np.isnan(values)
    assert listed.any(axis=0).all()
    assert (np.maximum.accumulate(listed, axis=0) == listed).all(), "NaN after a ticker's first price"
    assert np.isfinite(values[listed]).all() and (values[listed] > 0).all()


@contextmanager
def strict_library_warnings() -> Iterator[None]:
    """stratopt's warnings are fine; deprecations from pandas & co. must not leak through."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StratoptWarning)
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        yield


def valid_or_stratopt_error(call) -> pd.DataFrame | None:
    with strict_library_warnings():
        try:
            return call()
        except StratoptError:
            return None


@SETTINGS
@given(malformed_frames())
@example(pd.DataFrame({"AAA": [1.0]}, index=["2020-01-02"]))
@example(pd.DataFrame({"AAA": [np.inf, 1.0]}, index=pd.to_datetime(["2020-01-02", "2020-01-03"])))
@example(  # an object index of datetimes: pandas 2 warned about its deprecated dtype inference
    pd.DataFrame(
        {"AAA": [1.0, 2.0]},
        index=pd.Index([pd.Timestamp("2020-01-02", tz="Asia/Tokyo"), pd.Timestamp("2020-01-03")], dtype=object),
    )
)
@example(pd.DataFrame({"AAA": pd.date_range("2020-01-02", periods=2)}, index=["2020-01-02", "2020-01-03"]))
def test_validate_prices_gives_a_canonical_table_or_a_stratopt_error(frame: pd.DataFrame) -> None:
    prices = valid_or_stratopt_error(lambda: validate_prices(frame))
    if prices is not None:
        check_canonical(prices)


@SETTINGS
@given(malformed_frames())
def test_load_prices_on_a_csv_of_the_frame_gives_a_canonical_table_or_a_stratopt_error(
    frame: pd.DataFrame,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "prices.csv"
        frame.to_csv(path, index_label="Date")
        prices = valid_or_stratopt_error(lambda: load_prices(path))
    if prices is not None:
        check_canonical(prices)


def check_market_data(data: stratopt.MarketData, frame: pd.DataFrame) -> None:
    """What rules may rely on: dated rows in order, finite tensors, one column per ticker."""
    dates = data.dates
    assert isinstance(dates, pd.DatetimeIndex) and dates.tz is None
    assert dates.is_monotonic_increasing and dates.is_unique
    assert data.log_prices.shape == data.returns.shape == data.tradable.shape == (len(frame), frame.shape[1])
    assert bool(data.log_prices.isfinite().all()) and bool(data.returns.isfinite().all())


@SETTINGS
@given(malformed_frames())
@example(pd.DataFrame({"AAA": [1.0, np.inf, 2.0]}, index=pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"])))
@example(pd.DataFrame({"AAA": ["1.0", "", "2.0"]}, index=pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"])))
def test_market_data_from_prices_gives_valid_tensors_or_a_stratopt_error(frame: pd.DataFrame) -> None:
    with strict_library_warnings():
        try:
            data = stratopt.MarketData.from_prices(frame)
        except StratoptError:
            return
    check_market_data(data, frame)
