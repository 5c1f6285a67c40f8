"""Hard-rule EMAs filtered once per distinct span and reused, bounded in memory.

A hard rule rounds its windows to whole days, so over many candidates (a screen), epochs (the
monitor's hard pass) and starts it asks for the same few hundred spans again and again. An EMA
is a fixed function of the series and the span, so each distinct span needs filtering once
per series: :class:`SpanCache` keeps the filtered series, keyed by span and dtype, and evicts
the least recently used ones beyond a byte budget. One cache belongs to one series (it is kept
on the :class:`~stratopt._market.MarketData` it was computed from, see :func:`hard_ema`), so a
key never has to name the data.

Cached values are the same numbers :func:`~stratopt.ops.ema` returns for those spans (the
same chunked scan on a batch of distinct spans; per-span results of a batched matrix product
do not depend on which other spans share the batch).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.autograd import forward_ad

from stratopt.ops._ema import ema

if TYPE_CHECKING:
    from stratopt._market import MarketData

__all__ = ["MAX_BYTES", "SpanCache", "hard_ema"]

#: Byte budget of one series' cache: 64 MiB, e.g. 200 spans of 2,000 days x 20 assets in
#: float64 (a fit's starts over all its epochs need a few dozen), or 8 spans of 2,000 days x
#: 500 assets.
MAX_BYTES = 64 * 2**20


class SpanCache:
    """EMAs of one series ``x`` (days, assets) by span, least recently used evicted first.

    Parameters
    ----------
    x
        The series every span filters.
    max_bytes
        Budget; a batch that does not fit is computed and returned without being kept.
    """

    def __init__(self, x: Tensor, max_bytes: int = MAX_BYTES) -> None:
        if x.dim() != 2:
            raise ValueError(f"SpanCache filters one (days, assets) series, got shape {tuple(x.shape)}")
        self.x, self.max_bytes = x.detach(), int(max_bytes)
        self.store: OrderedDict[float, Tensor] = OrderedDict()
        self.bytes = 0
        self.hits = self.misses = 0

    def __call__(self, spans: Tensor) -> Tensor:
        """EMAs (batch, days, assets) of ``x`` for ``spans`` (batch,), without gradients."""
        values = [float(s) for s in spans.detach().reshape(-1).cpu().tolist()]
        missing = sorted({v for v in values if v not in self.store})
        self.misses += len(missing)
        self.hits += len(values) - len(missing)
        fresh: dict[float, Tensor] = {}
        if missing:
            with torch.no_grad():
                computed = ema(self.x, torch.tensor(missing, dtype=self.x.dtype, device=self.x.device))
            fresh = dict(zip(missing, computed))
        out = torch.stack([self.store[v] if v in self.store else fresh[v] for v in values])
        for v in values:
            if v in self.store:
                self.store.move_to_end(v)
        per = self.x.numel() * self.x.element_size()
        for v, y in fresh.items():
            if per > self.max_bytes:
                break
            while self.bytes + per > self.max_bytes and self.store:
                self.store.popitem(last=False)
                self.bytes -= per
            self.store[v] = y.clone()  # not a view of the batch, which would keep it all alive
            self.bytes += per
        return out


def hard_ema(data: MarketData, spans: Tensor) -> Tensor:
    """EMA of ``data.log_prices`` for whole-day ``spans`` (batch,), from ``data``'s span cache.

    For the hard rule (no gradient flows to rounded spans); equal to
    ``ema(data.log_prices, spans)``, which it falls back to when a gradient (reverse or forward
    mode) is asked of ``spans``.
    """
    if (spans.requires_grad and torch.is_grad_enabled()) or forward_ad.unpack_dual(spans).tangent is not None:
        return ema(data.log_prices, spans)
    cache = data.cached(("span_cache", "log_prices"), lambda: SpanCache(data.log_prices))
    return cache(spans)
