"""What ``load_prices`` accepts as a source, and one-line errors for what it cannot read."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from stratopt.data import load_prices
from stratopt.errors import ConfigError, DataError

WIDE = "Date,AAA,BBB\n2020-01-02,1.0,2.0\n2020-01-03,1.1,2.1\n"


@pytest.mark.parametrize("source", [123, None, 1.5, b"sp500", {"a": 1}, pd.Series([1.0, 2.0], name="A")])
def test_source_of_the_wrong_kind_says_what_is_accepted(source: object) -> None:
    with pytest.raises(ConfigError) as info:
        load_prices(source)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    assert "DataFrame" in message
    if not isinstance(source, pd.Series):
        assert repr(source)[:20] in message and "'sp500'" in message and "'yfinance'" in message


def test_list_holding_a_non_path_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(WIDE)
    with pytest.raises(ConfigError, match=r"list item 7 \(int\) is not a path"):
        load_prices([tmp_path / "a.csv", 7])  # type: ignore[list-item]


def test_garbage_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv.gz"
    path.write_bytes(b"this is not gzip at all\n" * 10)
    with pytest.raises(DataError, match=r"prices\.csv\.gz \(BadGzipFile: .*gzip compressed CSV") as info:
        load_prices(path)
    assert "\n" not in str(info.value)


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(WIDE.encode() * 50)[:40])
    with pytest.raises(DataError, match=r"cut\.csv\.gz"):
        load_prices(path)


@pytest.mark.parametrize("suffix", [".bz2", ".xz", ".zip"])
def test_other_damaged_archives_name_the_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"prices.csv{suffix}"
    path.write_bytes(b"\x00garbage\xff" * 20)
    with pytest.raises(DataError, match=rf"prices\.csv\{suffix}"):
        load_prices(path)


def test_zip_with_two_csv_files_names_the_file_and_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "two.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", WIDE)
        archive.writestr("b.csv", WIDE)
    with pytest.raises(DataError, match=r"two\.csv\.zip holds 2 entries \('a\.csv', 'b\.csv'\).*unzip it"):
        load_prices(path)


def test_zip_with_one_csv_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "one.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("one.csv", WIDE)
    assert load_prices(path).shape == (2, 2)
