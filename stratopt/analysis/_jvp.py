"""Jacobian-vector products of a rule's positions with respect to its parameters.

The positions are those of a module called as ``module(data, temperature=...)``: a rule, or a
rule seen through a :class:`~stratopt.LossSpec`'s position mode (see :class:`SpecPositions`).

``J v`` with ``J = dw/dtheta`` (positions by parameters) is what splits a gradient into one term
per (day, asset). Forward mode gives it in one pass; reverse-over-reverse AD is the fallback
that needs only the backward formulas every rule is already tested with.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import torch
import torch.autograd.forward_ad as fwad
from torch import Tensor, nn
from torch.func import functional_call

from stratopt._market import MarketData
from stratopt.loss import LossSpec
from stratopt.rules._base import Rule

__all__ = ["SpecPositions", "attribute", "jvp_forward", "jvp_reverse"]


class SpecPositions(nn.Module):
    """``loss.positions(rule, data, temperature=...)`` as a module, so that Jacobians of the
    positions the spec trades (its position mode applied) can be taken by ``functional_call``.
    The rule's tensors are named ``"rule." + name``."""

    def __init__(self, rule: Rule, loss: LossSpec) -> None:
        super().__init__()
        self.rule, self.loss = rule, loss

    def forward(self, data: MarketData, *, temperature: float) -> Tensor:
        return self.loss.positions(self.rule, data, temperature=temperature)


def jvp_forward(
    rule: nn.Module, data: MarketData, temperature: float, tangents: Mapping[str, tuple[Tensor, Tensor]]
) -> Tensor:
    """``sum_k dw/dtheta_k . v_k`` by forward-mode AD (dual numbers), shape (days, assets).

    The primals keep ``requires_grad``, so ops that take a shortcut only without gradients (the
    EMA's de-duplication of repeated spans) follow their differentiable path here too.
    """
    with torch.enable_grad(), fwad.dual_level(), warnings.catch_warnings():
        # torch's first dual tensor loads its jvp decompositions through the deprecated
        # torch.jit.script; that warning is about torch internals, not the caller's code
        warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated", category=DeprecationWarning)
        duals = {name: fwad.make_dual(p, v) for name, (p, v) in tangents.items()}
        out = functional_call(rule, duals, (data,), {"temperature": temperature})
        tangent = fwad.unpack_dual(out).tangent
    if tangent is None:  # the positions do not depend on these tensors at all
        return torch.zeros(data.n_days, data.n_assets, dtype=data.dtype, device=data.device)
    return tangent.detach()[0]


def jvp_reverse(
    rule: nn.Module, data: MarketData, temperature: float, tangents: Mapping[str, tuple[Tensor, Tensor]]
) -> Tensor:
    """The same product by reverse-over-reverse AD: ``J v = d/du (J^T u . v)``, which is linear in
    ``u``. Two backward passes instead of one forward pass, but it needs only backward formulas."""
    params = [p for p, _ in tangents.values()]
    with torch.enable_grad():
        out = rule(data, temperature=temperature)
        # any u gives the same J v; not 0, where some backward formulas take log|u| (logcumsumexp)
        u = torch.ones_like(out, requires_grad=True)
        jt_u = torch.autograd.grad(out, params, grad_outputs=u, create_graph=True, allow_unused=True)
        terms = [(j * v).sum() for j, (_, v) in zip(jt_u, tangents.values()) if j is not None]
        if not terms:
            return torch.zeros(data.n_days, data.n_assets, dtype=data.dtype, device=data.device)
        (jv,) = torch.autograd.grad(torch.stack(terms).sum(), u, allow_unused=True)
    return torch.zeros_like(out[0]) if jv is None else jv.detach()[0]


def attribute(
    rule: nn.Module,
    data: MarketData,
    temperature: float,
    g: Tensor,
    total: float,
    tangents: Mapping[str, tuple[Tensor, Tensor]],
) -> tuple[np.ndarray, str]:
    """``g * (J v)`` per (day, asset), and the method that gave it.

    Forward mode is tried first (one pass). Its result must add up to ``total``, the same
    gradient from reverse mode; a mismatch beyond round-off means a forward-mode formula is
    wrong for this rule (torch's ``logcumsumexp`` JVP loses early prefixes when values span a
    wide range, pytorch/pytorch#196705, which hits :class:`~stratopt.MeanReversion`), and an op
    may have no forward formula at all. Either way reverse-over-reverse AD recomputes it.
    """
    try:
        c = (g * jvp_forward(rule, data, temperature, tangents)).cpu().numpy()
        if np.isfinite(c).all() and abs(total - c.sum()) <= 1e-8 * np.abs(c).sum() + 1e-15:
            return c, "forward"
    except NotImplementedError:
        pass
    return (g * jvp_reverse(rule, data, temperature, tangents)).cpu().numpy(), "reverse-over-reverse"
