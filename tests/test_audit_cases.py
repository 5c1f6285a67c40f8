"""The trust audit's cases, one each, through the public API (issue: no silent wrong number).

Each case is an input that once gave a silently wrong number or a traceback. Every one must now
give a correct result or the package's own error (a :class:`~stratopt.errors.StratoptError`)
whose one-line message names the value. The deeper tests of each part live beside it (data/,
test_trust.py, stats/); this file is the audit's checklist, so that none comes back.
"""

from __future__ import annotations

import math
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

import stratopt
from stratopt import MACrossover, backtest
from stratopt.errors import StratoptError


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return stratopt.load_prices("sp500", tickers="AAPL,MSFT", start="2010-01-01", end="2014-12-31")


def _nan_rule() -> MACrossover:
    rule = MACrossover()
    state = rule.state_dict()
    name = next(iter(state))
    state[name] = torch.full_like(state[name], math.nan)
    rule.load_state_dict(state)
    return rule


def _shuffled(p: pd.DataFrame) -> pd.DataFrame:
    return p.sample(frac=1.0, random_state=0)


# (case, call, words the message must hold)
REFUSED: list[tuple[str, Callable[[pd.DataFrame, Path], Any], tuple[str, ...]]] = [
    ("monthly bars", lambda p, d: backtest(MACrossover(10, 40), p.resample("ME").last()), ("daily", "31")),
    ("shuffled dates, backtest", lambda p, d: backtest(MACrossover(), _shuffled(p)), ("order", "sort_index")),
    ("shuffled dates, fit", lambda p, d: stratopt.fit(MACrossover(), _shuffled(p), epochs=1), ("order",)),
    ("shuffled dates, evaluate", lambda p, d: stratopt.evaluate(MACrossover(), _shuffled(p)), ("order",)),
    ("NaN cost_bps", lambda p, d: stratopt.LossSpec(cost_bps=float("nan")), ("cost_bps=nan",)),
    ("inf cost_bps", lambda p, d: stratopt.LossSpec(cost_bps=float("inf")), ("cost_bps=inf",)),
    ("cost_bps by name", lambda p, d: backtest(MACrossover(), p, cost_bps=5.0), ("LossSpec(cost_bps=5.0)",)),
    ("NaN parameter, backtest", lambda p, d: backtest(_nan_rule(), p), ("fast", "not finite")),
    ("NaN parameter, fit", lambda p, d: stratopt.fit(_nan_rule(), p, epochs=1), ("fast", "not finite")),
    (
        "NaN parameter, walk-forward",
        lambda p, d: stratopt.walk_forward(_nan_rule(), p, train="2Y", test="1Y"),
        ("fast", "not finite"),
    ),
    ("n_trials=0", lambda p, d: stratopt.walk_forward(MACrossover(), p, train="2Y", n_trials=0), ("n_trials=0",)),
    ("n_trials<0", lambda p, d: stratopt.walk_forward(MACrossover(), p, train="2Y", n_trials=-3), ("n_trials=-3",)),
    ("2-D sharpe", lambda p, d: stratopt.metrics.sharpe_ratio(np.zeros((3, 100))), ("(3, 100)",)),
    (
        "n_starts too big",
        lambda p, d: stratopt.fit(MACrossover(), p, n_starts=10**6, epochs=1),
        ("n_starts=1000000", "GiB"),
    ),
    ("load_prices(123)", lambda p, d: stratopt.load_prices(123), ("source=123",)),
    ("load_prices(None)", lambda p, d: stratopt.load_prices(None), ("source=None",)),
    ("start='garbage'", lambda p, d: backtest(MACrossover(), p, start="garbage"), ("garbage",)),
    ("garbage .csv.gz", lambda p, d: stratopt.load_prices(_write(d / "g.csv.gz", b"not gzip")), ("g.csv.gz",)),
    ("zip of two CSVs", lambda p, d: stratopt.load_prices(_two_zip(d)), ("two.zip", "2 entries")),
    (
        "duplicate CSV column",
        lambda p, d: stratopt.load_prices(_write(d / "dup.csv", b"date,A,A\n2020-01-02,1,2\n")),
        ("'A'",),
    ),
    ("invisible ticker", lambda p, d: stratopt.load_prices("sp500", tickers="X\u200bOM"), ("ZERO WIDTH SPACE",)),
    ("1e6x spike, on_jump=raise", lambda p, d: stratopt.load_prices(_spiked(p), on_jump="raise"), ("AAPL", "spike")),
]


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _two_zip(folder: Path) -> Path:
    path = folder / "two.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.csv", "date,A\n2020-01-02,1\n")
        z.writestr("b.csv", "date,B\n2020-01-02,1\n")
    return path


def _spiked(p: pd.DataFrame) -> pd.DataFrame:
    spiked = p.copy()
    spiked.iloc[500, 0] *= 1e6
    return spiked


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_audit_case_is_refused_with_its_value_named(case: Any, prices: pd.DataFrame, tmp_path: Path) -> None:
    _, call, words = case
    with pytest.raises(StratoptError) as info:
        call(prices, tmp_path)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_audit_spike_warns_with_ticker_and_date(prices: pd.DataFrame) -> None:
    with pytest.warns(stratopt.errors.StratoptWarning, match=r"AAPL on \d{4}-\d{2}-\d{2}"):
        stratopt.load_prices(_spiked(prices))


def test_audit_ohlcv_with_an_extra_column_is_one_ticker_of_closes(tmp_path: Path) -> None:
    days = pd.bdate_range("2020-01-02", periods=30)
    close = np.linspace(10.0, 11.0, len(days))
    frame = pd.DataFrame(
        {"Open": close, "High": close + 1, "Low": close - 1, "Close": close, "Volume": 1e6, "VWAP": close},
        index=days.rename("Date"),
    )
    frame.to_csv(tmp_path / "XYZ.csv")
    loaded = stratopt.load_prices(tmp_path / "XYZ.csv")
    assert loaded.shape[1] == 1
    np.testing.assert_allclose(loaded.iloc[:, 0].to_numpy(), close)


def test_audit_day_first_dates_land_on_their_days(tmp_path: Path) -> None:
    days = pd.bdate_range("2011-01-03", periods=252)
    text = "date,A\n" + "".join(f"{d:%d/%m/%Y},{100 + i * 0.1}\n" for i, d in enumerate(days))
    (tmp_path / "dm.csv").write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the inferred order is announced; the dates are what matter here
        loaded = stratopt.load_prices(tmp_path / "dm.csv")
    assert loaded.index.equals(days.rename("date")), "every price on its own date, no weekend dates"


def test_audit_tz_aware_index_with_start_matches_naive(prices: pd.DataFrame) -> None:
    aware = prices.copy()
    aware.index = aware.index.tz_localize("America/New_York")
    a = backtest(MACrossover(), aware, start="2012-01-01")
    b = backtest(MACrossover(), prices, start="2012-01-01")
    assert a.metrics["sharpe"] == b.metrics["sharpe"]
