"""Prices as tensors: the one conversion from a pandas price table to what rules consume."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from stratopt.errors import DataError

__all__ = ["MarketData", "as_market_data"]


@dataclass(frozen=True)
class MarketData:
    """A validated price table as float tensors, shaped (days, assets).

    Attributes
    ----------
    dates, tickers
        Row and column labels.
    log_prices
        Natural log of adjusted close. Before a ticker's first valid price the first valid log
        price is repeated; this only warms indicators up (a constant series leaves an EMA
        unchanged) and is never traded, because ``tradable`` is False there.
    returns
        Simple return from day ``t-1`` to day ``t``; 0 on the first day and before listing.
    tradable
        True from a ticker's first valid price on.
    """

    dates: pd.DatetimeIndex
    tickers: tuple[str, ...]
    log_prices: Tensor
    returns: Tensor
    tradable: Tensor
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """Memoise a parameter-free feature (e.g. a fixed-span volatility) on this data."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @classmethod
    def from_prices(
        cls,
        prices: pd.DataFrame | pd.Series,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> MarketData:
        """Convert a price table (DatetimeIndex x tickers) into tensors.

        Raises
        ------
        DataError
            If a ticker has no price at all, or a price is not finite and positive after its
            first valid one (run :func:`stratopt.validate_prices` to repair gaps first).
        """
        if isinstance(prices, pd.Series):
            prices = prices.to_frame(name=prices.name if prices.name is not None else "asset")
        if not isinstance(prices, pd.DataFrame) or not isinstance(prices.index, pd.DatetimeIndex):
            raise DataError(
                f"prices must be a DataFrame indexed by dates, got {type(prices).__name__}; "
                "load it with stratopt.load_prices(...)"
            )
        if len(prices) < 2:
            raise DataError(f"prices has {len(prices)} rows; at least 2 days are needed")
        dates = pd.DatetimeIndex(prices.index)
        if dates.tz is not None:  # daily bars: the local calendar date, as load_prices gives it
            dates = dates.tz_localize(None)
        check_dates(dates)
        try:
            values = prices.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"prices must be numbers; a column holds something else ({exc}); load the table with "
                "stratopt.load_prices or convert it with pd.to_numeric"
            ) from None
        if np.isinf(values).any():
            i, j = np.argwhere(np.isinf(values))[0]
            raise DataError(
                f"{prices.columns[j]} has an infinite price on {prices.index[i].date()}; prices must be finite"
            )
        listed = ~np.isnan(values)
        empty = [str(c) for c, ok in zip(prices.columns, listed.any(axis=0)) if not ok]
        if empty:
            raise DataError(f"tickers {empty} have no price at all; drop them from the table")
        tradable = np.maximum.accumulate(listed, axis=0)
        if (tradable & ~listed).any():
            i, j = np.argwhere(tradable & ~listed)[0]
            raise DataError(
                f"{prices.columns[j]} has a missing price on {prices.index[i].date()} after it was "
                "listed; pass the table through stratopt.validate_prices to forward-fill short gaps"
            )
        if (values[listed] <= 0).any():
            i, j = np.argwhere(listed & ~(values > 0))[0]
            raise DataError(
                f"{prices.columns[j]} has a non-positive price {values[i, j]} on "
                f"{prices.index[i].date()}; prices must be positive"
            )
        first = listed.argmax(axis=0)
        filled = np.where(listed, values, values[first, np.arange(values.shape[1])])
        log_prices = np.log(filled)
        returns = np.zeros_like(filled)
        returns[1:] = np.where(tradable[:-1], filled[1:] / filled[:-1] - 1.0, 0.0)

        def as_tensor(a: np.ndarray) -> Tensor:
            return torch.as_tensor(a, dtype=dtype, device=device)

        return cls(
            dates=dates,
            tickers=tuple(str(c) for c in prices.columns),
            log_prices=as_tensor(log_prices),
            returns=as_tensor(returns),
            tradable=torch.as_tensor(tradable, device=device),
        )

    @property
    def n_days(self) -> int:
        return int(self.log_prices.shape[0])

    @property
    def n_assets(self) -> int:
        return int(self.log_prices.shape[1])

    @property
    def dtype(self) -> torch.dtype:
        return self.log_prices.dtype

    @property
    def device(self) -> torch.device:
        return self.log_prices.device

    def slice(self, start: int, stop: int) -> MarketData:
        """Rows ``start:stop`` (positional), for windows that need no warm-up."""
        return MarketData(
            dates=self.dates[start:stop],
            tickers=self.tickers,
            log_prices=self.log_prices[start:stop],
            returns=self.returns[start:stop],
            tradable=self.tradable[start:stop],
        )

    def to(self, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> MarketData:
        """The same data with another float dtype and/or device."""
        dtype = dtype or self.dtype
        return MarketData(
            dates=self.dates,
            tickers=self.tickers,
            log_prices=self.log_prices.to(dtype=dtype, device=device),
            returns=self.returns.to(dtype=dtype, device=device),
            tradable=self.tradable.to(device=device),
        )


def check_dates(dates: pd.DatetimeIndex) -> None:
    """Refuse dates that are out of order, repeated or not daily bars.

    stratopt's windows, costs and annualisation (252 periods a year) are in trading days, so
    weekly or monthly bars would be annualised wrongly: they are refused, not rescaled.
    """
    if dates.hasnans:
        raise DataError("the price table has a missing (NaT) date; drop that row or load it with stratopt.load_prices")
    if dates.has_duplicates:
        dup = dates[dates.duplicated()][0]
        raise DataError(
            f"the date {dup.date()} appears more than once; keep one row per date (stratopt.validate_prices)"
        )
    if not dates.is_monotonic_increasing:
        at = int(np.flatnonzero(np.diff(dates.asi8) < 0)[0])
        raise DataError(
            f"dates are not in increasing order ({dates[at].date()} is followed by {dates[at + 1].date()}); "
            "sort the table with prices.sort_index() or load it with stratopt.load_prices"
        )
    if len(dates) >= 8:
        gap = float(np.median(np.diff(dates.asi8))) / 86_400e9
        if gap > 3.5:
            raise DataError(
                f"the bars are {gap:.0f} calendar days apart (median): stratopt works on daily bars "
                "(windows in trading days, 252 a year); pass daily prices, not weekly or monthly ones"
            )


def as_market_data(
    prices: pd.DataFrame | pd.Series | MarketData,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> MarketData:
    """``prices`` as :class:`MarketData` of the given dtype and device: the one conversion
    every public entrance uses (a price table is validated by :meth:`MarketData.from_prices`)."""
    if isinstance(prices, MarketData):
        if (dtype is None or prices.dtype == dtype) and (device is None or prices.device == torch.device(device)):
            return prices
        return prices.to(dtype=dtype, device=device)
    return MarketData.from_prices(prices, dtype=dtype or torch.float64, device=device)
