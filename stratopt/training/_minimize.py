"""The gradient-descent core on any differentiable function: used by fit and on known surfaces."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import torch
from torch import Tensor

from stratopt.errors import ConfigError, DivergenceWarning
from stratopt.training._optim import OptimizerName, make_optimizer

__all__ = ["MinimizeResult", "minimize"]


@dataclass
class MinimizeResult:
    """Outcome of :func:`minimize`: the history (one row per step, before the step's update),
    the final loss, the status and the step at which it diverged, if it did."""

    history: pd.DataFrame
    loss: float
    status: Literal["converged", "max_steps", "diverged"]
    diverged_at: int | None


def minimize(
    loss_fn: Callable[[], Tensor],
    params: Sequence[Tensor],
    *,
    optimizer: OptimizerName = "sgd",
    lr: float = 0.1,
    steps: int = 100,
    momentum: float = 0.9,
    tol: float = 0.0,
    blowup: float = 1e6,
) -> MinimizeResult:
    """Minimise a scalar ``loss_fn()`` over ``params`` (leaf tensors with ``requires_grad``).

    Each step: evaluate the loss, backpropagate, record loss, gradient norm and parameters, take
    an optimiser step. Stops as ``diverged`` (restoring the last finite parameters, with a
    :class:`DivergenceWarning`) if the loss or a gradient is not finite or the loss exceeds
    ``blowup`` times its starting magnitude; ``converged`` when the gradient norm is <= ``tol``.

    Examples
    --------
    >>> import torch
    >>> w = torch.tensor([1.5], requires_grad=True)
    >>> res = minimize(lambda: 0.3 * w.sum(), [w], lr=0.1, steps=1)  # dL/dw = 0.3
    >>> round(w.item(), 2)
    1.47
    """
    if not isinstance(steps, int) or steps < 0:
        raise ConfigError(f"steps={steps!r} must be a nonnegative integer")
    params = list(params)
    if not params or not all(p.requires_grad and p.is_leaf for p in params):
        raise ConfigError("params must be a non-empty list of leaf tensors with requires_grad=True")
    opt = make_optimizer(params, optimizer, lr, momentum=momentum)
    rows: list[dict[str, float]] = []
    status: Literal["converged", "max_steps", "diverged"] = "max_steps"
    diverged_at = None
    first = None
    loss_value = math.nan
    for step in range(steps + 1):
        opt.zero_grad()
        loss = loss_fn()
        if loss.dim() != 0:
            raise ConfigError(f"loss_fn must return a scalar, got shape {tuple(loss.shape)}")
        loss.backward()
        loss_value = float(loss.detach())
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        grad_norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
        first = abs(loss_value) if first is None else first
        row = {"step": step, "loss": loss_value, "grad_norm": grad_norm}
        for i, p in enumerate(params):
            for j, v in enumerate(p.detach().reshape(-1).tolist()):
                row[f"p{i}[{j}]"] = v
        rows.append(row)
        if not math.isfinite(loss_value) or not math.isfinite(grad_norm) or abs(loss_value) > blowup * max(first, 1.0):
            status, diverged_at = "diverged", step
            warnings.warn(
                f"minimize diverged at step {step} (loss={loss_value:.4g}, grad norm={grad_norm:.4g}) "
                f"with lr={lr}; parameters restored to the last finite values: lower the learning rate",
                DivergenceWarning,
                stacklevel=2,
            )
            break
        if grad_norm <= tol:
            status = "converged"
            break
        if step == steps:
            break
        backup = [p.detach().clone() for p in params]
        opt.step()
        if not all(torch.isfinite(p).all() for p in params):
            with torch.no_grad():
                for p, b in zip(params, backup):
                    p.copy_(b)
    if status == "diverged":
        # the last finite parameters are those of the last recorded finite row
        last_ok = next((r for r in reversed(rows[:-1])), None)
        if last_ok is not None:
            with torch.no_grad():
                for i, p in enumerate(params):
                    vals = [last_ok[f"p{i}[{j}]"] for j in range(p.numel())]
                    p.copy_(torch.tensor(vals, dtype=p.dtype).reshape(p.shape))
    return MinimizeResult(pd.DataFrame(rows).set_index("step"), loss_value, status, diverged_at)
