"""The ``stratopt`` command line: one argparse subcommand per module.

Each subcommand lives in ``stratopt/cli/_<name>.py`` and exposes ``register(subparsers)``, which
adds its parser and sets ``func(args) -> int`` as the parser default. Adding a subcommand is
one line in :data:`_COMMANDS`. The option groups they share are in ``_data.py`` (the price
source), ``_options.py`` (loss and training) and ``_common.py`` (outputs and the ending).

Building the parser imports neither torch nor pandas: subcommands import what they need inside
their ``run`` function, so ``stratopt --help`` answers at once. Output paths are checked before
a command runs. Bad input (any :class:`~stratopt.errors.StratoptError`, ``ValueError`` or
``OSError``) ends as ``error: <message>`` on stderr and exit status 2, without a traceback;
warnings print as ``warning: <message>``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from stratopt.cli import _compare, _compare_lr, _credit, _data, _fit, _gradient_flow, _landscape, _show, _walk_forward
from stratopt.cli import _run as _run_command
from stratopt.cli._common import check_outputs
from stratopt.cli._data import add_source_arguments, load_from_args
from stratopt.errors import StratoptError, StratoptWarning

__all__ = ["add_source_arguments", "build_parser", "load_from_args", "main"]

# The subcommand modules, in the order `stratopt --help` lists them.
_COMMANDS: tuple[ModuleType, ...] = (
    _walk_forward,
    _compare,
    _fit,
    _run_command,
    _show,
    _data,
    _credit,
    _gradient_flow,
    _landscape,
    _compare_lr,
)

#: Exit status for bad input (as argparse uses for bad arguments).
EXIT_BAD_INPUT = 2


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("stratopt")
        except PackageNotFoundError:  # a source tree that was never installed
            number = "0.0.0+unknown"
        parser.exit(message=f"{parser.prog} {number}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``stratopt`` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="stratopt",
        description="Tune trading-rule parameters by gradient descent, with walk-forward tests. "
        "'stratopt COMMAND --help' lists a command's options and their defaults.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log what is done (-v: info, -vv: debug)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMANDS:
        module.register(subparsers)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    with warnings.catch_warnings():
        # Only stratopt's own warnings concern the user; library deprecations are noise here.
        warnings.simplefilter("ignore")
        warnings.simplefilter("default", StratoptWarning)
        warnings.showwarning = _show_warning
        try:
            check_outputs(args)
            return int(args.func(args))
        except (StratoptError, ValueError, OSError) as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            print(f"error: {message}", file=sys.stderr)
            return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns
    -------
    int
        0 on success, 2 on bad input or bad arguments.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad arguments
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    if args.verbose:  # otherwise Python's last-resort handler prints warnings and errors only
        level = logging.INFO if args.verbose == 1 else logging.DEBUG
        logging.basicConfig(level=level, format="%(levelname)s: %(name)s: %(message)s")
    return _run(args)
