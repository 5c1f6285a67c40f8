"""``stratopt compare`` and ``compare-lr --optimizers``; every command echoes its data first and
``--quiet`` turns progress off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stratopt import _progress
from stratopt.cli import main

TINY = ["--tickers", "AAPL", "--start", "2004-01-01", "--end", "2006-12-31"]
DATA_LINE = "data: sp500: 1 tickers, 755 rows, 2004-01-02 to 2006-12-29"
FOLDS = ["--train", "250", "--test", "250", "--epochs", "1", "--n-starts", "1", "--screen", "0"]


def test_compare_prints_one_table_and_writes_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, fig = tmp_path / "cmp.json", tmp_path / "cmp.png"
    argv = ["compare", *TINY, "--rules", "crossover,momentum", *FOLDS, "--json", str(out), "--plot", str(fig)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0] == DATA_LINE  # the data first, then progress
    assert "compare: rule 2/2 momentum" in captured.err
    assert "2 rules compared by walk-forward on the same" in captured.out
    record = json.loads(out.read_text())
    assert [row["rule"] for row in record["table"]] == ["ma-crossover", "momentum", "buy_and_hold"]
    assert record["n_trials"] == 2
    # walk-forward's main-job defaults: long/flat, seeded
    assert record["results"]["momentum"]["config"]["loss"]["position_mode"] == "long_only"
    assert fig.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("rules", "message"),
    [("crossover", "compare at least two"), ("crossover,nope", "'nope' is not one of"), ("crossover,m", "several")],
)
def test_compare_bad_rules_exit_2(rules: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", *TINY, "--rules", rules, *FOLDS]) == 2
    assert message in capsys.readouterr().err


def test_compare_lr_several_optimisers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lr.json"
    argv = ["compare-lr", *TINY, "--lrs", "0.01,1", "--optimizers", "sgd,adam", "--epochs", "3", "--json", str(out)]
    assert main(argv) == 0
    runs = json.loads(out.read_text())["runs"]
    assert [(r["optimizer"], r["lr"]) for r in runs] == [("sgd", 0.01), ("sgd", 1.0), ("adam", 0.01), ("adam", 1.0)]
    assert "optimizer" in capsys.readouterr().out
    assert main([*argv[:-2], "--optimizers", "sgd,lbfgs"]) == 2
    assert "use a comma-separated subset of" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["landscape", "--rule", "rsi", "--grid", "3"],  # no --x/--y: the rule's first two parameters
        ["credit", "--top", "1"],
        ["gradient-flow", "--depths", "2", "--width", "4", "--activations", "tanh"],
        ["compare-lr", "--lrs", "0.1", "--epochs", "2"],
    ],
    ids=lambda a: a[0],
)
def test_every_command_echoes_its_data_first_and_quiet_silences_progress(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "_stderr_is_terminal", lambda: True)  # bars would draw
    assert main([argv[0], *TINY, *argv[1:]]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[0] == DATA_LINE and "%|" in err  # a tqdm bar after the data line
    assert main([argv[0], *TINY, *argv[1:], "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_quiet_walk_forward_prints_no_fold_lines_in_a_log(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["walk-forward", *TINY, *FOLDS]
    assert main(argv) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("walk-forward fold")]
    assert len(lines) >= 2 and all(f"fold {k + 1}/{len(lines)} " in x for k, x in enumerate(lines))
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
