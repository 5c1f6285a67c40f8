"""A run folder: its file names, its manifest, and reading it back (:func:`read_run`)."""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stratopt._result import Result
from stratopt.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from stratopt.rules import Rule
    from stratopt.training import FitResult

__all__ = ["FILES", "FORMAT", "Run", "prices_sha256", "read_run", "versions"]

#: What the manifest's ``format`` says, so that a folder is known for a run folder.
FORMAT = "stratopt-run"
FORMAT_VERSION = 1

#: The files of a run folder, by role. Fold parameters and figures are ``FOLD_GLOB`` and
#: ``FIGURE_GLOB``; a fit writes ``fit`` instead of ``result`` and the fold files.
FILES = {
    "config": "config.toml",
    "manifest": "manifest.json",
    "summary": "summary.txt",
    "report": "report.html",
    "result": "result.json",
    "fit": "fit.json",
    "folds": "folds.csv",
    "returns": "returns.csv",
    "history": "history.csv",
    "candidates": "candidates.parquet",
}
FOLD_GLOB = "folds/fold-*.json"
FIGURE_GLOB = "figures/*.png"


def fold_file(k: int) -> str:
    return f"folds/fold-{k:03d}.json"


def written_files(folder: Path) -> list[str]:
    """The run files present in ``folder`` (relative paths, sorted)."""
    found = [name for name in FILES.values() if (folder / name).is_file()]
    found += [str(p.relative_to(folder).as_posix()) for g in (FOLD_GLOB, FIGURE_GLOB) for p in folder.glob(g)]
    return sorted(found)


def prices_sha256(prices: pd.DataFrame) -> str:
    """SHA-256 of a price table: its dates (int64 nanoseconds), its tickers (UTF-8, joined by
    the unit separator ``\\x1f``) and its prices (float64, row-major, little-endian; every NaN
    as the same bytes), one after the other."""
    import numpy as np

    h = hashlib.sha256()
    h.update(np.asarray(prices.index.asi8, dtype="<i8").tobytes())
    h.update("\x1f".join(map(str, prices.columns)).encode())
    values = np.array(prices.to_numpy(dtype="<f8"), dtype="<f8", order="C")  # a copy
    values[np.isnan(values)] = np.nan  # one NaN bit pattern
    h.update(values.tobytes())
    return h.hexdigest()


