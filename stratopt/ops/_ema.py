"""Exponential moving averages with learnable spans, vectorised over days.

The recursion ``y[t] = a x[t] + q y[t-1]`` (``q = 1 - a``) is solved as a chunked scan: days are
cut into chunks of ``CHUNK`` days; inside a chunk the recursion is a product with the lower
triangular matrix ``q^(i-j)`` (one batched matmul for all chunks, assets and spans); the values
carried from chunk to chunk follow the same recursion with factor ``q^CHUNK`` over ``T / CHUNK``
steps, solved the same way. Work is O(T x CHUNK) per series, linear in days, exact (no kernel is
truncated) and differentiable in the span. A Python loop over days under autograd is about 100x
slower on 8,000 days, and an FFT convolution about 2x slower here.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd import forward_ad

from stratopt.ops._lfilter import filter_cpu

__all__ = ["CHUNK", "ema", "ewm_mean", "linear_recurrence", "span_to_alpha"]

#: Days per chunk of the scan; 32 measured fastest on 2 CPU cores for 1 to 64 starts (vs 64, 128).
CHUNK = 32


def span_to_alpha(span: Tensor) -> Tensor:
    """Smoothing factor ``2 / (span + 1)`` (the pandas ``span`` convention)."""
    return 2.0 / (span + 1.0)


def _powers(q_log: Tensor, exponents: Tensor) -> Tensor:
    """``q^e`` for ``e >= 0`` and 0 elsewhere, shaped (B, *exponents.shape); safe to differentiate."""
    e = exponents.clamp_min(0)
    out = torch.exp(e * q_log.reshape(-1, *([1] * exponents.dim())))
    return torch.where(exponents >= 0, out, torch.zeros((), dtype=out.dtype, device=out.device))


def linear_recurrence(x: Tensor, q: Tensor) -> Tensor:
    """Solve ``y[t] = x[t] + q y[t-1]``, ``y[-1] = 0``, along days by a chunked scan.

    Parameters
    ----------
    x
        Inputs (days, assets) shared by all factors, or (batch, days, assets).
    q
        Decay factors in [0, 1), shape (batch,).

    Returns
    -------
    Tensor
        Shape (batch, days, assets).
    """
    n_days, n_assets = x.shape[-2], x.shape[-1]
    n_chunks = -(-n_days // CHUNK)
    if n_chunks * CHUNK != n_days:
        x = torch.nn.functional.pad(x, (0, 0, 0, n_chunks * CHUNK - n_days))
    chunks = x.reshape(*x.shape[:-2], n_chunks, CHUNK, n_assets)
    # clamped so that q = 0 (span 1: no smoothing) gives q^0 = 1 and q^k = 0, not 0 * -inf
    q_log = torch.log(q.to(x.dtype)).clamp_min(-700.0)
    i = torch.arange(CHUNK, device=x.device, dtype=x.dtype)
    within = _powers(q_log, i[:, None] - i[None, :])  # (B, L, L), lower triangular q^(i-j)
    pattern = "bij,cjn->bcin" if chunks.dim() == 3 else "bij,bcjn->bcin"
    local = torch.einsum(pattern, within, chunks)  # zero-started scan inside each chunk
    ends = local[:, :, -1, :]  # (B, C, N)
    if n_chunks <= CHUNK:
        c = torch.arange(n_chunks, device=x.device, dtype=x.dtype)
        across = _powers(q_log * CHUNK, c[:, None] - c[None, :])  # (B, C, C)
        carried = torch.einsum("bcd,bdn->bcn", across, ends)
    else:  # the carries obey the same recursion with factor q^CHUNK: recurse, stays linear
        carried = linear_recurrence(ends, torch.exp(q_log * CHUNK))
    incoming = torch.nn.functional.pad(carried[:, :-1], (0, 0, 1, 0))  # value before each chunk
    decay = torch.exp((i + 1).reshape(1, 1, CHUNK, 1) * q_log.reshape(-1, 1, 1, 1))
    y = local + decay * incoming[:, :, None, :]
    return y.reshape(y.shape[0], n_chunks * CHUNK, n_assets)[:, :n_days]


def _geometric_filter(x: Tensor, alpha: Tensor) -> Tensor:
    """Zero-started EMA ``y[t] = a x[t] + (1 - a) y[t-1]`` for ``alpha`` of shape (B,)."""
    a = alpha.to(x.dtype).reshape(-1)
    forward_mode = forward_ad.unpack_dual(a).tangent is not None or forward_ad.unpack_dual(x).tangent is not None
    differentiable = (a.requires_grad and torch.is_grad_enabled()) or forward_mode
    if x.device.type == "cpu" and not forward_mode:  # compiled recursion, adjoint backward
        if x.dim() == 2 and not differentiable and a.numel() > 1:
            uniq, inverse = torch.unique(a, return_inverse=True)
            if uniq.numel() < a.numel():
                return filter_cpu(x, uniq)[inverse]
        return filter_cpu(x, a)
    if x.dim() == 2 and not differentiable and a.numel() > 1:
        # Without gradients, repeated spans (a parameter grid, rounded hard-rule windows) are
        # filtered once: a 100 x 100 grid needs 200 EMAs, not 20,000.
        uniq, inverse = torch.unique(a, return_inverse=True)
        if uniq.numel() < a.numel():
            return (uniq.reshape(-1, 1, 1) * linear_recurrence(x, 1.0 - uniq))[inverse]
    return a.reshape(-1, 1, 1) * linear_recurrence(x, 1.0 - a)


def ema(x: Tensor, span: Tensor) -> Tensor:
    """Exponential moving average, initialised at the first observation.

    Matches ``pandas.Series.ewm(span=span, adjust=False).mean()`` and the recursion
    ``y[t] = a x[t] + (1 - a) y[t-1]`` with ``y[-1] = x[0]``, ``a = 2 / (span + 1)``.

    Parameters
    ----------
    x
        Values shaped (days, assets), or (batch, days, assets).
    span
        Spans in days, shape (batch,), any real value >= 1; differentiable.

    Returns
    -------
    Tensor
        Shape (batch, days, assets). Causal: row ``t`` uses rows ``<= t`` only.
    """
    span = torch.as_tensor(span, dtype=x.dtype, device=x.device).reshape(-1)
    first = x[..., :1, :]
    # Filtering x - x[0] with a zero start equals filtering x started at x[0] (linearity), and
    # the smaller magnitudes keep float32 FFT round-off low.
    return first + _geometric_filter(x - first, span_to_alpha(span))


def ewm_mean(x: Tensor, span: Tensor, *, weights: Tensor | None = None, floor: float = 0.0) -> Tensor:
    """Weighted EMA normalised by the EMA of the weights (pandas ``adjust=True`` when unweighted).

    ``sum_j q^j w[t-j] x[t-j] / sum_j q^j w[t-j]``: observations with weight 0 (days before a
    ticker is listed, say) count for nothing, so the average is defined from the first real
    observation on. Where no weight has been seen yet the result is ``floor``.

    Parameters
    ----------
    x
        Values (days, assets) or (batch, days, assets).
    span
        Spans in days, shape (batch,).
    weights
        Nonnegative weights broadcastable to ``x``; ones when omitted.
    floor
        Value returned before the first positive weight.
    """
    span = torch.as_tensor(span, dtype=x.dtype, device=x.device).reshape(-1)
    alpha = span_to_alpha(span)
    w = torch.ones_like(x) if weights is None else weights.to(x.dtype)
    num = _geometric_filter(w * x, alpha)
    # weights shared by every row (days, assets) are filtered once per distinct span, not once
    # per row of x
    den = _geometric_filter(w if w.dim() == 2 else w.expand_as(x), alpha).expand_as(num)
    seen = den > 0
    return torch.where(seen, num / torch.where(seen, den, torch.ones_like(den)), torch.full_like(num, floor))
