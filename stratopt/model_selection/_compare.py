"""Rule comparison: the walk-forward of several rules on the same data and the same folds.

Each rule is refitted and traded out of sample by :func:`~stratopt.walk_forward` exactly as it
would be alone; what the comparison adds is one table and one figure, and a deflated Sharpe
ratio that counts the comparison itself: choosing the best of N rules on their out-of-sample
results is a selection among N trials.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stratopt import _progress, stats
from stratopt import metrics as m
from stratopt._json import jsonable
from stratopt._result import Result
from stratopt.errors import ConfigError
from stratopt.model_selection._splitter import WalkForward
from stratopt.model_selection._walk_forward import walk_forward
from stratopt.model_selection._wf_result import WalkForwardResult
from stratopt.parallel import Executor, SerialExecutor, TaskFailure, executor
from stratopt.rules._base import Rule
from stratopt.training import Tuner

if TYPE_CHECKING:
    from distributed import Client
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["RuleComparison", "compare_rules"]

#: The passive baseline's row and column name.
BUY_AND_HOLD = "buy_and_hold"
#: Columns of :attr:`RuleComparison.table`, in order.
COLUMNS = (
    "oos_sharpe",
    "psr",
    "dsr",
    "annual_return",
    "max_drawdown",
    "turnover",
    "time_in_market",
    "sharpe_vs_buy_and_hold",
)
#: Walk-forward options the comparison sets itself.
_OWN = {"n_trials": "the comparison deflates by the number of rules", "progress": "pass progress to compare_rules"}


@dataclass(repr=False)
class RuleComparison(Result):
    """What :func:`compare_rules` returns.

    Attributes
    ----------
    table
        One row per rule (in the order given) and a last row ``buy_and_hold`` (long every
        asset, same dates and costs): ``oos_sharpe`` (annualised, of the stitched out-of-sample
        returns), ``psr`` (probability that the true Sharpe ratio is above 0), ``dsr`` (the
        PSR against the best Sharpe ratio that ``n_trials`` unskilled rules would show; NaN
        for the baseline, which was not a trial), ``annual_return``, ``max_drawdown``
        (negative), ``turnover`` (annual) and ``time_in_market`` (share of days with a
        position), both averaged over the folds by their test days, and
        ``sharpe_vs_buy_and_hold`` (difference of annualised Sharpe ratios).
        A rule whose walk-forward raised keeps its row, all NaN (see ``failures``).
    oos_returns
        Stitched out-of-sample net returns, one column per rule and ``buy_and_hold``.
    results
        Each rule's full :class:`WalkForwardResult`, by name (the rules that completed).
    n_trials
        Rules compared: the N of the deflated Sharpe ratio (the rules that completed).
    config
        Names, rule classes, the fold layout and the walk-forward options.
    failures
        ``{name: TaskFailure}`` for each rule whose walk-forward raised (its error type,
        message and traceback); empty when every rule completed.
    """

    table: pd.DataFrame
    oos_returns: pd.DataFrame
    results: dict[str, WalkForwardResult]
    n_trials: int
    config: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, TaskFailure] = field(default_factory=dict)

    @property
    def best(self) -> str:
        """The rule with the highest out-of-sample Sharpe ratio."""
        return str(self.table.drop(index=BUY_AND_HOLD)["oos_sharpe"].idxmax())

    def summary(self) -> str:
        """The table, the folds and what the deflated Sharpe ratio counts."""
        first = next(iter(self.results.values()))
        dates = self.oos_returns.index
        table = self.table.astype(float).to_string(float_format=lambda v: f"{v:.3f}", na_rep="-")
        best = self.table.loc[self.best]
        failed = [f"failed: {name}: {f.error_type}: {f.message}" for name, f in self.failures.items()]
        return "\n".join(
            [
                *failed,
                f"{self.n_trials} rules compared by walk-forward on the same {len(first.folds)} folds, "
                f"{dates[0].date()} to {dates[-1].date()} out of sample",
                "",
                table,
                "",
                f"best out of sample: {self.best} (Sharpe {best['oos_sharpe']:.2f}, DSR {best['dsr']:.3f})",
                f"dsr deflates each rule's Sharpe ratio for picking the best of {self.n_trials} rules "
                "(variance of the trials: that of the rules' out-of-sample Sharpe ratios)",
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the table (one record per row), ``n_trials``, config and each rule's
        walk-forward record."""
        return jsonable(
            {
                "table": self.table.reset_index(names="rule").to_dict(orient="records"),
                "best": self.best,
                "n_trials": self.n_trials,
                "config": self.config,
                "results": {name: res.to_dict() for name, res in self.results.items()},
                "failures": {name: f.to_dict() for name, f in self.failures.items()},
            }
        )

    def plot(self, ax: Axes | None = None) -> Figure:
        """Stitched out-of-sample equity of every rule and of buy-and-hold (log scale)."""
        from stratopt.plotting import axes_or_new, plain_log_axis

        fig, ax = axes_or_new(ax, (11, 5))
        equity = (1.0 + self.oos_returns).cumprod()
        for name in self.results:  # a failed rule has no curve
            label = f"{name} (Sharpe {self.table.loc[name, 'oos_sharpe']:.2f})"
            ax.plot(equity.index, equity[name].to_numpy(), lw=1.4, label=label)
        bh = self.table.loc[BUY_AND_HOLD, "oos_sharpe"]
        ax.plot(
            equity.index,
            equity[BUY_AND_HOLD].to_numpy(),
            color="0.35",
            ls="--",
            lw=1.1,
            label=f"buy and hold ({bh:.2f})",
        )
        ax.set(ylabel="equity (log scale)", title="out-of-sample equity: same folds, same costs")
        plain_log_axis(ax)  # the backtest's plain labels (0.8, 1, 1.5), not 2x10^0
        ax.legend(fontsize="small")
        return fig


