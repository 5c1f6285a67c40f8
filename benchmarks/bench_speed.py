"""Walk-forward speed (issue 12): the main job, a cached numpy grid against stratopt on small
universes, and a 500-asset synthetic universe, side by side in one run.

Run: python benchmarks/bench_speed.py [--before SRC] [--quick] [--skip-large]

* **main job**: ``stratopt walk-forward`` with its defaults (MACrossover on the 20 bundled
  stocks, 1990-2022, 5Y/1Y, long/flat, 4 starts, 100 epochs, a 256-candidate screen), in a
  fresh subprocess for its own peak memory (ru_maxrss). ``--before SRC`` runs the same job on
  another source tree too (``git archive <commit> stratopt | tar -x -C SRC``), for before/after.
* **small universes**: the first 2, 5 and 10 bundled stocks. A plain numpy walk-forward that
  filters each span once over the whole history (``scipy.signal.lfilter``), scores ~880
  (fast, slow) pairs of the hard crossover on each fold's train days and trades the best on
  the test days, against stratopt's walk-forward with the main job's settings. Both are
  charged the same costs under the same allocation and position mode (stratopt's own
  ``LossSpec``, so only the search differs).
* **500 assets**: SYNTHETIC prices (one-factor GBM: market vol 16%/yr, idiosyncratic vol
  25%/yr, pairwise correlation about 0.3, 20 years of business days, seed 0), the main job's
  settings.

Every time is wall-clock seconds and process CPU seconds on this machine, with its load at
the time (the 1-minute load average is printed); compare ratios, not absolute times. Results
go to ``benchmarks/results/speed.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "speed.csv"

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd, torch
import stratopt
kind, arg = sys.argv[1], sys.argv[2]
if kind == "synthetic":
    n_assets, years = (int(v) for v in arg.split("x"))
    rng = np.random.default_rng(0)
    n = 252 * years
    market = rng.normal(0.0003, 0.16 / np.sqrt(252), size=(n, 1))
    beta = rng.uniform(0.6, 1.4, size=(1, n_assets))
    idio = rng.normal(0.0, 0.25 / np.sqrt(252), size=(n, n_assets))
    prices = pd.DataFrame(100 * np.exp(np.cumsum(beta * market + idio - 0.5 * (0.3 / np.sqrt(252)) ** 2, axis=0)),
                          index=pd.bdate_range("2003-01-01", periods=n),
                          columns=[f"SYN{j:03d}" for j in range(n_assets)])
else:
    prices = stratopt.load_prices("sp500")
    if arg != "all":
        prices = prices.iloc[:, : int(arg)]
t, c = time.perf_counter(), time.process_time()
tuner = stratopt.Tuner(stratopt.MACrossover(), n_starts=4, epochs=100, seed=0, validation=None,
                       loss=stratopt.LossSpec(position_mode="long_only"))
res = stratopt.walk_forward(tuner, prices, stratopt.WalkForward("5Y", "1Y", reduce_test=True), progress=False)
out = {"folds": len(res.folds), "oos_sharpe": res.metrics["sharpe"],
       "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c,
       "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
print(json.dumps(out))
"""


def stratopt_run(kind: str, arg: str, src: str | None = None) -> dict:
    """The walk-forward in a fresh interpreter (its own peak memory); ``src`` overrides the package."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, kind, arg], capture_output=True, text=True, check=True, env=env, cwd="/"
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def grid_pairs() -> np.ndarray:
    """About 880 distinct whole-day (fast, slow) pairs over the crossover's box."""
    fast = np.unique(np.round(np.geomspace(2, 100, 42)))
    ratio = np.geomspace(1.25, 8.0, 28)
    pairs = {(f, max(round(f * r), f + 1)) for f in fast for r in ratio}
    return np.array(sorted(pairs), dtype=float)


def grid_walk_forward(prices: pd.DataFrame) -> dict:
    """Cached-grid walk-forward: each span filtered once, the best train pair traded per fold."""
    import time

    from scipy.signal import lfilter

    import stratopt
    from stratopt import metrics
    from stratopt.pnl import allocation

    t, c = time.perf_counter(), time.process_time()
    spec = stratopt.LossSpec(position_mode="long_only")
    data = stratopt.MarketData.from_prices(prices)
    logp = data.log_prices.numpy()
    pairs = grid_pairs()
    cache = {}
    for span in np.unique(pairs):
        a = 2.0 / (span + 1.0)
        cache[span] = lfilter([a], [1.0, a - 1.0], logp, axis=0, zi=(1.0 - a) * logp[:1])[0]
    weights = allocation(data, spec.allocation).numpy()
    ret = data.returns.numpy()
    tradable = data.tradable.numpy()
    net = np.empty((len(pairs), data.n_days - 1))
    for i, (f, s) in enumerate(pairs):
        pos = np.where(tradable, np.clip(np.sign(cache[f] - cache[s]), 0.0, 1.0), 0.0)
        h = pos * weights
        trades = np.diff(h, axis=0, prepend=0.0 * h[:1])[:-1]
        net[i] = (h[:-1] * ret[1:]).sum(1) - spec.cost_bps / 1e4 * np.abs(trades).sum(1)
    oos = []
    for train_idx, test_idx in stratopt.WalkForward("5Y", "1Y", reduce_test=True).split(prices):
        r = net[:, train_idx[1:] - 1]  # returns earned over the train days
        sharpe = r.mean(1) / np.maximum(r.std(1), 1e-12)
        best = int(np.argmax(sharpe))
        oos.append(net[best, test_idx[0] - 1 : test_idx[-1]])
    oos_r = np.concatenate(oos)
    return {
        "pairs": len(pairs),
        "oos_sharpe": metrics.sharpe_ratio(oos_r),
        "seconds": time.perf_counter() - t,
        "cpu_seconds": time.process_time() - c,
    }


