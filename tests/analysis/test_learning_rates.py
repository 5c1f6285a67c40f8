"""Learning-rate comparison and range test: verdicts on real runs and synthetic curves, batched
runs equal to one-by-one fits and to single fits for every optimiser, the loss spec reaching
every run, steps to 95%, plots, argument checks."""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from stratopt.analysis import (
    LRComparison,
    compare_learning_rates,
    loss_curve_verdict,
    lr_range_test,
    steps_to_fraction,
)
from stratopt.analysis._lr_range import smooth_losses
from stratopt.data import load_prices
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.rules import MACrossover
from stratopt.training import fit

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def aapl() -> pd.DataFrame:
    """Six years of one stock: enough for 100-day windows, quick to fit."""
    return load_prices("sp500", tickers=["AAPL"], start="2004-01-01", end="2009-12-31")


@pytest.fixture(scope="module")
def three_rates(aapl: pd.DataFrame) -> LRComparison:
    return compare_learning_rates(MACrossover(), aapl, [1e-6, 1.0, 1e3], epochs=40, progress=False)


# ------------------------------------------------------------------ steps to 95% (synthetic)
def test_steps_to_fraction_on_an_exponential_decay() -> None:
    # L(t) = -1 + 0.8 exp(-t / 10): 95% of the way from -0.2 to -1 when exp(-t/10) <= 0.05,
    # i.e. t >= 10 ln 20 = 29.96, so the first epoch is 30.
    t = np.arange(100)
    curve = -1 + 0.8 * np.exp(-t / 10)
    assert steps_to_fraction(curve, best_loss=-1.0) == math.ceil(10 * math.log(20))
    assert steps_to_fraction(curve, best_loss=-1.0, fraction=0.5) == math.ceil(10 * math.log(2))


def test_steps_to_fraction_positive_losses_and_edge_cases() -> None:
    assert steps_to_fraction([1.0, 0.5, 0.2, 0.1], best_loss=0.1) == 3  # 1 - 0.95 * 0.9 = 0.145
    assert steps_to_fraction([-0.2, -0.3, -0.4], best_loss=-1.0) is None  # never gets there
    assert steps_to_fraction([-0.2, -0.1], best_loss=-0.2) is None  # nobody improved


# ------------------------------------------------------------------ verdicts (synthetic curves)
def test_verdicts_on_synthetic_curves() -> None:
    t = np.arange(200)
    decay = -1 + 0.8 * np.exp(-t / 10)
    assert loss_curve_verdict(decay, best_loss=-1.0) == "good"
    # a 0.2% ripple (below the 1% "large change" threshold) on a good run stays good
    assert loss_curve_verdict(decay + 0.0016 * (-1.0) ** t, best_loss=-1.0) == "good"
    assert loss_curve_verdict(-0.2 - 1e-4 * t, best_loss=-1.0) == "too_slow"
    assert loss_curve_verdict(-0.2 - 0.6 * (1 - np.exp(-t / 10)), best_loss=-1.0) == "too_slow"  # stuck at 75%
    bounce = -0.2 - 0.4 * (1 - np.exp(-t / 5)) + 0.2 * (-1.0) ** t  # descends, then bounces +-0.2
    assert loss_curve_verdict(bounce, best_loss=-1.0) == "oscillating"
    assert loss_curve_verdict(np.r_[decay[:50], np.nan], best_loss=-1.0) == "diverged"
    assert loss_curve_verdict(decay, best_loss=-1.0, diverged=True) == "diverged"
    assert loss_curve_verdict(-0.2 + 0.5 * t / t[-1], best_loss=-1.0) == "diverged"  # ends 0.5 above its start
    assert loss_curve_verdict(0.3 * (-1.0) ** np.arange(9), best_loss=-1.0) != "oscillating"  # too short to judge


