"""A neural trading policy: a small MLP from lagged returns (and rule signals) to a position."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.ops import soft_sign
from stratopt.rules._base import Rule
from stratopt.rules._features import daily_vol, log_returns

__all__ = ["Activation", "MLPPolicy", "lagged_returns"]

Activation = Literal["sigmoid", "tanh", "relu"]

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu}


def lagged_returns(data: MarketData, n_lags: int, vol_span: float = 60.0) -> Tensor:
    """Features (days, assets, n_lags): ``r[t - k] / vol[t]`` for ``k = 0 .. n_lags - 1``.

    ``r`` are daily log returns and ``vol[t]`` the causal EWMA volatility known at the close of
    ``t``, so every feature uses data up to ``t`` only; lags before the first day are 0.
    Memoised on ``data``.
    """

    def compute() -> Tensor:
        r = log_returns(data)
        n_days = r.shape[0]
        # shifting the returns down by k rows (zeros on top) gives lag k; every lag is scaled by
        # today's volatility, the latest estimate of the asset's risk
        lags = torch.stack([F.pad(r, (0, 0, k, 0))[:n_days] for k in range(n_lags)], dim=-1)
        return lags / daily_vol(data, vol_span)[0][..., None]

    return data.cached(("lagged_returns", int(n_lags), float(vol_span)), compute)


class MLPPolicy(Rule, cli_name="mlp"):
    """A multilayer perceptron applied to every (day, asset): features in, position out.

    Features per day and asset are the last ``n_lags`` daily log returns divided by the causal
    60-day EWMA volatility (lag 0 is today's return, see :func:`lagged_returns`), followed by
    the positions of the optional ``signals`` rules. Hidden layers apply ``activation``; the
    output layer gives one number ``z``, and the position is ``tanh(z / temperature)`` (soft)
    or ``sign(z)`` (hard, temperature 0). The same network, with the same weights, is applied
    independently to every day and asset, so the policy is causal by construction.

    Weights are plain ``nn.Parameter`` tensors with a leading batch dimension, ``(batch, in,
    out)`` and ``(batch, out)``, applied with ``einsum``, so many starts train in one pass;
    :meth:`with_starts` keeps the current weights as start 0 and draws fresh ones for the
    others: Xavier/Glorot normal (``std = sqrt(2 / (fan_in + fan_out))``) for sigmoid and tanh,
    He normal (``std = sqrt(2 / fan_in)``) for ReLU, biases 0. The weights are not
    :class:`~stratopt.rules.Param` objects (they have no natural unit), so :attr:`params` lists
    only the signal rules' parameters.

    Parameters
    ----------
    n_lags
        Number of lagged returns fed in (>= 1).
    hidden
        Widths of the hidden layers; the depth is ``len(hidden) + 1`` layers (``()`` gives a
        linear policy).
    activation
        Non-linearity of the hidden layers.
    signals
        Single-start rules whose positions are extra features; their parameters train with the
        network and read ``"signals.<i>.<param>"``.
    seed
        Seed (or generator) of the initial weights.
    vol_span
        Span in days of the volatility that scales the returns (fixed, not trained).

    Examples
    --------
    >>> policy = MLPPolicy(n_lags=5, hidden=(8, 8), activation="relu", seed=0)
    >>> policy.depth, [tuple(w.shape) for w, _ in policy.layer_parameters()]
    (3, [(1, 5, 8), (1, 8, 8), (1, 8, 1)])
    """

    def __init__(
        self,
        n_lags: int = 10,
        hidden: Sequence[int] = (16,),
        *,
        activation: Activation = "tanh",
        signals: Sequence[Rule] | None = None,
        seed: int | np.random.Generator | None = None,
        vol_span: float = 60.0,
    ) -> None:
        super().__init__()
        if isinstance(n_lags, bool) or not isinstance(n_lags, (int, np.integer)) or n_lags < 1:
            raise ConfigError(f"n_lags={n_lags!r} must be a positive integer, e.g. 10")
        hidden = tuple(hidden)
        if any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
            raise ConfigError(f"hidden={hidden!r} must be a sequence of positive integer widths, e.g. (16,)")
        if activation not in _ACTIVATIONS:
            raise ConfigError(f"activation={activation!r} is not one of {sorted(_ACTIVATIONS)}")
        if not vol_span >= 1:
            raise ConfigError(f"vol_span={vol_span!r} must be >= 1 day")
        signals = list(signals or [])
        for i, rule in enumerate(signals):
            if not isinstance(rule, Rule) or rule.batch_size != 1:
                raise ConfigError(
                    f"signals[{i}] must be a single-start stratopt Rule, got {rule!r}; "
                    "call with_starts on the MLPPolicy, not on its signals"
                )
        self.n_lags = int(n_lags)
        self.hidden = tuple(int(h) for h in hidden)
        self.activation: Activation = activation
        self.vol_span = float(vol_span)
        self.signals = nn.ModuleList(signals)
        self._widths = (self.n_lags + len(signals), *self.hidden, 1)
        rng = np.random.default_rng(seed)
        for i, (w, b) in enumerate(self._draw(1, rng)):
            self.register_parameter(f"weight_{i}", nn.Parameter(w))
            self.register_parameter(f"bias_{i}", nn.Parameter(b))

    @property
    def depth(self) -> int:
        """Number of weight layers, ``len(hidden) + 1``."""
        return len(self._widths) - 1

    @property
    def n_features(self) -> int:
        """Inputs per (day, asset): lagged returns plus signals."""
        return self._widths[0]

    def layer_parameters(self) -> list[tuple[nn.Parameter, nn.Parameter]]:
        """``(weight, bias)`` of each layer from input to output, for gradient-flow analysis."""
        return [(getattr(self, f"weight_{i}"), getattr(self, f"bias_{i}")) for i in range(self.depth)]

    def _draw(self, n: int, rng: np.random.Generator) -> list[tuple[Tensor, Tensor]]:
        """Fresh weights for ``n`` starts (Xavier for sigmoid/tanh, He for ReLU), zero biases."""
        out = []
        for fan_in, fan_out in zip(self._widths[:-1], self._widths[1:]):
            std = math.sqrt(2.0 / fan_in) if self.activation == "relu" else math.sqrt(2.0 / (fan_in + fan_out))
            w = torch.as_tensor(rng.normal(0.0, std, size=(n, fan_in, fan_out)), dtype=torch.float64)
            out.append((w, torch.zeros(n, fan_out, dtype=torch.float64)))
        return out

    def _init_batch(self, n: int, rng: np.random.Generator) -> None:
        fresh = self._draw(n, rng)
        for i, ((w, b), (w_new, b_new)) in enumerate(zip(self.layer_parameters(), fresh)):
            w_new[0], b_new[0] = w.detach()[0], b.detach()[0]  # start 0 keeps the current net
            setattr(self, f"weight_{i}", nn.Parameter(w_new.to(w.dtype)))
            setattr(self, f"bias_{i}", nn.Parameter(b_new.to(b.dtype)))

    def features(self, data: MarketData, temperature: float) -> Tensor:
        """Network inputs (batch, days, assets, n_features)."""
        lags = lagged_returns(data, self.n_lags, self.vol_span)
        x = lags.unsqueeze(0).expand(self._batch, *lags.shape)
        if len(self.signals):
            sig = [rule(data, temperature=temperature) for rule in self.signals]
            x = torch.cat([x, torch.stack(sig, dim=-1)], dim=-1)
        return x

    def score(self, data: MarketData, temperature: float = 1.0) -> Tensor:
        """The network's output ``z`` (batch, days, assets) before the final tanh/sign."""
        h = self.features(data, temperature)
        act = _ACTIVATIONS[self.activation]
        layers = self.layer_parameters()
        for i, (w, b) in enumerate(layers):
            h = torch.einsum("btnf,bfo->btno", h, w.to(h.dtype)) + b.to(h.dtype)[:, None, None, :]
            if i < len(layers) - 1:
                h = act(h)
        return h[..., 0]

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        return soft_sign(self.score(data, temperature), temperature)

    def extra_repr(self) -> str:
        widths = " -> ".join(str(w) for w in self._widths)
        return f"{widths}, activation={self.activation!r}, starts={self._batch}"
