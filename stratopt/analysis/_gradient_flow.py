"""Gradient flow through neural policies: per-layer gradient norms, and why deep sigmoid nets
stop learning.

Backpropagation multiplies the gradient by each layer's Jacobian ``W^T diag(f'(z))`` on its way
to the input. The sigmoid's slope is at most 1/4, so with Xavier weights the norm shrinks by
roughly a constant factor per layer and the first layers of a deep sigmoid net barely move
(the vanishing gradient); tanh (slope up to 1) loses less, and ReLU with He weights keeps the
norm of the order of one through depth.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from stratopt import _progress
from stratopt._json import jsonable
from stratopt._market import MarketData, as_market_data
from stratopt._result import Result
from stratopt.analysis._common import check_positive_temperature, position_gradient, resolve_loss
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.plotting import axes_or_new, new_figure
from stratopt.rules._mlp import Activation, MLPPolicy

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["GradientFlowResult", "GradientFlowSweep", "gradient_flow", "gradient_flow_sweep"]


@dataclass(repr=False)
class GradientFlowResult(Result):
    """What :func:`gradient_flow` returns.

    Attributes
    ----------
    table
        One row per layer, input side first (``layer`` 1 .. depth): ``fan_in``, ``fan_out``,
        ``weight_grad_norm``, ``bias_grad_norm``, ``grad_norm`` (both together), ``weight_norm``
        and ``ratio`` (gradient norm over weight norm: the relative step size a learning rate
        of 1 would take).
    activation
        The policy's hidden activation.
    temperature
        The temperature of the soft positions.
    value
        The soft objective at which the gradient was taken.
    loss
        The :class:`~stratopt.LossSpec` whose objective was differentiated.
    """

    table: pd.DataFrame
    activation: str
    temperature: float
    value: float
    loss: LossSpec = field(default_factory=LossSpec)

    @property
    def objective(self) -> str:
        """Name of the differentiated objective."""
        return self.loss.objective_name

    def summary(self) -> str:
        """Plain text: the per-layer table and the first-to-last layer norm ratio."""
        g = self.table["grad_norm"].to_numpy()
        ratio = g[0] / g[-1] if g[-1] > 0 else float("nan")
        return "\n".join(
            [
                (
                    f"gradient flow of a {len(g)}-layer {self.activation} MLP: soft {self.objective} {self.value:.4f} "
                    f"at temperature {self.temperature:g}; first/last layer gradient norm {ratio:.3g}"
                ),
                self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy of the table, the loss and the headline numbers."""
        return jsonable(
            {
                "activation": self.activation,
                "objective": self.objective,
                "loss": self.loss.to_dict(),
                "temperature": self.temperature,
                "value": self.value,
                "layers": self.table.to_dict(orient="records"),
            }
        )

    def plot(self, ax: Axes | None = None) -> Figure:
        """Weight and bias gradient norms per layer, log scale (on ``ax`` if given)."""
        fig, ax = axes_or_new(ax, (7, 3.5))
        x = self.table["layer"].to_numpy()
        ax.bar(x - 0.2, self.table["weight_grad_norm"], width=0.4, label="weights")
        ax.bar(x + 0.2, self.table["bias_grad_norm"], width=0.4, label="biases")
        ax.set_yscale("log")
        ax.set(
            xticks=x,
            xlabel="layer (1 = input side)",
            ylabel="gradient norm",
            title=f"gradient norm by layer ({self.activation}, depth {len(x)})",
        )
        ax.legend()
        return fig


