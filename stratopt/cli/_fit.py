"""``stratopt fit``: train a rule on prices and report soft and hard Sharpe ratios."""

from __future__ import annotations

import argparse
from typing import Any

from stratopt.cli._common import add_command, add_output_arguments, finish, load_data
from stratopt.cli._data import add_source_arguments
from stratopt.cli._options import (
    add_loss_arguments,
    add_training_arguments,
    loss_from_args,
    rule_from_args,
    tuner_from_args,
)

__all__ = ["FIT_DEFAULTS", "register", "run"]

#: The command holds out the last 20% of days to report how the fitted rule does on days it
#: did not train on (they do not choose the parameters unless --select validation).
FIT_DEFAULTS: dict[str, Any] = {"validation": "0.2"}


def register(subparsers: Any) -> None:
    """Add the ``fit`` subcommand."""
    parser = add_command(
        subparsers,
        "fit",
        help="train a rule's parameters by gradient descent",
        description="Train a rule on the prices and print its parameters with soft and hard "
        "Sharpe ratios on train and validation days.",
    )
    add_source_arguments(parser)
    add_loss_arguments(parser)
    add_training_arguments(parser, defaults=FIT_DEFAULTS)
    add_output_arguments(
        parser,
        json_help="write params, status, metrics, loss and settings as JSON",
        plot_help="save the training history figure",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    tuner = tuner_from_args(args, rule_from_args(args), loss_from_args(args))
    return finish(args, tuner.fit(load_data(args)))
