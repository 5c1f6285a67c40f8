"""The walk-forward engine: refit on each train window, trade the hard rule on the next test."""

from __future__ import annotations

import math
import numbers
import os
import time
import warnings
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch

from stratopt import _progress, stats
from stratopt._market import MarketData
from stratopt.errors import ConfigError, DataError, IdleRuleWarning, caller_level
from stratopt.model_selection._regimes import label_regimes, regime_table
from stratopt.model_selection._splitter import WalkForward
from stratopt.model_selection._wf_checkpoint import FoldStore, run_key
from stratopt.model_selection._wf_fold import Fold, _inner_validation, run_fold
from stratopt.model_selection._wf_result import WalkForwardResult
from stratopt.parallel._executor import Executor
from stratopt.rules._base import Rule
from stratopt.training import Tuner
from stratopt.training._shared_screen import SharedScreen

if TYPE_CHECKING:
    from distributed import Client
else:  # resolvable by typing.get_type_hints (the experiment files' schema); Dask is optional
    Client = Any

__all__ = ["walk_forward"]

#: Default patience of each fold's fit (epochs without improvement of its selection measure).
PATIENCE = 10
#: A last test window shorter than this share of the one before it is a short fold.
SHORT_FOLD_SHARE = 0.25
ShortFold = Literal["merge", "skip", "keep"]