def _flow_table(policy: MLPPolicy, data: MarketData, loss: LossSpec, temperature: float) -> tuple[pd.DataFrame, float]:
    """Per-layer gradient norms of ``loss``'s soft objective, and that objective."""
    positions = loss.positions(policy, data, temperature=temperature)
    value, g = position_gradient(positions, data, loss)
    layers = policy.layer_parameters()
    flat = [t for pair in layers for t in pair]
    grads = torch.autograd.grad(positions, flat, grad_outputs=g, allow_unused=True)
    rows = []
    for i, (w, b) in enumerate(layers):
        gw, gb = (torch.zeros_like(t) if gr is None else gr for t, gr in zip((w, b), grads[2 * i : 2 * i + 2]))
        nw, nb = float(gw.norm()), float(gb.norm())
        size = float(torch.sqrt((w.detach() ** 2).sum() + (b.detach() ** 2).sum()))
        total = float(np.hypot(nw, nb))
        rows.append(
            {
                "layer": i + 1,
                "fan_in": int(w.shape[1]),
                "fan_out": int(w.shape[2]),
                "weight_grad_norm": nw,
                "bias_grad_norm": nb,
                "grad_norm": total,
                "weight_norm": size,
                "ratio": total / size if size > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows), value


def _check_policy(policy: object) -> MLPPolicy:
    if not isinstance(policy, MLPPolicy):
        raise ConfigError(
            f"gradient_flow needs an MLPPolicy, got {type(policy).__name__}; "
            "build one with stratopt.MLPPolicy(hidden=(16, 16))"
        )
    policy.require_single("gradient_flow")
    return policy


def gradient_flow(
    policy: MLPPolicy,
    prices: pd.DataFrame | MarketData,
    *,
    loss: LossSpec | None = None,
    temperature: float = 1.0,
) -> GradientFlowResult:
    """Per-layer gradient norms of an :class:`~stratopt.MLPPolicy` at its current weights.

    The gradient is that of the soft objective (``loss``'s objective of the net returns with
    smoothed costs, its slippage, allocation and position mode, as in :func:`stratopt.fit`
    without penalties) over all days of ``prices``; the sign does not matter for norms, so it
    equals the gradient of the training loss.

    Parameters
    ----------
    policy
        A single-start policy (left unchanged).
    prices
        Price table or :class:`~stratopt.MarketData` (used in float64).
    loss
        Objective, costs, slippage, allocation and position mode (:class:`~stratopt.LossSpec`,
        default ``LossSpec()``).
    temperature
        Softness (> 0): it scales the output ``tanh(z / T)``.

    Examples
    --------
    >>> from stratopt import LossSpec, MLPPolicy, load_prices
    >>> from stratopt.analysis import gradient_flow
    >>> prices = load_prices("sp500", tickers=["AAPL", "KO"], start="2015", end="2018")
    >>> flow = gradient_flow(MLPPolicy(hidden=(8, 8), seed=0), prices, loss=LossSpec(slippage=0.1))
    >>> list(flow.table["layer"])
    [1, 2, 3]
    """
    _check_policy(policy)
    temperature = check_positive_temperature(temperature)
    spec = resolve_loss(loss)
    data = as_market_data(prices, dtype=torch.float64)
    model = copy.deepcopy(policy).to(dtype=torch.float64, device=data.device)
    table, value = _flow_table(model, data, spec, temperature)
    return GradientFlowResult(
        table=table, activation=policy.activation, temperature=temperature, value=value, loss=spec
    )


@dataclass(repr=False)
class GradientFlowSweep(Result):
    """What :func:`gradient_flow_sweep` returns.

    Attributes
    ----------
    table
        Tidy: one row per (depth, activation, layer) with ``grad_norm`` (weights and biases
        together), ``weight_grad_norm`` and ``bias_grad_norm``; layer 1 is the input side.
    width, seed
        Hidden width and weight seed of every policy.
    temperature, loss
        Softness and :class:`~stratopt.LossSpec` of the differentiated objective.
    """

    table: pd.DataFrame
    width: int
    seed: int
    temperature: float = 1.0
    loss: LossSpec = field(default_factory=LossSpec)

    def first_layer(self) -> pd.DataFrame:
        """First-layer gradient norm, one row per depth, one column per activation."""
        t = self.table[self.table["layer"] == 1]
        return t.pivot(index="depth", columns="activation", values="grad_norm")

    def summary(self) -> str:
        """Plain text: first-layer gradient norms by depth and activation."""
        return (
            f"first-layer gradient norm by depth (width {self.width}, seed {self.seed}; "
            f"vanishing gradients show as a fall with depth)\n"
            + self.first_layer().to_string(float_format=lambda v: f"{v:.3g}")
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready rows of the tidy table, with width, seed, temperature and loss."""
        return jsonable(
            {
                "width": self.width,
                "seed": self.seed,
                "temperature": self.temperature,
                "loss": self.loss.to_dict(),
                "rows": self.table.to_dict(orient="records"),
            }
        )

    def plot(self, ax: Axes | None = None) -> Figure:
        """Gradient norm by layer (log scale), one panel per activation, one colour per depth.

        ``ax`` is accepted when the sweep has one activation (one panel)."""
        from matplotlib import colormaps
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        acts = list(dict.fromkeys(self.table["activation"]))
        if ax is not None and len(acts) > 1:
            raise ConfigError(
                f"this sweep has {len(acts)} activations, one panel each, so plot() makes its own "
                "figure; call it without ax, or sweep one activation to draw on an axes"
            )
        depths = sorted(self.table["depth"].unique())
        norm = Normalize(min(depths), max(depths) if max(depths) > min(depths) else min(depths) + 1)
        cmap = colormaps["viridis"]
        fig: Figure
        if ax is None:
            fig = new_figure(figsize=(4.2 * len(acts) + 1, 3.8))
            axes = list(np.atleast_1d(fig.subplots(1, len(acts), sharey=True)))
            fig.suptitle(f"gradient flow through MLP policies (width {self.width}, seed {self.seed})")
        else:
            fig, axes = axes_or_new(ax)[0], [ax]
        for panel, act in zip(axes, acts):
            for depth in depths:
                t = self.table[(self.table["activation"] == act) & (self.table["depth"] == depth)]
                panel.plot(t["layer"], t["grad_norm"], marker="o", ms=3, color=cmap(norm(depth)))
            panel.set_yscale("log")
            panel.set(title=act, xlabel="layer (1 = input side)")
        axes[0].set_ylabel("gradient norm")
        fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, label="depth (layers)")
        return fig


def gradient_flow_sweep(
    prices: pd.DataFrame | MarketData,
    *,
    depths: Iterable[int] = range(2, 11),
    activations: Sequence[Activation] = ("sigmoid", "tanh", "relu"),
    width: int = 32,
    n_lags: int = 10,
    seed: int = 0,
    loss: LossSpec | None = None,
    temperature: float = 1.0,
    progress: bool | None = None,
) -> GradientFlowSweep:
    """Gradient norms per layer of freshly initialised MLP policies of several depths and activations.

    Each policy is ``MLPPolicy(n_lags, hidden=(width,) * (depth - 1), activation=..., seed=seed)``
    (Xavier weights for sigmoid and tanh, He weights for ReLU, zero biases), evaluated on the
    lagged-return features of ``prices``.

    Parameters
    ----------
    prices
        Price table or :class:`~stratopt.MarketData` (used in float64).
    depths
        Numbers of weight layers (>= 1; depth 1 is a linear policy).
    activations
        Hidden activations to compare.
    width
        Hidden width. Narrow ReLU nets with zero biases can start dead (every unit of a layer
        negative for every input, so every gradient before it is exactly 0); at width 32 each
        layer has 32 units fed by thousands of different (day, asset) inputs, so a layer dies
        only if all 32 of its units do, which He initialisation makes vanishingly unlikely.
    n_lags, seed
        Inputs per (day, asset) and the seed of every policy's weights.
    loss, temperature
        As in :func:`gradient_flow`.
    progress
        A bar over the policies in a terminal or Jupyter (default), False for none.

    Returns
    -------
    GradientFlowSweep
        The tidy table, :meth:`~GradientFlowSweep.first_layer` and a plot.
    """
    depths = [int(d) for d in depths]
    if not depths or any(d < 1 for d in depths):
        raise ConfigError(f"depths={depths!r} must be a non-empty list of integers >= 1")
    if not activations:
        raise ConfigError("activations is empty; pass some of 'sigmoid', 'tanh', 'relu'")
    temperature = check_positive_temperature(temperature)
    spec = resolve_loss(loss)
    data = as_market_data(prices, dtype=torch.float64)  # one conversion: the features are memoised on it
    frames = []
    pairs = [(act, depth) for act in activations for depth in depths]
    for act, depth in _progress.bar(pairs, desc="gradient flow", progress=progress):
        policy = MLPPolicy(n_lags, hidden=(width,) * (depth - 1), activation=act, seed=seed)
        table, _ = _flow_table(policy.to(device=data.device), data, spec, temperature)
        frames.append(table.assign(depth=depth, activation=act))
    cols = ["depth", "activation", "layer", "grad_norm", "weight_grad_norm", "bias_grad_norm"]
    return GradientFlowSweep(
        table=pd.concat(frames, ignore_index=True)[cols],
        width=int(width),
        seed=int(seed),
        temperature=temperature,
        loss=spec,
    )