def test_overshooting_to_a_worse_place_is_oscillating_not_slow() -> None:
    t = np.arange(200)
    # within 95% of the best by epoch 3, then thrown back to 70% of the way and stuck there
    overshoot = np.where(t < 5, -0.2 - 0.8 * (1 - np.exp(-t)), -0.2 - 0.56)
    assert steps_to_fraction(overshoot, best_loss=-1.0) == 3
    assert loss_curve_verdict(overshoot, best_loss=-1.0) == "oscillating"
    # bouncing +-0.1 for 40 epochs, then settling at 70% of the way: >= 10% of steps reversed
    bounce_then_stuck = np.where(t < 40, -0.5 + 0.1 * (-1.0) ** t, -0.76)
    assert loss_curve_verdict(bounce_then_stuck, best_loss=-1.0) == "oscillating"


def test_oscillation_needs_no_net_progress() -> None:
    t = np.arange(200)
    # large alternating changes on a steady slide down: moving, not oscillating
    slide = -0.2 - 0.8 * t / t[-1] + 0.02 * (-1.0) ** t
    assert loss_curve_verdict(slide, best_loss=-1.0) == "good"


# ------------------------------------------------------------------ real runs
def test_verdicts_on_real_runs(three_rates: LRComparison) -> None:
    runs = three_rates.runs.set_index("lr")
    assert runs.loc[1e-6, "verdict"] == "too_slow"
    assert runs.loc[1.0, "verdict"] == "good"
    assert runs.loc[1e3, "verdict"] == "diverged"
    assert runs.loc[1e3, "status"] == "diverged" and runs.loc[1e3, "epochs_run"] < 40
    assert runs.loc[1.0, "steps_to_95"] < 40 and pd.isna(runs.loc[1e-6, "steps_to_95"])
    # every run starts from the same parameters, so from the same loss
    assert runs["initial_loss"].nunique() == 1
    # the tiny rate leaves the rule (and its Sharpe) where it started
    assert abs(runs.loc[1e-6, "progress"]) < 1e-3
    assert runs.loc[1.0, "train_soft_sharpe"] > runs.loc[1e-6, "train_soft_sharpe"] + 0.05
    assert three_rates.recommended_lr == 1.0


def test_steps_and_best_loss_agree_with_the_history(three_rates: LRComparison) -> None:
    h = three_rates.history
    assert set(h.columns) >= {
        "lr",
        "seed",
        "epoch",
        "loss",
        "tracked_loss",
        "lr_epoch",
        "train_sharpe",
        "val_sharpe",
        "monitor_hard_sharpe",
        "fast",
        "ratio",
    }
    assert three_rates.best_loss == pytest.approx(h["tracked_loss"].min())
    good = h[h["lr"] == 1.0]["loss"].to_numpy()
    target = good[0] + 0.95 * (three_rates.best_loss - good[0])
    steps = int(three_rates.runs.set_index("lr").loc[1.0, "steps_to_95"])
    assert good[steps] <= target and (good[:steps] > target).all()
    assert (h[h["lr"] == 1e-6]["lr_epoch"] == 1e-6).all()  # each run's own rate is recorded


def test_batched_runs_equal_one_by_one_fits(aapl: pd.DataFrame) -> None:
    kw = {"epochs": 25, "progress": False}
    lrs = [1e-5, 0.3, 1.0, 1e3]  # not lr 3: a chaotic (oscillating) run amplifies round-off
    for optimizer in ("sgd", "momentum", "adam", "rmsprop"):
        a = compare_learning_rates(MACrossover(), aapl, lrs, optimizer=optimizer, **kw)
        b = compare_learning_rates(MACrossover(), aapl, lrs, optimizer=optimizer, vectorize=False, **kw)
        assert a.config["vectorized"] and not b.config["vectorized"]
        cols = ["loss", "grad_norm", "lr_epoch", "fast", "ratio", "train_sharpe", "monitor_hard_sharpe"]
        np.testing.assert_allclose(a.history[cols].to_numpy(), b.history[cols].to_numpy(), rtol=1e-6, atol=1e-9)
        assert a.runs["verdict"].tolist() == b.runs["verdict"].tolist()
        sharpe = ["train_soft_sharpe", "train_hard_sharpe", "val_soft_sharpe", "val_hard_sharpe"]
        np.testing.assert_allclose(a.runs[sharpe].to_numpy(), b.runs[sharpe].to_numpy(), rtol=1e-6, atol=1e-9)


