"""Score a large table of parameter sets with the hard evaluator, in blocks spread over workers."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pandas as pd

from stratopt.errors import ConfigError, StratoptError, StratoptWarning
from stratopt.evaluation import CHUNK, evaluate
from stratopt.loss import LossSpec
from stratopt.parallel._executor import Executor, TaskFailure, executor
from stratopt.rules._base import Rule

if TYPE_CHECKING:
    from distributed import Client

    from stratopt._market import MarketData

__all__ = ["evaluate_blocks"]


def evaluate_blocks(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    *,
    loss: LossSpec | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    block: int = 16 * CHUNK,
    n_jobs: int | None = None,
    scheduler: str | Client | Executor | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """:func:`stratopt.evaluate` of every start of ``rule``, one task per ``block`` starts.

    The table is the one ``evaluate(rule, prices, ...)`` returns, row for row and bit for bit:
    each block is a slice of the same batched rule and a multiple of the evaluator's chunk, so
    every start is scored in the same batch of starts as in one serial call. The prices go to
    each worker once.

    Parameters
    ----------
    rule
        A batched rule, one start per parameter set: ``rule.with_params(table)`` or
        ``rule.with_starts(n)``.
    prices, loss, start, end
        As for :func:`stratopt.evaluate`.
    block
        Starts per task, a multiple of 64 (the evaluator's chunk). Larger blocks send fewer
        tasks; smaller ones balance the load better across workers.
    n_jobs, scheduler
        Where the blocks run (see :func:`stratopt.parallel.executor`): serial by default.
    progress
        Progress over blocks (see :meth:`Executor.map`).

    Returns
    -------
    pandas.DataFrame
        As :func:`stratopt.evaluate`, indexed by start. A block that failed is left out, with a
        :class:`~stratopt.StratoptWarning` naming it; its failures are in ``table.attrs["failures"]``.

    Examples
    --------
    >>> import stratopt
    >>> from stratopt.parallel import evaluate_blocks
    >>> from stratopt.rules import MACrossover
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM"], end="2005-12-31")
    >>> grid = pd.DataFrame({"fast": [5, 10, 20], "slow": [40, 50, 100]})
    >>> rule = MACrossover().with_params(grid)
    >>> evaluate_blocks(rule, prices, block=64, progress=False).equals(stratopt.evaluate(rule, prices))
    True
    """
    if not isinstance(rule, Rule):
        raise ConfigError(f"rule must be a stratopt Rule, got {type(rule).__name__}")
    if isinstance(block, bool) or not isinstance(block, int) or block < CHUNK or block % CHUNK:
        raise ConfigError(f"block={block!r} must be a positive multiple of {CHUNK} (the evaluator's chunk of starts)")
    n = rule.batch_size
    spans = [(lo, min(lo + block, n)) for lo in range(0, n, block)]
    shared = {"rule": rule, "prices": prices, "loss": loss, "start": start, "end": end}
    labels = [f"starts {lo}-{hi - 1}" for lo, hi in spans]
    with executor(n_jobs, scheduler) as ex:
        parts = ex.map(_evaluate_block, spans, shared=shared, labels=labels, desc="evaluate blocks", progress=progress)
    failures = [p for p in parts if isinstance(p, TaskFailure)]
    tables = [p for p in parts if not isinstance(p, TaskFailure)]
    if not tables:
        raise StratoptError(f"all {len(spans)} blocks failed; the first: {failures[0]}")
    table = pd.concat(tables)
    if failures:
        warnings.warn(
            f"{len(failures)} of {len(spans)} blocks failed and are left out of the table ("
            + "; ".join(map(str, failures[:3]))
            + ("; ..." if len(failures) > 3 else "")
            + ')); see table.attrs["failures"]',
            StratoptWarning,
            stacklevel=2,
        )
        table.attrs["failures"] = [f.to_dict() for f in failures]
    return table


def _evaluate_block(span: tuple[int, int], *, rule: Rule, prices: Any, **options: Any) -> pd.DataFrame:
    lo, hi = span
    part = rule.select_range(lo, hi) if (lo, hi) != (0, rule.batch_size) else rule
    table = evaluate(part, prices, **options)
    table.index = pd.RangeIndex(lo, hi, name="start")
    return table