def walk_forward(
    estimator: Tuner | Rule,
    prices: pd.DataFrame,
    splitter: WalkForward | None = None,
    *,
    warm_start: bool = True,
    ensemble: int = 1,
    drift_penalty: float = 0.0,
    prior_penalty: float = 0.0,
    n_trials: int | None = 1,
    progress: bool | None = None,
    patience: int | None = PATIENCE,
    short_fold: ShortFold = "merge",
    checkpoint_dir: str | os.PathLike[str] | None = None,
    n_jobs: int | None = None,
    scheduler: str | Client | Executor | None = None,
    **split_options: Any,
) -> WalkForwardResult:
    """Fit on each train window, trade the hard rule on the following test window, stitch.

    For every fold of ``splitter`` (default ``WalkForward("5Y", "1Y")``):

    1. clone ``estimator`` and fit it on the train window only. The rule's own warm-up
       (:meth:`Rule.warmup_days`: its longest possible window) of earlier days is passed as
       indicator warm-up and does not count in the loss; embargoed days are skipped. Nothing
       after the train end is seen.
    2. run the HARD rule with those parameters on the test window, computing positions over
       the prices up to the test end (earlier days are warm-up), under the estimator's
       :class:`~stratopt.LossSpec` (costs, slippage, allocation, position mode).

    The test returns are stitched into one out-of-sample series and compared with buy-and-hold
    and with the untuned rule on the same dates, under the same costs.

    Parameters
    ----------
    estimator
        A :class:`~stratopt.Tuner` configured with the rule and every training setting. A bare
        rule is tuned with ``Tuner(rule, validation=None)`` (the whole train window trains).
        Its rule's current parameters are the first fold's start and the untuned baseline;
        with ``seed`` set, fold ``k`` uses ``seed + k``.
    prices
        Price table (dates x tickers).
    splitter
        Fold layout, a :class:`WalkForward`.
    warm_start
        Start each fold from the previous fold's fitted parameters.
    ensemble
        Trade the mean hard position of the best ``ensemble`` starts of each fold (ranked by
        their monitored loss: the inner validation days if the estimator has a validation
        fraction, else the training days) instead of the one selected start. Averages out the
        luck of picking one start among many; 1 trades the selected start.
    drift_penalty
        Weight of the squared change of every start's parameters (in the optimiser's space)
        from the previous fold's fit: guards against parameters that jump from fold to fold.
    prior_penalty
        Weight of the squared distance from the rule as given (the untuned rule): a prior that
        keeps fits near sensible values unless the data insist.
    n_trials
        Number of walk-forward configurations you compared before settling on this one (rules,
        splitters, settings: every full walk-forward run whose out-of-sample result you looked
        at), for the deflated Sharpe ratio of the out-of-sample series. Default 1 (None means
        the same): nothing was selected out of sample, and the DSR equals the PSR. The starts
        and folds inside one run are not trials of the out-of-sample result: the starts are
        selected in sample (see the ``selection_dsr`` fold column) and the folds are consecutive
        pieces of one track record.
    progress
        Bar over folds in a terminal or Jupyter, else one line per fold on stderr (a log);
        False shows nothing. Default None: chosen by where stderr goes.
    patience
        Each fold's fit stops when for ``patience`` epochs no start has improved the measure
        that selects its epoch (:class:`~stratopt.Tuner`'s ``patience``), unless the estimator
        sets its own; None trains every epoch. Default 10: on the bundled stocks' development
        years (folds testing 1995-2010, the main job's settings) it kept the out-of-sample
        Sharpe ratio (0.907 against 0.898 with all 100 epochs) at under a third of the time
        (``benchmarks/bench_speed.py --evidence``).
    short_fold
        What to do with a last fold whose test window is shorter than a quarter of the one
        before it (a test window the data ends inside of, kept by ``reduce_test=True``), which
        would otherwise cost a whole fit for a few days of trading: ``"merge"`` (default) trades
        those days with the previous fold's fit (when the two windows are contiguous; else it is
        skipped), ``"skip"`` leaves them out, ``"keep"`` fits them as a fold of their own. The
        result states what was done (``config["short_last_fold"]`` and the summary).
    checkpoint_dir
        Directory where each finished fold is written as it is done. Rerun with the same
        estimator, options and prices to resume: finished folds are read back instead of fitted.
        A directory holding folds of another configuration or other data is refused.
    n_jobs, scheduler
        Where the folds run (see :func:`stratopt.parallel.executor`): serially in this process
        by default; ``n_jobs=K`` on a local Dask cluster of K processes, or ``scheduler=`` an
        existing Dask scheduler. Only independent folds run in parallel: ``warm_start=False``
        and no ``drift_penalty`` (each fold then gets the seed it gets serially, and the result
        is the serial one exactly); with either, folds depend on the previous fold's fit and
        ``n_jobs`` is refused (run several walk-forwards at once with
        :func:`stratopt.tune_tickers`). With independent folds, a fold whose fit raises is
        listed in ``failures`` (its test window missing from the stitched returns) while the
        others complete, serially or not; when every fold fails, the first error is raised.
    **split_options
        Instead of ``splitter``: :class:`WalkForward` arguments (``train``, ``test``,
        ``anchored``, ``purge``, ``embargo``, ...), with train 5 years and test 1 year by default.

    Returns
    -------
    WalkForwardResult
    """
    tuner = _as_tuner(estimator)
    n_trials = _check_n_trials(n_trials)
    if not isinstance(ensemble, int) or not ensemble >= 1:
        raise ConfigError(f"ensemble={ensemble!r} must be a positive number of starts")
    if ensemble > max(tuner.n_starts, tuner.rule.batch_size):
        raise ConfigError(
            f"ensemble={ensemble} needs at least as many starts; the estimator has n_starts={tuner.n_starts}"
        )
    for name, w in (("drift_penalty", drift_penalty), ("prior_penalty", prior_penalty)):
        if not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise ConfigError(f"{name}={w!r} must be a finite number >= 0")
    independent = not warm_start and not drift_penalty
    if (n_jobs not in (None, 1) or scheduler is not None) and not independent:
        why = (
            "warm_start=True starts each fold from"
            if warm_start
            else f"drift_penalty={drift_penalty} ties each fold to"
        )
        raise ConfigError(
            f"walk_forward(n_jobs={n_jobs!r}, scheduler={scheduler!r}) runs folds in parallel, but {why} the "
            "previous fold's fit; pass warm_start=False and drift_penalty=0 for independent folds, or run whole "
            "walk-forwards in parallel with stratopt.tune_tickers(..., walk_forward=..., n_jobs=...)"
        )
    if not isinstance(prices, pd.DataFrame):
        raise ConfigError(f"prices must be a DataFrame of prices, got {type(prices).__name__}")
    splitter = _as_splitter(splitter, split_options)
    splits, short_note = _short_last_fold(list(splitter.split(prices)), prices.index, short_fold)
    fold_dates = _fold_dates(splits, prices.index)
    options: dict[str, Any] = {
        "warm_start": warm_start,
        "ensemble": ensemble,
        "drift_penalty": drift_penalty,
        "prior_penalty": prior_penalty,
        "short_fold": short_fold,
        "patience": patience,
    }
    store = None
    if checkpoint_dir is not None:
        # "screen": folds' screens slice one design scored over the whole history (since 0.3)
        settings = {**tuner.get_params(), "splitter": repr(splitter), **options, "screen_scope": "history"}
        store = FoldStore(checkpoint_dir, run_key(settings, tuner.rule, prices), tuner.rule)
    options["short_last_fold"] = short_note
    # built only when a fold is left to fit (a resumed, finished run reads every fold back)
    to_fit = store is None or not all(store.has(k) for k in range(len(splits)))
    shared_screen = _shared_screen(tuner, prices) if to_fit else None
    if independent:
        fold_options = {
            "ensemble": ensemble,
            "prior_penalty": prior_penalty,
            "patience": patience,
            "shared_screen": shared_screen,
        }
        done, failures = _independent_folds(
            tuner, prices, splits, fold_dates, store, fold_options, n_jobs, scheduler, progress
        )
        _report(done)
        return _assemble(tuner, prices, splitter, done, n_trials=n_trials, options=options, failures=failures)
    current, previous = tuner.rule, None
    folds: list[Fold] = []
    for k, (train_idx, test_idx) in enumerate(_progress.folds(splits, fold_dates, folds, progress=progress)):
        anchors = tuple(tuner.anchors)
        if drift_penalty and previous is not None:
            anchors += ((previous, float(drift_penalty)),)
        if prior_penalty:
            anchors += ((tuner.rule, float(prior_penalty)),)
        seed = None if tuner.seed is None else tuner.seed + k
        fold_tuner = tuner.clone(
            rule=current,
            seed=seed,
            progress=False,
            anchors=anchors,
            patience=tuner.patience if tuner.patience is not None else patience,
        )
        loaded = store.load(k) if store is not None else None
        if loaded is not None:  # finished by an earlier run with the same settings and data
            fold = loaded
        else:
            fold = run_fold(
                fold_tuner, tuner.rule, prices, train_idx, test_idx, ensemble=ensemble, shared_screen=shared_screen
            )
            fold.row = {
                "fold": k,
                **{c: fold_dates.iloc[k][c] for c in _DATE_COLUMNS},
                **fold.row,
                "selection_dsr": _selection_dsr(fold_tuner, tuner.rule, fold, prices, train_idx),
            }
            if store is not None:
                store.save(k, fold)
        folds.append(fold)
        previous = fold.rule
        if warm_start:
            current = fold.rule
    _report(folds)
    return _assemble(tuner, prices, splitter, folds, n_trials=n_trials, options=options)


