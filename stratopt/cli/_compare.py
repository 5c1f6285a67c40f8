"""``stratopt compare``: several rules, each refitted by walk-forward on the same folds, side by side."""

from __future__ import annotations

import argparse
from typing import Any

from stratopt.cli._common import add_command, add_output_arguments, finish, load_data
from stratopt.cli._data import add_source_arguments
from stratopt.cli._options import (
    add_execution_arguments,
    add_loss_arguments,
    add_training_arguments,
    execution_from_args,
    loss_from_args,
    training_settings,
)
from stratopt.cli._walk_forward import (
    WALK_FORWARD_DEFAULTS,
    WALK_FORWARD_HELPS,
    add_split_arguments,
    splitter_from_args,
)
from stratopt.errors import ConfigError

__all__ = ["DEFAULT_RULES", "register", "run"]

#: The rules compared when --rules is not given: the three classic rules.
DEFAULT_RULES = "ma-crossover,momentum,mean-reversion"


def register(subparsers: Any) -> None:
    """Add the ``compare`` subcommand."""
    parser = add_command(
        subparsers,
        "compare",
        help="walk-forward several rules on the same folds and compare them out of sample",
        description="Refit each rule on every train window and trade it on the next test window, as "
        "'stratopt walk-forward' does, on the same data and the same folds for every rule; print one "
        "table (out-of-sample Sharpe ratio, PSR, DSR deflated for the number of rules compared, annual "
        "return, max drawdown, turnover, time in market, Sharpe ratio against buy-and-hold) and save one "
        "figure of the stitched out-of-sample equity curves.",
    )
    add_source_arguments(parser)
    group = parser.add_argument_group("rules")
    group.add_argument(
        "--rules",
        default=DEFAULT_RULES,
        metavar="LIST",
        help="comma-separated rule names, at least two; a unique part of a name works (crossover, rsi)",
    )
    add_split_arguments(parser, n_trials=False)
    add_loss_arguments(parser)
    parser.set_defaults(position_mode="long_only")  # as walk-forward, the main job
    add_training_arguments(
        parser,
        defaults=WALK_FORWARD_DEFAULTS,
        exclude=("rule",),
        helps=WALK_FORWARD_HELPS,
    )
    add_execution_arguments(parser, what="rules (one task per rule)")
    add_output_arguments(
        parser,
        json_help="write the comparison table and every rule's walk-forward as JSON",
        plot_help="save the out-of-sample equity curves",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stratopt.model_selection._compare import compare_rules

    names = [n.strip() for n in args.rules.split(",") if n.strip()]
    if len(names) < 2:
        raise ConfigError(
            f"--rules {args.rules!r} names {len(names)} rule(s); compare at least two, e.g. crossover,rsi"
        )
    settings = {**training_settings(args), "loss": loss_from_args(args)}
    settings.pop("progress")
    result = compare_rules(
        names,
        load_data(args),
        splitter_from_args(args),
        settings=settings,
        progress=False if args.quiet else None,
        warm_start=args.warm_start,
        ensemble=args.ensemble,
        drift_penalty=args.drift_penalty,
        prior_penalty=args.prior_penalty,
        patience=settings["patience"],  # --patience 0: every epoch, not walk_forward's own default
        **execution_from_args(args),
    )
    return finish(args, result)
