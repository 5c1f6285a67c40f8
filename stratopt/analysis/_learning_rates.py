"""Learning-rate comparison: the same fit at several learning rates (and optimisers), with a
verdict per run.

The runs are made by :mod:`stratopt.analysis._lr_runs` (batched when exact); the verdicts are
pure functions of a loss curve in :mod:`stratopt.analysis._lr_verdicts`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from stratopt._json import jsonable
from stratopt._market import MarketData, as_market_data
from stratopt._result import Result
from stratopt.analysis._common import check_rule, no_axes, resolve_loss
from stratopt.analysis._lr_checks import check_fit_kwargs, check_lrs, check_optimizers, check_seeds
from stratopt.analysis._lr_runs import Run, can_vectorize, run_fits
from stratopt.analysis._lr_verdicts import (
    BLOWUP_PROGRESS,
    GOOD_PROGRESS,
    OSC_LARGE_CHANGE,
    OSC_MAX_NET,
    OSC_MIN_FLIPS,
    OSC_RUN_FLIPS,
    STEPS_FRACTION,
    TAIL,
    curve_stats,
    edge_hints,
    loss_curve_verdict,
    steps_to_fraction,
)
from stratopt.errors import ConfigError, DiagnosticWarning
from stratopt.loss import LossSpec
from stratopt.parallel import Executor, SerialExecutor, TaskFailure, executor
from stratopt.rules._base import Rule
from stratopt.training._optim import OptimizerName
from stratopt.training._tuner import Select

if TYPE_CHECKING:
    from distributed import Client
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["LRComparison", "compare_learning_rates"]

_FORBIDDEN = {"lr": "pass the learning rates in lrs", "seed": "pass the seeds in seeds"}


# ----------------------------------------------------------------------------------- result
@dataclass(repr=False)
class LRComparison(Result):
    """What :func:`compare_learning_rates` returns.

    Attributes
    ----------
    runs
        One row per (optimizer, lr, seed), optimisers in the order given, then by lr:
        ``verdict``, fit ``status``, ``epochs_run``,
        ``diverged_at``, ``initial_loss``, ``final_loss`` (median of the last 10% of epochs),
        ``progress`` (share of the way from initial to best loss covered at the end),
        ``steps_to_95``, ``flip_rate``, final soft and hard Sharpe on train and validation
        (``train_soft_sharpe``, ..., ``val_hard_sharpe``) and ``seconds``.
    history
        Long table, one row per (optimizer, lr, seed, epoch): fit's history columns (the
        epoch's learning rate as ``lr_epoch``) and ``tracked_loss``, the curve the verdicts read.
    best_loss
        The lowest tracked loss of all runs (all optimisers), the reference of progress and steps.
    hints
        What the grid suggests trying next: an optimiser whose best rate is the largest or the
        smallest tried (also warned as a :class:`~stratopt.errors.DiagnosticWarning`).
    config
        Rule, optimisers, epochs, rates, seeds, the loss spec, whether the rates ran batched
        (``vectorized``) and the other fit settings.
    """

    runs: pd.DataFrame
    history: pd.DataFrame
    best_loss: float
    hints: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def recommended(self) -> tuple[str, float] | None:
        """The (optimizer, lr) judged ``good`` for every seed with the fewest median steps to
        95% (ties: the optimiser listed first, then the smaller lr); None when none is good."""
        order = {o: i for i, o in enumerate(dict.fromkeys(self.runs["optimizer"]))}
        by_run = self.runs.groupby(["optimizer", "lr"], sort=False)
        good = by_run["verdict"].agg(lambda v: bool((v == "good").all()))
        steps = by_run["steps_to_95"].median()[good].reset_index()
        if steps.empty:
            return None
        steps["rank"] = steps["optimizer"].map(order)
        best = steps.sort_values(["steps_to_95", "rank", "lr"], kind="stable").iloc[0]
        return str(best["optimizer"]), float(best["lr"])

    @property
    def recommended_lr(self) -> float | None:
        """The learning rate of :attr:`recommended` (None when no rate is good)."""
        pick = self.recommended
        return None if pick is None else pick[1]

    def summary(self) -> str:
        """A plain-text table: verdict, steps to 95% and final Sharpe ratios per run."""
        cols = [
            "optimizer",
            "lr",
            "seed",
            "verdict",
            "steps_to_95",
            "train_soft_sharpe",
            "train_hard_sharpe",
            "val_soft_sharpe",
            "val_hard_sharpe",
        ]
        drop = {c for c in ("optimizer", "seed") if self.runs[c].nunique() == 1}
        table = self.runs[[c for c in cols if c not in drop]]
        table = table.assign(
            steps_to_95=table["steps_to_95"].map(lambda s: "-" if pd.isna(s) else str(int(s))),
            lr=table["lr"].map(lambda v: f"{v:.3g}"),
        )
        c = self.config
        pick = self.recommended
        advice = "none reached 95% of the best improvement" if pick is None else f"{pick[1]:.3g}"
        if pick is not None and len(c.get("optimizers", ())) > 1:
            advice = f"{pick[0]} at {advice}"
        head = (
            f"{c.get('rule', 'rule')}: {', '.join(c.get('optimizers', ()))}, {c.get('epochs')} epochs, "
            f"best loss {self.best_loss:.4f}; recommended lr: {advice}"
        )
        lines = [head, table.to_string(index=False, float_format=lambda v: f"{v:.3f}")]
        lines += [f"hint: {h}" for h in self.hints]
        return "\n".join(lines)

    def to_dict(self, *, history: bool = False) -> dict[str, Any]:
        """JSON-ready: config, thresholds, best loss and one record per run (plus the long
        history table as records when ``history`` is True)."""
        out: dict[str, Any] = {
            "config": self.config,
            "best_loss": self.best_loss,
            "recommended": None if self.recommended is None else dict(zip(("optimizer", "lr"), self.recommended)),
            "recommended_lr": self.recommended_lr,
            "hints": self.hints,
            "thresholds": {
                "blowup_progress": BLOWUP_PROGRESS,
                "steps_fraction": STEPS_FRACTION,
                "good_progress": GOOD_PROGRESS,
                "osc_large_change": OSC_LARGE_CHANGE,
                "osc_min_flips": OSC_MIN_FLIPS,
                "osc_max_net": OSC_MAX_NET,
                "osc_run_flips": OSC_RUN_FLIPS,
                "tail": TAIL,
            },
            # Int64 columns hold pd.NA for "never": None in JSON
            "runs": self.runs.astype(object).where(self.runs.notna(), None).to_dict(orient="records"),
        }
        if history:
            out["history"] = self.history.to_dict(orient="records")
        return jsonable(out)

    def plot(self, ax: Axes | None = None) -> Figure:
        """One row of panels per optimiser: loss per epoch (log x), distance to the best loss of
        all runs (log-log) and final Sharpe against lr (log x, each rate's verdict under it);
        diverged runs end in a cross where they stopped. Several panels: ``ax`` must be None."""
        from stratopt.analysis._lr_plots import plot_comparison

        no_axes(ax, "three panels (loss, distance to the best loss, Sharpe ratio)")
        return plot_comparison(self)


def _market_data(prices: pd.DataFrame | MarketData, fit_kwargs: dict[str, Any]) -> MarketData:
    """The prices once, in the fits' dtype and on their device (not once per fit)."""
    return as_market_data(prices, dtype=fit_kwargs.get("dtype", torch.float64), device=fit_kwargs.get("device"))


# ----------------------------------------------------------------------------------- public
def compare_learning_rates(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    lrs: Sequence[float],
    *,
    optimizer: OptimizerName = "sgd",
    optimizers: Sequence[OptimizerName] | None = None,
    epochs: int = 300,
    seeds: Sequence[int] = (0,),
    batch_days: int | None = None,
    temperature: float | tuple[float, float] = 0.5,
    select: Select = "last",
    loss: LossSpec | None = None,
    vectorize: bool = True,
    progress: bool | None = None,
    n_jobs: int | None = None,
    scheduler: str | Client | Executor | None = None,
    **fit_kwargs: Any,
) -> LRComparison:
    """Run the same :func:`~stratopt.fit` at each learning rate, optimiser and seed, and judge
    each run.

    Every run starts from ``rule``'s current parameters and goes the full ``epochs`` unless it
    diverges (fit's convergence stop is off, so curves have equal length and compare epoch by
    epoch). Each run gets a verdict by :func:`loss_curve_verdict` against the best loss of all
    runs (of every optimiser), and its steps to 95% of the way there by
    :func:`steps_to_fraction`. When an optimiser's best rate is the largest or the smallest of
    ``lrs``, a :class:`~stratopt.errors.DiagnosticWarning` (and the summary) says to widen the grid.

    Parameters
    ----------
    rule
        A single-start rule; left unchanged.
    prices
        Price table (dates x tickers) or :class:`~stratopt.MarketData`.
    lrs
        Distinct positive learning rates, any spread (1e-5 to 100 in one call is fine).
    optimizer, epochs, batch_days
        As in :func:`~stratopt.fit`, the same for every run.
    optimizers
        Several optimisers to compare in one call, e.g. ``("sgd", "momentum", "adam")``: every
        rate runs with each (instead of ``optimizer``); one table, one figure.
    seeds
        One run per seed and lr. The seed draws the random windows of ``batch_days``; with
        full-batch training (``batch_days=None``) every seed gives the same run.
    temperature
        Fixed by default (0.5), unlike fit's annealing: an annealed temperature moves the loss
        by itself, so slow runs would look as if they moved. Pass a (start, end) pair to anneal.
    select
        Which epoch's parameters each run reports Sharpe ratios for; ``"last"`` (default) is
        where the learning rate took the parameters; ``"hard"``, ``"validation"`` and
        ``"soft"`` keep the epoch :func:`~stratopt.fit` would (the best hard rule on the
        training days, the best hard rule on the validation days, which is optimistic as it
        picks with those days, or the best soft validation loss).
    loss
        Objective, costs, slippage, allocation, position mode and penalties of every run
        (:class:`~stratopt.LossSpec`, default ``LossSpec()``).
    vectorize
        Train all rates of a seed as the starts of one batched fit, each start at its own rate
        (default). Every built-in optimiser's update is its rate times a direction that does
        not depend on the rate, and clipping, penalties and divergence act per start, so each
        start takes exactly the steps its fit alone would; batching is up to ``len(lrs)`` times
        faster. Options that watch all starts together (``early_stopping``, ``callbacks`` or a
        nonzero ``tol``) run one fit per rate, as does ``vectorize=False``. Both agree to
        round-off (which a chaotic, oscillating run amplifies over the epochs).
    progress
        A bar over the fits (and each fit's epochs) in a terminal or Jupyter (default), False
        for none.
    n_jobs, scheduler
        Where the fits run (see :func:`stratopt.parallel.executor`): serially in this process
        by default; ``n_jobs=K`` on a local Dask cluster of K processes, or ``scheduler=`` an
        existing Dask scheduler. One task per optimiser and seed (its rates are one batched
        fit); the table and history are the serial run's exactly (only ``seconds`` differs),
        in the same order. A fit that raises stops the comparison with its error.
    **fit_kwargs
        Any other :func:`~stratopt.fit` setting (``validation``, 0.2 here by default, ``clip_grad_norm``,
        ``train_days``, ``dtype``, ...). Costs and the objective go in ``loss``.

    Returns
    -------
    LRComparison
        Runs table with verdicts, long history table, best loss; ``summary()``, ``plot()``,
        ``to_dict()``.

    Notes
    -----
    The curve the verdicts read (``tracked_loss``) is fit's training loss. With ``batch_days``
    that loss is measured on random windows and is noisy, so the verdicts read the negative
    soft Sharpe over all training days instead (fit records it every epoch as ``train_sharpe``).
    Divergence warnings are not repeated here: a diverged run is the ``diverged`` verdict.

    Examples
    --------
    >>> import stratopt
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL"], start="2004-01-01", end="2009-12-31")
    >>> cmp = compare_learning_rates(stratopt.MACrossover(), prices, [1e-4, 1.0, 1e3], epochs=20)
    >>> cmp.runs["verdict"].tolist()
    ['too_slow', 'good', 'diverged']
    """
    check_rule(rule, "compare_learning_rates")
    rates, seed_list = check_lrs(lrs), check_seeds(seeds)
    names = check_optimizers(optimizer, optimizers)
    check_fit_kwargs(fit_kwargs, _FORBIDDEN)
    if fit_kwargs.get("n_starts", 1) != 1:
        raise ConfigError(
            f"n_starts={fit_kwargs['n_starts']!r}: a comparison trains one start per run; vary seeds instead"
        )
    spec = resolve_loss(loss)
    data = _market_data(prices, fit_kwargs)
    settings = {"epochs": epochs, "batch_days": batch_days, "temperature": temperature}
    # 20% of the days held out by default, so every rate's table shows how it does on days it
    # did not train on (they choose nothing: select reads the training days unless told)
    args = {"validation": 0.2, **fit_kwargs, **settings, "select": select, "loss": spec, "progress": progress}
    batched = vectorize and can_vectorize(fit_kwargs)
    groups = [(name, s) for name in names for s in seed_list]
    runs: list[Run] = []
    with executor(n_jobs, scheduler) as ex:
        # each fit's own bar only in process: a worker's bars would go to its log
        fit_args = args if isinstance(ex, SerialExecutor) else {**args, "progress": False}
        shared = {"rule": rule, "data": data, "rates": rates, "vectorize": batched, "fit_args": fit_args}
        labels = [name if len(seed_list) == 1 else f"{name} seed {s}" for name, s in groups]
        outcomes = ex.map(_group, groups, shared=shared, labels=labels, desc="compare-lr", progress=progress)
    for outcome in outcomes:
        if isinstance(outcome, TaskFailure):
            raise outcome.error()
        runs += outcome
    history = _history(runs, tracked="loss" if batch_days is None else "train_sharpe")
    finite = history["tracked_loss"][np.isfinite(history["tracked_loss"])]
    best = float(finite.min()) if len(finite) else math.nan
    table = _runs_table(runs, history, best)
    hints = edge_hints(table)
    for hint in hints:
        warnings.warn(hint, DiagnosticWarning, stacklevel=2)
    config = {
        "rule": type(rule).__name__,
        "params": rule.params,
        "optimizer": names[0],
        "optimizers": names,
        **settings,
        "lrs": sorted(rates),
        "seeds": seed_list,
        "select": select,
        "loss": spec.to_dict(),
        "vectorized": batched,
        "n_days": data.n_days,
        "tickers": list(data.tickers),
        "fit_kwargs": {k: v for k, v in fit_kwargs.items() if k not in ("callbacks", "train_days")},
    }
    return LRComparison(runs=table, history=history, best_loss=best, hints=hints, config=jsonable(config))


def _group(
    group: tuple[str, int],
    *,
    rule: Rule,
    data: MarketData,
    rates: list[float],
    vectorize: bool,
    fit_args: dict[str, Any],
) -> list[Run]:
    """The runs of one optimiser and seed (one task): all rates, batched when exact."""
    name, seed = group
    fits = run_fits(rule, data, rates, seed, vectorize=vectorize, fit_args={**fit_args, "optimizer": name})
    return [dataclasses.replace(r, optimizer=name) for r in fits]


def _history(runs: list[Run], *, tracked: str) -> pd.DataFrame:
    """The long history table: fit's columns (the epoch's rate as ``lr_epoch``), the run's
    ``optimizer``, ``lr`` and ``seed``, and ``tracked_loss`` (the training loss, or
    ``-train_sharpe``); optimisers in the order run, then by lr, seed and epoch."""
    frames = []
    for r in runs:
        h = r.history.rename(columns={"lr": "lr_epoch"}).reset_index()
        curve = h["loss"] if tracked == "loss" else -h["train_sharpe"]
        frames.append(h.assign(tracked_loss=curve.to_numpy(), optimizer=r.optimizer, lr=r.lr, seed=r.seed))
    history = pd.concat(frames, ignore_index=True)
    keys = ["optimizer", "lr", "seed"]
    history = history[[*keys, *[c for c in history.columns if c not in keys]]]
    return _in_run_order(history, [*keys, "epoch"])


def _in_run_order(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``table`` sorted by ``by``, the optimiser column kept in its first-seen order."""
    rank = {o: i for i, o in enumerate(dict.fromkeys(table["optimizer"]))}
    return table.sort_values(by, key=lambda c: c.map(rank) if c.name == "optimizer" else c, kind="stable").reset_index(
        drop=True
    )


def _runs_table(runs: list[Run], history: pd.DataFrame, best: float) -> pd.DataFrame:
    """One row per run: verdict, progress, steps to 95% and final Sharpe ratios, by optimiser
    (in the order given), lr and seed."""
    rows = []
    for r in runs:
        h = history[(history["optimizer"] == r.optimizer) & (history["lr"] == r.lr) & (history["seed"] == r.seed)]
        curve = h["tracked_loss"].to_numpy(dtype=float)
        diverged = r.status == "diverged" or bool(h["diverged"].any())
        stats = (
            curve_stats(curve, best)
            if np.isfinite(curve).all()
            else {"final_loss": math.nan, "progress": math.nan, "flip_rate": math.nan}
        )
        train, val = r.metrics["train"], r.metrics.get("validation", {})
        rows.append(
            {
                "optimizer": r.optimizer,
                "lr": r.lr,
                "seed": r.seed,
                "verdict": loss_curve_verdict(curve, best_loss=best, diverged=diverged),
                "status": r.status,
                "epochs_run": len(curve),
                "diverged_at": r.diverged_at,
                "initial_loss": float(curve[0]),
                "final_loss": stats["final_loss"],
                "progress": stats["progress"],
                "steps_to_95": steps_to_fraction(curve, best_loss=best),
                "flip_rate": stats["flip_rate"],
                "train_soft_sharpe": train["soft_sharpe"],
                "train_hard_sharpe": train["hard_sharpe"],
                "val_soft_sharpe": val.get("soft_sharpe", math.nan),
                "val_hard_sharpe": val.get("hard_sharpe", math.nan),
                "seconds": r.seconds,
            }
        )
    table = _in_run_order(pd.DataFrame(rows), ["optimizer", "lr", "seed"])
    table["steps_to_95"] = table["steps_to_95"].astype("Int64")
    table["diverged_at"] = table["diverged_at"].astype("Int64")
    return table
