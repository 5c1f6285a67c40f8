"""Credit-assignment benchmark (issue 5): exact per-day attribution vs a per-day backward loop.

Run: python benchmarks/bench_credit.py [--days-naive 200] [--threads N]

``credit_assignment`` of MACrossover on all 20 bundled stocks x 8313 days (one forward and one
backward pass, then one forward-mode pass per parameter) against the naive way to get the
same per-day attribution: one backward pass per day, of that day's positions weighted by
dSharpe/dw. The naive loop is timed on ``--days-naive`` days and EXTRAPOLATED linearly to all
8313 days (each pass costs the same); a per-(day, asset) loop would be 20 times slower again.
Both run in the same process, one after the other, so machine load affects them alike; the
per-day values of the two methods are compared as a check.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import stratopt
from stratopt._market import MarketData
from stratopt.analysis import credit_assignment
from stratopt.objectives import sharpe
from stratopt.pnl import net_returns


def naive_per_day(data: MarketData, days: np.ndarray, temperature: float) -> tuple[np.ndarray, float]:
    """Per-day contributions (days, params) in natural units by one backward pass per day."""
    rule = stratopt.MACrossover(fast=20, slow=100)
    start = time.perf_counter()
    pos = rule(data, temperature=temperature)
    leaf = pos.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(sharpe(net_returns(leaf, data, smooth=True))[0], leaf)
    raws = [rule._raw["fast"], rule._raw["slow"]]
    out = np.empty((days.size, 2))
    for k, t in enumerate(days):
        grads = torch.autograd.grad((pos[0, t] * g[0, t]).sum(), raws, retain_graph=True)
        out[k] = [float(gr[0]) for gr in grads]
    elapsed = time.perf_counter() - start
    scale = [(400.0 - 2.0) * float(torch.sigmoid(r.detach())[0] * (1 - torch.sigmoid(r.detach())[0])) for r in raws]
    return out / np.array(scale), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days-naive", type=int, default=200, help="days the naive loop is timed on")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    prices = stratopt.load_prices("sp500")
    data = MarketData.from_prices(prices)
    temperature = 0.1
    credit_assignment(stratopt.MACrossover(fast=20, slow=100), data, temperature=temperature)  # warm caches

    start = time.perf_counter()
    res = credit_assignment(stratopt.MACrossover(fast=20, slow=100), data, temperature=temperature)
    ours = time.perf_counter() - start

    rng = np.random.default_rng(0)
    days = np.sort(rng.choice(data.n_days - 1, size=min(args.days_naive, data.n_days - 1), replace=False))
    naive, naive_s = naive_per_day(data, days, temperature)
    extrapolated = naive_s * data.n_days / days.size
    ref = res.by_date[["fast", "slow"]].to_numpy()[days]
    err = np.abs(naive - ref).max() / np.abs(ref).max()

    print(
        f"credit assignment, MACrossover, {data.n_assets} stocks x {data.n_days} days, "
        f"{torch.get_num_threads()} torch thread(s)"
    )
    print(f"{'method':<46} {'seconds':>9}")
    print(f"{'credit_assignment (all days, assets, params)':<46} {ours:>9.2f}")
    print(f"{f'per-day backward loop, {days.size} days (measured)':<46} {naive_s:>9.2f}")
    print(f"{f'per-day backward loop, {data.n_days} days (extrapolated)':<46} {extrapolated:>9.1f}")
    print(f"speed-up {extrapolated / ours:.0f}x; max relative difference of the per-day values {err:.1e}")
    print(
        f"sum of attributions - gradient: fast {res.params.loc['fast', 'residual']:.1e}, "
        f"slow {res.params.loc['slow', 'residual']:.1e}"
    )


if __name__ == "__main__":
    main()
