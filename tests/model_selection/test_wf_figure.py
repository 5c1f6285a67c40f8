"""The walk-forward figure reads in plain numbers and keeps parameters of different units on
different scales (windows in days on a log axis, a ratio on its own scale on the right)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import stratopt
from stratopt.model_selection import WalkForwardResult
from stratopt.rules import MACrossover

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def result() -> WalkForwardResult:
    prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM"], start="2012", end="2019")
    tuner = stratopt.Tuner(MACrossover(), screen=8, epochs=3, n_starts=2, seed=0, progress=False)
    return stratopt.walk_forward(tuner, prices, stratopt.WalkForward("3Y", "1Y"), progress=False)


def _labels(axis: matplotlib.axis.Axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def test_equity_is_on_a_log_axis_with_plain_labels(result: WalkForwardResult) -> None:
    fig = result.plot()
    fig.canvas.draw()
    equity = fig.axes[0]
    assert equity.get_yscale() == "log"
    labels = _labels(equity.yaxis)
    assert len(labels) >= 2 and all(float(t) > 0 for t in labels)  # "1.5", not "1.5 x 10^0"
    np.testing.assert_array_equal(equity.get_lines()[0].get_ydata(), result.oos_equity.to_numpy())


def test_days_and_ratio_get_their_own_scales(result: WalkForwardResult) -> None:
    fig = result.plot()
    fig.canvas.draw()
    panel = fig.axes[1]
    assert panel.get_yscale() == "log" and panel.get_ylabel() == "days"
    lines = {line.get_label(): line for line in panel.get_lines()}
    assert set(lines) == {"fast", "slow", "ratio"} and lines["ratio"].get_linestyle() == "--"
    for name in ("fast", "slow"):  # drawn in days: one step per fold, the last held to the end
        np.testing.assert_allclose(lines[name].get_ydata()[:-1], result.folds[name].to_numpy(float))
    # the ratio is mapped onto the panel's height, order kept, and labelled on a right-hand scale
    drawn = lines["ratio"].get_ydata()[:-1]
    ratio = result.folds["ratio"].to_numpy(float)
    assert np.array_equal(np.argsort(drawn, kind="stable"), np.argsort(ratio, kind="stable"))
    (right,) = panel.child_axes
    assert right.get_ylabel() == "x fast"
    ticks = [float(t) for t in _labels(right.yaxis)]
    assert ticks and min(ticks) <= ratio.max() and max(ticks) >= ratio.min()
