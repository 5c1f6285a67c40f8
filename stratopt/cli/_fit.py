"""``stratopt fit``: train a rule on prices and report soft and hard Sharpe ratios."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from stratopt.cli._data import add_source_arguments, load_from_args
from stratopt.rules._registry import RULES, make_rule

__all__ = ["add_training_arguments", "register", "training_kwargs"]


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that fits a rule."""
    parser.add_argument("--rule", default="ma-crossover", choices=sorted(RULES), help="rule to train")
    parser.add_argument("--optimizer", default="adam", choices=["sgd", "momentum", "adam", "rmsprop"])
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate (default 0.05)")
    parser.add_argument("--epochs", type=int, default=200, help="maximum optimiser steps (default 200)")
    parser.add_argument("--n-starts", type=int, default=1, help="random starts trained together")
    parser.add_argument("--batch-days", type=int, default=None, help="days per SGD window (default: full batch)")
    parser.add_argument("--cost-bps", type=float, default=5.0, help="trading cost in basis points (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")


def training_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "optimizer": args.optimizer,
        "lr": args.lr,
        "epochs": args.epochs,
        "n_starts": args.n_starts,
        "batch_days": args.batch_days,
        "cost_bps": args.cost_bps,
        "seed": args.seed,
    }


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "fit",
        help="train a rule's parameters by gradient descent",
        description="Train a rule on the prices (bundled sp500 by default) and print its "
        "parameters with soft and hard Sharpe ratios on train and validation days.",
    )
    add_source_arguments(parser)
    add_training_arguments(parser)
    parser.add_argument("--validation", type=float, default=0.2, help="fraction of last days held out (default 0.2)")
    parser.add_argument("--json", metavar="PATH", help="write params, status and metrics as JSON")
    parser.add_argument("--plot", metavar="PATH", help="save the training history figure (PNG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stratopt.training import fit

    prices = load_from_args(args)
    result = fit(
        make_rule(args.rule, seed=args.seed), prices, validation=args.validation or None, **training_kwargs(args)
    )
    print(result.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2))
    if args.plot:
        result.plot().savefig(args.plot, dpi=120)
    return 0
