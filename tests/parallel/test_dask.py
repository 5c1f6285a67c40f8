"""The Dask path on a real LocalCluster of 2 worker processes: the same results as the serial
run, failures reported, a killed worker losing nothing, no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import stratopt
from stratopt.parallel import DaskExecutor, Executor, TaskFailure, evaluate_blocks, executor, usable_cores
from stratopt.rules import MACrossover

psutil = pytest.importorskip("psutil")
pytest.importorskip("distributed")

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::stratopt.errors.DiagnosticWarning")]


# Tasks live at module level: the workers import this module to unpickle them.
def _power(x: int, *, exp: int) -> int:
    if x == 2:
        raise ValueError(f"no powers of {x}")
    return x**exp


def _torch_threads(x: int) -> int:
    import torch

    return torch.get_num_threads()


def _die_once(x: int, *, marker_dir: str, data: list[int]) -> int:
    """Kills its worker process the first time it runs on item 2, then succeeds."""
    marker = Path(marker_dir, "died")
    if x == 2 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    time.sleep(0.2)  # keep the other worker busy while the first one dies
    return x + sum(data)


PICKLED = 0


class _Counted:
    """A shared input that counts how often this process pickles it."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __getstate__(self) -> dict[str, Any]:
        global PICKLED
        PICKLED += 1
        return {"value": self.value}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.value = state["value"]

    def __dask_tokenize__(self) -> object:
        return ("counted", self.value)


def _add(x: int, *, counted: _Counted) -> int:
    return x + counted.value


def test_per_ticker_tuning_on_two_workers_equals_the_serial_run(
    cluster: DaskExecutor, two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner
) -> None:
    prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM", "KO"], start="2002-01-01", end="2006-12-31")
    with warnings.catch_warnings(record=True) as serial_warnings:
        warnings.simplefilter("always")
        serial = stratopt.tune_tickers(small_tuner, prices, progress=False)
    with warnings.catch_warnings(record=True) as dask_warnings:
        warnings.simplefilter("always")
        dask = stratopt.tune_tickers(small_tuner, prices, scheduler=cluster, progress=False)
    pd.testing.assert_frame_equal(dask.table, serial.table, check_exact=True)
    for ticker in prices:
        pd.testing.assert_frame_equal(dask.results[ticker].history, serial.results[ticker].history, check_exact=True)
    assert [str(w.message) for w in dask_warnings] == [str(w.message) for w in serial_warnings]


def test_block_evaluation_on_two_workers_equals_one_evaluate_call(cluster: DaskExecutor) -> None:
    prices = stratopt.load_prices("sp500", start="2000-01-01", end="2006-12-31")  # 20 assets
    rule = MACrossover().with_starts(200, seed=5)
    whole = stratopt.evaluate(rule, prices, start="2002")
    blocks = evaluate_blocks(rule, prices, start="2002", block=64, scheduler=cluster, progress=False)
    pd.testing.assert_frame_equal(blocks, whole, check_exact=True)


def test_a_raising_task_is_reported_and_the_others_complete(cluster: DaskExecutor) -> None:
    out = cluster.map(_power, [3, 2, 1, 4], shared={"exp": 2}, labels=list("abcd"), progress=False)
    assert [out[0], out[2], out[3]] == [9, 1, 16]
    failure = out[1]
    assert isinstance(failure, TaskFailure)
    assert (failure.label, failure.error_type, failure.message) == ("b", "ValueError", "no powers of 2")
    assert "_power" in failure.traceback  # the traceback from the worker


def test_a_ticker_that_fails_on_a_worker_is_listed(
    cluster: DaskExecutor, two_stocks: pd.DataFrame, small_tuner: stratopt.Tuner
) -> None:
    prices = two_stocks.assign(NEW=float("nan"))
    prices.iloc[-40:, 2] = 100.0
    result = stratopt.tune_tickers(small_tuner.clone(epochs=1), prices, scheduler=cluster, progress=False)
    assert list(result.table.index) == ["AAPL", "XOM"]
    assert [(f.label, f.error_type) for f in result.failures] == [("NEW", "ConfigError")]


