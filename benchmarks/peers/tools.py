"""The tools, each an anytime searcher that the runner advances in slices of its own CPU time.

Every tool keeps a clock (CPU seconds of the one thread it runs on: the wall time it would take
on an idle core), the number of evaluations it made, its current choice of parameters and the
events at which that choice improved. The runner interleaves the tools in one process, so a
change in the machine's load falls on all of them alike.

Black boxes (grid, random search, Optuna TPE and CMA-ES) maximise the common yardstick itself
(:func:`~benchmarks.peers.problems.score`). stratopt's fit trains a smoothed loss and picks its
start by the hard rule. vectorbt and backtesting.py maximise their own backtests' Sharpe ratio;
their choice is then scored by the yardstick, outside their clocks.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.peers.problems import Window, score
from benchmarks.peers.spaces import Space
from stratopt import fit

#: Candidates per batched evaluation (the evaluator's own chunk).
BATCH = 64


def memory_mark() -> float:
    """Reset the process's peak resident set (Linux ``clear_refs``) and return the current
    resident set in MB; NaN where the kernel does not offer it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status("VmRSS")
    except OSError:
        return math.nan


def memory_peak() -> float:
    """Peak resident set (MB) since the last :func:`memory_mark`."""
    try:
        return _status("VmHWM")
    except OSError:
        return math.nan


