"""``python -m benchmarks`` end to end on a tiny budget: results, charts and the README section."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from benchmarks.peers.report import BEGIN, END
from benchmarks.peers.run import main

HAND_WRITTEN = "# Benchmarks\n\nIntro kept.\n\n## Core\n\nA hand-written section that must survive.\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    (out / "README.md").write_text(HAND_WRITTEN)
    args = ["--quick", "--jobs", "0", "--out", str(out), "--problems", "crossover"]
    args += ["--oos-problems", "crossover", "--skip", "vectorbt", "backtesting.py"]
    assert main(args) == 0
    return out


@pytest.mark.slow
def test_readme_section_is_regenerated_between_markers_and_the_rest_kept(run):
    text = (run / "README.md").read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "Intro kept." in text and "A hand-written section that must survive." in text
    assert text.index(BEGIN) < text.index("## Core")  # placed before the first hand-written section
    section = text[text.index(BEGIN) : text.index(END)]
    for heading in ("| problem (k) | tool |", "| problem | tool | stitched OOS Sharpe", "| axis | days x assets |"):
        assert heading in section
    for figure in ("peers_budgets.png", "peers_oos.png", "peers_scaling.png"):
        assert f"figures/{figure}" in section
        assert (run / "figures" / figure).stat().st_size > 10_000
    # the section is redrawn from the saved results alone
    (run / "README.md").write_text(HAND_WRITTEN)
    assert main(["--report-only", "--out", str(run)]) == 0
    assert (run / "README.md").read_text() == text
    # a rerun of one part rewrites the section in place instead of adding another, keeps the
    # other parts' results of the last run and says which part was rerun, and how
    budgets = (run / "results" / "peers_budgets.csv").read_bytes()
    main(["--quick", "--jobs", "0", "--out", str(run), "--parts", "scaling", "--problems", "crossover"])
    again = (run / "README.md").read_text()
    assert again.count(BEGIN) == 1 and "A hand-written section that must survive." in again
    assert "| problem (k) | tool |" in again and "| axis | days x assets |" in again
    assert (run / "results" / "peers_budgets.csv").read_bytes() == budgets
    assert "Rerun since, part(s) scaling only" in again and "--parts scaling" in again


@pytest.mark.slow
def test_budget_readings_are_anytime_and_never_exceed_their_budget(run):
    table = pd.read_csv(run / "results" / "peers_budgets.csv")
    expected = {"stratopt fit", "grid", "random search"}
    if importlib.util.find_spec("optuna") and importlib.util.find_spec("cmaes"):
        expected |= {"optuna TPE", "optuna CMA-ES"}
    assert set(table["tool"]) == expected
    for _, g in table.groupby(["problem", "seed", "tool"]):
        g = g.sort_values("budget")
        assert (np.diff(g["in_sample"]) >= 0).all()  # a best-so-far never gets worse
        assert (np.diff(g["evals"]) >= 0).all()
        assert (g["cpu_s"] <= g["budget"] * g["unit_s"] * (1 + 1e-9)).all()
    fit = table[(table["tool"] == "stratopt fit") & (table["budget"] == 1)]
    assert np.allclose(fit["cpu_s"], fit["unit_s"])  # the default fit defines the unit
    oos = pd.read_csv(run / "results" / "peers_oos.csv")
    assert set(oos["tool"]) == expected
    assert oos["pbo"].between(0, 1).all() and oos["psr"].between(0, 1).all()
