"""Every example config in examples/ runs, its run folder holds what its kind writes, and
`stratopt show` reads it back."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from stratopt.cli import main
from stratopt.errors import StratoptWarning
from stratopt.experiments import load_config, read_run, run_experiment

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))

#: Test-only overrides: two epochs and a small screen for every example, and fewer days for
#: the walk-forwards (two folds of the quick one; the main job, all 20 stocks 1990-2022 and
#: about two minutes as written, on its last nine years).
SHORTEN: dict[str, Any] = {"training.epochs": 2, "training.screen": 8}
FEWER_DAYS: dict[str, dict[str, Any]] = {
    "quick-crossover": {"data.start": "2005-01-01"},
    "main-long-flat": {"data.start": "2014-01-01"},
}
#: Examples whose shortened run still takes more than a few seconds.
HEAVY = {"main-long-flat"}

COMMON = ["config.toml", "manifest.json", "summary.txt", "report.html", "returns.csv", "history.csv"]
BY_KIND = {
    "walk_forward": [
        "result.json",
        "folds.csv",
        "candidates.parquet",
        "figures/walk_forward.png",
        "figures/splits.png",
    ],
    "fit": ["fit.json", "figures/fit.png", "figures/backtest.png"],
}


def test_the_promised_examples_exist() -> None:
    kinds = {p.stem: load_config(p).kind for p in EXAMPLES}
    assert kinds["quick-crossover"] == kinds["main-long-flat"] == "walk_forward" and kinds["rsi-fit"] == "fit"
    main_job = load_config(EXAMPLES[[p.stem for p in EXAMPLES].index("main-long-flat")]).make_loss()
    assert main_job.position_mode == "long_only"


def check_folder(folder: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMON + BY_KIND[kind]:
        assert (folder / name).is_file(), name
    run = read_run(folder)
    assert run.manifest["status"] == "finished" and run.kind == kind
    if kind == "walk_forward":
        assert len(run.fold_rules()) == len(run.folds()) >= 2
    else:
        assert run.fit_result().params
    assert main(["show", str(folder)]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"run {folder.name}") and run.text().strip() in shown


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=[pytest.mark.slow] if p.stem in HEAVY else [], id=p.stem) for p in EXAMPLES]
)
def test_example_runs_shortened(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = {**SHORTEN, **FEWER_DAYS.get(path.stem, {})}
    with warnings.catch_warnings():  # two epochs make diagnostics; the manifest keeps them
        warnings.simplefilter("ignore", StratoptWarning)
        run = run_experiment(path, tmp_path / path.stem, overrides=overrides, progress=False)
    assert run.manifest["overrides"] == overrides
    check_folder(run.path, load_config(path).kind, capsys)


@pytest.mark.slow
def test_quick_example_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES[[p.stem for p in EXAMPLES].index("quick-crossover")]
    out = tmp_path / "quick-crossover"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StratoptWarning)
        assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    check_folder(out, "walk_forward", capsys)
    assert read_run(out).manifest["overrides"] == {}
