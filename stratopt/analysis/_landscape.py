"""Loss landscapes: a rule's soft and hard loss over a grid of two parameters, in batched passes.

The grid goes into the rule's batch dimension (one parameter set per start): a 100 x 100 grid
on one stock is a few hundred batched passes over square tiles of about 60 points, not 20,000
single-rule passes, and hard rules that round to the same windows are evaluated once. Critical
points come from :func:`~stratopt.analysis.find_critical_points`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch

from stratopt import _progress
from stratopt._json import jsonable
from stratopt._market import MarketData, as_market_data
from stratopt._result import Result
from stratopt.analysis._common import check_rule, no_axes, replicate, resolve_loss
from stratopt.analysis._critical_points import find_critical_points
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.metrics import sample_sharpe
from stratopt.parallel import Executor, SerialExecutor, TaskFailure, executor
from stratopt.rules._base import Rule
from stratopt.rules._params import Param

if TYPE_CHECKING:
    from distributed import Client
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from stratopt.training import FitResult

__all__ = ["Landscape", "loss_landscape"]

Spacing = Literal["auto", "linear", "log"]
Scale = Literal["linear", "log"]
Surface = Literal["soft", "hard"]


# ------------------------------------------------------------------------- batched evaluation
def _tile_order(ny: int, nx: int, chunk: int) -> tuple[np.ndarray, int]:
    """Grid cells in tile-major order, and the tile size.

    A square tile of ``t x t`` cells needs only ``2t`` distinct spans, and the EMA filters each
    distinct span once per pass (see :mod:`stratopt.ops._ema`), so tiles, not rows, make chunks
    small enough to stay in the CPU cache without losing that saving.
    """
    tx = min(nx, max(1, math.isqrt(chunk)))
    ty = max(1, min(ny, chunk // tx))
    iy, ix = np.divmod(np.arange(ny * nx), nx)
    tile = (iy // ty) * -(-nx // tx) + ix // tx
    return np.argsort(tile, kind="stable"), tx * ty


def _hard_keys(rule: Rule, values: Mapping[str, np.ndarray], dtype: torch.dtype) -> np.ndarray:
    """The parameter values the hard rule will use at each point, (points, parameters), through
    the same round trip as ``set_params`` (5.5 may come back as 5.4999... and round to 5)."""
    specs = {name: (owner._raw[spec.name].dtype, spec) for name, owner, spec in rule.named_specs()}
    columns = []
    for name, v in values.items():
        raw_dtype, spec = specs[name]
        raw = spec.to_raw(torch.as_tensor(v, dtype=torch.float64)).to(raw_dtype)
        columns.append(spec.hard(spec.to_natural(raw).to(dtype)).double().numpy())
    return np.stack(columns, 1)


def _run(
    rule: Rule,
    data: MarketData,
    loss: LossSpec,
    values: Mapping[str, np.ndarray],
    idx: np.ndarray,
    chunk: int,
    tau: float,
    bar: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Loss (``-loss.score``) and, for the hard rule (``tau == 0``), sample Sharpe at the points
    ``idx`` of ``values``, ``chunk`` points per batched pass (soft and smoothed costs if tau > 0)."""
    out_loss, out_sharpe = np.empty(len(idx)), np.full(len(idx), np.nan)
    models: dict[int, Rule] = {}
    for s in range(0, len(idx), chunk):
        sel = idx[s : s + chunk]
        if len(sel) not in models:
            models[len(sel)] = replicate(rule, len(sel))
        model = models[len(sel)].set_params({k: v[sel] for k, v in values.items()})
        with torch.no_grad():
            r = loss.rule_returns(model, data, temperature=tau)
            out_loss[s : s + len(sel)] = (-loss.score(r)).double().cpu().numpy()
            if tau == 0:
                out_sharpe[s : s + len(sel)] = sample_sharpe(r).double().cpu().numpy()
        if bar is not None:
            bar.update(len(sel))
    return out_loss, out_sharpe


