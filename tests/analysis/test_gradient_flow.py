"""Gradient flow: per-layer norms match a torch.nn rebuild under the loss spec given, and deep
sigmoid nets vanish."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from stratopt import LossSpec, MACrossover, MarketData, MLPPolicy, load_prices, net_returns
from stratopt.analysis import GradientFlowSweep, gradient_flow, gradient_flow_sweep
from stratopt.errors import ConfigError
from stratopt.objectives import sharpe, sortino
from stratopt.rules._mlp import lagged_returns

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    """Three bundled stocks, listed throughout, over six years."""
    return load_prices("sp500", tickers=["AAPL", "KO", "XOM"], start="2005-01-01", end="2010-12-31")


def _torch_rebuild(policy: MLPPolicy, activation: str) -> tuple[nn.Sequential, list[nn.Linear]]:
    act = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    linears = []
    for w, b in policy.layer_parameters():
        lin = nn.Linear(w.shape[1], w.shape[2], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(w[0].T)  # nn.Linear computes x @ W.T + b
            lin.bias.copy_(b[0])
        linears.append(lin)
    layers: list[nn.Module] = []
    for lin in linears[:-1]:
        layers += [lin, act()]
    return nn.Sequential(*layers, linears[-1]), linears


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_norms_match_a_torch_sequential_rebuilt_from_the_weights(prices: pd.DataFrame, activation: str) -> None:
    policy = MLPPolicy(n_lags=6, hidden=(7, 5), activation=activation, seed=3)  # type: ignore[arg-type]
    flow = gradient_flow(policy, prices, temperature=0.7)
    assert policy.weight_0.grad is None  # the caller's policy is untouched

    net, linears = _torch_rebuild(policy, activation)
    data = MarketData.from_prices(prices)
    z = net(lagged_returns(data, 6))[..., 0]
    positions = torch.tanh(z / 0.7).unsqueeze(0)
    sharpe(net_returns(positions, data, smooth=True))[0].backward()
    table = flow.table.set_index("layer")
    for i, lin in enumerate(linears, start=1):
        assert table.loc[i, "weight_grad_norm"] == pytest.approx(float(lin.weight.grad.norm()), rel=1e-10)
        assert table.loc[i, "bias_grad_norm"] == pytest.approx(float(lin.bias.grad.norm()), rel=1e-10)
        assert table.loc[i, "fan_in"] == lin.in_features and table.loc[i, "fan_out"] == lin.out_features
    assert list(table.index) == [1, 2, 3]


def test_the_loss_spec_reaches_the_gradient(prices: pd.DataFrame) -> None:
    """Slippage, allocation, position mode and objective all change the gradient, and each
    flow equals a torch rebuild trained under the same settings."""
    policy = MLPPolicy(n_lags=5, hidden=(6,), seed=1)
    plain = gradient_flow(policy, prices)
    slipped = gradient_flow(policy, prices, loss=LossSpec(slippage=0.5))
    assert not np.allclose(plain.table["grad_norm"], slipped.table["grad_norm"], rtol=1e-3)
    assert slipped.to_dict()["loss"]["slippage"] == 0.5 and plain.to_dict()["loss"]["slippage"] == 0.0
    data = MarketData.from_prices(prices)
    cases = [
        (LossSpec(slippage=0.5), {"slippage": 0.5}, sharpe, lambda w: w),
        (
            LossSpec(allocation="equal", cost_bps=20),
            {"allocation_scheme": "equal", "cost_bps": 20},
            sharpe,
            lambda w: w,
        ),
        (LossSpec(position_mode="long_only"), {}, sharpe, lambda w: w.clamp_min(0.0)),
        (LossSpec(objective="sortino"), {}, sortino, lambda w: w),
    ]
    for spec, pnl_kwargs, objective, mode in cases:
        flow = gradient_flow(policy, prices, loss=spec).table.set_index("layer")
        net, linears = _torch_rebuild(policy, "tanh")
        positions = mode(torch.tanh(net(lagged_returns(data, 5))[..., 0]).unsqueeze(0))
        objective(net_returns(positions, data, smooth=True, **pnl_kwargs))[0].backward()
        for i, lin in enumerate(linears, start=1):
            assert flow.loc[i, "weight_grad_norm"] == pytest.approx(float(lin.weight.grad.norm()), rel=1e-10)


def test_single_panel_plot_draws_on_the_axes_given(prices: pd.DataFrame) -> None:
    from stratopt.plotting import new_figure

    fig = new_figure()
    ax = fig.add_subplot()
    flow = gradient_flow(MLPPolicy(n_lags=4, hidden=(4,), seed=0), prices.loc["2010"])
    assert flow.plot(ax=ax) is fig and ax.get_yscale() == "log"
    one = gradient_flow_sweep(prices.loc["2010"], depths=[2, 3], activations=("relu",), width=4)
    other = new_figure().add_subplot()
    assert one.plot(ax=other) is other.figure and other.get_title() == "relu"
    two = gradient_flow_sweep(prices.loc["2010"], depths=[2], activations=("relu", "tanh"), width=4)
    with pytest.raises(ConfigError, match="2 activations, one panel each"):
        two.plot(ax=other)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigmoid_gradient_vanishes_at_depth_10_relu_does_not(prices: pd.DataFrame, seed: int) -> None:
    """Width 32 keeps He-initialised ReLU layers alive (a layer dies only if all 32 units are
    negative on every (day, asset) input); measured margins are 1e4 to 1e6, far above 100."""
    recent = prices.loc["2009":]  # two years of features are plenty at initialisation
    sweep = gradient_flow_sweep(recent, depths=[2, 10], activations=("sigmoid", "relu"), width=32, seed=seed)
    first = sweep.first_layer()
    assert first.loc[10, "relu"] > 1e-2  # alive: of the order of the output layer's
    assert first.loc[10, "relu"] >= 100 * first.loc[10, "sigmoid"]
    assert first.loc[10, "sigmoid"] < first.loc[2, "sigmoid"] / 100  # and it is depth that does it


def test_sweep_table_is_tidy_and_plots(prices: pd.DataFrame) -> None:
    sweep = gradient_flow_sweep(prices, depths=range(2, 5), activations=("sigmoid", "tanh", "relu"), width=8)
    assert isinstance(sweep, GradientFlowSweep)
    t = sweep.table
    assert list(t.columns[:4]) == ["depth", "activation", "layer", "grad_norm"]
    assert len(t) == 3 * (2 + 3 + 4)
    for (depth, _), group in t.groupby(["depth", "activation"]):
        assert list(group["layer"]) == list(range(1, depth + 1))
    assert (t["grad_norm"] ** 2).to_numpy() == pytest.approx(
        (t["weight_grad_norm"] ** 2 + t["bias_grad_norm"] ** 2).to_numpy()
    )
    assert "relu" in sweep.summary()
    assert len(json.loads(json.dumps(sweep.to_dict()))["rows"]) == len(t)
    fig = sweep.plot()
    panels = [ax for ax in fig.axes if ax.get_title() in {"sigmoid", "tanh", "relu"}]
    assert len(panels) == 3 and all(ax.get_yscale() == "log" for ax in panels)


def test_single_policy_summary_and_plot(prices: pd.DataFrame) -> None:
    flow = gradient_flow(MLPPolicy(n_lags=4, hidden=(8, 8), seed=0), prices)
    assert "3-layer tanh MLP" in flow.summary()
    assert [row["layer"] for row in json.loads(json.dumps(flow.to_dict()))["layers"]] == [1, 2, 3]
    assert flow.plot().axes[0].get_yscale() == "log"


def test_bad_arguments_raise(prices: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="MLPPolicy"):
        gradient_flow(MACrossover(), prices)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="gradient_flow needs a single-start rule"):
        gradient_flow(MLPPolicy(seed=0).with_starts(2, seed=0), prices)
    with pytest.raises(ConfigError, match="loss must be a stratopt.LossSpec"):
        gradient_flow(MLPPolicy(seed=0), prices, loss="sharpe")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="temperature"):
        gradient_flow(MLPPolicy(seed=0), prices, temperature=-1.0)
    with pytest.raises(ConfigError, match="depths"):
        gradient_flow_sweep(prices, depths=[])


def test_cli_gradient_flow(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from stratopt.cli import main

    out = tmp_path / "flow.json"
    args = ["gradient-flow", "--tickers", "AAPL,KO", "--start", "2009-01-01", "--end", "2010-12-31"]
    assert main([*args, "--depths", "2,3", "--width", "8", "--json", str(out), "--plot", str(tmp_path / "f.png")]) == 0
    assert "sigmoid" in capsys.readouterr().out
    assert {r["depth"] for r in json.loads(out.read_text())["rows"]} == {2, 3}
    assert main([*args, "--activations", "swish"]) == 2
    assert "swish" in capsys.readouterr().err
