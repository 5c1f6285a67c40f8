"""``stratopt landscape``: a rule's loss over two parameters, optionally with a fit's path on it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stratopt.cli._data import add_source_arguments, load_from_args
from stratopt.cli._fit import add_training_arguments
from stratopt.rules._registry import make_rule

__all__ = ["register", "run"]

#: One stock keeps the default landscape quick and its surface easy to read.
DEFAULT_TICKER = "AAPL"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "landscape",
        help="soft and hard loss over a grid of two parameters, with critical points",
        description="Evaluate the rule's loss over a grid of two parameters (the others held at "
        "their defaults) in batched passes, report local minima, saddles and plateaus and the "
        f"grid's best point, on the bundled data ({DEFAULT_TICKER} unless --tickers or a SOURCE "
        "is given). --trajectory also fits the rule from its default start and compares where "
        "gradient descent ended with the grid's best point.",
    )
    add_source_arguments(parser)
    add_training_arguments(parser)
    parser.set_defaults(epochs=100)
    parser.add_argument("--x", default="fast", help="parameter on the x axis (default fast)")
    parser.add_argument("--y", default="slow", help="parameter on the y axis (default slow)")
    parser.add_argument("--grid", type=int, default=60, help="points per axis (default 60)")
    parser.add_argument(
        "--spacing",
        default="auto",
        choices=["auto", "linear", "log"],
        help="grid spacing (default auto: log for windows in days)",
    )
    parser.add_argument("--temperature", type=float, default=0.1, help="temperature of the soft surface (default 0.1)")
    parser.add_argument("--surface", default="soft", choices=["soft", "hard"], help="surface to plot (default soft)")
    parser.add_argument(
        "--trajectory", action="store_true", help="fit the rule (no validation hold-out) and overlay its path"
    )
    parser.add_argument("--plot", metavar="PATH", help="save the surface and contour figure (PNG)")
    parser.add_argument("--json", metavar="PATH", help="write grids, surfaces, critical points as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stratopt.analysis import loss_landscape
    from stratopt.training import fit

    if not args.source and args.tickers is None:
        args.tickers = DEFAULT_TICKER
    prices = load_from_args(args)
    rule = make_rule(args.rule, seed=args.seed)
    land = loss_landscape(
        rule,
        prices,
        args.x,
        args.y,
        grid=args.grid,
        spacing=args.spacing,
        temperature=args.temperature,
        cost_bps=args.cost_bps,
    )
    result = None
    if args.trajectory:
        # the fit sees the landscape's days and ends its annealing at the landscape's temperature
        result = fit(
            rule,
            prices,
            validation=None,
            temperature=(max(1.0, args.temperature), args.temperature),
            optimizer=args.optimizer,
            lr=args.lr,
            epochs=args.epochs,
            n_starts=args.n_starts,
            batch_days=args.batch_days,
            cost_bps=args.cost_bps,
            seed=args.seed,
        )
    print(land.summary(result))
    if args.json:
        record = land.to_dict()
        if result is not None:
            compare = land.compare(result)
            record["compare"] = json.loads(compare.reset_index().to_json(orient="records"))
            record["fit"] = result.to_dict()
        Path(args.json).write_text(json.dumps(record, indent=2))
    if args.plot:
        land.plot(result, surface=args.surface).savefig(args.plot, dpi=110)
    return 0