def test_seeds_with_random_windows_batched_equal_one_by_one(aapl: pd.DataFrame) -> None:
    kw = {"epochs": 15, "seeds": (0, 1), "batch_days": 250, "progress": False}
    a = compare_learning_rates(MACrossover(), aapl, [0.1, 1.0], **kw)
    b = compare_learning_rates(MACrossover(), aapl, [0.1, 1.0], vectorize=False, **kw)
    assert len(a.runs) == 4 and sorted(a.runs["seed"].unique()) == [0, 1]
    np.testing.assert_allclose(a.history["loss"].to_numpy(), b.history["loss"].to_numpy(), rtol=1e-8)
    # window losses differ between seeds; the verdicts read the full-sample train Sharpe
    h = a.history[a.history["lr"] == 1.0]
    assert not np.allclose(h[h["seed"] == 0]["loss"].to_numpy(), h[h["seed"] == 1]["loss"].to_numpy())
    np.testing.assert_allclose(a.history["tracked_loss"], -a.history["train_sharpe"])


@pytest.mark.parametrize(("optimizer", "lrs"), [("sgd", [1e-3, 0.3, 1.0]), ("adam", [1e-4, 0.01, 0.05])])
def test_every_optimiser_runs_batched_and_each_rate_equals_its_own_fit(
    aapl: pd.DataFrame, optimizer: str, lrs: list[float]
) -> None:
    """Per-start learning rates are exact for every optimiser: the batched comparison's curve at
    each rate is the curve a plain ``fit`` at that rate draws."""
    spec = LossSpec(cost_bps=10)
    kw = {"optimizer": optimizer, "epochs": 15, "temperature": 0.5, "validation": 0.2, "progress": False}
    res = compare_learning_rates(MACrossover(), aapl, lrs, loss=spec, **kw)  # type: ignore[arg-type]
    assert res.config["vectorized"] and res.config["loss"]["cost_bps"] == 10.0
    for lr in lrs:
        alone = fit(MACrossover(), aapl, lr=lr, seed=0, select="last", tol=0.0, loss=spec, n_starts=1, screen=0, **kw)
        mine = res.history[res.history["lr"] == lr]
        assert len(mine) == len(alone.history)
        np.testing.assert_allclose(mine["loss"].to_numpy(), alone.history["loss"].to_numpy(), rtol=1e-10, atol=1e-12)
        run = res.runs.set_index("lr").loc[lr]
        assert run["train_hard_sharpe"] == pytest.approx(alone.metrics["train"]["hard_sharpe"], rel=1e-9)
        assert run["val_soft_sharpe"] == pytest.approx(alone.metrics["validation"]["soft_sharpe"], rel=1e-9)