def _independent_folds(
    tuner: Tuner,
    prices: pd.DataFrame,
    splits: list[tuple[np.ndarray, np.ndarray]],
    fold_dates: pd.DataFrame,
    store: FoldStore | None,
    options: dict[str, Any],
    n_jobs: int | None,
    scheduler: str | Client | Executor | None,
    progress: bool | None,
) -> tuple[list[Fold], list[dict[str, Any]]]:
    """Folds that do not depend on each other, one task each (serially, or on Dask): the
    finished folds in order, and a record per fold whose task raised."""
    from stratopt.parallel import SerialExecutor, TaskFailure, executor

    done: dict[int, Fold] = {}
    todo = []
    for k, split in enumerate(splits):
        loaded = store.load(k) if store is not None else None
        if loaded is not None:  # finished by an earlier run with the same settings and data
            done[k] = loaded
        else:
            todo.append((k, *split))
    n, how = len(splits), _progress.mode(progress)

    def finished(i: int, outcome: Any) -> None:  # in this process, as each fold's task ends
        k = todo[i][0]
        row = fold_dates.iloc[k]
        if isinstance(outcome, TaskFailure):
            text, seconds = f"failed ({outcome.error_type}: {outcome.message})", None
        else:
            fold, seconds = outcome
            text = _progress._test_sharpe(fold)
            if store is not None:
                store.save(k, fold)
        if how == "lines":
            _progress.fold_line(
                "walk-forward",
                k,
                n,
                row["test_start"],
                row["test_end"],
                result=text,
                seconds=seconds,
                progress=progress,
            )

    shared = {"tuner": tuner, "prices": prices, "fold_dates": fold_dates, **options}
    with executor(n_jobs, scheduler) as ex:
        outcomes = ex.map(
            _fit_fold,
            todo,
            shared=shared,
            labels=[f"fold {k}" for k, *_ in todo],
            desc="walk-forward",
            progress=progress if how == "bar" else False,  # the log's lines come from ``finished``
            on_result=finished,
            capture_warnings=not isinstance(ex, SerialExecutor),  # a worker's warnings come back here
        )
    errors: list[TaskFailure] = []
    for (k, *_), outcome in zip(todo, outcomes):
        if isinstance(outcome, TaskFailure):
            errors.append(outcome)
        else:
            done[k] = outcome[0]
    if not done:
        raise errors[0].error()
    failures = [
        {
            "fold": todo[f.index][0],
            **{c: fold_dates.iloc[todo[f.index][0]][c] for c in _DATE_COLUMNS},
            "error_type": f.error_type,
            "message": f.message,
            "traceback": f.traceback,
        }
        for f in errors
    ]
    return [done[k] for k in sorted(done)], failures


