"""``Tuner(patience=...)``: a fit stops when the measure that selects its epoch stops improving."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stratopt.data import load_prices
from stratopt.errors import ConfigError
from stratopt.rules import MACrossover
from stratopt.training import Tuner


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL", "XOM"], start="2002-01-01", end="2005-12-31")


def test_patience_stops_a_prefix_of_the_full_run_when_no_start_improves(prices: pd.DataFrame) -> None:
    settings = {"n_starts": 3, "seed": 0, "screen": 0, "lr": 0.05, "validation": None}
    full = Tuner(MACrossover(), epochs=80, **settings).fit(prices)
    short = Tuner(MACrossover(), epochs=80, patience=4, **settings).fit(prices)
    cols = ["loss", "monitor_hard_sharpe", "fast", "ratio"]
    run = short.history_all
    n_epochs = int(run["epoch"].max()) + 1
    assert short.status == "early_stopped" and n_epochs < 80
    # deterministic training: the stopped run is the full run cut short
    head = full.history_all[full.history_all["epoch"] < n_epochs].reset_index(drop=True)
    pd.testing.assert_frame_equal(run[cols].reset_index(drop=True), head[cols])
    # and it stopped because, for 4 epochs, no start's hard training score beat its best so far
    # (the hard training loss that select="hard" reads is minus this Sharpe ratio)
    sharpe = run.pivot(index="epoch", columns="start", values="monitor_hard_sharpe").to_numpy()
    best_before = np.maximum.accumulate(sharpe, axis=0)[-5]
    assert (sharpe[-4:] <= best_before).all()


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_patience_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError, match="patience"):
        Tuner(MACrossover(), patience=bad)
