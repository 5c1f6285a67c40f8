"""The command line's shared parts: help with defaults and without torch, the loss and training
options reaching the result, output paths refused before any work, the data line, and the
choices and defaults the CLI repeats from the core."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import get_args

import pytest

from stratopt.cli import _options, build_parser, main
from stratopt.cli._common import HelpFormatter, finish, parse_assignments
from stratopt.cli._data import DEFAULT_MAX_GAP, ON_JUMP
from stratopt.cli._options import parse_early_stopping, parse_temperature, parse_validation, training_settings

CLI_DIR = Path(__file__).resolve().parents[2] / "stratopt" / "cli"
TINY = ["--tickers", "AAPL", "--start", "2004-01-01", "--end", "2006-12-31"]
# Commands and enough arguments for each to run quickly (only used with bad output paths here).
COMMANDS = {
    "fit": ["--epochs", "1"],
    "compare": ["--rules", "crossover,rsi", "--epochs", "1", "--train", "250", "--test", "125"],
    "walk-forward": ["--epochs", "1", "--train", "250", "--test", "125"],
    "compare-lr": ["--epochs", "2", "--lrs", "0.1"],
    "landscape": ["--grid", "3"],
    "credit": ["--top", "1"],
    "gradient-flow": ["--depths", "2", "--width", "4"],
}
LOSS_OPTIONS = ["--slippage", "0.5", "--allocation", "equal", "--position-mode", "long_only", "--temperature", "1,0.1"]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


# ------------------------------------------------------------------------------------ help
@pytest.mark.parametrize("command", sorted(_subparsers()))
def test_every_command_help_works_and_states_every_default(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: stratopt {command}") and "%%" not in text
    parser = _subparsers()[command]
    formatter = HelpFormatter(prog=parser.prog)
    for action in parser._actions:
        is_flag = isinstance(action.default, bool) or action.default is argparse.SUPPRESS
        if is_flag or action.required or isinstance(action, argparse._HelpAction):
            continue  # a required argument has no default to state
        shown = formatter._expand_help(action)
        assert action.help, f"{command} {action.option_strings} has no help"
        assert "default" in shown, f"{command} {action.option_strings} hides its default"
        if action.default is not None:  # the value itself, as it reads on the command line
            assert f"(default: {action.default})" in shown, f"{command} {action.option_strings}: {shown!r}"


DATA_COMMANDS = ("fit", "walk-forward", "compare", "credit", "gradient-flow", "compare-lr", "landscape")


def test_every_command_reads_the_same_default_data(capsys: pytest.CaptureFixture[str]) -> None:
    """One default everywhere, so that a landscape or a rate comparison explains the data a fit
    or a walk-forward ran on: the whole bundled sp500."""
    for command in DATA_COMMANDS:
        main([command, "--help"])
        assert "(default: sp500, all its stocks)" in " ".join(capsys.readouterr().out.split()), command
        args = build_parser().parse_args([command])
        assert (args.source, args.tickers, args.default_tickers, args.start, args.end) == ([], None, None, None, None)


_HEAVY = ("torch", "pandas", "numpy", "matplotlib", "scipy")
_PROBE = """
import json, sys, types
if {stub}:  # the package's own __init__ is skipped: what the CLI modules import themselves
    pkg = types.ModuleType("stratopt"); pkg.__path__ = [{path!r}]; sys.modules["stratopt"] = pkg
import argparse
from stratopt.cli import build_parser
parser = build_parser(); parser.format_help()
for action in parser._actions:
    if isinstance(action, argparse._SubParsersAction):
        for sub in action.choices.values():
            sub.format_help()
