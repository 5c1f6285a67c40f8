"""``stratopt compare-lr``: the same fit at several learning rates, with a verdict per rate."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, cast

from stratopt.cli._common import (
    Report,
    add_command,
    add_output_arguments,
    finish,
    load_data,
    parse_floats,
    save_figure,
)
from stratopt.cli._data import add_source_arguments
from stratopt.cli._options import (
    OPTIMIZERS,
    add_execution_arguments,
    add_loss_arguments,
    add_training_arguments,
    execution_from_args,
    loss_from_args,
    training_settings,
)
from stratopt.errors import ConfigError

if TYPE_CHECKING:
    from stratopt.training._optim import OptimizerName

__all__ = ["DEFAULT_LRS", "parse_floats", "register", "run"]

DEFAULT_LRS = "1e-4,1e-3,1e-2,1e-1,1"
#: Where the comparison's training differs from ``stratopt fit`` (compare_learning_rates' defaults).
COMPARE_DEFAULTS: dict[str, Any] = {"optimizer": "sgd", "epochs": 300, "temperature": "0.5", "select": "last"}
#: Fit settings the range test sets itself or that would cut it short.
_NOT_FOR_RANGE_TEST = ("epochs", "schedule", "select", "tol", "validation", "early_stopping")


def register(subparsers: Any) -> None:
    """Add the ``compare-lr`` subcommand."""
    parser = add_command(
        subparsers,
        "compare-lr",
        help="compare learning rates: verdict, speed and final Sharpe per rate",
        description="Train the same rule from the same start at each learning rate and print, per "
        "rate, a verdict (good, too_slow, oscillating, diverged), the steps to 95% of the way to the "
        "best loss of all runs and the final soft and hard Sharpe ratios on train and validation days. "
        "--optimizers compares several optimisers in the same table and figure.",
    )
    add_source_arguments(parser)
    group = parser.add_argument_group("learning rates")
    group.add_argument("--lrs", default=DEFAULT_LRS, metavar="LIST", help="comma-separated learning rates")
    group.add_argument(
        "--optimizers",
        metavar="LIST",
        help="comma-separated optimisers to compare at every rate, e.g. sgd,momentum,adam (default: --optimizer alone)",
    )
    group.add_argument(
        "--seeds",
        default="0",
        metavar="LIST",
        help="comma-separated seeds, one run each per rate (matter with --batch-days)",
    )
    group.add_argument(
        "--range-test",
        action="store_true",
        help="also run Smith's learning-rate range test (from min(lrs)/10 to max(lrs)*10) and print its suggested rate",
    )
    add_loss_arguments(parser)
    add_training_arguments(
        parser,
        defaults=COMPARE_DEFAULTS,
        exclude=("lr", "n_starts", "seed", "tol", "screen"),
        helps={
            "temperature": "softness of the rule: fixed by default; START,END anneals (which moves the loss by itself)"
        },
    )
    add_execution_arguments(parser, what="fits (one task per optimiser and seed)")
    add_output_arguments(
        parser,
        json_help="write the runs table, thresholds, settings (and the range test) as JSON",
        plot_help="save the comparison figure",
        plots={"--range-plot": "save the range-test figure (implies --range-test)"},
    )
    parser.set_defaults(func=run)


def _seeds(text: str) -> list[int]:
    seeds = []
    for s in parse_floats(text, option="--seeds"):
        if not s.is_integer():
            raise ConfigError(f"--seeds item {s!r} is not an integer")
        seeds.append(int(s))
    return seeds


def _optimizers(text: str | None) -> list[OptimizerName] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown or not names:
        raise ConfigError(f"--optimizers {text!r}: use a comma-separated subset of {list(OPTIMIZERS)}")
    return cast("list[OptimizerName]", names)


def run(args: argparse.Namespace) -> int:
    from stratopt.analysis import compare_learning_rates, lr_range_test
    from stratopt.rules._registry import make_rule

    lrs = parse_floats(args.lrs, option="--lrs")
    seeds = _seeds(args.seeds)
    rule = make_rule(args.rule, seed=seeds[0])
    settings = {"loss": loss_from_args(args), **training_settings(args)}
    optimizers = _optimizers(args.optimizers)
    if optimizers:
        settings.pop("optimizer")
    prices = load_data(args)
    result = compare_learning_rates(
        rule, prices, lrs, seeds=seeds, optimizers=optimizers, **settings, **execution_from_args(args)
    )
    if not (args.range_test or args.range_plot):
        return finish(args, result)
    range_settings = {k: v for k, v in settings.items() if k not in _NOT_FOR_RANGE_TEST}
    if optimizers:  # the range test runs one optimiser: the first compared
        range_settings["optimizer"] = optimizers[0]
    test = lr_range_test(rule, prices, lr_min=min(lrs) / 10, lr_max=max(lrs) * 10, **range_settings)
    if args.range_plot:
        save_figure(test.plot(), args.range_plot)
    report = Report(
        text=f"{result.summary()}\n\n{test.summary()}",
        record=lambda: {
            **result.to_dict(),
            "range_test": {k: v for k, v in test.to_dict().items() if k != "table"},
        },
        figure=result.plot,
    )
    return finish(args, report)
