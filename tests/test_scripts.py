"""The example scripts run end to end through the public API (``--quick``: tiny data and fits)
and write what they promise. Their full runs (all 20 stocks, full fits) take from minutes to
hours and are not part of the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _run(name: str, out: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / name), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_tune_across_tickers(tmp_path: Path) -> None:
    text = _run("tune_across_tickers.py", tmp_path)
    table = pd.read_csv(tmp_path / "tune_across_tickers.csv", index_col=0)
    assert sorted(table.index) == ["AAPL", "KO"] and (table["folds"] >= 1).all()
    assert table["oos_sharpe"].is_monotonic_decreasing  # sorted best first, as printed
    assert "beat buy-and-hold out of sample on" in text


@pytest.mark.slow
def test_sweep_optimizers(tmp_path: Path) -> None:
    text = _run("sweep_optimizers.py", tmp_path)
    runs = pd.read_csv(tmp_path / "sweep_optimizers.csv")
    assert list(dict.fromkeys(runs["optimizer"])) == ["sgd", "momentum", "adam"] and len(runs) == 15
    assert (tmp_path / "sweep_optimizers.png").read_bytes()[:4] == b"\x89PNG"
    assert "recommended lr" in text


def test_blend_walk_forward(tmp_path: Path) -> None:
    text = _run("blend_walk_forward.py", tmp_path)
    assert "4 rules compared by walk-forward" in text and "blend weights per fold" in text
    assert (tmp_path / "blend_walk_forward.png").read_bytes()[:4] == b"\x89PNG"
