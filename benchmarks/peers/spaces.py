"""Search spaces: how every tool sees a rule's parameters, and the per-asset crossover.

A :class:`Space` maps points of the unit cube (what a grid, random search or CMA-ES draws) to
natural parameter values (what the rule and Optuna read) and loads a table of them into one
batched rule that :func:`stratopt.evaluate` scores in a single pass. Bounded rule parameters map
as the package's own screen maps them (``Param.from_unit``: log-uniform for log-scale windows,
integer windows rounded); a neural policy's unstructured weights map linearly onto
``[-WEIGHT_BOUND, WEIGHT_BOUND]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.ops import ema, ewm_mean, soft_sign
from stratopt.rules import MLPPolicy, Param, Rule
from stratopt.rules._ma_crossover import FAST, NORM_SPAN, RATIO

#: Box of every weight of a neural policy for the black-box tools. The hard policy is
#: ``sign(z)``, so only the weights' directions and ratios matter, not their scale.
WEIGHT_BOUND = 2.0


@dataclass(frozen=True)
class Dim:
    """One searched coordinate in natural units."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False


class Space:
    """The bounded parameters of a rule, as every tool searches them."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.specs: list[tuple[str, Param]] = [
            (name, spec) for name, _, spec in rule.named_specs() if spec.transform == "sigmoid"
        ]
        self.dims = [Dim(n, s.low, s.high, s.scale == "log", s.integer) for n, s in self.specs]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dims]

    @property
    def dim(self) -> int:
        return len(self.dims)

    def from_unit(self, u: np.ndarray) -> pd.DataFrame:
        """Natural values (rows x names) of unit-cube points ``u`` (rows x dim)."""
        u = np.atleast_2d(np.clip(u, 0.0, 1.0))
        cols = {}
        for j, (name, spec) in enumerate(self.specs):
            v = spec.from_unit(torch.as_tensor(u[:, j], dtype=torch.float64)).numpy()
            cols[name] = np.clip(np.round(v), spec.low, spec.high) if spec.integer else v
        return pd.DataFrame(cols)

    def to_unit(self, table: pd.DataFrame) -> np.ndarray:
        """Unit-cube coordinates of natural values (the inverse of :meth:`from_unit`)."""
        cols = [
            spec.to_unit(torch.tensor(table[name].to_numpy(dtype=float), dtype=torch.float64)).numpy()
            for name, spec in self.specs
        ]
        return np.clip(np.column_stack(cols), 0.0, 1.0)

    def batch(self, table: pd.DataFrame) -> Rule:
        """One batched rule holding every row of ``table`` (natural values)."""
        return self.rule.with_params(table[self.names])

    def params_of(self, rule: Rule) -> pd.DataFrame:
        """The searched values of every start of a (fitted) rule."""
        return rule.batch_params()[self.names].reset_index(drop=True)


class WeightSpace(Space):
    """Every weight and bias of an :class:`~stratopt.rules.MLPPolicy`, each in a box."""

    def __init__(self, rule: MLPPolicy) -> None:
        self.rule = rule
        self.shapes = [(name, tuple(p.shape[1:])) for name, p in rule.named_parameters()]
        self.dims = [
            Dim(f"{name}[{i}]", -WEIGHT_BOUND, WEIGHT_BOUND)
            for name, shape in self.shapes
            for i in range(int(np.prod(shape)))
        ]
        self.specs = []

    def from_unit(self, u: np.ndarray) -> pd.DataFrame:
        u = np.atleast_2d(np.clip(u, 0.0, 1.0))
        return pd.DataFrame(WEIGHT_BOUND * (2.0 * u - 1.0), columns=self.names)

    def to_unit(self, table: pd.DataFrame) -> np.ndarray:
        return np.clip((table[self.names].to_numpy(dtype=float) / WEIGHT_BOUND + 1.0) / 2.0, 0.0, 1.0)

    def batch(self, table: pd.DataFrame) -> Rule:
        values = table[self.names].to_numpy(dtype=float)
        new = self.rule.with_starts(len(values), seed=0)
        col = 0
        with torch.no_grad():
            for name, shape in self.shapes:
                size = int(np.prod(shape))
                block = torch.tensor(values[:, col : col + size], dtype=torch.float64).reshape(-1, *shape)
                getattr(new, name).copy_(block)
                col += size
        return new

    def params_of(self, rule: Rule) -> pd.DataFrame:
        flat = [p.detach().double().reshape(rule.batch_size, -1) for _, p in rule.named_parameters()]
        return pd.DataFrame(torch.cat(flat, dim=1).numpy(), columns=self.names)


def space_for(rule: Rule) -> Space:
    """The :class:`Space` of ``rule``: its weights for a neural policy, else its bounded parameters."""
    return WeightSpace(rule) if isinstance(rule, MLPPolicy) else Space(rule)


class PerAssetCrossover(Rule):
    """A moving-average crossover with its own fast span and ratio for every asset.

    Asset ``j`` trades exactly as :class:`~stratopt.rules.MACrossover` with parameters
    ``fast_j`` and ``ratio_j`` (same bounds, log scale, normalised gap, hard rounding), so
    20 stocks give 40 parameters. It lives in the benchmark, not the library: it is the
    "tune every stock separately" problem where a grid's cost explodes.
    """

    def __init__(self, n_assets: int) -> None:
        super().__init__()
        self.n_assets = int(n_assets)
        for j in range(self.n_assets):
            self.add_param(Param(f"fast_{j}", FAST.unit, FAST.low, FAST.high, FAST.init, True, FAST.doc, "log"))
            self.add_param(Param(f"ratio_{j}", RATIO.unit, RATIO.low, RATIO.high, RATIO.init, False, RATIO.doc, "log"))

    def fixed_window(self) -> float:
        return max(FAST.high * RATIO.high, NORM_SPAN)

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        if data.n_assets != self.n_assets:
            from stratopt.errors import ConfigError

            raise ConfigError(f"this PerAssetCrossover has {self.n_assets} assets' spans; the data has {data.n_assets}")
        columns = []
        for j in range(self.n_assets):  # a loop over assets (20), never over days
            fast = p[f"fast_{j}"]
            slow = fast * p[f"ratio_{j}"]
            if temperature == 0:
                slow = torch.maximum(torch.round(slow), fast + 1.0)
            n = fast.shape[0]
            both = ema(data.log_prices[:, j : j + 1], torch.cat([fast, slow]))
            gap = both[:n] - both[n:]
            if temperature == 0:
                columns.append(soft_sign(gap, 0.0))
                continue
            span = torch.full((n,), NORM_SPAN, dtype=gap.dtype, device=gap.device)
            mean_sq = ewm_mean(gap * gap, span, weights=data.tradable[:, j : j + 1], floor=0.0)
            columns.append(soft_sign(gap / torch.sqrt(mean_sq.clamp_min(torch.finfo(gap.dtype).tiny)), temperature))
        return torch.cat(columns, dim=-1)
