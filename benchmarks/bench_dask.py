"""Dask execution layer benchmark (issue 13): serial against a local cluster of ``n_jobs`` workers.

Run: python benchmarks/bench_dask.py [--quick] [--epochs N] [--n-jobs K] [--repeat R]

Two jobs, each run serially in this process and then on ``executor(n_jobs=K)`` (K worker
processes, one thread each, torch limited to cores // K threads per worker):

* ``per-ticker``: :func:`stratopt.tune_tickers` over the 20 bundled sp500 stocks (1990-2022),
  ``Tuner(MACrossover(), epochs, n_starts=4, screen=64, seed=0)``, the last 20% of each stock's
  days held out: 20 independent fits.
* ``lr x optimiser``: sgd, momentum, adam and rmsprop at lr 1e-3, 1e-2, 1e-1 on AAPL (one start,
  no screen, seed 0): 12 independent fits through ``Executor.map``.

A third mode runs serially with torch limited to 1 thread, as each worker is: on a busy machine
torch's default of one thread per core can be many times slower for these small tensors (its
threads wait on each other while other processes hold the cores), which is not a gain of Dask.

The two modes run interleaved ``--repeat`` times and the best wall seconds of each count; their
results must be identical (checked, bit for bit). Printed and written to
``benchmarks/results/dask.csv``: wall seconds of the work alone, the cluster's start-up
(workers importing torch), the speed-up with and without it, and the machine's load average,
since other jobs on a shared machine take cores away from the workers.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import torch

import stratopt
from stratopt.parallel import executor, usable_cores

OPTIMIZERS = ["sgd", "momentum", "adam", "rmsprop"]
LRS = [1e-3, 1e-2, 1e-1]
OUT = Path(__file__).parent / "results" / "dask.csv"


def fit_one(setting: tuple[str, float], *, tuner: stratopt.Tuner, prices: pd.DataFrame) -> dict[str, Any]:
    """One (optimiser, lr) fit: its final loss and hard Sharpe ratios."""
    optimizer, lr = setting
    res = tuner.clone(optimizer=optimizer, lr=lr).fit(prices)
    return {
        "optimizer": optimizer,
        "lr": lr,
        "final_loss": float(res.history["loss"].iloc[-1]),
        "train_hard_sharpe": res.metrics["train"]["hard_sharpe"],
        "validation_hard_sharpe": res.metrics["validation"]["hard_sharpe"],
        **res.params,
    }


def per_ticker(ex: Any, prices: pd.DataFrame, epochs: int) -> pd.DataFrame:
    tuner = stratopt.Tuner(stratopt.MACrossover(), epochs=epochs, n_starts=4, screen=64, seed=0)
    result = stratopt.tune_tickers(tuner, prices, scheduler=ex, progress=False)
    assert not result.failures, result.failures
    return result.table


def lr_grid(ex: Any, prices: pd.DataFrame, epochs: int) -> pd.DataFrame:
    tuner = stratopt.Tuner(stratopt.MACrossover(), epochs=epochs, n_starts=1, screen=0, validation=0.2, seed=0)
    settings = [(o, lr) for o in OPTIMIZERS for lr in LRS]
    rows = ex.map(fit_one, settings, shared={"tuner": tuner, "prices": prices}, desc="lr x optimiser", progress=False)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="5 epochs and 4 stocks: checks the script runs")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per fit (default 20)")
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes of the local cluster (default 2)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each mode, interleaved (default 2)")
    args = parser.parse_args()
    epochs = args.epochs or (5 if args.quick else 20)
    warnings.simplefilter("ignore", stratopt.StratoptWarning)  # the fits' diagnostics, same in both modes
    stocks = stratopt.load_prices("sp500")
    if args.quick:
        stocks = stocks.iloc[:, :4]
    aapl = stocks[["AAPL"]]
    jobs = {"per-ticker": (per_ticker, stocks, stocks.shape[1]), "lr x optimiser": (lr_grid, aapl, 12)}
    print(
        f"torch {torch.__version__}, {usable_cores()} cores, torch threads {torch.get_num_threads()}; "
        f"{stocks.shape[1]} stocks x {len(stocks)} days; {epochs} epochs per fit; n_jobs={args.n_jobs}"
    )
    rows = []
    default = torch.get_num_threads()
    t = time.perf_counter()
    with executor(n_jobs=args.n_jobs) as cluster:
        cluster.map(abs, list(range(args.n_jobs)), progress=False)  # every worker has imported torch
        startup = time.perf_counter() - t
        print(f"cluster of {args.n_jobs} workers up in {startup:.1f} s")
        for name, (job, prices, n_tasks) in jobs.items():
            best: dict[str, float] = {}
            out: dict[str, pd.DataFrame] = {}
            for _ in range(args.repeat):  # interleaved, best of each: other jobs on the machine add noise
                for mode, ex, threads in (
                    ("serial", executor(), default),
                    ("serial1", executor(), 1),
                    ("dask", cluster, default),
                ):
                    torch.set_num_threads(threads)
                    t = time.perf_counter()
                    out[mode] = job(ex, prices, epochs)
                    best[mode] = min(best.get(mode, float("inf")), time.perf_counter() - t)
                    torch.set_num_threads(default)
            identical = out["dask"].equals(out["serial"]) and out["serial1"].equals(out["serial"])
            print(
                f"{name:15s} serial {best['serial']:7.1f} s, serial with 1 torch thread {best['serial1']:7.1f} s, "
                f"n_jobs={args.n_jobs} {best['dask']:7.1f} s: speed-up {best['serial'] / best['dask']:.2f}x "
                f"({best['serial1'] / best['dask']:.2f}x over 1 thread, {best['serial'] / (best['dask'] + startup):.2f}x "
                f"with the start-up); identical to serial: {identical}"
            )
            rows.append(
                {
                    "job": name,
                    "tasks": n_tasks,
                    "epochs": epochs,
                    "days": len(prices),
                    "n_jobs": args.n_jobs,
                    "serial_seconds": round(best["serial"], 2),
                    "serial_1thread_seconds": round(best["serial1"], 2),
                    "dask_seconds": round(best["dask"], 2),
                    "cluster_start_seconds": round(startup, 2),
                    "speedup": round(best["serial"] / best["dask"], 3),
                    "speedup_over_1thread": round(best["serial1"] / best["dask"], 3),
                    "speedup_with_start": round(best["serial"] / (best["dask"] + startup), 3),
                    "identical": identical,
                    "cores": usable_cores(),
                    "torch_threads_serial": default,
                    "load_average_1min": round(os.getloadavg()[0], 2),
                }
            )
    if not args.quick:
        OUT.parent.mkdir(exist_ok=True)
        with OUT.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"written to {OUT}")


if __name__ == "__main__":
    main()
