"""Core benchmarks (issue 3): forward+backward cost of MACrossover, and stratopt vs a grid search.

Run: python benchmarks/bench_core.py [--quick]

1. One forward+backward pass of the training loss (-Sharpe of smoothed net returns) of
   MACrossover on all 20 bundled stocks x 8313 days, float64 and float32, at 1, 8 and 64 starts,
   side by side with a naive EMA written as a Python loop over days (the form the chunked scan
   replaces).
2. On single bundled stocks: a dense integer grid search of the hard rule (every fast 2..50 x
   slow 10..200 with fast < slow, vectorised: each distinct span filtered once, then all pairs in
   batched tensor passes) against stratopt.fit with multi-start, both scored by the same hard
   in-sample Sharpe (sample std, sqrt(252), 5 bps costs).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import stratopt
from stratopt import metrics
from stratopt import objectives as obj
from stratopt._market import MarketData
from stratopt.ops import ema, soft_sign
from stratopt.pnl import net_returns
from stratopt.rules._features import daily_vol


def timed(fn, repeat: int, rounds: int = 3) -> float:
    """Best over ``rounds`` of the mean time of ``repeat`` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t) / repeat)
    return best


def naive_ema(x: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
    """The per-day recursion under autograd: what not to do."""
    a = 2.0 / (span.reshape(-1, 1) + 1.0)
    out = [x[0].expand(a.shape[0], -1) + 0 * a]
    for t in range(1, x.shape[0]):
        out.append(a * x[t] + (1 - a) * out[-1])
    return torch.stack(out, dim=1)


def bench_forward_backward(data: MarketData, repeat: int) -> None:
    print("1) forward+backward of the training loss, MACrossover, 20 stocks x 8313 days")
    warm = stratopt.MACrossover().with_starts(8, seed=0)
    for _ in range(10):  # the first passes of a process pay for allocations and thread start-up
        (-obj.sharpe(net_returns(warm(data, temperature=0.5), data, smooth=True))).sum().backward()
    print(f"{'dtype':>8} {'starts':>6} {'ms':>9} {'ms/start':>9}")
    for dtype in (torch.float64, torch.float32):
        d = data.to(dtype=dtype)
        for starts in (1, 8, 64):
            rule = stratopt.MACrossover() if starts == 1 else stratopt.MACrossover().with_starts(starts, seed=0)
            rule = rule.to(dtype)

            def step(rule: stratopt.Rule = rule, d: MarketData = d) -> None:
                rule.zero_grad()
                loss = -obj.sharpe(net_returns(rule(d, temperature=0.5), d, smooth=True))
                loss.sum().backward()

            ms = timed(step, repeat if starts < 64 else max(2, repeat // 5)) * 1e3
            print(f"{str(dtype).split('.')[-1]:>8} {starts:>6} {ms:9.2f} {ms / starts:9.2f}")
    spans = torch.tensor([20.0, 100.0], dtype=torch.float64, requires_grad=True)

    def naive_step() -> None:
        both = naive_ema(data.log_prices, spans)
        pos = soft_sign((both[0] - both[1]) / daily_vol(data)[0], 0.5).unsqueeze(0)
        (-obj.sharpe(net_returns(pos, data, smooth=True))).sum().backward()

    naive_ms = timed(naive_step, 1) * 1e3
    rule = stratopt.MACrossover()

    def fast_step() -> None:
        rule.zero_grad()
        (-obj.sharpe(net_returns(rule(data, temperature=0.5), data, smooth=True))).sum().backward()

    fast_ms = timed(fast_step, repeat) * 1e3
    print(
        f"naive per-day loop EMA, float64, 1 start: {naive_ms:.0f} ms  vs chunked scan {fast_ms:.1f} ms "
        f"-> {naive_ms / fast_ms:.0f}x"
    )


def grid_search(data: MarketData, cost_bps: float = 5.0) -> tuple[float, tuple[int, int], float]:
    """Best hard in-sample Sharpe over every integer fast 2..50 < slow 10..200, vectorised."""
    t = time.perf_counter()
    fasts = np.arange(2, 51)
    slows = np.arange(10, 201)
    pairs = np.array([(f, s) for f in fasts for s in slows if f < s])
    spans = torch.tensor(np.unique(pairs), dtype=torch.float64)
    with torch.no_grad():
        emas = ema(data.log_prices, spans)  # each distinct span once: (n_spans, T, N)
        index = {int(s): i for i, s in enumerate(spans.tolist())}
        best = (-np.inf, (0, 0))
        for chunk in np.array_split(pairs, max(1, len(pairs) // 1000)):
            fi = torch.tensor([index[f] for f in chunk[:, 0]])
            si = torch.tensor([index[s] for s in chunk[:, 1]])
            pos = torch.where(data.tradable, torch.sign(emas[fi] - emas[si]), 0.0)
            r = net_returns(pos, data, cost_bps=cost_bps).numpy()
            sharpe = r.mean(1) / r.std(1, ddof=1) * np.sqrt(252)
            k = int(np.nanargmax(sharpe))
            if sharpe[k] > best[0]:
                best = (float(sharpe[k]), (int(chunk[k, 0]), int(chunk[k, 1])))
    return best[0], best[1], time.perf_counter() - t


FIT_CONFIGS = {
    # name: (rule factory, fit keyword arguments)
    "in grid": (
        lambda: stratopt.MACrossover().with_bounds(fast=(2, 50), slow=(10, 200)),
        {"n_starts": 16, "epochs": 100, "lr": 0.1},
    ),
    "free": (stratopt.MACrossover, {"n_starts": 16, "epochs": 100, "lr": 0.1}),
    "quick f32": (stratopt.MACrossover, {"n_starts": 16, "epochs": 40, "lr": 0.2, "dtype": torch.float32}),
}


def bench_vs_grid(prices, tickers: list[str]) -> None:
    print(
        "\n2) grid search (every integer fast 2..50 < slow 10..200) vs stratopt.fit (adam), hard in-sample "
        "Sharpe of the backtest in float64, 5 bps costs"
    )
    for name, (_, kw) in FIT_CONFIGS.items():
        print(f"   {name}: {kw}" + (" within the grid's bounds" if name == "in grid" else " bounds 2..400 days"))
    head = f"{'ticker':>6} {'grid SR':>8} {'(f,s)':>10} {'grid s':>6}"
    for name in FIT_CONFIGS:
        head += f" | {name:>9} {'(f,s)':>10} {'s':>5} {'ratio':>5}"
    print(head)
    summary = {name: [] for name in FIT_CONFIGS}
    for ticker in tickers:
        one = prices[[ticker]]
        g_sr, g_fs, g_t = grid_search(MarketData.from_prices(one))
        line = f"{ticker:>6} {g_sr:8.3f} {g_fs!s:>10} {g_t:6.2f}"
        for name, (factory, kw) in FIT_CONFIGS.items():
            t = time.perf_counter()
            res = stratopt.fit(factory(), one, seed=0, validation=None, progress=False, **kw)
            f_t = time.perf_counter() - t
            rule = res.rule.to(torch.float64)
            f_sr = metrics.sharpe_ratio(stratopt.backtest(rule, one).returns)  # the grid's metric, float64
            hard = rule.param_table()["hard"]
            summary[name].append((f_sr >= g_sr - 1e-9, f_t / g_t))
            line += f" | {f_sr:9.3f} {(int(hard['fast']), int(hard['slow']))!s:>10} {f_t:5.2f} {f_t / g_t:5.2f}"
        print(line)
    for name, rows in summary.items():
        wins = sum(w for w, _ in rows)
        print(
            f"{name}: matches or beats the grid's best on {wins}/{len(rows)} stocks, median time ratio "
            f"{np.median([r for _, r in rows]):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    prices = stratopt.load_prices("sp500")
    data = MarketData.from_prices(prices)
    bench_forward_backward(data, repeat=5 if args.quick else 20)
    tickers = ["AAPL", "XOM"] if args.quick else ["AAPL", "XOM", "JPM", "KO", "MSFT", "WMT"]
    bench_vs_grid(prices, tickers)


if __name__ == "__main__":
    main()
