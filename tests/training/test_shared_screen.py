"""The screen scored once over the whole history and sliced per fold (walk-forward's screen)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stratopt import LossSpec
from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.evaluation import hard_scores
from stratopt.rules import MACrossover, Momentum
from stratopt.training._screen import screen_design
from stratopt.training._shared_screen import SharedScreen

SPEC = LossSpec(position_mode="long_only", cost_bps=5)


@pytest.fixture(scope="module")
def history(three_stocks: pd.DataFrame) -> MarketData:
    return MarketData.from_prices(three_stocks)


def test_fold_scores_equal_scores_on_prices_cut_after_the_window(
    three_stocks: pd.DataFrame, history: MarketData
) -> None:
    rule = MACrossover(fast=15, slow=90)
    shared = SharedScreen.build(rule, history, SPEC, n_candidates=64, seed=3)
    assert shared is not None
    lo, hi = 700, 1900  # a window in the middle of the history
    window = MarketData.from_prices(three_stocks.iloc[lo:hi])
    keep = torch.zeros(hi - lo - 1, dtype=torch.bool)
    keep[300:] = True  # the first 300 returns are warm-up only, as in a fold
    found = shared.starts(rule, window, keep, n_starts=4)
    # independent truth: the same candidates on prices that END with the window (nothing after
    # it exists), from the first day of the history, scored on the same returns
    cut = MarketData.from_prices(three_stocks.iloc[:hi])
    rows = torch.zeros(hi - 1, dtype=torch.bool)
    rows[lo + 300 :] = True
    names = ["fast", "ratio"]
    truth = hard_scores(rule.with_params(found.table[names]), cut, SPEC, rows).numpy()
    np.testing.assert_allclose(found.table["score"].to_numpy(), truth, rtol=1e-12, atol=1e-14)
    # candidate 0 is the rule's own values; the design is the one the seed gives
    assert found.table.loc[0, "fast"] == 15
    _, design, _ = screen_design(rule, 64, seed=3)
    pd.testing.assert_frame_equal(found.table.loc[1:, names].reset_index(drop=True), design[names])
    chosen = found.table[found.table["chosen"] >= 0].sort_values("chosen")
    assert chosen["score"].iloc[0] == found.table["score"].max()
    assert found.starts.batch_size == 4


def test_poisoned_days_after_the_window_change_nothing(three_stocks: pd.DataFrame) -> None:
    rule = MACrossover(fast=15, slow=90)
    hi = 1500
    poisoned = three_stocks.copy()
    poisoned.iloc[hi:] *= 1000.0
    window = MarketData.from_prices(three_stocks.iloc[200:hi])
    scores = [
        SharedScreen.build(rule, MarketData.from_prices(p), SPEC, n_candidates=32, seed=0)
        .starts(rule, window, None, n_starts=2)
        .table["score"]
        for p in (three_stocks, poisoned)
    ]
    pd.testing.assert_series_equal(scores[0], scores[1])


def test_a_window_of_other_days_or_another_rule_is_refused(three_stocks: pd.DataFrame, history: MarketData) -> None:
    shared = SharedScreen.build(MACrossover(), history, SPEC, n_candidates=16, seed=0)
    assert shared is not None
    gappy = MarketData.from_prices(three_stocks.iloc[::2].iloc[:300])
    with pytest.raises(ConfigError, match="not consecutive days"):
        shared.starts(MACrossover(), gappy, None, n_starts=2)
    with pytest.raises(ConfigError, match="not a Momentum"):
        shared.starts(Momentum(), MarketData.from_prices(three_stocks.iloc[:400]), None, n_starts=2)


def test_nothing_to_screen_gives_none(history: MarketData) -> None:
    assert SharedScreen.build(MACrossover(), history, SPEC, n_candidates=0, seed=0) is None


def test_the_callers_rule_is_not_moved_to_the_screens_dtype(three_stocks: pd.DataFrame) -> None:
    """Scoring the rule's own values must not cast the caller's rule (nn.Module.to is in place)."""
    history = MarketData.from_prices(three_stocks, dtype=torch.float32)
    rule = MACrossover(fast=15, slow=90)
    shared = SharedScreen.build(rule, history, SPEC, n_candidates=16, seed=0)
    assert shared is not None
    shared.starts(rule, MarketData.from_prices(three_stocks.iloc[:900], dtype=torch.float32), None, n_starts=2)
    assert {p.dtype for p in rule.parameters()} == {torch.float64}
