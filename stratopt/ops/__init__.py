"""Differentiable tensor operations that rules are built from."""

from stratopt.ops._ema import ema, ewm_mean, span_to_alpha
from stratopt.ops._smooth import smooth_abs, soft_sign, soft_step
from stratopt.ops._span_cache import SpanCache, hard_ema

__all__ = ["SpanCache", "ema", "ewm_mean", "hard_ema", "smooth_abs", "soft_sign", "soft_step", "span_to_alpha"]
