"""A learnable weighted combination of trading rules."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.rules._base import Rule
from stratopt.rules._params import Param

__all__ = ["Blend"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _named(rules: Mapping[str, Rule] | Sequence[Rule]) -> dict[str, Rule]:
    """Names for the sub-rules: the mapping's keys, or snake-case class names (``ma_crossover``,
    then ``ma_crossover_2`` for a second one)."""
    if isinstance(rules, Mapping):
        return dict(rules)
    named: dict[str, Rule] = {}
    for rule in rules:
        base = _snake(type(rule).__name__)
        name, k = base, 1
        while name in named:
            k += 1
            name = f"{base}_{k}"
        named[name] = rule
    return named


class Blend(Rule):
    """Positions of several rules averaged with learnable weights; all parameters train jointly.

    ``position = sum_k w_k position_k / sum_k w_k`` with one weight ``w_k`` in (0, 1) per rule.
    Weights are bounded (scaled sigmoids, like every other parameter) rather than softmax
    logits so that they read as numbers in natural units; the normalisation makes the blend a
    convex combination, so it stays within the sub-rules' own range ([-1, 1] for plain rules),
    and only the ratios of weights matter (:meth:`shares` gives them). The hard blend averages
    the sub-rules' hard positions with the same weights, so it can hold fractional positions,
    like a trader splitting capital among rules.

    Sub-rules are sub-modules named by the mapping's keys, or by their snake-case class names
    for a list, so their parameters read ``"<name>.<param>"``; the weights read
    ``"w_<name>"``. A blend of four classic rules has 10 to 14 parameters, where a grid search
    is hopeless.

    Parameters
    ----------
    rules
        Single-start rules, as ``{name: rule}`` or a list (at least two).
    weights
        Initial weights in (0, 1) by name; 0.5 each (equal shares) by default.

    Examples
    --------
    >>> from stratopt.rules import MACrossover, Momentum
    >>> blend = Blend({"ma": MACrossover(fast=10, slow=50), "mom": Momentum(lookback=60)})
    >>> sorted(blend.params)
    ['ma.fast', 'ma.ratio', 'ma.slow', 'mom.lookback', 'mom.threshold', 'w_ma', 'w_mom']
    """

    def __init__(
        self,
        rules: Mapping[str, Rule] | Sequence[Rule],
        *,
        weights: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__()
        named = _named(rules)
        if len(named) < 2:
            raise ConfigError(f"Blend needs at least two rules, got {len(named)}")
        self.names = tuple(named)
        for name, rule in named.items():
            if not isinstance(name, str) or not _NAME.match(name) or hasattr(self, name):
                raise ConfigError(
                    f"rule name {name!r} must be a Python identifier not already used by Blend "
                    "(letters, digits, underscores; no dots)"
                )
            if not isinstance(rule, Rule):
                raise ConfigError(
                    f"Blend combines stratopt Rule instances; {name!r} is a {type(rule).__name__}: pass e.g. Momentum()"
                )
            if rule.batch_size != 1:
                raise ConfigError(
                    f"rule {name!r} has {rule.batch_size} starts; blend single-start rules and call "
                    "with_starts on the Blend"
                )
        unknown = sorted(set(weights or {}) - set(named))
        if unknown:
            raise ConfigError(f"weights for unknown rules {unknown}; the rules are {sorted(named)}")
        for name, rule in named.items():
            self.add_param(
                Param(f"w_{name}", "weight", 0.0, 1.0, 0.5, doc=f"relative weight of {name}"),
                (weights or {}).get(name),
            )
            self.add_module(name, rule)

    def rules(self) -> dict[str, Rule]:
        """The sub-rules by name."""
        return {name: getattr(self, name) for name in self.names}

    def shares(self) -> pd.DataFrame:
        """Normalised weights ``w_k / sum_j w_j``, one row per start, one column per rule."""
        df = self.batch_params()[[f"w_{n}" for n in self.names]]
        df.columns = list(self.names)
        return df.div(df.sum(axis=1), axis=0)

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        w = torch.stack([p[f"w_{n}"] for n in self.names])  # (rules, batch)
        share = (w / w.sum(dim=0)).reshape(len(self.names), -1, 1, 1)
        parts = torch.stack([rule(data, temperature=temperature) for rule in self.rules().values()])
        return (share * parts).sum(dim=0)