def _fit_fold(
    task: tuple[int, np.ndarray, np.ndarray],
    *,
    tuner: Tuner,
    prices: pd.DataFrame,
    fold_dates: pd.DataFrame,
    ensemble: int,
    prior_penalty: float,
    patience: int | None,
    shared_screen: SharedScreen | None,
) -> tuple[Fold, float]:
    """One independent fold (one task): fit from the rule as given with the fold's own seed,
    trade the test window; and the seconds it took."""
    began = time.perf_counter()
    k, train_idx, test_idx = task
    anchors = tuple(tuner.anchors)
    if prior_penalty:
        anchors += ((tuner.rule, float(prior_penalty)),)
    fold_tuner = tuner.clone(
        rule=tuner.rule,
        seed=None if tuner.seed is None else tuner.seed + k,
        progress=False,
        anchors=anchors,
        patience=tuner.patience if tuner.patience is not None else patience,
    )
    fold = run_fold(fold_tuner, tuner.rule, prices, train_idx, test_idx, ensemble=ensemble, shared_screen=shared_screen)
    fold.row = {
        "fold": k,
        **{c: fold_dates.iloc[k][c] for c in _DATE_COLUMNS},
        **fold.row,
        "selection_dsr": _selection_dsr(fold_tuner, tuner.rule, fold, prices, train_idx),
    }
    return fold, time.perf_counter() - began


def _shared_screen(tuner: Tuner, prices: pd.DataFrame) -> SharedScreen | None:
    """The screen's design scored once over the whole history, for every fold to slice (None:
    no screen, or prices that only fold windows can be read from, e.g. a ticker delisted
    before the end, whose folds then screen on their own windows)."""
    if not tuner.screen or tuner.rule.batch_size != 1:
        return None
    try:
        data = MarketData.from_prices(prices, dtype=tuner.dtype, device=tuner.device)
    except DataError:
        return None
    return SharedScreen.build(tuner.rule, data, tuner.loss, n_candidates=tuner.screen, seed=tuner.seed)


