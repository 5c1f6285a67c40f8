"""Rule parameters as differentiable weights with names, units, bounds and transforms."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from stratopt.errors import ConfigError

__all__ = ["Param"]

Transform = Literal["sigmoid", "softplus", "identity"]
Scale = Literal["linear", "log"]

#: How close to a bound (as a share of the range in the optimiser's space) a value set exactly
#: on the bound is stored: the sigmoid reaches its bounds only in the limit.
EDGE = 1e-10


@dataclass(frozen=True)
class Param:
    """One rule parameter, shown to people in natural units.

    The optimiser moves an unconstrained ``raw`` tensor; the rule reads
    ``value = to_natural(raw)``:

    * both bounds finite: scaled sigmoid, ``low + (high - low) * sigmoid(raw)``; with
      ``scale="log"`` the sigmoid runs in log space, ``low * (high / low) ** sigmoid(raw)``, so
      one optimiser step changes a 5-day and a 300-day window by the same relative amount;
    * only ``low`` finite: ``low + softplus(raw)``;
    * no bounds: identity.

    Parameters
    ----------
    name
        Identifier used in ``rule.params`` and ``set_params``.
    unit
        Natural unit shown to people ("days", "sigma", "ann. vol", ...).
    low, high
        Bounds of the natural value (``-inf``/``inf`` for none). A value set on a bound is stored
        a hair inside it (:data:`EDGE`); the hard rule rounds integer windows onto the bound.
    init
        Default natural value.
    integer
        Integer-natured (a window in days). Training treats it as continuous; the hard rule
        rounds it to the nearest integer (see ``hard``).
    doc
        One line on what the parameter does.
    scale
        ``"linear"`` or ``"log"`` (both bounds finite and positive): how the optimiser moves
        the value and how random starts are drawn (log-uniformly for ``"log"``).
    """

    name: str
    unit: str
    low: float
    high: float
    init: float
    integer: bool = False
    doc: str = ""
    scale: Scale = "linear"

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ConfigError(f"Param {self.name!r}: low={self.low} must be below high={self.high}")
        if self.scale not in ("linear", "log"):
            raise ConfigError(f"Param {self.name!r}: scale={self.scale!r} is not 'linear' or 'log'")
        if self.scale == "log" and not (self.low > 0 and math.isfinite(self.high)):
            raise ConfigError(
                f"Param {self.name!r}: a log scale needs finite bounds above 0, got ({self.low}, {self.high})"
            )
        self.check(self.init)

    @property
    def transform(self) -> Transform:
        if math.isfinite(self.low) and math.isfinite(self.high):
            return "sigmoid"
        if math.isfinite(self.low):
            return "softplus"
        if math.isinf(self.low) and math.isinf(self.high):
            return "identity"
        raise ConfigError(f"Param {self.name!r}: an upper bound needs a lower bound too")

    def check(self, value: float) -> float:
        """Return ``value`` as float, or raise if it is outside the closed interval [low, high]."""
        value = float(value)
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise ConfigError(
                f"{self.name}={value!r} {self.unit} is outside [{self.low}, {self.high}]; pick a value within the bounds"
            )
        return value

    def to_unit(self, value: Tensor) -> Tensor:
        """Position of a natural value in [0, 1] between the bounds (in log space for ``"log"``)."""
        if self.scale == "log":
            return (torch.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: Tensor) -> Tensor:
        """The natural value at position ``u`` in [0, 1] between the bounds."""
        if self.scale == "log":
            # clamped: exp(log(high)) may round a hair above high
            return torch.exp(math.log(self.low) + (math.log(self.high) - math.log(self.low)) * u).clamp(
                self.low, self.high
            )
        return self.low + (self.high - self.low) * u

    def to_natural(self, raw: Tensor) -> Tensor:
        kind = self.transform
        if kind == "sigmoid":
            return self.from_unit(torch.sigmoid(raw))
        if kind == "softplus":
            return self.low + torch.nn.functional.softplus(raw)
        return raw

    def to_raw(self, value: Tensor) -> Tensor:
        kind = self.transform
        if kind == "sigmoid":
            u = self.to_unit(value).clamp(EDGE, 1.0 - EDGE)
            return torch.log(u) - torch.log1p(-u)
        if kind == "softplus":
            v = (value - self.low).clamp_min(EDGE)
            # inverse softplus, stable for large v
            return v + torch.log(-torch.expm1(-v))
        return value

    def hard(self, value: Tensor) -> Tensor:
        """The value the hard rule uses: rounded for integer-natured parameters."""
        if self.integer:
            return torch.round(value).clamp(math.ceil(self.low), math.floor(self.high))
        return value
