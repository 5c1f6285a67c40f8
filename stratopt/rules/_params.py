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


@dataclass(frozen=True)
class Param:
    """One rule parameter, shown to people in natural units.

    The optimiser moves an unconstrained ``raw`` tensor; the rule reads
    ``value = to_natural(raw)``:

    * both bounds finite: scaled sigmoid, ``low + (high - low) * sigmoid(raw)``;
    * only ``low`` finite: ``low + softplus(raw)``;
    * no bounds: identity.

    Parameters
    ----------
    name
        Identifier used in ``rule.params`` and ``set_params``.
    unit
        Natural unit shown to people ("days", "sigma", "ann. vol", ...).
    low, high
        Bounds of the natural value (``-inf``/``inf`` for none). Values strictly inside them can
        be represented; the bounds themselves are reached only in the limit.
    init
        Default natural value.
    integer
        Integer-natured (a window in days). Training treats it as continuous; the hard rule
        rounds it to the nearest integer (see ``hard``).
    doc
        One line on what the parameter does.
    """

    name: str
    unit: str
    low: float
    high: float
    init: float
    integer: bool = False
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ConfigError(f"Param {self.name!r}: low={self.low} must be below high={self.high}")
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
        """Return ``value`` as float, or raise if it is outside the open interval (low, high)."""
        value = float(value)
        if not math.isfinite(value) or not self.low < value < self.high:
            raise ConfigError(
                f"{self.name}={value!r} {self.unit} is outside ({self.low}, {self.high}); "
                f"pick a value strictly inside the bounds"
            )
        return value

    def to_natural(self, raw: Tensor) -> Tensor:
        kind = self.transform
        if kind == "sigmoid":
            return self.low + (self.high - self.low) * torch.sigmoid(raw)
        if kind == "softplus":
            return self.low + torch.nn.functional.softplus(raw)
        return raw

    def to_raw(self, value: Tensor) -> Tensor:
        kind = self.transform
        if kind == "sigmoid":
            u = (value - self.low) / (self.high - self.low)
            return torch.log(u) - torch.log1p(-u)
        if kind == "softplus":
            v = value - self.low
            # inverse softplus, stable for large v
            return v + torch.log(-torch.expm1(-v))
        return value

    def hard(self, value: Tensor) -> Tensor:
        """The value the hard rule uses: rounded for integer-natured parameters."""
        if self.integer:
            return torch.round(value).clamp(math.ceil(self.low), math.floor(self.high))
        return value