def _short_last_fold(
    splits: list[tuple[np.ndarray, np.ndarray]], dates: pd.Index, how: Any
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str | None]:
    """The folds with a short last test window merged, skipped or kept, and a note saying which."""
    if how not in ("merge", "skip", "keep"):
        raise ConfigError(f"short_fold={how!r} must be 'merge', 'skip' or 'keep'")
    if len(splits) < 2:
        return splits, None
    (prev_train, prev_test), (_, last) = splits[-2], splits[-1]
    if last.size >= SHORT_FOLD_SHARE * prev_test.size:
        return splits, None
    what = (
        f"{last.size} test days ({dates[last[0]].date()} to {dates[last[-1]].date()}), under "
        f"{SHORT_FOLD_SHARE:.0%} of the previous test window's {prev_test.size}"
    )
    if how == "keep":
        return splits, f"{what}, fitted as a fold of their own"
    if how == "merge" and last[0] == prev_test[-1] + 1:
        merged = np.concatenate([prev_test, last])
        return [*splits[:-2], (prev_train, merged)], f"{what}, traded with fold {len(splits) - 2}'s fit"
    return splits[:-1], f"{what}, skipped (not traded)"


def _fold_dates(splits: list[tuple[np.ndarray, np.ndarray]], dates: pd.Index) -> pd.DataFrame:
    """One row per fold as :meth:`WalkForward.folds` gives it, for the folds actually run."""
    rows = [
        (k, dates[tr[0]], dates[tr[-1]], dates[te[0]], dates[te[-1]], tr.size, te.size)
        for k, (tr, te) in enumerate(splits)
    ]
    return pd.DataFrame(rows, columns=["fold", *_DATE_COLUMNS, "n_train", "n_test"])


def _check_n_trials(n_trials: Any) -> int:
    """``n_trials`` as a positive int (None: 1), or a :class:`ConfigError` naming the fix."""
    if n_trials is None:
        return 1
    if isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral) or n_trials < 1:
        raise ConfigError(
            f"n_trials={n_trials!r} must be a positive whole number: the count of walk-forward "
            "configurations you compared before this one (1 if this is the only one, the default)"
        )
    return int(n_trials)


def _selection_dsr(fold_tuner: Tuner, untuned: Rule, fold: Fold, prices: pd.DataFrame, train_idx: np.ndarray) -> float:
    """DSR of the fold's in-sample selection: the selected start's train Sharpe ratio deflated
    for picking it among the fold's starts.

    Bailey and Lopez de Prado (2014), "The Deflated Sharpe Ratio", Journal of Portfolio
    Management 40(5), section "The Deflated Sharpe Ratio": the PSR against the expected maximum
    Sharpe ratio ``SR0`` of ``N`` unskilled trials, with ``N`` the number of starts and ``V``
    the sample variance of the starts' per-period train Sharpe ratios (:attr:`Fold.trial_sharpes`).
    The selected start's train returns are recomputed here, on the same training days as the
    trials (warm-up, inner validation and purge excluded), for their skewness and kurtosis.
    NaN with fewer than 2 finite trials, no spread between them, or a flat selected start.
    """
    trials = [s for s in fold.trial_sharpes if math.isfinite(s)]
    if len(trials) < 2 or np.var(trials) == 0:
        return math.nan
    lo = max(0, int(train_idx[0]) - fold_tuner.rule.warmup_days())
    hi = int(train_idx[-1]) + 1
    mask = np.zeros(hi - lo, dtype=bool)
    mask[train_idx - lo] = True
    window = prices.iloc[lo:hi]
    window = window.loc[:, window.notna().any()]
    if fold_tuner.rule.max_window() + 2 > len(window):  # as run_fold: a too-long warm start
        fold_tuner = fold_tuner.clone(rule=untuned)
    _, mask = _inner_validation(fold_tuner, window, mask)
    with torch.no_grad():
        data = MarketData.from_prices(window)  # as the trials' own returns (Fold.trial_sharpes)
        r = fold_tuner.loss.rule_returns(fold.rule, data)[0].cpu().numpy()
    r = r[mask[1:] & mask[:-1]]
    if len(r) < 3 or np.std(r) == 0:
        return math.nan
    return float(stats.dsr_from_returns(r, trial_sharpes=trials))


