"""Loss landscapes: batched grid against point-by-point evaluation (under any loss spec), critical
points on surfaces with known answers, global minimum, grid vs gradient descent, plots, CLI and
argument checks."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from stratopt import objectives as obj
from stratopt._market import MarketData
from stratopt.analysis import Landscape, find_critical_points, loss_landscape
from stratopt.backtesting import backtest
from stratopt.data import load_prices
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.metrics import sharpe_ratio
from stratopt.pnl import net_returns
from stratopt.rules import MACrossover, MeanReversion, Momentum, VolTarget
from stratopt.training import FitResult, fit

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_prices("sp500", tickers=["AAPL", "XOM"], start="2005-01-01", end="2012-12-31")


@pytest.fixture(scope="module")
def land(prices: pd.DataFrame) -> Landscape:
    return loss_landscape(MACrossover(), prices, grid=(11, 9), chunk=10)


def _direct(rule: MACrossover | MeanReversion, prices: pd.DataFrame, temperature: float) -> tuple[float, float, float]:
    """Soft loss, hard loss and hard Sharpe of a single-start rule, straight from pnl/objectives."""
    data = MarketData.from_prices(prices)
    with torch.no_grad():
        soft = net_returns(rule(data, temperature=temperature), data, smooth=True)
        hard = net_returns(rule(data, temperature=0.0), data)
    return -float(obj.sharpe(soft)[0]), -float(obj.sharpe(hard)[0]), sharpe_ratio(hard[0].numpy())


# ------------------------------------------------------------------------- batched evaluation
def test_batched_grid_equals_point_by_point(land: Landscape, prices: pd.DataFrame) -> None:
    assert land.soft_loss.shape == land.hard_loss.shape == land.hard_sharpe.shape == (9, 11)
    for iy, ix in [(0, 0), (4, 7), (8, 10), (3, 3), (8, 0)]:
        rule = MACrossover(fast=land.x_values[ix], ratio=land.y_values[iy])
        soft, hard, sharpe = _direct(rule, prices, 0.1)
        assert land.soft_loss[iy, ix] == pytest.approx(soft, rel=1e-12, abs=1e-14)
        assert land.hard_loss[iy, ix] == pytest.approx(hard, rel=1e-12, abs=1e-14)
        assert land.hard_sharpe[iy, ix] == pytest.approx(sharpe, rel=1e-10, abs=1e-12)
        # the hard Sharpe is the exact backtest's
        assert land.hard_sharpe[iy, ix] == pytest.approx(backtest(rule, prices).metrics["sharpe"], rel=1e-10)


def test_points_that_round_alike_share_the_hard_rule_and_match_direct(prices: pd.DataFrame) -> None:
    # fast 3.0, 3.5, ..., 6.0 in steps of 0.5: several grid points round to the same hard window
    land = loss_landscape(
        MACrossover(), prices, grid=(7, 3), ranges={"fast": (3, 6), "ratio": (5, 6)}, spacing="linear", chunk=4
    )
    np.testing.assert_allclose(land.x_values, np.linspace(3, 6, 7))
    for ix in range(7):
        _, hard, sharpe = _direct(MACrossover(fast=land.x_values[ix], ratio=5.5), prices, 0.1)
        assert land.hard_loss[1, ix] == pytest.approx(hard, rel=1e-12)
        assert land.hard_sharpe[1, ix] == pytest.approx(sharpe, rel=1e-10)
    assert len(np.unique(land.hard_loss[1])) < 7  # repeated hard rules
    assert len(np.unique(land.soft_loss[1])) == 7  # the soft rule sees the fractional spans


def test_the_loss_spec_scores_both_surfaces(prices: pd.DataFrame) -> None:
    spec = LossSpec(objective="sortino", cost_bps=15, slippage=0.2, position_mode="long_only", allocation="equal")
    land = loss_landscape(MACrossover(), prices, grid=(4, 3), loss=spec, temperature=0.3)
    data = MarketData.from_prices(prices)
    for iy, ix in [(0, 0), (2, 3), (1, 2)]:
        rule = MACrossover(fast=land.x_values[ix], ratio=land.y_values[iy])
        with torch.no_grad():
            soft = -float(spec.score(spec.rule_returns(rule, data, temperature=0.3))[0])
            hard_r = spec.rule_returns(rule, data)
        assert land.soft_loss[iy, ix] == pytest.approx(soft, rel=1e-12)
        assert land.hard_loss[iy, ix] == pytest.approx(-float(spec.score(hard_r)[0]), rel=1e-12)
        assert land.hard_sharpe[iy, ix] == pytest.approx(backtest(rule, prices, loss=spec).metrics["sharpe"], rel=1e-10)
    assert land.loss == spec and land.to_dict()["loss"] == spec.to_dict()
    assert "-sortino" in land.summary() and "long_only" in land.summary()


def test_chunk_size_does_not_change_the_surfaces(land: Landscape, prices: pd.DataFrame) -> None:
    other = loss_landscape(MACrossover(), prices, grid=(11, 9), chunk=64)
    for name in ("soft_loss", "hard_loss", "hard_sharpe"):
        np.testing.assert_allclose(getattr(other, name), getattr(land, name), rtol=1e-12, atol=1e-14)


def test_other_parameters_stay_at_the_rules_values(prices: pd.DataFrame) -> None:
    rule = MeanReversion(lookback=30, entry=1.5).set_params(exit_ratio=0.4)
    land = loss_landscape(rule, prices, "lookback", "entry", grid=4, temperature=0.2)
    assert land.fixed == {"exit_ratio": 0.4}
    assert (land.x_scale, land.y_scale) == ("log", "linear")  # days log-spaced, sigmas linear
    point = MeanReversion(lookback=land.x_values[2], entry=land.y_values[1]).set_params(exit_ratio=0.4)
    soft, hard, _ = _direct(point, prices, 0.2)
    assert land.soft_loss[1, 2] == pytest.approx(soft, rel=1e-10)
    assert land.hard_loss[1, 2] == pytest.approx(hard, rel=1e-10)


def test_default_ranges_and_dotted_names(prices: pd.DataFrame) -> None:
    land = loss_landscape(VolTarget(MACrossover()), prices, "rule.fast", "rule.ratio", grid=3)
    assert land.x_values[[0, -1]].tolist() == [3.0, 99.0]  # whole days strictly inside (2, 100)
    assert land.x_values[1] == pytest.approx(math.sqrt(3 * 99))  # log spacing
    assert land.y_scale == "log"  # the ratio is optimised in log space, so it is gridded so
    assert set(land.fixed) == {"target_vol", "vol_span"}
    mom = loss_landscape(Momentum(), prices, "lookback", "threshold", grid=3)
    assert mom.y_scale == "linear" and mom.y_values[0] > 0 and mom.y_values[-1] < 3  # threshold in (0, 3)


# ---------------------------------------------------------------------------- critical points
def _kinds(table: pd.DataFrame, kind: str) -> list[tuple[int, int]]:
    rows = table[table["kind"] == kind]
    return sorted(zip(rows["iy"], rows["ix"], strict=True))


def test_saddle_of_x2_minus_y2() -> None:
    u = np.linspace(-1, 1, 21)
    xx, yy = np.meshgrid(u, u)
    cp = find_critical_points(xx**2 - yy**2)
    assert _kinds(cp, "saddle") == [(10, 10)]
    # the only minima are the range's edges at y = +-1, flagged as such
    assert _kinds(cp, "minimum") == [(0, 10), (20, 10)] and cp.loc[cp["kind"] == "minimum", "edge"].all()
    assert not (cp["kind"] == "plateau").any()


@pytest.mark.parametrize("grid", [np.linspace(-2, 2, 41), np.linspace(-1.93, 2.07, 37)], ids=["on-grid", "offset"])
def test_double_well_has_two_minima_and_a_saddle_between(grid: np.ndarray) -> None:
    xx, yy = np.meshgrid(grid, grid)
    cp = find_critical_points((xx**2 - 1) ** 2 + yy**2)
    minima = [(grid[ix], grid[iy]) for iy, ix in _kinds(cp, "minimum")]
    saddles = [(grid[ix], grid[iy]) for iy, ix in _kinds(cp, "saddle")]
    step = grid[1] - grid[0]
    assert len(minima) == 2 and len(saddles) == 1
    for (mx, my), want in zip(sorted(minima), (-1.0, 1.0), strict=True):
        assert abs(mx - want) <= step / 2 + 1e-12 and abs(my) <= step / 2 + 1e-12
    assert max(abs(saddles[0][0]), abs(saddles[0][1])) <= step / 2 + 1e-12


def test_egg_crate_counts_every_saddle_and_minimum() -> None:
    u = np.linspace(0, 6 * np.pi, 61)
    xx, yy = np.meshgrid(u, u)
    cp = find_critical_points(np.sin(xx) * np.sin(yy))
    # saddles at (k pi, m pi), k, m = 1..5; minima (value -1) where one sine is 1 and the other -1
    assert _kinds(cp, "saddle") == [(10 * m, 10 * k) for m in range(1, 6) for k in range(1, 6)]
    interior = cp[(cp["kind"] == "minimum") & ~cp["edge"]]
    assert len(interior) == 18 and np.allclose(interior["value"], -1.0)


def test_flat_bottom_is_one_minimum_and_a_plateau_and_terraces_are_not_minima() -> None:
    u = np.linspace(-1, 1, 31)
    xx, yy = np.meshgrid(u, u)
    bowl = np.maximum(xx**2 + yy**2 - 0.3, 0.0)
    cp = find_critical_points(bowl)
    flat = int((bowl == 0).sum())
    assert cp.loc[cp["kind"] == "minimum", "size"].tolist() == [flat]
    assert len(cp[cp["kind"] == "plateau"]) == 1 and cp.loc[cp["kind"] == "plateau", "value"].iloc[0] == 0.0
    # a staircase rising in x and y: flat steps drain into lower ones, the one minimum is the corner step
    stairs = np.floor(xx * 4) + yy
    cp = find_critical_points(stairs)
    assert len(cp[cp["kind"] == "minimum"]) == 1 and cp.loc[cp["kind"] == "minimum", "iy"].iloc[0] == 0


def test_detector_ignores_nan_and_checks_its_input() -> None:
    u = np.linspace(-1, 1, 11)
    xx, yy = np.meshgrid(u, u)
    z = xx**2 + yy**2
    z[0, 0] = np.nan
    cp = find_critical_points(z)
    assert _kinds(cp, "minimum") == [(5, 5)]
    with pytest.raises(ConfigError, match="at least 3 x 3"):
        find_critical_points(np.zeros((2, 5)))
    with pytest.raises(ConfigError, match="min_plateau"):
        find_critical_points(z, min_plateau=0)


def test_critical_points_of_a_real_landscape_are_what_they_claim(land: Landscape) -> None:
    cp = land.critical_points
    assert set(cp["surface"]) <= {"soft", "hard"} and len(cp) > 0
    for _, row in cp.iterrows():
        z = land.soft_loss if row["surface"] == "soft" else land.hard_loss
        assert row["fast"] == land.x_values[row["ix"]] and row["ratio"] == land.y_values[row["iy"]]
        assert row["loss"] == z[row["iy"], row["ix"]]
        assert row["hard_sharpe"] == land.hard_sharpe[row["iy"], row["ix"]]
        if row["kind"] == "minimum" and row["size"] == 1:
            window = z[max(row["iy"] - 1, 0) : row["iy"] + 2, max(row["ix"] - 1, 0) : row["ix"] + 2]
            assert (window >= row["loss"]).all() and (window == row["loss"]).sum() == 1


def test_global_minimum_is_the_argmin(land: Landscape) -> None:
    for surface, z in (("soft", land.soft_loss), ("hard", land.hard_loss)):
        best = land.global_min[surface]
        assert best["loss"] == z.min() == z[best["iy"], best["ix"]]
        assert best["fast"] == land.x_values[best["ix"]] and best["ratio"] == land.y_values[best["iy"]]
        assert best["hard_sharpe"] == land.hard_sharpe[best["iy"], best["ix"]]
    # minimising -Sharpe: the hard global minimum has the grid's best hard Sharpe
    assert land.global_min["hard"]["hard_sharpe"] == pytest.approx(land.hard_sharpe.max())


# ------------------------------------------------------------------------------ grid vs GD, plot
@pytest.fixture(scope="module")
def fitted(prices: pd.DataFrame) -> FitResult:
    return fit(MACrossover(), prices, validation=None, epochs=6, n_starts=3, seed=1, lr=0.1, progress=False)


def test_compare_evaluates_grid_best_and_where_gd_ended(
    land: Landscape, fitted: FitResult, prices: pd.DataFrame
) -> None:
    table = land.compare(fitted)
    assert list(table.index) == ["grid best (hard)", "grid best (soft)", "GD start", "GD last epoch", "GD selected"]
    # the start is where the best start began, before any step (MACrossover's defaults for start 0)
    start = fitted.initial_starts.loc[fitted.best_start]
    assert table.loc["GD start", "fast"] == pytest.approx(start["fast"])
    assert table.loc["grid best (hard)", "hard_sharpe"] == pytest.approx(land.global_min["hard"]["hard_sharpe"])
    assert table.loc["GD selected", "hard_sharpe"] == pytest.approx(
        backtest(fitted.rule, prices).metrics["sharpe"], rel=1e-10
    )
    last = fitted.history.iloc[-1]
    assert table.loc["GD last epoch", "fast"] == last["fast"]
    assert "grid vs gradient descent" in land.summary(fitted)


def test_plot_has_two_panels_and_refuses_an_axes(land: Landscape, fitted: FitResult) -> None:
    fig = land.plot()
    with pytest.raises(ConfigError, match="a 3D surface and a contour map"):
        land.plot(ax=fig.axes[1])
    with pytest.raises(ConfigError, match=r"plot\(trajectory=fit_result\)"):
        land.plot(fitted)  # type: ignore[arg-type]


def test_plot_with_trajectory_is_headless(land: Landscape, fitted: FitResult) -> None:
    fig = land.plot(trajectory=fitted)
    ax3d, contour = fig.axes[0], fig.axes[1]
    assert ax3d.name == "3d"
    assert len(contour.get_lines()) == 3  # one path per start
    best_path = contour.get_lines()[0].get_xydata()
    best_hist = fitted.history_all[fitted.history_all["start"] == fitted.best_start]
    start = fitted.initial_starts.loc[fitted.best_start, "fast"]  # the path begins before the first step
    np.testing.assert_allclose(best_path[:, 0], [start, *best_hist["fast"]])
    fig.savefig(io.BytesIO(), format="png")
    land.plot(surface="hard").savefig(io.BytesIO(), format="png")


def test_to_dict_is_strict_json(land: Landscape) -> None:
    record = json.loads(json.dumps(land.to_dict(), allow_nan=False))
    assert np.array(record["hard_loss"]).shape == (9, 11)
    assert record["hard_loss"][2][3] == land.hard_loss[2, 3] and record["x_values"] == land.x_values.tolist()
    assert record["global_min"]["hard"]["loss"] == land.global_min["hard"]["loss"]
    assert len(record["critical_points"]) == len(land.critical_points)
    assert "Loss landscape of MACrossover" in land.summary() and "fast=" in repr(land)
    assert "\n" not in repr(land) and repr(land).startswith("<Landscape: fast x ratio")


# ---------------------------------------------------------------------------------- arguments
def test_bad_arguments_name_the_fix(prices: pd.DataFrame) -> None:
    rule = MACrossover()
    with pytest.raises(ConfigError, match=r"x='fats' is not a parameter.*\['fast', 'ratio'\]"):
        loss_landscape(rule, prices, "fats", "ratio")
    with pytest.raises(ConfigError, match=r"y='slow' is a value MACrossover derives from its parameters"):
        loss_landscape(rule, prices, "fast", "slow")
    with pytest.raises(ConfigError, match="both 'fast'"):
        loss_landscape(rule, prices, "fast", "fast")
    with pytest.raises(ConfigError, match="grid=2"):
        loss_landscape(rule, prices, grid=2)
    with pytest.raises(ConfigError, match="outside"):
        loss_landscape(rule, prices, ranges={"fast": (1, 50)})
    with pytest.raises(ConfigError, match="not x="):
        loss_landscape(rule, prices, ranges={"speed": (3, 50)})
    with pytest.raises(ConfigError, match="loss_landscape needs a single-start rule"):
        loss_landscape(rule.with_starts(2), prices)
    with pytest.raises(ConfigError, match="loss must be a stratopt.LossSpec"):
        loss_landscape(rule, prices, loss="sharpe")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="temperature"):
        loss_landscape(rule, prices, temperature=0.0)
    with pytest.raises(ConfigError, match="fit the same rule"):
        loss_landscape(Momentum(), prices, "lookback", "threshold", grid=3).compare(
            fit(MACrossover(), prices, epochs=1, validation=None, progress=False)
        )


def test_cli_landscape_with_trajectory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from stratopt.cli import main

    png, out = tmp_path / "land.png", tmp_path / "land.json"
    code = main(
        [
            "landscape",
            "--tickers",
            "AAPL",
            "--start",
            "2016-01-01",
            "--grid",
            "8",
            "--trajectory",
            "--epochs",
            "3",
            "--plot",
            str(png),
            "--json",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "AAPL" in text and "grid vs gradient descent" in text
    record = json.loads(out.read_text())
    assert record["config"]["tickers"] == ["AAPL"] and len(record["compare"]) == 5
    assert png.stat().st_size > 10_000


def test_cli_bad_parameter_exits_2_listing_the_rules_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    from stratopt.cli import main

    assert main(["landscape", "--start", "2016-01-01", "--grid", "5", "--x", "speed"]) == 2
    assert "['fast', 'ratio']" in capsys.readouterr().err


def test_min_depth_reaches_the_critical_points(prices: pd.DataFrame, land: Landscape) -> None:
    every = loss_landscape(MACrossover(), prices, grid=(11, 9), chunk=10, min_depth=0.0, progress=False)
    assert every.config["min_depth"] == 0.0 and land.config["min_depth"] == 0.25
    # the same surfaces; without the depth threshold every shallow dent and pass is kept
    np.testing.assert_array_equal(every.hard_loss, land.hard_loss)
    kinds = ("minimum", "saddle")
    count = lambda lnd: int(lnd.critical_points["kind"].isin(kinds).sum())  # noqa: E731
    assert count(every) >= count(land)
    with pytest.raises(ConfigError, match="min_depth=-1"):
        loss_landscape(MACrossover(), prices, grid=(5, 5), min_depth=-1.0, progress=False)
