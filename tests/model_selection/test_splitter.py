"""Tests of the walk-forward splitter: exact layouts, invariants as properties, errors, plot."""

from __future__ import annotations

import doctest
import itertools
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

import stratopt.model_selection._splitter as splitter_module
from stratopt.errors import ConfigError, DataError
from stratopt.model_selection import WalkForward

BUNDLED = Path(__file__).resolve().parents[2] / "data" / "sp500_index.csv.gz"


@pytest.fixture(scope="module")
def sp500_dates() -> pd.DatetimeIndex:
    """The real NYSE dates of the bundled data, 1990-01-02 .. 2022-12-28 (8313 days)."""
    return pd.read_csv(BUNDLED, index_col=0, parse_dates=True).index


def reference_int_folds(
    n: int,
    train: int,
    test: int,
    step: int,
    *,
    anchored: bool = False,
    purge: int = 0,
    embargo: int = 0,
    min_train: int | None = None,
    reduce_test: bool = False,
) -> list[tuple[list[int], list[int]]]:
    """Day-by-day restatement of the documented layout for int sizes (slow, obviously right)."""
    folds, embargoed = [], set()
    start = (max(train, min_train or 0) if anchored else train) + purge
    while start < n:
        end = start + test
        if end > n:
            if not reduce_test:
                break
            end = n
        gap = start - purge
        first = 0 if anchored else gap - train
        folds.append(([i for i in range(first, gap) if i not in embargoed], list(range(start, end))))
        embargoed.update(range(end, end + embargo))
        start += step
    return folds


def as_lists(wf: WalkForward, dates: pd.DatetimeIndex) -> list[tuple[list[int], list[int]]]:
    return [(tr.tolist(), te.tolist()) for tr, te in wf.split(dates)]


int_configs = st.fixed_dictionaries(
    {
        "n": st.integers(1, 300),
        "train": st.integers(1, 80),
        "test": st.integers(1, 40),
        "extra_step": st.integers(0, 15),
        "anchored": st.booleans(),
        "purge": st.integers(0, 10),
        "embargo_frac": st.floats(0, 1, exclude_max=True),
        "min_train": st.none() | st.integers(1, 100),
        "reduce_test": st.booleans(),
    }
)


def build(cfg: dict) -> tuple[WalkForward, dict]:
    step = cfg["test"] + cfg["extra_step"]
    kwargs = {
        "step": step,
        "anchored": cfg["anchored"],
        "purge": cfg["purge"],
        "embargo": int(cfg["embargo_frac"] * step),  # always < step
        "min_train": cfg["min_train"] if cfg["anchored"] else None,
        "reduce_test": cfg["reduce_test"],
    }
    return WalkForward(cfg["train"], cfg["test"], **kwargs), kwargs


# --- exact layouts -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(int_configs)
def test_int_sizes_match_day_by_day_reference(cfg: dict) -> None:
    wf, kwargs = build(cfg)
    dates = pd.bdate_range("2000-01-03", periods=cfg["n"])
    expected = reference_int_folds(cfg["n"], cfg["train"], cfg["test"], **kwargs)
    if not expected:
        with pytest.raises(DataError, match="too short"):
            wf.get_n_splits(dates)
    elif any(not train for train, _ in expected):
        with pytest.raises(ConfigError, match="no training days"):
            wf.get_n_splits(dates)
    else:
        assert as_lists(wf, dates) == expected


def test_rolling_int_layout_by_hand() -> None:
    dates = pd.bdate_range("2020-01-01", periods=20)
    wf = WalkForward(5, 4, step=6, purge=2, embargo=1)
    assert as_lists(wf, dates) == [
        ([0, 1, 2, 3, 4], [7, 8, 9, 10]),
        ([6, 7, 8, 9, 10], [13, 14, 15, 16]),  # row 11 (after test 0) is embargoed
    ]


