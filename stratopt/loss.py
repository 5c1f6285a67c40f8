"""The loss specification: what a strategy is scored on, bound once and used everywhere.

A :class:`LossSpec` holds the objective, the trading costs, the capital allocation and the
position mode. Training (soft positions, smoothed costs), the hard backtest, walk-forward test
windows and baselines, loss landscapes, credit assignment and gradient flow all take the same
spec, so a setting cannot apply to one path and not the other (as ``backtesting.py`` binds its
commission once in ``Backtest(...)``).

Examples
--------
>>> from stratopt.loss import LossSpec
>>> spec = LossSpec(cost_bps=10, slippage=0.1)
>>> spec.cost_bps, spec.allocation, spec.position_mode
(10.0, 'equal_risk', 'long_short')
>>> LossSpec(cost_bps=float("nan"))
Traceback (most recent call last):
...
stratopt.errors.ConfigError: cost_bps=nan must be a finite number >= 0 (basis points per unit traded, e.g. 5)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args

from torch import Tensor

from stratopt import objectives as obj
from stratopt.errors import ConfigError
from stratopt.pnl import Allocation, holdings, net_returns

if TYPE_CHECKING:
    from stratopt._market import MarketData
    from stratopt.rules._base import Rule

__all__ = ["POSITION_MODES", "LossSpec", "PositionMode", "refuse_loss_settings"]

PositionMode = Literal["long_short", "long_only", "short_only"]
POSITION_MODES: tuple[str, ...] = get_args(PositionMode)


def _check_nonneg(name: str, value: Any, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name}={value!r} must be a finite number >= 0 ({hint})")
    return float(value)


@dataclass(frozen=True)
class LossSpec:
    """Objective, costs, allocation and position mode of a strategy, in one frozen object.

    Parameters
    ----------
    objective
        ``"sharpe"`` (default), ``"sortino"``, ``"differential_sharpe"``, ``"mean_variance"``
        or a callable (batch, days) -> (batch,), higher is better (see
        :mod:`stratopt.objectives`).
    objective_kwargs
        Passed to the objective, e.g. ``{"halflife": 252}``.
    cost_bps
        Proportional cost per unit of holding traded, in basis points.
    slippage
        Extra cost per unit traded as a fraction of the asset's daily volatility.
    allocation
        ``"equal_risk"`` (inverse-volatility capital shares) or ``"equal"``.
    position_mode
        ``"long_short"`` (the rule's positions as they are), ``"long_only"`` (short positions
        become flat) or ``"short_only"`` (long positions become flat). Applied to soft and hard
        positions alike, so training and the traded rule agree.
    turnover_penalty, l2_penalty
        Training penalties: weight of the mean daily |position change|, and of the squared
        distance of the unconstrained parameters from their start. Not part of reported
        returns.
    """

    objective: obj.Objective | Callable[[Tensor], Tensor] = "sharpe"
    objective_kwargs: Mapping[str, Any] = field(default_factory=dict)
    cost_bps: float = 5.0
    slippage: float = 0.0
    allocation: Allocation = "equal_risk"
    position_mode: PositionMode = "long_short"
    turnover_penalty: float = 0.0
    l2_penalty: float = 0.0

    def __post_init__(self) -> None:
        obj.get_objective(self.objective)  # raises on an unknown name
        if not isinstance(self.objective_kwargs, Mapping):
            raise ConfigError(f"objective_kwargs={self.objective_kwargs!r} must be a dict of keyword arguments")
        object.__setattr__(self, "objective_kwargs", MappingProxyType(dict(self.objective_kwargs)))
        object.__setattr__(
            self, "cost_bps", _check_nonneg("cost_bps", self.cost_bps, "basis points per unit traded, e.g. 5")
        )
        object.__setattr__(
            self, "slippage", _check_nonneg("slippage", self.slippage, "a fraction of daily volatility, e.g. 0.1")
        )
        for name in ("turnover_penalty", "l2_penalty"):
            object.__setattr__(self, name, _check_nonneg(name, getattr(self, name), "a penalty weight, 0 for none"))
        if self.allocation not in get_args(Allocation):
            raise ConfigError(f"allocation={self.allocation!r} is not one of {list(get_args(Allocation))}")
        if self.position_mode not in POSITION_MODES:
            raise ConfigError(f"position_mode={self.position_mode!r} is not one of {list(POSITION_MODES)}")

    # ------------------------------------------------------------------------ the strategy
    def positions(self, rule: Rule, data: MarketData, *, temperature: float) -> Tensor:
        """The rule's positions (batch, days, assets) under this spec's position mode."""
        pos = rule(data, temperature=temperature)
        if self.position_mode == "long_only":
            return pos.clamp_min(0.0)
        if self.position_mode == "short_only":
            return pos.clamp_max(0.0)
        return pos

    def returns(self, positions: Tensor, data: MarketData, *, smooth: bool = False, start: int = 0) -> Tensor:
        """Net portfolio returns (batch, days - 1) of ``positions``; ``smooth`` for training;
        ``start``: only the returns from that one on (see :func:`~stratopt.pnl.net_returns`)."""
        return net_returns(
            positions,
            data,
            cost_bps=self.cost_bps,
            slippage=self.slippage,
            allocation_scheme=self.allocation,
            smooth=smooth,
            start=start,
        )

    def holdings(self, positions: Tensor, data: MarketData) -> Tensor:
        """Positions scaled by the capital allocation: what the portfolio holds."""
        return holdings(positions, data, self.allocation)

    def rule_returns(self, rule: Rule, data: MarketData, *, temperature: float = 0.0, start: int = 0) -> Tensor:
        """Net returns of ``rule``: hard with exact costs at temperature 0, else soft and smoothed;
        ``start``: only the returns from that one on."""
        smooth = temperature > 0
        return self.returns(self.positions(rule, data, temperature=temperature), data, smooth=smooth, start=start)

    def score(self, returns: Tensor) -> Tensor:
        """The objective of each row of ``returns`` (batch, days) -> (batch,), higher is better."""
        return obj.get_objective(self.objective)(returns, **self.objective_kwargs)

    def penalties(self, positions: Tensor, raw: Sequence[Tensor], raw_init: Sequence[Tensor]) -> Tensor | float:
        """Training penalties per start (0.0 when both weights are 0)."""
        out: Tensor | float = 0.0
        if self.turnover_penalty:
            out = out + self.turnover_penalty * obj.turnover_penalty(positions)
        if self.l2_penalty:
            out = out + self.l2_penalty * obj.l2_penalty(raw, raw_init)
        return out

    # ------------------------------------------------------------------------- records
    @property
    def objective_name(self) -> str:
        o = self.objective
        return o if isinstance(o, str) else getattr(o, "__name__", "custom")

    def replace(self, **changes: Any) -> LossSpec:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (a callable objective is recorded by name only)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["objective"] = self.objective_name
        out["objective_kwargs"] = dict(self.objective_kwargs)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> LossSpec:
        """The spec a :meth:`to_dict` record describes; unknown keys are refused."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"unknown loss setting(s) {unknown}; allowed: {sorted(names)}")
        return cls(**dict(values))


def refuse_loss_settings(settings: Mapping[str, Any], *, where: str, known: Iterable[str]) -> None:
    """Refuse keyword settings that are not in ``known``: a :class:`LossSpec` field passed by
    name points to ``loss=LossSpec(...)`` (so that training and every reported number share
    it); anything else is named with the options ``where`` takes."""
    allowed = set(known)
    loss_names = {f.name for f in dataclasses.fields(LossSpec)}
    for name, value in settings.items():
        if name in allowed:
            continue
        if name in loss_names:
            raise ConfigError(
                f"{name}={value!r} is a loss setting: pass loss=stratopt.LossSpec({name}={value!r}) "
                "so that training and every reported number use it"
            )
        raise ConfigError(f"{where} got an unknown option {name!r}; its options are {sorted(allowed)}")
