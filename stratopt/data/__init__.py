"""Price data: bundled datasets, CSV files and yfinance, validated into one canonical table.

Every loader returns a DataFrame with a tz-naive, sorted, unique ``DatetimeIndex`` named
``date`` and one ``float64`` column of adjusted close per ticker (column index ``ticker``).
NaN appears only before a ticker's first price. Price jumps that look like data faults (a
one-day spike, an unadjusted split) are reported with :class:`SuspiciousPriceWarning`.
"""

from __future__ import annotations

from stratopt.data._bundled import datasets
from stratopt.data._cache import check_ticker, resolve_cache_dir
from stratopt.data._load import PriceSource, load_prices, parse_tickers
from stratopt.data._validate import DEFAULT_MAX_GAP, DataRepairWarning, validate_prices
from stratopt.data._yfinance import DEFAULT_MAX_AGE, Downloader
from stratopt.errors import SuspiciousPriceWarning

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_GAP",
    "DataRepairWarning",
    "Downloader",
    "PriceSource",
    "SuspiciousPriceWarning",
    "check_ticker",
    "datasets",
    "load_prices",
    "parse_tickers",
    "resolve_cache_dir",
    "validate_prices",
]
