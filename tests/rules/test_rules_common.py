"""Properties every rule must have: gradients, causality, soft -> hard, masking, bounds, batching."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor
from torch.func import functional_call

from stratopt._market import MarketData
from stratopt.causality import check_causality
from stratopt.errors import ConfigError, LookAheadError
from stratopt.ops import soft_sign
from stratopt.rules import (
    Blend,
    MACrossover,
    MeanReversion,
    MLPPolicy,
    Momentum,
    Param,
    RSIRule,
    Rule,
    VolTarget,
)
from stratopt.rules._registry import registered_rules

#: Each factory takes an offset added to every window: 0 gives whole-day windows (hard and soft
#: rules then use the same windows), a fraction keeps gradient checks off the kinks of the
#: interpolated lookback.
FACTORIES: dict[str, Callable[[float], Rule]] = {
    "ma_crossover": lambda f: MACrossover(fast=5 + f, slow=30 + f),
    "momentum": lambda f: Momentum(lookback=20 + f, threshold=0.4),
    "mean_reversion": lambda f: MeanReversion(lookback=15 + f, entry=1.2, exit=0.4),
    "rsi": lambda f: RSIRule(period=9 + f, overbought=60.0, oversold=40.0),
    "vol_target": lambda f: VolTarget(MACrossover(fast=5 + f, slow=30 + f), target_vol=0.15, vol_span=20 + f),
    "blend": lambda f: Blend(
        {
            "ma": MACrossover(fast=5 + f, slow=30 + f),
            "mom": Momentum(lookback=20 + f, threshold=0.4),
            "mr": MeanReversion(lookback=15 + f, entry=1.2, exit=0.4),
            "rsi": RSIRule(period=9 + f, overbought=60.0, oversold=40.0),
        },
        weights={"ma": 0.3, "mom": 0.6},
    ),
    "mlp_tanh": lambda f: MLPPolicy(n_lags=4, hidden=(6,), signals=[Momentum(lookback=20 + f)], seed=0),
    "mlp_sigmoid": lambda f: MLPPolicy(n_lags=3, hidden=(4, 4), activation="sigmoid", seed=2),
    # narrow deep ReLU nets often start dead (z = 0 on most days); this seed does not
    "mlp_relu_deep": lambda f: MLPPolicy(n_lags=3, hidden=(5,) * 4, activation="relu", seed=2),
}
# Every rule registered by its class (``cli_name=``), built-in or added later, runs the whole
# contract suite: those not listed above with hand-picked windows run with their defaults.
_COVERED = {type(f(0.0)) for f in FACTORIES.values()}
for _name, _cls in registered_rules().items():
    if _cls not in _COVERED:
        FACTORIES[_name] = lambda f, cls=_cls: cls()
NAMES = list(FACTORIES)
WITH_PARAMS = [n for n in NAMES if any(True for _ in FACTORIES[n](0.0).named_specs())]


def cap(rule: Rule) -> float:
    """Largest |position| the rule may take."""
    return rule.max_leverage if isinstance(rule, VolTarget) else 1.0


def positions(rule: Rule, data: MarketData, temperature: float) -> Tensor:
    with torch.no_grad():
        return rule(data, temperature=temperature)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_float64(name: str, short_prices: pd.DataFrame) -> None:
    rule = FACTORIES[name](0.3)
    if isinstance(rule, MLPPolicy):  # nonzero biases keep ReLU inputs off their kink at 0
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for _, bias in rule.layer_parameters():
                bias.copy_(0.2 * torch.randn(bias.shape, generator=gen, dtype=torch.float64))
    data = MarketData.from_prices(short_prices)
    names = [n for n, _ in rule.named_parameters()]
    inputs = tuple(p.detach().clone().requires_grad_(True) for _, p in rule.named_parameters())
    assert inputs, "every rule here has trainable weights"

    def forward(*raw: Tensor) -> Tensor:
        return functional_call(rule, dict(zip(names, raw)), (data,), {"temperature": 0.7})

    # networks have ~100 weights: fast mode checks random directions instead of every column
    fast = sum(x.numel() for x in inputs) > 30
    assert torch.autograd.gradcheck(forward, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=fast)


@pytest.mark.parametrize("name", NAMES)
def test_no_look_ahead(name: str, prices: pd.DataFrame) -> None:
    rule = FACTORIES[name](0.0)
    check_causality(rule, prices)
    check_causality(rule.with_starts(3, seed=0), prices, temperatures=(0.0, 0.2, 1.0))


class PeekingRule(Rule):
    """A user-written rule with a bug: it trades on tomorrow's price move."""

    def __init__(self) -> None:
        super().__init__()
        self.add_param(Param("scale", "x", 0.0, 10.0, 1.0))

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        lp = data.log_prices
        tomorrow = torch.cat([lp[1:], lp[-1:]])
        return soft_sign((tomorrow - lp) * p["scale"].reshape(-1, 1, 1), temperature)