@pytest.mark.parametrize("option", ["clip_grad_norm", "l2_penalty", "train_days", "hard", "validation"])
def test_per_start_options_run_batched_and_equal_one_by_one(aapl: pd.DataFrame, option: str) -> None:
    """Clipping, penalties, a train-day mask and the kept epoch act per start, so they batch
    exactly."""
    kw: dict[str, object] = {"epochs": 12, "progress": False, "optimizer": "adam"}
    if option == "clip_grad_norm":
        kw["clip_grad_norm"] = 0.05
    elif option == "l2_penalty":
        kw["loss"] = LossSpec(l2_penalty=0.5)
    elif option == "train_days":  # every other month is warm-up only: the loss and metrics count the rest
        kw["train_days"] = np.asarray(aapl.index.month % 2 == 0)
    else:  # each run reports the epoch its hard rule scored best at (train or validation days)
        kw["select"] = option
    a = compare_learning_rates(MACrossover(), aapl, [0.01, 0.1], **kw)  # type: ignore[arg-type]
    b = compare_learning_rates(MACrossover(), aapl, [0.01, 0.1], vectorize=False, **kw)  # type: ignore[arg-type]
    assert a.config["vectorized"] and not b.config["vectorized"]
    cols = ["loss", "grad_norm", "fast", "ratio", "train_sharpe"]
    np.testing.assert_allclose(a.history[cols].to_numpy(), b.history[cols].to_numpy(), rtol=1e-9, atol=1e-12)
    sharpe = ["train_soft_sharpe", "train_hard_sharpe", "val_soft_sharpe", "val_hard_sharpe"]
    np.testing.assert_allclose(a.runs[sharpe].to_numpy(), b.runs[sharpe].to_numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("option", [{"tol": 1e-6}, {"early_stopping": (3, 0.0)}, {"callbacks": [lambda row: False]}])
def test_options_that_watch_all_starts_run_one_by_one(aapl: pd.DataFrame, option: dict[str, object]) -> None:
    res = compare_learning_rates(MACrossover(), aapl, [0.1, 1.0], epochs=2, progress=False, **option)
    assert not res.config["vectorized"]


def test_the_loss_spec_reaches_every_run(aapl: pd.DataFrame) -> None:
    cheap = compare_learning_rates(MACrossover(), aapl, [0.1], epochs=2, progress=False)
    dear = compare_learning_rates(MACrossover(), aapl, [0.1], epochs=2, progress=False, loss=LossSpec(cost_bps=200))
    assert dear.runs["initial_loss"].iloc[0] > cheap.runs["initial_loss"].iloc[0]  # costs lower the Sharpe
    assert dear.runs["train_hard_sharpe"].iloc[0] < cheap.runs["train_hard_sharpe"].iloc[0]
    assert dear.config["loss"]["cost_bps"] == 200.0 and cheap.config["loss"]["cost_bps"] == 5.0


def test_device_and_dtype_options_pass_through(aapl: pd.DataFrame) -> None:
    import torch

    res = compare_learning_rates(
        MACrossover(), aapl, [0.1, 1.0], epochs=3, device="cpu", dtype=torch.float32, progress=False
    )
    assert res.config["vectorized"] and res.config["fit_kwargs"]["device"] == "cpu"
    json.dumps(res.to_dict())  # a dtype in the config is written as text
    assert np.isfinite(res.runs["train_soft_sharpe"]).all()


def test_a_real_oscillating_run() -> None:
    # Plain gradient descent at lr 6 bounces the fast span between two sides of a valley
    # (period 2: about 7 and 12 days) and never gets to the minimum that lr 8 reaches.
    prices = load_prices("sp500", tickers=["AAPL"], start="2000-01-01", end="2009-12-31")
    res = compare_learning_rates(MACrossover(), prices, [6.0, 8.0], epochs=80, progress=False)
    runs = res.runs.set_index("lr")
    assert runs.loc[6.0, "verdict"] == "oscillating" and runs.loc[6.0, "flip_rate"] > 0.5
    fast = res.history[res.history["lr"] == 6.0]["fast"].to_numpy()[-10:]
    assert (np.sign(np.diff(fast))[1:] != np.sign(np.diff(fast))[:-1]).all()  # up, down, up, ...
    assert runs.loc[8.0, "verdict"] == "good"


def test_learning_rates_from_1e5_to_100_in_one_call(aapl: pd.DataFrame) -> None:
    lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
    res = compare_learning_rates(MACrossover(), aapl, lrs, epochs=8, progress=False)
    assert res.runs["lr"].tolist() == lrs
    assert set(res.runs["verdict"]) <= {"good", "too_slow", "oscillating", "diverged"}
    assert np.isfinite(res.runs[["train_hard_sharpe", "val_hard_sharpe"]].to_numpy()).all()
    fig = res.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert fig.axes[2].get_xscale() == "log" and fig.axes[0].get_xscale() == "log"
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_summary_and_json(three_rates: LRComparison) -> None:
    text = three_rates.summary()
    assert "diverged" in text and "too_slow" in text and "good" in text
    record = json.loads(json.dumps(three_rates.to_dict(history=True)))
    assert set(record) >= {"config", "best_loss", "recommended_lr", "thresholds", "runs", "history"}
    assert [r["verdict"] for r in record["runs"]] == ["too_slow", "good", "diverged"]
    assert record["thresholds"]["steps_fraction"] == 0.95


def test_the_input_rule_is_left_unchanged(aapl: pd.DataFrame) -> None:
    rule = MACrossover(fast=15, slow=60)
    compare_learning_rates(rule, aapl, [0.5], epochs=3, progress=False)
    assert rule.params == {"fast": 15.0, "ratio": 4.0, "slow": 60.0}


@pytest.mark.parametrize(
    ("lrs", "match"),
    [
        ([], "lrs is empty"),
        ([0.1, 0.0], "0.0 in lrs must be positive"),
        ([-1e-3], "-0.001 in lrs must be positive"),
        ([float("nan")], "nan in lrs"),
        ([0.1, 0.1], "0.1 appears twice"),
        (["0.1"], "'0.1' in lrs is not a number"),
        (0.1, "lrs=0.1 must be a sequence"),
    ],
)
def test_bad_learning_rates_are_named(aapl: pd.DataFrame, lrs: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        compare_learning_rates(MACrossover(), aapl, lrs, epochs=2)  # type: ignore[arg-type]


def test_bad_options_are_named(aapl: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="lr=0.1 cannot be set here: pass the learning rates in lrs"):
        compare_learning_rates(MACrossover(), aapl, [0.1], lr=0.1)
    with pytest.raises(ConfigError, match=r"cost_bps=10 is a loss setting: pass loss=stratopt.LossSpec\(cost_bps=10\)"):
        compare_learning_rates(MACrossover(), aapl, [0.1], cost_bps=10)
    with pytest.raises(ConfigError, match="loss must be a stratopt.LossSpec"):
        compare_learning_rates(MACrossover(), aapl, [0.1], loss={"cost_bps": 10})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="stratopt.fit got an unknown option 'learning_rate'"):
        compare_learning_rates(MACrossover(), aapl, [0.1], learning_rate=0.1)
    with pytest.raises(ConfigError, match=r"seeds=\[1, 1\] repeats"):
        compare_learning_rates(MACrossover(), aapl, [0.1], seeds=[1, 1])
    with pytest.raises(ConfigError, match="compare_learning_rates needs a single-start rule but this one has 3 starts"):
        compare_learning_rates(MACrossover().with_starts(3), aapl, [0.1])
    with pytest.raises(ConfigError, match="n_starts=4"):
        compare_learning_rates(MACrossover(), aapl, [0.1], n_starts=4)


# ------------------------------------------------------------------ range test
def test_smoothing_equals_pandas_adjusted_ewm() -> None:
    x = np.random.default_rng(0).normal(size=50)
    expected = pd.Series(x).ewm(alpha=1 - 0.8, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(smooth_losses(x, 0.8), expected, rtol=1e-12)


def test_range_test_suggests_a_rate_inside_the_range(aapl: pd.DataFrame) -> None:
    test = lr_range_test(MACrossover(), aapl, lr_min=1e-5, lr_max=10.0, steps=60, progress=False)
    assert 1e-5 <= test.suggestion <= 10.0 and math.isfinite(test.suggestion)
    lr = test.table["lr"].to_numpy()
    np.testing.assert_allclose(lr[1:] / lr[:-1], (10.0 / 1e-5) ** (1 / 59))  # exponential growth
    assert lr[0] == pytest.approx(1e-5)
    assert test.method == "steepest"  # where the smoothed loss falls fastest on its way down
    down = int(np.argmin(test.table["smoothed"].to_numpy())) + 1
    slope = np.gradient(test.table["smoothed"].to_numpy()[:down], np.log(lr[:down]))
    assert test.suggestion == pytest.approx(lr[int(np.argmin(slope))])
    assert test.table["smoothed"].iloc[-1] < test.initial_loss  # the loss fell over the test
    fig = test.plot()
    assert isinstance(fig, Figure) and fig.axes[0].get_xscale() == "log"
    fig.savefig(__import__("io").BytesIO(), format="png")
    json.dumps(test.to_dict())


def test_range_test_stops_when_the_loss_blows_up(aapl: pd.DataFrame) -> None:
    test = lr_range_test(MACrossover(), aapl, lr_min=1e-4, lr_max=1e6, steps=50, optimizer="adam", progress=False)
    assert test.blowup_lr is not None and 1e-4 <= test.blowup_lr <= 1e6
    assert len(test.table) < 50  # stopped early, without raising
    assert np.isfinite(test.table[["loss", "smoothed"]].to_numpy()).all()
    assert 1e-4 <= test.suggestion < test.blowup_lr
    assert "blew up" in test.summary()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr_min": 1.0, "lr_max": 0.1}, "lr_min=1.0 must be below lr_max=0.1"),
        ({"lr_min": 0.0}, "lr=0.0 must be a positive"),
        ({"steps": 2}, "steps=2 must be an integer >= 3"),
        ({"beta": 1.0}, "beta=1.0 must be in"),
        ({"epochs": 5}, "epochs=5 cannot be set here: the range test sets it"),
        ({"objective": "sortino"}, r"objective='sortino' is a loss setting: pass loss=stratopt.LossSpec"),
    ],
)
def test_range_test_argument_checks(aapl: pd.DataFrame, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        lr_range_test(MACrossover(), aapl, **kwargs)  # type: ignore[arg-type]


def test_range_test_trains_under_the_loss_spec(aapl: pd.DataFrame) -> None:
    kw = {"lr_min": 1e-3, "lr_max": 1.0, "steps": 5, "progress": False}
    plain = lr_range_test(MACrossover(), aapl, **kw)  # type: ignore[arg-type]
    dear = lr_range_test(MACrossover(), aapl, loss=LossSpec(cost_bps=200), **kw)  # type: ignore[arg-type]
    alone = fit(
        MACrossover(),
        aapl,
        lr=1e-3,
        epochs=1,
        validation=None,
        temperature=0.5,
        loss=LossSpec(cost_bps=200),
        n_starts=1,
        screen=0,
    )
    assert dear.initial_loss == pytest.approx(float(alone.history["loss"].iloc[0]), rel=1e-12)
    assert dear.initial_loss > plain.initial_loss
    assert dear.config["loss"]["cost_bps"] == 200.0


def test_runs_that_diverge_or_pin_a_parameter_do_not_warn(aapl: pd.DataFrame) -> None:
    """A blown-up or pinned run is a verdict, not a warning about the batch's best start."""
    import warnings

    from stratopt.errors import StratoptWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", StratoptWarning)
        res = compare_learning_rates(MACrossover(), aapl, [1e-5, 1e3], epochs=5, progress=False)
        lr_range_test(MACrossover(), aapl, lr_min=1e-4, lr_max=1e6, steps=20, optimizer="adam", progress=False)
    assert res.runs["verdict"].tolist()[-1] == "diverged"


# ------------------------------------------------------------- optimisers x rates in one call
@pytest.fixture(scope="module")
def two_optimisers(aapl: pd.DataFrame) -> LRComparison:
    kw = {"epochs": 12, "progress": False}
    return compare_learning_rates(MACrossover(), aapl, [0.01, 1.0, 1e3], optimizers=("adam", "sgd"), **kw)


def test_several_optimisers_give_one_table_each_rate_as_its_own_comparison(
    aapl: pd.DataFrame, two_optimisers: LRComparison
) -> None:
    runs = two_optimisers.runs
    assert list(zip(runs["optimizer"], runs["lr"])) == [(o, lr) for o in ("adam", "sgd") for lr in (0.01, 1.0, 1e3)]
    assert two_optimisers.config["optimizers"] == ["adam", "sgd"]
    assert two_optimisers.best_loss == pytest.approx(two_optimisers.history["tracked_loss"].min())
    for name in ("adam", "sgd"):  # each optimiser's curves are those of its own comparison
        alone = compare_learning_rates(MACrossover(), aapl, [0.01, 1.0, 1e3], optimizer=name, epochs=12, progress=False)
        mine = two_optimisers.history[two_optimisers.history["optimizer"] == name]
        np.testing.assert_allclose(mine["loss"].to_numpy(), alone.history["loss"].to_numpy(), rtol=1e-10, atol=1e-12)
        sharpe = runs[runs["optimizer"] == name]["val_hard_sharpe"].to_numpy()
        np.testing.assert_allclose(sharpe, alone.runs["val_hard_sharpe"].to_numpy(), rtol=1e-9)
    assert "adam" in two_optimisers.summary() and "optimizer" in two_optimisers.summary()


def test_good_means_95_percent_of_the_best_improvement(two_optimisers: LRComparison, three_rates: LRComparison) -> None:
    for res in (two_optimisers, three_rates):
        good = res.runs[res.runs["verdict"] == "good"]
        assert good["steps_to_95"].notna().all() and (good["progress"] >= 0.95).all()
        assert (res.runs[res.runs["progress"] < 0.95]["verdict"] != "good").all()
    # a smooth curve that ends 92% of the way to the best loss is not good
    curve = -0.92 * (1 - np.exp(-np.arange(100) / 5))
    assert loss_curve_verdict(curve, best_loss=-1.0) == "too_slow"
    pick = two_optimisers.recommended
    if pick is not None:
        row = two_optimisers.runs.set_index(["optimizer", "lr"]).loc[pick]
        assert row["verdict"] == "good" and two_optimisers.recommended_lr == pick[1]


def test_a_best_rate_at_the_top_of_the_grid_is_a_hint(aapl: pd.DataFrame) -> None:
    from stratopt.errors import DiagnosticWarning

    with pytest.warns(DiagnosticWarning, match=r"widen the grid above 0\.001"):
        res = compare_learning_rates(MACrossover(), aapl, [1e-4, 1e-3], epochs=5, progress=False)
    assert res.hints == ["sgd: the best rate, 0.001, is the largest tried; widen the grid above 0.001"]
    assert "hint: sgd: the best rate, 0.001" in res.summary()
    assert json.loads(json.dumps(res.to_dict()))["hints"] == res.hints


def test_edge_hints_left_out_when_nothing_to_widen() -> None:
    from stratopt.analysis._lr_verdicts import edge_hints

    def table(final: list[float], verdicts: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"optimizer": "adam", "lr": [0.01, 0.1, 1.0], "verdict": verdicts, "final_loss": final})

    assert edge_hints(table([-1.0, -1.2, -1.1], ["good"] * 3)) == []  # best inside the grid
    low = edge_hints(table([-1.3, -1.2, -1.1], ["good"] * 3))
    assert low == ["adam: the best rate, 0.01, is the smallest tried; widen the grid below 0.01"]
    # the only rate that did not diverge is not a best "at the edge"
    assert edge_hints(table([-1.0, math.nan, math.nan], ["good", "diverged", "diverged"])) == []


