"""Part 1: best in-sample hard Sharpe at fixed budgets, for problems of growing parameter count.

For each problem and seed, stratopt's default fit runs first and its CPU time ``T`` is the unit
of budget. Then every tool is advanced round-robin, in a shuffled order each round, to ``T``,
``2T``, ... up to the largest budget, all in one process with one thread; a tool's reading at
budget ``bT`` is its state after the last step that ended within ``bT`` of its own clock
(stratopt's later budgets are independent restarts of the same fit with new seeds).
Deterministic tools (the grids) run with the first seed only and are read against every
seed's ``T``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import stratopt
from benchmarks.peers.problems import Problem, problems, test_returns
from benchmarks.peers.tools import DETERMINISTIC, SEEDED, Tool, make_tool
from stratopt.metrics import sharpe_ratio


@dataclass(frozen=True)
class BudgetTask:
    """One (problem, seed) run of every tool that applies."""

    problem: str
    seed: int
    max_budget: float
    deterministic: bool  # also run the seed-independent tools
    in_sample: tuple[str, str]
    oos_start: str
    n_assets: int
    fit_settings: dict[str, Any] = field(default_factory=dict)
    skip: tuple[str, ...] = ()


def tool_names(problem: Problem, *, deterministic: bool, skip: tuple[str, ...] = ()) -> list[str]:
    """The tools that apply to ``problem`` (stratopt's fit always first)."""
    names = list(SEEDED)
    if deterministic:
        names += [n for n in DETERMINISTIC if n == "grid" or n in problem.peers]
    return [n for n in names if n == "stratopt fit" or n not in skip]


def run_budget_task(task: BudgetTask) -> dict[str, Any]:
    """Run every tool of one (problem, seed) to ``max_budget x T``; traces and peaks."""
    prices = stratopt.load_prices("sp500")
    problem = next(p for p in problems(task.n_assets) if p.name == task.problem)
    window = problem.window(prices, *task.in_sample)
    space = problem.space()
    tools: dict[str, Tool] = {
        n: make_tool(n, space, window, task.seed, task.fit_settings)
        for n in tool_names(problem, deterministic=task.deterministic, skip=task.skip)
    }
    tools["stratopt fit"].advance(1e-12)  # one default fit: its CPU time is the budget unit
    unit = tools["stratopt fit"].clock
    rng = np.random.default_rng(task.seed)
    names = list(tools)
    for r in range(1, math.ceil(task.max_budget) + 1):
        for i in rng.permutation(len(names)):
            tools[names[i]].advance(min(r, task.max_budget) * unit)
    oos = problem.universe(prices)
    oos = oos.iloc[max(0, int(oos.index.searchsorted(pd.Timestamp(task.oos_start))) - space.rule.warmup_days()) :]
    out = {}
    for name, tool in tools.items():
        choices = pd.DataFrame(tool.choices).reset_index(drop=True)
        oos_sharpe = (
            [
                sharpe_ratio(c.to_numpy())
                for _, c in test_returns(space, choices, oos, pd.Timestamp(task.oos_start)).items()
            ]
            if len(choices)
            else []
        )
        out[name] = {
            "events": pd.DataFrame([vars(e) for e in tool.events]),
            "choices": choices,
            "oos": oos_sharpe,
            "peak_mb": tool.peak_mb,
        }
    return {
        "problem": task.problem,
        "seed": task.seed,
        "unit": unit,
        "k": problem.k_label,
        "max_budget": task.max_budget,
        "tools": out,
    }


def readings(results: list[dict[str, Any]], budgets: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The budget table (one row per problem, seed, tool, budget) and the improvement traces."""
    shared = {
        (r["problem"], name): (t, r["max_budget"])
        for r in results
        for name, t in r["tools"].items()
        if name in DETERMINISTIC
    }
    rows, traces = [], []
    for r in results:
        unit = r["unit"]
        tools = {n: (t, r["max_budget"]) for n, t in r["tools"].items() if n not in DETERMINISTIC}
        tools.update({n: t for (p, n), t in shared.items() if p == r["problem"]})
        for name, (t, ran) in tools.items():
            ev = t["events"]
            for b in budgets:
                if b > min(ran, r["max_budget"]) + 1e-9:
                    continue  # not run that far for this seed
                within = ev[ev["clock"] <= b * unit * (1 + 1e-9)]
                last = within.iloc[-1] if len(within) else None
                ok = last is not None and int(last["choice"]) >= 0
                rows.append(
                    {
                        "problem": r["problem"],
                        "k": r["k"],
                        "seed": r["seed"],
                        "tool": name,
                        "budget": b,
                        "unit_s": unit,
                        "cpu_s": float(last["clock"]) if last is not None else 0.0,
                        "wall_s": float(last["wall"]) if last is not None else 0.0,
                        "evals": int(last["evals"]) if last is not None else 0,
                        "in_sample": float(last["best"]) if ok else math.nan,
                        "oos": float(t["oos"][int(last["choice"])]) if ok else math.nan,
                        "peak_mb": t["peak_mb"],
                    }
                )
            better = ev[ev["best"] > ev["best"].shift(fill_value=-math.inf)]
            for _, e in better.iterrows():
                traces.append(
                    {"problem": r["problem"], "seed": r["seed"], "tool": name, "unit_s": unit, "cpu_s": e["clock"],
                     "in_sample": e["best"], "evals": int(e["evals"])}
                )  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(traces)


def time_to_target(table: pd.DataFrame, traces: pd.DataFrame, target_budget: float = 4.0) -> pd.DataFrame:
    """Per problem and seed: the best any tool reached at ``target_budget``, and the CPU time
    (in units of T) each tool took to reach it (NaN: not within the budgets it ran)."""
    rows = []
    for (problem, seed), block in table[table["budget"] == target_budget].groupby(["problem", "seed"]):
        target = block["in_sample"].max()
        for tool in block["tool"]:
            tr = traces[(traces["problem"] == problem) & (traces["tool"] == tool) & (traces["seed"] == seed)]
            unit = block["unit_s"].iloc[0]
            hit = tr[tr["in_sample"] >= target - 1e-12]
            rows.append(
                {"problem": problem, "seed": seed, "tool": tool, "target": target,
                 "time_x": float(hit["cpu_s"].iloc[0] / unit) if len(hit) else math.nan}
            )  # fmt: skip
    return pd.DataFrame(rows)
