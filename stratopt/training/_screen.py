"""The global screen before gradient descent: many hard candidates scored in batched passes.

The hard objective is piecewise constant and rough (on one stock about 6% of a dense crossover
grid's points are strict local maxima), so a start in the wrong basin stays there. The screen
scores a scrambled Sobol design over the whole box of the rule's bounded parameters (log-uniform
for log-scale windows, about 5% of the points on each bound) plus the rule's own values, with
the hard rule on the training days, and hands the best distinct candidates to gradient descent
as its starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import qmc
from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.evaluation import CHUNK, _chunk, hard_scores
from stratopt.loss import LossSpec
from stratopt.rules._base import Rule
from stratopt.rules._params import Param

if TYPE_CHECKING:
    from stratopt.parallel import Executor

__all__ = ["MIN_DISTANCE", "Screen", "pick_starts", "screen_design", "screen_starts"]

#: Two candidates closer than this in every coordinate of the unit box are one basin.
MIN_DISTANCE = 0.05


@dataclass(frozen=True)
class Screen:
    """The screen's table (parameters, ``unit`` coordinates dropped, ``score`` = the hard
    objective on the training days, ``chosen`` = start index or -1) and the starts it chose."""

    table: pd.DataFrame
    starts: Rule


def screen_starts(
    rule: Rule,
    data: MarketData,
    loss: LossSpec,
    *,
    keep: Tensor | None,
    n_candidates: int,
    n_starts: int,
    seed: int | None,
    executor: Executor | None = None,
) -> Screen | None:
    """The best ``n_starts`` distinct candidates of a design of ``n_candidates`` points, as a
    batched rule (best first); None when the rule has no bounded parameters to screen or has
    unstructured weights (a neural policy), which a box design cannot describe.

    With ``executor`` (only when asked: a Dask :class:`~stratopt.parallel.Executor`) the
    candidates are scored in blocks of whole scoring chunks on its workers, each candidate in
    the same batch as in one serial pass, so the scores are the serial ones bit for bit."""
    design = screen_design(rule, n_candidates, seed)
    if design is None:
        return None
    specs, table, unit = design
    table, unit = _with_current(rule, specs, table, unit)
    candidates = rule.with_params(table).to(dtype=data.dtype, device=data.device)
    scores = _scores(candidates, data, loss, keep, executor)
    return pick_starts(rule, specs, table, unit, scores, n_starts=n_starts, n_days=data.n_days)


Specs = list[tuple[str, Param]]


def screen_design(rule: Rule, n_candidates: int, seed: int | None) -> tuple[Specs, pd.DataFrame, np.ndarray] | None:
    """The screened parameters, the design's candidates in natural units and in the unit box;
    None when there is nothing to screen (see :func:`screen_starts`)."""
    if not isinstance(n_candidates, int) or n_candidates < 0:
        raise ConfigError(f"screen={n_candidates!r} must be 0 (off) or a number of candidates, e.g. 256")
    specs = [(name, spec) for name, _, spec in rule.named_specs() if spec.transform == "sigmoid"]
    n_specs = sum(1 for _ in rule.named_specs())
    n_weights = sum(p.numel() for p in rule.parameters())
    if n_candidates == 0 or not specs or n_weights > n_specs:
        return None
    unit = _design(len(specs), n_candidates, seed)
    table = pd.DataFrame({name: _natural(spec, unit[:, j]) for j, (name, spec) in enumerate(specs)})
    return specs, table, unit


def _with_current(rule: Rule, specs: Specs, table: pd.DataFrame, unit: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The design with the rule's own values as candidate 0."""
    current = rule.params
    table = pd.concat([pd.DataFrame([{n: current[n] for n, _ in specs}]), table], ignore_index=True)
    return table, np.vstack([[_unit(spec, current[n]) for n, spec in specs], unit])


