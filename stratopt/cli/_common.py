"""What every subcommand shares: its parser's help layout, small value parsers, and the ending.

The ending (:func:`finish`) is the one way a command reports: ``--json PATH`` through the
result's JSON record, ``--plot PATH`` through its figure, and the result's summary on stdout
(unless ``--quiet``). :func:`check_outputs` runs before any work, so a path that cannot be
written fails in a second, not after the training.

Nothing here imports torch, pandas or matplotlib at module level: ``stratopt --help`` builds
every parser and must stay fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stratopt.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "HelpFormatter",
    "Report",
    "add_command",
    "add_output_arguments",
    "check_outputs",
    "finish",
    "load_data",
    "parse_assignments",
    "parse_floats",
    "plot_suffixes",
]

#: Where a command keeps the kinds of its output paths (``{dest: "json" | "plot"}``).
OUTPUTS_DEST = "output_paths"


class HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to every option with a default that its help does not state.

    Options whose default is None or a False flag say what that means in their own help
    (``(default: full batch)``), since ``None`` tells a reader nothing.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or "(default" in text or default is None or default is argparse.SUPPRESS:
            return text
        if isinstance(default, bool) or not (action.option_strings or action.nargs in ("?", "*")):
            return text
        return f"{text} (default: %(default)s)"


def add_command(subparsers: Any, name: str, *, help: str, description: str) -> argparse.ArgumentParser:
    """A subcommand parser with the shared help layout."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help, description=description, formatter_class=HelpFormatter
    )
    return parser


# ------------------------------------------------------------------------------- values
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


def parse_assignments(items: list[str] | None, *, option: str) -> dict[str, float]:
    """``["fast=30", "slow=120"]`` -> ``{"fast": 30.0, "slow": 120.0}``."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"{option} {item!r} must look like NAME=VALUE, e.g. {option} fast=30") from None
    return out


# ------------------------------------------------------------------------------- outputs
def add_output_arguments(
    parser: argparse.ArgumentParser, *, json_help: str, plot_help: str, plots: dict[str, str] | None = None
) -> None:
    """``--json PATH``, ``--plot PATH`` (plus any extra figures, ``{option: help}``) and ``--quiet``."""
    group = parser.add_argument_group("output")
    group.add_argument("--json", metavar="PATH", help=f"{json_help} (default: not written)")
    kinds = {"json": "json"}
    for option, text in {"--plot": plot_help, **(plots or {})}.items():
        action = group.add_argument(option, metavar="PATH", help=f"{text}; PNG, PDF, SVG, ... (default: not drawn)")
        kinds[action.dest] = "plot"
    group.add_argument(
        "-q", "--quiet", action="store_true", help="print no summary and no data line (errors and warnings still print)"
    )
    parser.set_defaults(**{OUTPUTS_DEST: kinds})


def plot_suffixes() -> list[str]:
    """File suffixes matplotlib can write, e.g. ``['.eps', '.jpeg', ..., '.svg']``."""
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(f".{ext}" for ext in FigureCanvasBase.get_supported_filetypes())


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before any work, an output path whose folder is missing or (for a figure)
    whose suffix matplotlib cannot write."""
    for dest, kind in getattr(args, OUTPUTS_DEST, {}).items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        option = "--" + dest.replace("_", "-")
        path = Path(value)
        folder = path.parent
        if not folder.is_dir():
            raise ConfigError(f"{option} {value}: the folder {str(folder)!r} does not exist; create it first")
        if path.is_dir():
            raise ConfigError(f"{option} {value} is a folder; give a file name, e.g. {path / ('result.' + kind)}")
        if kind == "plot":
            allowed = plot_suffixes()
            if path.suffix.lower() not in allowed:
                raise ConfigError(
                    f"{option} {value}: cannot write a figure as {path.suffix or 'a file without a suffix'!r}; "
                    f"end the name with one of {', '.join(allowed)}"
                )


@dataclass
class Report:
    """A command's output when it is not one result as it stands (several results, or a
    summary with options): the summary text, its JSON record and its figure."""

    text: str
    record: Callable[[], dict[str, Any]]
    figure: Callable[[], Figure] | None = None

    def summary(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return self.record()

    def plot(self) -> Figure:
        if self.figure is None:
            raise ConfigError("this command has no figure to draw")
        return self.figure()


def write_json(result: Any, path: str) -> None:
    """``result`` as JSON at ``path``: its own ``to_json`` where it has one."""
    if hasattr(result, "to_json"):
        result.to_json(path)
        return
    from stratopt._json import jsonable

    Path(path).write_text(json.dumps(jsonable(result.to_dict()), indent=2, allow_nan=False) + "\n")


def save_figure(figure: Figure, path: str) -> None:
    figure.savefig(path, dpi=110)


def finish(args: argparse.Namespace, result: Any) -> int:
    """The ending of every command: ``--json``, ``--plot``, then the summary on stdout (unless
    ``--quiet``); files first, so that a reader closing stdout early (``| head``) loses none."""
    if args.json:
        write_json(result, args.json)
    if args.plot:
        save_figure(result.plot(), args.plot)
    if not args.quiet:
        print(result.summary())
    return 0


# --------------------------------------------------------------------------------- data
def load_data(args: argparse.Namespace) -> pd.DataFrame:
    """The prices named by the SOURCE arguments, echoed as one line on stderr (unless ``--quiet``)."""
    from stratopt.cli._data import describe, load_from_args

    prices = load_from_args(args)
    if not getattr(args, "quiet", False):
        print(f"data: {describe(args, prices)}", file=sys.stderr)
    return prices
