"""The package's fan-outs on a real LocalCluster of 2 worker processes: learning-rate and rule
comparisons, landscapes and walk-forward folds give exactly the serial results, in the same
order; a task that raises is reported and the others complete."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import stratopt
from stratopt._market import MarketData
from stratopt.analysis import compare_learning_rates, loss_landscape
from stratopt.parallel import DaskExecutor, SerialExecutor, executor
from stratopt.rules import MACrossover

pytest.importorskip("distributed")

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::stratopt.errors.DiagnosticWarning")]


@pytest.fixture(scope="module")
def aapl() -> pd.DataFrame:
    return stratopt.load_prices("sp500", tickers=["AAPL"], start="2003-01-01", end="2006-12-31")


# Tasks and rules live at module level: the workers import this module to unpickle them.
def _nested_executor(x: int) -> str:
    with executor(n_jobs=2) as inner:
        return type(inner).__name__


def _warns(x: int) -> int:
    warnings.warn(f"warned in task {x}", RuntimeWarning, stacklevel=1)
    return x


class PoisonedCrossover(MACrossover):
    """A crossover whose soft pass (training) raises on data that ends inside ``poison``."""

    def __init__(self, poison: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.poison = poison

    def _positions(self, data: MarketData, p: dict[str, Any], temperature: float) -> Any:
        last = data.dates[-1]
        if temperature > 0 and (
            self.poison is None or pd.Timestamp(self.poison[0]) <= last <= pd.Timestamp(self.poison[1])
        ):
            raise FloatingPointError(f"poisoned data ending {last.date()}")
        return super()._positions(data, p, temperature)


def test_fan_outs_inside_a_worker_run_serially(cluster: DaskExecutor) -> None:
    assert cluster.map(_nested_executor, [0, 1], progress=False) == [SerialExecutor.__name__] * 2


def test_a_workers_warnings_are_raised_in_the_caller(cluster: DaskExecutor) -> None:
    with pytest.warns(RuntimeWarning) as record:
        assert cluster.map(_warns, [0, 1, 2], progress=False, capture_warnings=True) == [0, 1, 2]
    assert [str(w.message) for w in record] == [f"warned in task {k}" for k in range(3)]


def test_on_result_runs_in_this_process_for_every_task(cluster: DaskExecutor) -> None:
    seen: dict[int, Any] = {}
    out = cluster.map(_warns, [5, 6, 7], progress=False, on_result=seen.__setitem__)
    assert seen == dict(enumerate(out)) and out == [5, 6, 7]


def test_learning_rate_comparison_on_two_workers_equals_the_serial_run(
    cluster: DaskExecutor, aapl: pd.DataFrame
) -> None:
    kwargs: dict[str, Any] = {"optimizers": ("sgd", "adam"), "epochs": 6, "progress": False}
    serial = compare_learning_rates(MACrossover(), aapl, [0.01, 0.3, 30.0], **kwargs)
    dask = compare_learning_rates(MACrossover(), aapl, [0.01, 0.3, 30.0], scheduler=cluster, **kwargs)
    pd.testing.assert_frame_equal(
        dask.runs.drop(columns="seconds"), serial.runs.drop(columns="seconds"), check_exact=True
    )
    pd.testing.assert_frame_equal(dask.history, serial.history, check_exact=True)
    assert dask.best_loss == serial.best_loss and dask.hints == serial.hints


def test_landscape_on_two_workers_is_the_serial_one_bit_for_bit(cluster: DaskExecutor, aapl: pd.DataFrame) -> None:
    kwargs: dict[str, Any] = {"grid": (9, 7), "chunk": 8, "progress": False}
    serial = loss_landscape(MACrossover(), aapl, **kwargs)
    dask = loss_landscape(MACrossover(), aapl, scheduler=cluster, **kwargs)
    for name in ("soft_loss", "hard_loss", "hard_sharpe"):
        np.testing.assert_array_equal(getattr(dask, name), getattr(serial, name), err_msg=name)
    assert dask.global_min == serial.global_min


def test_rule_comparison_on_two_workers_equals_the_serial_run_and_a_failing_rule_is_a_failed_row(
    cluster: DaskExecutor, aapl: pd.DataFrame
) -> None:
    settings = {"epochs": 2, "n_starts": 1, "screen": 4, "seed": 0}
    rules = {"crossover": MACrossover(), "momentum": "momentum", "broken": PoisonedCrossover()}
    kwargs: dict[str, Any] = {"train": "2Y", "test": "1Y", "settings": settings, "progress": False}
    serial = stratopt.compare_rules(rules, aapl, **kwargs)
    dask = stratopt.compare_rules(rules, aapl, scheduler=cluster, **kwargs)
    pd.testing.assert_frame_equal(dask.table, serial.table, check_exact=True)
    pd.testing.assert_frame_equal(dask.oos_returns, serial.oos_returns, check_exact=True)
    assert list(dask.table.index) == ["crossover", "momentum", "broken", "buy_and_hold"]
    assert dask.table.loc["broken"].isna().all() and dask.table.loc["crossover"].notna().all()
    failure = dask.failures["broken"]
    assert (failure.error_type, failure.message.split(" ending")[0]) == ("FloatingPointError", "poisoned data")
    assert list(dask.results) == ["crossover", "momentum"] and dask.n_trials == 2
    assert "failed: broken: FloatingPointError" in dask.summary()


WF = {"train": "1Y", "test": "1Y", "warm_start": False, "progress": False}


@pytest.fixture(scope="module")
def wf_prices() -> pd.DataFrame:
    """Three or more one-year folds, the first testing 2003."""
    return stratopt.load_prices("sp500", tickers=["AAPL"], start="2002-01-01", end="2006-12-31")


def _wf_tuner(rule: MACrossover | None = None) -> stratopt.Tuner:
    return stratopt.Tuner(rule or MACrossover(), epochs=3, n_starts=2, screen=4, seed=3, validation=None)


def test_walk_forward_on_two_workers_equals_the_serial_run(
    cluster: DaskExecutor, wf_prices: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    serial = stratopt.walk_forward(_wf_tuner(), wf_prices, **WF)
    capsys.readouterr()
    dask = stratopt.walk_forward(_wf_tuner(), wf_prices, scheduler=cluster, **{**WF, "progress": None})
    lines = capsys.readouterr().err.strip().splitlines()  # a log: one line per fold as it finishes
    n = len(serial.folds)
    assert sorted(line.split(" 20")[0] for line in lines) == [f"walk-forward fold {k}/{n}" for k in range(1, n + 1)]
    assert all("test Sharpe" in line and line.endswith(" s)") for line in lines)
    assert len(serial.folds) >= 3 and serial.failures == [] and dask.failures == []
    pd.testing.assert_frame_equal(dask.folds, serial.folds, check_exact=True)
    pd.testing.assert_series_equal(dask.oos_returns, serial.oos_returns, check_exact=True)
    pd.testing.assert_frame_equal(dask.candidates, serial.candidates, check_exact=True)
    assert (dask.psr, dask.dsr) == (serial.psr, serial.dsr)
    # the folds' training histories come back from the workers
    assert not serial.history.empty and set(serial.history["fold"]) == set(serial.folds.index)
    pd.testing.assert_frame_equal(dask.history, serial.history, check_exact=True)


def test_a_fold_that_raises_on_a_worker_is_reported_and_the_others_complete(
    cluster: DaskExecutor, wf_prices: pd.DataFrame
) -> None:
    whole = stratopt.walk_forward(_wf_tuner(), wf_prices, **WF)
    end = whole.folds.loc[1, "train_end"]  # only fold 1's fit sees data ending there
    poisoned = PoisonedCrossover(poison=(str(end.date()), str(end.date())))
    for where in ({}, {"scheduler": cluster}):
        result = stratopt.walk_forward(_wf_tuner(poisoned), wf_prices, **where, **WF)
        assert list(result.folds.index) == [k for k in whole.folds.index if k != 1]
        (failure,) = result.failures
        assert (failure["fold"], failure["error_type"]) == (1, "FloatingPointError")
        assert failure["test_start"] == whole.folds.loc[1, "test_start"]
        pd.testing.assert_frame_equal(result.folds, whole.folds.drop(index=1), check_exact=True)
        missing = whole.oos_returns.loc[failure["test_start"] : failure["test_end"]].index
        assert len(missing) > 200 and not result.oos_returns.index.isin(missing).any()
        assert "missing: fold 1" in result.summary() and "FloatingPointError" in result.summary()


def test_parallel_folds_need_independent_folds(aapl: pd.DataFrame) -> None:
    with pytest.raises(stratopt.errors.ConfigError, match=r"warm_start=True .*tune_tickers"):
        stratopt.walk_forward(_wf_tuner(), aapl, train="1Y", test="1Y", n_jobs=2)
    with pytest.raises(stratopt.errors.ConfigError, match=r"drift_penalty=0.5 .*tune_tickers"):
        stratopt.walk_forward(_wf_tuner(), aapl, train="1Y", test="1Y", warm_start=False, drift_penalty=0.5, n_jobs=2)


EXPERIMENT = """
[data]
source = "sp500"
tickers = ["AAPL"]
start = "2002-01-01"
end = "2006-12-31"
[training]
epochs = 2
n_starts = 2
screen = 4
[walk_forward]
train = "1Y"
test = "1Y"
warm_start = false
"""


def test_an_experiment_file_runs_its_folds_on_the_scheduler_it_names(cluster: DaskExecutor, tmp_path: Any) -> None:
    from stratopt.experiments import parse_config, run_experiment
    from stratopt.experiments._folder import FILES

    address = cluster.client.scheduler.address
    remote = parse_config(EXPERIMENT + f'[execution]\nscheduler = "{address}"\n')
    assert remote.walk_forward_options()["scheduler"] == address
    run_experiment(parse_config(EXPERIMENT), tmp_path / "serial", progress=False)
    run_experiment(remote, tmp_path / "remote", progress=False)
    for name in ("returns", "folds", "history"):  # the history too, though its fits ran on workers
        serial_table = pd.read_csv(tmp_path / "serial" / FILES[name])
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "remote" / FILES[name]), serial_table, check_exact=True)


def test_the_screen_scored_on_two_workers_equals_the_serial_screen(cluster: DaskExecutor, aapl: pd.DataFrame) -> None:
    from stratopt.loss import LossSpec
    from stratopt.training._screen import screen_starts

    data = MarketData.from_prices(aapl)
    kwargs: dict[str, Any] = {"keep": None, "n_candidates": 300, "n_starts": 4, "seed": 1}
    serial = screen_starts(MACrossover(), data, LossSpec(), **kwargs)
    dask = screen_starts(MACrossover(), data, LossSpec(), executor=cluster, **kwargs)
    assert serial is not None and dask is not None
    pd.testing.assert_frame_equal(dask.table, serial.table, check_exact=True)
    pd.testing.assert_frame_equal(dask.starts.batch_params(), serial.starts.batch_params(), check_exact=True)
