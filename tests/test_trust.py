"""Guards against silently wrong results: non-finite parameters, memory-hungry fits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

import stratopt
from stratopt.errors import ConfigError


def _prices(n_days: int = 700, n_assets: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0003, 0.01, size=(n_days, n_assets))
    dates = pd.bdate_range("2015-01-01", periods=n_days)
    return pd.DataFrame(100 * np.exp(np.cumsum(r, axis=0)), index=dates, columns=[f"A{i}" for i in range(n_assets)])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_loaded_parameter_is_refused_by_forward(bad: float) -> None:
    rule = stratopt.MACrossover()
    state = rule.state_dict()
    name = next(iter(state))
    state[name] = torch.full_like(state[name], bad)
    rule.load_state_dict(state)
    data = stratopt.MarketData.from_prices(_prices())
    with pytest.raises(ConfigError, match="not finite") as info:
        rule(data, temperature=0.0)
    assert name.replace("_raw.", "") in str(info.value)
    with pytest.raises(ConfigError, match="not finite"):
        stratopt.backtest(rule, _prices())
    with pytest.raises(ConfigError, match="not finite"):
        stratopt.Tuner(rule, epochs=1, n_starts=1, screen=0, validation=None).fit(_prices())


def test_finite_parameters_still_run() -> None:
    rule = stratopt.MACrossover()
    pos = rule(stratopt.MarketData.from_prices(_prices()), temperature=0.0)
    assert torch.isfinite(pos).all()
