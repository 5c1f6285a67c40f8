"""Loss-landscape benchmark (issue 5): a 100 x 100 grid in batched passes vs a Python double loop.

Run: python benchmarks/bench_landscape.py [--grid 100] [--naive-points 200] [--threads N] [--repeat 3]

``loss_landscape`` of MACrossover over fast x slow (3..399 days, log-spaced) on one bundled
stock (AAPL, 8313 days): soft loss at temperature 0.1, hard loss and hard Sharpe at temperature
0, critical points, in float64 (the default) and float32. Side by side, the naive way: a Python
double loop over the grid, one single-start rule per point (set_params, soft and hard forward
passes, net returns, Sharpe). The loop is timed on ``--naive-points`` points spread over the
grid and EXTRAPOLATED linearly to the whole grid (each point costs the same); its values are
compared with the batched ones as a check. Both run in the same process one after the other,
so machine load affects them alike. The target is under 5 s for the 100 x 100 grid on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

import stratopt
from stratopt import objectives as obj
from stratopt._market import MarketData
from stratopt.analysis import loss_landscape
from stratopt.metrics import sharpe_ratio
from stratopt.pnl import net_returns


def naive_loop(data: MarketData, xs: np.ndarray, ys: np.ndarray, cells: np.ndarray) -> tuple[float, np.ndarray]:
    """Seconds for the given cells of a Python double loop, and their (soft, hard, sharpe)."""
    rule = stratopt.MACrossover()
    out = np.empty((len(cells), 3))
    t = time.perf_counter()
    with torch.no_grad():
        for k, (iy, ix) in enumerate(cells):
            rule.set_params(fast=xs[ix], slow=ys[iy])
            soft = net_returns(rule(data, temperature=0.1), data, smooth=True)
            hard = net_returns(rule(data, temperature=0.0), data)
            out[k] = -float(obj.sharpe(soft)[0]), -float(obj.sharpe(hard)[0]), sharpe_ratio(hard[0].numpy())
    return time.perf_counter() - t, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=100)
    parser.add_argument("--naive-points", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeat", type=int, default=3, help="batched runs per dtype; the best is reported")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    prices = stratopt.load_prices("sp500", tickers=["AAPL"])
    data = MarketData.from_prices(prices)
    n = args.grid
    print(
        f"MACrossover fast x slow, {n} x {n} grid, AAPL {data.n_days} days; torch threads "
        f"{torch.get_num_threads()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    )
    loss_landscape(stratopt.MACrossover(), data, grid=8)  # warm-up (first-call costs)

    rows = []
    lands = {}
    for dtype in (torch.float64, torch.float32):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            lands[dtype] = loss_landscape(stratopt.MACrossover(), data, grid=n, dtype=dtype)
            times.append(time.perf_counter() - t)
        rows.append((f"loss_landscape ({str(dtype)[6:]})", n * n, min(times), float(np.median(times)), "measured"))
    land = lands[torch.float64]

    rng = np.random.default_rng(0)
    flat = rng.choice(n * n, size=min(args.naive_points, n * n), replace=False)
    cells = np.column_stack(np.divmod(flat, n))
    secs, values = naive_loop(data, land.x_values, land.y_values, cells)
    whole = secs * n * n / len(cells)
    rows.append((f"Python double loop ({len(cells)} points)", len(cells), secs, secs, "measured"))
    rows.append(("Python double loop (whole grid)", n * n, whole, whole, "EXTRAPOLATED"))

    print(f"\n{'method':<40} {'points':>7} {'best s':>8} {'median s':>9}  {'s / 10k pts':>11}  note")
    for name, pts, best, med, note in rows:
        print(f"{name:<40} {pts:>7} {best:>8.2f} {med:>9.2f}  {best * 1e4 / pts:>11.2f}  {note}")
    best64 = rows[0][2]
    print(
        f"\nspeed-up of loss_landscape (float64) over the loop: {whole / best64:.0f}x; "
        f"target < 5 s: {'met' if best64 < 5 else 'NOT met'} ({best64:.2f} s)"
    )

    surfaces = (land.soft_loss, land.hard_loss, land.hard_sharpe)
    grid_vals = np.column_stack([z[cells[:, 0], cells[:, 1]] for z in surfaces])
    print(f"check: max |batched - loop| over the {len(cells)} points = {np.abs(grid_vals - values).max():.1e}")
    f32 = lands[torch.float32]
    print(
        f"float32 vs float64: max |soft loss diff| {np.abs(f32.soft_loss - land.soft_loss).max():.1e}, "
        f"hard Sharpe cells differing by > 1e-3: {(np.abs(f32.hard_sharpe - land.hard_sharpe) > 1e-3).sum()}"
    )
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
