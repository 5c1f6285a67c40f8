"""The exact backtest: the hard rule a trader runs, with exact costs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from stratopt import _trades as trading
from stratopt import metrics as m
from stratopt._json import jsonable
from stratopt._market import MarketData, as_market_data
from stratopt._result import Result
from stratopt._trades import TRADE_COLUMNS
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec, refuse_loss_settings
from stratopt.rules._base import Rule

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["BacktestResult", "backtest"]


_PERCENT = {"total_return", "annual_return", "annual_volatility", "max_drawdown", "hit_rate", "time_in_market"}
_COUNTS = {"n_days", "n_trades", "n_long_trades", "n_short_trades", "drawdown_days"}
_ROWS = [
    ("total_return", "total return"),
    ("annual_return", "annual return"),
    ("annual_volatility", "annual volatility"),
    ("sharpe", "Sharpe"),
    ("sortino", "Sortino"),
    ("max_drawdown", "max drawdown"),
    ("calmar", "Calmar"),
    ("turnover", "turnover (x/year)"),
    ("exposure", "exposure"),
    ("hit_rate", "hit rate (days)"),
    ("time_in_market", "time in market"),
    ("n_days", "days"),
]


def _fmt(key: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-" if value is None else f"{value}"
    if key in _PERCENT or key == "win_rate":
        return f"{value:.1%}"
    if key in _COUNTS:
        return f"{round(value):d}"
    return f"{value:.2f}"


def _date(value: pd.Timestamp | None) -> str:
    return "-" if value is None else str(value.date())


def _as_date(name: str, value: str | pd.Timestamp | None, dates: pd.DatetimeIndex) -> pd.Timestamp | None:
    """``start``/``end`` as a timestamp comparable with ``dates`` (a naive date is read in the
    index's timezone)."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as err:
        raise ConfigError(
            f"{name}={value!r} is not a date; pass a date such as '2010-01-04', '2010-01' or '2010' "
            "(ISO format, YYYY-MM-DD), or a pandas Timestamp"
        ) from err
    if stamp is pd.NaT or pd.isna(stamp):
        raise ConfigError(f"{name}={value!r} is not a date; pass a date such as '2010-01-04' (YYYY-MM-DD)")
    if dates.tz is not None:
        return stamp.tz_localize(dates.tz) if stamp.tz is None else stamp.tz_convert(dates.tz)
    return stamp.tz_localize(None) if stamp.tz is not None else stamp


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
        The rule's annual return and volatility, Sharpe, Sortino, max drawdown, Calmar,
        turnover, hit rate, exposure (see :mod:`stratopt.metrics` for conventions), and from
        its trades: ``n_trades``, ``n_long_trades``, ``n_short_trades``, ``win_rate`` (share of
        trades with a positive return), ``avg_holding_days``, ``time_in_market`` (share of days
        with any position) and ``drawdown_days`` (peak to trough of the worst drawdown).
    params
        The rule's parameters (natural values).
    loss
        The spec of costs, allocation and position mode used.
    benchmark_returns, benchmark_metrics
        Buy-and-hold of the same assets on the same dates: long every listed asset, with the
        same allocation and costs, bought at the close before the first reported date.
    trades
        One row per trade (see :func:`stratopt._trades.trade_table`): ticker, side, entry and
        exit close, days held and return (the asset's, signed by the side, before costs).
    drawdown
        Peak, trough and recovery dates of the rule's worst drawdown (``None`` where there is
        none, or no recovery before the end).
    hard_params
        The parameters as the hard rule uses them (windows as whole days).
    """

    positions: pd.DataFrame
    holdings: pd.DataFrame
    returns: pd.Series
    equity: pd.Series
    metrics: dict[str, float]
    params: dict[str, float]
    loss: LossSpec
    benchmark_returns: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    benchmark_metrics: dict[str, float] = field(default_factory=dict)
    trades: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TRADE_COLUMNS))
    drawdown: dict[str, pd.Timestamp | None] = field(default_factory=dict)
    hard_params: dict[str, float] = field(default_factory=dict)

    @property
    def benchmark_equity(self) -> pd.Series:
        """Compounded equity of buy-and-hold, starting at 1."""
        return (1.0 + self.benchmark_returns).cumprod().rename("benchmark_equity")

    def summary(self) -> str:
        """Parameters as traded, the rule beside buy-and-hold, its trades and worst drawdown."""
        shown = self.hard_params or self.params
        head = ", ".join(f"{k}={v:.4g}" for k, v in shown.items())
        span = f"{self.returns.index[0].date()} to {self.returns.index[-1].date()}"
        spec = self.loss
        lines = [
            f"hard backtest {span} ({spec.cost_bps:g} bps costs, {spec.allocation} allocation, {spec.position_mode})",
            f"params: {head}",
        ]
        rule_col = [_fmt(k, self.metrics.get(k)) for k, _ in _ROWS]
        bench_col = [_fmt(k, self.benchmark_metrics.get(k)) for k, _ in _ROWS]
        table = pd.DataFrame({"rule": rule_col, "buy & hold": bench_col}, index=[name for _, name in _ROWS])
        lines.append(table.to_string())
        mt = self.metrics
        trades = (
            f"trades: {_fmt('n_trades', mt.get('n_trades'))} ({_fmt('n_trades', mt.get('n_long_trades'))} long, "
            f"{_fmt('n_trades', mt.get('n_short_trades'))} short), win rate {_fmt('win_rate', mt.get('win_rate'))}, "
            f"average holding {mt.get('avg_holding_days', math.nan):.1f} days"
        )
        lines.append(trades)
        dd = self.drawdown
        if dd.get("peak") is not None:
            back = _date(dd.get("recovery")) if dd.get("recovery") is not None else "not recovered"
            lines.append(
                f"worst drawdown {_fmt('max_drawdown', mt.get('max_drawdown'))}: peak {_date(dd['peak'])}, "
                f"trough {_date(dd['trough'])}, recovered {back}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: params (natural and as traded), loss settings, period, metrics of the rule
        and of buy-and-hold, trades, worst drawdown dates and both daily net return series."""
        trades = self.trades.assign(
            entry=[str(d.date()) for d in self.trades["entry"]], exit=[str(d.date()) for d in self.trades["exit"]]
        )
        return jsonable(
            {
                "params": self.params,
                "hard_params": self.hard_params,
                "loss": self.loss.to_dict(),
                "start": self.returns.index[0],
                "end": self.returns.index[-1],
                "metrics": self.metrics,
                "benchmark_metrics": self.benchmark_metrics,
                "drawdown": {k: (None if v is None else str(v.date())) for k, v in self.drawdown.items()},
                "trades": trades.to_dict(orient="records"),
                "returns": {str(k.date()): v for k, v in self.returns.items()},
                "benchmark_returns": {str(k.date()): v for k, v in self.benchmark_returns.items()},
            }
        )

    def plot(self, ax: Axes | None = None) -> Figure:
        """Equity of the rule and of buy-and-hold (log scale), and the rule's drawdown (two
        panels: ``ax`` is not supported)."""
        if ax is not None:
            raise ConfigError("BacktestResult.plot draws two panels; call it without ax and use the returned figure")
        from matplotlib.ticker import PercentFormatter

        from stratopt.plotting import new_figure, plain_log_axis

        fig = new_figure(figsize=(10, 5))
        ax_eq, ax_dd = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        sharpe, bench = self.metrics["sharpe"], self.benchmark_metrics.get("sharpe", math.nan)
        ax_eq.plot(self.equity.index, self.equity.values, color="C0", lw=1.2, label=f"rule (Sharpe {sharpe:.2f})")
        if len(self.benchmark_returns):
            be = self.benchmark_equity
            ax_eq.plot(be.index, be.values, color="0.5", lw=1.0, label=f"buy & hold (Sharpe {bench:.2f})")
        ax_eq.axhline(1.0, color="0.8", lw=0.8, zorder=0)
        plain_log_axis(ax_eq)
        ax_eq.set(title=f"rule Sharpe {sharpe:.2f} vs buy & hold {bench:.2f}", ylabel="equity (log scale)")
        ax_eq.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        dd = self.equity / self.equity.cummax().clip(lower=1.0) - 1.0
        ax_dd.fill_between(dd.index, dd.values, 0.0, color="C3", alpha=0.5, label="rule drawdown")
        ax_dd.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax_dd.set(ylabel="drawdown")
        ax_dd.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return fig


def backtest(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    *,
    loss: LossSpec | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    **unknown: Any,
) -> BacktestResult:
    """Run the hard rule (temperature 0) with exact costs and report its performance.

    Positions are computed on all the prices given (earlier days serve as indicator warm-up);
    returns are reported for dates in ``[start, end]``. ``loss`` (a :class:`~stratopt.LossSpec`,
    default ``LossSpec()``: 5 bps, equal-risk allocation, long/short) gives the costs,
    allocation and position mode: pass the spec the rule was trained with. The position held over the first
    reported date was decided at the previous close, and its trade cost is charged then.

    Beside the rule, buy-and-hold of the same assets is run on the same dates (long every
    listed asset from the close before the first reported date, same allocation and costs), and
    the rule's hard positions are cut into trades (see :class:`BacktestResult`).

    Examples
    --------
    >>> import stratopt
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM"])
    >>> res = stratopt.backtest(stratopt.rules.MACrossover(fast=20, slow=100), prices, start="2000")
    >>> bool(abs(res.metrics["sharpe"] - res.returns.mean() / res.returns.std() * 252**0.5) < 1e-12)
    True
    >>> int(res.metrics["n_trades"]) == len(res.trades), list(res.trades.columns)
    (True, ['ticker', 'side', 'entry', 'exit', 'days', 'return'])
    """
    if not isinstance(rule, Rule):
        raise ConfigError(f"rule must be a stratopt Rule, got {type(rule).__name__}")
    refuse_loss_settings(unknown, where="backtest", known=("loss", "start", "end"))
    rule.require_single("backtest")
    spec = loss if loss is not None else LossSpec()
    data = as_market_data(prices)
    dates = data.dates
    lo = _as_date("start", start, dates)
    hi = _as_date("end", end, dates)
    lo = dates[0] if lo is None else lo
    hi = dates[-1] if hi is None else hi
    keep = (dates[1:] >= lo) & (dates[1:] <= hi)
    if not keep.any():
        raise ConfigError(
            f"no trading days between start={start!r} and end={end!r}; the data covers "
            f"{dates[0].date()} to {dates[-1].date()}"
        )
    idx = np.flatnonzero(keep)  # net return k is earned from close k to close k + 1
    with torch.no_grad():
        pos = spec.positions(rule, data, temperature=0.0)
        net = spec.returns(pos, data)[0]
        held = spec.holdings(pos, data)[0]
        # buy-and-hold: long every listed asset, bought at the close before the first reported date
        bh_pos = data.tradable.to(pos.dtype).clone()
        bh_pos[: idx[0]] = 0.0
        bh_net = spec.returns(bh_pos[None], data)[0]
        bh_held = spec.holdings(bh_pos[None], data)[0]
    report_dates = dates[1:][keep]
    returns = pd.Series(net.cpu().numpy()[keep], index=report_dates, name="net_return")
    bench = pd.Series(bh_net.cpu().numpy()[keep], index=report_dates, name="benchmark_return")

    # holdings and positions behind each reported return: those decided one close earlier
    def before_first(values: np.ndarray) -> np.ndarray:
        return values[idx[0] - 1] if idx[0] > 0 else np.zeros(values.shape[1])

    held_np = held.cpu().numpy()
    bh_held_np = bh_held.cpu().numpy()
    metrics = m.performance(returns.to_numpy())
    metrics.update(trading.activity(held_np[idx], before_first(held_np), returns.to_numpy()))
    benchmark_metrics = m.performance(bench.to_numpy())
    benchmark_metrics.update(trading.activity(bh_held_np[idx], before_first(bh_held_np), bench.to_numpy()))

    pos_np = pos[0].cpu().numpy()
    asset_ret = data.returns.cpu().numpy()
    trades = trading.trade_table(pos_np[idx], asset_ret[idx + 1], dates[np.append(idx, idx[-1] + 1)], data.tickers)
    metrics.update(trading.trade_stats(trades))
    equity = (1.0 + returns).cumprod().rename("equity")
    start_equity = pd.concat([pd.Series([1.0], index=dates[idx[:1]]), equity])
    drawdown, dd_days = trading.drawdown_dates(start_equity)
    metrics["drawdown_days"] = float(dd_days)

    table = rule.param_table()
    hard_params = {
        k: float(table.at[k, "hard"]) if k in table.index and math.isfinite(table.at[k, "hard"]) else v
        for k, v in rule.params.items()
    }
    in_window = (dates >= lo) & (dates <= hi)
    return BacktestResult(
        positions=pd.DataFrame(pos_np, index=dates, columns=list(data.tickers)).loc[in_window],
        holdings=pd.DataFrame(held_np, index=dates, columns=list(data.tickers)).loc[in_window],
        returns=returns,
        equity=equity,
        metrics=metrics,
        params=rule.params,
        loss=spec,
        benchmark_returns=bench,
        benchmark_metrics=benchmark_metrics,
        trades=trades,
        drawdown=drawdown,
        hard_params=hard_params,
    )
