"""One execution layer for every fan-out: serial in-process by default, Dask when asked.

:func:`executor` turns a call's ``n_jobs`` / ``scheduler`` arguments into an :class:`Executor`
whose :meth:`~Executor.map` runs independent tasks and returns their results in input order,
with a :class:`TaskFailure` in place of a task that raised. Built on it: :func:`tune_tickers`
(the same rule fitted on many tickers) and :func:`evaluate_blocks` (a large table of parameter
sets scored in blocks). Dask is an optional extra: ``pip install 'stratopt[dask]'``.
"""

from stratopt.parallel._blocks import evaluate_blocks
from stratopt.parallel._executor import (
    DaskExecutor,
    Executor,
    SerialExecutor,
    TaskFailure,
    executor,
    inside_worker,
    usable_cores,
)
from stratopt.parallel._tickers import tune_tickers
from stratopt.parallel._tickers_result import TuneTickersResult

__all__ = [
    "DaskExecutor",
    "Executor",
    "SerialExecutor",
    "TaskFailure",
    "TuneTickersResult",
    "evaluate_blocks",
    "executor",
    "inside_worker",
    "tune_tickers",
    "usable_cores",
]
