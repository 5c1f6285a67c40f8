"""``stratopt compare-lr``: the same fit at several learning rates, with a verdict per rate."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from stratopt.cli._data import add_source_arguments, load_from_args
from stratopt.errors import ConfigError
from stratopt.rules._registry import RULES, make_rule

__all__ = ["DEFAULT_LRS", "DEFAULT_TICKER", "parse_floats", "register", "run"]

#: The bundled data are 20 stocks; one keeps the comparison quick.
DEFAULT_TICKER = "AAPL"
DEFAULT_LRS = "1e-4,1e-3,1e-2,1e-1,1"


def parse_floats(text: str, *, option: str) -> list[float]:
    """``"1e-3,0.1"`` -> ``[0.001, 0.1]``; a bad item raises a ConfigError naming it."""
    out = []
    for item in text.split(","):
        try:
            out.append(float(item))
        except ValueError:
            raise ConfigError(
                f"{option} item {item.strip()!r} is not a number; give a comma-separated list like 1e-3,1e-2,0.1"
            ) from None
    return out


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "compare-lr",
        help="compare learning rates: verdict, speed and final Sharpe per rate",
        description="Train the same rule from the same start at each learning rate and print, per "
        "rate, a verdict (good, too_slow, oscillating, diverged), the steps to 95% of the way to the best loss "
        f"of all runs and the final soft and hard Sharpe ratios on train and validation days. "
        f"Uses the bundled data ({DEFAULT_TICKER} unless --tickers or a SOURCE is given).",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--lrs", default=DEFAULT_LRS, metavar="LIST", help=f"comma-separated learning rates (default {DEFAULT_LRS})"
    )
    parser.add_argument(
        "--optimizer", default="sgd", choices=["sgd", "momentum", "adam", "rmsprop"], help="optimiser (default sgd)"
    )
    parser.add_argument("--epochs", type=int, default=300, help="optimiser steps per run (default 300)")
    parser.add_argument("--rule", default="ma-crossover", choices=sorted(RULES), help="rule to train")
    parser.add_argument(
        "--seeds",
        default="0",
        metavar="LIST",
        help="comma-separated seeds, one run each per rate (matter with --batch-days)",
    )
    parser.add_argument("--batch-days", type=int, default=None, help="days per SGD window (default: full batch)")
    parser.add_argument("--temperature", type=float, default=0.5, help="fixed softness of the rule (default 0.5)")
    parser.add_argument("--validation", type=float, default=0.2, help="fraction of last days held out (default 0.2)")
    parser.add_argument("--cost-bps", type=float, default=5.0, help="trading cost in basis points (default 5)")
    parser.add_argument(
        "--range-test",
        action="store_true",
        help="also run Smith's learning-rate range test (from min(lrs)/10 to max(lrs)*10) and print its suggested rate",
    )
    parser.add_argument("--plot", metavar="PATH", help="save the comparison figure (PNG)")
    parser.add_argument("--range-plot", metavar="PATH", help="save the range-test figure (implies --range-test)")
    parser.add_argument("--json", metavar="PATH", help="write the runs table, thresholds and config as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stratopt.analysis import compare_learning_rates, lr_range_test

    if not args.source and args.tickers is None:
        args.tickers = DEFAULT_TICKER
    lrs = parse_floats(args.lrs, option="--lrs")
    seeds = []
    for s in parse_floats(args.seeds, option="--seeds"):
        if not s.is_integer():
            raise ConfigError(f"--seeds item {s!r} is not an integer")
        seeds.append(int(s))
    prices = load_from_args(args)
    rule = make_rule(args.rule, seed=seeds[0])
    common: dict[str, Any] = {"optimizer": args.optimizer, "cost_bps": args.cost_bps, "progress": False}
    result = compare_learning_rates(
        rule,
        prices,
        lrs,
        epochs=args.epochs,
        seeds=seeds,
        batch_days=args.batch_days,
        temperature=args.temperature,
        validation=args.validation or None,
        **common,
    )
    print(result.summary())
    record = result.to_dict()
    if args.range_test or args.range_plot:
        test = lr_range_test(
            rule, prices, lr_min=min(lrs) / 10, lr_max=max(lrs) * 10, temperature=args.temperature, **common
        )
        print(test.summary())
        record["range_test"] = {k: v for k, v in test.to_dict().items() if k != "table"}
        if args.range_plot:
            test.plot().savefig(args.range_plot, dpi=110)
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2))
    if args.plot:
        result.plot().savefig(args.plot, dpi=110)
    return 0
