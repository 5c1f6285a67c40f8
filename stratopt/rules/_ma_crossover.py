"""Moving-average crossover with a learnable fast span and slow-to-fast ratio."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.ops import ema, ewm_mean, hard_ema, soft_sign
from stratopt.rules._base import Rule
from stratopt.rules._params import Param

__all__ = ["MACrossover"]

#: Span (days) of the causal RMS of the crossover gap that normalises it.
NORM_SPAN = 252.0
FAST = Param("fast", "days", 2.0, 100.0, 20.0, integer=True, doc="fast EMA span", scale="log")
RATIO = Param("ratio", "x fast", 1.25, 8.0, 5.0, doc="slow span as a multiple of the fast one", scale="log")


class MACrossover(Rule, cli_name="ma-crossover"):
    """Long when the fast EMA of log price is above the slow one, short when below.

    The slow span is ``fast x ratio`` with ``ratio`` in [1.25, 8], so the rule can neither
    invert (fast above slow) nor collapse (two nearly equal spans whose difference is noise):
    no value of the optimiser's raw weights reaches either. Both are optimised in log space.

    The soft position is ``tanh(y / temperature)`` with the normalised gap
    ``y = (ema_fast - ema_slow) / rms(gap)``, where ``rms`` is the causal EWMA root mean square
    of the gap itself over :data:`NORM_SPAN` days (the normalised MACD of Baz, Granger, Harvey,
    Le Roux & Rattray 2015, as used by Deep Momentum Networks, with the price-volatility step
    folded into the gap's own scale). The signal thus carries its own scale: one temperature
    means the same at every span and for every asset, and the soft rule cannot gain by
    shrinking its signal towards the linear part of the tanh. The hard position is
    ``sign(ema_fast - ema_slow)`` with the fast span rounded to whole days and the slow span
    rounded too, kept at least one day longer.

    Parameters
    ----------
    fast
        Fast EMA span in days, in [2, 100] (``alpha = 2 / (span + 1)``).
    slow
        Slow EMA span in days; stored as ``ratio = slow / fast``, which must lie in [1.25, 8].
    ratio
        Alternative to ``slow``.

    Examples
    --------
    >>> rule = MACrossover(fast=20, slow=100)
    >>> rule.params
    {'fast': 20.0, 'ratio': 5.0, 'slow': 100.0}
    >>> rule.set_params(slow=60).params["ratio"]
    3.0
    """

    derived_units: ClassVar[dict[str, str]] = {"slow": "days"}

    def __init__(self, fast: float = 20.0, slow: float | None = None, *, ratio: float | None = None) -> None:
        super().__init__()
        if slow is not None and ratio is not None:
            raise ConfigError("pass slow or ratio, not both")
        self.add_param(FAST, fast)
        self.add_param(RATIO, _ratio(float(slow), float(fast)) if slow is not None else ratio)

    def derived(self, p: dict[str, Tensor], *, hard: bool = False) -> dict[str, Tensor]:
        return {"slow": _slow(p["fast"], p["ratio"], hard=hard)}

    def params_from_derived(self, given: dict[str, Any]) -> dict[str, Any]:
        fast = np.asarray(given["fast"] if "fast" in given else self.batch_params()["fast"].to_numpy(), dtype=float)
        slow = np.asarray(given["slow"], dtype=float)
        ratio = slow / fast
        if "ratio" in given:  # both given (a params record): they must agree, and ratio is kept
            if not np.allclose(np.asarray(given["ratio"], dtype=float), ratio, rtol=1e-6):
                raise ConfigError(f"slow={given['slow']!r} and ratio={given['ratio']!r} disagree; pass one of them")
            return {"ratio": given["ratio"]}
        for s, f in np.broadcast(slow, fast):
            _ratio(float(s), float(f))
        return {"ratio": ratio if ratio.ndim else float(ratio)}

    def fixed_window(self) -> float:
        """The longest slow span the bounds allow, and the gap's normalisation span."""
        return max(FAST.high * RATIO.high, NORM_SPAN)

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        fast = p["fast"]
        slow = _slow(fast, p["ratio"], hard=temperature == 0)
        n = fast.shape[0]
        spans = torch.cat([fast, slow])
        if temperature == 0:  # whole-day spans: each filtered once per data set, then reused
            both = hard_ema(data, spans)
            return soft_sign(both[:n] - both[n:], 0.0)
        both = ema(data.log_prices, spans)  # one pass for both spans
        gap = both[:n] - both[n:]
        span = torch.full((n,), NORM_SPAN, dtype=gap.dtype, device=gap.device)
        # floored before the square root: at the first day the gap is exactly 0 and so is its
        # mean square, where sqrt has an infinite derivative
        mean_sq = ewm_mean(gap * gap, span, weights=data.tradable, floor=0.0)
        y = gap / torch.sqrt(mean_sq.clamp_min(torch.finfo(gap.dtype).tiny))
        return soft_sign(y, temperature)


def _slow(fast: Tensor, ratio: Tensor, *, hard: bool) -> Tensor:
    """``fast x ratio``; for the hard rule whole days, at least one day longer than ``fast``."""
    slow = fast * ratio
    return torch.maximum(torch.round(slow), fast + 1.0) if hard else slow


def _ratio(slow: float, fast: float) -> float:
    ratio = slow / fast
    if not RATIO.low <= ratio <= RATIO.high:
        raise ConfigError(
            f"slow={slow:g} days is {ratio:.3g} x fast={fast:g}; the slow span must be between "
            f"{RATIO.low:g} and {RATIO.high:g} times the fast one (a crossover of nearly equal or "
            "inverted spans trades noise)"
        )
    return ratio
