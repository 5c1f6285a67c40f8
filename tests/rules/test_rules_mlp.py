"""MLPPolicy: features, the network against torch.nn, depth, initialisation, batching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.rules import MLPPolicy, Momentum
from stratopt.rules._mlp import lagged_returns


def test_features_match_pandas(prices: pd.DataFrame) -> None:
    r = np.log(prices).diff()
    vol = np.sqrt((r**2).ewm(span=60, adjust=True).mean().fillna(0.0).clip(lower=1e-8))
    scaled = r.fillna(0.0)
    got = lagged_returns(MarketData.from_prices(prices), 5).numpy()
    for k in range(5):
        expected = scaled.shift(k).fillna(0.0) / vol  # lag k of the return, today's volatility
        np.testing.assert_allclose(got[..., k], expected.to_numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("activation", "module"), [("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid), ("relu", nn.ReLU)])
def test_network_matches_torch_sequential(prices: pd.DataFrame, activation: str, module: type[nn.Module]) -> None:
    policy = MLPPolicy(n_lags=4, hidden=(7, 5), activation=activation, signals=[Momentum(lookback=20)], seed=0)
    with torch.no_grad():
        for _, bias in policy.layer_parameters():
            bias.normal_(0.0, 0.3)
    reference = nn.Sequential(nn.Linear(5, 7), module(), nn.Linear(7, 5), module(), nn.Linear(5, 1)).double()
    with torch.no_grad():
        for linear, (w, b) in zip(reference[::2], policy.layer_parameters()):
            linear.weight.copy_(w[0].T)
            linear.bias.copy_(b[0])
    data = MarketData.from_prices(prices)
    for temperature in (0.4, 0.0):  # the signal rule runs at the policy's temperature
        momentum = Momentum(lookback=20)(data, temperature=temperature)[0]
        x = torch.cat([lagged_returns(data, 4), momentum[..., None]], dim=-1)
        with torch.no_grad():
            z = reference(x)[..., 0]
            torch.testing.assert_close(policy.score(data, temperature)[0], z, rtol=1e-12, atol=1e-12)
            pos = policy(data, temperature=temperature)[0]
        expected = torch.tanh(z / temperature) if temperature else torch.sign(z)
        torch.testing.assert_close(pos, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_depth_ten_trains(prices: pd.DataFrame, activation: str) -> None:
    policy = MLPPolicy(n_lags=6, hidden=(8,) * 9, activation=activation, seed=3).with_starts(2, seed=0)
    assert policy.depth == 10 and len(policy.layer_parameters()) == 10
    pos = policy(MarketData.from_prices(prices), temperature=1.0)
    assert torch.isfinite(pos).all()
    (pos * torch.randn(pos.shape, generator=torch.Generator().manual_seed(0), dtype=pos.dtype)).sum().backward()
    for i, (w, _b) in enumerate(policy.layer_parameters()):
        assert w.shape == (2, 6 if i == 0 else 8, 1 if i == 9 else 8)
        assert torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0, i


@pytest.mark.parametrize(("activation", "std"), [("relu", np.sqrt(2 / 200)), ("tanh", np.sqrt(2 / 500))])
def test_initialisation_scale(activation: str, std: float) -> None:
    policy = MLPPolicy(n_lags=200, hidden=(300,), activation=activation, seed=0).with_starts(3, seed=1)
    w, b = policy.layer_parameters()[0]
    for start in range(3):
        assert float(w[start].detach().std()) == pytest.approx(std, rel=0.02)
    assert (b == 0).all()


def test_starts_keep_the_first_network_and_draw_others() -> None:
    policy = MLPPolicy(n_lags=3, hidden=(4,), seed=0)
    batched = policy.with_starts(3, seed=5)
    w0 = policy.layer_parameters()[0][0]
    w = batched.layer_parameters()[0][0]
    assert torch.equal(w[0], w0[0])
    assert not torch.equal(w[1], w[0]) and not torch.equal(w[2], w[1])
    assert torch.equal(batched.select(2).layer_parameters()[0][0][0], w[2])
    again = policy.with_starts(3, seed=5).layer_parameters()[0][0]
    assert torch.equal(again, w)
    assert torch.equal(MLPPolicy(n_lags=3, hidden=(4,), seed=0).weight_0, policy.weight_0)


def test_signal_params_are_trained(prices: pd.DataFrame) -> None:
    policy = MLPPolicy(n_lags=3, hidden=(4,), signals=[Momentum(lookback=20.5)], seed=0)
    assert policy.params == {"signals.0.lookback": 20.5, "signals.0.threshold": 0.5}
    assert policy.n_features == 4
    policy(MarketData.from_prices(prices), temperature=0.5).sum().backward()
    grad = policy.signals[0]._raw["lookback"].grad
    assert grad is not None and float(grad.abs()) > 0


def test_validation() -> None:
    with pytest.raises(ConfigError, match="activation='gelu'"):
        MLPPolicy(activation="gelu")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n_lags=0"):
        MLPPolicy(n_lags=0)
    with pytest.raises(ConfigError, match="hidden=\\(16, 0\\)"):
        MLPPolicy(hidden=(16, 0))
    with pytest.raises(ConfigError, match="signals\\[0\\]"):
        MLPPolicy(signals=[Momentum().with_starts(2, seed=0)])
