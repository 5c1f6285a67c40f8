"""fit: improvement on real data, divergence handling, reproducibility, argument checks."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from stratopt.backtesting import backtest
from stratopt.errors import ConfigError, DivergenceWarning
from stratopt.rules import MACrossover
from stratopt.training import fit

#: One start from the rule as given, 20% of days held out: the settings these tests were written for.
ONE = {"n_starts": 1, "screen": 0, "validation": 0.2}


def test_fit_raises_hard_sharpe_of_a_deliberately_bad_rule(three_stocks: pd.DataFrame) -> None:
    bad = MACrossover(fast=2, slow=3)  # two near-equal 2- and 3-day spans: trades daily noise
    before = backtest(bad, three_stocks).metrics["sharpe"]
    res = fit(bad, three_stocks, optimizer="adam", lr=0.1, epochs=150, validation=None, progress=False)
    after = backtest(res.rule, three_stocks).metrics["sharpe"]
    assert after > before + 0.2
    assert res.metrics["train"]["hard_sharpe"] == pytest.approx(after, rel=1e-6, abs=1e-9)
    assert bad.params == {"fast": 2.0, "ratio": 1.5, "slow": 3.0}  # the input rule is left unchanged
    assert res.history["loss"].iloc[-1] < res.history["loss"].iloc[0]


def test_huge_learning_rate_ends_diverged_with_finite_params(three_stocks: pd.DataFrame) -> None:
    for optimizer in ("sgd", "adam"):
        with pytest.warns(DivergenceWarning):
            res = fit(MACrossover(), three_stocks, optimizer=optimizer, lr=1e3, epochs=30, progress=False)
        assert res.status == "diverged" and res.diverged_at is not None
        p = res.params
        assert all(math.isfinite(v) for v in p.values())
        assert 2 <= p["fast"] <= 100 and 1.25 <= p["ratio"] <= 8
        assert np.isfinite(res.history[["loss", "grad_norm"]].to_numpy()).all()


def test_same_seed_same_result(three_stocks: pd.DataFrame) -> None:
    kw = {
        "n_starts": 4,
        "seed": 7,
        "batch_days": 250,
        "batches_per_step": 2,
        "epochs": 15,
        "lr": 0.05,
        "progress": False,
    }
    a = fit(MACrossover(), three_stocks, **kw)
    b = fit(MACrossover(), three_stocks, **kw)
    assert a.params == b.params
    pd.testing.assert_frame_equal(a.history_all, b.history_all)
    c = fit(MACrossover(), three_stocks, **{**kw, "seed": 8})
    assert c.starts.iloc[1:].to_numpy().tolist() != a.starts.iloc[1:].to_numpy().tolist()


def test_multi_start_picks_the_best_validation_start(three_stocks: pd.DataFrame) -> None:
    res = fit(MACrossover(), three_stocks, n_starts=5, seed=0, epochs=20, progress=False)
    assert res.best_start == int(res.starts["monitor_loss"].idxmin())
    assert len(res.starts) == 5 and res.history_all["start"].nunique() == 5
    assert set(res.history.columns) >= {
        "loss",
        "train_sharpe",
        "val_sharpe",
        "grad_norm",
        "lr",
        "temperature",
        "fast",
        "slow",
    }


def test_early_stopping_restores_best_soft_params(three_stocks: pd.DataFrame) -> None:
    res = fit(
        MACrossover(), three_stocks, **ONE, epochs=300, lr=0.2, early_stopping=(5, 0.0), select="soft", progress=False
    )
    assert res.status in {"early_stopped", "converged"}
    best_epoch = int(res.history["val_sharpe"].idxmax())
    assert res.params["fast"] == pytest.approx(res.history.loc[best_epoch, "fast"], rel=1e-9)


def test_select_validation_keeps_the_epoch_where_the_hard_rule_did_best(three_stocks: pd.DataFrame) -> None:
    res = fit(MACrossover(), three_stocks, **ONE, epochs=40, lr=0.1, select="validation", progress=False)
    h = res.history
    best_epoch = int(h["monitor_hard_sharpe"].idxmax())
    assert res.params["slow"] == pytest.approx(h.loc[best_epoch, "slow"], rel=1e-9)
    assert res.metrics["validation"]["hard_sharpe"] == pytest.approx(h["monitor_hard_sharpe"].max(), rel=0.01)
    last = fit(MACrossover(), three_stocks, **ONE, epochs=40, lr=0.1, select="last", progress=False)
    assert last.params["slow"] == pytest.approx(h["slow"].iloc[-1], rel=1e-9)


def test_temperature_annealing_and_soft_hard_gap_reported(three_stocks: pd.DataFrame) -> None:
    res = fit(MACrossover(), three_stocks, **ONE, epochs=10, temperature=(2.0, 0.05), progress=False)
    assert res.history["temperature"].iloc[0] == pytest.approx(2.0)
    assert res.history["temperature"].iloc[-1] == pytest.approx(0.05)
    m = res.metrics["validation"]
    assert m["sharpe_gap"] == pytest.approx(m["soft_sharpe"] - m["hard_sharpe"])
    assert abs(m["sharpe_gap"]) < 0.2  # at temperature 0.05 the soft rule is nearly hard


def test_result_round_trips_to_json(three_stocks: pd.DataFrame, tmp_path) -> None:
    res = fit(MACrossover(), three_stocks, **ONE, epochs=3, progress=False)
    saved = json.loads(res.save(tmp_path / "fit.json").read_text())
    assert saved["params"] == res.params and saved["status"] == res.status
    assert saved["data_hash"] == res.data_hash and saved["stratopt_version"]
    assert "hard_sharpe" in saved["metrics"]["validation"] and "MACrossover" in res.summary()
    assert res.plot().axes


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": -0.1}, "lr=-0.1"),
        ({"optimizer": "adamw"}, "adamw"),
        ({"epochs": 0}, "epochs=0"),
        ({"validation": 0.999}, "training days"),
        ({"validation": 1.5}, "validation=1.5"),
        ({"batch_days": 10**6}, "batch_days"),
        ({"temperature": 0.0}, "temperature"),
        ({"early_stopping": (0, 0.0)}, "patience"),
        ({"objective": "nope"}, "LossSpec"),
        ({"cost_bps": 5}, "loss setting"),
        ({"epoch": 5}, "fit got an unknown option 'epoch'"),
    ],
)
def test_bad_arguments_are_clear_errors(three_stocks: pd.DataFrame, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        fit(MACrossover(), three_stocks, progress=False, **kwargs)


def test_windows_longer_than_the_data_are_rejected(three_stocks: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="longest window"):
        fit(MACrossover(fast=50, slow=390), three_stocks.iloc[:300], progress=False)


def test_fit_never_sees_validation_prices(three_stocks: pd.DataFrame) -> None:
    """Poisoning the validation prices leaves the training path untouched."""
    poisoned = three_stocks.copy()
    cut = int(len(poisoned) * 0.8)
    poisoned.iloc[cut + 1 :] *= 1000.0
    kw = {"epochs": 5, "validation": 0.2, "progress": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fit(MACrossover(), three_stocks, **kw)
        b = fit(MACrossover(), poisoned, **kw)
    pd.testing.assert_series_equal(a.history["loss"], b.history["loss"])


def test_float32_fit_matches_float64_closely(three_stocks: pd.DataFrame) -> None:
    import torch

    kw = {"epochs": 10, "lr": 0.05, "progress": False, "select": "last"}
    a = fit(MACrossover(), three_stocks, **ONE, dtype=torch.float64, device="cpu", **kw)
    b = fit(MACrossover(), three_stocks, **ONE, dtype=torch.float32, **kw)
    assert b.params == pytest.approx(a.params, rel=1e-3)
    assert b.metrics["validation"]["soft_sharpe"] == pytest.approx(a.metrics["validation"]["soft_sharpe"], abs=1e-3)


def test_initial_starts_record_where_each_start_began(three_stocks: pd.DataFrame) -> None:
    res = fit(MACrossover(fast=15, slow=90), three_stocks, n_starts=3, seed=2, epochs=2, screen=0, progress=False)
    assert res.initial_starts.loc[0].to_dict() == pytest.approx({"fast": 15.0, "ratio": 6.0, "slow": 90.0})
    assert len(res.initial_starts) == 3


def test_select_hard_chooses_by_the_training_days_and_reports_validation(three_stocks: pd.DataFrame) -> None:
    res = fit(MACrossover(), three_stocks, epochs=30, lr=0.1, n_starts=3, seed=0, validation=0.2, progress=False)
    from stratopt import LossSpec, evaluate

    train = three_stocks.iloc[: res.config["n_train"]]
    scores = evaluate(res.batch_rule, train)["objective"]
    # the reported start is the best on the training days, not on the validation days
    assert res.best_start == int(scores.idxmax())
    assert "validation" in res.metrics
    assert LossSpec().cost_bps == res.loss.cost_bps
