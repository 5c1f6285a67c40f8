"""``--n-jobs`` and ``--scheduler`` on the commands with a fan-out: parsed, checked, passed on."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

import stratopt.analysis
import stratopt.model_selection
import stratopt.model_selection._compare
from stratopt.cli import build_parser, main
from stratopt.cli._options import execution_from_args

COMMANDS = ("walk-forward", "compare", "compare-lr", "landscape")
TINY = ["--tickers", "AAPL", "--start", "2004-01-01", "--end", "2005-12-31", "--quiet"]


class _Called(Exception):
    """Raised by a stand-in for the core function, carrying the keywords the command passed."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__("called")
        self.kwargs = kwargs


def _stand_in(*args: Any, **kwargs: Any) -> Any:
    raise _Called(kwargs)


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_fan_out_command_takes_n_jobs_and_scheduler(command: str) -> None:
    assert execution_from_args(_parse([command])) == {}  # serial by default: no Dask needed
    assert execution_from_args(_parse([command, "--n-jobs", "3"])) == {"n_jobs": 3}
    assert execution_from_args(_parse([command, "--n-jobs", "-1"])) == {"n_jobs": -1}
    assert execution_from_args(_parse([command, "--scheduler", "tcp://h:8786"])) == {"scheduler": "tcp://h:8786"}


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_n_jobs_exits_2_naming_it(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["landscape", *TINY, "--n-jobs", value]) == 2
    assert f"{value!r} is not a number of worker processes" in capsys.readouterr().err


def test_n_jobs_and_scheduler_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["landscape", *TINY, "--n-jobs", "2", "--scheduler", "tcp://h:8786"]) == 2
    err = capsys.readouterr().err
    assert "--n-jobs 2 and --scheduler tcp://h:8786 both given" in err and "pass one of them" in err


@pytest.mark.parametrize(
    ("command", "module", "name"),
    [
        ("landscape", stratopt.analysis, "loss_landscape"),
        ("compare-lr", stratopt.analysis, "compare_learning_rates"),
        ("compare", stratopt.model_selection._compare, "compare_rules"),
        ("walk-forward", stratopt.model_selection, "walk_forward"),
    ],
)
def test_the_options_reach_the_core_function(
    command: str, module: Any, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, name, _stand_in)
    with pytest.raises(_Called) as serial:
        main([command, *TINY])
    assert "n_jobs" not in serial.value.kwargs and "scheduler" not in serial.value.kwargs
    independent = ["--no-warm-start", "--drift-penalty", "0"] if command == "walk-forward" else []
    with pytest.raises(_Called) as parallel:
        main([command, *TINY, "--n-jobs", "2", *independent])
    assert parallel.value.kwargs["n_jobs"] == 2
    with pytest.raises(_Called) as remote:
        main([command, *TINY, "--scheduler", "tcp://h:8786", *independent])
    assert remote.value.kwargs["scheduler"] == "tcp://h:8786"


def test_parallel_folds_on_the_command_line_need_no_warm_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["walk-forward", *TINY, "--n-jobs", "2"]) == 2
    assert "--n-jobs 2 runs the folds in parallel, but with warm start (the default)" in capsys.readouterr().err
    argv = ["walk-forward", *TINY, "--scheduler", "tcp://h:1", "--no-warm-start", "--drift-penalty", "0.5"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--scheduler tcp://h:1 runs the folds in parallel, but with --drift-penalty 0.5" in err
    assert "add --no-warm-start --drift-penalty 0" in err
