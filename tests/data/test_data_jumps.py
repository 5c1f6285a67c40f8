"""Suspicious price jumps: spikes and unadjusted splits are reported; real crashes and clean data are not."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratopt.data import SuspiciousPriceWarning, load_prices, validate_prices
from stratopt.data._jumps import find_jumps
from stratopt.errors import ConfigError, DataError


def random_walks(n_days: int = 2500, n_assets: int = 5, seed: int = 0) -> pd.DataFrame:
    """Clean prices: Gaussian daily log returns with 1% to 3% volatility."""
    rng = np.random.default_rng(seed)
    vols = np.linspace(0.01, 0.03, n_assets)
    logs = np.cumsum(rng.normal(0.0, vols, size=(n_days, n_assets)), axis=0)
    index = pd.bdate_range("2010-01-04", periods=n_days)
    return pd.DataFrame(50.0 * np.exp(logs), index=index, columns=[f"T{k}" for k in range(n_assets)])


def suspicious(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, SuspiciousPriceWarning)]


def quietly(**kwargs) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = validate_prices(**kwargs)
    return out, suspicious(record)


@pytest.mark.parametrize("seed", range(5))
def test_clean_random_walks_give_no_warning(seed: int) -> None:
    _, messages = quietly(prices=random_walks(seed=seed, n_assets=10))
    assert messages == []


@pytest.mark.parametrize("name", ["sp500", "sp500-index"])
def test_bundled_data_gives_no_warning_though_it_holds_real_crashes(name: str) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        prices = load_prices(name)
    assert suspicious(record) == []
    assert find_jumps(prices) == []
    if name == "sp500":  # 30-70% one-day falls happen (AAPL 2000-09-29): size alone is not enough
        moves = np.abs(np.log(prices).diff()).to_numpy()
        assert int(np.nansum(moves > 0.25)) >= 40


def test_one_price_a_million_times_too_large_is_a_spike_naming_ticker_and_date() -> None:
    prices = random_walks()
    prices.loc["2014-06-10", "T2"] *= 1e6
    _, messages = quietly(prices=prices)
    assert len(messages) == 1
    assert re.search(r"T2 on 2014-06-10: x[\d.]+e\+0[56] then back the next day \(a one-day spike\?\)", messages[0])


def test_fifty_percent_overnight_drop_looks_like_an_unadjusted_split() -> None:
    prices = random_walks()
    prices.loc["2016-03-01":, "T1"] *= 0.5
    _, messages = quietly(prices=prices)
    assert len(messages) == 1
    assert "T1 on 2016-03-01" in messages[0] and "2-for-1 split" in messages[0] and "unadjusted" in messages[0]


@pytest.mark.parametrize(("ratio", "name"), [(1 / 3, "3-for-1"), (2 / 3, "3-for-2"), (4.0, "1-for-4 reverse")])
def test_other_split_ratios(ratio: float, name: str) -> None:
    prices = random_walks(seed=3)
    prices.loc["2012-05-15":, "T0"] *= ratio
    _, messages = quietly(prices=prices)
    assert len(messages) == 1 and "T0 on 2012-05-15" in messages[0] and name in messages[0]


def test_real_crash_not_near_a_split_ratio_passes() -> None:
    prices = random_walks()
    prices.loc["2016-03-01":, "T1"] *= 0.55  # -45%: a crash, not 1/2 (10% away in log)
    prices.loc["2017-03-01":, "T3"] *= 0.70  # -30%
    _, messages = quietly(prices=prices)
    assert messages == []


def test_stale_quote_catching_up_on_a_round_ratio_passes() -> None:
    # A thinly traded stock quoted in ticks: flat for weeks, then a third of the price (RRC 1990).
    prices = random_walks(n_assets=1)
    prices *= 3.322 / prices.loc["2011-12-30", "T0"]
    prices.loc["2012-01-02":"2012-01-31", "T0"] = 3.322
    prices.loc["2012-02-01":, "T0"] *= 1.107 / prices.loc["2012-02-01", "T0"]
    assert abs(prices.loc["2012-02-01", "T0"] / prices.loc["2012-01-31", "T0"] - 1 / 3) < 1e-3
    _, messages = quietly(prices=prices)
    assert messages == []


def test_huge_move_on_the_last_day_is_reported() -> None:
    prices = random_walks()
    prices.iloc[-1, 4] *= 1000
    _, messages = quietly(prices=prices)
    assert len(messages) == 1 and re.search(rf"T4 on {prices.index[-1]:%Y-%m-%d}: x[\d.]+e\+03 in one day", messages[0])


def test_many_jumps_make_one_warning_with_the_count() -> None:
    prices = random_walks()
    for k, day in enumerate(["2011-03-01", "2011-06-01", "2012-03-01", "2012-06-01", "2013-03-01", "2013-06-03"]):
        prices.loc[day, f"T{k % 5}"] *= 100
    _, messages = quietly(prices=prices)
    assert len(messages) == 1 and "(6 in all)" in messages[0]


def test_on_jump_raise_refuses_and_ignore_accepts(tmp_path: Path) -> None:
    prices = random_walks()
    prices.loc["2014-06-10", "T2"] *= 1e6
    with pytest.raises(DataError, match=r"T2 on 2014-06-10: x[\d.]+e\+0[56] then back") as info:
        validate_prices(prices, on_jump="raise")
    assert "\n" not in str(info.value)
    path = tmp_path / "spiky.csv"
    prices.rename_axis("Date").to_csv(path)
    with pytest.raises(DataError, match=r"spiky\.csv: T2 on 2014-06-10"):
        load_prices(path, on_jump="raise")
    _, messages = quietly(prices=prices, on_jump="ignore")
    assert messages == []
    with pytest.warns(SuspiciousPriceWarning, match="T2 on 2014-06-10"):
        load_prices(path)


@pytest.mark.parametrize("bad", ["error", None, True])
def test_bad_on_jump_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="on_jump="):
        validate_prices(random_walks(n_days=30), on_jump=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="on_jump="):
        load_prices("sp500-index", on_jump=bad)  # type: ignore[arg-type]


def test_short_tables_flag_only_spikes_and_huge_moves() -> None:
    index = pd.bdate_range("2020-01-01", periods=4)
    _, messages = quietly(prices=pd.DataFrame({"A": [1.0, 2.0, 3.0, 1.5]}, index=index))
    assert messages == []
    _, messages = quietly(prices=pd.DataFrame({"A": [1.0, 1e6, 1.01, 1.02]}, index=index))
    assert len(messages) == 1 and "one-day spike" in messages[0]


def test_jump_beyond_the_float_range_is_described_not_overflowed() -> None:
    index = pd.bdate_range("2020-01-01", periods=3)
    _, messages = quietly(prices=pd.DataFrame({"A": [1e-300, 1e300, 1e300]}, index=index))
    assert len(messages) == 1 and "A on 2020-01-02: x1e+600 in one day" in messages[0]
