"""Part 2: the same walk-forward folds, each tool choosing parameters on each train window.

Folds come from the package's :class:`~stratopt.WalkForward`. On each fold stratopt's default
fit runs first on the train window (with the rule's warm-up before it) and its CPU time is every
other tool's budget there (1x); each tool's choice trades the hard rule on the test window
(earlier prices warm indicators up, nothing later is read). The test returns are stitched into
one out-of-sample series per tool.

Statistics per tool: the stitched Sharpe ratio; the deflated Sharpe ratio (Bailey and Lopez de
Prado 2014) of that series after comparing all the tools (``N`` = number of tools, ``V`` = the
variance of their out-of-sample per-period Sharpe ratios); the PBO (CSCV, Bailey et al. 2015)
of each tool's own selection: a matrix of the test returns of its 4 best distinct in-sample
candidates per fold (stratopt: its 4 starts), ranked 1..4 by in-sample score, stitched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import stratopt
from benchmarks.peers.budgets import tool_names
from benchmarks.peers.problems import Window, problems, test_returns
from benchmarks.peers.spaces import Space
from benchmarks.peers.tools import Tool, make_tool
from stratopt import stats
from stratopt.metrics import sharpe_ratio
from stratopt.model_selection import WalkForward

#: Candidates per fold for the PBO (the fit's default number of starts).
TOP = 4
MIN_DISTANCE = 0.05


@dataclass(frozen=True)
class FoldTask:
    """One walk-forward fold of one problem."""

    problem: str
    fold: int
    train: tuple[int, int]  # row positions [first, last] of the train window
    test: tuple[int, int]
    seed: int
    n_assets: int
    fit_settings: dict[str, Any] = field(default_factory=dict)
    skip: tuple[str, ...] = ()


def fold_tasks(
    problem: str,
    train: str,
    test: str,
    start: str,
    seed: int,
    n_assets: int,
    fit_settings: dict[str, Any],
    skip: tuple[str, ...] = (),
) -> list[FoldTask]:
    """The folds whose test window starts on or after ``start``."""
    prices = stratopt.load_prices("sp500")
    out = []
    for tr, te in WalkForward(train, test).split(prices):
        if prices.index[te[0]] >= pd.Timestamp(start):
            out.append(
                FoldTask(problem, len(out), (int(tr[0]), int(tr[-1])), (int(te[0]), int(te[-1])), seed, n_assets, fit_settings, skip)
            )  # fmt: skip
    return out


def top_distinct(space: Space, table: pd.DataFrame, values: np.ndarray, k: int = TOP) -> pd.DataFrame:
    """The ``k`` best rows by ``values`` at least :data:`MIN_DISTANCE` apart in the unit cube
    (fewer distinct ones: the next best fill up)."""
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")
    unit = space.to_unit(table)
    chosen: list[int] = []
    for i in order:
        if all(np.abs(unit[i] - unit[j]).max() >= MIN_DISTANCE for j in chosen):
            chosen.append(int(i))
        if len(chosen) == k:
            break
    chosen += [int(i) for i in order if int(i) not in chosen][: k - len(chosen)]
    return table.iloc[chosen].reset_index(drop=True)


def run_fold_task(task: FoldTask) -> dict[str, Any]:
    """Every tool at 1x on one train window; the test returns of its choice and top candidates."""
    prices = stratopt.load_prices("sp500")
    problem = next(p for p in problems(task.n_assets) if p.name == task.problem)
    px = problem.universe(prices)
    space = problem.space()
    lo = max(0, task.train[0] - space.rule.warmup_days())
    window = Window(px.iloc[lo : task.train[1] + 1], px.index[task.train[0]])
    tools: dict[str, Tool] = {
        n: make_tool(n, space, window, task.seed + task.fold, task.fit_settings)
        for n in tool_names(problem, deterministic=True, skip=task.skip)
    }
    tools["stratopt fit"].advance(1e-12)
    unit = tools["stratopt fit"].clock
    rng = np.random.default_rng(task.seed + task.fold)
    names = list(tools)
    for i in rng.permutation(len(names)):
        tools[names[i]].advance(unit)
    test_px = px.iloc[max(0, task.test[0] - space.rule.warmup_days()) : task.test[1] + 1]
    start = px.index[task.test[0]]
    out = {}
    for name, tool in tools.items():
        # the steps that ended within the budget (at least the first, which may overshoot)
        steps = max(1, sum(e.clock <= unit * (1 + 1e-9) for e in tool.events))
        choice = tool.choices[tool.events[steps - 1].choice]
        tool.history = tool.history[:steps]
        table, values = tool.candidates()
        top = top_distinct(space, table, values)
        r = test_returns(space, pd.concat([choice.to_frame().T, top], ignore_index=True), test_px, start)
        out[name] = {
            "chosen": r[0],
            "top": r.iloc[:, 1:].to_numpy(),
            "params": choice.to_dict(),
            "evals": tool.events[steps - 1].evals,
        }
    return {"problem": task.problem, "fold": task.fold, "unit": unit, "test_start": start, "tools": out}


def summarise(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Stitched out-of-sample Sharpe, DSR and PBO per problem and tool."""
    rows = []
    for problem in sorted({r["problem"] for r in results}):
        folds = sorted((r for r in results if r["problem"] == problem), key=lambda r: r["fold"])
        names = list(folds[0]["tools"])
        stitched = {n: pd.concat([f["tools"][n]["chosen"] for f in folds]) for n in names}
        per_period = {n: float(s.mean() / s.std()) if s.std() > 0 else 0.0 for n, s in stitched.items()}
        variance = float(np.var(list(per_period.values()), ddof=1)) if len(names) > 1 else math.nan
        for n in names:
            s = stitched[n]
            top = np.vstack([f["tools"][n]["top"] for f in folds])
            n_splits = 16 if len(top) >= 16 * 20 else 8
            pbo = (
                stats.probability_of_backtest_overfitting(top, n_splits=n_splits).pbo if top.shape[1] > 1 else math.nan
            )
            dsr = (
                float(stats.dsr_from_returns(s.to_numpy(), n_trials=len(names), sr_variance=variance))
                if variance > 0 and s.std() > 0
                else math.nan
            )
            rows.append(
                {
                    "problem": problem,
                    "tool": n,
                    "folds": len(folds),
                    "first_test": str(folds[0]["test_start"].date()),
                    "oos_sharpe": sharpe_ratio(s.to_numpy()),
                    "psr": float(stats.psr_from_returns(s.to_numpy())) if s.std() > 0 else math.nan,
                    "dsr": dsr,
                    "pbo": pbo,
                    "mean_budget_s": float(np.mean([f["unit"] for f in folds])),
                }
            )
    return pd.DataFrame(rows)