def compare_rules(
    rules: Sequence[Rule | Tuner | str] | Mapping[str, Rule | Tuner | str],
    prices: pd.DataFrame,
    splitter: WalkForward | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    n_jobs: int | None = None,
    scheduler: str | Client | Executor | None = None,
    **options: Any,
) -> RuleComparison:
    """Walk-forward several rules on the same prices and folds, and compare them out of sample.

    Parameters
    ----------
    rules
        The rules to compare, at least two: :class:`~stratopt.Rule` objects, configured
        :class:`~stratopt.Tuner` objects, or registered rule names (``"ma-crossover"``,
        ``"rsi"``; a unique part of a name such as ``"crossover"`` works). A mapping gives
        them display names; otherwise names come from the rules.
    prices
        Price table (dates x tickers).
    splitter
        Fold layout (default ``WalkForward("5Y", "1Y")``), the same for every rule.
    settings
        :class:`~stratopt.Tuner` settings for the rules given as rules or names (``loss``,
        ``epochs``, ``n_starts``, ``seed``, ...); default ``validation=None``, as
        :func:`~stratopt.walk_forward` tunes a bare rule. Tuners keep their own settings.
    progress
        Progress over rules and folds (see :func:`~stratopt.walk_forward`); False for none.
    n_jobs, scheduler
        Where the rules run (see :func:`stratopt.parallel.executor`): serially in this process
        by default; ``n_jobs=K`` on a local Dask cluster of K processes, or ``scheduler=`` an
        existing Dask scheduler. One task per rule, each walk-forward serial inside its task;
        the results are the serial run's exactly, in the order of ``rules``. A rule whose
        walk-forward raises is listed in ``failures`` (its row all NaN) and the others complete.
    **options
        Other :func:`~stratopt.walk_forward` options (``warm_start``, ``ensemble``, ...) or,
        instead of ``splitter``, :class:`WalkForward` arguments (``train``, ``test``, ...).

    Returns
    -------
    RuleComparison
        One table (out-of-sample Sharpe, PSR, DSR, drawdown, turnover, time in market, against
        buy-and-hold), one figure of the stitched equity curves, each rule's walk-forward.

    Notes
    -----
    The DSR of each rule deflates its out-of-sample Sharpe ratio for having picked the best of
    ``N = len(rules)`` (Bailey and Lopez de Prado 2014, "The Deflated Sharpe Ratio"), with the
    variance of the trials' Sharpe ratios estimated by that of the compared rules'
    out-of-sample Sharpe ratios (per period), as the paper intends for trials run on the same
    data. Each walk-forward is run with ``n_trials=1`` (its own DSR equals its PSR).

    Examples
    --------
    >>> import stratopt
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL", "KO"], start="2001", end="2005")
    >>> cmp = stratopt.compare_rules(["crossover", "momentum"], prices, train="2Y", test="1Y",
    ...                              settings={"epochs": 2, "n_starts": 1, "seed": 0}, progress=False)
    >>> list(cmp.table.index)
    ['ma-crossover', 'momentum', 'buy_and_hold']
    >>> cmp.n_trials
    2
    """
    tuners = _as_tuners(rules, settings)
    for key, why in _OWN.items():
        if key in options:
            raise ConfigError(f"{key}={options[key]!r} cannot be set here: {why}")
    if not isinstance(prices, pd.DataFrame):
        raise ConfigError(f"prices must be a DataFrame of prices, got {type(prices).__name__}")
    names = list(tuners)
    done = 0

    def report(k: int, outcome: Any) -> None:  # called in this process as each rule finishes
        nonlocal done
        done += 1
        head = f"compare: rule {done}/{len(names)} {names[k]}"
        if isinstance(outcome, TaskFailure):
            _progress.line(f"{head}: failed ({outcome.error_type}: {outcome.message})", progress=progress)
        else:
            sharpe = outcome[0].metrics["sharpe"]
            _progress.line(f"{head}: out-of-sample Sharpe {sharpe:.2f} ({outcome[1]:.1f} s)", progress=progress)

    with executor(n_jobs, scheduler) as ex:
        serial = isinstance(ex, SerialExecutor)
        outcomes = ex.map(
            _walk_forward_one,
            list(tuners.values()),
            # in process each walk-forward shows its folds; on workers a bar over the rules
            shared={
                "prices": prices,
                "splitter": splitter,
                "options": options,
                "progress": progress if serial else False,
            },
            labels=names,
            desc="compare rules",
            progress=False if serial or _progress.mode(progress) != "bar" else progress,
            on_result=report,
            capture_warnings=not serial,  # a worker's warnings come back here
        )
    results: dict[str, WalkForwardResult] = {}
    failures: dict[str, TaskFailure] = {}
    for name, outcome in zip(names, outcomes):
        if isinstance(outcome, TaskFailure):
            failures[name] = outcome
        else:
            results[name] = outcome[0]
    if not results:
        raise next(iter(failures.values())).error()
    returns = _stitched(results)
    first = next(iter(results.values()))
    config = {
        "rules": {name: type(t.rule).__name__ for name, t in tuners.items()},
        "splitter": first.config.get("splitter"),
        "options": dict(options),
    }
    table = _table(results, returns).reindex([*names, BUY_AND_HOLD]).rename_axis("rule")
    return RuleComparison(
        table=table,
        oos_returns=returns,
        results=results,
        n_trials=len(results),
        config=jsonable(config),
        failures=failures,
    )


