"""Executors: where a fan-out of independent tasks runs (in process, or on Dask).

Every fan-out of the package (walk-forward folds, learning-rate and rule comparisons, landscape
blocks, screening blocks, per-ticker tuning) goes through :meth:`Executor.map`, so that the same
call runs serially in process, on a local Dask cluster of ``n_jobs`` worker processes, or on a
remote Dask cluster, with the same results in the same order.

:func:`executor` chooses:

- ``executor()`` (``n_jobs=None`` or ``1``): :class:`SerialExecutor`, a plain loop in this
  process. No thread, no process, no Dask import: the default never hides multiprocessing.
- ``executor(n_jobs=K)``: a ``distributed.LocalCluster`` of ``K`` worker processes with one
  thread each, each limiting torch to its share of the cores; ``n_jobs=-1`` uses every core.
  The cluster belongs to the executor and is closed with it.
- ``executor(scheduler="tcp://host:8786")`` or ``executor(scheduler=client)``: an existing Dask
  scheduler (its address, or a ``distributed.Client``). A client passed in is never closed.

Failures are data, not exceptions: a task that raises comes back as a :class:`TaskFailure`
(error type, message, traceback) in its place, and the other tasks complete. A worker process
that dies (killed, out of memory, a crash in native code) is not a task failure: the Dask
scheduler re-runs its tasks on the remaining or restarted workers, up to its
``distributed.scheduler.allowed-failures`` setting (3 by default); only a task that keeps
killing workers comes back as a ``KilledWorker`` failure. Shared inputs that died with the
only worker holding them are scattered again and the tasks that needed them re-run.
``Client.submit(retries=)`` is not used: it re-runs tasks that *raised*, and a stratopt task
that raises fails the same way again.

Results equal the serial run's: each task gets the same inputs and seed wherever it runs. They
are bit for bit the same although a worker runs torch with fewer threads than this process
(checked by the tests for per-ticker tuning and block evaluation); a computation whose rounding
depended on torch's thread count would differ in its last bits, never more.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stratopt import _progress
from stratopt.errors import ConfigError

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["DaskExecutor", "Executor", "SerialExecutor", "TaskFailure", "executor", "inside_worker", "usable_cores"]


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised instead of returning: stands in its place in :meth:`Executor.map`'s list.

    Attributes
    ----------
    index
        Position of the task's item in the input.
    label
        The task's name for people (a ticker, ``"fold 3"``, ``"block 2"``).
    error_type, message
        The exception's class name and text.
    traceback
        The formatted traceback, as raised where the task ran (a worker, or this process).
    """

    index: int
    label: str
    error_type: str
    message: str
    traceback: str

    def __str__(self) -> str:
        return f"{self.label}: {self.error_type}: {self.message}"

    def error(self) -> Exception:
        """The error to raise for this failure in the caller: the task's own stratopt error type
        or built-in exception type with its message (so that ``except ConfigError`` still
        works across processes), else a :class:`~stratopt.StratoptError`; the task's label and
        traceback are attached as a note."""
        import builtins

        from stratopt import errors

        kind = getattr(errors, self.error_type, None) or getattr(builtins, self.error_type, None)
        exc: Exception
        if isinstance(kind, type) and issubclass(kind, Exception) and kind.__module__ in (errors.__name__, "builtins"):
            try:
                exc = kind(self.message)
            except Exception:  # an exception type that takes other arguments
                exc = errors.StratoptError(str(self))
        else:
            exc = errors.StratoptError(str(self))
        note = f"raised by task {self.label!r}:\n{self.traceback}".rstrip()
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]  # add_note: 3.11+
        return exc

    def to_dict(self) -> dict[str, Any]:
        """The failure as a JSON-ready record."""
        return {
            "index": self.index,
            "label": self.label,
            "error_type": self.error_type,
            "message": self.message,
            "traceback": self.traceback,
        }


#: Times the tasks whose shared inputs were lost with a dead worker are sent again with the
#: inputs re-scattered (Dask re-runs a dead worker's tasks itself, but scattered data held only
#: by that worker is gone and the tasks that need it are cancelled).
LOST_DATA_ROUNDS = 3

