"""Finished walk-forward folds on disk, so that a long run resumes where it stopped.

Each finished fold is written to ``fold_<k>.json`` in the checkpoint directory as soon as it
is done (atomically: written aside, then renamed). A ``manifest.json`` holds a key hashed from
everything that decides the folds: the estimator's settings and rule, the walk-forward options
and the price table. A rerun with the same key loads the finished folds instead of fitting
them again; a directory written by another configuration or other data is refused, so a resume
can never mix two runs. JSON floats round-trip exactly, so resumed folds equal fitted ones.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from stratopt import errors
from stratopt.errors import ConfigError
from stratopt.model_selection._wf_fold import Fold
from stratopt.rules._base import Rule

__all__ = ["FoldStore", "run_key"]

_DATE_COLUMNS = ("train_start", "train_end", "test_start", "test_end")


def run_key(settings: dict[str, Any], rule: Rule, prices: pd.DataFrame) -> str:
    """Hash of the settings (JSON), the rule's weights and the price table (dates, tickers, values)."""
    h = hashlib.sha256()
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for name, tensor in rule.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().double().cpu().numpy().tobytes())
    h.update(np.asarray(pd.DatetimeIndex(prices.index).asi8).tobytes())
    h.update(",".join(map(str, prices.columns)).encode())
    h.update(np.ascontiguousarray(prices.to_numpy(dtype=np.float64, na_value=np.nan)).tobytes())
    return h.hexdigest()[:24]


class FoldStore:
    """The checkpoint directory of one walk-forward run (created if missing).

    Raises
    ------
    ConfigError
        If the directory holds folds of a run with other settings or data.
    """

    def __init__(self, directory: str | os.PathLike[str], key: str, template: Rule) -> None:
        self.dir = Path(directory)
        self.key, self.template = key, template
        if self.dir.exists() and not self.dir.is_dir():
            raise ConfigError(f"checkpoint_dir={str(self.dir)!r} is a file; pass a directory")
        self.dir.mkdir(parents=True, exist_ok=True)
        manifest = self.dir / "manifest.json"
        if manifest.exists():
            found = json.loads(manifest.read_text()).get("key")
            if found != key:
                raise ConfigError(
                    f"checkpoint_dir={str(self.dir)!r} holds folds of another walk-forward (settings or data "
                    f"differ: key {found} != {key}); resume with the same estimator, options and prices, or "
                    "pass an empty directory"
                )
        else:
            _write(manifest, {"key": key})

    def has(self, k: int) -> bool:
        """Whether fold ``k`` was finished (without reading it)."""
        return (self.dir / f"fold_{k:04d}.json").exists()

    def load(self, k: int) -> Fold | None:
        """Fold ``k`` if it was finished, else None."""
        path = self.dir / f"fold_{k:04d}.json"
        if not path.exists():
            return None
        d = json.loads(path.read_text())
        unit = d["date_unit"]  # the price index's resolution, so that frames compare equal
        index = pd.DatetimeIndex(d["dates"], name=d["date_name"]).as_unit(unit)
        row = dict(d["row"])
        for c in _DATE_COLUMNS:
            if c in row:
                row[c] = pd.Timestamp(row[c]).as_unit(unit)
        rule = copy.deepcopy(self.template)
        state = {name: torch.tensor(v["values"], dtype=getattr(torch, v["dtype"])) for name, v in d["rule"].items()}
        rule.load_state_dict(state)
        return Fold(
            row=row,
            oos=pd.Series(np.asarray(d["oos"], dtype=float), index=index),
            candidates=np.asarray(d["candidates"], dtype=float).reshape(len(index), -1),
            baselines={k: pd.Series(np.asarray(v, dtype=float), index=index) for k, v in d["baselines"].items()},
            trial_sharpes=[float(v) for v in d["trial_sharpes"]],
            rule=rule,
            diagnostics=[(getattr(errors, c, UserWarning), text) for c, text in d["diagnostics"]],
            history=None if d.get("history") is None else _frame(d["history"]),
        )

    def save(self, k: int, fold: Fold) -> None:
        """Write fold ``k`` (atomically)."""
        row = {c: (pd.Timestamp(v).isoformat() if c in _DATE_COLUMNS else _plain(v)) for c, v in fold.row.items()}
        record = {
            "key": self.key,
            "row": row,
            "dates": [t.isoformat() for t in fold.oos.index],
            "date_name": fold.oos.index.name,
            "date_unit": pd.DatetimeIndex(fold.oos.index).unit,
            "oos": fold.oos.to_numpy().tolist(),
            "candidates": np.asarray(fold.candidates).tolist(),
            "baselines": {k: v.to_numpy().tolist() for k, v in fold.baselines.items()},
            "trial_sharpes": [float(v) for v in fold.trial_sharpes],
            "rule": {
                name: {"values": t.detach().cpu().tolist(), "dtype": str(t.dtype).replace("torch.", "")}
                for name, t in fold.rule.state_dict().items()
            },
            "diagnostics": [[c.__name__, text] for c, text in fold.diagnostics],
            "history": None
            if fold.history is None
            else json.loads(fold.history.to_json(orient="split", index=False, double_precision=15)),
        }
        _write(self.dir / f"fold_{k:04d}.json", record)


def _frame(split: dict[str, Any]) -> pd.DataFrame:
    """A table written with ``to_json(orient="split", index=False)``, nulls read back as NaN."""
    return pd.read_json(io.StringIO(json.dumps(split)), orient="split")


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    return v


def _write(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))  # NaN is written as NaN and read back as nan
    os.replace(tmp, path)
