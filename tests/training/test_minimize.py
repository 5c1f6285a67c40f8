"""The gradient-descent core on problems whose answers are published or known in closed form."""

from __future__ import annotations

import math

import pytest
import torch

from stratopt.errors import ConfigError, DivergenceWarning
from stratopt.training import minimize


def test_single_weight_update_from_the_lecture() -> None:
    # w = 1.5, dL/dw = 0.3, lr = 0.1 -> 1.47
    w = torch.tensor([1.5], dtype=torch.float64, requires_grad=True)
    minimize(lambda: 0.3 * w.sum(), [w], optimizer="sgd", lr=0.1, steps=1)
    assert round(w.item(), 2) == 1.47


def test_two_one_one_sigmoid_network_worked_example() -> None:
    """Lecture example: x=[1,2], W1=[.5,.5], b1=0, W2=.5, b2=0, y=1, MSE, lr=0.5, one step."""
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    w1 = torch.tensor([0.5, 0.5], dtype=torch.float64, requires_grad=True)
    b1 = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    b2 = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    seen: dict[str, float] = {}

    def loss() -> torch.Tensor:
        z1 = (w1 * x).sum() + b1.sum()
        a1 = torch.sigmoid(z1)
        z2 = w2.sum() * a1 + b2.sum()
        a2 = torch.sigmoid(z2)
        if not seen:  # the forward pass before the update
            seen.update(z1=z1.item(), a1=a1.item(), z2=z2.item(), a2=a2.item())
        return (a2 - 1.0) ** 2

    before = [p.detach().clone() for p in (w1, b2, w2)]
    res = minimize(loss, [w1, b1, w2, b2], optimizer="sgd", lr=0.5, steps=1)
    first = res.history.iloc[0]
    assert first["loss"] == pytest.approx(0.16, abs=0.005)
    assert round(first["loss"], 2) == 0.16
    assert [round(seen[k], 2) for k in ("z1", "a1", "z2", "a2")] == [1.5, 0.82, 0.41, 0.60]
    # the gradients the core applied, recovered from its update: (before - after) / lr
    grad_w1 = (before[0] - w1.detach()) / 0.5
    grad_b2 = (before[1] - b2.detach()) / 0.5
    grad_w2 = (before[2] - w2.detach()) / 0.5
    assert round(grad_w2.item(), 2) == -0.16
    assert round(grad_b2.item(), 2) == -0.19
    # printed from two-decimal intermediates: -0.0285 exactly, -0.028 as printed
    assert grad_w1.tolist() == pytest.approx([-0.014, -0.028], abs=1e-3)
    assert round(w2.item(), 2) == 0.58
    assert [round(v, 3) for v in w1.tolist()] == [0.507, 0.514]


def test_quadratic_bowl_with_plain_gradient_descent() -> None:
    """L = 0.5 w1^2 + 2 w2^2 from (2.5, 2.0), lr 0.15, 20 steps -> (0.097, 0.0), L ~ 0.0047."""
    w = torch.tensor([2.5, 2.0], dtype=torch.float64, requires_grad=True)
    res = minimize(lambda: 0.5 * w[0] ** 2 + 2.0 * w[1] ** 2, [w], optimizer="sgd", lr=0.15, steps=20)
    assert w[0].item() == pytest.approx(0.097, abs=5e-4)
    assert abs(w[1].item()) < 1e-6
    assert res.loss == pytest.approx(0.0047, abs=1e-4)
    assert res.status == "max_steps" and len(res.history) == 21


def test_divergence_is_reported_with_finite_parameters() -> None:
    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    with pytest.warns(DivergenceWarning, match="lower the learning rate"):
        res = minimize(lambda: (w**2).sum(), [w], optimizer="sgd", lr=10.0, steps=200)
    assert res.status == "diverged" and res.diverged_at is not None
    assert math.isfinite(w.item())


@pytest.mark.parametrize("lr", [-0.1, 0.0, float("nan"), float("inf")])
def test_bad_learning_rate_is_rejected(lr: float) -> None:
    w = torch.ones(1, requires_grad=True)
    with pytest.raises(ConfigError, match="lr="):
        minimize(lambda: w.sum(), [w], lr=lr)


def test_unknown_optimizer_is_rejected() -> None:
    w = torch.ones(1, requires_grad=True)
    with pytest.raises(ConfigError, match="'adamw'"):
        minimize(lambda: w.sum(), [w], optimizer="adamw")  # type: ignore[arg-type]