def _walk_forward_one(
    tuner: Tuner,
    *,
    prices: pd.DataFrame,
    splitter: WalkForward | None,
    options: Mapping[str, Any],
    progress: bool | None,
) -> tuple[WalkForwardResult, float]:
    """One rule's walk-forward (one task) and the seconds it took."""
    began = time.perf_counter()
    result = walk_forward(tuner, prices, splitter, n_trials=1, progress=progress, **options)
    return result, time.perf_counter() - began


def _as_tuners(
    rules: Sequence[Rule | Tuner | str] | Mapping[str, Rule | Tuner | str], settings: Mapping[str, Any] | None
) -> dict[str, Tuner]:
    """Name -> tuner, in the order given; names from the mapping, else the rules' own."""
    if isinstance(rules, (str, Rule, Tuner)) or not isinstance(rules, (Sequence, Mapping)):
        raise ConfigError(f"rules={rules!r} must be a list of rules, tuners or rule names, e.g. ['crossover', 'rsi']")
    items = list(rules.items()) if isinstance(rules, Mapping) else [(None, r) for r in rules]
    if len(items) < 2:
        raise ConfigError(f"compare_rules needs at least two rules, got {len(items)}; use walk_forward for one")
    base = {"validation": None, **(settings or {})}
    out: dict[str, Tuner] = {}
    for given, item in items:
        if isinstance(item, str):
            name, rule = _registered(item)
            tuner = Tuner(rule, **base)
        elif isinstance(item, Rule):
            name, tuner = item.cli_name or type(item).__name__, Tuner(item, **base)
        elif isinstance(item, Tuner):
            name, tuner = item.rule.cli_name or type(item.rule).__name__, item
        else:
            raise ConfigError(f"{item!r} in rules is not a Rule, a Tuner or a rule name")
        name = str(given) if given is not None else _unique(name, out)
        if name in out:
            raise ConfigError(f"rule name {name!r} appears twice; give each rule its own name")
        out[name] = tuner
    return out


