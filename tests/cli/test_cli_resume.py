"""``stratopt walk-forward --resume-dir``: folds written as they finish, a rerun resumes, a
directory of another run is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stratopt.cli import main

SMALL = ["--tickers", "AAPL,XOM", "--start", "2001-01-01", "--end", "2004-12-31", "--train", "500", "--test", "250"]
FAST = ["--epochs", "2", "--n-starts", "2", "--quiet"]


def test_resume_dir_writes_folds_and_a_rerun_reads_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt, first, second = tmp_path / "ckpt", tmp_path / "a.json", tmp_path / "b.json"
    assert main(["walk-forward", *SMALL, *FAST, "--resume-dir", str(ckpt), "--json", str(first)]) == 0
    assert len(list(ckpt.glob("fold_*.json"))) == len(json.loads(first.read_text())["folds"])
    assert main(["walk-forward", *SMALL, *FAST, "--resume-dir", str(ckpt), "--json", str(second)]) == 0
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["folds"] == b["folds"] and a["oos_metrics"] == b["oos_metrics"]
    capsys.readouterr()
    assert main(["walk-forward", *SMALL, *FAST, "--lr", "0.01", "--resume-dir", str(ckpt)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and "another walk-forward" in error