def versions() -> dict[str, str]:
    """The versions a run depends on."""
    import numpy as np
    import pandas as pd
    import torch

    from stratopt import __version__

    return {
        "stratopt": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


@dataclass(repr=False)
class Run(Result):
    """A run folder read back: its manifest, summary, tables and fitted rules.

    Attributes
    ----------
    path
        The folder.
    manifest
        ``manifest.json``: name, kind, status, command, times, versions, seed, data hash.
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def kind(self) -> str:
        """``"walk_forward"`` or ``"fit"``."""
        return str(self.manifest["kind"])

    def _read(self, role: str) -> Path:
        path = self.path / FILES[role]
        if not path.is_file():
            raise ConfigError(f"run folder {self.path} has no {FILES[role]} (a {self.kind} run writes it on success)")
        return path

    def text(self) -> str:
        """The result's own summary, as printed at the end of the run."""
        return self._read("summary").read_text(encoding="utf-8")

    def config_text(self) -> str:
        """The config file the run was made from."""
        return self._read("config").read_text(encoding="utf-8")

    def folds(self) -> pd.DataFrame:
        """Walk-forward fold table: dates, fitted parameters, train and test metrics."""
        import pandas as pd

        return pd.read_csv(self._read("folds"), index_col="fold", parse_dates=[1, 2, 3, 4])

    def returns(self) -> pd.DataFrame:
        """Daily returns: out of sample with the baselines (walk-forward) or the backtest (fit)."""
        import pandas as pd

        return pd.read_csv(self._read("returns"), index_col="date", parse_dates=["date"])

    def history(self) -> pd.DataFrame:
        """Training history, one row per epoch and start (and fold)."""
        import pandas as pd

        return pd.read_csv(self._read("history"))

    def fold_records(self) -> list[dict[str, Any]]:
        """Each fold's JSON: dates, rule class and name, fitted parameters, test metrics."""
        files = sorted(self.path.glob(FOLD_GLOB))
        if not files:
            raise ConfigError(f"run folder {self.path} has no fold files ({FOLD_GLOB}); it is a {self.kind} run")
        return [json.loads(p.read_text(encoding="utf-8")) for p in files]

    def fold_rules(self) -> list[Rule]:
        """Each fold's fitted rule, rebuilt from its JSON (:func:`~stratopt.rules._registry.rule_from_record`,
        then every trained weight where the record holds them, as a neural policy's do)."""
        from stratopt.rules._registry import rule_from_record
        from stratopt.training._result import _restore_state

        rules = []
        for k, record in enumerate(self.fold_records()):
            rule = rule_from_record(record["rule"], record["params"])
            if "state" in record:
                _restore_state(rule, record["state"], self.path / fold_file(int(record.get("fold", k))))
            rules.append(_named_only(rule) if "state" not in record else rule)
        return rules

    def fit_result(self) -> FitResult:
        """The fit of a ``[fit]`` run, loaded with :meth:`FitResult.load <stratopt.FitResult.load>`."""
        from stratopt.training import FitResult

        path = self._read("fit")
        result = FitResult.load(path)  # every trained weight restored where the file holds them
        if "state" not in json.loads(path.read_text(encoding="utf-8")):
            _named_only(result.rule)
        return result

    def summary(self) -> str:
        """Who ran what, when and on which data, then the result's summary."""
        m = self.manifest
        v, d = m.get("versions", {}), m.get("data", {})
        lines = [
            f"run {m.get('name')} ({m.get('kind')}): {m.get('status')}"
            + (f" in {m['duration_s']:.1f} s" if m.get("duration_s") is not None else "")
            + f", started {m.get('started')}",
        ]
        if m.get("description"):
            lines.append(m["description"])
        if m.get("command"):
            lines.append(f"command: {m['command']}")
        lines.append("versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + f"; seed {m.get('seed')}")
        if d:
            lines.append(
                f"data: {len(d['tickers'])} tickers, {d['n_days']} days, {d['first']} to {d['last']}, "
                f"sha256 {d['sha256'][:16]}..."
            )
        if m.get("error"):
            lines.append(f"error: {m['error']}")
        if m.get("warnings"):
            lines.append(f"warnings ({len(m['warnings'])}):")
            lines += [f"  {w}" for w in m["warnings"]]
        if (self.path / FILES["summary"]).is_file():
            lines += ["", self.text().rstrip()]
        lines += ["", "files: " + ", ".join(written_files(self.path))]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The manifest, with the folder's path."""
        return {"path": str(self.path), **self.manifest}


def _named_only(rule: Rule) -> Rule:
    """``rule``, unless it has weights beyond its named parameters that the fold's record does
    not hold (a folder written before they were saved): rebuilt without them it would trade
    differently from the fitted one."""
    from stratopt.rules._base import has_unnamed_weights

    if has_unnamed_weights(rule):
        raise ConfigError(
            f"{type(rule).__name__} has unstructured weights (a neural policy's) that this run folder does not "
            "hold (written by an older stratopt); rerun the experiment to save them"
        )
    return rule


def read_run(path: str | Path) -> Run:
    """The run folder at ``path``, as :func:`~stratopt.experiments.run_experiment` wrote it."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"{str(path)!r} is not a folder; give a run folder written by 'stratopt run'")
    manifest_path = path / FILES["manifest"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{str(path)!r} is not a run folder (it has no {FILES['manifest']}); give a folder written by 'stratopt run'"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{manifest_path} is damaged ({exc}); it is not a manifest written by 'stratopt run'"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ConfigError(
            f"{manifest_path} is not a stratopt run manifest (no format = {FORMAT!r}); "
            "give a folder written by 'stratopt run'"
        )
    return Run(path=path, manifest=manifest)
