"""Credit assignment: which parameters, days and trades drive the gradient of the Sharpe ratio.

The objective depends on a rule's parameters only through its positions ``w[t, i]`` (asset
``i``, decided at the close of day ``t``), so the chain rule splits every parameter's gradient
into one exact term per (day, asset)::

    dS/dp = sum_{t, i} dS/dw[t, i] * dw[t, i]/dp

``dS/dw`` comes from one backward pass; ``dw/dp`` from one forward-mode (dual number) pass per
parameter (reverse-over-reverse where forward mode fails, see :mod:`stratopt.analysis._jvp`),
so the whole attribution costs a few passes, not one backward pass per day.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from stratopt import _progress
from stratopt._json import jsonable
from stratopt._market import MarketData, as_market_data
from stratopt._result import Result
from stratopt.analysis._common import (
    check_positive_temperature,
    check_rule,
    no_axes,
    position_gradient,
    resolve_loss,
)
from stratopt.analysis._jvp import SpecPositions, attribute
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.metrics import sample_sharpe
from stratopt.rules._base import Rule
from stratopt.rules._mlp import MLPPolicy

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["CreditResult", "credit_assignment"]


@dataclass(frozen=True)
class _Direction:
    """One attributed quantity: a natural parameter, or a group of weights (a layer) whose
    gradient is projected on its own direction."""

    name: str
    kind: str  # "param" or "layer"
    tensors: tuple[tuple[str, nn.Parameter], ...]  # (qualified name for functional_call, tensor)
    unit: str


def _directions(rule: Rule, qualname: dict[int, str]) -> list[_Direction]:
    """Natural parameters first, then each MLP layer, then any other weight tensor.

    ``qualname`` maps each tensor (by id) to its name in the module the Jacobians are taken of.
    """
    out, seen = [], set()
    for name, owner, spec in rule.named_specs():
        raw = owner._raw[spec.name]
        if not raw.requires_grad:  # frozen by the user: nothing to attribute
            continue
        out.append(_Direction(name, "param", ((qualname[id(raw)], raw),), spec.unit))
        seen.add(id(raw))
    for prefix, module in rule.named_modules():
        if isinstance(module, MLPPolicy):
            for i, pair in enumerate(module.layer_parameters()):
                live = tuple((qualname[id(t)], t) for t in pair if t.requires_grad)
                if live:
                    out.append(_Direction(f"{prefix + '.' if prefix else ''}layer {i + 1}", "layer", live, "norm"))
                seen |= {id(t) for t in pair}
    for name, p in rule.named_parameters():
        if id(p) not in seen and p.requires_grad:
            out.append(_Direction(name, "layer", ((qualname[id(p)], p),), "norm"))
    return out


def _natural_scale(rule: Rule, name: str) -> tuple[float, float]:
    """Natural value of parameter ``name`` and d(natural)/d(raw) at the current raw value."""
    owner, spec = next((o, s) for n, o, s in rule.named_specs() if n == name)
    raw = owner._raw[spec.name].detach().clone().requires_grad_(True)
    nat = spec.to_natural(raw)
    (scale,) = torch.autograd.grad(nat.sum(), raw)
    return float(nat.detach()[0]), float(scale[0])


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a table whose index carries nothing, as JSON-ready records; decision and
    earning dates as ``YYYY-MM-DD`` (None for the last day's missing next day)."""
    out = df.copy()
    for col in ("decided", "earned"):
        if col in out:
            out[col] = [None if pd.isna(d) else f"{d:%Y-%m-%d}" for d in out[col]]
    return jsonable(out.to_dict(orient="records"))


