"""What the analysis tools share: argument checks, the loss spec, batched copies of a rule, and
the gradient of the soft objective with respect to the positions."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.rules._base import Rule

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from stratopt._market import MarketData

__all__ = [
    "check_positive_temperature",
    "check_rule",
    "no_axes",
    "position_gradient",
    "replicate",
    "resolve_loss",
]


def resolve_loss(loss: LossSpec | None) -> LossSpec:
    """``loss``, or the default :class:`~stratopt.LossSpec` when None."""
    if loss is None:
        return LossSpec()
    if not isinstance(loss, LossSpec):
        raise ConfigError(
            f"loss must be a stratopt.LossSpec, got {type(loss).__name__}; e.g. loss=stratopt.LossSpec(cost_bps=10)"
        )
    return loss


def check_rule(rule: Any, what: str) -> Rule:
    """``rule`` if it is a single-start stratopt Rule (``what`` names the caller)."""
    if not isinstance(rule, Rule):
        raise ConfigError(f"rule must be a stratopt Rule, got {type(rule).__name__}")
    rule.require_single(what)
    return rule


def check_positive_temperature(temperature: Any) -> float:
    """A temperature at which the soft rule has a gradient: finite and > 0."""
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not (math.isfinite(temperature) and temperature > 0)
    ):
        raise ConfigError(
            f"temperature={temperature!r} must be finite and > 0: the hard rule (0) has no gradient; "
            "use the final training temperature, e.g. 0.1"
        )
    return float(temperature)


def replicate(rule: Rule, n: int) -> Rule:
    """A rule with ``n`` identical starts, all equal to single-start ``rule`` (weights included)."""
    batched = rule.with_starts(n, seed=0)
    source = dict(rule.named_parameters())
    with torch.no_grad():  # with_starts draws random starts: overwrite them all with start 0
        for name, p in batched.named_parameters():
            p.copy_(source[name].expand_as(p))
    return batched


def position_gradient(positions: Tensor, data: MarketData, loss: LossSpec) -> tuple[float, Tensor]:
    """Soft objective of ``positions`` (1, days, assets) and its gradient with respect to them:
    net returns with smoothed costs, as in training, scored by ``loss`` (penalties left out)."""
    leaf = positions.detach().requires_grad_(True)
    score = loss.score(loss.returns(leaf, data, smooth=True))[0]
    (grad,) = torch.autograd.grad(score, leaf)
    return float(score.detach()), grad


def no_axes(ax: Axes | None, what: str) -> None:
    """Refuse an ``ax`` for a figure of several panels (``what`` says which)."""
    if ax is not None:
        raise ConfigError(
            f"this plot draws {what}, so it makes its own figure and cannot draw on one axes; "
            "call plot() without ax and use the returned figure"
        )
