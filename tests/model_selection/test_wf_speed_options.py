"""Walk-forward bookkeeping for long runs: a short last fold, checkpoints and resume, train dates."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stratopt.data import load_prices
from stratopt.errors import ConfigError
from stratopt.model_selection import WalkForward, _walk_forward, _wf_fold, walk_forward
from stratopt.rules import MACrossover
from stratopt.training import Tuner


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL", "XOM"], start="2001-01-01", end="2004-12-31")


def _tuner(**kw) -> Tuner:
    return Tuner(MACrossover(fast=10, slow=60), **{"epochs": 3, "validation": None, "n_starts": 2, "seed": 0, **kw})


# 1006 rows: folds test rows 500-749 and 750-999, and a 6-day last window (1000-1005)
SPLIT = WalkForward(500, 250, reduce_test=True)


def test_short_last_fold_is_merged_into_the_previous_one_and_said_so(prices: pd.DataFrame) -> None:
    n = len(prices)
    assert (n - 500) % 250 < 250 / 4  # the data really ends with a short window
    merged = walk_forward(_tuner(), prices, SPLIT, progress=False)
    kept = walk_forward(_tuner(), prices, SPLIT, progress=False, short_fold="keep")
    skipped = walk_forward(_tuner(), prices, SPLIT, progress=False, short_fold="skip")
    assert len(kept.folds) == len(merged.folds) + 1 == len(skipped.folds) + 1
    # merged: the last days are out of sample, traded by the previous fold's fit (its parameters)
    assert merged.oos_returns.index[-1] == prices.index[-1] == kept.oos_returns.index[-1]
    assert skipped.oos_returns.index[-1] == prices.index[n - 1 - (n - 500) % 250]
    last = merged.folds.iloc[-1]
    assert pd.Timestamp(last["test_end"]) == prices.index[-1]
    pd.testing.assert_series_equal(
        merged.oos_returns.loc[: skipped.oos_returns.index[-1]], skipped.oos_returns, check_names=False
    )
    for res, word in ((merged, "traded with fold"), (skipped, "skipped"), (kept, "fitted as a fold")):
        assert word in res.config["short_last_fold"] and word in res.summary()
    assert "short last fold" not in walk_forward(_tuner(), prices, WalkForward(500, 250), progress=False).summary()
    with pytest.raises(ConfigError, match="short_fold"):
        walk_forward(_tuner(), prices, SPLIT, progress=False, short_fold="drop")


def test_summary_fold_table_shows_train_start_and_end_of_an_anchored_run(prices: pd.DataFrame) -> None:
    res = walk_forward(_tuner(), prices, WalkForward(400, 300, anchored=True), progress=False)
    text = res.summary()
    assert "train_start" in text and "train_end" in text
    starts = pd.to_datetime(res.folds["train_start"])
    ends = pd.to_datetime(res.folds["train_end"])
    assert starts.nunique() == 1 and ends.is_monotonic_increasing and ends.nunique() == len(res.folds)
    assert str(ends.iloc[-1].date()) in text


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.folds, b.folds)
    pd.testing.assert_series_equal(a.oos_returns, b.oos_returns)
    pd.testing.assert_frame_equal(a.candidates, b.candidates)
    for name in a.baselines:
        pd.testing.assert_series_equal(a.baselines[name], b.baselines[name])
    assert a.psr == b.psr


def test_checkpoint_resume_equals_an_uninterrupted_run(prices: pd.DataFrame, tmp_path, monkeypatch) -> None:
    full = walk_forward(_tuner(), prices, SPLIT, progress=False)
    ckpt = tmp_path / "run"
    real = _wf_fold.run_fold
    calls = {"n": 0}

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the run is stopped in the middle of its second fold
        return real(*args, **kwargs)

    monkeypatch.setattr("stratopt.model_selection._walk_forward.run_fold", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        walk_forward(_tuner(), prices, SPLIT, progress=False, checkpoint_dir=ckpt)
    assert sorted(p.name for p in ckpt.glob("fold_*.json")) == ["fold_0000.json"]

    fitted = []
    monkeypatch.setattr(
        "stratopt.model_selection._walk_forward.run_fold", lambda *a, **k: fitted.append(1) or real(*a, **k)
    )
    resumed = walk_forward(_tuner(), prices, SPLIT, progress=False, checkpoint_dir=ckpt)
    assert len(fitted) == len(full.folds) - 1  # the finished fold was read back, not fitted
    _same(full, resumed)
    built = []
    real_screen = _walk_forward._shared_screen
    monkeypatch.setattr(_walk_forward, "_shared_screen", lambda *a: built.append(1) or real_screen(*a))
    again = walk_forward(_tuner(), prices, SPLIT, progress=False, checkpoint_dir=ckpt)
    assert len(fitted) == len(full.folds) - 1  # everything read back
    assert built == []  # and no screen scored over the history for folds that are not fitted
    _same(full, again)
    assert json.loads((ckpt / "manifest.json").read_text())["key"]
    # every fold's training history survives the checkpoint, read back or fitted
    assert set(full.history["fold"]) == set(full.folds.index)
    for result in (resumed, again):
        pd.testing.assert_frame_equal(result.history, full.history, check_dtype=False, rtol=1e-14)


def test_checkpoint_of_other_settings_or_data_is_refused(prices: pd.DataFrame, tmp_path) -> None:
    ckpt = tmp_path / "run"
    walk_forward(_tuner(), prices, WalkForward(500, 250), progress=False, checkpoint_dir=ckpt)
    with pytest.raises(ConfigError, match="another walk-forward"):
        walk_forward(_tuner(lr=0.01), prices, WalkForward(500, 250), progress=False, checkpoint_dir=ckpt)
    other = prices.copy()
    other.iloc[-1, 0] *= 1.01
    with pytest.raises(ConfigError, match="settings or data differ"):
        walk_forward(_tuner(), other, WalkForward(500, 250), progress=False, checkpoint_dir=ckpt)
    with pytest.raises(ConfigError, match="another walk-forward"):
        walk_forward(_tuner(), prices, WalkForward(500, 250), progress=False, checkpoint_dir=ckpt, warm_start=False)
    assert np.isfinite(walk_forward(_tuner(), prices, WalkForward(500, 250), progress=False, checkpoint_dir=ckpt).psr)