@pytest.mark.parametrize(
    "make",
    [PeekingRule, lambda: VolTarget(PeekingRule()), lambda: Blend([PeekingRule(), Momentum(lookback=20)])],
    ids=["bare", "inside_vol_target", "inside_blend"],
)
def test_peeking_rule_is_caught(make: Callable[[], Rule], prices: pd.DataFrame) -> None:
    with pytest.raises(LookAheadError, match="looks ahead"):
        check_causality(make(), prices)
    with pytest.raises(LookAheadError):
        check_causality(make().with_starts(3, seed=0), prices)


@pytest.mark.parametrize("name", NAMES)
def test_soft_converges_to_hard(name: str, prices: pd.DataFrame) -> None:
    rule = FACTORIES[name](0.0)
    data = MarketData.from_prices(prices)
    hard = positions(rule, data, 0.0)
    temps = [1.0, 0.1, 1e-2, 1e-3, 1e-5]
    gaps = [(positions(rule, data, t) - hard).abs() for t in temps]
    mean_gap = [float(g.mean()) for g in gaps]
    mismatch = [float((g > 1e-3 * cap(rule)).double().mean()) for g in gaps]
    assert all(a > b or a == b == 0 for a, b in pairwise(mean_gap)), mean_gap
    assert mismatch[-1] <= min(mismatch[:-1])
    # at tiny temperature only points within ~1e-4 of a threshold can differ
    assert mismatch[-1] < 0.005, mismatch
    assert mean_gap[-1] < 1e-2 * mean_gap[0]


@pytest.mark.parametrize("name", NAMES)
def test_flat_before_first_price(name: str, late_prices: pd.DataFrame) -> None:
    rule = FACTORIES[name](0.0).with_starts(2, seed=1)
    data = MarketData.from_prices(late_prices)
    for t in (0.0, 0.5):
        pos = positions(rule, data, t)
        assert torch.isfinite(pos).all()
        assert (pos[:, :80, 1] == 0).all()
        assert (pos[:, 80:, 1] != 0).any()  # the mask ends at the listing


@pytest.mark.parametrize("name", NAMES)
def test_positions_within_bounds(name: str, prices: pd.DataFrame) -> None:
    rule = FACTORIES[name](0.0).with_starts(4, seed=3)
    data = MarketData.from_prices(prices)
    for t in (0.0, 0.05, 1.0, 5.0):
        pos = positions(rule, data, t)
        assert pos.abs().max() <= cap(rule)
    if isinstance(rule, VolTarget):  # the cap is reached somewhere, so the bound is not vacuous
        assert pos.abs().max() > 1.0


