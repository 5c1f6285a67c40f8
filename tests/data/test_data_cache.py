"""The Parquet cache under concurrent use: readers never see half a file; corrupt files are named."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pandas as pd
import pytest
from _cache_workers import READS, WRITES, reader, version, write_version, writer

from stratopt.data import _cache
from stratopt.data._cache import read_cache
from stratopt.errors import CorruptCacheError


@pytest.mark.slow
def test_two_writers_and_a_reader_never_see_half_a_file(tmp_path: Path) -> None:
    write_version(tmp_path, version(0, 0))
    context = multiprocessing.get_context("spawn")
    go, results = context.Barrier(3), context.Queue()
    processes = [
        context.Process(target=writer, args=(str(tmp_path), 0, go)),
        context.Process(target=writer, args=(str(tmp_path), 1, go)),
        context.Process(target=reader, args=(str(tmp_path), go, results)),
    ]
    for process in processes:
        process.start()
    failed, reads, versions, problems = results.get(timeout=300)
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert (failed, reads) == (0, READS), problems
    assert versions >= 1
    final = read_cache(tmp_path, "AAPL")
    assert final is not None and int(final.prices.iloc[0]) in {version(0, WRITES - 1), version(1, WRITES - 1)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["yf-AAPL.parquet"]  # no temporary file left


def test_temporary_file_name_holds_the_process_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = []
    real = _cache.tempfile.mkstemp

    def record(**kwargs):
        fd, name = real(**kwargs)
        names.append(Path(name))
        return fd, name

    monkeypatch.setattr(_cache.tempfile, "mkstemp", record)
    write_version(tmp_path, 1)
    write_version(tmp_path, 2)
    assert len(names) == 2 and names[0] != names[1]
    assert all(n.parent == tmp_path and n.name.startswith(f".tmp-yf-AAPL-{os.getpid()}-") for n in names)
    assert not any(n.exists() for n in names)  # each was renamed onto the cache file


def test_a_read_that_finds_the_file_gone_or_unreadable_tries_once_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_version(tmp_path, 7)
    real = _cache._read_entry
    for first_failure in (FileNotFoundError("replaced meanwhile"), OSError("sharing violation")):
        calls: list[object] = []

        def flaky(path, ticker, _failure=first_failure, _calls=calls):
            _calls.append(path)
            if len(_calls) == 1:
                raise _failure
            return real(path, ticker)

        monkeypatch.setattr(_cache, "_read_entry", flaky)
        entry = read_cache(tmp_path, "AAPL")
        assert entry is not None and int(entry.prices.iloc[0]) == 7 and len(calls) == 2


def test_a_file_gone_for_good_reads_as_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_version(tmp_path, 7)

    def vanish(path, ticker):
        Path(path).unlink(missing_ok=True)
        raise FileNotFoundError(path)

    monkeypatch.setattr(_cache, "_read_entry", vanish)
    assert read_cache(tmp_path, "AAPL") is None


@pytest.mark.parametrize("content", [b"", b"PAR1 not really parquet", b"\x00" * 100])
def test_unreadable_file_is_corrupt_naming_the_file_and_the_fix(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "yf-AAPL.parquet"
    path.write_bytes(content)
    with pytest.raises(CorruptCacheError, match="delete it") as info:
        read_cache(tmp_path, "AAPL")
    assert f"cache file {path} is corrupt" in str(info.value)


def test_parquet_file_from_another_program_is_corrupt_too(tmp_path: Path) -> None:
    pd.DataFrame({"x": [1.0]}).to_parquet(tmp_path / "yf-AAPL.parquet")  # no stratopt metadata
    with pytest.raises(CorruptCacheError, match=r"yf-AAPL\.parquet is corrupt \(KeyError"):
        read_cache(tmp_path, "AAPL")