def test_bundled_five_year_rolling_one_year_test(sp500_dates: pd.DatetimeIndex) -> None:
    wf = WalkForward("5Y", "1Y")
    folds = wf.folds(sp500_dates)
    # Test years 1995..2021; 2022 is cut short by the data (ends 2022-12-28), so dropped.
    assert len(folds) == 27 == wf.get_n_splits(sp500_dates)
    assert folds["test_start"].iloc[0] == pd.Timestamp("1995-01-03")
    assert folds["test_end"].iloc[-1] == pd.Timestamp("2021-12-31")
    assert folds["train_start"].iloc[0] == sp500_dates[0]
    # Each test window is the year from 1995-01-02 + k years: count rows with pandas directly.
    for k, row in folds.iterrows():
        lo, hi = (
            pd.Timestamp("1995-01-02") + pd.DateOffset(years=k),
            pd.Timestamp("1996-01-02") + pd.DateOffset(years=k),
        )
        assert row["n_test"] == ((sp500_dates >= lo) & (sp500_dates < hi)).sum()
        assert row["n_train"] == ((sp500_dates >= lo - pd.DateOffset(years=5)) & (sp500_dates < lo)).sum()
    reduced = WalkForward("5Y", "1Y", reduce_test=True).folds(sp500_dates)
    assert len(reduced) == 28
    assert reduced["test_end"].iloc[-1] == sp500_dates[-1]
    assert reduced["n_test"].iloc[-1] == (sp500_dates >= "2022-01-02").sum()


def test_indices_address_rows_of_a_price_frame(sp500_dates: pd.DatetimeIndex) -> None:
    prices = pd.DataFrame({"A": np.arange(len(sp500_dates), dtype=float)}, index=sp500_dates)
    wf = WalkForward(1260, 252, anchored=True, purge=5)
    folds = wf.folds(prices)
    for (train, test), (_, row) in zip(wf.split(prices), folds.iterrows(), strict=True):
        assert prices.iloc[test].index[0] == row["test_start"]
        assert prices.iloc[test].index[-1] == row["test_end"]
        assert prices.iloc[train].index[-1] == row["train_end"]
        assert (len(train), len(test)) == (row["n_train"], row["n_test"])
    assert list(folds.columns) == [
        "fold",
        "train_start",
        "train_end",
        "test_start",
        "test_end",
        "n_train",
        "n_test",
    ]
    assert folds["fold"].tolist() == list(range(len(folds)))


def test_input_kinds_give_the_same_folds() -> None:
    dates = pd.bdate_range("2015-01-01", periods=700)
    wf = WalkForward("1Y", "3M", purge=3)
    frame = pd.DataFrame(np.ones((700, 2)), index=dates, columns=["A", "B"])
    expected = as_lists(wf, dates)
    assert as_lists(wf, frame) == expected
    assert as_lists(wf, frame["A"]) == expected
    assert as_lists(wf, dates.tz_localize("America/New_York")) == expected


# --- offset strings ----------------------------------------------------------------------------


def test_offset_spellings_are_equivalent() -> None:
    dates = pd.bdate_range("2010-01-01", "2016-06-30")
    expected = as_lists(WalkForward("2Y", "1Y"), dates)
    assert as_lists(WalkForward("24M", "12m"), dates) == expected
    assert as_lists(WalkForward(" 2y ", pd.DateOffset(years=1)), dates) == expected


def test_days_are_calendar_days_and_ints_are_trading_days() -> None:
    dates = pd.bdate_range("2020-01-01", periods=400)
    calendar = WalkForward(100, "63D").folds(dates)
    trading = WalkForward(100, 63).folds(dates)
    assert (trading["n_test"] == 63).all()
    assert (calendar["test_end"] - calendar["test_start"]).max() < pd.Timedelta(days=63)
    assert calendar["n_test"].max() == 45  # 63 calendar days hold 9 weeks of 5 business days


def test_anchored_min_train_delays_the_first_test() -> None:
    dates = pd.bdate_range("2020-01-01", periods=300)
    folds = WalkForward(50, 20, anchored=True, min_train=120, purge=2).folds(dates)
    assert folds["n_train"].iloc[0] == 120
    assert folds["test_start"].iloc[0] == dates[122]
    calendar = WalkForward("1M", 20, anchored=True, min_train=120, purge=3).folds(dates)
    assert calendar["n_train"].iloc[0] == 120
    assert calendar["test_start"].iloc[0] == dates[123]


