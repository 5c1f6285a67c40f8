"""`stratopt run` and `stratopt show` end to end: the run folder, the recorded command and
overrides, and one-line errors for bad configs and folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stratopt.cli import main
from stratopt.cli._run import parse_override

CONFIG = """
[data]
tickers = ["AAPL", "XOM"]
start = "2004-01-01"
end = "2008-12-31"

[rule]
name = "momentum"

[training]
epochs = 20
n_starts = 2
screen = 8

[walk_forward]
train = 500
test = 250
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "mom.toml"
    path.write_text(CONFIG)
    return path


def test_run_writes_the_folder_and_show_reads_it(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = [
        "run",
        str(config),
        "--out",
        str(out),
        "--set",
        "training.epochs=2",
        "--set",
        "loss.position_mode=long_only",
    ]
    assert main(args) == 0
    printed = capsys.readouterr()
    assert "walk-forward of Momentum" in printed.out and f"run folder: {out}" in printed.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["overrides"] == {"training.epochs": 2, "loss.position_mode": "long_only"}
    assert manifest["command"] == (
        f"stratopt run {config} --out {out} --set training.epochs=2 --set 'loss.position_mode=\"long_only\"'"
    )
    history = (out / "history.csv").read_text().splitlines()
    assert {line.split(",")[1] for line in history[1:]} <= {"0", "1"}  # epochs 0 and 1: the override ran
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("run mom (walk_forward): finished in ") and "walk-forward of Momentum" in shown
    assert "report.html" in shown


def test_run_quiet_prints_nothing(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(config), "--out", str(tmp_path / "q"), "--set", "training.epochs=1", "--quiet"]) == 0
    printed = capsys.readouterr()
    assert printed.out == "" and "run folder" not in printed.err


def test_default_folder_is_under_runs(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config), "--set", "training.epochs=1", "--quiet"]) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("mom-") and (folder / "report.html").is_file()


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("warning:")]
    assert len(err) == 1 and err[0].startswith("error: ")
    return err[0]


def test_bad_config_is_a_one_line_error_naming_the_key(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(CONFIG.replace("epochs = 20", "epochs = 20\nlearning_rate = 0.1"))
    assert main(["run", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "training.learning_rate is not a known key" in one_line_error(capsys)
    assert not (tmp_path / "x").exists()


def test_non_empty_folder_needs_force(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "full"
    out.mkdir()
    (out / "x.txt").write_text("keep")
    assert main(["run", str(config), "--out", str(out)]) == 2
    assert "is not empty; give another --out, or --force" in one_line_error(capsys)


def test_show_refuses_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(tmp_path)]) == 2
    assert "is not a run folder (it has no manifest.json)" in one_line_error(capsys)


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "none.toml")]) == 2
    assert "does not exist" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("training.epochs=20", ("training.epochs", 20)),
        ("loss.cost_bps=2.5", ("loss.cost_bps", 2.5)),
        ('data.tickers=["AAPL", "XOM"]', ("data.tickers", ["AAPL", "XOM"])),
        ("rule.name=rsi", ("rule.name", "rsi")),
        ('rule.name="rsi"', ("rule.name", "rsi")),
        ("walk_forward.anchored=true", ("walk_forward.anchored", True)),
        ("data.start=2005-01-01", ("data.start", __import__("datetime").date(2005, 1, 1))),
    ],
)
def test_parse_override(text: str, expected: tuple[str, object]) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["epochs", "=3", "training..epochs=3"])
def test_bad_override_is_refused(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "x.toml", "--set", text]) == 2
    assert "must look like KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    "value",
    ["training.epochs=20", 'data.tickers=["AAPL", "XOM"]', "data.start=2005-01-01", "rule.params={ fast = 30 }",
     "walk_forward.anchored=false", "loss.cost_bps=2.5", 'rule.name="rsi"'],
)  # fmt: skip
def test_recorded_override_reads_back_as_the_same_value(value: str) -> None:
    from stratopt.cli._run import _toml

    key, parsed = parse_override(value)
    assert parse_override(f"{key}={_toml(parsed)}") == (key, parsed)
