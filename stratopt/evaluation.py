"""The batched hard evaluator: every start of a rule scored as the hard rule, in one pass.

``evaluate(rule.with_params(table), prices)`` is what a grid, a random search, Optuna or
stratopt's own screen calls to score many parameter sets: positions at temperature 0, exact
costs under a :class:`~stratopt.LossSpec`, no gradients, starts processed in chunks so that
memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from stratopt._market import MarketData, as_market_data
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.metrics import PERIODS_PER_YEAR, sample_sharpe
from stratopt.rules._base import Rule

__all__ = ["evaluate", "hard_returns", "hard_scores"]

#: Starts per pass: bounds memory at about CHUNK x days x assets x 8 bytes per tensor.
CHUNK = 64
#: ... and fewer on large universes, so that one such tensor stays under 64 MiB (500 assets x
#: 2,000 days is 8 MB per start: 7 starts a pass, not 64 and half a gigabyte per tensor).
CHUNK_BYTES = 64 * 2**20


def _chunk(chunk: int, data: MarketData) -> int:
    per_start = data.n_days * data.n_assets * data.log_prices.element_size()
    return max(1, min(chunk, CHUNK_BYTES // max(per_start, 1)))


def evaluate(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    *,
    loss: LossSpec | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    chunk: int = CHUNK,
) -> pd.DataFrame:
    """Hard-rule metrics of every start of ``rule``, one row per start.

    Positions are computed over all of ``prices`` (earlier days warm indicators up); the
    metrics cover the returns earned over dates in ``[start, end]``.

    Returns
    -------
    pandas.DataFrame
        The parameters of each start, then ``objective`` (the spec's objective of the hard net
        returns, unannualised as the spec computes it), ``sharpe`` (annualised, sample std,
        as :func:`stratopt.metrics.sharpe_ratio`), ``annual_return``, ``max_drawdown``,
        ``turnover`` (annual, one-way), ``time_in_market`` (share of days with any position)
        and ``trades_per_year`` (changes of target holding per asset, per year).

    Examples
    --------
    >>> import stratopt
    >>> from stratopt.rules import MACrossover
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM"], end="2005-12-31")
    >>> grid = pd.DataFrame({"fast": [5, 10, 20], "slow": [40, 50, 100]})
    >>> table = stratopt.evaluate(MACrossover().with_params(grid), prices, start="1995")
    >>> list(table.columns[:3]), len(table)
    (['fast', 'ratio', 'slow'], 3)
    """
    if not isinstance(rule, Rule):
        raise ConfigError(f"rule must be a stratopt Rule, got {type(rule).__name__}")
    if not isinstance(chunk, int) or chunk < 1:
        raise ConfigError(f"chunk={chunk!r} must be a positive integer")
    spec = loss if loss is not None else LossSpec()
    data = as_market_data(prices)
    keep = _window(data, start, end)
    parts = []
    chunk = _chunk(chunk, data)
    for lo in range(0, rule.batch_size, chunk):
        part = rule.select_range(lo, min(lo + chunk, rule.batch_size)) if rule.batch_size > chunk else rule
        parts.append(_metrics(part.to(dtype=data.dtype), data, spec, keep))
    table = pd.concat(parts, ignore_index=True)
    table.index.name = "start"
    return pd.concat([rule.batch_params(), table], axis=1)


def hard_scores(rule: Rule, data: MarketData, spec: LossSpec, keep: Tensor | None = None, chunk: int = CHUNK) -> Tensor:
    """The spec's objective of each start's hard net returns (float64, on the CPU)."""
    out = []
    for r in _hard_chunks(rule, data, spec, chunk):
        out.append(spec.score(r if keep is None else r[:, keep]).double().cpu())
    return torch.cat(out)


def hard_returns(rule: Rule, data: MarketData, spec: LossSpec, chunk: int = CHUNK) -> Tensor:
    """Each start's hard net returns (batch, days - 1), on ``data``'s device and dtype."""
    return torch.cat(list(_hard_chunks(rule, data, spec, chunk)))


def _hard_chunks(rule: Rule, data: MarketData, spec: LossSpec, chunk: int) -> Iterator[Tensor]:
    """Hard net returns of the starts, a memory-bounded chunk of starts at a time."""
    chunk = _chunk(chunk, data)
    with torch.no_grad():
        for lo in range(0, rule.batch_size, chunk):
            part = rule.select_range(lo, min(lo + chunk, rule.batch_size)) if rule.batch_size > chunk else rule
            yield spec.rule_returns(part, data)


def _window(data: MarketData, start: str | pd.Timestamp | None, end: str | pd.Timestamp | None) -> Tensor:
    try:
        lo = pd.Timestamp(start) if start is not None else data.dates[0]
        hi = pd.Timestamp(end) if end is not None else data.dates[-1]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"start={start!r} / end={end!r} must be dates such as '2010-01-01'") from exc
    dates = data.dates[1:]
    keep = (dates >= lo) & (dates <= hi)
    if keep.sum() < 2:
        raise ConfigError(
            f"fewer than 2 trading days between start={start!r} and end={end!r}; the data covers "
            f"{data.dates[0].date()} to {data.dates[-1].date()}"
        )
    return torch.as_tensor(np.asarray(keep))


def _metrics(rule: Rule, data: MarketData, spec: LossSpec, keep: Tensor) -> pd.DataFrame:
    with torch.no_grad():
        pos = spec.positions(rule, data, temperature=0.0)
        r = spec.returns(pos, data)[:, keep].double()
        held = spec.holdings(pos, data).double()
        trades = torch.diff(held, dim=1, prepend=torch.zeros_like(held[:, :1]))[:, :-1][:, keep]
        behind = held[:, :-1][:, keep]  # holdings behind each counted return
        changes = torch.diff(torch.sign(pos), dim=1, prepend=torch.zeros_like(pos[:, :1]))[:, :-1][:, keep]
        objective = spec.score(r.to(pos.dtype)).double()
    n = r.shape[1]
    years = n / PERIODS_PER_YEAR
    growth = torch.log1p(r.clamp_min(-1.0 + 1e-15)).sum(1)
    equity = torch.cumsum(torch.log1p(r.clamp_min(-1.0 + 1e-15)), 1)
    peak = torch.cummax(torch.cat([torch.zeros_like(equity[:, :1]), equity], 1), 1).values[:, 1:]
    return pd.DataFrame(
        {
            "objective": objective.cpu().numpy(),
            "sharpe": sample_sharpe(r).cpu().numpy(),
            "annual_return": torch.expm1(growth / years).cpu().numpy(),
            "max_drawdown": torch.expm1((equity - peak).min(1).values).cpu().numpy(),
            "turnover": (trades.abs().sum(-1).mean(1) * PERIODS_PER_YEAR).cpu().numpy(),
            "time_in_market": (behind.abs().sum(-1) > 0).double().mean(1).cpu().numpy(),
            "trades_per_year": ((changes != 0).double().sum((1, 2)) / (years * pos.shape[-1])).cpu().numpy(),
        }
    )