def _status(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return math.nan


@dataclass
class Event:
    """The tool's state after one step of work."""

    clock: float
    wall: float
    evals: int
    best: float
    choice: int  # index into Tool.choices


@dataclass
class Tool:
    """Base of every searcher: clock, evaluations, choice, events, peak memory."""

    space: Space
    window: Window
    seed: int
    name: str = "tool"
    clock: float = 0.0
    wall: float = 0.0
    evals: int = 0
    best: float = -math.inf
    own_best: float = -math.inf
    choices: list[pd.Series] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    history: list[tuple[pd.DataFrame, np.ndarray]] = field(default_factory=list)
    peak_mb: float = 0.0
    done: bool = False

    def advance(self, until: float) -> None:
        """Work in steps until the clock passes ``until`` (the last step may overshoot)."""
        while self.clock < until and not self.done:
            rss = memory_mark()
            c0, w0 = time.process_time(), time.perf_counter()
            chosen = self.step()
            self.clock += time.process_time() - c0
            self.wall += time.perf_counter() - w0
            self.peak_mb = max(self.peak_mb, memory_peak() - rss)
            if chosen is not None:  # scoring a new choice is the yardstick's work, not the tool's
                self.best = float(score(self.space, chosen.to_frame().T, self.window)[0])
                self.choices.append(chosen)
            self.events.append(Event(self.clock, self.wall, self.evals, self.best, len(self.choices) - 1))

    def step(self) -> pd.Series | None:
        """One unit of work; returns a new choice when the tool's own objective improved."""
        raise NotImplementedError

    def offer(self, table: pd.DataFrame, values: np.ndarray, *, keep: bool = True) -> pd.Series | None:
        """Record candidates and their own-objective values; the new choice if one improved."""
        self.evals += len(table)
        if keep:
            self.history.append((table.reset_index(drop=True), np.asarray(values, dtype=float)))
        i = int(np.argmax(values))
        if values[i] > self.own_best:
            self.own_best = float(values[i])
            return table.iloc[i]
        return None

    def candidates(self) -> tuple[pd.DataFrame, np.ndarray]:
        """Every candidate the tool evaluated, with its own-objective value."""
        if not self.history:
            return pd.DataFrame(columns=self.space.names), np.empty(0)
        return (
            pd.concat([t for t, _ in self.history], ignore_index=True),
            np.concatenate([v for _, v in self.history]),
        )


# ---------------------------------------------------------------------------- stratopt
@dataclass
class StratoptFit(Tool):
    """``stratopt.fit`` with its defaults; with budget left, independent restarts (new seeds)."""

    name: str = "stratopt fit"
    settings: dict[str, Any] = field(default_factory=dict)
    restarts: int = 0

    def step(self) -> pd.Series | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit(
                self.space.rule,
                self.window.prices,
                train_days=self.window.train_days,
                seed=self.seed * 1000 + self.restarts,
                progress=False,
                **self.settings,
            )
        self.restarts += 1
        screened = 0 if res.screen is None else len(res.screen)
        self.evals += screened + len(res.history_all)  # hard screen + gradient steps (start x epoch)
        table = self.space.params_of(res.batch_rule)
        values = -res.starts["monitor_loss"].to_numpy(dtype=float)  # its own hard selection score
        self.history.append((table, values))
        i = int(np.nanargmax(values))
        if values[i] > self.own_best:
            self.own_best = float(values[i])
            return table.iloc[i]
        return None


# ------------------------------------------------------------------------- black boxes
def lattice(dim: int, seed: int = 0) -> Iterator[np.ndarray]:
    """Points of ever finer nested grids of the unit cube, coarse levels first.

    Level ``L`` holds every point whose coordinates are multiples of ``2^-L`` strictly inside
    the cube (1 point, then 3^dim, 7^dim, ...); each level yields only the points the coarser
    ones lacked, in a fixed shuffled order. A level too large to enumerate is sampled at
    random instead (with repeats), which is all a grid can do in many dimensions.
    """
    rng = np.random.default_rng(seed)
    yield np.full(dim, 0.5)
    for level in itertools.count(2):
        m = 2**level - 1
        if m**dim <= 200_000:
            idx = np.indices((m,) * dim).reshape(dim, -1).T + 1
            idx = idx[(idx % 2 == 1).any(axis=1)]
            yield from idx[rng.permutation(len(idx))] / 2**level
        else:
            while True:
                idx = rng.integers(1, m + 1, size=(4096, dim))
                yield from idx[(idx % 2 == 1).any(axis=1)] / 2**level


@dataclass
class Grid(Tool):
    """A grid over the box, coarse to fine (:func:`lattice`), scored by ``stratopt.evaluate``."""

    name: str = "grid"
    _points: Iterator[np.ndarray] | None = None
    _seen: set[tuple[float, ...]] = field(default_factory=set)

    def step(self) -> pd.Series | None:
        if self._points is None:
            self._points = lattice(self.space.dim)
        rows: list[pd.Series] = []
        while len(rows) < BATCH:
            table = self.space.from_unit(np.array([next(self._points) for _ in range(BATCH)]))
            for _, row in table.iterrows():
                key = tuple(np.round(row.to_numpy(dtype=float), 10))
                if key not in self._seen:
                    self._seen.add(key)
                    rows.append(row)
        table = pd.DataFrame(rows[:BATCH]).reset_index(drop=True)
        return self.offer(table, score(self.space, table, self.window))


@dataclass
class RandomSearch(Tool):
    """Uniform draws over the box (log-uniform for windows), scored in batches."""

    name: str = "random search"

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def step(self) -> pd.Series | None:
        table = self.space.from_unit(self.rng.uniform(size=(BATCH, self.space.dim)))
        return self.offer(table, score(self.space, table, self.window))


@dataclass
class OptunaSearch(Tool):
    """An Optuna study over the natural parameters: TPE one trial per evaluation, CMA-ES one
    generation (its population) per batched evaluation."""

    name: str = "optuna TPE"
    sampler: str = "tpe"

    def __post_init__(self) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self.dists = {
            d.name: (
                optuna.distributions.IntDistribution(int(d.low), int(d.high), log=d.log)
                if d.integer
                else optuna.distributions.FloatDistribution(d.low, d.high, log=d.log)
            )
            for d in self.space.dims
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # CMA-ES's experimental-feature notices
            if self.sampler == "tpe":
                sampler: Any = optuna.samplers.TPESampler(seed=self.seed)
                self.per_step = 1
            else:
                sampler = optuna.samplers.CmaEsSampler(seed=self.seed)
                self.per_step = 4 + int(3 * math.log(self.space.dim))  # CMA-ES's default population
            self.study = optuna.create_study(direction="maximize", sampler=sampler)

    def step(self) -> pd.Series | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trials = [self.study.ask(self.dists) for _ in range(self.per_step)]
            table = pd.DataFrame([t.params for t in trials])[self.space.names]
            values = score(self.space, table, self.window)
            for t, v in zip(trials, values):
                self.study.tell(t, float(v) if math.isfinite(v) else -10.0)
        return self.offer(table, values)


def make_tool(name: str, space: Space, window: Window, seed: int, fit_settings: dict[str, Any]) -> Tool:
    """A fresh tool by name."""
    if name == "stratopt fit":
        return StratoptFit(space, window, seed, settings=fit_settings)
    if name == "grid":
        return Grid(space, window, seed)
    if name == "random search":
        return RandomSearch(space, window, seed)
    if name == "optuna TPE":
        return OptunaSearch(space, window, seed)
    if name == "optuna CMA-ES":
        return OptunaSearch(space, window, seed, name="optuna CMA-ES", sampler="cmaes")
    from benchmarks.peers import external

    if name == "vectorbt":
        return external.VectorbtGrid(space, window, seed)
    if name == "backtesting.py":
        return external.BacktestingGrid(space, window, seed)
    raise ValueError(f"unknown tool {name!r}")


#: Tools that give the same answer for every seed (run once, for the first seed).
DETERMINISTIC = ("grid", "vectorbt", "backtesting.py")
SEEDED = ("stratopt fit", "random search", "optuna TPE", "optuna CMA-ES")
