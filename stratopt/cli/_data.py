"""``stratopt data``: load prices from any source and print a summary table.

Also home of the SOURCE arguments that every subcommand reading prices shares
(:func:`add_source_arguments` and :func:`load_from_args`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from stratopt.cli._common import add_command

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_MAX_GAP",
    "DEFAULT_SOURCE",
    "ON_JUMP",
    "add_source_arguments",
    "describe",
    "load_from_args",
    "register",
]

#: The data every command reads when no SOURCE is given.
DEFAULT_SOURCE = "sp500"
#: The same values as ``stratopt.data.DEFAULT_MAX_GAP`` and the ``on_jump`` choices of
#: ``load_prices`` (a test keeps them equal); repeated here so that building the parser does not
#: import the data package and pandas.
DEFAULT_MAX_GAP = 5
ON_JUMP = ("warn", "raise", "ignore")


def add_source_arguments(parser: argparse.ArgumentParser, *, default_tickers: str | None = None) -> None:
    """Add ``SOURCE...``, ``--tickers``, ``--start``, ``--end`` and friends to ``parser``.

    ``default_tickers`` are the tickers kept when neither a SOURCE nor ``--tickers`` is given
    (None: all of the bundled sp500). Read the prices back with :func:`load_from_args`.
    """
    default = f"{DEFAULT_SOURCE}, {default_tickers} only" if default_tickers else f"{DEFAULT_SOURCE}, all its stocks"
    parser.add_argument(
        "source",
        nargs="*",
        metavar="SOURCE",
        help="bundled dataset (sp500, sp500-index), 'yfinance', a CSV file, a folder of CSV files, "
        f"or several files (default: {default})",
    )
    group = parser.add_argument_group("data")
    group.add_argument(
        "--tickers",
        metavar="LIST",
        help="tickers to keep, comma-separated (required for yfinance), e.g. AAPL,MSFT "
        f"(default: {default_tickers + ' with the bundled data, else all' if default_tickers else 'all'})",
    )
    group.add_argument(
        "--exclude",
        metavar="LIST",
        help="tickers to drop, comma-separated, e.g. those not yet listed at --start (default: none)",
    )
    group.add_argument("--start", metavar="DATE", help="first date, e.g. 2010-01-01 (default: the first)")
    group.add_argument("--end", metavar="DATE", help="last date, inclusive (default: the last)")
    group.add_argument(
        "--max-gap",
        type=int,
        default=DEFAULT_MAX_GAP,
        metavar="DAYS",
        help="longest run of missing prices to forward-fill",
    )
    group.add_argument(
        "--date-format",
        metavar="FMT",
        help="CSV files: the strftime pattern of the dates, e.g. %%d/%%m/%%Y "
        "(default: inferred; ambiguous day/month orders are refused)",
    )
    group.add_argument(
        "--on-jump",
        default=ON_JUMP[0],
        choices=ON_JUMP,
        help="a price jump that looks like a data fault (spike, unadjusted split): warn, refuse the data, or ignore it",
    )
    group.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="yfinance cache folder (default: $STRATOPT_DATA, else the user cache folder)",
    )
    group.add_argument(
        "--refresh",
        action="store_true",
        help="yfinance: download even when a fresh cached copy exists",
    )
    parser.set_defaults(default_tickers=default_tickers)


def load_from_args(args: argparse.Namespace) -> pd.DataFrame:
    """Load the prices named by the arguments of :func:`add_source_arguments`."""
    import datetime as dt

    from stratopt.data import load_prices

    sources: list[str] = list(args.source) or [DEFAULT_SOURCE]
    source: Any = sources[0] if len(sources) == 1 else sources
    tickers = args.tickers
    if tickers is None and not args.source:
        tickers = getattr(args, "default_tickers", None)
    extra: dict[str, Any] = {}
    if args.refresh:
        extra["max_age"] = dt.timedelta(0)
    return load_prices(
        source,
        tickers=tickers,
        exclude=getattr(args, "exclude", None),
        start=args.start,
        end=args.end,
        max_gap=args.max_gap,
        on_jump=args.on_jump,
        date_format=getattr(args, "date_format", None),
        cache_dir=args.cache_dir,
        **extra,
    )


def describe(args: argparse.Namespace, prices: pd.DataFrame) -> str:
    """``"sp500: 2 tickers, 1509 rows, 2001-01-02 to 2006-12-29"``."""
    name = " ".join(args.source) or DEFAULT_SOURCE
    return (
        f"{name}: {prices.shape[1]} tickers, {prices.shape[0]} rows, "
        f"{prices.index[0]:%Y-%m-%d} to {prices.index[-1]:%Y-%m-%d}"
    )


def summarize(prices: pd.DataFrame) -> pd.DataFrame:
    """One row per ticker: first and last date with a price, rows with a price, missing values."""
    import pandas as pd

    valid = prices.notna()
    first = valid.idxmax()
    last = valid.iloc[::-1].idxmax()
    return pd.DataFrame(
        {
            "first": first.dt.strftime("%Y-%m-%d"),
            "last": last.dt.strftime("%Y-%m-%d"),
            "rows": valid.sum(),
            "missing": (~valid).sum(),
        }
    ).rename_axis("ticker")


def _run(args: argparse.Namespace) -> int:
    if args.list:
        from stratopt.data import datasets

        print(datasets().to_string())
        return 0
    prices = load_from_args(args)
    print(f"{describe(args, prices)}, {int(prices.isna().to_numpy().sum())} missing values (before listing)")
    print(summarize(prices).to_string())
    return 0


def register(subparsers: Any) -> None:
    """Add the ``data`` subcommand."""
    parser = add_command(
        subparsers,
        "data",
        help="load prices and print a summary",
        description="Load and validate prices, then print one line per ticker "
        "(first and last date, rows, missing values). Exits with status 2 and a one-line "
        "error on bad data.",
    )
    add_source_arguments(parser)
    parser.add_argument("--list", action="store_true", help="list the bundled datasets")
    parser.set_defaults(func=_run)
