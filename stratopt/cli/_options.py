"""The option groups of the commands that score or train a rule: loss options (-> a
:class:`~stratopt.LossSpec`) and training options (-> a :class:`~stratopt.Tuner`).

The choices and defaults below repeat those of the core (a test keeps them equal) because the
core's own lists live in modules that import torch, and ``--help`` must not.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from stratopt.cli._common import parse_assignments

if TYPE_CHECKING:
    from stratopt.loss import LossSpec
    from stratopt.rules import Rule
    from stratopt.training import Tuner

__all__ = [
    "ALLOCATIONS",
    "LOSS_DEFAULTS",
    "OBJECTIVES",
    "OPTIMIZERS",
    "POSITION_MODES",
    "SCHEDULES",
    "SELECTS",
    "TRAINING_DEFAULTS",
    "add_execution_arguments",
    "add_loss_arguments",
    "add_training_arguments",
    "execution_from_args",
    "loss_from_args",
    "parse_early_stopping",
    "parse_temperature",
    "parse_validation",
    "rule_from_args",
    "training_settings",
    "tuner_from_args",
]

OBJECTIVES = ("sharpe", "sortino", "differential_sharpe", "mean_variance")
ALLOCATIONS = ("equal_risk", "equal")
POSITION_MODES = ("long_short", "long_only", "short_only")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
SCHEDULES = ("constant", "cosine", "exponential")
SELECTS = ("hard", "validation", "soft", "last")
DTYPES = ("float64", "float32")

#: LossSpec's defaults, by option dest.
LOSS_DEFAULTS: dict[str, Any] = {
    "objective": "sharpe",
    "cost_bps": 5.0,
    "slippage": 0.0,
    "allocation": "equal_risk",
    "position_mode": "long_short",
    "turnover_penalty": 0.0,
    "l2_penalty": 0.0,
}

#: Tuner's defaults, by option dest, as written on the command line.
TRAINING_DEFAULTS: dict[str, Any] = {
    "rule": "ma-crossover",
    "optimizer": "adam",
    "lr": 0.05,
    "epochs": 100,
    "momentum": 0.9,
    "temperature": "1,0.1",
    "validation": "0",
    "select": "hard",
    "n_starts": 4,
    "screen": 256,
    "seed": None,
    "batch_days": None,
    "batches_per_step": 1,
    "schedule": "constant",
    "clip_grad_norm": None,
    "early_stopping": None,
    "patience": None,
    "tol": 1e-9,
    "dtype": "float64",
    "device": None,
}


# ------------------------------------------------------------------------------- parsers
def parse_temperature(text: str) -> float | tuple[float, float]:
    """``"0.5"`` -> 0.5; ``"1,0.1"`` -> (1.0, 0.1) (annealed from the first to the second)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"{text!r} is not a temperature: give T or START,END, e.g. 1,0.1")
    return values[0] if len(values) == 1 else (values[0], values[1])


def parse_validation(text: str) -> float | tuple[str, str] | None:
    """``"0.2"`` -> 0.2 (last 20% of days); ``"0"`` or ``"none"`` -> None; ``"START,END"`` -> dates."""
    if text.strip().lower() in ("0", "0.0", "none", "off"):
        return None
    if "," in text:
        start, end = (v.strip() for v in text.split(",", 1))
        return start, end
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a validation hold-out: give a fraction (0.2), START,END dates, or 0 for none"
        ) from None


def parse_early_stopping(text: str) -> tuple[int, float]:
    """``"20,1e-4"`` -> (20, 0.0001); ``"20"`` -> (20, 0.0)."""
    patience, _, delta = text.partition(",")
    try:
        return int(patience), float(delta or 0.0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not PATIENCE,MIN_DELTA: give whole epochs and a loss change, e.g. 20,1e-4"
        ) from None


