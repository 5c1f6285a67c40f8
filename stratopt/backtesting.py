"""The exact backtest: the hard rule a trader runs, with exact costs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from stratopt import metrics as m
from stratopt._json import jsonable
from stratopt._market import MarketData, as_market_data
from stratopt._result import Result
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.rules._base import Rule

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    pass

__all__ = ["BacktestResult", "backtest"]


@dataclass(repr=False)
class BacktestResult(Result):
    """What :func:`backtest` returns.

    Attributes
    ----------
    positions
        Hard positions in [-1, 1] decided at each close (dates x tickers).
    holdings
        Positions times the capital allocation (what the portfolio holds).
    returns
        Net portfolio return earned over each date (from the previous close to this one).
    equity
        Compounded equity curve starting at 1.
    metrics
        Annual return and volatility, Sharpe, Sortino, max drawdown, Calmar, turnover, hit
        rate, exposure (see :mod:`stratopt.metrics` for conventions).
    """

    positions: pd.DataFrame
    holdings: pd.DataFrame
    returns: pd.Series
    equity: pd.Series
    metrics: dict[str, float]
    params: dict[str, float]
    loss: LossSpec

    def summary(self) -> str:
        """Parameters and metrics as plain text."""
        head = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        span = f"{self.returns.index[0].date()} to {self.returns.index[-1].date()}"
        body = pd.Series(self.metrics).to_string(float_format=lambda v: f"{v:.4f}")
        return f"hard backtest {span} ({self.loss.cost_bps:g} bps costs)\nparams: {head}\n{body}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: params, loss settings, period, metrics and the daily net returns."""
        return jsonable(
            {
                "params": self.params,
                "loss": self.loss.to_dict(),
                "start": self.returns.index[0],
                "end": self.returns.index[-1],
                "metrics": self.metrics,
                "returns": {str(k.date()): v for k, v in self.returns.items()},
            }
        )

    def plot(self, ax: Axes | None = None) -> Figure:
        """Equity curve and drawdown (two panels: ``ax`` is not supported)."""
        if ax is not None:
            raise ConfigError("BacktestResult.plot draws two panels; call it without ax and use the returned figure")
        from stratopt.plotting import new_figure

        fig = new_figure(figsize=(10, 5))
        ax_eq, ax_dd = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        ax_eq.plot(self.equity.index, self.equity.values)
        ax_eq.set(title=f"equity (Sharpe {self.metrics['sharpe']:.2f})", yscale="log")
        dd = self.equity / self.equity.cummax() - 1.0
        ax_dd.fill_between(dd.index, dd.values, 0.0, color="C3", alpha=0.5)
        ax_dd.set(ylabel="drawdown")
        return fig


def backtest(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    *,
    loss: LossSpec | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> BacktestResult:
    """Run the hard rule (temperature 0) with exact costs and report its performance.

    Positions are computed on all the prices given (earlier days serve as indicator warm-up);
    returns are reported for dates in ``[start, end]``. ``loss`` (a :class:`~stratopt.LossSpec`,
    default ``LossSpec()``: 5 bps, equal-risk allocation, long/short) gives the costs,
    allocation and position mode: pass the spec the rule was trained with. The position held over the first
    reported date was decided at the previous close, and its trade cost is charged then.

    Examples
    --------
    >>> import stratopt
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM"])
    >>> res = stratopt.backtest(stratopt.rules.MACrossover(fast=20, slow=100), prices, start="2000")
    >>> bool(abs(res.metrics["sharpe"] - res.returns.mean() / res.returns.std() * 252**0.5) < 1e-12)
    True
    """
    if not isinstance(rule, Rule):
        raise ConfigError(f"rule must be a stratopt Rule, got {type(rule).__name__}")
    rule.require_single("backtest")
    spec = loss if loss is not None else LossSpec()
    data = as_market_data(prices)
    with torch.no_grad():
        pos = spec.positions(rule, data, temperature=0.0)
        net = spec.returns(pos, data)[0]
        held = spec.holdings(pos, data)[0]
    dates = data.dates
    lo = pd.Timestamp(start) if start is not None else dates[0]
    hi = pd.Timestamp(end) if end is not None else dates[-1]
    keep = (dates[1:] >= lo) & (dates[1:] <= hi)
    if not keep.any():
        raise ConfigError(
            f"no trading days between start={start!r} and end={end!r}; the data covers "
            f"{dates[0].date()} to {dates[-1].date()}"
        )
    returns = pd.Series(net.cpu().numpy()[keep], index=dates[1:][keep], name="net_return")
    # holdings behind each reported return: those decided one close earlier
    held_np = held.cpu().numpy()
    idx = np.flatnonzero(keep)
    behind = held_np[idx]
    prev_behind = held_np[idx[0] - 1] if idx[0] > 0 else np.zeros(held_np.shape[1])
    trades_from = np.vstack([prev_behind, behind])
    metrics = m.performance(returns.to_numpy())
    trades = np.abs(np.diff(trades_from, axis=0)).sum(axis=1)
    exposure = np.abs(behind).sum(axis=1)
    metrics["turnover"] = float(trades.mean() * m.PERIODS_PER_YEAR)
    metrics["exposure"] = float(exposure.mean())
    active = exposure > 0
    metrics["hit_rate"] = float((returns.to_numpy()[active] > 0).mean()) if active.any() else float("nan")
    pos_frame = pd.DataFrame(pos[0].cpu().numpy(), index=dates, columns=list(data.tickers))
    held_frame = pd.DataFrame(held_np, index=dates, columns=list(data.tickers))
    equity = (1.0 + returns).cumprod().rename("equity")
    return BacktestResult(
        positions=pos_frame.loc[(dates >= lo) & (dates <= hi)],
        holdings=held_frame.loc[(dates >= lo) & (dates <= hi)],
        returns=returns,
        equity=equity,
        metrics=metrics,
        params=rule.params,
        loss=spec,
    )
