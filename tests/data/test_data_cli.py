"""`stratopt data`: summary on good input, one-line error and exit status 2 on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stratopt.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_data_sp500_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "sp500"]) == 0
    out = capsys.readouterr().out
    assert "sp500: 20 tickers, 8313 rows, 1990-01-02 to 2022-12-28" in out
    rows = [line.split() for line in out.splitlines()[3:]]
    assert len(rows) == 20
    assert rows[0] == ["AAPL", "1990-01-02", "2022-12-28", "8313", "0"]


def test_data_defaults_to_sp500_and_filters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "--tickers", "AAPL,msft", "--start", "2020-01-01"]) == 0
    out = capsys.readouterr().out
    assert "2 tickers, 754 rows, 2020-01-02 to 2022-12-28" in out


def test_bad_csv_gives_one_line_error_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,AAA,BBB\n2020-01-02,1.0,2.0\n2020-01-03,1.1,-2.0\n")
    assert main(["data", str(bad)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "BBB" in lines[0] and "2020-01-03" in lines[0] and "Traceback" not in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "no/such/file.csv"],
        ["data", "sp500", "--tickers", "NOPE"],
        ["data", "sp500", "--start", "not-a-date"],
        ["data", "yfinance", "--tickers", "../../etc/passwd"],
        ["data", "sp500", "--start", "2031-01-01"],
    ],
)
def test_bad_input_is_one_error_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_repairs_are_printed_as_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gap.csv"
    path.write_text("Date,AAA\n2020-01-02,1.0\n2020-01-03,\n2020-01-06,1.2\n")
    assert main(["data", str(path)]) == 0
    err = capsys.readouterr().err
    assert "warning: forward-filled 1 missing prices" in err


def test_no_command_and_bad_option_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "data" in capsys.readouterr().err
    assert main(["data", "--no-such-option"]) == 2


def test_list_shows_the_bundled_datasets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "--list"]) == 0
    out = capsys.readouterr().out
    assert "sp500" in out and "sp500-index" in out


def test_python_dash_m_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stratopt", "data", "sp500-index"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 tickers, 8313 rows, 1990-01-02 to 2022-12-28" in done.stdout
