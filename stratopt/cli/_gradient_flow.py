"""``stratopt gradient-flow``: per-layer gradient norms of MLP policies by depth and activation."""

from __future__ import annotations

import argparse
from typing import Any

from stratopt.cli._common import add_command, add_output_arguments, finish, load_data
from stratopt.cli._data import add_source_arguments
from stratopt.cli._options import add_loss_arguments, loss_from_args
from stratopt.errors import ConfigError

__all__ = ["parse_depths", "register", "run"]

_ACTIVATIONS = ("sigmoid", "tanh", "relu")


def parse_depths(text: str) -> list[int]:
    """``"2-10"`` -> ``[2, ..., 10]``; ``"2,4,8"`` -> ``[2, 4, 8]``."""
    try:
        if "-" in text:
            lo, hi = (int(v) for v in text.split("-", 1))
            depths = list(range(lo, hi + 1))
        else:
            depths = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--depths {text!r} must be a range like 2-10 or a list like 2,4,8") from None
    if not depths or min(depths) < 1:
        raise ConfigError(f"--depths {text!r} must name depths >= 1, e.g. 2-10")
    return depths


def register(subparsers: Any) -> None:
    """Add the ``gradient-flow`` subcommand."""
    parser = add_command(
        subparsers,
        "gradient-flow",
        help="show vanishing gradients: per-layer gradient norms of MLP policies",
        description="Build freshly initialised MLP policies of several depths and activations on the "
        "prices' lagged-return features and print the first layer's gradient norm of the soft "
        "objective for each. About a minute on all 20 bundled stocks; --start 2015 is faster.",
    )
    add_source_arguments(parser)
    group = parser.add_argument_group("policies")
    group.add_argument("--depths", default="2-10", help="layer counts, a range or a list")
    group.add_argument(
        "--activations", default=",".join(_ACTIVATIONS), help="comma-separated, from sigmoid, tanh, relu"
    )
    group.add_argument("--width", type=int, default=32, help="hidden width")
    group.add_argument("--temperature", type=float, default=1.0, metavar="T", help="softness of the policies, > 0")
    group.add_argument("--seed", type=int, default=0, help="seed of the weights")
    add_loss_arguments(parser, penalties=False)
    add_output_arguments(
        parser, json_help="write the tidy table as JSON", plot_help="save the gradient norm by layer figure"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stratopt.analysis import gradient_flow_sweep

    activations = [a.strip() for a in args.activations.split(",") if a.strip()]
    unknown = sorted(set(activations) - set(_ACTIVATIONS))
    if unknown or not activations:
        raise ConfigError(f"--activations {args.activations!r}: use a comma-separated subset of {list(_ACTIVATIONS)}")
    if args.width < 1:
        raise ConfigError(f"--width {args.width} must be a positive integer, e.g. 32")
    depths = parse_depths(args.depths)
    loss = loss_from_args(args)
    sweep = gradient_flow_sweep(
        load_data(args),
        depths=depths,
        activations=activations,
        width=args.width,
        seed=args.seed,
        temperature=args.temperature,
        loss=loss,
        progress=False if args.quiet else None,
    )
    return finish(args, sweep)