# --- invariants as properties ------------------------------------------------------------------


def check_invariants(wf: WalkForward, dates: pd.DatetimeIndex) -> list[tuple[np.ndarray, np.ndarray]]:
    folds = list(wf.split(dates))
    assert folds, "expected at least one fold"
    purge, embargo = wf.purge, wf.embargo
    for k, (train, test) in enumerate(folds):
        assert train.dtype.kind == test.dtype.kind == "i"
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) == 1)
        assert train.min() >= 0 and test.max() < len(dates)
        assert train.max() + purge < test.min()  # purge gap honoured
        for _, earlier_test in folds[:k]:  # embargo honoured
            after = np.arange(earlier_test.max() + 1, earlier_test.max() + 1 + embargo)
            assert not np.isin(train, after).any()
        if k:  # test windows in time order, never overlapping
            assert folds[k - 1][1].max() < test.min()
    if wf.anchored:
        for (prev, _), (train, _) in itertools.pairwise(folds):
            assert train[0] == 0 and set(prev) <= set(train) and len(train) >= len(prev)
        assert folds[0][0][0] == 0
    elif isinstance(wf.train, int):
        for train, test in folds:  # a fixed-length window, less any embargoed rows
            gap = test.min() - purge
            assert train.min() >= gap - wf.train and train.max() < gap
        if embargo == 0:
            assert {len(train) for train, _ in folds} == {wf.train}
    return folds


@settings(max_examples=200, deadline=None)
@given(int_configs)
def test_invariants_int_sizes(cfg: dict) -> None:
    wf, _ = build(cfg)
    dates = pd.bdate_range("2001-01-01", periods=cfg["n"])
    try:
        check_invariants(wf, dates)
    except (DataError, ConfigError):
        assume(False)  # too short, or nothing left to train on: covered by the reference test


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    start=st.dates(min_value=pd.Timestamp("1995-01-01").date(), max_value=pd.Timestamp("2020-01-01").date()),
    n=st.integers(100, 1500),
    train_months=st.integers(1, 24),
    test_months=st.integers(1, 12),
    purge=st.integers(0, 5),
    embargo=st.integers(0, 15),
    anchored=st.booleans(),
)
def test_calendar_windows_match_date_masks(start, n, train_months, test_months, purge, embargo, anchored) -> None:
    dates = pd.bdate_range(start, periods=n)
    wf = WalkForward(f"{train_months}M", f"{test_months}M", purge=purge, embargo=embargo, anchored=anchored)
    try:
        folds = check_invariants(wf, dates)
    except (DataError, ConfigError):
        assume(False)
    train_off, test_off = pd.DateOffset(months=train_months), pd.DateOffset(months=test_months)
    blocked = np.zeros(n, dtype=bool)
    rows = np.arange(n)
    for k, (train, test) in enumerate(folds):
        lo, hi = dates[0] + train_off + test_off * k, dates[0] + train_off + test_off * (k + 1)
        assert test.tolist() == rows[(dates >= lo) & (dates < hi)].tolist()
        assert hi <= dates[-1]  # only whole windows
        in_span = (dates >= (dates[0] if anchored else lo - train_off)) & (dates < lo)
        expected = rows[in_span][: in_span.sum() - purge] if purge else rows[in_span]
        assert train.tolist() == [i for i in expected if not blocked[i]]
        blocked[test.max() + 1 : test.max() + 1 + embargo] = True


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"train": 0, "test": 5}, "train=0"),
        ({"train": 10, "test": -1}, "test=-1"),
        ({"train": "0Y", "test": 5}, "'0Y'"),
        ({"train": "5X", "test": 5}, "'5X' is not a known size"),
        ({"train": "1.5Y", "test": 5}, "'1.5Y'"),
        ({"train": "Y", "test": 5}, "'Y'"),
        ({"train": 2.5, "test": 5}, "2.5"),
        ({"train": True, "test": 5}, "True"),
        ({"train": 10, "test": 5, "step": 4}, "step=4 is shorter than test=5"),
        ({"train": 10, "test": 5, "purge": -1}, "purge=-1"),
        ({"train": 10, "test": 5, "embargo": 5}, "embargo=5 must be shorter than step=5"),
        ({"train": 10, "test": 5, "min_train": 20}, "anchored splits only"),
        ({"train": 10, "test": 5, "anchored": True, "min_train": 0}, "min_train=0"),
        ({"train": 10, "test": 5, "anchored": "yes"}, "anchored='yes'"),
    ],
)
def test_bad_configuration_raises_config_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        WalkForward(**kwargs)