EVIDENCE = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import stratopt
from stratopt import metrics
patience = None if sys.argv[1] == "none" else int(sys.argv[1])
prices = stratopt.load_prices("sp500")
tuner = stratopt.Tuner(stratopt.MACrossover(), n_starts=4, epochs=100, seed=0, validation=None,
                       loss=stratopt.LossSpec(position_mode="long_only"))
c = time.process_time()
res = stratopt.walk_forward(tuner, prices, stratopt.WalkForward("5Y", "1Y", reduce_test=True),
                            patience=patience, progress=False)
oos = res.oos_returns
print(json.dumps({"patience": sys.argv[1], "cpu_seconds": time.process_time() - c,
                  "dev_sharpe": metrics.sharpe_ratio(oos[:"2010-12-31"].to_numpy()),
                  "confirm_sharpe": metrics.sharpe_ratio(oos["2011-01-01":].to_numpy())}))
"""


def patience_evidence() -> None:
    """Out-of-sample Sharpe of the main job on the development years (folds testing 1995-2010)
    and the confirmation years (2011-2022) with each fold trained every epoch or stopped by
    patience; the default is chosen on the development years only."""
    rows = []
    for patience in ("none", "20", "10", "5"):
        proc = subprocess.run([sys.executable, "-c", EVIDENCE, patience], capture_output=True, text=True, check=True)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    out = RESULTS.with_name("speed_patience.csv")
    pd.DataFrame(rows).to_csv(out, index=False)


def screen_evidence(seeds: list[int]) -> None:
    """The main job's configurations (long/flat, with and without the drift penalty) over the
    generalisation study's seeds on this code, where every fold's screen is sliced from one
    pass over the history, against the study's rows (each fold screened on its own window).
    Written to ``results/speed_shared_screen.csv``; dev years choose, confirmation reported."""
    import bench_generalisation as gen

    import stratopt

    torch_threads = os.environ.get("OMP_NUM_THREADS")
    prices = stratopt.load_prices("sp500")
    rows = []
    for name in ("long/flat", "long/flat + drift penalty 0.5"):
        for seed in seeds:
            rows.append(gen.run_config(name, seed, prices))
            print(rows[-1]["config"], seed, round(rows[-1]["dev_oos_sharpe"], 3), flush=True)
    new = pd.DataFrame(rows)
    new["threads"] = torch_threads or "default"
    out = RESULTS.with_name("speed_shared_screen.csv")
    new.to_csv(out, index=False)
    old = pd.read_csv(gen.RESULTS)
    old = old[old["config"].isin(new["config"]) & old["seed"].isin(seeds)]
    cols = ["dev_oos_sharpe", "confirm_oos_sharpe", "param_change"]
    table = pd.concat(
        {"per-fold screens (study)": old.groupby("config")[cols].agg(["mean", "std"]),
         "shared screen": new.groupby("config")[cols].agg(["mean", "std"])}
    )  # fmt: skip
    print(table.round(3).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="SRC", help="source tree of the version to compare against")
    parser.add_argument("--quick", action="store_true", help="small universes only")
    parser.add_argument("--skip-large", action="store_true", help="skip the 500-asset synthetic case")
    parser.add_argument("--evidence", action="store_true", help="only the patience evidence on the main job")
    parser.add_argument(
        "--screen-evidence", action="store_true", help="only the shared screen's out-of-sample evidence (5 seeds)"
    )
    args = parser.parse_args()
    if args.evidence:
        patience_evidence()
        return
    if args.screen_evidence:
        screen_evidence([0, 1, 2, 3, 4])
        return
    import stratopt

    print(f"load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rows = []
    if not args.quick:
        versions = [("after", None)] + ([("before", args.before)] if args.before else [])
        for label, src in versions:
            r = stratopt_run("sp500", "all", src)
            rows.append({"case": "main job", "method": f"stratopt ({label})", **r})
            print(rows[-1], flush=True)
    prices = stratopt.load_prices("sp500")
    for k in (2, 5, 10):
        g = grid_walk_forward(prices.iloc[:, :k])
        rows.append({"case": f"{k} assets", "method": "cached numpy grid", **g})
        print(rows[-1], flush=True)
        r = stratopt_run("sp500", str(k))
        rows.append({"case": f"{k} assets", "method": "stratopt", **r})
        print(rows[-1], flush=True)
    if not args.quick and not args.skip_large:
        r = stratopt_run("synthetic", "500x20")
        rows.append({"case": "500 assets x 20 years (synthetic GBM)", "method": "stratopt", **r})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table["load_avg"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(exist_ok=True)
    table.to_csv(RESULTS, index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for k in (2, 5, 10):
        sub = table[table["case"] == f"{k} assets"].set_index("method")
        ratio = sub.loc["stratopt", "cpu_seconds"] / sub.loc["cached numpy grid", "cpu_seconds"]
        print(
            f"{k} assets: stratopt / grid CPU time {ratio:.1f}x, "
            f"out-of-sample Sharpe {sub.loc['stratopt', 'oos_sharpe']:.3f} vs {sub.loc['cached numpy grid', 'oos_sharpe']:.3f}"
        )


if __name__ == "__main__":
    main()