# ------------------------------------------------------------------------------- loss
def add_loss_arguments(parser: argparse.ArgumentParser, *, penalties: bool = True) -> None:
    """``--objective``, ``--cost-bps``, ``--slippage``, ``--allocation``, ``--position-mode``
    (and the training penalties); read back with :func:`loss_from_args`."""
    group = parser.add_argument_group("loss", "what the strategy is scored on, in training and in every report")
    d = LOSS_DEFAULTS
    group.add_argument("--objective", default=d["objective"], choices=OBJECTIVES, help="objective, higher is better")
    group.add_argument(
        "--objective-arg",
        action="append",
        metavar="NAME=VALUE",
        help="keyword of the objective (repeatable), e.g. halflife=252 or risk_aversion=4 (default: none)",
    )
    group.add_argument(
        "--cost-bps", type=float, default=d["cost_bps"], metavar="BPS", help="cost per unit traded, in basis points"
    )
    group.add_argument(
        "--slippage",
        type=float,
        default=d["slippage"],
        metavar="FRACTION",
        help="extra cost per unit traded, as a fraction of the asset's daily volatility",
    )
    group.add_argument(
        "--allocation",
        default=d["allocation"],
        choices=ALLOCATIONS,
        help="capital split: equal_risk (inverse volatility) or equal",
    )
    group.add_argument(
        "--position-mode",
        default=d["position_mode"],
        choices=POSITION_MODES,
        help="long_only: short positions become flat; short_only: long ones do",
    )
    if penalties:
        group.add_argument(
            "--turnover-penalty",
            type=float,
            default=d["turnover_penalty"],
            metavar="W",
            help="training penalty on the mean daily position change",
        )
        group.add_argument(
            "--l2-penalty",
            type=float,
            default=d["l2_penalty"],
            metavar="W",
            help="training penalty on the squared move of the parameters from their start",
        )


def loss_from_args(args: argparse.Namespace) -> LossSpec:
    """The :class:`~stratopt.LossSpec` of the loss options (validated)."""
    from stratopt.loss import LossSpec

    values = {k: getattr(args, k) for k in LOSS_DEFAULTS if hasattr(args, k)}
    kwargs = parse_assignments(args.objective_arg, option="--objective-arg")
    return LossSpec(objective_kwargs=kwargs, **values)


# ------------------------------------------------------------------------------- training
_OPTIMIZER_HELP = (
    "sgd: plain gradient descent; momentum: heavy-ball SGD (see --momentum); adam: adaptive step per "
    "parameter; rmsprop: steps scaled by the recent gradient size"
)


#: Training option dest -> (flag, add_argument keywords other than the default).
_TRAINING_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "rule": ("--rule", {"metavar": "RULE", "help": "rule to train, by its name (an unknown name lists all)"}),
    "optimizer": ("--optimizer", {"choices": OPTIMIZERS, "help": _OPTIMIZER_HELP}),
    "lr": ("--lr", {"type": float, "metavar": "RATE", "help": "learning rate"}),
    "epochs": ("--epochs", {"type": int, "metavar": "N", "help": "maximum optimiser steps"}),
    "momentum": ("--momentum", {"type": float, "metavar": "M", "help": "momentum factor of --optimizer momentum"}),
    "temperature": (
        "--temperature",
        {
            "type": parse_temperature,
            "metavar": "START[,END]",
            "help": "softness of the rule in training: one value, or START,END annealed geometrically",
        },
    ),
    "validation": (
        "--validation",
        {
            "type": parse_validation,
            "metavar": "FRACTION",
            "help": "last days held out to pick the epoch and start: a fraction, START,END dates, or 0 for none",
        },
    ),
    "select": (
        "--select",
        {
            "choices": SELECTS,
            "help": "epoch kept per start, and start reported: the best hard rule on the training days (hard) "
            "or on the validation days (validation), the best soft validation loss (soft), or the last epoch",
        },
    ),
    "n_starts": ("--n-starts", {"type": int, "metavar": "N", "help": "random starts trained together"}),
    "screen": (
        "--screen",
        {
            "type": int,
            "metavar": "N",
            "help": "score N quasi-random parameter sets with the hard rule on the training days first "
            "and start from the best (0: no screen)",
        },
    ),
    "seed": ("--seed", {"type": int, "help": "seed of the random starts and windows (default: none)"}),
    "batch_days": (
        "--batch-days",
        {"type": int, "metavar": "DAYS", "help": "days per random training window (default: full batch)"},
    ),
    "batches_per_step": (
        "--batches-per-step",
        {"type": int, "metavar": "N", "help": "windows averaged per step (with --batch-days)"},
    ),
    "schedule": ("--schedule", {"choices": SCHEDULES, "help": "learning-rate schedule over the epochs"}),
    "clip_grad_norm": (
        "--clip-grad-norm",
        {"type": float, "metavar": "NORM", "help": "clip each start's gradient norm (default: no clipping)"},
    ),
    "early_stopping": (
        "--early-stopping",
        {
            "type": parse_early_stopping,
            "metavar": "PATIENCE,MIN_DELTA",
            "help": "stop when no start improved by MIN_DELTA for PATIENCE epochs (default: off)",
        },
    ),
    "patience": (
        "--patience",
        {
            "type": int,
            "metavar": "EPOCHS",
            "help": "stop when for EPOCHS epochs no start improved what --select reads, e.g. its hard "
            "training loss; 0: train every epoch (default: every epoch)",
        },
    ),
    "tol": ("--tol", {"type": float, "help": "converged when every loss moves less than this for 10 epochs"}),
    "dtype": ("--dtype", {"choices": DTYPES, "help": "float type of the computation"}),
    "device": ("--device", {"help": "torch device, e.g. cuda (default: cpu)"}),
}


