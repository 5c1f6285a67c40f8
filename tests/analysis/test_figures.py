"""Figures a reader should not trip over: only significant critical points are marked on a
noisy surface, twin axes share their zero line, log axes read in plain numbers."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from stratopt.analysis import credit_assignment, find_critical_points, loss_landscape
from stratopt.analysis._credit_plots import align_zeros
from stratopt.data import load_prices
from stratopt.plotting import new_figure
from stratopt.rules import MACrossover

matplotlib.use("Agg")

U = np.linspace(-2, 2, 41)
XX, YY = np.meshgrid(U, U)
STEP = U[1] - U[0]


@pytest.mark.parametrize("seed", range(5))
def test_noise_on_a_double_well_marks_only_the_two_wells_and_the_pass(seed: int) -> None:
    clean = (XX**2 - 1) ** 2 + YY**2  # minima 0 at (+-1, 0), pass 1 at (0, 0), range 13
    sd = 0.005 * np.ptp(clean)
    noisy = clean + np.random.default_rng(seed).normal(0.0, sd, clean.shape)
    assert len(find_critical_points(noisy, min_depth=0.0)) > 6  # noise dents and passes without the threshold
    cp = find_critical_points(noisy)
    assert sorted(cp["kind"]) == ["minimum", "minimum", "saddle"]
    # a noisy grid's lowest cell sits where the clean surface is within the noise's spread of
    # the true value: |noise| < 4 sd on 41 x 41 cells, so within 8 sd
    minima = cp[cp["kind"] == "minimum"]
    assert sorted(np.sign(U[minima["ix"]])) == [-1.0, 1.0]
    assert (clean[minima["iy"], minima["ix"]] <= 8 * sd).all()
    saddle = cp[cp["kind"] == "saddle"].iloc[0]
    assert abs(clean[saddle["iy"], saddle["ix"]] - 1.0) <= 8 * sd and abs(U[saddle["ix"]]) < 0.5


def test_basin_depth_is_the_climb_to_the_pass() -> None:
    tilt = 0.3
    z = (XX**2 - 1) ** 2 + tilt * XX + YY**2
    f = np.polynomial.Polynomial([1.0, tilt, -2.0, 0.0, 1.0])  # z along y = 0
    stationary = np.sort(f.deriv().roots().real)  # left well, pass, right well
    depth = f(stationary[1]) - f(stationary[2])  # the right well is the shallower one
    cp = find_critical_points(z, min_depth=0.0)
    right = cp[(cp["kind"] == "minimum") & (cp["ix"] > 20) & ~cp["edge"]]
    assert len(right) == 1
    assert right["depth"].iloc[0] == pytest.approx(depth, abs=2 * STEP**2 * 8)  # grid error, O(step^2)
    share = depth / (np.median(z) - z.min())  # min_depth: a fraction of the median above the minimum
    for min_depth, n in ((share * 0.8, 2), (share * 1.2, 1)):
        interior = find_critical_points(z, min_depth=min_depth).query("kind == 'minimum' and not edge")
        assert len(interior) == n


def _zero_share(ax: matplotlib.axes.Axes) -> float:
    lo, hi = ax.get_ylim()
    return -lo / (hi - lo)


@pytest.mark.parametrize(
    "left, right",
    [([-1.0, 3.0], [0.0, 50.0]), ([0.5, 2.0], [-40.0, -1.0]), ([-3.0, -1.0], [-0.01, 0.02]), ([1.0, 2.0], [3.0, 9.0])],
)
def test_align_zeros_puts_both_zeros_at_one_height_and_keeps_the_data(left: list[float], right: list[float]) -> None:
    fig = new_figure()
    ax = fig.add_subplot()
    twin = ax.twinx()
    ax.plot([0, 1], left)
    twin.plot([0, 1], right)
    align_zeros(ax, twin)
    assert _zero_share(ax) == pytest.approx(_zero_share(twin), abs=1e-12)
    assert 0.0 < _zero_share(ax) < 1.0
    for a, data in ((ax, left), (twin, right)):
        lo, hi = a.get_ylim()
        assert lo <= min(data) and max(data) <= hi


def test_credit_panels_share_their_zero_line() -> None:
    prices = load_prices("sp500", tickers=["AAPL", "XOM"], start="2012", end="2016")
    fig = credit_assignment(MACrossover(), prices).plot()
    panels = fig.axes[1:]
    pairs = [(a, b) for a in panels for b in panels if a is not b and a.get_shared_x_axes().joined(a, b)]
    twins = [(a, b) for a, b in pairs if a.bbox.bounds == b.bbox.bounds and a.get_ylabel() == "per day"]
    assert len(twins) == 2  # one per parameter
    for per_day, running in twins:
        assert _zero_share(per_day) == pytest.approx(_zero_share(running), abs=1e-9)
        line = running.get_lines()[0].get_ydata()
        assert running.get_ylim()[0] <= line.min() and line.max() <= running.get_ylim()[1]


def test_landscape_marks_its_table_and_reads_in_plain_numbers() -> None:
    prices = load_prices("sp500", tickers=["AAPL"], start="2010", end="2016")
    land = loss_landscape(MACrossover(), prices, grid=15)
    fig = land.plot()
    fig.canvas.draw()
    contour = fig.axes[1]
    labels = [t.get_text() for t in [*contour.get_xticklabels(), *contour.get_yticklabels()] if t.get_text()]
    assert labels and not any("10^" in t or "times" in t for t in labels)
    assert all(float(t) > 0 for t in labels)
    cp = land.critical_points[land.critical_points["surface"] == "soft"]
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    for kind in ("minimum", "saddle"):
        n = int((cp["kind"] == kind).sum())
        assert (f"{kind} ({n})" in legend) == (n > 0)
