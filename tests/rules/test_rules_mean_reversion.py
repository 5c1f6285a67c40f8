"""MeanReversion: z-score against pandas, hysteresis against a day-by-day state machine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.rules import MeanReversion
from stratopt.rules._mean_reversion import ewm_zscore, hold_last_event, soft_hold


def pandas_zscore(prices: pd.DataFrame, span: float) -> pd.DataFrame:
    lp = np.log(prices)
    ewm = lp.ewm(span=span, adjust=False)
    return (lp - ewm.mean()) / np.sqrt(ewm.var(bias=True) + 1e-8)


def state_machine(z: np.ndarray, entry: float, exit_: float) -> np.ndarray:
    """The hard rule as a trader would write it: one day at a time."""
    pos = np.zeros_like(z)
    state = np.zeros(z.shape[1])
    for t in range(z.shape[0]):
        state = np.where(z[t] > entry, -1.0, state)
        state = np.where(z[t] < -entry, 1.0, state)
        state = np.where(np.abs(z[t]) < exit_, 0.0, state)
        pos[t] = state
    return pos


@pytest.mark.parametrize("span", [10.0, 20.0, 37.5])
def test_zscore_matches_pandas(prices: pd.DataFrame, span: float) -> None:
    z = ewm_zscore(MarketData.from_prices(prices).log_prices, torch.tensor([span], dtype=torch.float64))
    np.testing.assert_allclose(z[0].numpy(), pandas_zscore(prices, span).to_numpy(), rtol=1e-9, atol=1e-9)


def test_hold_last_event_forward_fills() -> None:
    event = torch.tensor([0, 1, 0, 0, 1, 0, 1, 1, 0], dtype=torch.bool).reshape(1, -1, 1)
    value = torch.tensor([9, 1, 9, 9, 0, 9, -1, 1, 9], dtype=torch.float64).reshape(1, -1, 1)
    out = hold_last_event(event, value).flatten().tolist()
    assert out == [0, 1, 1, 1, 0, 0, -1, 1, 1]


def test_soft_hold_matches_recursion() -> None:
    gen = torch.Generator().manual_seed(0)
    shape = (2, 300, 3)
    # zone probabilities (long, short, flat, hold) summing to 1, some extreme
    logits = 8.0 * torch.randn(*shape, 4, generator=gen, dtype=torch.float64)
    probs = torch.softmax(logits, dim=-1)
    long, short, hold = probs[..., 0], probs[..., 1], probs[..., 3]
    state = torch.zeros(2, 3, dtype=torch.float64)
    rows = []
    for t in range(shape[1]):
        state = long[:, t] - short[:, t] + hold[:, t] * state
        rows.append(state)
    expected = torch.stack(rows, dim=1)
    got = soft_hold(long.log(), short.log(), hold.log())
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    assert got.abs().max() <= 1


@pytest.mark.parametrize(("lookback", "entry", "exit_"), [(20, 2.0, 0.5), (10, 1.2, 0.4), (40, 1.0, 0.9)])
def test_hard_rule_matches_state_machine(prices: pd.DataFrame, lookback: int, entry: float, exit_: float) -> None:
    z = pandas_zscore(prices, lookback).to_numpy()
    got = MeanReversion(lookback=lookback, entry=entry, exit=exit_).positions(prices).to_numpy()
    np.testing.assert_array_equal(got, state_machine(z, entry, exit_))
    held = (got != 0) & (np.abs(z) <= entry)  # positions kept by the hysteresis
    assert held.any()


def test_soft_rule_at_small_temperature_is_hard(prices: pd.DataFrame) -> None:
    rule = MeanReversion(lookback=20, entry=1.5, exit=0.3)
    data = MarketData.from_prices(prices)
    hard = rule(data, temperature=0.0)
    soft = rule(data, temperature=1e-4)
    assert (soft - hard).abs().max() < 1e-6


def test_all_params_get_gradients(prices: pd.DataFrame) -> None:
    rule = MeanReversion(lookback=20.3, entry=1.5, exit=0.5)
    pos = rule(MarketData.from_prices(prices), temperature=0.3)
    (pos * torch.randn(pos.shape, generator=torch.Generator().manual_seed(0), dtype=pos.dtype)).sum().backward()
    grads = {name: float(p.grad) for name, p in rule._raw.items()}
    assert all(np.isfinite(g) and g != 0 for g in grads.values()), grads


def test_float32_data_gives_float32_positions(prices: pd.DataFrame) -> None:
    data = MarketData.from_prices(prices, dtype=torch.float32)
    rule = MeanReversion()
    soft = rule(data, temperature=0.2)
    assert soft.dtype == torch.float32
    ref = rule(MarketData.from_prices(prices), temperature=0.2)
    assert (soft.double() - ref).abs().max() < 1e-3


def test_exit_is_a_fraction_of_entry() -> None:
    rule = MeanReversion(lookback=20, entry=2.0, exit=0.5)
    assert rule.params == {"lookback": 20.0, "entry": 2.0, "exit_ratio": 0.25}
    with pytest.raises(ConfigError, match="exit=2.5"):
        MeanReversion(entry=2.0, exit=2.5)
    with pytest.raises(ConfigError, match="exit=0"):
        MeanReversion(exit=0.0)


def test_saturated_exit_ratio_stays_finite(prices: pd.DataFrame) -> None:
    rule = MeanReversion()
    with torch.no_grad():
        rule._raw["exit_ratio"].fill_(50.0)  # sigmoid(50) == 1.0 in float64: exit == entry
    pos = rule(MarketData.from_prices(prices), temperature=0.3)
    pos.sum().backward()
    assert torch.isfinite(pos).all()
    assert all(torch.isfinite(p.grad).all() for p in rule.parameters())
