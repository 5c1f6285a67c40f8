"""The package metadata lists every subpackage, and a real install ships the bundled data."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "stratopt").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    missing = sorted(found - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"


def test_bundled_files_match_the_package_data_globs() -> None:
    setuptools = pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"]["stratopt._datasets"] == "data"
    globs = setuptools["package-data"]["stratopt._datasets"]
    shipped = [p.name for p in (ROOT / "data").iterdir() if p.is_file()]
    for name in ("sp500_dataset.csv.gz", "sp500_index.csv.gz", "LICENSE-skfolio", "README.md"):
        assert name in shipped
        assert any(fnmatch.fnmatch(name, g) for g in globs), f"{name} matches no glob {globs}"


# Run in the fresh venv, from a folder outside the repository.
_PROBE = """
import importlib.resources, json, sys
import stratopt
from stratopt.data import datasets, load_prices
prices = load_prices("sp500")
resource = importlib.resources.files("stratopt._datasets") / "sp500_dataset.csv.gz"
print(json.dumps({
    "module": stratopt.__file__,
    "resource": str(resource),
    "shape": list(prices.shape),
    "first": str(prices.index[0].date()),
    "last": str(prices.index[-1].date()),
    "datasets": list(datasets().index),
    "licence": (importlib.resources.files("stratopt._datasets") / "LICENSE-skfolio").is_file(),
    "typed": (importlib.resources.files("stratopt") / "py.typed").is_file(),
}))
"""


def _current_environment_paths() -> list[str]:
    """The folders this interpreter imports installed packages from, outside the repository."""
    root = ROOT.resolve()
    environment = [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    found: list[str] = []
    for entry in sys.path:
        if not entry or not Path(entry).is_dir():
            continue
        path = Path(entry).resolve()
        in_environment = any(path.is_relative_to(p) and p != root for p in environment)  # e.g. ROOT/.venv
        if (path.is_relative_to(root) and not in_environment) or str(path) in found:
            continue
        found.append(str(path))
    return found


def _venv_borrowing_this_environment(env_dir: Path, env: dict[str, str]) -> Path:
    """A venv whose own site-packages comes first, then this interpreter's packages.

    ``system_site_packages=True`` would reach the *base* interpreter's packages, which inside a
    virtual environment (or a CI runner's tool cache) are not the ones installed for the tests:
    torch and pandas may be missing, setuptools old. A ``.pth`` file naming this interpreter's
    own import folders gives the venv exactly the packages, pip and build backend the test suite
    runs with, whatever kind of environment that is. Plain path lines in a ``.pth`` file do not
    run the ``.pth`` files found there, so an editable install of stratopt stays invisible.
    """
    venv.create(env_dir, system_site_packages=False, with_pip=False, clear=True)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    where = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    site_packages = Path(where.stdout.strip())
    (site_packages / "zz_borrowed_test_environment.pth").write_text("\n".join(_current_environment_paths()) + "\n")
    return python


def _build_backend_problem() -> str | None:
    """Why this environment cannot build stratopt offline, or None when it can."""
    try:
        setuptools_version = importlib.metadata.version("setuptools")
        importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError as exc:
        return f"{exc.name} is not installed in this environment"
    major = int(re.match(r"\d+", setuptools_version).group())  # type: ignore[union-attr]
    if major < 68:
        return f"setuptools {setuptools_version} is older than the build backend stratopt needs (>=68)"
    return None


@pytest.mark.slow
def test_non_editable_install_in_a_fresh_venv_loads_bundled_data(tmp_path: Path) -> None:
    problem = _build_backend_problem()
    if problem:
        pytest.skip(f"{problem}: pip install 'setuptools>=68' pip, then rerun (the build runs offline)")
    # Build from a copy, so the build leaves no build/ or *.egg-info in the shared checkout.
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if not (ROOT / name).is_file():
            pytest.fail(f"{name} is missing: `pip install .` needs it")
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "stratopt", source / "stratopt", ignore=ignore)
    shutil.copytree(ROOT / "data", source / "data", ignore=ignore)

    # This environment supplies torch, pandas, pip and setuptools (no downloads), the same way
    # inside a venv, in CI and on a fresh machine; the venv's own site-packages gets stratopt.
    clean_env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME") and not k.startswith("PIP_")
    }
    clean_env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env_dir = tmp_path / "venv"
    python = _venv_borrowing_this_environment(env_dir, clean_env)
    bindir = python.parent
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            str(source),
        ],
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    shutil.rmtree(source)  # nothing can be read from the source copy after this

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = subprocess.run(
        [str(python), "-c", _PROBE],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    venv_root = str(env_dir.resolve())
    assert Path(found["module"]).resolve().is_relative_to(venv_root), found["module"]
    assert Path(found["resource"]).resolve().is_relative_to(venv_root), found["resource"]
    assert not Path(found["module"]).resolve().is_relative_to(ROOT)
    assert found["shape"] == [8313, 20]
    assert (found["first"], found["last"]) == ("1990-01-02", "2022-12-28")
    assert found["datasets"] == ["sp500", "sp500-index"]
    assert found["licence"] and found["typed"]

    script = bindir / ("stratopt.exe" if os.name == "nt" else "stratopt")
    cli = subprocess.run(
        [str(script), "data", "sp500"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert "20 tickers, 8313 rows, 1990-01-02 to 2022-12-28" in cli.stdout


def test_public_api_names_resolve_and_are_sorted() -> None:
    import stratopt

    assert all(hasattr(stratopt, name) for name in stratopt.__all__)
    for module in (stratopt.analysis, stratopt.rules, stratopt.stats, stratopt.data, stratopt.model_selection):
        assert all(hasattr(module, name) for name in module.__all__)
