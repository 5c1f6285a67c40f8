"""Progress: bars in a terminal and Jupyter, one line per fold in a log, nothing when quiet."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from stratopt import _progress


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_progress, "_stderr_is_terminal", lambda: True)


def test_mode_follows_stderr_and_the_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest captures stderr: not a terminal, not Jupyter -> plain lines
    assert _progress.mode(None) == "lines"
    assert _progress.mode(True) == "bar"
    assert _progress.mode(False) == "off"
    monkeypatch.setattr(_progress, "_stderr_is_terminal", lambda: True)
    assert _progress.mode(None) == "bar"
    assert _progress.mode(False) == "off"  # --quiet wins over a terminal


def test_bar_draws_only_in_bar_mode(capsys: pytest.CaptureFixture[str], terminal: None) -> None:
    assert list(_progress.bar(range(3), desc="demo")) == [0, 1, 2]
    assert "demo" in capsys.readouterr().err
    assert list(_progress.bar(range(3), desc="demo", progress=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_fold_line_format(capsys: pytest.CaptureFixture[str]) -> None:
    _progress.fold_line(
        "walk-forward", 2, 28, pd.Timestamp("2001-01-02"), pd.Timestamp("2001-12-31"),
        result="test Sharpe 0.41", seconds=12.34,
    )  # fmt: skip
    assert capsys.readouterr().err == "walk-forward fold 3/28 2001-01-02..2001-12-31: test Sharpe 0.41 (12.3 s)\n"
    _progress.fold_line("walk-forward", 0, 1, "a", "b", progress=False)
    assert capsys.readouterr().err == ""


class _Done:
    def __init__(self, sharpe: float) -> None:
        self.row = {"test_sharpe": sharpe}


def _dates(n: int) -> pd.DataFrame:
    start = pd.date_range("2001-01-01", periods=n, freq="YS")
    return pd.DataFrame({"test_start": start, "test_end": start + pd.offsets.YearEnd(0)})


@pytest.mark.parametrize(("progress", "lines"), [(None, 3), (False, 0)])
def test_folds_prints_one_line_per_finished_fold(
    capsys: pytest.CaptureFixture[str], progress: bool | None, lines: int
) -> None:
    done: list[_Done] = []
    for k in _progress.folds(["a", "b", "c"], _dates(3), done, progress=progress):
        done.append(_Done(0.5 * len(done)))
        assert isinstance(k, str)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == lines
    if lines:
        assert err[1].startswith("walk-forward fold 2/3 2002-01-01..2002-12-31: test Sharpe 0.50 (")


def test_folds_draw_a_bar_not_lines_in_a_terminal(capsys: pytest.CaptureFixture[str], terminal: None) -> None:
    done: list[_Done] = []
    for _ in _progress.folds(["a", "b"], _dates(2), done, what="compare"):
        done.append(_Done(1.0))
    err = capsys.readouterr().err
    assert "compare" in err and "fold 1/2" not in err


_FAKE_KERNEL = """
import sys, types, warnings
caught = warnings.catch_warnings(record=True)
seen = caught.__enter__()
warnings.simplefilter("always")  # record every warning (an "error" filter is swallowed by tqdm.auto)
sys.modules["ipywidgets"] = None  # a kernel without ipywidgets: tqdm.auto would warn IProgress
class ZMQInteractiveShell:
    config = {"IPKernelApp": {}}
shell = ZMQInteractiveShell()
ipython = types.ModuleType("IPython"); ipython.get_ipython = lambda: shell
sys.modules["IPython"] = ipython
sys.modules["ipykernel.zmqshell"] = types.ModuleType("ipykernel.zmqshell")
import stratopt, stratopt.training, stratopt.model_selection, stratopt.analysis, stratopt.cli
from stratopt import _progress
assert _progress.in_jupyter() and _progress.mode() == "bar"
bar = _progress.bar(range(2), desc="x")
assert type(bar).__module__ == "tqdm.std", type(bar)
list(bar)
print([f"{w.category.__name__}: {w.message}" for w in seen])
"""


def test_import_and_bars_in_a_kernel_without_ipywidgets_emit_no_warning() -> None:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(_FAKE_KERNEL)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert "IProgress" not in out.stderr


@pytest.mark.slow
def test_real_kernel_import_emits_no_warning() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    code = (
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    import stratopt, stratopt.training, stratopt.model_selection, stratopt.analysis\n"
        "    from stratopt import _progress\n"
        "    list(_progress.bar(range(2)))\n"
        "print(_progress.in_jupyter(), _progress.mode(), [str(w.message) for w in seen])"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert text.strip() == "True bar []"
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert "IProgress" not in "".join(o.get("text", "") for o in outputs)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    from stratopt.data import load_prices

    return load_prices("sp500", tickers=["AAPL", "KO"], start="2001-01-01", end="2005-12-31")


def test_walk_forward_prints_each_fold_with_its_test_sharpe_in_a_log(
    prices: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    from stratopt import MACrossover, Tuner, walk_forward

    tuner = Tuner(MACrossover(fast=10, slow=40), epochs=1, n_starts=1, validation=None, seed=0)
    res = walk_forward(tuner, prices, train="2Y", test="1Y")
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("walk-forward fold")]
    assert len(lines) == len(res.folds) >= 2
    for k, (text, (_, fold)) in enumerate(zip(lines, res.folds.iterrows())):
        span = f"{fold['test_start'].date()}..{fold['test_end'].date()}"
        assert text.startswith(
            f"walk-forward fold {k + 1}/{len(res.folds)} {span}: test Sharpe {fold['test_sharpe']:.2f} ("
        )
    walk_forward(tuner, prices, train="2Y", test="1Y", progress=False)
    assert "fold" not in capsys.readouterr().err


def test_tuner_progress_bar_only_where_asked(prices: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    from stratopt import MACrossover, Tuner

    Tuner(MACrossover(), epochs=3, validation=None, progress=True).fit(prices)
    assert "fit:   0%|          | 0/3" in capsys.readouterr().err
    Tuner(MACrossover(), epochs=3, validation=None).fit(prices)  # a log: a fit prints nothing
    assert capsys.readouterr().err == ""
