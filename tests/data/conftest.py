"""Fixtures for the data tests: the bundled prices read independently, and a fake yfinance."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from yfinance.utils import empty_df

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def sp500_raw() -> pd.DataFrame:
    """The bundled S&P 500 file read with plain pandas, as an independent reference."""
    with gzip.open(DATA / "sp500_dataset.csv.gz", "rt") as handle:
        frame = pd.read_csv(handle, index_col="Date", parse_dates=True)
    return frame


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder, with $STRATOPT_DATA unset so that nothing else is used."""
    monkeypatch.delenv("STRATOPT_DATA", raising=False)
    return tmp_path / "cache"


class FakeYfinance:
    """Stands in for ``yfinance.download`` 1.7, online or offline.

    Each ticker's frame is built like ``Ticker.history(auto_adjust=True, actions=False)``
    (Open/High/Low/Close/Volume, Close adjusted, index named Date); a ticker that fails gets
    ``yfinance.utils.empty_df()``, exactly as ``yfinance.multi._download_one`` does. The frames
    are then combined the way ``yfinance.multi._download_impl`` combines them, giving
    ``(Price, Ticker)`` MultiIndex columns. Offline, every ticker fails, which yields an EMPTY
    frame with those columns; yfinance prints an error and does not raise.
    """

    def __init__(self, closes: pd.DataFrame, *, online: bool = True) -> None:
        self.closes = closes
        self.online = online
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def _history(self, ticker: str, kwargs: dict[str, Any]) -> pd.DataFrame:
        close = self.closes[ticker].dropna()
        if "start" in kwargs:
            close = close[close.index >= pd.Timestamp(kwargs["start"])]
        if "end" in kwargs:  # exclusive, as in yfinance
            close = close[close.index < pd.Timestamp(kwargs["end"])]
        rng = np.random.default_rng(0)
        wiggle = 1 + 0.01 * rng.random(len(close))
        frame = pd.DataFrame(
            {
                "Open": close / wiggle,
                "High": close * wiggle,
                "Low": close / wiggle**2,
                "Close": close,
                "Volume": np.round(1e6 * wiggle),
            },
            index=pd.DatetimeIndex(close.index, name="Date"),
        )
        return frame

    def __call__(self, tickers: list[str], **kwargs: Any) -> pd.DataFrame:
        self.calls.append((list(tickers), dict(kwargs)))
        assert kwargs.get("auto_adjust", True), "stratopt expects adjusted prices"
        dfs = {}
        for ticker in sorted({t.upper() for t in tickers}):
            if self.online and ticker in self.closes.columns:
                dfs[ticker] = self._history(ticker, kwargs)
            else:
                print(f"Failed to get ticker '{ticker}' reason: Could not resolve host")
                dfs[ticker] = empty_df()
        index = None
        for df in dfs.values():
            if not df.empty:
                index = df.index if index is None else index.union(df.index)
        index = pd.DatetimeIndex([]) if index is None else index
        dfs = {k: v.reindex(index) for k, v in dfs.items()}
        data = pd.concat(dfs.values(), axis=1, sort=True, keys=dfs.keys(), names=["Ticker", "Price"])
        data.columns = data.columns.swaplevel(0, 1)
        return data.sort_index(level=0, axis=1)


@pytest.fixture
def fake_yf(sp500_raw: pd.DataFrame) -> Callable[..., FakeYfinance]:
    """Factory: ``fake_yf(online=True)`` returns a fake downloader serving the bundled prices."""

    def make(*, online: bool = True) -> FakeYfinance:
        return FakeYfinance(sp500_raw, online=online)

    return make
