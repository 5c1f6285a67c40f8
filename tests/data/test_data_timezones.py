"""Timezone-aware dates: each bar keeps its trading day; daylight saving is named only as a cause."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratopt.data import DataRepairWarning, load_prices, validate_prices


def bars(index: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame({"A": np.linspace(10.0, 20.0, len(index))}, index=index)


def repairs(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, DataRepairWarning)]


def test_midnight_bars_of_a_daylight_saving_zone_seen_in_utc_keep_their_day() -> None:
    # London midnight is 00:00 UTC in winter and 23:00 UTC the day before in summer.
    london = pd.bdate_range("2009-06-01", "2011-06-30", tz="Europe/London")
    utc = bars(london).tz_convert("UTC")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        prices = load_prices(utc, start="2010")
    messages = repairs(record)
    assert len(messages) == 1 and "daylight saving" in messages[0] and "fall at 23:00" in messages[0]
    expected = london.tz_localize(None)
    assert list(prices.index) == list(expected[expected >= "2010-01-01"])
    assert (prices.index.day_of_week < 5).all()


def test_closing_times_moved_by_daylight_saving_are_named_so() -> None:
    new_york = pd.bdate_range("2010-01-04", periods=300, tz="America/New_York") + pd.Timedelta(hours=16)
    with pytest.warns(DataRepairWarning, match=r"20:00 or 21:00 as daylight saving time moves it"):
        prices = validate_prices(bars(new_york).tz_convert("UTC"))
    assert list(prices.index) == list(new_york.normalize().tz_localize(None))


def test_a_single_time_of_day_is_not_blamed_on_daylight_saving() -> None:
    # Tokyo has no daylight saving: midnight there is 15:00 UTC the day before, all year.
    tokyo = pd.bdate_range("2010-01-04", periods=300, tz="Asia/Tokyo")
    with pytest.warns(DataRepairWarning) as record:
        validate_prices(bars(tokyo).tz_convert("UTC"))
    (message,) = repairs(record)
    assert "daylight" not in message and "time of day" in message and "tz_convert" in message


def test_intraday_times_one_hour_apart_are_not_daylight_saving() -> None:
    stamps = pd.DatetimeIndex([f"2021-03-0{d} {h}:00" for d, h in zip(range(1, 6), (10, 11, 10, 11, 10))], tz="UTC")
    with pytest.warns(DataRepairWarning) as record:
        validate_prices(bars(stamps))
    assert all("daylight" not in m for m in repairs(record))


def test_csv_with_offsets_switched_by_daylight_saving_loads_without_a_timezone_warning(tmp_path: Path) -> None:
    index = pd.bdate_range("2020-01-02", "2020-12-31", tz="America/New_York")
    path = tmp_path / "ny.csv"
    bars(index).rename_axis("Date").to_csv(path)
    text = path.read_text()
    assert "-05:00" in text and "-04:00" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRepairWarning)
        prices = load_prices(path, start="2020-03-01")
    assert prices.index[0] == pd.Timestamp("2020-03-02")
    assert list(prices.index) == list(index.tz_localize(None)[index.tz_localize(None) >= "2020-03-01"])


def test_labels_really_in_several_timezones_warn_without_daylight_saving() -> None:
    raw = pd.DataFrame(
        {"A": [1.0, 2.0, 3.0]},
        index=["2021-03-01T00:00:00+01:00", "2021-03-02T00:00:00-05:00", "2021-03-03T00:00:00+09:00"],
    )
    with pytest.warns(DataRepairWarning, match="mix timezones") as record:
        out = validate_prices(raw)
    assert all("daylight" not in m for m in repairs(record))
    assert list(out.index.strftime("%Y-%m-%d")) == ["2021-03-01", "2021-03-02", "2021-03-03"]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize(
    "start", ["2010", pd.Timestamp("2010-01-04", tz="Asia/Tokyo"), pd.Timestamp("2010-01-04 03:00", tz="UTC")]
)
def test_tz_aware_index_with_a_start_date_loads_tz_naive(zone: str, start: object) -> None:
    index = pd.bdate_range("2009-12-01", "2010-03-31", tz=zone)
    prices = load_prices(bars(index), start=start, end=pd.Timestamp("2010-02-26", tz=zone))
    assert prices.index.tz is None
    assert prices.index[0] == pd.Timestamp("2010-01-01" if start == "2010" else "2010-01-04")
    assert prices.index[-1] == pd.Timestamp("2010-02-26")
