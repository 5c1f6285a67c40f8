"""stratopt: tune trading-rule parameters by gradient descent, honestly.

The whole public surface is listed in ``__all__`` below.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from stratopt.errors import (
    ConfigError,
    DataError,
    DataUnavailableError,
    DivergenceWarning,
    LookAheadError,
    StaleCacheWarning,
)

try:
    __version__ = version("stratopt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "ConfigError",
    "DataError",
    "DataUnavailableError",
    "DivergenceWarning",
    "LookAheadError",
    "StaleCacheWarning",
    "__version__",
]
