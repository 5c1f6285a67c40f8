"""``stratopt compare-lr``: exit status, printed table, JSON keys, figures, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stratopt.cli import main

FAST = ["--tickers", "AAPL", "--start", "2004-01-01", "--end", "2009-12-31", "--epochs", "15"]


def test_compare_lr_prints_a_table_and_writes_json_and_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, fig, rfig = tmp_path / "lr.json", tmp_path / "lr.png", tmp_path / "range.png"
    code = main(
        ["compare-lr", *FAST, "--lrs", "1e-6,1,1e3", "--json", str(out), "--plot", str(fig), "--range-plot", str(rfig)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "verdict" in text and "diverged" in text and "too_slow" in text
    assert "LR range test" in text and "suggested lr" in text
    record = json.loads(out.read_text())
    assert set(record) >= {"config", "best_loss", "recommended_lr", "thresholds", "runs", "range_test"}
    assert record["config"]["tickers"] == ["AAPL"]
    assert [r["lr"] for r in record["runs"]] == [1e-6, 1.0, 1e3]
    assert set(record["runs"][0]) >= {
        "verdict",
        "steps_to_95",
        "train_soft_sharpe",
        "train_hard_sharpe",
        "val_soft_sharpe",
        "val_hard_sharpe",
    }
    assert record["runs"][2]["verdict"] == "diverged"
    suggestion = record["range_test"]["suggestion"]
    assert record["range_test"]["config"]["lr_min"] <= suggestion <= record["range_test"]["config"]["lr_max"]
    assert fig.read_bytes()[:4] == b"\x89PNG" and rfig.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lrs", "1e-3,abc"], "'abc' is not a number"),
        (["--lrs", "0.1,0.1"], "0.1 appears twice"),
        (["--lrs", "0"], "0.0 in lrs must be positive"),
        (["--seeds", "1.5"], "--seeds item 1.5 is not an integer"),
    ],
)
def test_bad_input_exits_2_naming_the_value(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare-lr", *FAST, *argv]) == 2
    assert message in capsys.readouterr().err