def _report(folds: list[Fold]) -> None:
    """One warning per kind of diagnostic across folds, and one for folds without a trade."""
    by_kind: dict[type[Warning], list[int]] = {}
    for k, fold in enumerate(folds):
        for category, _ in fold.diagnostics:
            by_kind.setdefault(category, []).append(k)
    for category, ks in by_kind.items():
        first = next(text for c, text in folds[ks[0]].diagnostics if c is category)
        number = folds[ks[0]].row.get("fold", ks[0])  # the fold's own number when some failed
        warnings.warn(
            f"{category.__name__} in {len(set(ks))} of {len(folds)} folds (first, fold {number}): {first}",
            category,
            stacklevel=caller_level(),
        )
    idle = [f.row.get("fold", k) for k, f in enumerate(folds) if f.row.get("trades_per_year", 1.0) == 0.0]
    if idle:
        warnings.warn(
            f"{len(idle)} of {len(folds)} folds made no trade in their test window (folds {idle[:10]}): "
            "their test Sharpe ratio is 0 by construction, not a result",
            IdleRuleWarning,
            stacklevel=caller_level(),
        )


_DATE_COLUMNS = ("train_start", "train_end", "test_start", "test_end")


def _as_tuner(estimator: Tuner | Rule) -> Tuner:
    if isinstance(estimator, Rule):
        estimator.require_single("walk_forward")
        return Tuner(estimator, validation=None)
    if not isinstance(estimator, Tuner):
        raise ConfigError(
            f"walk_forward takes a stratopt.Tuner (or a Rule), got {type(estimator).__name__}; "
            "configure training with stratopt.Tuner(rule, lr=..., epochs=..., n_starts=...)"
        )
    estimator.rule.require_single("walk_forward (use the Tuner's n_starts for multi-start)")
    return estimator


def _as_splitter(splitter: Any, options: dict[str, Any]) -> WalkForward:
    moved = sorted(set(options) & {"fit_kwargs", "n_starts", "seed", "cost_bps", "slippage", "allocation"})
    if moved:
        raise ConfigError(
            f"walk_forward no longer takes {moved}: configure training in the estimator, e.g. "
            "walk_forward(stratopt.Tuner(rule, lr=0.05, n_starts=4, seed=0, loss=stratopt.LossSpec(cost_bps=5)), prices)"
        )
    if splitter is not None and not isinstance(splitter, WalkForward):
        raise ConfigError(
            f"splitter={splitter!r} is not a WalkForward; pass WalkForward({splitter!r}, '1Y') or "
            f"train={splitter!r}, test='1Y' as keywords"
        )
    if splitter is not None and options:
        raise ConfigError(f"pass either a splitter or its options {sorted(options)}, not both")
    if splitter is not None:
        return splitter
    try:
        options = dict(options)
        return WalkForward(options.pop("train", "5Y"), options.pop("test", "1Y"), **options)
    except TypeError as exc:
        raise ConfigError(
            f"walk_forward got unknown option(s) {sorted(options)} ({exc}); its own options are warm_start, "
            "n_trials and progress, and the splitter's are train, test, step, anchored, purge, "
            "embargo, min_train and reduce_test"
        ) from None


