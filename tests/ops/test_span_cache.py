"""The hard-rule EMA cache: the numbers of an uncached EMA, each span filtered once, bounded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from stratopt import LossSpec, evaluate
from stratopt._market import MarketData
from stratopt.ops import SpanCache, ema, hard_ema
from stratopt.rules import MACrossover


def _series(n_days: int = 700, n_assets: int = 3) -> torch.Tensor:
    rng = np.random.default_rng(0)
    return torch.tensor(np.cumsum(rng.normal(0, 0.01, size=(n_days, n_assets)), axis=0) + 4.0)


def test_cached_spans_equal_the_uncached_ema_in_any_batch() -> None:
    x = _series()
    cache = SpanCache(x)
    first = cache(torch.tensor([20.0, 100.0, 20.0, 7.0], dtype=torch.float64))
    later = cache(torch.tensor([7.0, 3.0, 100.0], dtype=torch.float64))  # two hits, one miss
    for spans, got in (([20.0, 100.0, 20.0, 7.0], first), ([7.0, 3.0, 100.0], later)):
        want = torch.stack([ema(x, torch.tensor([s], dtype=torch.float64))[0] for s in spans])
        # the same chunked scan per span; rows of a batched product do not depend on the batch
        torch.testing.assert_close(got, want, rtol=0, atol=1e-14)
    assert cache.misses == 4 and cache.hits == 3


def test_cache_keeps_to_its_byte_budget_least_recently_used_out_first() -> None:
    x = _series(200, 2)
    per = x.numel() * x.element_size()
    cache = SpanCache(x, max_bytes=2 * per)
    cache(torch.tensor([5.0, 6.0], dtype=torch.float64))
    cache(torch.tensor([5.0], dtype=torch.float64))  # 5 is now the most recently used
    cache(torch.tensor([9.0], dtype=torch.float64))  # evicts 6
    assert list(cache.store) == [5.0, 9.0] and cache.bytes == 2 * per
    torch.testing.assert_close(cache(torch.tensor([6.0], dtype=torch.float64))[0], ema(x, torch.tensor([6.0]))[0])


def test_hard_ema_falls_back_to_the_differentiable_ema_under_gradients() -> None:
    data = MarketData.from_prices(pd.DataFrame(np.exp(_series().numpy()), index=pd.bdate_range("2000", periods=700)))
    spans = torch.tensor([10.0, 30.0], dtype=torch.float64, requires_grad=True)
    out = hard_ema(data, spans)
    assert out.requires_grad  # not a cached constant
    out.sum().backward()
    assert spans.grad is not None and torch.isfinite(spans.grad).all()


def test_hard_crossover_with_cache_matches_an_independent_pandas_evaluation() -> None:
    rng = np.random.default_rng(3)
    prices = pd.DataFrame(
        np.exp(np.cumsum(rng.normal(0.0003, 0.012, size=(900, 2)), axis=0)) * 50,
        index=pd.bdate_range("2001-01-01", periods=900),
        columns=["A", "B"],
    )
    grid = pd.DataFrame({"fast": [5.0, 10.0, 10.0, 20.0], "slow": [40.0, 40.0, 60.0, 100.0]})
    rule = MACrossover().with_params(grid)
    data = MarketData.from_prices(prices)
    spec = LossSpec(cost_bps=0.0, allocation="equal")
    table = evaluate(rule, data, loss=spec)
    logp = np.log(prices)
    for i, row in grid.iterrows():
        gap = logp.ewm(span=row["fast"], adjust=False).mean() - logp.ewm(span=row["slow"], adjust=False).mean()
        pos = np.sign(gap).to_numpy()
        r = (0.5 * pos[:-1] * prices.pct_change().to_numpy()[1:]).sum(axis=1)
        want = r.mean() / r.std(ddof=1) * np.sqrt(252)
        assert abs(table.loc[i, "sharpe"] - want) < 1e-9
    # and a second pass is served from the cache with the same numbers
    again = evaluate(rule, data, loss=spec)
    pd.testing.assert_frame_equal(table, again)
    assert data.cached(("span_cache", "log_prices"), lambda: None).hits > 0