def _registered(text: str) -> tuple[str, Rule]:
    """A registered rule by its name, or by a part of exactly one name (``crossover``)."""
    from stratopt.rules._registry import make_rule, registered_rules

    names = list(registered_rules())
    key = text.strip().lower().replace("_", "-")
    hits = [key] if key in names else [n for n in names if key in n]
    if len(hits) != 1:
        which = "matches several of" if hits else "is not one of"
        raise ConfigError(f"rule {text!r} {which} {names}; give its full name")
    return hits[0], make_rule(hits[0])


def _unique(name: str, taken: Mapping[str, Any]) -> str:
    """``name``, or ``name-2``, ``name-3``, ... when a rule of that name is already listed."""
    k, out = 2, name
    while out in taken:
        out, k = f"{name}-{k}", k + 1
    return out


def _stitched(results: Mapping[str, WalkForwardResult]) -> pd.DataFrame:
    """Out-of-sample returns of every rule, and buy-and-hold, on the dates all of them share."""
    frame = pd.DataFrame({name: res.oos_returns for name, res in results.items()})
    frame[BUY_AND_HOLD] = next(iter(results.values())).baselines[BUY_AND_HOLD]
    return frame.dropna()


def _table(results: Mapping[str, WalkForwardResult], returns: pd.DataFrame) -> pd.DataFrame:
    """One row per rule and one for buy-and-hold (see :attr:`RuleComparison.table`)."""
    per_period = [float(stats.sharpe_ratio(returns[name].to_numpy())) for name in results]
    trials = [s for s in per_period if math.isfinite(s)]
    rows = {}
    for name, res in results.items():
        r = returns[name].to_numpy()
        rows[name] = {**_row(r), "dsr": _dsr(r, trials), **_activity(res)}
    rows[BUY_AND_HOLD] = {**_row(returns[BUY_AND_HOLD].to_numpy()), "dsr": math.nan}
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(COLUMNS[:-1]))
    table["sharpe_vs_buy_and_hold"] = table["oos_sharpe"] - table.loc[BUY_AND_HOLD, "oos_sharpe"]
    table.loc[BUY_AND_HOLD, "sharpe_vs_buy_and_hold"] = math.nan
    return table.rename_axis("rule")


def _row(r: np.ndarray) -> dict[str, float]:
    perf = m.performance(r)
    flat = len(r) < 3 or float(np.std(r)) == 0.0
    return {
        "oos_sharpe": perf["sharpe"],
        "psr": math.nan if flat else float(stats.psr_from_returns(r)),
        "annual_return": perf["annual_return"],
        "max_drawdown": perf["max_drawdown"],
    }


def _dsr(r: np.ndarray, trials: list[float]) -> float:
    """DSR of ``r`` among the compared rules (NaN when their Sharpe ratios do not spread)."""
    if len(trials) < 2 or float(np.var(trials)) == 0.0 or len(r) < 3 or float(np.std(r)) == 0.0:
        return math.nan
    return float(stats.dsr_from_returns(r, trial_sharpes=trials))


def _activity(res: WalkForwardResult) -> dict[str, float]:
    """Turnover and time in market of the folds, weighted by their test days."""
    folds = res.folds
    dates = res.oos_returns.index
    days = np.array(
        [
            ((dates >= pd.Timestamp(a)) & (dates <= pd.Timestamp(b))).sum()
            for a, b in zip(folds["test_start"], folds["test_end"])
        ],
        dtype=float,
    )
    out = {}
    for col in ("turnover", "time_in_market"):
        values = folds[col].to_numpy(dtype=float) if col in folds else np.full(len(folds), math.nan)
        ok = np.isfinite(values) & (days > 0)
        out[col] = float(np.average(values[ok], weights=days[ok])) if ok.any() else math.nan
    return out
