"""Small fits run on one torch thread and give the caller's thread setting back."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from stratopt.rules import MACrossover
from stratopt.training import Tuner
from stratopt.training._tuner import SMALL_WORK, small_work_threads


@pytest.fixture()
def two_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def _threads_seen(prices: pd.DataFrame, **settings) -> set[int]:
    seen: set[int] = set()
    Tuner(MACrossover(), epochs=3, screen=8, progress=False, callbacks=[lambda row: seen.add(torch.get_num_threads())],
          **settings).fit(prices)  # fmt: skip
    return seen


def test_a_small_fit_trains_on_one_thread_and_restores_the_setting(two_threads, three_stocks: pd.DataFrame) -> None:
    small = three_stocks.iloc[:600, :1]  # 4 starts x 600 days x 1 asset: far below SMALL_WORK
    assert SMALL_WORK > 4 * 600
    assert _threads_seen(small) == {1}
    assert torch.get_num_threads() == 2  # given back
    big = 4 * len(three_stocks) * 3 * 8  # 8x the stocks: above the threshold, two threads kept
    assert big >= SMALL_WORK
    wide = pd.concat([three_stocks.add_suffix(f"_{k}") for k in range(8)], axis=1)
    assert _threads_seen(wide) == {2}


def test_the_setting_comes_back_when_the_fit_raises(two_threads) -> None:
    with pytest.raises(RuntimeError), small_work_threads(10, torch.device("cpu")):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2
    with small_work_threads(10, torch.device("meta")):  # not the CPU: nothing changes
        assert torch.get_num_threads() == 2