#: Dask starts workers with ``MALLOC_TRIM_THRESHOLD_`` set, which makes glibc stop adapting its
#: mmap threshold: every tensor over 128 KiB is then a fresh mmap, and a fit costs about twice
#: the CPU time (measured: 0.60 s against 0.28 s for a 20-epoch fit on one stock). A fixed
#: threshold of 32 MiB (glibc's largest) gives back the speed of a plain process.
MALLOC_FIX = {"MALLOC_MMAP_THRESHOLD_": 32 * 2**20}

#: Thread counts that numerical libraries read from the environment when they load.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def usable_cores() -> int:
    """The number of CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Caught:
    """A task's outcome and the warnings it raised, sent back for the caller to raise again."""

    outcome: Any
    warnings: list[tuple[type[Warning], str]]


def _run_task(
    fn: Callable[..., Any], item: Any, index: int, label: str, shared: Mapping[str, Any], capture: bool = False
) -> Any:
    """Call ``fn(item, **shared)``; an exception becomes a :class:`TaskFailure` (run on the worker,
    so that Dask sees a finished task and never re-runs a deterministic error). With ``capture``
    the warnings the call raises are recorded and returned with its outcome (:class:`_Caught`)."""
    if not capture:
        return _call(fn, item, index, label, shared)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = _call(fn, item, index, label, shared)
    return _Caught(outcome, [(w.category, str(w.message)) for w in caught])


def _call(fn: Callable[..., Any], item: Any, index: int, label: str, shared: Mapping[str, Any]) -> Any:
    try:
        return fn(item, **shared)
    except Exception as exc:
        return TaskFailure(index, label, type(exc).__name__, str(exc), traceback.format_exc())


def inside_worker() -> bool:
    """True when this code runs inside a Dask worker (a task of some executor's map)."""
    if sys.modules.get("distributed") is None:  # not imported: no Dask task can be running here
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


