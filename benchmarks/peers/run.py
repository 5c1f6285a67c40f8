"""Run the peer benchmark and regenerate its results, charts and README section.

``python -m benchmarks`` (needs the ``peers`` extra: ``pip install -e ".[peers]"``). Tasks (one
per problem and seed, one per walk-forward fold) run in ``--jobs`` worker processes with one
thread each; inside a task the tools are interleaved (see :mod:`benchmarks.peers.budgets`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
PEERS = ("vectorbt", "backtesting.py", "optuna TPE", "optuna CMA-ES")
MODULES = {"vectorbt": "vectorbt", "backtesting.py": "backtesting", "optuna TPE": "optuna", "optuna CMA-ES": "cmaes"}

WHY = """\
**Why.** A black box pays one full hard backtest per trial and learns one number from it; a
gradient step costs about as much and moves every parameter at once. With 2 or 4 parameters a
few thousand hard evaluations cover the box, and a search that scores the hard, piecewise
constant Sharpe directly lands on the best point of the best basin, while the fit climbs a
smoothed surrogate whose optimum is near, not on, the hard one and spends a fixed cost (a
256-point screen, then 4 starts x 100 steps) whatever the problem: there stratopt loses, by
a little (a few hundredths of Sharpe), at every budget. With 20 to 29 parameters (a crossover
per stock, the MLP policy) random points and a grid almost never land near a good region, TPE
models each parameter almost independently, and only CMA-ES, which also learns directions,
keeps up: there the gradient wins at 1x and 4x, by a factor of about three on the MLP's
weights, until CMA-ES catches up on the per-stock crossover at 16x. The 10-parameter Blend is
the crossing point (ahead of CMA-ES at 1x, behind it from 4x). In sample is not out of sample:
the MLP's in-sample lead becomes a loss after 2012 (negative Sharpe), the crossover's walk-forward
Sharpe ratios of every optimiser lie within a few hundredths of each other, and stratopt's PBO
is not the lowest; finding a higher in-sample optimum faster is what gradients buy, not less
overfitting. vectorbt and backtesting.py are backtesters with a grid, not optimisers: they apply
only where a grid of their own fits (the 2-parameter crossover here) and maximise each stock's
own Sharpe rather than the portfolio's; backtesting.py's event loop evaluates a few dozen pairs
in the time the others evaluate thousands."""


def _pool_map(func: Callable[[Any], Any], tasks: Iterable[Any], jobs: int) -> list[Any]:
    tasks = list(tasks)
    if jobs <= 0:
        _init_worker()
        return [func(t) for t in tasks]
    # A fixed mmap threshold makes large arrays go back to the system when freed, so the peak
    # memory each tool step adds is visible in the worker's resident set.
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "131072")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_init_worker) as ex:
        return list(ex.map(func, tasks))


def _scaling(job: tuple[list[int], list[int], dict[str, Any]]) -> Any:
    from benchmarks.peers.scaling import run_scaling

    days, assets, fit_settings = job
    return run_scaling(days, assets, fit_settings=fit_settings)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes and budgets (seconds; for tests)")
    p.add_argument("--parts", nargs="*", default=["budgets", "oos", "scaling"], choices=["budgets", "oos", "scaling"])
    p.add_argument("--problems", nargs="*", help="subset of: crossover voltarget blend mlp per-asset")
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    p.add_argument("--budgets", type=float, nargs="*", default=[1, 4, 16], help="in units of the default fit's time")
    p.add_argument("--long-seeds", type=int, default=None, help="run only the first N seeds to the largest budget")
    p.add_argument("--assets", type=int, default=20, help="stocks in the universe (the per-asset problem: 2 per stock)")
    p.add_argument("--in-sample", nargs=2, default=["2008-01-01", "2012-12-31"])
    p.add_argument("--oos-start", default="2013-01-01", help="out-of-sample start of part 1's choices")
    p.add_argument("--oos-problems", nargs="*", default=["crossover", "blend"])
    p.add_argument("--folds", nargs=3, default=["5Y", "2Y", "2003-01-01"], metavar=("TRAIN", "TEST", "FIRST_TEST"))
    p.add_argument("--scaling-days", type=int, nargs="*", default=[1000, 3000, 10000, 30000, 100000])
    p.add_argument("--scaling-assets", type=int, nargs="*", default=[1, 10, 50, 200, 500])
    p.add_argument("--skip", nargs="*", default=[], help="tools to leave out")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (0: run in this process)")
    p.add_argument("--out", type=Path, default=HERE, help="folder holding README.md, results/ and figures/")
    p.add_argument("--report-only", action="store_true", help="redraw charts and README from results/")
    p.add_argument("--fit", default="{}", help=argparse.SUPPRESS)  # fit settings (quick mode shrinks the fit)
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.budgets, args.assets = args.seeds[:1], [1, 2], 3
        args.in_sample, args.oos_start = ["2011-01-01", "2012-12-31"], "2013-01-01"
        args.folds = ["2Y", "1Y", "2021-01-01"]
        args.scaling_days, args.scaling_assets = [300, 600], [1, 3]
        args.fit = "{'epochs': 5, 'screen': 16, 'n_starts': 2}"
    return args


def main(argv: list[str] | None = None) -> int:
    import ast

    from benchmarks.peers import report
    from benchmarks.peers.budgets import BudgetTask, readings, run_budget_task, time_to_target
    from benchmarks.peers.oos import fold_tasks, run_fold_task, summarise
    from benchmarks.peers.problems import problems

    args = parse(argv)
    results_dir = args.out / "results"
    if args.report_only:
        render(args.out)
        return 0
    fit_settings = ast.literal_eval(args.fit)
    missing = [t for t in PEERS if importlib.util.find_spec(MODULES[t]) is None]
    skip = tuple(sorted(set(args.skip) | set(missing)))
    if missing:
        print(f"not installed, left out: {', '.join(missing)} (pip install -e '.[peers]')", file=sys.stderr)
    names = [p.name for p in problems(args.assets)]
    chosen = [n for n in names if not args.problems or n in args.problems]
    results_dir.mkdir(parents=True, exist_ok=True)
    started, t0 = dt.datetime.now(), time.perf_counter()
    budgets = sorted(args.budgets)
    long_seeds = len(args.seeds) if args.long_seeds is None else args.long_seeds
    second = sorted(b for b in budgets if b < budgets[-1])[-1] if len(budgets) > 1 else budgets[-1]
    if "budgets" in args.parts:
        tasks = [
            BudgetTask(
                name,
                seed,
                budgets[-1] if i < long_seeds else second,
                i == 0,
                tuple(args.in_sample),
                args.oos_start,
                args.assets,
                fit_settings,
                skip,
            )
            for name in chosen
            for i, seed in enumerate(args.seeds)
        ]
        # the grids' task first (its failures show early), then the longest
        tasks.sort(
            key=lambda t: (not t.deterministic, -t.max_budget * (3 if t.problem in ("blend", "per-asset") else 1))
        )
        table, traces = readings(_pool_map(run_budget_task, tasks, args.jobs), budgets)
        ttt = time_to_target(table, traces, 4.0 if 4.0 in budgets else second)
        table.to_csv(results_dir / "peers_budgets.csv", index=False)
        traces.to_csv(results_dir / "peers_traces.csv", index=False)
        ttt.to_csv(results_dir / "peers_time_to_target.csv", index=False)
    if "oos" in args.parts:
        ftasks = [
            t
            for name in args.oos_problems
            if name in chosen
            for t in fold_tasks(name, *args.folds, args.seeds[0], args.assets, fit_settings, skip)
        ]
        summarise(_pool_map(run_fold_task, ftasks, args.jobs)).to_csv(results_dir / "peers_oos.csv", index=False)
    if "scaling" in args.parts:
        job = (args.scaling_days, args.scaling_assets, fit_settings)
        scaling = _pool_map(_scaling, [job], min(args.jobs, 1))[0]  # a worker: fresh memory, fixed mmap threshold
        scaling.to_csv(results_dir / "peers_scaling.csv", index=False)
    elapsed = time.perf_counter() - t0
    meta = {
        "started": f"{started:%Y-%m-%d}",
        "elapsed_min": round(elapsed / 60, 1),
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": report.machine(),
        "jobs": args.jobs,
        "parts": list(args.parts),
        "problems": chosen,
        "assets": args.assets,
        "in_sample": list(args.in_sample),
        "oos_start": args.oos_start,
        "seeds": list(args.seeds),
        "long_seeds": long_seeds,
        "budgets": budgets,
        "target_budget": 4.0 if 4.0 in budgets else second,
        "folds": list(args.folds),
        "skip": list(skip),
    }
    meta = _merge_rerun(results_dir / "peers_meta.json", meta)
    (results_dir / "peers_meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    render(args.out)
    print(f"peer benchmark done in {elapsed / 60:.1f} min; README section, results and figures in {args.out}")
    return 0


def _merge_rerun(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """A run of some parts only keeps the last run's other parts (their results are still in
    ``results/``): the record is the last run's, with this one listed as a rerun."""
    if not path.exists():
        return meta
    last = json.loads(path.read_text())
    kept = [p for p in last.get("parts", []) if p not in meta["parts"]]
    if not kept:
        return meta
    rerun = {k: meta[k] for k in ("started", "elapsed_min", "command", "parts")}
    return {**last, "parts": [*kept, *meta["parts"]], "reruns": [*last.get("reruns", []), rerun]}


