"""Real daily prices that ship with stratopt, so that everything runs offline.

The files live in the repository's top-level ``data/`` folder, which installs as the resource
package ``stratopt._datasets`` (see ``[tool.setuptools] package-dir`` in pyproject.toml).
Provenance and licence: ``data/README.md``.
"""

from __future__ import annotations

import importlib.resources
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stratopt.data._validate import validate_prices
from stratopt.errors import DataError

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # Python 3.10 (requires-python >= 3.10) has it in importlib.abc only
    from importlib.abc import Traversable

__all__ = ["BUNDLED", "datasets", "read_bundled"]


@dataclass(frozen=True)
class _Dataset:
    file: str
    description: str


BUNDLED: dict[str, _Dataset] = {
    "sp500": _Dataset(
        "sp500_dataset.csv.gz",
        "20 large S&P 500 stocks, daily adjusted close (from skfolio 1.12.2, BSD-3)",
    ),
    "sp500-index": _Dataset(
        "sp500_index.csv.gz",
        "S&P 500 index level, daily close (from skfolio 1.12.2, BSD-3)",
    ),
}


def _resource(file: str) -> Traversable:
    """The bundled file, from the installed package or, in a bare source tree, from ``data/``."""
    try:
        folder: Traversable = importlib.resources.files("stratopt._datasets")
    except ModuleNotFoundError:  # source tree on sys.path without an install
        folder = Path(__file__).resolve().parents[2] / "data"
    resource = folder / file
    if not resource.is_file():
        raise DataError(
            f"bundled data file {file!r} is missing from {folder}: reinstall stratopt "
            "(pip install .) or restore the data/ folder of the source tree"
        )
    return resource


def read_bundled(name: str) -> pd.DataFrame:
    """Read a bundled dataset, validated.

    Parameters
    ----------
    name
        One of the keys of :data:`BUNDLED` (``"sp500"``, ``"sp500-index"``).

    Returns
    -------
    pandas.DataFrame
        Canonical price table (see :func:`~stratopt.data.validate_prices`).
    """
    if name not in BUNDLED:
        raise DataError(f"no bundled dataset named {name!r}: choose one of {sorted(BUNDLED)}")
    with _resource(BUNDLED[name].file).open("rb") as handle:
        raw = pd.read_csv(handle, compression="gzip", index_col=0)
    return validate_prices(raw, source=f"bundled dataset {name!r}")


def datasets() -> pd.DataFrame:
    """List the datasets that ship with stratopt.

    Returns
    -------
    pandas.DataFrame
        One row per dataset, indexed by the name to pass to :func:`~stratopt.load_prices`,
        with columns ``description``, ``tickers`` (count), ``first``, ``last`` and ``rows``.

    Examples
    --------
    >>> from stratopt.data import datasets
    >>> datasets().loc["sp500", ["tickers", "rows"]].tolist()
    [20, 8313]
    """
    rows = []
    for name, entry in BUNDLED.items():
        prices = read_bundled(name)
        rows.append(
            {
                "name": name,
                "description": entry.description,
                "tickers": prices.shape[1],
                "first": prices.index[0].date(),
                "last": prices.index[-1].date(),
                "rows": prices.shape[0],
            }
        )
    return pd.DataFrame(rows).set_index("name")