def _assemble(
    tuner: Tuner,
    prices: pd.DataFrame,
    splitter: WalkForward,
    folds: list[Fold],
    *,
    n_trials: int,
    options: dict[str, Any],
    failures: list[dict[str, Any]] | None = None,
) -> WalkForwardResult:
    oos_returns = pd.concat([f.oos for f in folds]).rename("oos")
    baselines = {name: pd.concat([f.baselines[name] for f in folds]).rename(name) for name in folds[0].baselines}
    candidates = pd.DataFrame(
        np.vstack([f.candidates for f in folds]),
        index=oos_returns.index,
        columns=[f"start_{j}" for j in range(folds[0].candidates.shape[1])],
    )
    trial_sharpes = [f.trial_sharpes for f in folds]
    psr = _probabilistic(oos_returns)
    return WalkForwardResult(
        folds=pd.DataFrame([f.row for f in folds]).set_index("fold"),
        oos_returns=oos_returns,
        baselines=baselines,
        candidates=candidates,
        param_names=list(tuner.rule.params),
        regimes=regime_table({"oos": oos_returns, **baselines}, label_regimes(prices)),
        psr=psr,
        dsr=psr if n_trials == 1 else _deflated(oos_returns, trial_sharpes, n_trials),
        pbo=_pbo(candidates),
        n_trials=n_trials,
        config={
            **tuner.get_params(),
            "splitter": repr(splitter),
            **options,
            "warmup_days": tuner.rule.warmup_days(),
        },
        failures=list(failures or []),
        fold_rules=[f.rule for f in folds],
        history=_history(folds),
    )


def _history(folds: list[Fold]) -> pd.DataFrame:
    """The folds' training histories in one table, numbered by fold."""
    parts = [f.history.assign(fold=f.row.get("fold", k)) for k, f in enumerate(folds) if f.history is not None]
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts, ignore_index=True)
    return table[["fold", *[c for c in table.columns if c != "fold"]]]


def trial_variance(trial_sharpes: list[list[float]]) -> float:
    """Variance of the trials' per-period Sharpe ratios, as the deflated Sharpe ratio needs it.

    With several starts per fold it is the pooled within-fold variance: the spread between
    configurations tried on the same data, which is what selection exploits (differences
    between periods are not). With one start per fold it falls back to the variance across
    folds, an upper bound that deflates more.
    """
    folds = [[s for s in f if math.isfinite(s)] for f in trial_sharpes]
    within = [np.var(f, ddof=1) for f in folds if len(f) >= 2]
    if within:
        return float(np.mean(within))
    flat = [s for f in folds for s in f]
    return float(np.var(flat, ddof=1)) if len(flat) >= 2 else math.nan


def _probabilistic(oos: pd.Series) -> float:
    """PSR of the stitched out-of-sample returns against a true Sharpe ratio of 0.

    Bailey and Lopez de Prado (2012), "The Sharpe Ratio Efficient Frontier", Journal of Risk
    15(2), section "Probabilistic Sharpe Ratio": ``Phi((SR - 0) sqrt(T - 1) / sqrt(1 - g3 SR +
    (g4 - 1) / 4 SR^2))`` with the sample's per-period Sharpe ratio, skewness and Pearson
    kurtosis. NaN for a flat series.
    """
    if len(oos) < 3 or oos.std() == 0:
        return math.nan
    return float(stats.psr_from_returns(oos.to_numpy()))


def _deflated(oos: pd.Series, trial_sharpes: list[list[float]], n_trials: int) -> float:
    """DSR of the out-of-sample Sharpe after comparing ``n_trials`` walk-forward configurations.

    Bailey and Lopez de Prado (2014), "The Deflated Sharpe Ratio", Journal of Portfolio
    Management 40(5), section "The Deflated Sharpe Ratio": the PSR against ``SR0 = sqrt(V)
    ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))``. One run does not see the other
    configurations' out-of-sample Sharpe ratios, so their variance ``V`` is stood in for by the
    spread of this run's starts (:func:`trial_variance`); NaN when it is unknown.
    """
    variance = trial_variance(trial_sharpes)
    if not math.isfinite(variance) or variance <= 0 or n_trials < 2 or oos.std() == 0:
        return math.nan
    return float(stats.dsr_from_returns(oos.to_numpy(), n_trials=n_trials, sr_variance=variance))


def _pbo(candidates: pd.DataFrame) -> stats.PBOResult | None:
    """PBO over the multi-start candidates (needs >= 2 starts and enough days for 16 blocks)."""
    if candidates.shape[1] < 2:
        return None
    n_splits = 16 if len(candidates) >= 16 * 20 else 8
    if len(candidates) < n_splits * 2:
        return None
    return stats.probability_of_backtest_overfitting(candidates.to_numpy(), n_splits=n_splits)
