"""Differentiable tensor operations that rules are built from."""

from stratopt.ops._ema import ema, ewm_mean, span_to_alpha
from stratopt.ops._smooth import smooth_abs, soft_sign, soft_step

__all__ = ["ema", "ewm_mean", "smooth_abs", "soft_sign", "soft_step", "span_to_alpha"]