def add_training_arguments(
    parser: argparse.ArgumentParser,
    *,
    defaults: dict[str, Any] | None = None,
    exclude: tuple[str, ...] = (),
    helps: dict[str, str] | None = None,
    aliases: dict[str, tuple[str, ...]] | None = None,
) -> None:
    """The training options (all but ``exclude``), with the command's ``defaults`` and
    ``helps`` where they differ from :func:`stratopt.fit`'s, and extra flags in ``aliases``;
    read back with :func:`training_settings` and :func:`tuner_from_args`."""
    group = parser.add_argument_group("training")
    defaults = {**TRAINING_DEFAULTS, **(defaults or {})}
    for dest, (flag, kwargs) in _TRAINING_OPTIONS.items():
        if dest in exclude:
            continue
        kwargs = {**kwargs, "default": defaults[dest], "dest": dest}
        if helps and dest in helps:
            kwargs["help"] = helps[dest]
        group.add_argument(flag, *(aliases or {}).get(dest, ()), **kwargs)


def training_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The Tuner settings among ``args`` (the rule aside)."""
    out = {k: getattr(args, k) for k in TRAINING_DEFAULTS if k != "rule" and hasattr(args, k)}
    if "dtype" in out:
        import torch

        out["dtype"] = getattr(torch, out["dtype"])
    if out.get("patience") == 0:  # 0: train every epoch
        out["patience"] = None
    out["progress"] = False if getattr(args, "quiet", False) else None
    return out


def rule_from_args(args: argparse.Namespace, *, seed: int | None = None) -> Rule:
    """The rule named by ``--rule`` (seed: ``--seed`` unless given)."""
    from stratopt.rules._registry import make_rule

    return make_rule(args.rule, seed=getattr(args, "seed", None) if seed is None else seed)


def tuner_from_args(args: argparse.Namespace, rule: Rule, loss: LossSpec, **changes: Any) -> Tuner:
    """A validated :class:`~stratopt.Tuner` of the training options, with ``changes`` applied."""
    from stratopt.training import Tuner

    return Tuner(rule, loss=loss, **{**training_settings(args), **changes})


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of worker processes: 1 (serial), 2 or more, or -1 (one per core)"
        )
    return value


def add_execution_arguments(parser: argparse.ArgumentParser, *, what: str = "tasks") -> None:
    """``--n-jobs`` and ``--scheduler``: where the command's independent ``what`` run (see
    :func:`stratopt.parallel.executor`); Dask is needed only when either is set."""
    group = parser.add_argument_group("execution")
    group.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=1,
        metavar="INT",
        help=f"worker processes for the {what}: 1 runs them serially in this process, K >= 2 on a local "
        "Dask cluster of K processes, -1 one per core; the results are the same (needs stratopt[dask])",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"run the {what} on a running Dask scheduler instead, e.g. tcp://host:8786 (default: none, run here)",
    )


def execution_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """``n_jobs`` and ``scheduler`` keyword arguments from :func:`add_execution_arguments`' options
    (``{}`` for the serial default; a ConfigError when both are given)."""
    from stratopt.errors import ConfigError

    n_jobs, scheduler = getattr(args, "n_jobs", 1), getattr(args, "scheduler", None)
    if scheduler is not None and n_jobs != 1:
        raise ConfigError(
            f"--n-jobs {n_jobs} and --scheduler {scheduler} both given: --n-jobs starts a local cluster, "
            "--scheduler uses a running one; pass one of them"
        )
    if scheduler is not None:
        return {"scheduler": scheduler}
    return {} if n_jobs == 1 else {"n_jobs": n_jobs}
