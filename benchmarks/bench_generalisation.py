"""Evidence for the walk-forward defaults: each choice against its alternative, over seeds.

Run ``python benchmarks/bench_generalisation.py`` (about 30-60 minutes on 2 cores; finished
runs are cached in ``benchmarks/results/generalisation.csv`` and skipped on a rerun). Every
configuration is a walk-forward of the moving-average crossover on the bundled 20 stocks,
1990-2022, 5-year rolling train windows and 1-year tests, with the same folds for all. For each
configuration and seed it records the in-sample hard Sharpe (mean over folds), the stitched
out-of-sample Sharpe on the development years (folds testing 1995-2010) and on the confirmation
years (2011-2022), maximum drawdown, turnover and the median fold-to-fold relative change of
the parameters; beside them the untuned rule, buy-and-hold and a grid-tuned walk-forward (the
best hard in-sample pair of a dense grid per fold, scored by :func:`stratopt.evaluate`).

Defaults are chosen on the development years only (DESIGN.md's protocol); the confirmation
years are reported untouched. ``--report`` prints the tables from the cache.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

import stratopt
from stratopt import LossSpec, Tuner, WalkForward, metrics, walk_forward
from stratopt._market import MarketData
from stratopt.ops import ema, soft_sign
from stratopt.rules import MACrossover, Param, Rule
from stratopt.rules._features import daily_vol

RESULTS = Path(__file__).with_name("results") / "generalisation.csv"
DEV = ("1995-01-01", "2010-12-31")
CONFIRM = ("2011-01-01", "2022-12-31")
SEEDS = (0, 1, 2, 3, 4)


class OldCrossover(Rule):
    """The first version's crossover: independent fast and slow spans in [2, 400] (linear),
    the gap in daily sigmas; half of its space is the inverted rule."""

    def __init__(self, fast: float = 20.0, slow: float = 100.0) -> None:
        super().__init__()
        self.add_param(Param("fast", "days", 2.0, 400.0, 20.0, integer=True), fast)
        self.add_param(Param("slow", "days", 2.0, 400.0, 100.0, integer=True), slow)

    def _positions(self, data: MarketData, p: dict[str, torch.Tensor], temperature: float) -> torch.Tensor:
        n = p["fast"].shape[0]
        both = ema(data.log_prices, torch.cat([p["fast"], p["slow"]]))
        return soft_sign((both[:n] - both[n:]) / daily_vol(data, 60.0), temperature)


class WideCrossover(MACrossover):
    """The crossover with ``fast`` up to 200 days and ``ratio`` up to 4: the same longest slow
    span (800 days, so the same warm-up) as the default [2, 100] x [1.25, 8], for the folds
    where the default pins ``fast`` at 100."""

    def __init__(self) -> None:
        Rule.__init__(self)
        self.add_param(Param("fast", "days", 2.0, 200.0, 20.0, integer=True, scale="log"), 20.0)
        self.add_param(Param("ratio", "x fast", 1.25, 4.0, 4.0, scale="log"), 4.0)

    def fixed_window(self) -> float:
        return 800.0


BASE: dict[str, Any] = {"epochs": 100, "lr": 0.05, "n_starts": 4, "validation": None}
LONG_FLAT = LossSpec(position_mode="long_only")

#: name -> (rule factory, Tuner settings, walk_forward options)
CONFIGS: dict[str, tuple[Callable[[], Rule], dict[str, Any], dict[str, Any]]] = {
    "old formulation": (OldCrossover, {}, {}),
    "new formulation": (MACrossover, {}, {}),
    "long/flat": (MACrossover, {"loss": LONG_FLAT}, {}),
    # the options below are each compared against the chosen long/flat default
    "long/flat + inner validation 0.2": (MACrossover, {"loss": LONG_FLAT, "validation": 0.2}, {}),
    "long/flat + ensemble of 4 (8 starts)": (MACrossover, {"loss": LONG_FLAT, "n_starts": 8}, {"ensemble": 4}),
    "long/flat + drift penalty 0.5": (MACrossover, {"loss": LONG_FLAT}, {"drift_penalty": 0.5}),
    "long/flat + 1 start": (MACrossover, {"loss": LONG_FLAT, "n_starts": 1}, {}),
    "long/flat, fast up to 200": (WideCrossover, {"loss": LONG_FLAT}, {}),
}


def _window_stats(r: pd.Series, lo: str, hi: str) -> dict[str, float]:
    part = r.loc[lo:hi]
    return {"sharpe": metrics.sharpe_ratio(part.to_numpy()), "max_dd": metrics.max_drawdown(part.to_numpy())}


def _param_change(folds: pd.DataFrame, names: list[str]) -> float:
    moves = [(folds[n].diff().abs() / folds[n].abs().shift()).dropna() for n in names]
    return float(np.median(np.concatenate([m.to_numpy() for m in moves]))) if moves else float("nan")


def run_config(name: str, seed: int, prices: pd.DataFrame) -> dict[str, Any]:
    factory, settings, options = CONFIGS[name]
    tuner = Tuner(factory(), **{**BASE, **settings, "seed": seed})
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = walk_forward(tuner, prices, WalkForward("5Y", "1Y"), progress=False, **options)
    names = ["fast", "slow"]
    row = {
        "config": name,
        "seed": seed,
        "seconds": time.perf_counter() - t0,
        "in_sample": float(res.folds["train_hard_sharpe"].mean()),
        "turnover": float(res.folds["turnover"].mean()),
        "param_change": _param_change(res.folds, names),
    }
    for label, (lo, hi) in (("dev", DEV), ("confirm", CONFIRM)):
        stats = _window_stats(res.oos_returns, lo, hi)
        row[f"{label}_oos_sharpe"], row[f"{label}_max_dd"] = stats["sharpe"], stats["max_dd"]
        for base in ("buy_and_hold", "untuned"):
            row[f"{label}_{base}"] = _window_stats(res.baselines[base], lo, hi)["sharpe"]
    return row


def grid_walk_forward(prices: pd.DataFrame, loss: LossSpec) -> dict[str, Any]:
    """Per fold, the best hard in-sample (fast, slow) pair of a dense grid, traded on the test."""
    fast = np.unique(np.round(np.geomspace(2, 100, 30)))
    grid = pd.DataFrame(
        [(f, s) for f in fast for s in np.unique(np.round(np.geomspace(3, 800, 40))) if 1.25 * f <= s <= 8 * f],
        columns=["fast", "slow"],
    )
    splitter = WalkForward("5Y", "1Y")
    rule = MACrossover().with_params(grid)
    warm = MACrossover().warmup_days()
    parts, chosen = [], []
    t0 = time.perf_counter()
    for train_idx, test_idx in splitter.split(prices):
        lo = max(0, int(train_idx[0]) - warm)
        window = prices.iloc[lo : int(train_idx[-1]) + 1]
        window = window.loc[:, window.notna().any()]
        table = stratopt.evaluate(rule, window, loss=loss, start=prices.index[int(train_idx[0]) + 1])
        best = table.loc[table["objective"].idxmax()]
        chosen.append(best[["fast", "slow"]])
        upto = prices.iloc[: int(test_idx[-1]) + 1]
        bt = stratopt.backtest(
            MACrossover(best["fast"], best["slow"]),
            upto.loc[:, upto.notna().any()],
            loss=loss,
            start=prices.index[int(test_idx[0])],
        )
        parts.append(bt.returns)
    oos = pd.concat(parts)
    row: dict[str, Any] = {
        "config": f"grid-tuned {loss.position_mode} ({len(grid)} pairs)",
        "seed": 0,
        "seconds": time.perf_counter() - t0,
        "param_change": _param_change(pd.DataFrame(chosen).reset_index(drop=True), ["fast", "slow"]),
    }
    for label, (lo_d, hi_d) in (("dev", DEV), ("confirm", CONFIRM)):
        stats = _window_stats(oos, lo_d, hi_d)
        row[f"{label}_oos_sharpe"], row[f"{label}_max_dd"] = stats["sharpe"], stats["max_dd"]
    return row


def report(frame: pd.DataFrame) -> str:
    cols = ["in_sample", "dev_oos_sharpe", "confirm_oos_sharpe", "dev_max_dd", "turnover", "param_change", "seconds"]
    g = frame.groupby("config", sort=False)
    table = g[cols].mean().round(3)
    table.insert(2, "dev_sd", g["dev_oos_sharpe"].std().round(3))
    table.insert(4, "confirm_sd", g["confirm_oos_sharpe"].std().round(3))
    table["seeds"] = g.size()
    base = frame.dropna(subset=["dev_buy_and_hold"]).iloc[0] if "dev_buy_and_hold" in frame else None
    lines = [table.to_string()]
    if base is not None:
        lines.append(
            f"\nbuy-and-hold: dev {base['dev_buy_and_hold']:.3f}, confirmation {base['confirm_buy_and_hold']:.3f}; "
            f"untuned crossover (20, 100): dev {base['dev_untuned']:.3f}, confirmation {base['confirm_untuned']:.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), help="which configurations to run")
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument("--report", action="store_true", help="only print the tables from the cache")
    args = parser.parse_args()
    torch.set_num_threads(1)
    RESULTS.parent.mkdir(exist_ok=True)
    done = pd.read_csv(RESULTS) if RESULTS.exists() else pd.DataFrame(columns=["config", "seed"])
    if not args.report:
        prices = stratopt.load_prices("sp500")
        # seeds outer: an interrupted run still has every configuration on its first seeds
        todo = [
            (c, s) for s in args.seeds for c in args.configs if not ((done["config"] == c) & (done["seed"] == s)).any()
        ]
        for mode in ("long_short", "long_only"):
            if not done["config"].astype(str).str.startswith(f"grid-tuned {mode}").any():
                todo.insert(0, (f"grid {mode}", 0))
        for name, seed in todo:
            if name.startswith("grid "):
                row = grid_walk_forward(prices, LossSpec(position_mode=name.split()[1]))
            else:
                row = run_config(name, seed, prices)
            done = pd.concat([done, pd.DataFrame([row])], ignore_index=True)
            done.to_csv(RESULTS, index=False)
            print(
                f"{row['config']:<28} seed {seed}: dev {row['dev_oos_sharpe']:.3f} "
                f"confirm {row['confirm_oos_sharpe']:.3f} ({row['seconds']:.0f} s)",
                flush=True,
            )
    print(report(done))


if __name__ == "__main__":
    main()