def test_optimisers_argument_checks(aapl: pd.DataFrame) -> None:
    for kwargs, match in [
        ({"optimizers": ("sgd", "lbfgs")}, "'lbfgs' is not one of"),
        ({"optimizers": ("adam", "adam")}, "repeats"),
        ({"optimizers": "adam"}, "sequence of names"),
        ({"optimizers": ("adam",), "optimizer": "momentum"}, "both given"),
    ]:
        with pytest.raises(ConfigError, match=match):
            compare_learning_rates(MACrossover(), aapl, [0.1], epochs=2, **kwargs)  # type: ignore[arg-type]


def test_figure_one_row_per_optimiser_verdicts_readable(
    two_optimisers: LRComparison, three_rates: LRComparison
) -> None:
    from matplotlib.colors import to_rgb

    fig = two_optimisers.plot()
    assert len(fig.axes) == 6
    sharpe_panel = fig.axes[2]
    labels = [t.get_text() for t in sharpe_panel.get_xticklabels()]
    verdicts = two_optimisers.runs[two_optimisers.runs["optimizer"] == "adam"]["verdict"]
    assert [lab.split("\n")[1] for lab in labels] == [v.replace("_", " ") for v in verdicts]
    for ax in fig.axes[::3]:  # loss panels: no yellow curve (viridis top), visible on white
        for line in ax.get_lines():
            if line.get_label().startswith("lr "):
                r, g, b = to_rgb(line.get_color())
                assert not (r > 0.6 and g > 0.8 and b < 0.4), line.get_label()
    calm = compare_learning_rates(MACrossover(), aapl_small(), [1e-3, 1e-2], epochs=3, progress=False)
    legend = calm.plot().axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["lr 0.001", "lr 0.01"]  # nothing diverged
    legend = three_rates.plot().axes[0].get_legend()
    assert "diverged (stopped)" in [t.get_text() for t in legend.get_texts()]


def aapl_small() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL"], start="2008-01-01", end="2009-12-31")
