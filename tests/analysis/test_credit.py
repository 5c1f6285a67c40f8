"""Credit assignment: the attribution sums exactly to the gradient (under any loss spec), the
gradient is right, days are labelled with the decision date, and the tables, plot and CLI
report what was computed."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from stratopt import (
    Blend,
    LossSpec,
    MACrossover,
    MarketData,
    MeanReversion,
    MLPPolicy,
    Momentum,
    RSIRule,
    Rule,
    VolTarget,
    load_prices,
    net_returns,
)
from stratopt.analysis import CreditResult, credit_assignment
from stratopt.errors import ConfigError
from stratopt.metrics import sharpe_ratio
from stratopt.objectives import sharpe

matplotlib.use("Agg")

TEMP = 0.5


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    """Three bundled stocks over three years: fast, and long enough for a 60-day EMA."""
    return load_prices("sp500", tickers=["AAPL", "JPM", "XOM"], start="2005-01-01", end="2007-12-31")


@pytest.fixture(scope="module")
def credit(prices: pd.DataFrame) -> CreditResult:
    return credit_assignment(MACrossover(fast=15, ratio=4.0), prices, temperature=TEMP, top=5)


def soft_sharpe(rule: Rule, data: MarketData, temperature: float = TEMP, cost_bps: float = 5.0) -> torch.Tensor:
    pos = rule(data, temperature=temperature)
    return sharpe(net_returns(pos, data, cost_bps=cost_bps, smooth=True))[0]


def reference_gradient(prices: pd.DataFrame, fast: float, ratio: float) -> dict[str, float]:
    """dSharpe/d(natural value) by a plain backward pass and the chain rule through the bounded
    log-scale sigmoid, ``value = low * (high / low) ** sigmoid(raw)``, written out here."""
    rule = MACrossover(fast=fast, ratio=ratio)
    soft_sharpe(rule, MarketData.from_prices(prices)).backward()
    out = {}
    for name, (low, high) in (("fast", (2.0, 100.0)), ("ratio", (1.25, 8.0))):
        sig = torch.sigmoid(rule._raw[name].detach())
        value = low * (high / low) ** sig
        dnat_draw = value * math.log(high / low) * sig * (1 - sig)
        out[name] = float(rule._raw[name].grad / dnat_draw)
    return out


def test_attribution_sums_exactly_to_an_independent_gradient(prices: pd.DataFrame, credit: CreditResult) -> None:
    ref = reference_gradient(prices, 15, 4.0)
    for name in ("fast", "ratio"):
        assert credit.params.loc[name, "gradient"] == pytest.approx(ref[name], rel=1e-10)
        # every decomposition adds up to the same total, to float64 round-off
        assert credit.contributions[list(credit.params.index).index(name)].sum() == pytest.approx(ref[name], rel=1e-10)
        assert credit.by_date[name].sum() == pytest.approx(ref[name], rel=1e-10)
        assert credit.by_asset[name].sum() == pytest.approx(ref[name], rel=1e-10)
        assert abs(credit.params.loc[name, "residual"]) < 1e-12 * max(1.0, abs(ref[name]))


RULES: dict[str, Callable[[], Rule]] = {
    "momentum": lambda: Momentum(lookback=20.5, threshold=0.4),
    "mean_reversion": lambda: MeanReversion(lookback=15.5, entry=1.2, exit=0.4),
    "rsi": lambda: RSIRule(period=9.5, overbought=60.0, oversold=40.0),
    "vol_target": lambda: VolTarget(MACrossover(fast=5.5, slow=30.5), target_vol=0.15),
    "blend": lambda: Blend([MACrossover(fast=8.5, slow=30.5), Momentum(lookback=20.5)]),
}


def natural_slope(rule: Rule, name: str) -> float:
    """d(natural)/d(raw) written out per transform (not through the library's to_natural)."""
    owner, spec = next((o, s) for n, o, s in rule.named_specs() if n == name)
    raw = float(owner._raw[spec.name].detach()[0])
    sig = 1.0 / (1.0 + math.exp(-raw))
    if spec.transform == "sigmoid" and spec.scale == "log":  # value = low * (high / low) ** sig
        value = spec.low * (spec.high / spec.low) ** sig
        return value * math.log(spec.high / spec.low) * sig * (1 - sig)
    return {"sigmoid": (spec.high - spec.low) * sig * (1 - sig), "softplus": sig, "identity": 1.0}[spec.transform]


@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_attribution_sums_to_its_backward_gradient(name: str, prices: pd.DataFrame) -> None:
    res = credit_assignment(RULES[name](), prices, temperature=TEMP, top=2)
    ref = RULES[name]()
    soft_sharpe(ref, MarketData.from_prices(prices)).backward()  # type: ignore[arg-type]
    specs = [(n, o, s) for n, o, s in ref.named_specs()]
    assert list(res.params.index) == [n for n, _, _ in specs]
    for n, owner, spec in specs:
        expected = float(owner._raw[spec.name].grad[0]) / natural_slope(ref, n)
        assert res.by_date[n].sum() == pytest.approx(expected, rel=1e-9, abs=1e-13)
        assert res.params.loc[n, "gradient"] == pytest.approx(expected, rel=1e-9, abs=1e-13)


def test_reverse_over_reverse_fallback_gives_the_same_attribution(
    prices: pd.DataFrame, credit: CreditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where forward mode is unavailable (or wrong, as torch's logcumsumexp JVP is for
    MeanReversion), the second path must give the same numbers."""
    import stratopt.analysis._jvp as module

    def no_forward(*args: object) -> torch.Tensor:
        raise NotImplementedError("no forward-mode formula")

    assert set(credit.params["method"]) == {"forward"}
    monkeypatch.setattr(module, "jvp_forward", no_forward)
    again = credit_assignment(MACrossover(fast=15, ratio=4.0), prices, temperature=TEMP, top=5)
    assert set(again.params["method"]) == {"reverse-over-reverse"}
    np.testing.assert_allclose(
        again.contributions, credit.contributions, rtol=1e-9, atol=1e-12 * np.abs(credit.contributions).max()
    )


def test_gradient_and_sensitivity_match_finite_differences(prices: pd.DataFrame, credit: CreditResult) -> None:
    data = MarketData.from_prices(prices)

    def s(**values: float) -> float:
        with torch.no_grad():
            return float(soft_sharpe(MACrossover(**{"fast": 15.0, "ratio": 4.0, **values}), data))

    for name, p in (("fast", 15.0), ("ratio", 4.0)):
        h = 1e-4
        central = (s(**{name: p + h}) - s(**{name: p - h})) / (2 * h)
        assert credit.params.loc[name, "gradient"] == pytest.approx(central, rel=1e-5)
        # sensitivity: the Sharpe change for +1% of the value, to first order
        one_pct = (s(**{name: p * 1.01}) - s(**{name: p * 0.99})) / 2
        assert credit.params.loc[name, "sensitivity"] == pytest.approx(one_pct, rel=2e-2)
        assert credit.params.loc[name, "value"] == pytest.approx(p)


def test_each_day_and_asset_term_is_dS_dw_times_dw_dp(prices: pd.DataFrame, credit: CreditResult) -> None:
    """The whole (day, asset) array against dS/dw (autograd) times dw/dp (finite difference)."""
    data = MarketData.from_prices(prices)
    pos = MACrossover(fast=15, ratio=4.0)(data, temperature=TEMP).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(sharpe(net_returns(pos, data, smooth=True))[0], pos)
    for k, (name, p) in enumerate((("fast", 15.0), ("ratio", 4.0))):
        h = 1e-3
        with torch.no_grad():
            up = MACrossover(**{"fast": 15.0, "ratio": 4.0, name: p + h})(data, temperature=TEMP)
            down = MACrossover(**{"fast": 15.0, "ratio": 4.0, name: p - h})(data, temperature=TEMP)
        expected = (g * (up - down) / (2 * h))[0].numpy()
        scale = np.abs(expected).max()
        np.testing.assert_allclose(credit.contributions[k], expected, atol=1e-5 * scale)


def test_days_are_labelled_with_the_decision_date() -> None:
    """One asset, no costs: S depends on day t's position only through R[t+1] = w[t] r[t+1], so
    the contribution labelled t is dS/dR[t+1] * r[t+1] * dw[t]/dp (closed-form Sharpe derivative)."""
    one = load_prices("sp500", tickers=["KO"], start="2004-01-01", end="2005-12-31")
    data = MarketData.from_prices(one)
    res = credit_assignment(MACrossover(fast=10, ratio=4.0), one, temperature=1.0, loss=LossSpec(cost_bps=0.0))
    with torch.no_grad():
        w = MACrossover(fast=10, ratio=4.0)(data, temperature=1.0)[0, :, 0].numpy()
        up = MACrossover(fast=10 + 1e-3, ratio=4.0)(data, temperature=1.0)[0, :, 0].numpy()
        down = MACrossover(fast=10 - 1e-3, ratio=4.0)(data, temperature=1.0)[0, :, 0].numpy()
    r_next = one["KO"].pct_change().to_numpy()[1:]  # return earned by the position of day t
    big_r = w[:-1] * r_next
    n, mean, sd = big_r.size, big_r.mean(), big_r.std()
    ds_dr = math.sqrt(252) / n * (1 / sd - mean * (big_r - mean) / sd**3)
    expected = ds_dr * r_next * (up - down)[:-1] / 2e-3
    got = res.by_date["fast"].to_numpy()
    np.testing.assert_allclose(got[:-1], expected, atol=1e-6 * np.abs(expected).max())
    assert got[-1] == 0.0  # the last position earns nothing
    top = res.top_days[res.top_days["param"] == "fast"]
    nxt = dict(zip(one.index[:-1], one.index[1:]))
    assert all(nxt[d] == e for d, e in zip(top["decided"], top["earned"]))


def test_top_tables_hold_the_largest_contributions(prices: pd.DataFrame, credit: CreditResult) -> None:
    rets = prices.pct_change().shift(-1)
    positions = MACrossover(fast=15, ratio=4.0).positions(prices, temperature=TEMP)
    for k, name in enumerate(credit.params.index):
        days = credit.top_days[credit.top_days["param"] == name]
        expected = credit.by_date[name].abs().nlargest(5)
        assert list(days["decided"]) == list(expected.index)
        assert days["share"].to_numpy() == pytest.approx(days["contribution"] / credit.params.loc[name, "gradient"])
        trades = credit.top_trades[credit.top_trades["param"] == name]
        c = np.abs(credit.contributions[k])
        assert trades["contribution"].abs().to_numpy() == pytest.approx(np.sort(c.ravel())[::-1][:5])
        for row in trades.itertuples():
            assert row.position == pytest.approx(positions.loc[row.decided, row.ticker])
            assert row.next_return == pytest.approx(rets.loc[row.decided, row.ticker])
        assert list(trades["rank"]) == [1, 2, 3, 4, 5]


def test_mlp_layers_are_projected_on_their_gradient(prices: pd.DataFrame) -> None:
    policy = MLPPolicy(n_lags=5, hidden=(8,), seed=0, signals=[MACrossover(fast=10, ratio=4.0)])
    res = credit_assignment(policy, prices, temperature=1.0)
    assert list(res.params.index) == ["signals.0.fast", "signals.0.ratio", "layer 1", "layer 2"]
    assert policy.weight_0.grad is None  # the caller's policy is untouched

    ref = MLPPolicy(n_lags=5, hidden=(8,), seed=0, signals=[MACrossover(fast=10, ratio=4.0)])
    data = MarketData.from_prices(prices)
    pos = ref(data, temperature=1.0)
    s = sharpe(net_returns(pos, data, smooth=True))[0]
    s.backward(retain_graph=True)
    for i, (w, b) in enumerate(ref.layer_parameters()):
        norm = math.sqrt(float((w.grad**2).sum() + (b.grad**2).sum()))
        name = f"layer {i + 1}"
        assert res.params.loc[name, "gradient"] == pytest.approx(norm, rel=1e-10)
        assert res.by_date[name].sum() == pytest.approx(norm, rel=1e-10)
    # a day's share of a layer is that day's own gradient (one backward pass per day, the naive
    # way) projected on the layer's gradient direction
    (w, b) = ref.layer_parameters()[0]
    u_w, u_b = w.grad / norm_of(w.grad, b.grad), b.grad / norm_of(w.grad, b.grad)
    leaf = pos.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(sharpe(net_returns(leaf, data, smooth=True))[0], leaf)
    for t in (100, 400, 700):
        gw, gb = torch.autograd.grad((pos[0, t] * g[0, t]).sum(), [w, b], retain_graph=True)
        assert res.by_date["layer 1"].iloc[t] == pytest.approx(
            float((gw * u_w).sum() + (gb * u_b).sum()), rel=1e-9, abs=1e-14
        )


def norm_of(*tensors: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(sum((t**2).sum() for t in tensors))


def test_summary_dict_and_plot(credit: CreditResult, prices: pd.DataFrame) -> None:
    text = credit.summary()
    assert "fast" in text and "top days for ratio" in text
    d = json.loads(json.dumps(credit.to_dict(), allow_nan=False))
    assert [p["param"] for p in d["params"]] == ["fast", "ratio"]
    assert len(d["top_trades"]) == 10 and set(d["by_asset"]["fast"]) == {"AAPL", "JPM", "XOM"}
    assert d["loss"] == LossSpec().to_dict() and d["objective"] == "sharpe"
    assert d["top_days"][0]["decided"] == f"{credit.top_days['decided'].iloc[0]:%Y-%m-%d}"
    fig = credit.plot()
    assert len(fig.axes) == 1 + 2 * 2  # bars, and per parameter a panel with its running-sum twin
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["fast", "ratio"]
    with pytest.raises(ConfigError, match=r"call plot\(\) without ax"):
        credit.plot(ax=fig.axes[0])
    # the hard Sharpe is the backtest's convention (sample std), on the same days
    data = MarketData.from_prices(prices)
    with torch.no_grad():
        hard = net_returns(MACrossover(fast=15, ratio=4.0)(data, temperature=0.0), data)[0].numpy()
    assert credit.hard_sharpe == pytest.approx(sharpe_ratio(hard), rel=1e-12)


@pytest.mark.parametrize(
    "spec",
    [
        LossSpec(slippage=0.3, cost_bps=10),
        LossSpec(position_mode="long_only", allocation="equal"),
        LossSpec(objective="sortino"),
        LossSpec(objective="sharpe", objective_kwargs={"halflife": 126}),
    ],
    ids=["slippage", "long-only-equal", "sortino", "halflife"],
)
def test_the_loss_spec_is_what_gets_attributed(prices: pd.DataFrame, spec: LossSpec) -> None:
    """Each setting of the spec reaches the gradient: the attribution sums to the backward
    gradient of ``spec.score`` of the spec's own soft returns, and differs from the default's."""
    res = credit_assignment(MACrossover(fast=15, ratio=4.0), prices, temperature=TEMP, loss=spec, top=2)
    ref = MACrossover(fast=15, ratio=4.0)
    data = MarketData.from_prices(prices)
    score = spec.score(spec.rule_returns(ref, data, temperature=TEMP))[0]
    score.backward()
    assert res.value == pytest.approx(float(score.detach()), rel=1e-12)
    for name in ("fast", "ratio"):
        expected = float(ref._raw[name].grad[0]) / natural_slope(ref, name)
        assert res.by_date[name].sum() == pytest.approx(expected, rel=1e-9, abs=1e-13)
        assert abs(res.params.loc[name, "residual"]) < 1e-10 * max(1.0, abs(expected))
    default = credit_assignment(MACrossover(fast=15, ratio=4.0), prices, temperature=TEMP, top=2)
    assert not np.allclose(res.params["gradient"], default.params["gradient"], rtol=1e-4)
    assert res.loss == spec and res.to_dict()["loss"] == spec.to_dict()


def test_bad_arguments_raise(prices: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="temperature"):
        credit_assignment(MACrossover(), prices, temperature=0.0)
    with pytest.raises(ConfigError, match="credit_assignment needs a single-start rule but this one has 3 starts"):
        credit_assignment(MACrossover().with_starts(3, seed=0), prices)
    with pytest.raises(ConfigError, match="loss must be a stratopt.LossSpec"):
        credit_assignment(MACrossover(), prices, loss={"cost_bps": 5})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="top"):
        credit_assignment(MACrossover(), prices, top=0)
    with pytest.raises(ConfigError, match="Rule"):
        credit_assignment(object(), prices)  # type: ignore[arg-type]


def test_cli_credit(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from stratopt.cli import main

    out, fig = tmp_path / "credit.json", tmp_path / "credit.png"
    args = ["credit", "--tickers", "AAPL,XOM", "--start", "2006-01-01", "--end", "2008-12-31", "--top", "3"]
    assert main([*args, "--param", "fast=12", "--json", str(out), "--plot", str(fig)]) == 0
    printed = capsys.readouterr().out
    assert "top days for fast" in printed and "sensitivity" in printed
    d = json.loads(out.read_text())
    assert d["params"][0]["value"] == pytest.approx(12.0) and fig.stat().st_size > 0
    assert main([*args, "--param", "bogus=3"]) == 2
    assert "bogus" in capsys.readouterr().err
