"""``stratopt show``: print a run folder's summary."""

from __future__ import annotations

import argparse
from typing import Any

from stratopt.cli._common import add_command

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``show`` subcommand."""
    parser = add_command(
        subparsers,
        "show",
        help="print the summary of a run folder written by 'stratopt run'",
        description="Read a run folder back and print who ran what, when and on which data "
        "(versions, seed, data hash, duration, warnings), the result's summary and the files.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stratopt.experiments import read_run

    print(read_run(args.run_dir).summary())
    return 0
