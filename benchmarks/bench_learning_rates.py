"""Learning-rate comparison benchmark (issue 5): 6 rates x 300 epochs on one bundled stock.

Run: python benchmarks/bench_learning_rates.py [--quick] [--epochs N]

MACrossover on AAPL (all 8313 days, 20% held out for validation), plain gradient descent at
lr 1e-4 .. 10, 300 epochs each, side by side in one run:

* ``one by one``: six separate stratopt.fit calls (``vectorize=False``);
* ``batched``: the default, all six rates as the starts of ONE fit (each start's loss scaled by
  ``lr / max(lrs)``, which for SGD is exactly a per-start learning rate).

Both must give the same verdicts. The two modes run interleaved ``--repeat`` times and the best
wall and CPU seconds of each are printed (other jobs on the machine inflate single timings).
Then the LR range test (100 steps).
"""

from __future__ import annotations

import argparse
import time

import torch

import stratopt
from stratopt.analysis import compare_learning_rates, lr_range_test

LRS = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]


def clock(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="60 epochs instead of 300")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each mode (default 2)")
    args = parser.parse_args()
    epochs = args.epochs or (60 if args.quick else 300)
    prices = stratopt.load_prices("sp500", tickers=["AAPL"])
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}; AAPL {len(prices)} days, "
        f"{len(LRS)} rates x {epochs} epochs, sgd"
    )
    rule = stratopt.MACrossover()
    compare_learning_rates(rule, prices, LRS[:2], epochs=2, progress=False)  # warm-up (imports, caches)
    times: dict[str, list[tuple[float, float]]] = {"one by one": [], "batched": []}
    results = {}
    for _ in range(args.repeat):  # interleaved, best of each: other jobs on the machine add noise
        for name, vectorize in (("one by one", False), ("batched", True)):
            res, wall, cpu = clock(
                lambda v=vectorize: compare_learning_rates(
                    rule, prices, LRS, epochs=epochs, vectorize=v, progress=False
                )
            )
            results[name] = res
            times[name].append((wall, cpu))
    best = {name: min(t) for name, t in times.items()}
    print(f"\n{'mode':>12} {'wall s':>8} {'cpu s':>8} {'s per rate':>10}   (best of {args.repeat})")
    for name, (wall, cpu) in best.items():
        print(f"{name:>12} {wall:8.2f} {cpu:8.2f} {wall / len(LRS):10.2f}")
    one, bat = best["one by one"], best["batched"]
    print(f"speed-up of batching: {one[0] / bat[0]:.1f}x wall, {one[1] / bat[1]:.1f}x cpu")
    a, b = results["one by one"].runs, results["batched"].runs
    assert a["verdict"].tolist() == b["verdict"].tolist(), (a, b)
    print("\n" + results["batched"].summary())
    test, wall, cpu = clock(
        lambda: lr_range_test(rule, prices, lr_min=1e-6, lr_max=100.0, steps=100, validation=0.2, progress=False)
    )
    print(f"\nrange test: {wall:.2f} s wall, {cpu:.2f} s cpu; {test.summary()}")


if __name__ == "__main__":
    main()