def test_overlap_from_mixed_units_is_caught_at_split() -> None:
    dates = pd.bdate_range("2000-01-01", periods=1000)
    with pytest.raises(ConfigError, match="step=100 is shorter than test='1Y'"):
        WalkForward(10, "1Y", step=100).get_n_splits(dates)


def test_calendar_step_checks_happen_at_split() -> None:
    dates = pd.bdate_range("2000-01-01", periods=600)
    with pytest.raises(ConfigError, match=r"embargo=30 must be shorter .* \(2\d rows here\)"):
        WalkForward(50, "1M", embargo=30).get_n_splits(dates)
    weekly = pd.date_range("2000-01-07", periods=100, freq="W-FRI")
    with pytest.raises(ConfigError, match="shorter than the spacing of the dates"):
        WalkForward(10, "1D").get_n_splits(weekly)


def test_embargo_that_leaves_no_train_days_is_caught() -> None:
    dates = pd.bdate_range("2000-01-01", periods=200)
    # Train rows [s - 15, s - 10) of fold 2 all fall inside the embargo after fold 0's test.
    with pytest.raises(ConfigError, match="fold 2 has no training days"):
        WalkForward(5, 20, purge=10, embargo=15).split(dates)  # raised by the call itself


def test_too_short_says_what_is_needed_and_what_is_there() -> None:
    dates = pd.bdate_range("2000-01-03", periods=600)
    with pytest.raises(DataError, match=r"need 752 trading days, but the data has 600"):
        WalkForward(500, 252).folds(dates)
    with pytest.raises(DataError, match=r"need about \d+ trading days, but the data has 600"):
        WalkForward("5Y", "1Y").get_n_splits(dates)
    for train in (5, "1Y"):
        with pytest.raises(DataError, match="has 0"):
            WalkForward(train, 5).get_n_splits(pd.DatetimeIndex([]))


@pytest.mark.parametrize(
    ("index", "match"),
    [
        (pd.DatetimeIndex(["2020-01-02", "2020-01-01", "2020-01-03"]), "not sorted.*sort_index"),
        (pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-02"]), "duplicate date 2020-01-02"),
        (pd.DatetimeIndex(["2020-01-01", None, "2020-01-03"]), "NaT at row 1"),
        (pd.RangeIndex(10), "DatetimeIndex"),
    ],
)
def test_bad_index_raises_data_error(index: pd.Index, match: str) -> None:
    frame = pd.DataFrame({"A": np.ones(len(index))}, index=index)
    with pytest.raises(DataError, match=match):
        list(WalkForward(1, 1).split(frame))


def test_list_input_is_rejected() -> None:
    with pytest.raises(DataError, match="got list"):
        WalkForward(1, 1).get_n_splits(["2020-01-01", "2020-01-02"])  # type: ignore[arg-type]


# --- plot and docs ---------------------------------------------------------------------------


def test_plot_draws_every_part_without_pyplot() -> None:
    import matplotlib.pyplot as plt

    dates = pd.bdate_range("2015-01-01", "2020-12-31")
    wf = WalkForward("2Y", "1Y", purge=5, embargo=10)
    before = plt.get_fignums()
    fig = wf.plot(dates)
    assert isinstance(fig, Figure) and plt.get_fignums() == before
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"fold {k}" for k in range(wf.get_n_splits(dates))]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "train",
        "purge",
        "test",
        "embargo",
    ]
    tests = [c for c in ax.collections if c.get_label() == "test"]
    first = tests[0].get_paths()[0].get_extents()
    folds = wf.folds(dates)
    assert first.x0 == pytest.approx(mdates.date2num(folds["test_start"].iloc[0]))
    assert first.x1 == pytest.approx(mdates.date2num(folds["test_end"].iloc[0]) + 1)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(splitter_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
