"""The result of a walk-forward run: folds, stitched out-of-sample returns, baselines, luck."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from stratopt import metrics as m
from stratopt._json import jsonable
from stratopt._result import Result
from stratopt.errors import ConfigError
from stratopt.stats import PBOResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from stratopt.rules._base import Rule

__all__ = ["WalkForwardResult"]

#: Median fold-to-fold move of a parameter, as a share of its mean level, above which the
#: parameters are called unstable in the summary.
UNSTABLE_MOVE = 0.25


@dataclass(repr=False)
class WalkForwardResult(Result):
    """What :func:`stratopt.walk_forward` returns.

    Costs are a stated approximation: like every stratopt return, the out-of-sample returns
    are charged for changes of the target holdings only, not for the trades that keep drifting
    weights at their targets between two days (``h[t] (1 + r[t+1]) / (1 + R[t+1])`` drifts away
    from ``h[t]``; rebalancing it back is not charged). Measured on the bundled ``sp500`` data
    (20 assets, 1990-01-02 to 2022-12-28, 8313 days) with ``MACrossover()`` hard long/short
    positions, equal-risk allocation and 5 bps: the uncharged drift rebalancing would cost
    about 16 bps a year (3.2 turnover a year) against 51 bps a year charged (10.3 turnover a
    year), i.e. costs are understated by about a third of their charged size, roughly 0.16 %
    of annual return; long-only, 8 bps uncharged against 29 bps charged.

    Attributes
    ----------
    folds
        One row per fold: first and last train dates (an anchored run's train windows all
        start on the first date and grow) and test dates, fitted parameters (natural units),
        status, train soft/hard Sharpe, test hard Sharpe and return, annual turnover, and
        ``selection_dsr``: the
        deflated Sharpe ratio of the fold's in-sample selection (the selected start's train
        Sharpe ratio deflated for picking it among the fold's starts, with the variance of the
        starts' train Sharpe ratios; Bailey and Lopez de Prado 2014, section "The Deflated
        Sharpe Ratio"); NaN with one start.
    oos_returns
        Stitched out-of-sample net returns of the hard rule.
    baselines
        ``buy_and_hold`` and ``untuned`` (the rule as given) on the same dates.
    candidates
        Out-of-sample returns of every start of every fold (columns: start index), the matrix
        behind the probability of backtest overfitting.
    regimes
        Out-of-sample performance by causally labelled regime (volatility terciles, trend).
    psr
        The headline luck statistic: probabilistic Sharpe ratio of the stitched out-of-sample
        returns against a true Sharpe ratio of 0, i.e. the probability that the out-of-sample
        Sharpe ratio is not luck, given the track record's length, skewness and kurtosis
        (Bailey and Lopez de Prado 2012, "The Sharpe Ratio Efficient Frontier", Journal of Risk
        15(2), section "Probabilistic Sharpe Ratio"). NaN for a flat series.
    dsr
        Deflated Sharpe ratio of the out-of-sample Sharpe after comparing ``n_trials``
        walk-forward configurations (Bailey and Lopez de Prado 2014, "The Deflated Sharpe
        Ratio", Journal of Portfolio Management 40(5), section "The Deflated Sharpe Ratio").
        With ``n_trials=1`` (the default) it equals ``psr``. Otherwise the variance of the
        compared configurations' Sharpe ratios is stood in for by the spread of this run's
        starts' train Sharpe ratios, pooled within folds (see
        :func:`~stratopt.model_selection._walk_forward.trial_variance`).
    n_trials
        Number of walk-forward configurations compared, as given to :func:`walk_forward`.
    pbo
        CSCV probability of backtest overfitting over the candidates (None with one start).
    failures
        One record per fold whose fit raised (independent folds only: ``warm_start=False``, no
        drift penalty): ``fold``, its train and test dates, ``error_type``, ``message`` and
        ``traceback``. Its test window is missing from ``oos_returns`` and every statistic;
        empty when every fold completed.
    fold_rules
        Each completed fold's fitted rule (the selected start), every weight as trained, in
        the order of ``folds``. Not part of :meth:`to_dict`.
    history
        Every fold's training history: one row per fold, start and epoch (losses, Sharpe
        ratios, gradient norm, rate, temperature, parameters), whether the folds ran here, on
        Dask workers or were read back from a checkpoint. Not part of :meth:`to_dict`.
    """

    folds: pd.DataFrame
    oos_returns: pd.Series
    baselines: dict[str, pd.Series]
    candidates: pd.DataFrame
    param_names: list[str]
    regimes: pd.DataFrame
    psr: float
    dsr: float
    pbo: PBOResult | None
    n_trials: int
    config: dict[str, Any] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    fold_rules: list[Rule] = field(default_factory=list, repr=False)
    history: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def oos_equity(self) -> pd.Series:
        """Compounded out-of-sample equity, starting at 1."""
        return (1.0 + self.oos_returns).cumprod().rename("equity")

    @property
    def metrics(self) -> dict[str, float]:
        """Hard out-of-sample metrics (see :mod:`stratopt.metrics`)."""
        return m.performance(self.oos_returns.to_numpy())

    def baseline_metrics(self) -> pd.DataFrame:
        """Metrics of the strategy and each baseline side by side."""
        cols = {"walk-forward": self.metrics}
        cols.update({k: m.performance(v.to_numpy()) for k, v in self.baselines.items()})
        return pd.DataFrame(cols)

    @property
    def stability(self) -> pd.DataFrame:
        """Per parameter: mean, std and median absolute fold-to-fold move (also relative)."""
        rows = {}
        for p in self.param_names:
            v = self.folds[p].astype(float)
            move = v.diff().abs().dropna()
            level = float(v.abs().mean())
            rows[p] = {
                "mean": float(v.mean()),
                "std": float(v.std(ddof=0)),
                "median_move": float(move.median()) if len(move) else 0.0,
                "relative_move": float(move.median() / level) if len(move) and level > 0 else 0.0,
            }
        return pd.DataFrame(rows).T

    def unstable_params(self) -> list[str]:
        """Parameters whose median fold-to-fold move exceeds 25% of their mean level."""
        st = self.stability
        return [p for p in st.index if st.loc[p, "relative_move"] > UNSTABLE_MOVE]

    def summary(self) -> str:
        """Fold table (with each fold's selection DSR), out-of-sample metrics against baselines,
        PSR, DSR (saying when it equals the PSR), PBO and warnings."""
        fmt = {"float_format": lambda v: f"{v:.3f}"}
        cols = [
            "train_start",
            "train_end",
            "test_start",
            "test_end",
            *self.param_names,
            "status",
            "train_hard_sharpe",
            "test_sharpe",
            "test_return",
            "selection_dsr",
        ]
        folds = self.folds[[c for c in cols if c in self.folds.columns]].copy()
        for c in ("train_start", "train_end", "test_start", "test_end"):
            if c in folds.columns:
                folds[c] = pd.to_datetime(folds[c]).dt.date
        table = self.baseline_metrics().loc[["sharpe", "annual_return", "annual_volatility", "max_drawdown"]]
        lines = [
            f"walk-forward of {self.config.get('rule', 'rule')}: {len(self.folds)} folds, "
            f"{self.oos_returns.index[0].date()} to {self.oos_returns.index[-1].date()} out of sample",
            "",
            folds.to_string(**fmt),
            "",
            table.to_string(**fmt),
            *([f"short last fold: {self.config['short_last_fold']}"] if self.config.get("short_last_fold") else []),
            *[
                f"missing: fold {f['fold']} (test {pd.Timestamp(f['test_start']).date()} to "
                f"{pd.Timestamp(f['test_end']).date()}) failed with {f['error_type']}: {f['message']}; its test "
                "window is not in the out-of-sample returns"
                for f in self.failures
            ],
            "",
            f"probabilistic Sharpe ratio (out-of-sample Sharpe > 0): {self.psr:.3f}"
            if math.isfinite(self.psr)
            else "probabilistic Sharpe ratio: n/a (flat out-of-sample returns)",
            self._dsr_line(),
            f"probability of backtest overfitting: {self.pbo.pbo:.3f} (CSCV over {self.candidates.shape[1]} starts)"
            if self.pbo is not None
            else "probability of backtest overfitting: n/a (needs n_starts >= 2)",
        ]
        unstable = self.unstable_params()
        if unstable:
            lines.append(
                f"warning: {', '.join(unstable)} moved by more than {UNSTABLE_MOVE:.0%} of their level from "
                "fold to fold (median); a rule refitted to very different values each period is fitting noise"
            )
        if not self.regimes.empty:
            reg = self.regimes[[c for c in self.regimes.columns if c.endswith("sharpe") or c == "days"]]
            lines += ["", "out-of-sample Sharpe by regime (labels from past data only):", reg.to_string(**fmt)]
        return "\n".join(lines)

    def _dsr_line(self) -> str:
        if self.n_trials == 1:
            return (
                f"deflated Sharpe ratio: {self.dsr:.3f}, equal to the PSR with n_trials=1 (one walk-forward "
                "configuration); pass n_trials=<number of configurations you compared> to deflate"
                if math.isfinite(self.dsr)
                else "deflated Sharpe ratio: n/a (flat out-of-sample returns)"
            )
        if math.isfinite(self.dsr):
            return f"deflated Sharpe ratio: {self.dsr:.3f} ({self.n_trials} walk-forward configurations compared)"
        return (
            f"deflated Sharpe ratio: n/a ({self.n_trials} configurations compared, but the spread of their "
            "Sharpe ratios is unknown: it is estimated from n_starts >= 2, or from 2 or more folds)"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: folds (with ``selection_dsr``), oos metrics, baselines, regime table, PSR,
        DSR and ``n_trials``, PBO, config."""
        folds = self.folds.copy()
        for c in ("train_start", "train_end", "test_start", "test_end"):
            folds[c] = pd.to_datetime(folds[c]).dt.strftime("%Y-%m-%d")
        regimes = self.regimes.reset_index().to_dict(orient="records") if not self.regimes.empty else []
        return jsonable(
            {
                "folds": folds.reset_index().to_dict(orient="records"),
                "oos_metrics": self.metrics,
                "baselines": {k: m.performance(v.to_numpy()) for k, v in self.baselines.items()},
                "regimes": regimes,
                "stability": self.stability.reset_index(names="param").to_dict(orient="records"),
                "unstable_params": self.unstable_params(),
                "psr": self.psr,
                "dsr": self.dsr,
                "n_trials": self.n_trials,
                "pbo": self.pbo.pbo if self.pbo is not None else None,
                "config": self.config,
                "failures": self.failures,
            }
        )

    def plot(self, ax: Axes | None = None) -> Figure:
        """Stitched equity against baselines with folds shaded; params per fold; regime bars
        (three panels: ``ax`` is not supported)."""
        if ax is not None:
            raise ConfigError("WalkForwardResult.plot draws three panels; call it without ax")
        from stratopt.model_selection._wf_plots import plot_walk_forward

        return plot_walk_forward(self)
