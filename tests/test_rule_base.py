"""Rule base behaviour shared by every rule: natural units, bounds, batching."""

from __future__ import annotations

import pytest
import torch

from stratopt.errors import ConfigError
from stratopt.rules import MACrossover, Param, VolTarget


def test_params_round_trip_in_natural_units() -> None:
    rule = MACrossover(fast=20, slow=100)
    assert rule.params == {"fast": 20.0, "ratio": 5.0, "slow": 100.0}
    table = rule.set_params(fast=30.4).param_table()
    assert table.loc["fast", "value"] == pytest.approx(30.4) and table.loc["fast", "hard"] == 30.0
    assert table.loc["fast", "unit"] == "days"


def test_with_bounds_narrows_the_search_space_and_keeps_values_inside() -> None:
    rule = MACrossover(fast=60, slow=120).with_bounds(fast=(2, 50), ratio=(1.5, 3))
    assert 49.9 < rule.params["fast"] < 50 and rule.params["ratio"] == pytest.approx(2.0)
    with pytest.raises(ConfigError, match=r"fast=60.0 days is outside \[2.0, 50.0\]"):
        rule.set_params(fast=60)
    starts = rule.with_starts(50, seed=0).batch_params()
    assert starts["fast"].between(2, 50).all() and starts["ratio"].between(1.5, 3).all()
    with pytest.raises(ConfigError, match="unknown parameter"):
        rule.with_bounds(medium=(1, 2))


def test_sub_rule_errors_name_the_dotted_path() -> None:
    rule = VolTarget(MACrossover())
    with pytest.raises(ConfigError, match=r"^rule\.fast: "):
        rule.set_params({"rule.fast": 1000})


def test_param_validation() -> None:
    with pytest.raises(ConfigError, match="low=5"):
        Param("x", "days", 5, 2, 3)
    spec = Param("x", "days", 2, 400, 20, integer=True)
    raw = spec.to_raw(torch.tensor([20.3], dtype=torch.float64))
    assert spec.to_natural(raw).item() == pytest.approx(20.3)
    assert spec.hard(spec.to_natural(raw)).item() == 20.0
    pos = Param("s", "ann. vol", 0.0, float("inf"), 0.1)
    assert pos.transform == "softplus"
    assert pos.to_natural(pos.to_raw(torch.tensor([0.1], dtype=torch.float64))).item() == pytest.approx(0.1)


def test_batched_rule_requires_select_for_single_start_views() -> None:
    rule = MACrossover().with_starts(3, seed=1)
    with pytest.raises(ConfigError, match="select"):
        _ = rule.params
    assert rule.select(0).params == {"fast": 20.0, "ratio": 5.0, "slow": 100.0}
    assert rule.select(2).params == pytest.approx(rule.batch_params().iloc[2].to_dict())


@pytest.mark.parametrize("raw", [-1e6, -60.0, -25.0, 0.0, 25.0, 60.0, 1e6])
def test_log_scale_parameters_stay_in_bounds_and_round_trip(raw: float) -> None:
    spec = Param("span", "days", 2.0, 400.0, 20.0, integer=True, scale="log")
    value = spec.to_natural(torch.tensor([raw], dtype=torch.float64))
    assert 2.0 <= float(value) <= 400.0
    for v in (2.0, 7.5, 20.0, 399.0, 400.0):
        back = spec.to_natural(spec.to_raw(torch.tensor([v], dtype=torch.float64)))
        assert float(back) == pytest.approx(v, rel=1e-9)
    # one raw step moves a short and a long span by the same relative amount
    short, long = spec.to_raw(torch.tensor([5.0, 200.0], dtype=torch.float64))
    step = 0.01
    near = spec.to_natural(torch.tensor([0.0 + step], dtype=torch.float64)) / spec.to_natural(torch.tensor([0.0]))
    assert float(near) > 1.0
    ratio_short = spec.to_natural(short + step) / 5.0
    ratio_long = spec.to_natural(long + step) / 200.0
    assert float(ratio_short) == pytest.approx(float(ratio_long), rel=0.02)


def test_hard_windows_may_sit_exactly_on_their_bounds() -> None:
    rule = MACrossover().set_params(fast=2, ratio=1.25)
    assert rule.params["fast"] == 2.0 and rule.param_table().loc["fast", "hard"] == 2.0
    assert rule.param_table().loc["slow", "hard"] == 3.0  # at least a day longer than fast
    rule.set_params(fast=100, ratio=8)
    assert rule.params["slow"] == 800.0


@pytest.mark.parametrize("seed", range(5))
def test_crossover_ordering_holds_for_any_raw_values(seed: int) -> None:
    """No raw weights, however extreme, make the slow span shorter than 1.25 x the fast one."""
    gen = torch.Generator().manual_seed(seed)
    rule = MACrossover().with_starts(64, seed=seed)
    with torch.no_grad():
        for p in rule.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 10 ** (seed - 1))
    table = rule.batch_params()
    assert (table["slow"] >= 1.25 * table["fast"] * (1 - 1e-12)).all()
    assert table["fast"].between(2, 100).all() and table["ratio"].between(1.25, 8).all()
    hard = rule._natural_values(dtype=torch.float64, hard=True)
    hard_slow = rule.derived(hard, hard=True)["slow"]
    assert bool((hard_slow > hard["fast"]).all())
