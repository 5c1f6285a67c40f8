"""Small experiments, run once per test session: one walk-forward and one fit."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from stratopt.errors import StratoptWarning
from stratopt.experiments import Run, run_experiment

WALK_FORWARD = """
description = "test walk-forward"

[data]
source = "sp500"
tickers = ["AAPL", "XOM"]
start = 2004-01-01
end = "2009-12-31"

[rule]
name = "ma-crossover"
params = { fast = 15, ratio = 4 }

[loss]
cost_bps = 10.0
position_mode = "long_only"

[training]
epochs = 3
n_starts = 2
screen = 8
seed = 3

[walk_forward]
train = 500
test = 250
"""

FIT = """
[data]
tickers = ["JNJ", "PG"]
start = "2006-01-01"
end = "2010-12-31"

[rule]
name = "rsi"
params = { period = 5, oversold = 40, overbought = 60 }

[training]
epochs = 4
n_starts = 1
screen = 0
validation = 0.25

[fit]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def texts() -> dict[str, str]:
    """The config texts of the session's runs, by kind."""
    return {"walk_forward": WALK_FORWARD, "fit": FIT}


@pytest.fixture(scope="session")
def wf_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("configs"), "wf", WALK_FORWARD)


@pytest.fixture(scope="session")
def wf_run(wf_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    with warnings.catch_warnings():  # the diagnostics of a 3-epoch fit; the manifest keeps them
        warnings.simplefilter("ignore", StratoptWarning)
        return run_experiment(wf_config, tmp_path_factory.mktemp("runs") / "wf", progress=False, command="test")


@pytest.fixture(scope="session")
def fit_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    config = write(tmp_path_factory.mktemp("configs"), "fit", FIT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StratoptWarning)
        return run_experiment(config, tmp_path_factory.mktemp("runs") / "fit", progress=False)