@dataclass(repr=False)
class CreditResult(Result):
    """What :func:`credit_assignment` returns.

    Attributes
    ----------
    params
        One row per attributed quantity: ``kind`` (``"param"`` or ``"layer"``), ``value``
        (natural units; for a layer the norm of its weights and biases), ``unit``, ``gradient``
        (dS/dp in natural units; for a layer the norm of its gradient), ``sensitivity`` (change
        of S for a 1% increase of the value, ``gradient * 0.01 * value``; for a layer, for a
        move of 1% of its norm along its gradient), ``method`` (``"forward"`` or
        ``"reverse-over-reverse"``, how ``dw/dp`` was differentiated) and ``residual`` (gradient
        minus the sum of the attributions: float64 round-off).
    by_date
        Contributions summed over assets, one row per decision date (see Notes of
        :func:`credit_assignment`), one column per parameter; each column sums to ``gradient``.
    by_asset
        Contributions summed over days, one row per ticker.
    top_days, top_trades
        The ``top`` days (summed over assets) and (day, asset) trades with the largest
        ``|contribution|`` for each parameter; ``decided`` is the decision date, ``earned`` the
        next trading day, when the position's return is realised.
    contributions
        The full attribution array, shape (parameters, days, assets).
    loss
        The :class:`~stratopt.LossSpec` whose objective was attributed.
    hard_sharpe
        Annualised Sharpe ratio of the hard rule (temperature 0, exact costs; sample std).
    """

    rule: str
    temperature: float
    value: float
    hard_sharpe: float
    params: pd.DataFrame
    by_date: pd.DataFrame
    by_asset: pd.DataFrame
    top_days: pd.DataFrame
    top_trades: pd.DataFrame
    contributions: np.ndarray
    loss: LossSpec = field(default_factory=LossSpec)

    @property
    def objective(self) -> str:
        """Name of the attributed objective."""
        return self.loss.objective_name

    def summary(self, *, rows: int = 5) -> str:
        """Plain text: parameters with gradients and sensitivities, then each one's top days."""
        lines = [
            (
                f"credit assignment of {self.rule}: soft {self.objective} {self.value:.4f} at temperature "
                f"{self.temperature:g}, hard Sharpe {self.hard_sharpe:.4f}, {len(self.by_date)} days x "
                f"{len(self.by_asset)} assets"
            ),
            "gradient = d(objective)/d(parameter); sensitivity = change of the objective for +1% of the value",
            self.params.to_string(float_format=lambda v: f"{v:.4g}"),
        ]
        for name, group in self.top_days.groupby("param", sort=False):
            lines.append(f"top days for {name} (decided -> earned: contribution, share of gradient)")
            for row in group.head(rows).itertuples():
                lines.append(
                    f"  {row.decided:%Y-%m-%d} -> {row.earned:%Y-%m-%d}: {row.contribution:+.4g} ({row.share:+.1%})"
                )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: headline numbers, loss, parameter table, top days and trades, per-asset
        totals.

        The per-date series is left out (thousands of rows); write ``by_date`` to CSV instead.
        """
        return jsonable(
            {
                "rule": self.rule,
                "objective": self.objective,
                "loss": self.loss.to_dict(),
                "temperature": self.temperature,
                "value": self.value,
                "hard_sharpe": self.hard_sharpe,
                "params": _records(self.params.reset_index()),
                "top_days": _records(self.top_days),
                "top_trades": _records(self.top_trades),
                "by_asset": {c: self.by_asset[c] for c in self.by_asset},
            }
        )

    def plot(self, ax: Axes | None = None, *, label: int = 3) -> Figure:
        """Sensitivity bars per parameter, and each parameter's attribution through time with
        its ``label`` largest days marked (several panels: ``ax`` must be None)."""
        from stratopt.analysis._credit_plots import plot_credit

        no_axes(ax, "sensitivity bars and one panel per parameter")
        return plot_credit(self, label=label)


def credit_assignment(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    *,
    loss: LossSpec | None = None,
    temperature: float = 0.1,
    top: int = 10,
    progress: bool | None = None,
) -> CreditResult:
    """Attribute the gradient of a rule's soft objective to parameters, days and trades.

    Parameters
    ----------
    rule
        A single-start rule at the parameters to explain (e.g. ``fit(...).rule``); left unchanged.
    prices
        Price table (dates x tickers) or :class:`~stratopt.MarketData` (used in float64).
    loss
        Objective, costs, allocation and position mode (:class:`~stratopt.LossSpec`, default
        ``LossSpec()``): the attributed quantity is ``loss.score`` of the soft net returns
        (smoothed costs, as in training; the spec's penalties are not included). Pass the spec
        the rule was trained with.
    temperature
        Softness of the rule (> 0); the default 0.1 is :func:`stratopt.fit`'s final one.
    top
        How many days and trades to list per parameter.
    progress
        A bar over the parameters in a terminal or Jupyter (default), False for none.

    Returns
    -------
    CreditResult
        Gradients, sensitivities, attributions by date, asset and trade, and plots.

    Notes
    -----
    The contribution of (day ``t``, asset ``i``) to parameter ``p`` is
    ``dS/dw[t, i] * dw[t, i]/dp``; they sum to ``dS/dp`` exactly (to round-off). It is
    labelled with the **decision date** ``t``, the close at which position ``w[t, i]`` is set;
    that position earns the return from ``t`` to ``t+1`` (column ``earned`` of the tables), and
    ``dS/dw[t, i]`` also holds the cost of trading into it (charged in the same period) and out of
    it the next day. The last day's position earns nothing and gets no credit. A positive
    contribution means that raising ``p`` raises the objective through that day's position, so
    gradient ascent on the objective (descent on the loss) pushes ``p`` up because of that day.
    The positions ``w`` are those the spec trades (after its position mode).

    For an :class:`~stratopt.MLPPolicy` each layer (weights and biases together) is one row:
    its gradient ``G`` is projected on its own direction ``u = G / |G|``, so the contributions are
    ``dS/dw[t, i] * (dw[t, i]/dtheta . u)`` and sum to ``|G|``; one forward-mode pass per layer
    gives them, with no per-sample gradients.

    Each parameter's ``dw/dp`` comes from forward-mode AD when its attributions add up to the
    reverse-mode gradient, and from reverse-over-reverse AD otherwise (column ``method``), so
    the sum is exact either way.

    Examples
    --------
    >>> from stratopt import LossSpec, MACrossover, load_prices
    >>> from stratopt.analysis import credit_assignment
    >>> prices = load_prices("sp500", tickers=["AAPL", "MSFT"], start="2010", end="2014")
    >>> credit = credit_assignment(MACrossover(fast=20, slow=100), prices, loss=LossSpec(cost_bps=10), top=3)
    >>> bool(abs(credit.by_date["fast"].sum() - credit.params.loc["fast", "gradient"]) < 1e-9)
    True
    """
    check_rule(rule, "credit_assignment")
    temperature = check_positive_temperature(temperature)
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ConfigError(f"top={top!r} must be a positive integer, e.g. 10")
    spec = resolve_loss(loss)
    data = as_market_data(prices, dtype=torch.float64)
    model = copy.deepcopy(rule).to(dtype=torch.float64, device=data.device)
    target = SpecPositions(model, spec)
    dirs = _directions(model, {id(p): n for n, p in target.named_parameters()})
    if not dirs:
        raise ConfigError(f"{type(rule).__name__} has no trainable parameters to attribute")
    value, g, grad_of, w = _gradients(target, data, temperature, dirs)
    table, c = _attribute_all(target, data, temperature, g, grad_of, dirs, progress=progress)
    with torch.no_grad():
        hard_sharpe = float(sample_sharpe(spec.rule_returns(model, data, temperature=0.0))[0])
    names = list(table.index)
    by_date = pd.DataFrame(c.sum(axis=2).T, index=data.dates.rename("decided"), columns=names)
    return CreditResult(
        rule=type(rule).__name__,
        temperature=temperature,
        value=value,
        hard_sharpe=hard_sharpe,
        params=table,
        by_date=by_date,
        by_asset=pd.DataFrame(c.sum(axis=1).T, index=pd.Index(data.tickers, name="ticker"), columns=names),
        top_days=_top_days(by_date, table["gradient"], data.dates, int(top)),
        top_trades=_top_trades(c, names, w, data, int(top)),
        contributions=c,
        loss=spec,
    )


def _gradients(
    target: SpecPositions, data: MarketData, temperature: float, dirs: list[_Direction]
) -> tuple[float, Tensor, dict[int, Tensor], np.ndarray]:
    """Soft objective, its gradient with respect to the positions ``g``, each attributed
    tensor's gradient (by id) and the positions, from one forward and two backward passes."""
    positions = target(data, temperature=temperature)
    value, g = position_gradient(positions, data, target.loss)
    tensors = [p for d in dirs for _, p in d.tensors]
    grads = torch.autograd.grad(positions, tensors, grad_outputs=g, allow_unused=True)
    grad_of = {id(p): (torch.zeros_like(p) if gr is None else gr.detach()) for p, gr in zip(tensors, grads)}
    return value, g, grad_of, positions.detach()[0].cpu().numpy()


def _attribute_all(
    target: SpecPositions,
    data: MarketData,
    temperature: float,
    g: Tensor,
    grad_of: dict[int, Tensor],
    dirs: list[_Direction],
    *,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The parameter table and the contributions (parameters, days, assets) of every direction."""
    rows, contrib = [], []
    for d in _progress.bar(dirs, desc="credit", progress=progress):
        if d.kind == "param":
            ((qual, raw),) = d.tensors
            natural, scale = _natural_scale(target.rule, d.name)
            # tangent 1 / (dnatural/draw): the jvp is then dw/d(natural value)
            tangent = {qual: (raw, torch.full_like(raw, 1.0 / scale))}
            gradient = float(grad_of[id(raw)][0]) / scale
            row = (d.name, d.kind, natural, d.unit, gradient, gradient * 0.01 * natural)
        else:
            norm = math.sqrt(sum(float((grad_of[id(p)] ** 2).sum()) for _, p in d.tensors))
            size = math.sqrt(sum(float((p.detach() ** 2).sum()) for _, p in d.tensors))
            unit_dir = 1.0 / norm if norm > 0 else 0.0
            tangent = {q: (p, grad_of[id(p)] * unit_dir) for q, p in d.tensors}
            row = (d.name, d.kind, size, d.unit, norm, norm * 0.01 * size)
        c_d, method = attribute(target, data, temperature, g[0], row[4], tangent)
        contrib.append(c_d)
        rows.append((*row, method))
    c = np.stack(contrib)  # (K, T, N)
    table = pd.DataFrame(rows, columns=["param", "kind", "value", "unit", "gradient", "sensitivity", "method"])
    table = table.set_index("param")
    table["residual"] = table["gradient"].to_numpy() - c.sum(axis=(1, 2))
    return table, c


def _earned(dates: pd.DatetimeIndex, idx: np.ndarray) -> pd.DatetimeIndex:
    """The trading day after each decision date (NaT for the last day)."""
    nxt = np.append(dates.values[1:], np.datetime64("NaT"))
    return pd.DatetimeIndex(nxt[idx])


def _largest(values: np.ndarray, k: int) -> Iterator[int]:
    """Indices of the ``k`` largest ``|values|``, largest first."""
    k = min(k, values.size)
    idx = np.argpartition(-np.abs(values), k - 1)[:k]
    return iter(idx[np.argsort(-np.abs(values[idx]), kind="stable")])


def _top_days(by_date: pd.DataFrame, gradient: pd.Series, dates: pd.DatetimeIndex, k: int) -> pd.DataFrame:
    frames = []
    for name in by_date.columns:
        v = by_date[name].to_numpy()
        idx = np.fromiter(_largest(v, k), dtype=np.int64)
        total = float(gradient[name])
        frames.append(
            pd.DataFrame(
                {
                    "param": name,
                    "rank": np.arange(1, idx.size + 1),
                    "decided": dates[idx],
                    "earned": _earned(dates, idx),
                    "contribution": v[idx],
                    "share": v[idx] / total if total != 0 else np.nan,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _top_trades(c: np.ndarray, names: list[str], w: np.ndarray, data: MarketData, k: int) -> pd.DataFrame:
    r_next = np.zeros_like(w)
    r_next[:-1] = data.returns[1:].cpu().numpy()  # the return each position earns
    n_assets = c.shape[2]
    frames = []
    for j, name in enumerate(names):
        flat = np.fromiter(_largest(c[j].reshape(-1), k), dtype=np.int64)
        t, i = flat // n_assets, flat % n_assets
        frames.append(
            pd.DataFrame(
                {
                    "param": name,
                    "rank": np.arange(1, flat.size + 1),
                    "decided": data.dates[t],
                    "earned": _earned(data.dates, t),
                    "ticker": np.asarray(data.tickers, dtype=object)[i],
                    "position": w[t, i],
                    "next_return": r_next[t, i],
                    "contribution": c[j, t, i],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
