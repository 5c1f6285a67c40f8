"""Gradient descent on any differentiable function, on the training loop: for known surfaces and\nthe lecture's worked examples."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import torch
from torch import Tensor

from stratopt.errors import ConfigError, DivergenceWarning, caller_level
from stratopt.training._callbacks import Callback
from stratopt.training._loop import TrainState, fit_loop
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

    Runs on the package's one training loop (:func:`~stratopt.training.fit_loop`) with a
    single start. Each step: evaluate the loss, backpropagate, record loss, gradient norm and
    parameters, take an optimiser step. Stops as ``diverged`` (restoring the last finite
    parameters, with a :class:`DivergenceWarning`) if the loss or a gradient is not finite or
    the loss exceeds ``blowup`` times its starting magnitude; ``converged`` when the gradient
    norm is <= ``tol``. After ``steps`` steps the final loss is evaluated and recorded too.

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
    record = _Record(params, blowup=blowup, tol=tol, lr=lr)
    state = TrainState(params=params, optimizer=opt, loss_fn=_scalar(loss_fn), n_starts=1, epochs=steps + 1)
    record.last_step = steps
    fit_loop(state, [record])
    status = "max_steps" if state.status == "max_epochs" else state.status
    rows = record.rows
    return MinimizeResult(
        pd.DataFrame(rows).set_index("step"),
        rows[-1]["loss"],
        status,  # type: ignore[arg-type]
        int(rows[-1]["step"]) if status == "diverged" else None,
    )


def _scalar(loss_fn: Callable[[], Tensor]) -> Callable[[TrainState], Tensor]:
    def per_start(state: TrainState) -> Tensor:
        loss = loss_fn()
        if loss.dim() != 0:
            raise ConfigError(f"loss_fn must return a scalar, got shape {tuple(loss.shape)}")
        return loss.reshape(1)

    return per_start


class _Record(Callback):
    """Records each step before its update; stops on divergence (restoring the previous
    parameters), on a small gradient, and before the update of the final evaluation."""

    def __init__(self, params: list[Tensor], *, blowup: float, tol: float, lr: float) -> None:
        self.params, self.blowup, self.tol, self.lr = params, blowup, tol, lr
        self.rows: list[dict[str, float]] = []
        self.first: float | None = None
        self.last_step = 0

    def on_after_backward(self, state: TrainState) -> None:
        loss, grad_norm = float(state.loss[0]), float(state.grad_norm[0])
        self.first = abs(loss) if self.first is None else self.first
        row = {"step": state.epoch, "loss": loss, "grad_norm": grad_norm}
        for i, p in enumerate(self.params):
            for j, v in enumerate(p.detach().reshape(-1).tolist()):
                row[f"p{i}[{j}]"] = v
        self.rows.append(row)
        if not math.isfinite(loss) or not math.isfinite(grad_norm) or abs(loss) > self.blowup * max(self.first, 1.0):
            warnings.warn(
                f"minimize diverged at step {state.epoch} (loss={loss:.4g}, grad norm={grad_norm:.4g}) "
                f"with lr={self.lr}; parameters restored to the last finite values: lower the learning rate",
                DivergenceWarning,
                stacklevel=caller_level(),
            )
            self._restore_previous()
            state.request_stop("diverged")
        elif grad_norm <= self.tol:
            state.request_stop("converged")
        elif state.epoch == self.last_step:
            state.request_stop("max_epochs")

    def on_step_end(self, state: TrainState) -> None:
        if not all(bool(torch.isfinite(p).all()) for p in self.params):
            self._restore_previous(last=True)

    def _restore_previous(self, *, last: bool = False) -> None:
        rows = self.rows if last else self.rows[:-1]
        if not rows:
            return
        with torch.no_grad():
            for i, p in enumerate(self.params):
                vals = [rows[-1][f"p{i}[{j}]"] for j in range(p.numel())]
                p.copy_(torch.tensor(vals, dtype=p.dtype).reshape(p.shape))
