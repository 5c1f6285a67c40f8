"""The notebooks run top to bottom in a real Jupyter kernel, as a reader runs them.

Each notebook in ``notebooks/`` is executed by ``nbclient`` on the ``python3`` kernel (offline:
the notebooks read the bundled data only). Checked: no cell raises; every cell that draws a
figure shows it as an ``image/png`` output (a matplotlib figure built outside pyplot displays
in Jupyter only if it knows how to draw itself, see ``stratopt.plotting``); no other library prints a
warning into the notebook (stratopt's own diagnostic warnings are part of what a notebook
shows); and the files are valid nbformat 4.5 with cell ids.
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: A cell draws a figure when it calls a result's plot() or builds a figure itself.
MAKES_FIGURE = re.compile(r"\.plot\(|new_figure\(")
#: "path:line: SomethingWarning: ..." as the warnings module prints it to stderr.
WARNING_LINE = re.compile(r"^(?P<path>\S+?):\d+: (?P<kind>\w*Warning)\b", re.MULTILINE)


def _stratopt_warnings() -> set[str]:
    """Names of stratopt's own warning classes: diagnostics a notebook is meant to show."""
    from stratopt import errors

    return {
        name
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, Warning) and obj.__module__ == errors.__name__
    }


@functools.cache
def _executed(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return nb


def _run(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=True).execute()
    return nb.cells[0]


def _stderr(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr")


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 4, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_file_is_valid_nbformat_with_cell_ids(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # MissingIDFieldWarning and friends
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_errors_and_shows_its_figures(path: Path) -> None:
    nb = _executed(path)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i, c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    blank = [
        f"cell {i}: {c.source.splitlines()[-1]!r}"
        for i, c in code
        if MAKES_FIGURE.search(c.source) and not any("image/png" in o.get("data", {}) for o in c.outputs)
    ]
    assert not blank, f"cells that draw a figure but show none: {blank}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_other_library_warning_reaches_the_notebook(path: Path) -> None:
    nb = _executed(path)
    leaked = [
        f"cell {i}: {m.group(0)}"
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for m in WARNING_LINE.finditer(_stderr(c))
        if m.group("kind") not in _stratopt_warnings()
    ]
    assert not leaked, leaked


@pytest.mark.slow
def test_importing_stratopt_and_training_in_a_kernel_prints_no_warning() -> None:
    cell = _run(
        "import stratopt\n"
        "from stratopt.rules import MACrossover\n"
        "prices = stratopt.load_prices('sp500', tickers=['AAPL'], start='2020')\n"
        "res = stratopt.fit(MACrossover(fast=10, slow=50), prices, epochs=2, n_starts=1, screen=0)\n"
    )
    assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    assert "Warning" not in _stderr(cell), _stderr(cell)