class Executor:
    """Runs independent tasks and returns their results in input order.

    Use it as a context manager (``with executor(n_jobs=2) as ex: ...``) so that a cluster it
    started is closed when the block ends, even on an error or Ctrl-C.
    """

    #: Number of tasks that can run at once.
    n_workers: int = 1

    def map(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        *,
        shared: Mapping[str, Any] | None = None,
        labels: Sequence[str] | None = None,
        desc: str = "tasks",
        progress: bool | None = None,
        on_result: Callable[[int, Any], None] | None = None,
        capture_warnings: bool | str = False,
    ) -> list[Any]:
        """``[fn(item, **shared) for item in items]``, each call a task.

        Parameters
        ----------
        fn
            The task: a function of one item and the shared inputs as keyword arguments. On Dask
            it is pickled (cloudpickle), so a module-level function is best; it must not change
            the shared inputs (in process they are the caller's own objects).
        items
            One item per task: small values (a ticker, a fold's indices, a block of rows).
        shared
            Inputs every task needs (prices, the estimator), by keyword. On Dask each is sent to
            the workers once per executor (``Client.scatter``), not once per task.
        labels
            A name per item for progress lines and failures (default ``"<desc> <k>"``).
        desc
            What the tasks are, for the progress bar (``"walk-forward folds"``).
        progress
            ``None`` (a bar on a terminal or in Jupyter, one line per task in a log), ``True``
            (always a bar), ``False`` (nothing); see :mod:`stratopt._progress`.
        on_result
            Called here, in the calling process, as each task finishes (in the order they
            finish): ``on_result(index, outcome)`` with the item's position and its result or
            :class:`TaskFailure`; for per-task progress lines or saving results as they come.
        capture_warnings
            ``True``: record the warnings each task raises where it runs (a worker's warnings
            otherwise go to that worker's log) and raise them again here as each task finishes,
            in the same categories, once every task has finished and in the order of ``items``
            (so that serial and Dask runs warn alike); ``"label"`` does the same with the task's
            label before each message (``"AAPL: ..."``). ``False`` (default): warnings are left
            alone.

        Returns
        -------
        list
            ``fn``'s result for each item, in the order of ``items``, or a :class:`TaskFailure`
            where the task raised.
        """
        items = list(items)
        names = _labels(labels, len(items), desc)
        if capture_warnings not in (True, False, "label"):
            raise ConfigError(f"capture_warnings={capture_warnings!r} must be True, False or 'label'")
        with _Progress(len(items), desc, progress, on_result, capture_warnings) as bar:
            out = self._map(fn, items, dict(shared or {}), names, bar)
        for i in sorted(bar.caught):  # raised here, in input order, whatever order they finished in
            for category, message in bar.caught[i]:
                warnings.warn(f"{names[i]}: {message}" if bar.prefix else message, category, stacklevel=2)
        return out

    def _map(
        self, fn: Callable[..., Any], items: list[Any], shared: dict[str, Any], labels: list[str], bar: _Progress
    ) -> list[Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what this executor started (nothing for a serial or borrowed one)."""

    def borrowed(self) -> Executor:
        """This executor for a callee that must not close it: ``close()`` on it does nothing."""
        return self

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs the tasks one after another in this process: the default, and the reference result."""

    def _map(
        self, fn: Callable[..., Any], items: list[Any], shared: dict[str, Any], labels: list[str], bar: _Progress
    ) -> list[Any]:
        out = []
        for i, item in enumerate(items):
            out.append(bar.done(i, labels[i], _run_task(fn, item, i, labels[i], shared, bar.capture)))
        return out

    def __repr__(self) -> str:
        return "SerialExecutor()"


class DaskExecutor(Executor):
    """Runs the tasks on a Dask cluster through a ``distributed.Client``.

    Build it with :func:`executor` rather than directly. ``owned`` lists what :meth:`close`
    shuts down (the client and cluster it started); a borrowed copy shares the client and the
    scattered inputs and closes nothing.
    """

    def __init__(self, client: Client, *, owned: Sequence[Any] = (), scattered: dict[str, Future] | None = None):
        self.client = client
        self._owned = list(owned)
        self._scattered: dict[str, Future] = {} if scattered is None else scattered

    @property
    def n_workers(self) -> int:  # type: ignore[override]
        return max(1, sum(self.client.nthreads().values()))

    def _map(
        self, fn: Callable[..., Any], items: list[Any], shared: dict[str, Any], labels: list[str], bar: _Progress
    ) -> list[Any]:
        from distributed import as_completed

        prefix = re.sub(r"[^A-Za-z0-9]+", "-", bar.desc).strip("-") or "task"
        out: list[Any] = [None] * len(items)
        todo = list(range(len(items)))
        submitted: list[Future] = []
        try:
            for attempt in range(LOST_DATA_ROUNDS + 1):
                remote = {name: self._scatter(value) for name, value in shared.items()}
                futures = {
                    self._submit(fn, items[i], i, labels[i], remote, f"{prefix}-{attempt}", bar.capture): i
                    for i in todo
                }
                submitted = list(futures)
                lost = []
                for fut in as_completed(submitted, loop=self.client.loop):
                    i = futures[fut]
                    if fut.status == "cancelled" and attempt < LOST_DATA_ROUNDS:
                        lost.append(i)  # its shared inputs died with a worker: send them again
                    else:
                        out[i] = bar.done(i, labels[i], self._outcome(fut, i, labels[i]))
                    fut.release()
                if not lost:
                    break
                todo = sorted(lost)
        except BaseException:  # Ctrl-C or a lost connection: stop the work, free the cluster
            self.client.cancel(submitted)
            self.close()
            raise
        return out

    def _submit(
        self,
        fn: Callable[..., Any],
        item: Any,
        index: int,
        label: str,
        remote: dict[str, Future],
        prefix: str,
        capture: bool,
    ) -> Future:
        from dask.base import tokenize

        # The key names the task for the dashboard and hashes what it computes: the same call
        # gives the same keys, and two different tasks never share one.
        token = tokenize(fn, item, label, capture, sorted((k, f.key) for k, f in remote.items()))
        return self.client.submit(
            _run_task, fn, item, index, label, remote, capture, key=f"stratopt-{prefix}-{index}-{token}", pure=False
        )

    @staticmethod
    def _outcome(fut: Future, index: int, label: str) -> Any:
        """The task's result, or a TaskFailure for what Dask itself reports (a task that kept
        killing workers, a function the workers could not unpickle, a cancelled task)."""
        if fut.status == "finished":
            return fut.result()
        if fut.status == "cancelled":
            return TaskFailure(index, label, "CancelledError", "the task was cancelled on the cluster", "")
        exc = fut.exception()
        tb = "".join(traceback.format_tb(fut.traceback())) if fut.traceback() is not None else ""
        return TaskFailure(index, label, type(exc).__name__, str(exc), tb)

    def _scatter(self, value: Any) -> Future:
        """``value`` on every worker, sent once per executor (keyed by a hash of its content)."""
        from dask.base import tokenize

        token = tokenize(value)
        known = self._scattered.get(token)
        if known is None or known.status != "finished":  # new, or lost with the workers that held it
            # In a list, so that a list or dict value is scattered whole. Broadcast puts a copy on
            # every worker at once (Dask's memory manager may later keep fewer).
            self._scattered[token] = self.client.scatter([value], broadcast=True, hash=False)[0]
        return self._scattered[token]

    def borrowed(self) -> DaskExecutor:
        return DaskExecutor(self.client, scattered=self._scattered)

    def close(self) -> None:
        if not self._owned:
            return
        self._scattered.clear()
        for thing in self._owned:  # the client first, then the cluster it talks to
            thing.close()
        self._owned = []

    def __repr__(self) -> str:
        return f"DaskExecutor(scheduler={self.client.scheduler_info().get('address', '?')!r})"


def executor(
    n_jobs: int | None = None,
    scheduler: str | Client | Executor | None = None,
    *,
    torch_threads: int | None = None,
) -> Executor:
    """The executor for a call's ``n_jobs`` and ``scheduler`` arguments.

    Parameters
    ----------
    n_jobs
        ``None`` or ``1``: serial, in this process (default). ``K >= 2``: a local Dask cluster of
        ``K`` worker processes, one thread each. ``-1``: one worker per usable core.
    scheduler
        Instead of ``n_jobs``: the address of a running Dask scheduler (``"tcp://host:8786"``),
        a ``distributed.Client``, or an :class:`Executor` (borrowed: not closed afterwards).
    torch_threads
        Threads torch may use in each worker process. Default: the worker's share of the cores
        on a local cluster (``cores // n_jobs``); on a remote cluster the workers keep their own
        setting (Dask's nanny starts them with ``OMP_NUM_THREADS=1``, which torch follows).

    Returns
    -------
    Executor
        Close it (or use it in a ``with`` block) to shut down a cluster it started. Inside a Dask
        worker (a task of an outer map) it is always serial, so that fan-outs never nest.

    Examples
    --------
    >>> from stratopt.parallel import executor
    >>> with executor() as ex:
    ...     ex.map(pow, [1, 2, 3], shared={"exp": 2}, progress=False)
    [1, 4, 9]
    """
    if torch_threads is not None and (
        isinstance(torch_threads, bool) or not isinstance(torch_threads, int) or torch_threads < 1
    ):
        raise ConfigError(f"torch_threads={torch_threads!r} must be a positive integer (or None)")
    if (scheduler is not None or n_jobs not in (None, 1)) and inside_worker():
        if scheduler is None:
            _check_n_jobs(n_jobs)
        return SerialExecutor()  # a task of an outer fan-out: its own fan-outs run in it, never nested
    if scheduler is not None:
        if n_jobs is not None:
            raise ConfigError(
                f"n_jobs={n_jobs!r} and scheduler={scheduler!r} both given; n_jobs starts a local cluster, "
                "scheduler uses an existing one: pass one of them"
            )
        if isinstance(scheduler, Executor):
            return scheduler.borrowed()
        return _connect(scheduler, torch_threads)
    workers = _check_n_jobs(n_jobs)
    if workers == 1:
        return SerialExecutor()
    return _local_cluster(workers, torch_threads or max(1, usable_cores() // workers))


def _check_n_jobs(n_jobs: Any) -> int:
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ConfigError(
            f"n_jobs={n_jobs!r} must be None or 1 (serial), a number of worker processes >= 2, or -1 (one per core)"
        )
    return usable_cores() if n_jobs == -1 else n_jobs


def _import_distributed(what: str) -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError(
            f"{what} runs on Dask, which is not installed; pip install 'stratopt[dask]', or leave n_jobs and "
            "scheduler unset to run serially"
        ) from exc
    return distributed


def _local_cluster(workers: int, torch_threads: int) -> DaskExecutor:
    import logging

    import dask

    distributed = _import_distributed(f"n_jobs={workers}")
    from stratopt.parallel._worker import TorchThreads

    # Dask's nanny sets these in its own process (this one) before it spawns a worker, so that
    # libraries read them at import; put this process's values back once the workers are up.
    environ = {
        **dask.config.get("distributed.nanny.pre-spawn-environ", {}),
        **dict.fromkeys(_THREAD_VARS, torch_threads),
        **MALLOC_FIX,
    }
    saved = {k: os.environ.get(k) for k in [*environ, "PYTHONHASHSEED"]}
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port (ex.client.dashboard_link), never a clash on 8787
                silence_logs=logging.ERROR,
            )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        client = distributed.Client(cluster, set_as_default=False)
        client.register_plugin(TorchThreads(torch_threads), name=TorchThreads.name)
    except BaseException:
        cluster.close()
        raise
    return DaskExecutor(client, owned=[client, cluster])


def _connect(scheduler: Any, torch_threads: int | None) -> DaskExecutor:
    distributed = _import_distributed(f"scheduler={scheduler!r}")
    if isinstance(scheduler, distributed.Client):
        client, owned = scheduler, []
    elif isinstance(scheduler, str):
        try:
            client = distributed.Client(scheduler, set_as_default=False, timeout=30)
        except OSError as exc:
            raise ConfigError(
                f"no Dask scheduler answered at scheduler={scheduler!r} ({exc}); start one with `dask scheduler` "
                "and pass the address it prints (tcp://host:8786)"
            ) from exc
        owned = [client]
    else:
        raise ConfigError(
            f"scheduler={scheduler!r} must be a scheduler address such as 'tcp://host:8786', a "
            "distributed.Client, or a stratopt Executor"
        )
    if torch_threads is not None:
        from stratopt.parallel._worker import TorchThreads

        client.register_plugin(TorchThreads(torch_threads), name=TorchThreads.name)
    return DaskExecutor(client, owned=owned)


def _labels(labels: Sequence[str] | None, n: int, desc: str) -> list[str]:
    if labels is None:
        return [f"{desc} {k}" for k in range(n)]
    names = [str(x) for x in labels]
    if len(names) != n:
        raise ConfigError(f"labels has {len(names)} names for {n} items; give one per item")
    return names


class _Progress:
    """The progress of a map: a bar, or one line per finished task in a log (see ``_progress``)."""

    def __init__(
        self,
        total: int,
        desc: str,
        progress: bool | None,
        on_result: Callable[[int, Any], None] | None = None,
        capture: bool | str = False,
    ) -> None:
        self.desc, self.total, self.progress, self.count = desc, total, progress, 0
        self.on_result, self.capture, self.prefix = on_result, bool(capture), capture == "label"
        self.caught: dict[int, list[tuple[type[Warning], str]]] = {}
        self.bar = _progress.bar(total=total, desc=desc, progress=progress)

    def done(self, index: int, label: str, outcome: Any) -> Any:
        """Record a finished task: its captured warnings, the bar or log line, the hook; returns
        its outcome (without its captured warnings)."""
        if isinstance(outcome, _Caught):
            self.caught[index] = outcome.warnings
            outcome = outcome.outcome
        self.count += 1
        self.bar.update(1)
        state = f"failed ({outcome.error_type}: {outcome.message})" if isinstance(outcome, TaskFailure) else "done"
        _progress.line(f"{self.desc} {self.count}/{self.total}: {label} {state}", progress=self.progress)
        if self.on_result is not None:
            self.on_result(index, outcome)
        return outcome

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