def _evaluate(
    rule: Rule,
    data: MarketData,
    values: Mapping[str, np.ndarray],
    order: np.ndarray,
    chunk: int,
    *,
    temperature: float,
    loss: LossSpec,
    bar: Any = None,
    ex: Executor | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft loss, hard loss and hard Sharpe at each point of ``values`` (name -> array; other
    parameters stay at ``rule``'s values), ``chunk`` points per batched pass in ``order``;
    ``bar`` (a progress bar) counts the points evaluated. With ``ex`` (a Dask executor) the
    passes run in blocks of whole chunks on its workers (see :func:`_run_blocks`)."""
    n = len(order)
    # The hard rule rounds integer windows, so grid points that round alike are one hard rule:
    # evaluate each once (in the order of its first cell, which keeps the tiles together).
    _, first, inverse = np.unique(_hard_keys(rule, values, data.dtype), axis=0, return_index=True, return_inverse=True)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    by_order = np.argsort(position[first])
    passes = [(order, temperature), (first[by_order], 0.0)]
    if ex is None:
        if bar is not None:
            bar.total = n + len(first)  # the hard pass evaluates each distinct hard rule once
            bar.refresh()
        (soft_o, _), (loss_o, sharpe_o) = (_run(rule, data, loss, values, idx, chunk, tau, bar) for idx, tau in passes)
    else:
        (soft_o, _), (loss_o, sharpe_o) = _run_blocks(ex, rule, data, loss, values, passes, chunk, progress)
    soft = np.empty(n)
    soft[order] = soft_o
    loss_u, sharpe_u = np.empty(len(first)), np.empty(len(first))
    loss_u[by_order], sharpe_u[by_order] = loss_o, sharpe_o
    inverse = inverse.reshape(-1)
    return soft, loss_u[inverse], sharpe_u[inverse]


#: Blocks per worker a parallel landscape aims at: enough to balance uneven blocks, few enough
#: that each task's batched passes dominate its overhead.
BLOCKS_PER_WORKER = 4


def _run_blocks(
    ex: Executor,
    rule: Rule,
    data: MarketData,
    loss: LossSpec,
    values: Mapping[str, np.ndarray],
    passes: list[tuple[np.ndarray, float]],
    chunk: int,
    progress: bool | None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`_run` of each ``(points, temperature)`` pass, as tasks of whole chunks.

    Every block is a run of consecutive chunks of its pass, cut where the serial pass cuts its
    chunks, so each point is evaluated in the same batch of points as in the serial run and
    every number is bit for bit the serial one."""
    total = sum(len(idx) for idx, _ in passes)
    per_task = chunk * max(1, -(-total // (chunk * BLOCKS_PER_WORKER * ex.n_workers)))
    tasks = [
        (p, lo, idx[lo : lo + per_task], tau)
        for p, (idx, tau) in enumerate(passes)
        for lo in range(0, len(idx), per_task)
    ]
    labels = [f"{'soft' if tau > 0 else 'hard'} points {lo}-{lo + len(sel) - 1}" for _, lo, sel, tau in tasks]
    shared = {"rule": rule, "data": data, "loss": loss, "values": dict(values), "chunk": chunk}
    parts = ex.map(
        _run_block,
        [(sel, tau) for _, _, sel, tau in tasks],
        shared=shared,
        labels=labels,
        desc="landscape blocks",
        progress=progress,
    )
    for part in parts:
        if isinstance(part, TaskFailure):
            raise part.error()
    out = []
    for p in range(len(passes)):
        mine = [part for (q, *_), part in zip(tasks, parts) if q == p]
        out.append(
            (np.concatenate([m[0] for m in mine]), np.concatenate([m[1] for m in mine]))
            if mine
            else (np.empty(0), np.empty(0))
        )
    return out


def _run_block(
    block: tuple[np.ndarray, float],
    *,
    rule: Rule,
    data: MarketData,
    loss: LossSpec,
    values: Mapping[str, np.ndarray],
    chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One task of :func:`_run_blocks`: the points ``idx`` at temperature ``tau``."""
    idx, tau = block
    return _run(rule, data, loss, values, idx, chunk, tau)


# ------------------------------------------------------------------------------------ result
@dataclass(repr=False)
class Landscape(Result):
    """What :func:`loss_landscape` returns.

    Attributes
    ----------
    x, y
        The two parameters varied; ``x_values``, ``y_values`` their grid values (natural units)
        and ``x_scale``, ``y_scale`` the spacing (``"linear"`` or ``"log"``).
    soft_loss, hard_loss
        Loss (``-objective``) shaped ``(len(y_values), len(x_values))`` (rows along ``y``, as
        matplotlib's ``contour`` expects): soft at ``config["temperature"]`` with smoothed
        costs, the loss gradient descent sees; hard at temperature 0 with exact costs.
    hard_sharpe
        Annualised Sharpe of the hard rule (sample std, as :func:`stratopt.backtesting`; zero
        spread gives 0 for a flat rule and +/-inf otherwise).
    critical_points
        One row per minimum, saddle or plateau of each surface (see
        :func:`find_critical_points`): ``surface``, ``kind``, both parameters, ``loss``,
        ``hard_sharpe``, ``grad_norm``, ``size``, ``edge``, ``ix``, ``iy``.
    global_min
        ``{"soft": {...}, "hard": {...}}``: each surface's lowest grid point with both
        parameters, ``loss``, ``hard_sharpe``, ``ix`` and ``iy``. The hard one is what a grid
        search would pick.
    fixed
        The other parameters, held at the rule's values.
    loss
        The :class:`~stratopt.LossSpec` both surfaces are scored with.
    config
        Rule, loss, temperature, grid, thresholds, data span and run time.
    """

    x: str
    y: str
    x_values: np.ndarray
    y_values: np.ndarray
    x_scale: Scale
    y_scale: Scale
    soft_loss: np.ndarray
    hard_loss: np.ndarray
    hard_sharpe: np.ndarray
    critical_points: pd.DataFrame
    global_min: dict[str, dict[str, float]]
    fixed: dict[str, float]
    config: dict[str, Any]
    loss: LossSpec
    _evaluator: Callable[[Mapping[str, np.ndarray]], tuple[np.ndarray, ...]] = field(repr=False)

    def evaluate(self, points: Mapping[str, Any]) -> pd.DataFrame:
        """Exact soft loss, hard loss and hard Sharpe at any points, in one batched pass.

        ``points`` maps parameter names to equal-length arrays; parameters left out keep the
        values in :attr:`fixed` (and the grid's ``x`` and ``y`` have no default).
        """
        given = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in points.items()}
        known = {self.x, self.y, *self.fixed}
        if set(given) - known or not {self.x, self.y} <= set(given):
            raise ConfigError(f"points {sorted(given)} must name {self.x!r} and {self.y!r}, and only {sorted(known)}")
        n = len(given[self.x])
        values = {**{k: np.full(n, v) for k, v in self.fixed.items()}, **given}
        soft, hard, sharpe = self._evaluator(values)
        return pd.DataFrame({**values, "soft_loss": soft, "hard_loss": hard, "hard_sharpe": sharpe})

    def compare(self, fit_result: FitResult) -> pd.DataFrame:
        """The seed idea: the grid's best points against where gradient descent started and ended.

        Rows ``grid best (hard)`` (what a grid search picks), ``grid best (soft)``, ``GD start``
        (the best start's parameters before the first step) and ``GD last epoch`` and ``GD
        selected`` (the fit's returned parameters). Every point is evaluated exactly on this landscape's data
        and settings; GD points keep every parameter the fit reached, including ones this
        landscape holds fixed.
        """
        hist = fit_result.history
        names = [self.x, self.y, *self.fixed]
        missing = [k for k in names if k not in hist.columns]
        if missing:
            raise ConfigError(f"the fit's history has no column(s) {missing}; fit the same rule as the landscape")
        rows = [
            {self.x: self.global_min[s][self.x], self.y: self.global_min[s][self.y], **self.fixed}
            for s in ("hard", "soft")
        ]
        first = (
            fit_result.initial_starts.loc[fit_result.best_start, names].to_dict()
            if fit_result.initial_starts is not None
            else hist.iloc[0][names].to_dict()
        )
        rows += [first, hist.iloc[-1][names].to_dict(), fit_result.rule.params]
        table = self.evaluate({k: [r[k] for r in rows] for k in names})
        label = "GD start" if fit_result.initial_starts is not None else "GD first epoch"
        table.index = pd.Index(
            ["grid best (hard)", "grid best (soft)", label, "GD last epoch", "GD selected"], name="point"
        )
        return table

    def summary(self, fit_result: FitResult | None = None) -> str:
        """Plain text: grid, global minima, critical point counts, and :meth:`compare` if a fit
        is given."""
        c = self.config
        fixed = ", ".join(f"{k}={v:.4g}" for k, v in self.fixed.items()) or "none"
        head = (
            f"Loss landscape of {c['rule']} over {self.x} x {self.y}: {len(self.x_values)} x "
            f"{len(self.y_values)} grid ({self.x_scale}/{self.y_scale} spacing) in {c['seconds']:.2f} s; "
            f"other parameters: {fixed}"
        )
        spec = self.loss
        data = (
            f"data: {', '.join(c['tickers'])}, {c['start']} to {c['end']} ({c['n_days']} days); loss = "
            f"-{spec.objective_name}, soft at temperature {c['temperature']:g}, hard at 0 with exact costs "
            f"({spec.cost_bps:g} bps, slippage {spec.slippage:g}, {spec.allocation}, {spec.position_mode})"
        )
        lines = [head, data, ""]
        for s in ("hard", "soft"):
            g = self.global_min[s]
            lines.append(
                f"grid best ({s}): {self.x}={g[self.x]:.4g}, {self.y}={g[self.y]:.4g}, {s} loss "
                f"{g['loss']:.4f}, hard Sharpe {g['hard_sharpe']:.3f}"
            )
        cp = self.critical_points
        counts = cp.groupby(["surface", "kind"]).size().unstack(fill_value=0) if len(cp) else pd.DataFrame()
        counts = counts.reindex(index=["soft", "hard"], columns=["minimum", "saddle", "plateau"], fill_value=0)
        lines += ["", "critical points on the grid:", counts.to_string()]
        low = cp[(cp["surface"] == "soft") & (cp["kind"] == "minimum")].nsmallest(5, "loss")
        if len(low):
            cols = [self.x, self.y, "loss", "hard_sharpe", "edge"]
            lines += ["", "lowest soft minima:", low[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")]
        if fit_result is not None:
            table = self.compare(fit_result)[[self.x, self.y, "soft_loss", "hard_loss", "hard_sharpe"]]
            lines += ["", "grid vs gradient descent:", table.to_string(float_format=lambda v: f"{v:.4g}")]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record: grids, both surfaces, hard Sharpe, critical points, minima, config."""
        return jsonable(
            {
                "x": self.x,
                "y": self.y,
                "x_scale": self.x_scale,
                "y_scale": self.y_scale,
                "x_values": self.x_values,
                "y_values": self.y_values,
                "soft_loss": self.soft_loss,
                "hard_loss": self.hard_loss,
                "hard_sharpe": self.hard_sharpe,
                "critical_points": self.critical_points.to_dict(orient="records"),
                "global_min": self.global_min,
                "fixed": self.fixed,
                "loss": self.loss.to_dict(),
                "config": self.config,
            }
        )

    def plot(self, ax: Axes | None = None, *, trajectory: FitResult | None = None, surface: Surface = "soft") -> Figure:
        """A 3D surface and a contour map side by side, critical points marked (two panels:
        ``ax`` must be None).

        ``trajectory`` overlays a fit's path (every start of a multi-start fit, the best one
        bold) with its first and last epochs marked; it belongs on the soft surface, the one
        gradient descent walks (at the fit's own temperatures).
        """
        from stratopt.analysis._landscape_plots import plot_landscape
        from stratopt.training import FitResult

        if isinstance(ax, FitResult):
            raise ConfigError("pass the fit as plot(trajectory=fit_result); the first argument is ax")
        no_axes(ax, "a 3D surface and a contour map")
        return plot_landscape(self, trajectory=trajectory, surface=surface)

    def __repr__(self) -> str:
        g = self.global_min["hard"]
        return (
            f"<Landscape: {self.x} x {self.y}, {len(self.x_values)} x {len(self.y_values)} grid, grid best "
            f"{self.x}={g[self.x]:.4g}, {self.y}={g[self.y]:.4g}, hard Sharpe {g['hard_sharpe']:.3f}>"
        )


# ------------------------------------------------------------------------------ entry point
def _axis(spec: Param, current: float, given: Any, n: int, spacing: Spacing) -> tuple[np.ndarray, Scale]:
    """Grid values of one parameter and their spacing (defaults: see :func:`loss_landscape`)."""
    if given is not None:
        try:
            lo, hi = (spec.check(v) for v in given)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"range {given!r} for {spec.name}: {exc}; give (low, high) inside the bounds") from None
    elif spec.transform == "sigmoid":
        pad = 0.02 * (spec.high - spec.low)
        lo, hi = (
            (math.floor(spec.low) + 1.0, math.ceil(spec.high) - 1.0)
            if spec.integer
            else (spec.low + pad, spec.high - pad)
        )
    elif spec.transform == "softplus":
        d = max(current - spec.low, 1e-3)
        lo, hi = spec.low + d / 20, spec.low + 4 * d
    else:
        lo, hi = current - 2 * max(abs(current), 1.0), current + 2 * max(abs(current), 1.0)
    if not lo < hi:
        raise ConfigError(f"range ({lo}, {hi}) for {spec.name} is empty; give low < high")
    if spacing == "auto":
        scale: Scale = "log" if (spec.scale == "log" or spec.unit == "days") and lo > 0 else "linear"
    else:
        scale = spacing
    if scale == "log":
        if lo <= 0:
            raise ConfigError(
                f"log spacing needs a positive range for {spec.name}, got ({lo}, {hi}); use spacing='linear'"
            )
        return np.geomspace(lo, hi, n), scale
    return np.linspace(lo, hi, n), scale


def _grid_shape(grid: int | tuple[int, int]) -> tuple[int, int]:
    shape = (grid, grid) if isinstance(grid, (int, np.integer)) else tuple(grid)
    if len(shape) != 2 or not all(isinstance(g, (int, np.integer)) and g >= 3 for g in shape):
        raise ConfigError(f"grid={grid!r} must be an integer >= 3 or a pair (nx, ny) of them")
    return int(shape[0]), int(shape[1])


def loss_landscape(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    x: str | None = None,
    y: str | None = None,
    *,
    grid: int | tuple[int, int] = 60,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    spacing: Spacing = "auto",
    loss: LossSpec | None = None,
    temperature: float = 0.1,
    chunk: int | None = None,
    min_depth: float = 0.25,
    stationary_within: float = 1.0,
    plateau_tol: float = 0.02,
    min_plateau: int = 9,
    dtype: torch.dtype = torch.float64,
    progress: bool | None = None,
    n_jobs: int | None = None,
    scheduler: str | Client | Executor | None = None,
) -> Landscape:
    """Soft and hard loss of ``rule`` over a grid of two parameters, the others held fixed.

    Every grid point is one start of a batched copy of the rule, so the grid is evaluated in
    batched passes of ``chunk`` points under ``torch.no_grad`` (memory stays bounded; no Python
    loop over grid points). Every return of ``prices`` counts, as in ``fit(validation=None)``.

    Parameters
    ----------
    rule
        A single-start rule; parameters other than ``x`` and ``y`` keep its current values.
    prices
        Price table (dates x tickers) or :class:`~stratopt.MarketData`.
    x, y
        Names of the two parameters (dotted names reach sub-rules, as in ``set_params``);
        default the rule's first parameter and its next one (for
        :class:`~stratopt.MACrossover`, ``fast`` and ``ratio``). Derived values such as the
        crossover's ``slow`` span are not axes: the grid is over the parameters themselves.
    grid
        Points per axis: ``n`` or ``(nx, ny)``.
    ranges
        ``{name: (low, high)}`` in natural units, strictly inside the parameter's bounds.
        Default: for bounded parameters the bounds less a margin (integer windows from the
        first to the last whole day strictly inside, e.g. 3 to 99 days for bounds (2, 100);
        others 2% of the range in from each bound); for a lower bound only, from
        ``low + d / 20`` to ``low + 4 d`` with ``d`` the current distance from the bound; for
        unbounded ones the current value +- 2 max(|value|, 1).
    spacing
        ``"auto"`` (default) spaces a parameter as it is optimised: logarithmically for
        ``Param(scale="log")`` and for windows in days (a window's effect scales with its log:
        5 vs 10 days differ as much as 100 vs 200), others linearly; ``"linear"`` or ``"log"``
        for both axes.
    loss
        Objective, costs, slippage, allocation and position mode (:class:`~stratopt.LossSpec`,
        default ``LossSpec()``): the loss is ``-loss.score(net returns)`` (penalties left out).
    temperature
        Temperature of the soft surface, > 0 (default 0.1, where ``fit`` ends its default
        annealing). The hard surface is the rule at temperature 0 with exact costs.
    chunk
        Grid points per batched pass; default about half a million (points x days x assets)
        elements, at least 16 points (63 points for one stock over 8,313 days). Tensors that
        size stay near the CPU cache, and square tiles of the grid that size still share most
        of their moving averages.
    min_depth, stationary_within, plateau_tol, min_plateau
        Thresholds of :func:`find_critical_points`, applied to both surfaces (``min_depth=0``
        keeps every minimum and saddle of the grid, however shallow).
    dtype
        Float type of the computation.
    progress
        A bar over the grid points in a terminal or Jupyter (default), False for none.
    n_jobs, scheduler
        Where the grid is evaluated (see :func:`stratopt.parallel.executor`): in this process
        by default; ``n_jobs=K`` on a local Dask cluster of K processes, or ``scheduler=`` an
        existing Dask scheduler. The grid is cut into blocks of whole chunks (about four per
        worker), so every point is evaluated in the same batch as serially: the surfaces are
        the serial ones bit for bit.

    Returns
    -------
    Landscape
        Grids, soft and hard loss, hard Sharpe, critical points and global minima.

    Examples
    --------
    >>> import stratopt
    >>> from stratopt.analysis import loss_landscape
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL"], start="2010")
    >>> land = loss_landscape(stratopt.MACrossover(), prices, grid=12, loss=stratopt.LossSpec(cost_bps=10))
    >>> land.hard_loss.shape
    (12, 12)
    >>> best = land.global_min["hard"]
    >>> bool(best["loss"] == land.hard_loss.min())
    True
    """
    x, y, specs = _check_landscape_args(rule, x, y, spacing, temperature, chunk, ranges)
    spec = resolve_loss(loss)
    nx, ny = _grid_shape(grid)
    data = as_market_data(prices, dtype=dtype)
    current = rule.params
    xs, x_scale = _axis(specs[x], current[x], (ranges or {}).get(x), nx, spacing)
    ys, y_scale = _axis(specs[y], current[y], (ranges or {}).get(y), ny, spacing)
    if chunk is None:
        chunk = max(16, 2**19 // (data.n_days * data.n_assets))
    evaluator = partial(_evaluate, copy.deepcopy(rule), data, temperature=float(temperature), loss=spec)
    began = time.perf_counter()
    with executor(n_jobs, scheduler) as ex:
        remote = None if isinstance(ex, SerialExecutor) else ex  # on Dask: a bar over blocks
        with closing(
            _progress.bar(total=2 * nx * ny, desc="landscape", progress=progress if remote is None else False)
        ) as bar:
            run = partial(evaluator, bar=bar, ex=remote, progress=progress)
            soft, hard, sharpe, tile = _surfaces(run, x, y, xs, ys, chunk)
    seconds = time.perf_counter() - began
    thresholds = {
        "min_depth": min_depth,
        "stationary_within": stationary_within,
        "plateau_tol": plateau_tol,
        "min_plateau": min_plateau,
    }
    critical, best = _critical_points(x, y, xs, ys, {"soft": soft, "hard": hard}, sharpe, thresholds)
    config = {
        "rule": type(rule).__name__,
        "temperature": float(temperature),
        "grid": [nx, ny],
        "chunk": tile,
        **thresholds,
        **_span(data),
        "seconds": seconds,
        "units": {x: specs[x].unit, y: specs[y].unit},
    }
    return Landscape(
        x=x,
        y=y,
        x_values=xs,
        y_values=ys,
        x_scale=x_scale,
        y_scale=y_scale,
        soft_loss=soft,
        hard_loss=hard,
        hard_sharpe=sharpe,
        critical_points=critical,
        global_min=best,
        fixed={k: current[k] for k in specs if k not in (x, y)},  # parameters, not derived values
        config=config,
        loss=spec,
        _evaluator=lambda values: evaluator(values, np.arange(len(next(iter(values.values())))), chunk),
    )


def _span(data: MarketData) -> dict[str, Any]:
    """Tickers, first and last date and number of days of ``data``."""
    return {
        "tickers": list(data.tickers),
        "start": str(data.dates[0].date()),
        "end": str(data.dates[-1].date()),
        "n_days": data.n_days,
    }


def _surfaces(
    evaluator: Callable[..., tuple[np.ndarray, ...]], x: str, y: str, xs: np.ndarray, ys: np.ndarray, chunk: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Soft loss, hard loss and hard Sharpe on the grid ``ys x xs``, in tiles; and the tile size."""
    order, tile = _tile_order(len(ys), len(xs), chunk)
    gx, gy = np.meshgrid(xs, ys)
    soft, hard, sharpe = (a.reshape(gx.shape) for a in evaluator({x: gx.ravel(), y: gy.ravel()}, order, tile))
    return soft, hard, sharpe, tile


def _check_landscape_args(
    rule: Rule,
    x: str | None,
    y: str | None,
    spacing: str,
    temperature: float,
    chunk: int | None,
    ranges: Mapping[str, tuple[float, float]] | None,
) -> tuple[str, str, dict[str, Param]]:
    """The two axes (defaults filled in) and the rule's parameter specs by name, once the
    arguments are checked."""
    check_rule(rule, "loss_landscape")
    specs = {name: spec for name, _, spec in rule.named_specs()}
    if (x is None or y is None) and len(specs) < 2:
        raise ConfigError(f"{type(rule).__name__} has parameters {sorted(specs)}; a landscape needs two")
    x = x if x is not None else next(iter(specs))
    y = y if y is not None else next(n for n in specs if n != x)
    for axis, name in (("x", x), ("y", y)):
        if name in rule.params and name not in specs:
            raise ConfigError(
                f"{axis}={name!r} is a value {type(rule).__name__} derives from its parameters; a landscape "
                f"varies the parameters themselves: {sorted(specs)}"
            )
        if name not in specs:
            raise ConfigError(f"{axis}={name!r} is not a parameter of {type(rule).__name__}; it has {sorted(specs)}")
    if x == y:
        raise ConfigError(f"x and y are both {x!r}; pick two different parameters of {sorted(specs)}")
    if spacing not in ("auto", "linear", "log"):
        raise ConfigError(f"spacing={spacing!r} is not one of 'auto', 'linear', 'log'")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ConfigError(f"temperature={temperature!r} must be finite and > 0 (the hard surface is temperature 0)")
    if chunk is not None and (not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise ConfigError(f"chunk={chunk!r} must be None or a positive integer")
    extra = sorted(set(ranges or {}) - {x, y})
    if extra:
        raise ConfigError(f"ranges names {extra}, which are not x={x!r} or y={y!r}")
    return x, y, specs


def _critical_points(
    x: str,
    y: str,
    xs: np.ndarray,
    ys: np.ndarray,
    surfaces: Mapping[str, np.ndarray],
    sharpe: np.ndarray,
    thresholds: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Critical points of each surface (one table) and each surface's lowest grid point."""
    tables, best = [], {}
    for name, z in surfaces.items():
        cp = find_critical_points(z, **thresholds)
        iy, ix = cp["iy"].to_numpy(int), cp["ix"].to_numpy(int)
        tables.append(cp.assign(surface=name, **{x: xs[ix], y: ys[iy]}, hard_sharpe=sharpe[iy, ix]))
        jy, jx = np.unravel_index(np.nanargmin(z), z.shape)
        best[name] = {
            x: float(xs[jx]),
            y: float(ys[jy]),
            "loss": float(z[jy, jx]),
            "hard_sharpe": float(sharpe[jy, jx]),
            "ix": int(jx),
            "iy": int(jy),
        }
    columns = ["surface", "kind", x, y, "loss", "hard_sharpe", "grad_norm", "size", "edge", "ix", "iy"]
    critical = pd.concat(tables, ignore_index=True).rename(columns={"value": "loss"})[columns]
    return critical, best
