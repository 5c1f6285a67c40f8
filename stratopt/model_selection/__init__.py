"""Model selection through time: walk-forward splits, the walk-forward engine, regimes."""

from __future__ import annotations

from stratopt.model_selection._regimes import label_regimes, regime_table
from stratopt.model_selection._splitter import SizeLike, WalkForward
from stratopt.model_selection._walk_forward import walk_forward
from stratopt.model_selection._wf_result import WalkForwardResult

__all__ = [
    "SizeLike",
    "WalkForward",
    "WalkForwardResult",
    "label_regimes",
    "regime_table",
    "walk_forward",
]
