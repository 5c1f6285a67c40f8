"""``stratopt credit``: which parameters, days and trades drive the gradient of the Sharpe ratio."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stratopt.cli._data import add_source_arguments, load_from_args
from stratopt.errors import ConfigError
from stratopt.objectives import OBJECTIVES
from stratopt.rules._registry import RULES, make_rule

__all__ = ["parse_assignments", "register", "run"]


def parse_assignments(items: list[str] | None) -> dict[str, float]:
    """``["fast=30", "slow=120"]`` -> ``{"fast": 30.0, "slow": 120.0}``."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--param {item!r} must look like NAME=VALUE, e.g. --param fast=30") from None
    return out


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "credit",
        help="attribute the Sharpe gradient to parameters, days and trades",
        description="Compute each parameter's gradient of the soft Sharpe ratio and its sensitivity "
        "(change of the Sharpe for +1%% of the value), split exactly into contributions of each "
        "day and asset, and print the parameter table and the days that push each parameter most. "
        "Days are labelled with the date the position is decided; it earns the next day's return.",
    )
    add_source_arguments(parser)
    parser.add_argument("--rule", default="ma-crossover", choices=sorted(RULES), help="rule to explain")
    parser.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="set a parameter in natural units before explaining (repeatable), e.g. fast=30",
    )
    parser.add_argument(
        "--fit-epochs",
        type=int,
        default=0,
        metavar="N",
        help="train the rule for N epochs first (adam, defaults of 'stratopt fit'); 0 explains it as set",
    )
    parser.add_argument("--objective", default="sharpe", choices=sorted(OBJECTIVES), help="objective to attribute")
    parser.add_argument("--temperature", type=float, default=0.1, help="softness of the rule, > 0 (default 0.1)")
    parser.add_argument("--cost-bps", type=float, default=5.0, help="trading cost in basis points (default 5)")
    parser.add_argument("--top", type=int, default=10, help="days and trades listed per parameter (default 10)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the neural policy's weights and of the fit")
    parser.add_argument("--json", metavar="PATH", help="write the parameter table, top days and trades as JSON")
    parser.add_argument("--plot", metavar="PATH", help="save the credit figure (PNG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stratopt.analysis import credit_assignment

    prices = load_from_args(args)
    rule = make_rule(args.rule, seed=args.seed)
    values = parse_assignments(args.param)
    if values:
        rule.set_params(values)
    if args.fit_epochs < 0:
        raise ConfigError(f"--fit-epochs {args.fit_epochs} must be >= 0")
    if args.fit_epochs:
        from stratopt.training import fit

        result = fit(rule, prices, epochs=args.fit_epochs, cost_bps=args.cost_bps, seed=args.seed)
        trained = ", ".join(f"{k}={v:.4g}" for k, v in result.params.items())
        print(f"trained for {len(result.history)} epochs ({result.status})" + (f": {trained}" if trained else ""))
        rule = result.rule
    credit = credit_assignment(
        rule, prices, objective=args.objective, temperature=args.temperature, cost_bps=args.cost_bps, top=args.top
    )
    print(credit.summary(rows=args.top))
    if args.json:
        Path(args.json).write_text(json.dumps(credit.to_dict(), indent=2))
    if args.plot:
        credit.plot().savefig(args.plot, dpi=110)
    return 0
