"""``stratopt credit``: which parameters, days and trades drive the gradient of the objective."""

from __future__ import annotations

import argparse
from typing import Any

from stratopt.cli._common import Report, add_command, add_output_arguments, finish, load_data, parse_assignments
from stratopt.cli._data import add_source_arguments
from stratopt.cli._options import (
    add_loss_arguments,
    add_training_arguments,
    loss_from_args,
    rule_from_args,
    tuner_from_args,
)
from stratopt.errors import ConfigError

__all__ = ["parse_assignments", "register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``credit`` subcommand."""
    parser = add_command(
        subparsers,
        "credit",
        help="attribute the objective's gradient to parameters, days and trades",
        description="Compute each parameter's gradient of the soft objective (the Sharpe ratio by "
        "default) and its sensitivity (change of the objective for +1% of the value), split exactly "
        "into contributions of each day and asset, and print the parameter table and the days that "
        "push each parameter most. Days are labelled with the date the position is decided; it earns "
        "the next day's return. With --epochs N the rule is trained first.",
    )
    add_source_arguments(parser)
    group = parser.add_argument_group("credit")
    group.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="set a parameter in natural units before explaining (repeatable), e.g. fast=30 (default: the rule's)",
    )
    group.add_argument(
        "--temperature",
        type=float,
        default=0.1,
        metavar="T",
        help="softness of the explained rule, > 0; a fit anneals from max(1, T) down to T",
    )
    group.add_argument("--top", type=int, default=10, metavar="N", help="days and trades listed per parameter")
    add_loss_arguments(parser)
    add_training_arguments(
        parser,
        defaults={"epochs": 0},
        exclude=("temperature",),
        aliases={"epochs": ("--fit-epochs",)},
        helps={
            "rule": "rule to explain, by its name (an unknown name lists all)",
            "epochs": "train the rule for N epochs first (0: explain it as set)",
            "seed": "seed of a neural policy's weights and of the fit (default: none)",
        },
    )
    add_output_arguments(
        parser,
        json_help="write the parameter table, top days and trades (and the fit) as JSON",
        plot_help="save the credit figure",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stratopt.analysis import credit_assignment

    if args.epochs < 0:
        raise ConfigError(f"--epochs {args.epochs} must be >= 0")
    rule = rule_from_args(args)
    values = parse_assignments(args.param, option="--param")
    if values:
        rule.set_params(values)
    loss = loss_from_args(args)
    tuner = None
    if args.epochs:
        tuner = tuner_from_args(args, rule, loss, temperature=(max(1.0, args.temperature), args.temperature))
    prices = load_data(args)
    fitted = tuner.fit(prices) if tuner is not None else None
    credit = credit_assignment(
        fitted.rule if fitted else rule,
        prices,
        loss=loss,
        temperature=args.temperature,
        top=args.top,
        progress=False if args.quiet else None,
    )
    text = credit.summary(rows=args.top)
    if fitted is not None:
        trained = ", ".join(f"{k}={v:.4g}" for k, v in fitted.params.items())
        text = f"trained for {len(fitted.history)} epochs ({fitted.status})" + (f": {trained}" if trained else "")
        text += "\n\n" + credit.summary(rows=args.top)
    record = (lambda: {**credit.to_dict(), "fit": fitted.to_dict()}) if fitted else credit.to_dict
    return finish(args, Report(text=text, record=record, figure=credit.plot))