def pick_starts(
    rule: Rule, specs: Specs, table: pd.DataFrame, unit: np.ndarray, scores: np.ndarray, *, n_starts: int, n_days: int
) -> Screen:
    """The screen's result from every candidate's score (candidates whose windows the
    ``n_days`` of data cannot warm up are left out)."""
    candidates = rule.with_params(table)
    scores = scores.copy()
    scores[_too_long(candidates, n_days)] = np.nan
    chosen = _distinct_best(scores, unit, n_starts)
    table = table.copy()
    table["score"] = scores
    table["chosen"] = -1
    table.loc[chosen, "chosen"] = np.arange(len(chosen))
    return Screen(table=table, starts=rule.with_params(table.loc[chosen, [n for n, _ in specs]].reset_index(drop=True)))


#: Blocks per worker of a parallel screen (enough to balance, few enough to be worth a task).
BLOCKS_PER_WORKER = 4


def _scores(rule: Rule, data: MarketData, loss: LossSpec, keep: Tensor | None, ex: Executor | None) -> np.ndarray:
    """:func:`hard_scores` of every start of ``rule``: in this process, or in blocks of whole
    chunks on ``ex``'s workers (a serial or one-worker executor scores in this process)."""
    if ex is None or ex.n_workers < 2:
        return hard_scores(rule, data, loss, keep).numpy()
    from stratopt.parallel import TaskFailure

    chunk, n = _chunk(CHUNK, data), rule.batch_size
    per_task = chunk * max(1, -(-n // (chunk * BLOCKS_PER_WORKER * ex.n_workers)))
    spans = [(lo, min(lo + per_task, n)) for lo in range(0, n, per_task)]
    shared = {"rule": rule, "data": data, "loss": loss, "keep": keep}
    parts = ex.map(
        _score_block,
        spans,
        shared=shared,
        labels=[f"candidates {a}-{b - 1}" for a, b in spans],
        desc="screen",
        progress=False,
    )
    for part in parts:
        if isinstance(part, TaskFailure):
            raise part.error()
    return np.concatenate(parts)


def _score_block(span: tuple[int, int], *, rule: Rule, data: MarketData, loss: LossSpec, keep: Tensor | None) -> Any:
    """One task of :func:`_scores`: the candidates ``lo`` to ``hi - 1``."""
    lo, hi = span
    return hard_scores(rule.select_range(lo, hi), data, loss, keep).numpy()


def _design(dim: int, n: int, seed: int | None) -> np.ndarray:
    """``n`` scrambled Sobol points in [0, 1]^dim, stretched so that ~5% sit on each bound."""
    sampler = qmc.Sobol(dim, scramble=True, seed=0 if seed is None else seed)
    points = sampler.random_base2(max(1, math.ceil(math.log2(n))))[:n]
    return np.clip(1.1 * points - 0.05, 0.0, 1.0)


def _natural(spec: Param, u: np.ndarray) -> np.ndarray:
    values = spec.from_unit(torch.as_tensor(u, dtype=torch.float64)).numpy()
    return np.clip(np.round(values), spec.low, spec.high) if spec.integer else values


def _unit(spec: Param, value: float) -> float:
    return float(spec.to_unit(torch.tensor(value, dtype=torch.float64)).clamp(0.0, 1.0))


def _too_long(rule: Rule, n_days: int) -> np.ndarray:
    """Candidates whose longest window (a parameter or derived value in days) exceeds the data."""
    table = rule.batch_params()
    days = rule.window_names()
    if not days:
        return np.zeros(len(table), dtype=bool)
    return table[days].to_numpy().max(axis=1) + 2 > n_days


def _distinct_best(scores: np.ndarray, unit: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` best scores, skipping candidates within :data:`MIN_DISTANCE` (in
    every coordinate) of one already taken; NaN scores rank last."""
    order = np.argsort(np.where(np.isfinite(scores), -scores, np.inf), kind="stable")
    chosen: list[int] = []
    for i in order:
        if all(np.abs(unit[i] - unit[j]).max() >= MIN_DISTANCE for j in chosen):
            chosen.append(int(i))
        if len(chosen) == k:
            return chosen
    for i in order:  # fewer distinct basins than starts: fill with the next best
        if int(i) not in chosen:
            chosen.append(int(i))
        if len(chosen) == k:
            break
    return chosen
