"""Objectives: published reference value, gradients, and basic properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from stratopt import objectives as obj
from stratopt.errors import ConfigError


def test_sharpe_loss_reference_value_from_deep_momentum_networks() -> None:
    r = torch.tensor([[0.01, -0.005, 0.02, 0.0, -0.01]], dtype=torch.float64)
    assert -obj.sharpe(r).item() == pytest.approx(-4.4217, abs=5e-5)


@pytest.mark.parametrize("name", sorted(obj.OBJECTIVES))
def test_gradcheck(name: str) -> None:
    torch.manual_seed(0)
    r = (torch.randn(2, 300, dtype=torch.float64) * 0.01 + 0.0005).requires_grad_()
    fn = obj.get_objective(name)
    assert torch.autograd.gradcheck(lambda x: fn(x), (r,))


def test_time_weighted_sharpe_favours_recent_days() -> None:
    r = torch.cat([torch.full((500,), -0.001), torch.full((500,), 0.001)]).double()
    r = (r + 0.01 * torch.randn(1000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)).unsqueeze(0)
    assert obj.sharpe(r, halflife=100).item() > obj.sharpe(r).item()


def test_sortino_matches_definition() -> None:
    r = np.random.default_rng(0).normal(0.0005, 0.01, 800)
    ref = r.mean() / math.sqrt(np.mean(np.minimum(r, 0) ** 2)) * math.sqrt(252)
    assert obj.sortino(torch.tensor(r).unsqueeze(0)).item() == pytest.approx(ref, rel=1e-6)


def test_mean_variance_matches_definition() -> None:
    r = np.random.default_rng(1).normal(0.0005, 0.01, 800)
    ref = 252 * r.mean() - 0.5 * 3.0 * 252 * r.var()
    assert obj.mean_variance(torch.tensor(r).unsqueeze(0), risk_aversion=3.0).item() == pytest.approx(ref)


def test_differential_sharpe_sums_to_the_change_of_the_moving_sharpe() -> None:
    """Moody & Saffell: S[t] = S[t-1] + eta * D[t] + O(eta^2), with S = A / sqrt(B - A^2)."""
    eta = 0.002
    r = torch.randn(1, 3000, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 0.01 + 0.0005
    a = torch.zeros(())
    b = torch.zeros(())
    a_s, b_s = [], []
    for x in r[0]:  # the plain recursion as the reference
        a = a + eta * (x - a)
        b = b + eta * (x * x - b)
        a_s.append(a)
        b_s.append(b)
    s = torch.stack(a_s) / torch.sqrt(torch.stack(b_s) - torch.stack(a_s) ** 2)
    start = int(1 / eta)
    n = r.shape[1] - start
    total = obj.differential_sharpe(r, eta=eta, periods_per_year=1).item() * n / eta  # sum of D
    assert eta * total == pytest.approx((s[-1] - s[start - 1]).item(), abs=0.02)


def test_unknown_objective_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="sharpee"):
        obj.get_objective("sharpee")
