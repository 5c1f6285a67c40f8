"""``stratopt landscape``: a rule's loss over two parameters, optionally with a fit's path on it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from stratopt.cli._common import Report, add_command, add_output_arguments, finish, load_data
from stratopt.cli._data import add_source_arguments
from stratopt.cli._options import (
    add_execution_arguments,
    add_loss_arguments,
    add_training_arguments,
    execution_from_args,
    loss_from_args,
    rule_from_args,
    tuner_from_args,
)

if TYPE_CHECKING:
    pass

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``landscape`` subcommand."""
    parser = add_command(
        subparsers,
        "landscape",
        help="soft and hard loss over a grid of two parameters, with critical points",
        description="Evaluate the rule's loss over a grid of two parameters (the others held at "
        "their defaults) in batched passes, report local minima, saddles and plateaus and the "
        "grid's best point. --trajectory also fits the rule from its default start (the training "
        "options apply to that fit) and compares where gradient descent ended with the grid's best point. "
        "A minute or two on all 20 bundled stocks; --tickers AAPL or a smaller --grid takes seconds.",
    )
    add_source_arguments(parser)
    group = parser.add_argument_group("grid")
    group.add_argument(
        "--x",
        metavar="PARAM",
        help="parameter on the x axis; a wrong name lists the rule's (default: the rule's first, e.g. fast for "
        "ma-crossover, period for rsi)",
    )
    group.add_argument(
        "--y",
        metavar="PARAM",
        help="parameter on the y axis (default: the rule's second, e.g. ratio for ma-crossover, overbought for rsi)",
    )
    group.add_argument("--grid", type=int, default=30, metavar="N", help="points per axis")
    group.add_argument(
        "--spacing",
        default="auto",
        choices=["auto", "linear", "log"],
        help="grid spacing; auto: log for windows in days",
    )
    group.add_argument(
        "--temperature",
        type=float,
        default=0.1,
        metavar="T",
        help="temperature of the soft surface; --trajectory anneals its fit from max(1, T) down to T",
    )
    group.add_argument("--surface", default="soft", choices=["soft", "hard"], help="surface to plot")
    group.add_argument(
        "--trajectory",
        action="store_true",
        help="fit the rule on all days (no validation hold-out) and overlay its path",
    )
    add_loss_arguments(parser)
    add_training_arguments(parser, defaults={"epochs": 100}, exclude=("temperature", "validation"))
    add_execution_arguments(parser, what="grid blocks")
    add_output_arguments(
        parser,
        json_help="write grids, surfaces, critical points (and the fit) as JSON",
        plot_help="save the surface and contour figure",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stratopt.analysis import loss_landscape

    rule = rule_from_args(args)
    loss = loss_from_args(args)
    tuner = None
    if args.trajectory:
        # the fit sees the landscape's days and ends its annealing at the landscape's temperature
        t = args.temperature
        tuner = tuner_from_args(args, rule, loss, validation=None, temperature=(max(1.0, t), t))
    prices = load_data(args)
    progress = False if args.quiet else None
    land = loss_landscape(
        rule,
        prices,
        args.x,
        args.y,
        grid=args.grid,
        spacing=args.spacing,
        temperature=args.temperature,
        loss=loss,
        progress=progress,
        **execution_from_args(args),
    )
    fitted = tuner.fit(prices) if tuner is not None else None

    def record() -> dict[str, Any]:
        out = land.to_dict()
        if fitted is not None:
            out["compare"] = land.compare(fitted)  # a table: one record per row
            out["fit"] = fitted.to_dict()
        return out

    report = Report(
        text=land.summary(fitted), record=record, figure=lambda: land.plot(trajectory=fitted, surface=args.surface)
    )
    return finish(args, report)
