"""The result of a fit: trained rule, history, status, soft and hard metrics."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from stratopt import metrics as m
from stratopt._market import MarketData
from stratopt.pnl import Allocation, net_returns
from stratopt.rules._base import Rule

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from stratopt.training._config import Split

__all__ = ["FitResult", "Status", "evaluate_rule"]

Status = Literal["converged", "early_stopped", "max_epochs", "diverged"]


def evaluate_rule(
    rule: Rule,
    data: MarketData,
    split: Split,
    *,
    temperature: float,
    objective: Callable[..., Tensor],
    objective_kwargs: dict[str, Any],
    cost_bps: float,
    slippage: float,
    allocation: Allocation,
    train_keep: Tensor | None = None,
) -> dict[str, dict[str, float]]:
    """Soft (at ``temperature``, smoothed costs) and hard (temperature 0, exact costs) Sharpe and
    objective on the train days and, if any, the validation days. Positions are computed over
    all days (causal), so validation days use train days as indicator warm-up only.
    ``train_keep`` selects the train returns that count (warm-up days excluded)."""
    out: dict[str, dict[str, float]] = {}
    with torch.no_grad():
        soft = net_returns(
            rule(data, temperature=temperature),
            data,
            cost_bps=cost_bps,
            slippage=slippage,
            allocation_scheme=allocation,
            smooth=True,
        )[0]
        hard = net_returns(
            rule(data, temperature=0.0), data, cost_bps=cost_bps, slippage=slippage, allocation_scheme=allocation
        )[0]
    windows = {"train": slice(0, split.n_train - 1)}
    if split.has_validation:
        windows["validation"] = slice(split.n_train - 1, split.n_days - 1)
    for name, sl in windows.items():
        s, h = soft[sl], hard[sl]
        if name == "train" and train_keep is not None:
            s, h = s[train_keep], h[train_keep]
        out[name] = {
            "soft_sharpe": m.sharpe_ratio(s.cpu().numpy()),
            "hard_sharpe": m.sharpe_ratio(h.cpu().numpy()),
            "soft_objective": float(objective(s.unsqueeze(0), **objective_kwargs)[0]),
            "hard_objective": float(objective(h.unsqueeze(0), **objective_kwargs)[0]),
            "hard_annual_return": m.annual_return(h.cpu().numpy()),
        }
        out[name]["sharpe_gap"] = out[name]["soft_sharpe"] - out[name]["hard_sharpe"]
    return out


@dataclass
class FitResult:
    """What :func:`stratopt.fit` returns.

    Attributes
    ----------
    rule
        The trained rule (the best start), ready for :func:`stratopt.backtest`.
    batch_rule
        Every start after training, as one batched rule (candidates for overfitting tests).
    history
        One row per epoch for the best start: loss, train/validation soft Sharpe, gradient
        norm, learning rate, temperature and every parameter in natural units.
    history_all
        The same for every start, with a ``start`` column (optimiser paths of a multi-start).
    starts
        Final parameters of every start, its monitored loss and the epoch it diverged (-1: no).
    initial_starts
        Parameters of every start before the first step (``history`` rows are after each step).
    status
        ``"converged"``, ``"early_stopped"``, ``"max_epochs"`` or ``"diverged"``.
    metrics
        ``{"train": {...}, "validation": {...}}`` with soft and hard Sharpe and their gap.
    """

    rule: Rule
    batch_rule: Rule
    history: pd.DataFrame
    history_all: pd.DataFrame
    starts: pd.DataFrame
    best_start: int
    status: Status
    diverged_at: int | None
    metrics: dict[str, dict[str, float]]
    config: dict[str, Any]
    data_hash: str
    initial_starts: pd.DataFrame | None = None
    version: str = field(default_factory=lambda: _version())

    @property
    def params(self) -> dict[str, float]:
        """Trained parameters of the best start, in natural units."""
        return self.rule.params

    def summary(self) -> str:
        """A plain-text report: status, parameters with units, soft and hard metrics."""
        lines = [
            f"{self.config['rule']} fit: {self.status}"
            + (f" at epoch {self.diverged_at}" if self.diverged_at is not None else "")
            + f" after {len(self.history)} epochs ({self.config['optimizer']}, lr={self.config['lr']},"
            f" {self.config['n_starts']} start(s), best start {self.best_start})",
            "",
            self.rule.param_table()[["value", "hard", "unit", "low", "high"]].to_string(
                float_format=lambda v: f"{v:.4g}"
            ),
            "",
        ]
        n_weights = sum(p.numel() for p in self.rule.parameters()) - len(self.params)
        if n_weights:
            lines.insert(-1, f"plus {n_weights} unstructured weights (a neural policy's), not shown")
        table = pd.DataFrame(self.metrics).T[["soft_sharpe", "hard_sharpe", "sharpe_gap", "hard_annual_return"]]
        lines.append(table.to_string(float_format=lambda v: f"{v:.3f}"))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record: params, status, metrics, config, package version and data hash."""
        return _jsonable(
            {
                "params": self.params,
                "status": self.status,
                "diverged_at": self.diverged_at,
                "best_start": self.best_start,
                "epochs_run": len(self.history),
                "metrics": self.metrics,
                "config": self.config,
                "stratopt_version": self.version,
                "data_hash": self.data_hash,
            }
        )

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    def plot(self) -> Figure:
        """Loss, soft Sharpe (train and validation) and parameters over the epochs."""
        from stratopt.training._plots import plot_fit

        return plot_fit(self)

    def __repr__(self) -> str:
        return f"FitResult(status={self.status!r}, params={self.params}, epochs={len(self.history)})"


def _version() -> str:
    from stratopt import __version__

    return __version__


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
