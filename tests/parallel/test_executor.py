"""The serial executor and the executor factory (no Dask cluster needed)."""

from __future__ import annotations

import sys

import pytest

from stratopt.errors import ConfigError
from stratopt.parallel import SerialExecutor, TaskFailure, executor


def _power(x: int, *, exp: int) -> int:
    if x == 2:
        raise ValueError(f"no powers of {x}")
    return x**exp


def test_default_and_one_job_run_serially_in_process() -> None:
    assert isinstance(executor(), SerialExecutor)
    assert isinstance(executor(n_jobs=1), SerialExecutor)


def test_map_returns_results_in_order_with_the_failure_in_its_place() -> None:
    out = executor().map(_power, [3, 2, 1, 4], shared={"exp": 2}, labels=["a", "b", "c", "d"], progress=False)
    assert out[0] == 9 and out[2] == 1 and out[3] == 16
    failure = out[1]
    assert isinstance(failure, TaskFailure)
    assert (failure.index, failure.label, failure.error_type) == (1, "b", "ValueError")
    assert failure.message == "no powers of 2"
    assert "_power" in failure.traceback and "ValueError: no powers of 2" in failure.traceback
    assert str(failure) == "b: ValueError: no powers of 2"


def test_keyboard_interrupt_is_not_turned_into_a_failure() -> None:
    def interrupted(x: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        executor().map(interrupted, [1, 2], progress=False)


def test_log_mode_prints_one_line_per_finished_task(capsys: pytest.CaptureFixture[str]) -> None:
    executor().map(_power, [3, 2], shared={"exp": 2}, labels=["AAPL", "XOM"], desc="tune tickers")
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["tune tickers 1/2: AAPL done", "tune tickers 2/2: XOM failed (ValueError: no powers of 2)"]


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True, "2"])
def test_bad_n_jobs_is_a_config_error_naming_it(n_jobs: object) -> None:
    with pytest.raises(ConfigError, match=f"n_jobs={n_jobs!r}"):
        executor(n_jobs=n_jobs)  # type: ignore[arg-type]


def test_n_jobs_with_a_scheduler_is_refused() -> None:
    with pytest.raises(ConfigError, match="pass one of them"):
        executor(n_jobs=2, scheduler="tcp://127.0.0.1:8786")


def test_a_scheduler_of_the_wrong_kind_is_refused() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(ConfigError, match="scheduler=8786 must be a scheduler address"):
        executor(scheduler=8786)  # type: ignore[arg-type]


def test_bad_torch_threads_and_labels_are_refused() -> None:
    with pytest.raises(ConfigError, match="torch_threads=0"):
        executor(torch_threads=0)
    with pytest.raises(ConfigError, match="labels has 1 names for 2 items"):
        executor().map(_power, [1, 3], shared={"exp": 2}, labels=["a"])


def test_without_dask_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    with pytest.raises(ConfigError, match=r"stratopt\[dask\]"):
        executor(n_jobs=2)


def test_a_borrowed_executor_is_the_same_serial_executor() -> None:
    ex = executor()
    assert executor(scheduler=ex) is ex


def _warn_and_square(x: int) -> int:
    import warnings

    warnings.warn(f"odd {x}" if x % 2 else f"even {x}", UserWarning if x % 2 else RuntimeWarning, stacklevel=1)
    if x == 4:
        raise ValueError("four")
    return x * x


def test_on_result_sees_every_outcome_in_the_calling_process() -> None:
    seen: list[tuple[int, object]] = []
    out = executor().map(
        _power, [3, 2, 1], shared={"exp": 2}, progress=False, on_result=lambda i, o: seen.append((i, o))
    )
    assert [i for i, _ in seen] == [0, 1, 2]
    assert [o for _, o in seen] == out and isinstance(out[1], TaskFailure)


def test_captured_warnings_are_raised_again_in_order_with_their_category_and_label() -> None:
    with pytest.warns(Warning) as record:
        out = executor().map(
            _warn_and_square, [1, 2, 4], labels=["a", "b", "c"], progress=False, capture_warnings="label"
        )
    assert out[:2] == [1, 4] and isinstance(out[2], TaskFailure)
    assert [(w.category, str(w.message)) for w in record] == [
        (UserWarning, "a: odd 1"),
        (RuntimeWarning, "b: even 2"),
        (RuntimeWarning, "c: even 4"),  # a failed task's warnings are kept too
    ]


def test_capture_warnings_takes_only_true_false_or_label() -> None:
    with pytest.raises(ConfigError, match="capture_warnings='yes'"):
        executor().map(_power, [1], shared={"exp": 2}, capture_warnings="yes")  # type: ignore[arg-type]


def test_outside_a_dask_worker_nothing_is_forced_serial() -> None:
    from stratopt.parallel import inside_worker

    assert inside_worker() is False


def _config_error(x: int) -> int:
    raise ConfigError(f"x={x} is not allowed; pass another")


def test_a_failure_becomes_the_same_error_type_in_the_caller() -> None:
    from stratopt.errors import StratoptError

    (failure,) = executor().map(_config_error, [3], labels=["fold 3"], progress=False)
    err = failure.error()
    assert type(err) is ConfigError and str(err) == "x=3 is not allowed; pass another"
    assert "fold 3" in err.__notes__[0] and "_config_error" in err.__notes__[0]
    odd = TaskFailure(0, "a", "CustomError", "boom", "")
    assert type(odd.error()) is StratoptError and str(odd.error()) == "a: CustomError: boom"
