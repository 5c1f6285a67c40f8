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


def _late_listing(tmp_path: Path) -> Path:
    """AAA trades from 2020-01-02, NEW only from 2020-07-01 (listed later)."""
    import numpy as np
    import pandas as pd

    days = pd.bdate_range("2020-01-02", "2020-12-31")
    frame = pd.DataFrame({"AAA": 100 * np.exp(np.linspace(0, 0.1, len(days))), "NEW": np.nan}, index=days)
    frame.loc["2020-07-01":, "NEW"] = 50.0 + np.arange((days >= "2020-07-01").sum()) * 0.01
    path = tmp_path / "late.csv"
    frame.rename_axis("date").to_csv(path)
    return path


def test_exclude_drops_a_ticker_not_yet_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _late_listing(tmp_path)
    # Without it the start before NEW's listing is refused, and the message names the way out.
    assert main(["data", str(path), "--end", "2020-03-31"]) == 2
    err = capsys.readouterr().err
    assert "NEW" in err and "--exclude NEW" in err
    assert main(["data", str(path), "--end", "2020-03-31", "--exclude", "new"]) == 0
    out = capsys.readouterr().out
    assert "1 tickers" in out and "AAA" in out and "NEW" not in out


def test_exclude_refuses_unknown_or_every_ticker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _late_listing(tmp_path)
    assert main(["data", str(path), "--exclude", "ZZZ"]) == 2
    assert "ZZZ" in capsys.readouterr().err
    assert main(["data", str(path), "--exclude", "AAA,NEW"]) == 2
    assert "drops every ticker" in capsys.readouterr().err


def test_date_format_option_reads_day_first_dates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 02/01/2020 .. 10/01/2020: every label fits both orders; inferred from the weekdays with a
    # warning that asks for the format, silent once --date-format says it.
    path = tmp_path / "dm.csv"
    path.write_text("date,AAA\n" + "".join(f"{d:02d}/01/2020,{100 + d}\n" for d in (2, 3, 6, 7, 8, 9, 10)))
    assert main(["data", str(path)]) == 0
    assert "date_format" in capsys.readouterr().err
    assert main(["data", str(path), "--date-format", "%d/%m/%Y"]) == 0
    captured = capsys.readouterr()
    assert "2020-01-02 to 2020-01-10" in captured.out and captured.err == ""
    assert main(["data", str(path), "--date-format", "%m/%d/%Y"]) == 0  # the given order is the one used
    assert "2020-02-01 to 2020-10-01" in capsys.readouterr().out
