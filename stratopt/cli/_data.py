"""``stratopt data``: load prices from any source and print a summary table.

Also home of the SOURCE arguments that every subcommand reading prices shares
(:func:`add_source_arguments` and :func:`load_from_args`).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

import pandas as pd

from stratopt.data import DEFAULT_MAX_GAP, datasets, load_prices

__all__ = ["add_source_arguments", "load_from_args", "register", "summarize"]


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``SOURCE...``, ``--tickers``, ``--start``, ``--end`` and friends to ``parser``.

    Read the prices back with :func:`load_from_args`.
    """
    parser.add_argument(
        "source",
        nargs="*",
        metavar="SOURCE",
        help="bundled dataset (sp500, sp500-index; default sp500), 'yfinance', "
        "a CSV file, a folder of CSV files, or several files",
    )
    parser.add_argument(
        "--tickers",
        metavar="LIST",
        help="tickers to keep, comma-separated (required for yfinance), e.g. AAPL,MSFT",
    )
    parser.add_argument("--start", metavar="DATE", help="first date, e.g. 2010-01-01")
    parser.add_argument("--end", metavar="DATE", help="last date (inclusive)")
    parser.add_argument(
        "--max-gap",
        type=int,
        default=DEFAULT_MAX_GAP,
        metavar="DAYS",
        help=f"longest run of missing prices to forward-fill (default {DEFAULT_MAX_GAP})",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="yfinance cache folder (default: $STRATOPT_DATA, else the user cache folder)",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="yfinance: download even when a fresh cached copy exists",
    )


def load_from_args(args: argparse.Namespace) -> pd.DataFrame:
    """Load the prices named by the arguments of :func:`add_source_arguments`."""
    sources: list[str] = list(args.source) or ["sp500"]
    source: Any = sources[0] if len(sources) == 1 else sources
    extra: dict[str, Any] = {}
    if args.refresh:
        extra["max_age"] = dt.timedelta(0)
    return load_prices(
        source,
        tickers=args.tickers,
        start=args.start,
        end=args.end,
        max_gap=args.max_gap,
        cache_dir=args.cache_dir,
        **extra,
    )


def summarize(prices: pd.DataFrame) -> pd.DataFrame:
    """One row per ticker: first and last date with a price, rows with a price, missing values."""
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
        print(datasets().to_string())
        return 0
    prices = load_from_args(args)
    name = " ".join(args.source) or "sp500"
    print(
        f"{name}: {prices.shape[1]} tickers, {prices.shape[0]} rows, "
        f"{prices.index[0]:%Y-%m-%d} to {prices.index[-1]:%Y-%m-%d}, "
        f"{int(prices.isna().to_numpy().sum())} missing values (before listing)"
    )
    print(summarize(prices).to_string())
    return 0


def register(subparsers: Any) -> None:
    """Add the ``data`` subcommand."""
    parser = subparsers.add_parser(
        "data",
        help="load prices and print a summary",
        description="Load and validate prices, then print one line per ticker "
        "(first and last date, rows, missing values). Exits with status 2 and a one-line "
        "error on bad data.",
    )
    add_source_arguments(parser)
    parser.add_argument("--list", action="store_true", help="list the bundled datasets")
    parser.set_defaults(func=_run)
