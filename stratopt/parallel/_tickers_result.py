"""The result of :func:`stratopt.tune_tickers`: one row per ticker, and the tickers that failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stratopt._result import Result
from stratopt.parallel._executor import TaskFailure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["TuneTickersResult"]

_SHOWN = ["status", "in_sample_sharpe", "out_of_sample_sharpe", "out_of_sample_return"]


@dataclass(repr=False)
class TuneTickersResult(Result):
    """What :func:`stratopt.tune_tickers` returns.

    Attributes
    ----------
    table
        One row per ticker (or group) that completed, in the order of the input: fitted
        parameters in natural units, ``status``, ``in_sample_sharpe`` (hard rule, annualised,
        on the fit's training days; the mean over folds with walk-forward),
        ``out_of_sample_sharpe`` and ``out_of_sample_return`` (hard rule on the holdout or the
        stitched walk-forward test windows), ``oos_start`` and ``oos_end``; with walk-forward
        also ``n_folds`` and ``psr``.
    failures
        The tickers whose task raised, each with its error type, message and traceback.
    results
        Each completed ticker's :class:`~stratopt.FitResult` or
        :class:`~stratopt.WalkForwardResult`.
    config
        The estimator's settings, the walk-forward layout or holdout, and the groups.
    """

    table: pd.DataFrame
    failures: list[TaskFailure] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> pd.DataFrame:
        """The fitted parameters, one row per ticker."""
        names = [c for c in self.table.columns if c not in (*_SHOWN, "oos_start", "oos_end", "n_folds", "psr")]
        return self.table[names]

    def summary(self) -> str:
        n = len(self.table) + len(self.failures)
        how = "walk-forward" if self.config.get("walk_forward") else _holdout_text(self.config.get("holdout"))
        lines = [f"Per-ticker tuning: {len(self.table)} of {n} tickers tuned ({how})"]
        if len(self.table):
            shown = self.table[[*self.params.columns, *_SHOWN]].copy()
            shown["out_of_sample_return"] = shown["out_of_sample_return"].map(lambda v: f"{v:.1%}")
            lines.append(shown.to_string(float_format=lambda v: f"{v:.3g}"))
            ins, oos = self.table["in_sample_sharpe"], self.table["out_of_sample_sharpe"]
            lines.append(f"mean hard Sharpe ratio: in sample {ins.mean():.2f}, out of sample {oos.mean():.2f}")
        lines += [f"failed: {f}" for f in self.failures]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "failures": [f.to_dict() for f in self.failures],
            "config": self.config,
        }

    def plot(self, ax: Axes | None = None) -> Figure:
        """In-sample and out-of-sample hard Sharpe ratio of each ticker, side by side."""
        from stratopt.plotting import axes_or_new

        fig, ax = axes_or_new(ax, figsize=(10.0, max(3.0, 0.35 * len(self.table) + 1.0)))
        y = np.arange(len(self.table))
        ax.barh(y - 0.2, self.table["in_sample_sharpe"], height=0.4, label="in sample")
        ax.barh(y + 0.2, self.table["out_of_sample_sharpe"], height=0.4, label="out of sample")
        ax.set_yticks(y, [str(t) for t in self.table.index])
        ax.invert_yaxis()
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel("hard Sharpe ratio (annualised)")
        ax.set_title("Per-ticker tuning")
        ax.legend()
        return fig

    def __repr__(self) -> str:
        return f"<TuneTickersResult: {len(self.table)} tickers, {len(self.failures)} failed>"


def _holdout_text(holdout: Any) -> str:
    if holdout is None or holdout == 0:
        return "no holdout"
    if isinstance(holdout, float):
        return f"last {holdout:.0%} of each ticker's days held out"
    return f"held out from {holdout}"