def render(out: Path) -> None:
    """Charts and the README section from the results of the last run (``results/``)."""
    import pandas as pd

    from benchmarks.peers import report

    results, figures = out / "results", out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    meta = json.loads((results / "peers_meta.json").read_text())
    sections: list[str] = []
    table = summary = scaling = None
    if "budgets" in meta["parts"]:
        table = pd.read_csv(results / "peers_budgets.csv")
        traces = pd.read_csv(results / "peers_traces.csv")
        ttt = pd.read_csv(results / "peers_time_to_target.csv")
        report.budget_chart(table, traces, figures / "peers_budgets.png")
        units = table.groupby("problem")["unit_s"].median()
        seeds, long_seeds = meta["seeds"], meta["long_seeds"]
        sections.append(
            "### 1. Best in-sample Sharpe at equal CPU budgets\n\n"
            f"Universe: the first {meta['assets']} bundled stocks; in sample {meta['in_sample'][0]} to "
            f"{meta['in_sample'][1]} (each rule's warm-up before it), out of sample (`OOS`) from "
            f"{meta['oos_start']}. Seeds {', '.join(map(str, seeds))}"
            + (f"; the largest budget ran for the first {long_seeds} seed(s) only" if long_seeds < len(seeds) else "")
            + ". Cells: median over seeds (range in brackets); bold: the best median at that budget. "
            "The budget unit `1x` is the CPU time of stratopt's default fit on that problem and seed "
            "(median: " + ", ".join(f"{p} {units[p]:.1f} s" for p in meta["problems"] if p in units) + "); "
            "stratopt's larger budgets are independent restarts. `time to target`: CPU time, in units of "
            f"`1x`, to reach the best in-sample Sharpe any tool had at {meta['target_budget']:g}x. "
            "`peak MB`: the largest rise of the resident set during one step of the tool. "
            "The grids (package grid, vectorbt, backtesting.py) are deterministic: one run, read against "
            "every seed's budget. vectorbt and backtesting.py run only on the 2-parameter crossover, where a "
            "grid of their own fits; on the other problems they do not apply.\n\n"
            + report.budget_table(table, ttt, meta["budgets"])
            + "\n\n![best in-sample Sharpe against CPU budget](figures/peers_budgets.png)\n"
        )
    if "oos" in meta["parts"]:
        summary = pd.read_csv(results / "peers_oos.csv")
        report.oos_chart(summary, figures / "peers_oos.png")
        folds = meta["folds"]
        sections.append(
            "### 2. Out of sample: the same walk-forward folds for every tool\n\n"
            f"`WalkForward({folds[0]!r}, {folds[1]!r})` on the same universe, folds testing from "
            f"{folds[2]}; on each fold every tool gets the CPU time of stratopt's default fit there "
            "(1x) on the train window and its choice trades the hard rule on the test window. "
            "DSR: the stitched series' deflated Sharpe ratio after comparing the tools (N = number of tools, "
            "V = the variance of their out-of-sample Sharpe ratios). PBO: CSCV over the test returns of each "
            "tool's 4 best distinct in-sample candidates per fold (stratopt: its 4 starts), 16 blocks.\n\n"
            + report.oos_table(summary)
            + "\n\n![stitched out-of-sample Sharpe per tool](figures/peers_oos.png)\n"
        )
    if "scaling" in meta["parts"]:
        scaling = pd.read_csv(results / "peers_scaling.csv")
        report.scaling_chart(scaling, figures / "peers_scaling.png")
        sections.append(
            "### 3. Cost against days and assets\n\n"
            "One default fit of the crossover and 256 batched hard evaluations (a black box's cost for 256 "
            "trials), CPU seconds of one thread and peak extra memory. Days grow on one stock, assets on "
            "1,000 days; beyond the bundled 8,313 days x 20 stocks the prices are synthetic (63-day block "
            "bootstraps of the real returns).\n\n"
            + report.scaling_table(scaling)
            + "\n\n![cost against days and assets](figures/peers_scaling.png)\n"
        )
    head = (
        "## Peers: where gradients win (generated by `python -m benchmarks`)\n\n"
        'Regenerated by `python -m benchmarks` (peers from the `peers` extra: `pip install -e ".[peers]"`); '
        "everything between the `peers` markers is rewritten by it, the rest of this file is not "
        "(`python -m benchmarks --report-only` redraws it from `results/`). "
        f"Run {meta['started']} on {meta['machine']}; {meta['jobs']} worker process(es), one thread each; "
        f"{meta['elapsed_min']:.0f} min wall. Command: `{meta['command']}`.\n\n"
        "Every tool's chosen parameters are scored by one evaluator: the hard rule's annualised Sharpe "
        "ratio (sample std) of its net returns under the package's default `LossSpec` (long/short, 5 bps "
        "per unit traded, equal-risk allocation), as `stratopt.evaluate` computes it. Budgets are CPU "
        "seconds of the one thread a tool runs on (the wall time it would take on an idle core): the "
        "machine was shared, and CPU time does not count the time other processes held the cores.\n\n"
        "**Findings**\n\n" + report.findings(table, summary, scaling) + "\n\n" + WHY + "\n"
    )
    for rerun in meta.get("reruns", []):
        head += (
            f"\nRerun since, part(s) {', '.join(rerun['parts'])} only, {rerun['started']} "
            f"({rerun['elapsed_min']:.0f} min): `{rerun['command']}`; the other parts are the run above.\n"
        )
    if meta["skip"]:
        head += f"\nLeft out of this run: {', '.join(meta['skip'])}.\n"
    report.write_readme(out / "README.md", head + "\n" + "\n".join(sections))
