"""Part 3: how cost grows with days and with assets.

For each size: one default ``stratopt.fit`` of the crossover, and 256 hard evaluations through
:func:`stratopt.evaluate` (what a grid, random search or Optuna pays for 256 trials when
batched; Optuna's own bookkeeping comes on top), each timed in CPU seconds of one thread, with
the process's peak resident memory above its level before the call. Days grow on one stock,
assets on 1,000 days. Real prices are used where the bundled data have them (8,313 days, 20
stocks); beyond that the series are synthetic: block bootstraps (63-day blocks) of the real
stocks' daily log returns, labelled as such. A small fit and evaluation run first, so that no
size is charged the process's one-time costs.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

import stratopt
from benchmarks.peers.spaces import Space
from benchmarks.peers.tools import memory_mark, memory_peak
from stratopt import evaluate, fit
from stratopt.rules import MACrossover

BLOCK = 63


def sized_prices(prices: pd.DataFrame, n_days: int, n_assets: int, seed: int = 0) -> tuple[pd.DataFrame, bool]:
    """``n_days`` x ``n_assets`` prices: the real ones when they suffice, else block-bootstrapped
    from them; and whether any column is synthetic."""
    if n_days <= len(prices) and n_assets <= prices.shape[1]:
        return prices.iloc[-n_days:, :n_assets], False
    rng = np.random.default_rng(seed)
    logret = np.diff(np.log(prices.to_numpy()), axis=0)
    cols = []
    for j in range(n_assets):
        src = logret[:, j % prices.shape[1]]
        starts = rng.integers(0, len(src) - BLOCK, size=n_days // BLOCK + 1)
        r = np.concatenate([src[s : s + BLOCK] for s in starts])[: n_days - 1]
        cols.append(100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)])))
    index = pd.bdate_range("1900-01-01", periods=n_days)
    return pd.DataFrame(np.column_stack(cols), index=index, columns=[f"S{j}" for j in range(n_assets)]), True


def measure(func: Any) -> tuple[float, float]:
    """CPU seconds and peak extra resident memory (MB) of ``func()``."""
    rss = memory_mark()
    c0 = time.process_time()
    func()
    return time.process_time() - c0, memory_peak() - rss


def run_scaling(
    days: list[int], assets: list[int], *, assets_days: int = 1000, fit_settings: dict[str, Any] | None = None
) -> pd.DataFrame:
    """One row per (axis, size, tool)."""
    prices = stratopt.load_prices("sp500")
    space = Space(MACrossover())
    table = space.from_unit(np.random.default_rng(0).uniform(size=(256, 2)))
    rows = []
    # one small fit and evaluation first: the process's one-time costs (torch.optim imports
    # torch._dynamo on its first optimiser, about a second; first allocations) are no size's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm = prices.iloc[-400:, :1]
        fit(MACrossover(), warm, seed=0, progress=False, **{**(fit_settings or {}), "epochs": 2, "screen": 8})
        evaluate(space.batch(table[:8]), warm)
    sizes = [("days", n, 1, n) for n in days] + [("assets", n, n, assets_days) for n in assets]
    for axis, size, n_assets, n_days in sizes:
        px, synthetic = sized_prices(prices, n_days, n_assets)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cpu, mb = measure(lambda px=px: fit(MACrossover(), px, seed=0, progress=False, **(fit_settings or {})))
        rows.append({"axis": axis, "size": size, "days": n_days, "assets": n_assets, "synthetic": synthetic,
                     "tool": "stratopt fit (default)", "cpu_s": cpu, "peak_mb": mb})  # fmt: skip
        cpu, mb = measure(lambda px=px: evaluate(space.batch(table), px))
        rows.append({"axis": axis, "size": size, "days": n_days, "assets": n_assets, "synthetic": synthetic,
                     "tool": "256 evaluations (batched)", "cpu_s": cpu, "peak_mb": mb})  # fmt: skip
        print(f"scaling {axis} {size}: fit {rows[-2]['cpu_s']:.1f} s, 256 evaluations {cpu:.1f} s", flush=True)
    return pd.DataFrame(rows)
