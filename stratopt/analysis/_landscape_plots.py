"""Figures of a loss landscape: 3D surface and contour map, with an optimiser's path on top."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter
from numpy.typing import ArrayLike
from scipy.interpolate import RegularGridInterpolator

from stratopt.errors import ConfigError
from stratopt.plotting import new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from stratopt.analysis._landscape import Landscape
    from stratopt.training import FitResult

__all__ = ["plot_landscape", "trajectory_paths"]

_KINDS = {"minimum": ("v", "white"), "saddle": ("X", "orange"), "plateau": ("s", "lightgrey")}
_PLAIN = FuncFormatter(lambda v, _: f"{v:g}")


def _nice_log_ticks(values: np.ndarray) -> np.ndarray:
    """1, 2, 5 times powers of ten inside the range of ``values`` (at least the two ends)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    ticks = np.array([m * 10.0**k for k in decades for m in (1, 2, 5) if lo <= m * 10.0**k <= hi])
    return ticks if len(ticks) >= 2 else np.array([lo, hi])


def trajectory_paths(fit_result: FitResult, x: str, y: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``(start, x path, y path)`` per start of a fit, the best start first, in epoch order."""
    hist = fit_result.history_all
    missing = [k for k in (x, y) if k not in hist.columns]
    if missing:
        raise ConfigError(f"the fit's history has no column(s) {missing}; fit the same rule as the landscape")
    paths = []
    first = fit_result.initial_starts
    for start, rows in hist.sort_values(["start", "epoch"]).groupby("start", sort=True):
        xs, ys = rows[x].to_numpy(float), rows[y].to_numpy(float)
        if first is not None:  # history rows are after each step: prepend where the start was
            xs = np.concatenate([[first.loc[int(start), x]], xs])
            ys = np.concatenate([[first.loc[int(start), y]], ys])
        paths.append((int(start), xs, ys))
    paths.sort(key=lambda p: p[0] != fit_result.best_start)
    return paths


class _Axes3DScale:
    """Coordinates of the 3D panel: log10 of a log-spaced axis (3D axes have no log scale)."""

    def __init__(self, land: Landscape) -> None:
        self.logx, self.logy = land.x_scale == "log", land.y_scale == "log"

    def u(self, v: ArrayLike) -> np.ndarray:
        return np.log10(v) if self.logx else np.asarray(v, dtype=float)

    def w(self, v: ArrayLike) -> np.ndarray:
        return np.log10(v) if self.logy else np.asarray(v, dtype=float)


def plot_landscape(land: Landscape, *, trajectory: FitResult | None = None, surface: str = "soft") -> Figure:
    """3D surface (left) and filled contours (right) of one surface of ``land``.

    Log-spaced axes are drawn in log10 on the 3D panel (3D axes have no log scale) with ticks
    labelled in natural units, and on a log scale on the contour map. The path of a fit sits on
    the surface by bilinear interpolation of the grid (its own losses were measured at the
    fit's annealed temperatures and on its own days, so they would not lie on this surface).
    """
    if surface not in ("soft", "hard"):
        raise ConfigError(f"surface={surface!r} is not one of 'soft', 'hard'")
    z = land.soft_loss if surface == "soft" else land.hard_loss
    sc = _Axes3DScale(land)
    fig = new_figure(figsize=(14, 6.5))
    spec = fig.add_gridspec(1, 2, width_ratios=[1.15, 1])
    ax3 = fig.add_subplot(spec[0], projection="3d")
    axc = fig.add_subplot(spec[1])
    _draw_surfaces(fig, ax3, axc, land, z, sc, surface)
    _mark_points(ax3, axc, land, z, sc, surface)
    if trajectory is not None:
        _draw_paths(ax3, axc, land, z, sc, trajectory)
    _label(ax3, axc, land, surface)
    fig.legend(*axc.get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize="small")
    return fig


def _draw_surfaces(
    fig: Figure, ax3: Any, axc: Axes, land: Landscape, z: np.ndarray, sc: _Axes3DScale, surface: str
) -> None:
    """The 3D surface, the filled and line contours, the colour bar and the axis scales."""
    gu, gw = np.meshgrid(sc.u(land.x_values), sc.w(land.y_values))
    ax3.plot_surface(gu, gw, z, cmap="viridis", linewidth=0, antialiased=False, alpha=0.85)
    filled = axc.contourf(land.x_values, land.y_values, z, levels=30, cmap="viridis")
    axc.contour(land.x_values, land.y_values, z, levels=10, colors="k", linewidths=0.4, alpha=0.5)
    fig.colorbar(filled, ax=axc, label=f"{surface} loss")
    natural = FuncFormatter(lambda v, _: f"{10**v:.3g}")
    if sc.logx:
        axc.set_xscale("log")
    if sc.logy:
        axc.set_yscale("log")
    for log, values, axis, axis3 in (
        (sc.logx, land.x_values, axc.xaxis, ax3.xaxis),
        (sc.logy, land.y_values, axc.yaxis, ax3.yaxis),
    ):
        if log:  # plain numbers (5, 10, 20 days), not 5 x 10^0, at 1-2-5 steps
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(_PLAIN)
            axis.set_minor_formatter(NullFormatter())
            axis3.set_major_locator(FixedLocator(np.log10(_nice_log_ticks(values))))
            axis3.set_major_formatter(natural)


def _mark_points(ax3: Any, axc: Axes, land: Landscape, z: np.ndarray, sc: _Axes3DScale, surface: str) -> None:
    """Critical points on the contour map; both grid bests on both panels."""
    cp = land.critical_points
    for kind, (marker, color) in _KINDS.items():
        pts = cp[(cp["surface"] == surface) & (cp["kind"] == kind)]
        if len(pts):
            axc.scatter(
                pts[land.x],
                pts[land.y],
                marker=marker,
                s=60,
                c=color,
                edgecolors="k",
                linewidths=0.8,
                label=f"{kind} ({len(pts)})",
                zorder=3,
            )
    for name, color in (("hard", "red"), ("soft", "magenta")):
        g = land.global_min[name]
        axc.scatter(
            [g[land.x]],
            [g[land.y]],
            marker="*",
            s=220,
            c=color,
            edgecolors="k",
            zorder=7,  # above the paths' end markers: the grid's best often is where a path ends
            label=f"grid best {name} (hard Sharpe {g['hard_sharpe']:.2f})",
        )
        z_best = [z[int(g["iy"]), int(g["ix"])]]
        ax3.scatter(sc.u([g[land.x]]), sc.w([g[land.y]]), z_best, marker="*", s=160, c=color, depthshade=False)


def _draw_paths(ax3: Any, axc: Axes, land: Landscape, z: np.ndarray, sc: _Axes3DScale, trajectory: FitResult) -> None:
    """Each start's path on the contour map and on the surface, the best start first and bold."""
    on_surface = RegularGridInterpolator((sc.w(land.y_values), sc.u(land.x_values)), z, bounds_error=False)
    for k, (start, px, py) in enumerate(trajectory_paths(trajectory, land.x, land.y)):
        best = k == 0
        color, lw, alpha = ("red", 2.0, 1.0) if best else ("deepskyblue", 1.0, 0.8)
        label = f"GD path (start {start}, best)" if best else ("other starts" if k == 1 else None)
        axc.plot(px, py, color=color, lw=lw, alpha=alpha, zorder=4, label=label)
        for sl, marker, what in ((slice(None, 1), "o", "first epoch"), (slice(-1, None), "s", "last epoch")):
            axc.scatter(
                px[sl], py[sl], marker=marker, s=50, c=color, edgecolors="k", zorder=6, label=what if best else None
            )
        pz = on_surface(np.column_stack([sc.w(py), sc.u(px)]))
        ax3.plot(sc.u(px), sc.w(py), pz, color=color, lw=lw, alpha=alpha, zorder=10)
        ends = [0, -1]
        ax3.scatter(sc.u(px[ends]), sc.w(py[ends]), pz[ends], c=color, marker="o", s=30, depthshade=False)


def _label(ax3: Any, axc: Axes, land: Landscape, surface: str) -> None:
    """Axis labels in natural units and panel titles."""
    units = land.config.get("units", {})
    xl = f"{land.x} ({units.get(land.x, '')})"
    yl = f"{land.y} ({units.get(land.y, '')})"
    ax3.set(xlabel=xl, ylabel=yl)
    ax3.set_zlabel(f"{surface} loss", labelpad=8)
    ax3.view_init(elev=32, azim=-125)
    c = land.config
    what = f"temperature {c['temperature']:g}" if surface == "soft" else "hard rule, exact costs"
    ax3.set_title(f"{surface} loss = -{land.loss.objective_name} ({what})")
    axc.set(xlabel=xl, ylabel=yl, title=f"{c['rule']} on {', '.join(c['tickers'][:3])}: contours and critical points")
