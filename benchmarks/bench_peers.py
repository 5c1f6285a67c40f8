"""stratopt's fit against the black boxes people would pick instead, at equal wall time.

``python benchmarks/bench_peers.py`` (needs the ``bench`` extra: ``pip install -e ".[bench]"``
for Optuna). For each problem, ``stratopt.fit`` with its defaults runs first and its wall time
``T`` is the budget; then random search (batches over :func:`stratopt.evaluate`) and Optuna's
TPE sampler (one :func:`stratopt.evaluate` call per trial) get ``T`` seconds each. Every tool's
chosen parameters are scored by the same evaluator: the hard rule's annualised Sharpe ratio
(sample std, 5 bps costs, equal-risk allocation) on the in-sample years 1990-2012, and on the
out-of-sample years 2013-2022, which no tool sees. One thread each, interleaved in one process.

Problems: the moving-average crossover on AAPL, JPM, XOM, KO, PG and HD one at a time (2
parameters), and a Blend of MACrossover + Momentum + RSIRule on 10 stocks (10 parameters).
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
from stratopt import evaluate, fit
from stratopt.rules import Blend, MACrossover, Momentum, RSIRule, Rule

RESULTS = Path(__file__).with_name("results") / "peers.csv"
IN_SAMPLE = ("1990-01-01", "2012-12-31")
OUT_OF_SAMPLE = "2013-01-01"
SINGLE = ("AAPL", "JPM", "XOM", "KO", "PG", "HD")
TEN = ("AAPL", "JPM", "XOM", "KO", "PG", "HD", "MSFT", "JNJ", "WMT", "BAC")


def _box(rule: Rule) -> list[tuple[str, Any]]:
    return [(name, spec) for name, _, spec in rule.named_specs() if spec.transform == "sigmoid"]


def _sample(rule: Rule, rng: np.random.Generator, n: int) -> pd.DataFrame:
    cols = {}
    for name, spec in _box(rule):
        u = torch.as_tensor(rng.uniform(0, 1, n), dtype=torch.float64)
        v = spec.from_unit(u).numpy()
        cols[name] = np.round(v) if spec.integer else v
    return pd.DataFrame(cols)


def _scores(rule: Rule, table: pd.DataFrame, prices: pd.DataFrame) -> pd.Series:
    return evaluate(rule.with_params(table), prices, start=IN_SAMPLE[0])["sharpe"]


def random_search(rule: Rule, prices: pd.DataFrame, budget: float, seed: int) -> tuple[dict[str, float], int]:
    rng = np.random.default_rng(seed)
    best, best_score, n, t0 = {}, -np.inf, 0, time.perf_counter()
    while time.perf_counter() - t0 < budget:
        table = _sample(rule, rng, 32)
        s = _scores(rule, table, prices)
        n += len(table)
        if s.max() > best_score:
            best_score, best = float(s.max()), table.loc[int(s.idxmax())].to_dict()
    return best, n


def tpe(rule: Rule, prices: pd.DataFrame, budget: float, seed: int) -> tuple[dict[str, float], int]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    box = _box(rule)

    def objective(trial: Any) -> float:
        row = {}
        for name, spec in box:
            if spec.integer:
                row[name] = trial.suggest_int(name, int(spec.low), int(spec.high), log=spec.scale == "log")
            else:
                row[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.scale == "log")
        score = float(_scores(rule, pd.DataFrame([row]), prices).iloc[0])
        return score if np.isfinite(score) else -10.0

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, timeout=budget)
    return dict(study.best_params), len(study.trials)


def score_both(rule: Rule, params: dict[str, float], prices: pd.DataFrame) -> tuple[float, float]:
    single = rule.with_params(pd.DataFrame([params])) if params else rule
    ins = float(evaluate(single, prices.loc[: IN_SAMPLE[1]], start=IN_SAMPLE[0])["sharpe"].iloc[0])
    oos = float(evaluate(single, prices, start=OUT_OF_SAMPLE)["sharpe"].iloc[0])
    return ins, oos


def run_problem(
    name: str, make_rule: Callable[[], Rule], prices: pd.DataFrame, seed: int, fit_settings: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = []
    in_sample = prices.loc[: IN_SAMPLE[1]]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit(make_rule(), in_sample, seed=seed, progress=False, **fit_settings)
    budget = time.perf_counter() - t0
    spec_names = [n for n, _ in _box(make_rule())]
    fitted = {k: v for k, v in res.params.items() if k in spec_names}
    for tool, (params, n_eval), seconds in (
        ("stratopt fit", (fitted, res.config["epochs"]), budget),
        ("random search", random_search(make_rule(), in_sample, budget, seed), budget),
        ("optuna TPE", tpe(make_rule(), in_sample, budget, seed), budget),
    ):
        ins, oos = score_both(make_rule(), params, prices)
        rows.append(
            {
                "problem": name,
                "seed": seed,
                "tool": tool,
                "in_sample_sharpe": ins,
                "oos_sharpe": oos,
                "evaluations": n_eval,
                "seconds": seconds,
            }
        )
        print(
            f"{name:<10} seed {seed} {tool:<14} in {ins:6.3f}  out {oos:6.3f}  ({n_eval} evals, {seconds:.1f} s)",
            flush=True,
        )
    return rows


def problems(all_prices: pd.DataFrame) -> dict[str, tuple[Callable[[], Rule], pd.DataFrame]]:
    out: dict[str, tuple[Callable[[], Rule], pd.DataFrame]] = {
        f"MA {t}": (MACrossover, all_prices[[t]]) for t in SINGLE
    }
    out["Blend x10"] = (
        lambda: Blend({"ma": MACrossover(), "mom": Momentum(), "rsi": RSIRule()}),
        all_prices[list(TEN)],
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--problems", nargs="*")
    parser.add_argument("--fit", default="{}", help="fit settings as a Python dict literal (default: fit's defaults)")
    args = parser.parse_args()
    import ast

    torch.set_num_threads(1)
    settings = ast.literal_eval(args.fit)
    prices = stratopt.load_prices("sp500")
    rows = []
    for name, (make_rule, p) in problems(prices).items():
        if args.problems and name not in args.problems:
            continue
        for seed in args.seeds:
            rows += run_problem(name, make_rule, p, seed, settings)
    frame = pd.DataFrame(rows)
    RESULTS.parent.mkdir(exist_ok=True)
    frame.assign(fit_settings=args.fit).to_csv(RESULTS, index=False)
    summary = frame.groupby(["problem", "tool"], sort=False)[["in_sample_sharpe", "oos_sharpe", "evaluations"]].mean()
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
