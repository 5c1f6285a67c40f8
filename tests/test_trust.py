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


def test_fit_refuses_n_starts_that_cannot_fit_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    prices = stratopt.load_prices("sp500")
    with pytest.raises(ConfigError, match=r"n_starts=10000 .* GiB .* use n_starts <= \d+"):
        stratopt.Tuner(stratopt.MACrossover(), n_starts=10000, epochs=1).fit(prices)
    # the limit comes from the machine; with 64 MiB available the largest n_starts is named
    pages = {"SC_AVPHYS_PAGES": 2**14, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr("os.sysconf", lambda name: pages[name])
    small = _prices(700, 2)
    per_start = 700 * 2 * 8 * 14
    fits = 2**26 // per_start
    with pytest.raises(ConfigError, match=rf"0\.1 GiB of memory available; use n_starts <= {fits},"):
        stratopt.Tuner(stratopt.MACrossover(), n_starts=fits + 1, epochs=1, screen=0).fit(small)
    res = stratopt.Tuner(stratopt.MACrossover(), n_starts=4, epochs=1, screen=0, validation=None).fit(small)
    assert res.starts.shape[0] == 4


def test_memory_limit_falls_back_to_8_gib_without_sysconf(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> int:
        raise ValueError(name)

    monkeypatch.setattr("os.sysconf", missing)
    with pytest.raises(ConfigError, match="8.0 GiB of memory assumed available"):
        stratopt.Tuner(stratopt.MACrossover(), n_starts=10000, epochs=1).fit(stratopt.load_prices("sp500"))


def test_uncharged_drift_rebalancing_is_stated_with_its_measured_size() -> None:
    """Costs are charged on changes of target holdings only; the walk-forward result states the
    size of the drift rebalancing left out, and the figures there must match a measurement."""
    from stratopt import pnl
    from stratopt.model_selection import WalkForwardResult

    data = stratopt.MarketData.from_prices(stratopt.load_prices("sp500"))
    with torch.no_grad():
        pos = stratopt.MACrossover()(data, temperature=0.0)
        h = pnl.holdings(pos, data, "equal_risk")[0].numpy()
        charged = (pnl.net_returns(pos, data, cost_bps=0.0) - pnl.net_returns(pos, data, cost_bps=5.0))[0].numpy()
    r = np.nan_to_num(data.returns.numpy())[1:]
    held = h[:-1]
    drifted = held * (1 + r) / (1 + (held * r).sum(1, keepdims=True))
    per_year = 252 / len(h)
    drift_bps = np.abs(drifted - held).sum() * 5.0 * per_year
    charged_bps = charged.sum() * 1e4 * per_year
    assert drift_bps == pytest.approx(16, abs=0.5) and charged_bps == pytest.approx(51, abs=0.5)
    doc = WalkForwardResult.__doc__ or ""
    assert "about 16 bps a year" in doc and "51 bps a year charged" in doc


def test_metrics_sharpe_ratio_refuses_two_dimensional_returns() -> None:
    from stratopt import metrics

    with pytest.raises(ConfigError, match=r"shape \(10, 2\)"):
        metrics.sharpe_ratio(np.zeros((10, 2)))
