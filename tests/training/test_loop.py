"""The training loop and its callbacks, each on a problem whose answer is known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import stratopt
from stratopt.errors import ConfigError
from stratopt.rules import MACrossover
from stratopt.training import (
    Callback,
    Checkpoint,
    Convergence,
    EarlyStopping,
    FitResult,
    GradientClipping,
    TrainState,
    Tuner,
    fit,
    fit_loop,
    make_optimizer,
)


def _quadratic_state(lr: float | torch.Tensor, epochs: int, *, optimizer: str = "sgd") -> TrainState:
    """Three independent starts on L_i = 0.5 * a_i * w_i^2, a = (1, 2, 4)."""
    w = torch.tensor([[1.0], [1.0], [1.0]], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)
    ratio = None
    base = lr
    if isinstance(lr, torch.Tensor):
        base, ratio = float(lr.max()), (lr / lr.max()).double()
    opt = make_optimizer([w], optimizer, float(base))  # type: ignore[arg-type]
    return TrainState(
        params=[w], optimizer=opt, loss_fn=lambda s: 0.5 * a * w[:, 0] ** 2, n_starts=3, epochs=epochs, lr_ratio=ratio
    )


def test_plain_sgd_on_a_quadratic_matches_the_closed_form() -> None:
    state = fit_loop(_quadratic_state(0.1, 5), [])
    # w_{k+1} = (1 - lr a) w_k
    expected = (1 - 0.1 * np.array([1.0, 2.0, 4.0])) ** 5
    np.testing.assert_allclose(state.params[0].detach()[:, 0].numpy(), expected, rtol=1e-12)
    assert state.status == "max_epochs" and state.epoch == 4


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
def test_per_start_rates_train_each_start_as_alone(optimizer: str) -> None:
    rates = torch.tensor([0.01, 0.05, 0.2], dtype=torch.float64)
    together = fit_loop(_quadratic_state(rates, 20, optimizer=optimizer), []).params[0].detach()[:, 0]
    for i, lr in enumerate(rates.tolist()):
        alone = fit_loop(_quadratic_state(lr, 20, optimizer=optimizer), []).params[0].detach()[i, 0]
        assert float(together[i]) == pytest.approx(float(alone), rel=1e-12, abs=1e-15)


def test_gradient_clipping_caps_each_starts_step() -> None:
    state = _quadratic_state(1.0, 1)
    fit_loop(state, [GradientClipping(0.5)])
    # gradients a_i * w = (1, 2, 4) clipped to norm 0.5: each start moves by exactly 0.5
    np.testing.assert_allclose(state.params[0].detach()[:, 0].numpy(), [0.5, 0.5, 0.5], rtol=1e-12)


class _Log(Callback):
    def __init__(self, values: list[float]) -> None:
        self.values = values

    def on_epoch_end(self, state: TrainState) -> None:
        v = self.values[state.epoch]
        state.logs["monitor"] = torch.full((state.n_starts,), v, dtype=torch.float64)


def test_checkpoint_restores_the_best_epoch_per_start() -> None:
    state = _quadratic_state(0.1, 6)
    seen: list[float] = []

    class Spy(Callback):
        def on_epoch_end(self, state: TrainState) -> None:
            seen.append(float(state.params[0].detach()[0, 0]))

    # the monitored value is lowest after epoch 2
    fit_loop(state, [_Log([5, 4, 1, 3, 3, 3]), Spy(), Checkpoint("monitor")])
    assert float(state.params[0][0, 0]) == seen[2]


def test_early_stopping_stops_after_patience_without_improvement() -> None:
    state = fit_loop(_quadratic_state(0.1, 50), [_Log([3, 2, 1] + [1.5] * 47), EarlyStopping(4)])
    assert state.status == "early_stopped" and state.epoch == 2 + 4


def test_convergence_stops_a_flat_loss() -> None:
    state = fit_loop(_quadratic_state(1e-9, 100), [Convergence(1e-6, patience=3)])
    assert state.status == "converged" and state.epoch == 3


def test_a_callback_object_can_stop_and_read_the_state(tmp_path) -> None:
    from stratopt.data import load_prices

    prices = load_prices("sp500", tickers=["AAPL"], start="2004-01-01", end="2008-12-31")
    seen: list[int] = []

    class StopAtThree(Callback):
        def on_epoch_end(self, state: TrainState) -> None:
            seen.append(state.epoch)
            if state.epoch == 3:
                state.request_stop("early_stopped")

    res = fit(MACrossover(), prices, epochs=50, callbacks=[StopAtThree()], progress=False)
    assert res.status == "early_stopped" and len(res.history) == 4 and seen == [0, 1, 2, 3]
    # a fit saves and loads back as the same rule, metrics and loss spec
    path = res.save(tmp_path / "fit.json")
    back = FitResult.load(path)
    assert back.params == res.params and back.loss == res.loss
    for window, values in res.metrics.items():
        assert back.metrics[window] == pytest.approx(values)
    pd.testing.assert_series_equal(back.history["loss"], res.history["loss"], check_dtype=False)


def test_tuner_validates_in_its_constructor_and_clones() -> None:
    with pytest.raises(ConfigError, match="lr="):
        Tuner(MACrossover(), lr=-1.0)
    with pytest.raises(ConfigError, match="select"):
        Tuner(MACrossover(), select="best")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="LossSpec"):
        Tuner(MACrossover(), loss={"cost_bps": 5})  # type: ignore[arg-type]
    t = Tuner(MACrossover(fast=10, slow=50), epochs=3)
    c = t.clone(lr=0.2)
    assert c.lr == 0.2 and c.epochs == 3 and c.rule is not t.rule and c.rule.params == t.rule.params
    with pytest.raises(ConfigError, match="rates for"):
        fit(MACrossover(), pd.DataFrame(), lr=[0.1, 0.2])  # 2 rates for 1 start
    assert math.isfinite(t.get_params()["lr"])


def test_anchors_pull_the_fit_towards_their_rule(three_stocks: pd.DataFrame) -> None:
    anchor = MACrossover(fast=5, slow=10)
    kw = {"epochs": 20, "n_starts": 1, "screen": 0, "select": "last", "validation": None, "progress": False}
    free = fit(MACrossover(40, 200), three_stocks, **kw)
    pulled = fit(MACrossover(40, 200), three_stocks, anchors=((anchor, 50.0),), **kw)
    assert pulled.history["loss"].iloc[0] > free.history["loss"].iloc[0]  # the penalty is in the loss
    assert abs(pulled.params["fast"] - 5) < abs(free.params["fast"] - 5)


def test_saved_neural_policy_loads_with_its_trained_weights(tmp_path: Path) -> None:
    """A policy's layer weights are not named parameters: the saved state restores them, so the
    loaded rule trades exactly as the fitted one (its defaults would trade differently)."""
    from stratopt.rules import MLPPolicy

    prices = stratopt.load_prices("sp500", tickers="AAPL,XOM", start="2005", end="2008")
    res = stratopt.fit(MLPPolicy(), prices, epochs=3, n_starts=1, screen=0, seed=0)
    back = FitResult.load(res.save(tmp_path / "fit.json"))
    fitted = stratopt.backtest(res.rule, prices).returns
    np.testing.assert_array_equal(stratopt.backtest(back.rule, prices).returns, fitted)
    assert not np.array_equal(stratopt.backtest(MLPPolicy(), prices).returns, fitted)


def test_a_folds_warm_up_returns_are_skipped_without_changing_its_loss_or_gradient(three_stocks) -> None:
    """TrainLoss and the monitor compute returns from the first counted day on; the loss, its
    gradient and the monitored losses equal those over every day with the mask applied."""
    import torch

    from stratopt import LossSpec
    from stratopt import objectives as obj
    from stratopt._market import MarketData
    from stratopt.rules import MACrossover
    from stratopt.training._config import split_validation
    from stratopt.training._loop import TrainState
    from stratopt.training._steps import Monitor, TrainLoss

    data = MarketData.from_prices(three_stocks)
    keep = torch.zeros(data.n_days - 1, dtype=torch.bool)
    keep[700:] = True  # 700 warm-up returns, as a fold's
    spec = LossSpec(cost_bps=5, slippage=0.2)
    model = MACrossover(fast=15, slow=90).with_starts(3, seed=0)
    state = TrainState(params=[], optimizer=None, loss_fn=lambda s: s.loss, n_starts=3, epochs=1)  # type: ignore[arg-type]
    state.temperature = 0.5
    loss_fn = TrainLoss(model, data, spec, keep=keep, batch_days=None, batches_per_step=1, generator=torch.Generator())
    assert loss_fn.first == 700
    params = [p for p in model.parameters() if p.requires_grad]
    fast = loss_fn(state)
    fast_grad = torch.autograd.grad(fast.sum(), params)
    # truth: every day's returns, then the mask
    r = spec.returns(spec.positions(model, data, temperature=0.5), data, smooth=True)[:, keep]
    whole = -spec.score(r)
    whole_grad = torch.autograd.grad(whole.sum(), params)
    torch.testing.assert_close(fast, whole, rtol=0, atol=0)
    for a, b in zip(fast_grad, whole_grad):
        torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)
    monitor = Monitor(model, data, split_validation(data, None, min_train=10), spec, keep=keep,
                      final_temperature=0.1, soft=True)  # fmt: skip
    measured = monitor.measure()
    with torch.no_grad():
        hard = spec.returns(spec.positions(model, data, temperature=0.0), data)[:, keep]
    torch.testing.assert_close(measured["hard_train"], (-spec.score(hard)).double(), rtol=0, atol=0)
    torch.testing.assert_close(measured["hard_sharpe"], obj.sharpe(hard).double(), rtol=0, atol=0)