def test_a_worker_killed_mid_run_loses_no_results(cluster: DaskExecutor, tmp_path: Path) -> None:
    data = list(range(100))
    out = cluster.map(_die_once, list(range(6)), shared={"marker_dir": str(tmp_path), "data": data}, progress=False)
    assert out == [x + sum(data) for x in range(6)]
    dead = int(Path(tmp_path, "died").read_text())
    assert not psutil.pid_exists(dead) or psutil.Process(dead).status() == psutil.STATUS_ZOMBIE
    cluster.client.wait_for_workers(2, timeout=120)  # the nanny restarts the dead worker


def test_shared_inputs_lost_with_every_worker_are_sent_again(cluster: DaskExecutor) -> None:
    shared = {"exp": 3}
    assert cluster.map(_power, [1, 3], shared=shared, progress=False) == [1, 27]
    cluster.client.restart()  # every worker process starts afresh: the scattered copies are gone
    assert cluster.map(_power, [1, 3, 4], shared=shared, progress=False) == [1, 27, 64]


def test_shared_inputs_are_sent_once_not_once_per_task(cluster: DaskExecutor) -> None:
    counted = _Counted(7)
    before = PICKLED
    assert cluster.map(_add, range(6), shared={"counted": counted}, progress=False) == [7, 8, 9, 10, 11, 12]
    assert cluster.map(_add, range(6), shared={"counted": counted}, progress=False) == [7, 8, 9, 10, 11, 12]
    assert PICKLED - before == 1


def test_each_worker_limits_torch_to_its_share_of_the_cores(cluster: DaskExecutor) -> None:
    assert cluster.n_workers == 2
    assert cluster.map(_torch_threads, range(4), progress=False) == [max(1, usable_cores() // 2)] * 4


def test_progress_lines_on_the_distributed_path(cluster: DaskExecutor, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.map(_power, [1, 3, 4], shared={"exp": 2}, labels=["AAPL", "KO", "XOM"], desc="tune tickers")
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [f"tune tickers {k}/3" for k in (1, 2, 3)]
    assert sorted(line.split(": ")[1] for line in lines) == ["AAPL done", "KO done", "XOM done"]


def test_a_borrowed_executor_does_not_close_the_cluster(cluster: DaskExecutor) -> None:
    with executor(scheduler=cluster) as borrowed:
        assert isinstance(borrowed, Executor) and borrowed is not cluster
    with executor(scheduler=cluster.client) as from_client:
        assert from_client.map(_power, [3], shared={"exp": 2}, progress=False) == [9]
    assert cluster.map(_power, [4], shared={"exp": 2}, progress=False) == [16]


def test_closing_stops_every_worker_process(cluster: DaskExecutor) -> None:
    # Last of the tests on the module's cluster: it closes it (the fixture's close is then a no-op).
    pids = list(cluster.client.run(os.getpid).values())
    assert len(pids) == 2
    cluster.close()
    _, alive = psutil.wait_procs([psutil.Process(p) for p in pids if psutil.pid_exists(p)], timeout=30)
    assert alive == []


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from stratopt.parallel import executor

    def slow(x, *, out):
        Path(out, str(os.getpid())).write_text("")
        time.sleep(300)
        return x

    if __name__ == "__main__":
        with executor(n_jobs=2) as ex:
            ex.map(slow, range(4), shared={"out": sys.argv[1]}, progress=False)
    """
)


def test_ctrl_c_cancels_and_leaves_no_worker_process(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(CTRL_C_SCRIPT)
    out = tmp_path / "pids"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out)], stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 180
        while len(list(out.iterdir())) < 2:  # both workers are inside a task
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the workers never started their tasks"
            time.sleep(0.5)
        family = psutil.Process(proc.pid).children(recursive=True)
        assert {int(p.name) for p in out.iterdir()} <= {p.pid for p in family}
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    _, alive = psutil.wait_procs(family, timeout=30)
    assert alive == []