light = ("stratopt", "stratopt.errors")
print(json.dumps(sorted(
    [m for m in {heavy} if m in sys.modules]
    + [m for m in sys.modules if m.startswith("stratopt.") and not m.startswith("stratopt.cli") and m not in light]
)))
"""


def _heavy_modules_after_help(*, stub: bool) -> list[str]:
    code = _PROBE.format(stub=stub, path=str(CLI_DIR.parent), heavy=_HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_cli_modules_import_nothing_heavy_to_build_the_parser() -> None:
    assert _heavy_modules_after_help(stub=True) == []


def test_help_does_not_import_torch() -> None:
    heavy = _heavy_modules_after_help(stub=False)
    if heavy:
        done = subprocess.run(
            [sys.executable, "-c", "import sys, stratopt; print('torch' in sys.modules)"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        if done.stdout.strip() == "True":
            pytest.xfail("stratopt/__init__.py imports torch eagerly, so every 'import stratopt.cli' does")
    assert heavy == []


# ------------------------------------------------------------------------- options -> result
def test_fit_loss_and_training_options_reach_the_result(tmp_path: Path) -> None:
    out = tmp_path / "fit.json"
    extra = ["--optimizer", "momentum", "--momentum", "0.5", "--schedule", "cosine", "--clip-grad-norm", "2"]
    extra += ["--early-stopping", "50,0", "--select", "soft", "--validation", "0.3", "--cost-bps", "7"]
    assert main(["fit", *TINY, "--epochs", "3", *LOSS_OPTIONS, *extra, "--json", str(out), "-q"]) == 0
    config = json.loads(out.read_text())["config"]
    assert config["loss"] == {
        "objective": "sharpe",
        "objective_kwargs": {},
        "cost_bps": 7.0,
        "slippage": 0.5,
        "allocation": "equal",
        "position_mode": "long_only",
        "turnover_penalty": 0.0,
        "l2_penalty": 0.0,
    }
    assert config["temperature"] == [1.0, 0.1] and config["optimizer"] == "momentum" and config["momentum"] == 0.5
    assert config["schedule"] == "cosine" and config["clip_grad_norm"] == 2.0 and config["early_stopping"] == [50, 0.0]
    assert config["select"] == "soft" and config["validation"] == 0.3


def test_walk_forward_loss_and_training_options_reach_the_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "wf.json"
    args = ["walk-forward", *TINY, "--train", "250", "--test", "125", "--epochs", "2", "--n-starts", "2"]
    args += [*LOSS_OPTIONS, "--objective", "sortino", "--anchored", "--ensemble", "2", "--drift-penalty", "0.1"]
    args += ["--json", str(out)]
    assert main(args) == 0
    assert "deflated Sharpe ratio" in capsys.readouterr().out
    saved = json.loads(out.read_text())
    loss = saved["config"]["loss"]
    assert (loss["slippage"], loss["allocation"], loss["position_mode"]) == (0.5, "equal", "long_only")
    assert loss["objective"] == "sortino" and saved["config"]["temperature"] == [1.0, 0.1]
    assert "anchored=True" in saved["config"]["splitter"] and saved["config"]["n_starts"] == 2
    assert (saved["config"]["ensemble"], saved["config"]["drift_penalty"]) == (2, 0.1)


def test_walk_forward_keeps_the_main_jobs_defaults() -> None:
    args = build_parser().parse_args(["walk-forward"])
    assert (args.train, args.test, args.step, args.anchored, args.purge, args.embargo) == (
        "5Y",
        "1Y",
        None,
        False,
        0,
        0,
    )
    assert args.rule == "ma-crossover" and args.source == [] and args.tickers is None
    settings = training_settings(args)
    assert (settings["n_starts"], settings["epochs"], settings["seed"], settings["validation"]) == (4, 100, 0, None)
    assert (settings["optimizer"], settings["lr"], args.cost_bps) == ("adam", 0.05, 5.0)
    assert args.position_mode == "long_only"  # chosen on the development years, see benchmarks/README.md
    assert settings["patience"] == 10  # walk_forward's own default, stated in the help


@pytest.mark.parametrize(("flag", "stopped"), [("0", False), ("2", True)])
def test_patience_flag_reaches_each_fold(tmp_path: Path, flag: str, stopped: bool) -> None:
    out = tmp_path / "wf.json"
    args = ["walk-forward", *TINY, "--train", "250", "--test", "250", "--epochs", "30", "--n-starts", "2"]
    assert main([*args, "--patience", flag, "--quiet", "--json", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["config"]["patience"] == (None if flag == "0" else 2)
    statuses = {fold["status"] for fold in saved["folds"]}
    # a fit whose best epoch is early stops within 2 epochs of it; with 0 every epoch runs
    assert ("early_stopped" in statuses) == stopped
    if not stopped:
        assert statuses <= {"max_epochs", "converged"}


def test_a_run_echoes_its_data_on_stderr_and_quiet_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", *TINY, "--epochs", "1"]) == 0
    captured = capsys.readouterr()
    assert "data: sp500: 1 tickers, 755 rows, 2004-01-02 to 2006-12-29" in captured.err.splitlines()
    assert "MACrossover fit" in captured.out
    assert main(["fit", *TINY, "--epochs", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "data:" not in captured.err


# -------------------------------------------------------------------------- refused early
@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("option", "path", "message"),
    [
        ("--plot", "x.xyz", ".png"),
        ("--plot", "x", "without a suffix"),
        ("--json", "missing_dir/x.json", "does not exist"),
    ],
)
def test_a_bad_output_path_fails_before_any_work(
    command: str, option: str, path: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(tmp_path / path)
    started = time.perf_counter()
    assert main([command, *TINY, *COMMANDS[command], option, target]) == 2
    assert time.perf_counter() - started < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # no data line: nothing was loaded, let alone trained
    assert err[0].startswith(f"error: {option} {target}") and message in err[0]


def test_a_bad_range_plot_and_a_folder_as_json_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare-lr", *TINY, "--range-plot", str(tmp_path / "r.xyz")]) == 2
    assert capsys.readouterr().err.startswith(f"error: --range-plot {tmp_path / 'r.xyz'}")
    assert main(["fit", *TINY, "--json", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_an_unknown_rule_lists_the_registered_names(capsys: pytest.CaptureFixture[str]) -> None:
    from stratopt.rules._registry import registered_rules

    assert main(["fit", *TINY, "--rule", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "'nope'" in err[0]
    assert all(name in err[0] for name in registered_rules())


@pytest.mark.parametrize(
    "argv",
    [
        ["--temperature", "hot"],
        ["--temperature", "1,0.5,0.1"],
        ["--early-stopping", "soon"],
        ["--validation", "most"],
        ["--allocation", "kelly"],
        ["--position-mode", "long-only"],
    ],
)
def test_malformed_options_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", *TINY, *argv]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--temperature", "0"], "temperature"), (["--slippage", "-1"], "slippage"), (["--n-starts", "0"], "n_starts")],
)
def test_values_the_core_refuses_fail_before_the_data_loads(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", *TINY, *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_value_parsers() -> None:
    assert parse_temperature("0.5") == 0.5 and parse_temperature("1,0.1") == (1.0, 0.1)
    assert parse_validation("0") is None and parse_validation("0.25") == 0.25
    assert parse_validation("2005-01-01,2005-12-31") == ("2005-01-01", "2005-12-31")
    assert parse_early_stopping("20,1e-4") == (20, 1e-4) and parse_early_stopping("7") == (7, 0.0)
    assert parse_assignments(["halflife=252"], option="--objective-arg") == {"halflife": 252.0}


# ---------------------------------------------------------------- what the CLI repeats
def test_choices_and_defaults_match_the_core() -> None:
    import torch

    from stratopt import objectives
    from stratopt.data import DEFAULT_MAX_GAP as CORE_MAX_GAP
    from stratopt.data import load_prices
    from stratopt.data._jumps import OnJump
    from stratopt.loss import POSITION_MODES, LossSpec
    from stratopt.pnl import Allocation
    from stratopt.training import Tuner
    from stratopt.training._optim import OptimizerName, Schedule
    from stratopt.training._tuner import Select

    assert set(_options.OBJECTIVES) == set(objectives.OBJECTIVES)
    assert get_args(Allocation) == _options.ALLOCATIONS and _options.POSITION_MODES == POSITION_MODES
    assert get_args(OptimizerName) == _options.OPTIMIZERS and get_args(Select) == _options.SELECTS
    assert get_args(get_args(Schedule)[0]) == _options.SCHEDULES
    assert DEFAULT_MAX_GAP == CORE_MAX_GAP and get_args(OnJump) == ON_JUMP
    assert inspect.signature(load_prices).parameters["on_jump"].default == ON_JUMP[0]
    spec = LossSpec()
    assert {k: getattr(spec, k) for k in _options.LOSS_DEFAULTS} == _options.LOSS_DEFAULTS
    from stratopt.cli._fit import FIT_DEFAULTS

    settings = training_settings(build_parser().parse_args(["fit"]))
    fields = {f.name: f for f in dataclasses.fields(Tuner)}
    for name, value in settings.items():
        if name != "progress" and name not in FIT_DEFAULTS:  # fit holds out 20% to report on
            assert fields[name].default == value, name
    assert settings["validation"] == 0.2
    assert settings["dtype"] is torch.float64


def test_no_function_in_the_cli_is_over_60_lines() -> None:
    for path in sorted(CLI_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                assert length <= 60, f"{path.name}:{node.lineno} {node.name} has {length} lines"


def test_the_ending_writes_its_files_before_printing(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    class Result:  # a reader that closed stdout early: printing fails
        def summary(self) -> str:
            raise BrokenPipeError

        def to_dict(self) -> dict[str, object]:
            return {"sharpe": float("nan"), "n": 3}

        def plot(self) -> Figure:
            return Figure()

    args = argparse.Namespace(json=str(tmp_path / "r.json"), plot=str(tmp_path / "r.png"), quiet=False)
    with pytest.raises(BrokenPipeError):
        finish(args, Result())
    assert json.loads((tmp_path / "r.json").read_text()) == {"sharpe": None, "n": 3}
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
