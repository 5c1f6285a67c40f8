"""Every analysis result follows the result protocol: a Result with a one-line repr, a plain-text
summary, strict JSON through to_dict, and plot() returning a figure (on the axes given when the
figure has one panel, refused with the reason when it has several)."""

from __future__ import annotations

import json
from collections.abc import Callable

import matplotlib
import pandas as pd
import pytest
from matplotlib.figure import Figure

import stratopt.analysis as analysis
from stratopt import LossSpec, MACrossover, MLPPolicy, load_prices
from stratopt._result import Result
from stratopt.errors import ConfigError
from stratopt.plotting import StratoptFigure, new_figure

matplotlib.use("Agg")

SPEC = LossSpec(cost_bps=10, slippage=0.1)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL", "XOM"], start="2006-01-01", end="2009-12-31")


MAKERS: dict[str, Callable[[pd.DataFrame], Result]] = {
    "LRComparison": lambda p: analysis.compare_learning_rates(
        MACrossover(), p, [1e-3, 1.0, 1e4], epochs=6, loss=SPEC, progress=False
    ),
    "LRRangeTest": lambda p: analysis.lr_range_test(
        MACrossover(), p, lr_min=1e-3, lr_max=10.0, steps=8, loss=SPEC, progress=False
    ),
    "Landscape": lambda p: analysis.loss_landscape(MACrossover(), p, grid=4, loss=SPEC),
    "CreditResult": lambda p: analysis.credit_assignment(MACrossover(), p, loss=SPEC, top=2),
    "GradientFlowResult": lambda p: analysis.gradient_flow(MLPPolicy(n_lags=3, hidden=(4,), seed=0), p, loss=SPEC),
    "GradientFlowSweep": lambda p: analysis.gradient_flow_sweep(
        p, depths=[1, 2], activations=("tanh", "relu"), width=4, loss=SPEC
    ),
}
#: results whose figure is one panel: plot(ax=...) draws there
SINGLE_PANEL = {"LRRangeTest", "GradientFlowResult"}


@pytest.fixture(scope="module")
def results(prices: pd.DataFrame) -> dict[str, Result]:
    return {name: make(prices) for name, make in MAKERS.items()}


def test_every_analysis_result_is_covered() -> None:
    exported = {name for name, obj in vars(analysis).items() if isinstance(obj, type) and issubclass(obj, Result)}
    assert exported == set(MAKERS)


@pytest.mark.parametrize("name", list(MAKERS))
def test_result_protocol(results: dict[str, Result], name: str) -> None:
    res = results[name]
    assert isinstance(res, Result) and type(res).__name__ == name
    text = repr(res)
    assert "\n" not in text and text.startswith(f"<{name}: ") and text.endswith(">")
    assert res.summary().strip()
    record = res.to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record  # plain JSON types only
    assert json.loads(res.to_json()) == record
    fig = res.plot()
    assert isinstance(fig, Figure) and isinstance(fig, StratoptFigure) and fig.axes


@pytest.mark.parametrize("name", list(MAKERS))
def test_plot_on_given_axes_or_a_reason_why_not(results: dict[str, Result], name: str) -> None:
    res = results[name]
    fig = new_figure()
    ax = fig.add_subplot()
    if name in SINGLE_PANEL:
        assert res.plot(ax=ax) is fig
        assert ax.has_data() and len(fig.axes) == 1
    else:
        with pytest.raises(ConfigError, match="without ax"):
            res.plot(ax=ax)


@pytest.mark.parametrize("name", list(MAKERS))
def test_the_loss_spec_is_recorded(results: dict[str, Result], name: str) -> None:
    record = results[name].to_dict()
    loss = record["config"]["loss"] if "config" in record and "loss" in record["config"] else record["loss"]
    assert loss == SPEC.to_dict()


def test_ipython_shows_the_summary(results: dict[str, Result]) -> None:
    class Printer:
        def __init__(self) -> None:
            self.out = ""

        def text(self, s: str) -> None:
            self.out += s

    for res in results.values():
        printer = Printer()
        res._repr_pretty_(printer, cycle=False)
        assert printer.out == res.summary()
