"""Block evaluation, serially: the same table as one call of the evaluator."""

from __future__ import annotations

import pandas as pd
import pytest

import stratopt
from stratopt.errors import ConfigError, StratoptWarning
from stratopt.parallel import evaluate_blocks
from stratopt.rules import MACrossover


def test_blocks_give_the_table_of_one_evaluate_call_bit_for_bit(two_stocks: pd.DataFrame) -> None:
    rule = MACrossover().with_starts(150, seed=3)  # three blocks of 64, the last one partial
    whole = stratopt.evaluate(rule, two_stocks, start="2004")
    blocks = evaluate_blocks(rule, two_stocks, start="2004", block=64, progress=False)
    pd.testing.assert_frame_equal(blocks, whole, check_exact=True)


def test_a_failed_block_is_left_out_with_a_warning(two_stocks: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    import stratopt.parallel._blocks as blocks_module

    real = blocks_module.evaluate

    def fails_on_the_second_block(rule: object, prices: object, **options: object) -> pd.DataFrame:
        if float(rule.batch_params()["fast"].iloc[0]) == second_fast:  # type: ignore[attr-defined]
            raise MemoryError("no room for this block")
        return real(rule, prices, **options)  # type: ignore[arg-type]

    rule = MACrossover().with_starts(192, seed=1)
    second_fast = float(rule.batch_params()["fast"].iloc[64])
    monkeypatch.setattr(blocks_module, "evaluate", fails_on_the_second_block)
    with pytest.warns(StratoptWarning, match=r"1 of 3 blocks failed .*starts 64-127: MemoryError"):
        table = evaluate_blocks(rule, two_stocks, block=64, progress=False)
    assert list(table.index) == [*range(64), *range(128, 192)]
    assert table.attrs["failures"][0]["error_type"] == "MemoryError"


@pytest.mark.parametrize("block", [0, 100, 64.0, True])
def test_a_block_that_is_not_a_multiple_of_the_chunk_is_refused(two_stocks: pd.DataFrame, block: object) -> None:
    with pytest.raises(ConfigError, match=f"block={block!r} must be a positive multiple of 64"):
        evaluate_blocks(MACrossover().with_starts(2), two_stocks, block=block)  # type: ignore[arg-type]