@pytest.mark.parametrize("name", NAMES)
def test_with_starts_select_round_trip(name: str, prices: pd.DataFrame) -> None:
    rule = FACTORIES[name](0.0)
    data = MarketData.from_prices(prices)
    batched = rule.with_starts(4, seed=0)
    assert batched.batch_size == 4 and rule.batch_size == 1
    assert batched.select(0).params == rule.params
    pd.testing.assert_frame_equal(batched.batch_params(), rule.with_starts(4, seed=0).batch_params())
    soft = positions(batched, data, 0.3)
    for i in range(4):
        single = batched.select(i)
        assert single.batch_size == 1
        # a start drawn onto a bound is stored a hair (1e-10) inside it; params reads it as the bound
        assert single.params == pytest.approx(batched.batch_params().iloc[i].to_dict(), rel=1e-9)
        torch.testing.assert_close(positions(single, data, 0.3)[0], soft[i], rtol=0, atol=1e-12)
    # the other starts are different parameter sets, not copies of the first
    assert not torch.equal(soft[1], soft[0])


@pytest.mark.parametrize("name", WITH_PARAMS)
def test_params_in_natural_units(name: str) -> None:
    rule = FACTORIES[name](0.0)
    specs = {n: s for n, _, s in rule.named_specs()}
    assert [n for n in rule.params if n in specs] == list(specs)
    table = rule.param_table()
    assert (table["unit"] != "").all()
    middle = {n: (s.low + s.high) / 2 if np.isfinite(s.high) else s.init + 1 for n, s in specs.items()}
    middle = {n: float(round(v)) if specs[n].integer else v for n, v in middle.items()}
    got = rule.set_params(middle).params
    assert {n: got[n] for n in middle} == pytest.approx(middle, rel=1e-12)


@pytest.mark.parametrize("name", WITH_PARAMS)
def test_set_params_validation(name: str) -> None:
    rule = FACTORIES[name](0.0)
    before = rule.params
    with pytest.raises(ConfigError, match="unknown parameter"):
        rule.set_params(not_a_param=1.0)
    name0, _, spec = next(rule.named_specs())
    with pytest.raises(ConfigError, match=f"{spec.name}=.* is outside"):
        rule.set_params({name0: spec.high + 1.0})
    assert rule.params == before  # a rejected update changes nothing


def test_set_params_wrong_number_of_values() -> None:
    rule = Momentum().with_starts(3, seed=0)
    with pytest.raises(ConfigError, match="one per start"):
        rule.set_params(lookback=[20.0, 30.0])


def test_the_cli_registry_is_the_classes_own_names() -> None:
    from stratopt.rules._registry import make_rule

    names = registered_rules()
    assert {"ma-crossover", "momentum", "mean-reversion", "rsi", "mlp"} <= set(names)
    for name, cls in names.items():
        assert cls.cli_name == name and isinstance(make_rule(name), cls)
    with pytest.raises(ConfigError, match="ma-crossover"):
        make_rule("nope")


def test_a_new_rule_registers_once_by_its_class() -> None:
    class Flat(Rule, cli_name="flat-test-rule"):
        def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
            return torch.zeros((1, data.n_days, data.n_assets), dtype=data.dtype)

    assert registered_rules()["flat-test-rule"] is Flat
    with pytest.raises(ConfigError, match="taken"):

        class Other(Rule, cli_name="flat-test-rule"):
            pass


@pytest.mark.parametrize("mode", ["long_only", "short_only"])
@pytest.mark.parametrize("name", NAMES)
def test_position_modes_for_every_rule_soft_and_hard_and_causal(name: str, mode: str, prices: pd.DataFrame) -> None:
    """Long/flat is never short and short/flat never long, hard and soft; still causal."""
    from stratopt.loss import LossSpec

    rule = FACTORIES[name](0.0)
    spec = LossSpec(position_mode=mode)  # type: ignore[arg-type]
    data = MarketData.from_prices(prices)

    class Moded(Rule):
        def __init__(self) -> None:
            super().__init__()
            self.inner = rule

        def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
            return spec.positions(self.inner, data, temperature=temperature)

    with torch.no_grad():
        for t in (0.0, 0.3):
            pos = spec.positions(rule, data, temperature=t)
            assert bool((pos >= 0).all()) if mode == "long_only" else bool((pos <= 0).all())
    check_causality(Moded(), prices, temperatures=(0.0, 0.3))
