"""``stratopt walk-forward``: the main job. Refit through time and report out-of-sample truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stratopt.cli._data import add_source_arguments, load_from_args
from stratopt.cli._fit import add_training_arguments
from stratopt.rules._registry import make_rule

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "walk-forward",
        help="refit a rule on rolling windows and trade it out of sample (the main job)",
        description="Fit the rule on each train window, trade the hard rule on the following test "
        "window, and print the fold table, the stitched out-of-sample performance against "
        "buy-and-hold and the untuned rule, the deflated Sharpe ratio and the probability of "
        "backtest overfitting.",
    )
    add_source_arguments(parser)
    add_training_arguments(parser)
    parser.set_defaults(n_starts=4, epochs=100, seed=0)
    parser.add_argument("--train", default="5Y", help="train window: trading days or 5Y, 18M, ... (default 5Y)")
    parser.add_argument("--test", default="1Y", help="test window (default 1Y)")
    parser.add_argument("--step", default=None, help="distance between folds (default: the test window)")
    parser.add_argument("--anchored", action="store_true", help="expanding train window from the first date")
    parser.add_argument("--purge", type=int, default=0, help="days dropped between train and test")
    parser.add_argument("--embargo", type=int, default=0, help="days after each test kept out of later trains")
    parser.add_argument("--json", metavar="PATH", help="write folds, metrics, baselines, regimes, DSR, PBO as JSON")
    parser.add_argument("--plot", metavar="PATH", help="save the walk-forward figure (PNG)")
    parser.set_defaults(func=run)


def _size(text: str | None) -> int | str | None:
    if text is None:
        return None
    return int(text) if text.strip().isdigit() else text


def run(args: argparse.Namespace) -> int:
    from stratopt.model_selection import WalkForward, walk_forward

    prices = load_from_args(args)
    splitter = WalkForward(
        _size(args.train),
        _size(args.test),
        step=_size(args.step),
        anchored=args.anchored,
        purge=args.purge,
        embargo=args.embargo,
        reduce_test=True,
    )
    fit_kwargs = {"optimizer": args.optimizer, "lr": args.lr, "epochs": args.epochs, "batch_days": args.batch_days}
    result = walk_forward(
        make_rule(args.rule, seed=args.seed),
        prices,
        splitter,
        fit_kwargs=fit_kwargs,
        n_starts=args.n_starts,
        seed=args.seed,
        cost_bps=args.cost_bps,
    )
    print(result.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2))
    if args.plot:
        result.plot().savefig(args.plot, dpi=110)
    return 0
