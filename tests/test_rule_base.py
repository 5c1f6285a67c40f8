"""Rule base behaviour shared by every rule: natural units, bounds, batching."""

from __future__ import annotations

import pytest
import torch

from stratopt.errors import ConfigError
from stratopt.rules import MACrossover, Param, VolTarget


def test_params_round_trip_in_natural_units() -> None:
    rule = MACrossover(fast=20, slow=100)
    assert rule.params == {"fast": 20.0, "slow": 100.0}
    table = rule.set_params(fast=30.4).param_table()
    assert table.loc["fast", "value"] == pytest.approx(30.4) and table.loc["fast", "hard"] == 30.0
    assert table.loc["fast", "unit"] == "days"


def test_with_bounds_narrows_the_search_space_and_keeps_values_inside() -> None:
    rule = MACrossover(fast=60, slow=100).with_bounds(fast=(2, 50), slow=(10, 200))
    assert 49.9 < rule.params["fast"] < 50 and rule.params["slow"] == pytest.approx(100.0)
    with pytest.raises(ConfigError, match=r"fast=60.0 days is outside \(2.0, 50.0\)"):
        rule.set_params(fast=60)
    starts = rule.with_starts(50, seed=0).batch_params()
    assert starts["fast"].between(2, 50).all() and starts["slow"].between(10, 200).all()
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
    assert rule.select(0).params == {"fast": 20.0, "slow": 100.0}
    assert rule.select(2).params == pytest.approx(rule.batch_params().iloc[2].to_dict())
