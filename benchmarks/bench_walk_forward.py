"""Walk-forward benchmark (issue 4): time and peak memory of a full default walk-forward.

Run: python benchmarks/bench_walk_forward.py

20 bundled stocks, 1990-2022, 5-year rolling train, 1-year test, the main job's settings
(a 256-candidate screen, adam, lr 0.05, 100 epochs, long/flat) at 1, 4 (the default) and 8 starts. Each configuration runs
in a fresh subprocess so that its peak resident memory (ru_maxrss) is its own; the import-only
footprint is measured the same way and reported alongside.
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import stratopt
starts = int(sys.argv[1])
prices = stratopt.load_prices("sp500")
t = time.perf_counter()
if starts:
    tuner = stratopt.Tuner(stratopt.MACrossover(), n_starts=starts, seed=0,
                           loss=stratopt.LossSpec(position_mode="long_only"))
    res = stratopt.walk_forward(tuner, prices, stratopt.WalkForward("5Y", "1Y"), progress=False)
    out = {"folds": len(res.folds), "oos_sharpe": res.metrics["sharpe"], "dsr": res.dsr,
           "pbo": None if res.pbo is None else res.pbo.pbo}
else:
    out = {}
out["seconds"] = time.perf_counter() - t
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run(starts: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(starts)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    base = run(0)
    print(f"import + data only: peak {base['peak_mb']:.0f} MB")
    print(f"{'starts':>6} {'folds':>5} {'seconds':>8} {'peak MB':>8} {'oos SR':>7} {'DSR':>6} {'PBO':>6}")
    for starts in (1, 4, 8):
        r = run(starts)
        pbo = "n/a" if r["pbo"] is None else f"{r['pbo']:.3f}"
        print(
            f"{starts:>6} {r['folds']:>5} {r['seconds']:8.1f} {r['peak_mb']:8.0f} {r['oos_sharpe']:7.3f} "
            f"{r['dsr']:6.3f} {pbo:>6}"
        )


if __name__ == "__main__":
    main()
