"""The fit figure: the kept epoch marked on every panel, parameters of different units on
different axes (windows on a log scale), legends off the curves, no offset tick labels."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from stratopt.data import load_prices
from stratopt.rules import MACrossover
from stratopt.training import FitResult, fit

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def result() -> FitResult:
    prices = load_prices("sp500", tickers=["AAPL", "XOM"], start="2008", end="2012")
    return fit(MACrossover(), prices, validation=0.25, epochs=8, n_starts=2, screen=0, seed=0, progress=False)


def test_units_get_their_own_panel_and_days_a_log_axis(result: FitResult) -> None:
    fig = result.plot()
    fig.canvas.draw()
    panels = {ax.get_ylabel(): ax for ax in fig.axes[2:]}
    units = result.rule.param_table()["unit"]
    assert set(panels) == set(units)  # one panel per unit: days, x fast
    for unit, ax in panels.items():
        drawn = {line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")}
        assert drawn == set(units[units == unit].index)
        assert not ax.yaxis.get_offset_text().get_text()  # no "1e-11 + 8" labels
    assert panels["days"].get_yscale() == "log"
    ticks = [t.get_text() for t in panels["days"].get_yticklabels() if t.get_text()]
    assert ticks and all(float(t) > 0 for t in ticks)  # plain numbers, not 10^2


def test_kept_epoch_is_marked_everywhere_and_legends_sit_outside(result: FitResult) -> None:
    kept = result.diagnostics["selected_epoch"]
    fig = result.plot()
    marked = [ax for ax in fig.axes if any(list(line.get_xdata()) == [kept, kept] for line in ax.get_lines())]
    if kept >= 0:
        assert len(marked) == len(fig.axes)
        assert f"kept: epoch {kept}" in {t.get_text() for t in fig.legends[0].get_texts()}
    else:
        assert not marked
    assert fig.axes[0].get_legend() is None and fig.axes[1].get_legend() is None
    curves = {t.get_text() for t in fig.legends[0].get_texts()}
    assert {"training loss (soft)", "train (soft)", "validation (soft)"} <= curves
    history = fig.axes[0].get_lines()[0].get_ydata()
    np.testing.assert_array_equal(history, result.history["loss"].to_numpy())


def test_a_parameter_that_does_not_move_still_gets_a_readable_axis(result: FitResult) -> None:
    flat = result.history.copy()
    flat["ratio"] = 8.0 - np.linspace(0, 1e-11, len(flat))
    fig = FitResult(**{**result.__dict__, "history": pd.DataFrame(flat)}).plot()
    ratio = next(ax for ax in fig.axes if ax.get_ylabel() == result.rule.param_table().loc["ratio", "unit"])
    lo, hi = ratio.get_ylim()
    assert lo < 8.0 - 0.05 and hi > 8.0 + 0.05
