"""Model selection through time: walk-forward splits of price data."""

from __future__ import annotations

from stratopt.model_selection._splitter import SizeLike, WalkForward

__all__ = [
    "SizeLike",
    "WalkForward",
]
