"""`stratopt fit` and `stratopt walk-forward` end to end on small bundled slices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stratopt.cli import main

SMALL = ["--tickers", "AAPL,XOM", "--start", "2001-01-01", "--end", "2006-12-31"]


def test_fit_prints_summary_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fit.json"
    assert main(["fit", *SMALL, "--epochs", "5", "--n-starts", "2", "--seed", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "MACrossover fit" in text and "hard_sharpe" in text
    saved = json.loads(out.read_text())
    assert "fast" in saved["params"] and saved["status"] in {"max_epochs", "converged"}
    for part in ("train", "validation"):
        assert {"soft_sharpe", "hard_sharpe"} <= set(saved["metrics"][part])


@pytest.mark.parametrize("rule", ["momentum", "mean-reversion", "rsi", "mlp"])
def test_fit_every_cli_rule(rule: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", *SMALL, "--rule", rule, "--epochs", "2", "--seed", "0"]) == 0
    assert "fit:" in capsys.readouterr().out


def test_fit_bad_learning_rate_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", *SMALL, "--lr", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "lr=-1" in err[0]


def test_walk_forward_prints_folds_summary_and_writes_json_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, png = tmp_path / "wf.json", tmp_path / "wf.png"
    args = [
        "walk-forward",
        *SMALL,
        "--train",
        "500",
        "--test",
        "250",
        "--epochs",
        "3",
        "--n-starts",
        "2",
        "--purge",
        "2",
        "--json",
        str(out),
        "--plot",
        str(png),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "deflated Sharpe ratio" in text and "probability of backtest overfitting" in text
    assert "buy_and_hold" in text and "untuned" in text
    saved = json.loads(out.read_text())
    assert {"folds", "oos_metrics", "baselines", "regimes", "dsr", "pbo", "n_trials"} <= set(saved)
    assert len(saved["folds"]) >= 4 and png.stat().st_size > 10_000


def test_walk_forward_too_short_data_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["walk-forward", "--tickers", "AAPL", "--start", "2020-01-01", "--train", "5Y"]) == 2
    data, error = capsys.readouterr().err.strip().splitlines()  # the data line, then the error
    assert data.startswith("data: sp500: 1 tickers") and error.startswith("error: ") and "too short" in error
