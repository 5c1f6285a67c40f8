"""``stratopt run``: run an experiment described by a TOML file into a run folder."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from stratopt.cli._common import add_command

__all__ = ["parse_override", "register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    parser = add_command(
        subparsers,
        "run",
        help="run an experiment described by a TOML file into a run folder",
        description="Read the experiment (data, rule, loss, training, walk-forward splits or a single fit) "
        "from a TOML file, run it, and write a run folder: a copy of the config, a manifest (versions, "
        "seed, data hash, times), fitted parameters, returns and histories, figures and a "
        "self-contained report.html. Print the result's summary. See examples/ for configs.",
    )
    parser.add_argument("config", metavar="CONFIG", help="the experiment, a .toml file")
    parser.add_argument("--out", metavar="DIR", help="run folder (default: runs/<config name>-<date>-<time>)")
    parser.add_argument(
        "--force", action="store_true", help="write into a non-empty run folder, replacing its run files"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=parse_override,
        metavar="KEY=VALUE",
        help="replace one config value, VALUE written as in TOML, e.g. training.epochs=20 or "
        'data.tickers=["AAPL","XOM"] (repeatable; recorded in the manifest; default: none)',
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print no summary and no progress (errors and warnings still print)"
    )
    parser.set_defaults(func=run)


def parse_override(text: str) -> tuple[str, Any]:
    """``"training.epochs=20"`` -> ``("training.epochs", 20)``; a VALUE that is not TOML is a string."""
    from stratopt.experiments._config import tomllib

    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise argparse.ArgumentTypeError(f"{text!r} must look like KEY=VALUE, e.g. training.epochs=20")
    try:
        return key, tomllib.loads(f"value = {value.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        return key, value.strip()


def _command(args: argparse.Namespace) -> str:
    words = ["stratopt", "run", args.config]
    if args.out:
        words += ["--out", args.out]
    for key, value in dict(args.overrides or []).items():
        words += ["--set", f"{key}={_toml(value)}"]
    words += ["--force"] * args.force + ["--quiet"] * args.quiet
    return shlex.join(words)


def _toml(value: Any) -> str:
    """``value`` written back as a TOML value (for the recorded command line)."""
    import datetime as dt
    import json

    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def run(args: argparse.Namespace) -> int:
    from stratopt.experiments import run_experiment

    overrides = dict(args.overrides or [])
    result = run_experiment(
        args.config,
        args.out,
        force=args.force,
        overrides=overrides,
        progress=False if args.quiet else None,
        command=_command(args),
    )
    if not args.quiet:
        print(result.text().rstrip())
        print(f"run folder: {result.path} (open {result.path / 'report.html'})", file=sys.stderr)
    return 0
