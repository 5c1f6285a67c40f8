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


def timed(fn, repeat: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def naive_ema(x: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
    """The per-day recursion under autograd: what not to do."""
    a = 2.0 / (span.reshape(-1, 1) + 1.0)
    out = [x[0].expand(a.shape[0], -1) + 0 * a]
    for t in range(1, x.shape[0]):
        out.append(a * x[t] + (1 - a) * out[-1])
    return torch.stack(out, dim=1)


def bench_forward_backward(data: MarketData, repeat: int) -> None:
    print("1) forward+backward of the training loss, MACrossover, 20 stocks x 8313 days")
    print(f"{'dtype':>8} {'starts':>6} {'ms':>9} {'ms/start':>9}")
    for dtype in (torch.float64, torch.float32):
        d = data.to(dtype=dtype)
        for starts in (1, 8, 64):
            rule = stratopt.MACrossover() if starts == 1 else stratopt.MACrossover().with_starts(starts, seed=0)
            rule = rule.to(dtype)

            def step() -> None:
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
    print(f"naive per-day loop EMA, float64, 1 start: {naive_ms:.0f} ms  vs chunked scan {fast_ms:.1f} ms "
          f"-> {naive_ms / fast_ms:.0f}x")


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


def bench_vs_grid(prices, tickers: list[str], starts: int, epochs: int) -> None:
    print("\n2) grid search (fast 2..50 < slow 10..200) vs stratopt.fit, "
          f"{starts} starts x {epochs} epochs, hard in-sample Sharpe, 5 bps")
    print(f"{'ticker':>6} {'grid SR':>8} {'grid (f,s)':>11} {'grid s':>7} {'fit SR':>7} {'fit (f,s)':>11} "
          f"{'fit s':>6} {'time ratio':>10}")
    for ticker in tickers:
        data = MarketData.from_prices(prices[[ticker]])
        g_sr, g_fs, g_t = grid_search(data)
        t = time.perf_counter()
        res = stratopt.fit(stratopt.MACrossover(), prices[[ticker]], n_starts=starts, seed=0, epochs=epochs,
                           lr=0.1, validation=None, progress=False)
        f_t = time.perf_counter() - t
        f_sr = res.metrics["train"]["hard_sharpe"]
        hard = res.rule.param_table()["hard"]
        print(f"{ticker:>6} {g_sr:8.3f} {str(g_fs):>11} {g_t:7.2f} {f_sr:7.3f} "
              f"{str((int(hard['fast']), int(hard['slow']))):>11} {f_t:6.2f} {f_t / g_t:10.2f}")
        assert abs(metrics.sharpe_ratio(stratopt.backtest(res.rule, prices[[ticker]]).returns) - f_sr) < 1e-9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    prices = stratopt.load_prices("sp500")
    data = MarketData.from_prices(prices)
    bench_forward_backward(data, repeat=5 if args.quick else 20)
    tickers = ["AAPL", "XOM"] if args.quick else ["AAPL", "XOM", "JPM", "KO", "MSFT", "WMT"]
    bench_vs_grid(prices, tickers, starts=16, epochs=60 if args.quick else 100)


if __name__ == "__main__":
    main()
