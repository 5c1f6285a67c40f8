"""The global screen: a design over the whole box, the best distinct candidates as starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stratopt import LossSpec, evaluate, fit
from stratopt._market import MarketData
from stratopt.rules import MACrossover, MLPPolicy
from stratopt.training._screen import _design, screen_starts


def test_design_covers_the_box_bounds_included() -> None:
    u = _design(3, 256, seed=0)
    assert u.shape == (256, 3) and u.min() == 0.0 and u.max() == 1.0
    share_on_bounds = ((u == 0) | (u == 1)).mean()
    assert 0.05 < share_on_bounds < 0.15


def test_screen_picks_the_best_distinct_candidates_by_hard_score(three_stocks: pd.DataFrame) -> None:
    data = MarketData.from_prices(three_stocks)
    found = screen_starts(MACrossover(), data, LossSpec(), keep=None, n_candidates=64, n_starts=4, seed=1)
    assert found is not None
    table = found.table
    chosen = table[table["chosen"] >= 0].sort_values("chosen")
    assert len(chosen) == 4 and chosen["score"].is_monotonic_decreasing
    assert chosen["score"].iloc[0] == table["score"].max()
    # the scores are the hard objective, as an independent evaluation computes it
    check = evaluate(MACrossover().with_params(chosen[["fast", "ratio"]]), three_stocks)
    np.testing.assert_allclose(check["objective"], chosen["score"], rtol=1e-10)
    assert found.starts.batch_params()["fast"].tolist() == pytest.approx(chosen["fast"].tolist())
    # row 0 is the rule's own values
    assert table.loc[0, ["fast", "ratio"]].tolist() == pytest.approx([20.0, 5.0])


def test_a_fit_with_a_screen_is_at_least_its_best_candidate(three_stocks: pd.DataFrame) -> None:
    res = fit(MACrossover(), three_stocks, screen=64, n_starts=3, seed=0, epochs=15, validation=None, progress=False)
    best_candidate = res.screen["score"].max()
    assert res.metrics["train"]["hard_objective"] >= best_candidate - 1e-12
    assert res.screen["chosen"].max() == 2


def test_rules_with_unstructured_weights_are_not_screened(three_stocks: pd.DataFrame) -> None:
    data = MarketData.from_prices(three_stocks)
    assert (
        screen_starts(
            MLPPolicy(n_lags=3, hidden=(4,), seed=0), data, LossSpec(), keep=None, n_candidates=16, n_starts=2, seed=0
        )
        is None
    )
