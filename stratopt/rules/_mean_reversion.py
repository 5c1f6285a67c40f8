"""Mean reversion around an exponential moving average, with entry/exit hysteresis."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.ops import ema, span_to_alpha
from stratopt.ops._ema import linear_recurrence
from stratopt.rules._base import Rule
from stratopt.rules._features import VOL_FLOOR
from stratopt.rules._params import Param

__all__ = ["MeanReversion", "ewm_zscore", "hold_last_event", "soft_hold"]

#: Lowest log-probability of holding kept by the soft recursion: exp(-60) ~ 1e-26 is 0 for
#: every purpose, and the bound keeps the cumulative log-products small enough for float64.
_LOG_HOLD_MIN = -60.0


def ewm_zscore(x: Tensor, span: Tensor) -> Tensor:
    """Z-score of ``x`` against its exponential moving mean and standard deviation.

    ``m_t = ema(x, span)`` (pandas ``adjust=False``) and the exponentially weighted variance
    ``v_t = (1 - a) (v_{t-1} + a (x_t - m_{t-1})^2)``, ``a = 2 / (span + 1)``, which equals
    pandas ``ewm(span, adjust=False).var(bias=True)``. Returns ``(x - m) / sqrt(v + 1e-8)``
    (the floor keeps flat stretches, such as days before a listing, at z = 0).

    Parameters
    ----------
    x
        Values (days, assets).
    span
        Spans in days, shape (batch,).

    Returns
    -------
    Tensor
        Shape (batch, days, assets); causal.
    """
    mean = ema(x, span)
    a = span_to_alpha(span).to(x.dtype)
    prev = torch.cat([x[None, :1].expand(mean.shape[0], 1, -1), mean[:, :-1]], dim=1)
    a3 = a.reshape(-1, 1, 1)
    var = linear_recurrence((1.0 - a3) * a3 * (x - prev) ** 2, 1.0 - a)
    return (x - mean) / torch.sqrt(var + VOL_FLOOR**2)


def hold_last_event(event: Tensor, value: Tensor) -> Tensor:
    """``value`` at the most recent day (up to and including ``t``) where ``event`` is True.

    Forward-fills by a running maximum of event indices (no loop over days); 0 before the first
    event. Both tensors are (batch, days, assets).
    """
    t = torch.arange(event.shape[1], device=event.device).reshape(1, -1, 1)
    last = torch.cummax(torch.where(event, t, -1), dim=1).values
    held = value.gather(1, last.clamp_min(0))
    return torch.where(last >= 0, held, torch.zeros((), dtype=value.dtype, device=value.device))


def soft_hold(log_long: Tensor, log_short: Tensor, log_hold: Tensor) -> Tensor:
    """Solve ``s_t = long_t - short_t + hold_t s_{t-1}``, ``s_{-1} = 0``, along days (dim 1).

    The soft "last event" recursion: on day ``t`` the position jumps to +1 with probability
    ``long_t``, to -1 with ``short_t``, to 0 with the rest of ``1 - hold_t``, and is kept with
    ``hold_t``. Its solution ``s_t = sum_j (long_j - short_j) exp(P_t - P_j)`` with
    ``P_t = sum_{k <= t} log hold_k`` is evaluated with cumulative sums and ``logcumsumexp`` in
    float64 (no loop over days); inputs are log-probabilities.
    """
    dtype = log_long.dtype
    log_hold = log_hold.to(torch.float64).clamp_min(_LOG_HOLD_MIN)
    cum = torch.cumsum(log_hold, dim=1)
    up = torch.logcumsumexp(log_long.to(torch.float64) - cum, dim=1) + cum
    down = torch.logcumsumexp(log_short.to(torch.float64) - cum, dim=1) + cum
    return (torch.exp(up) - torch.exp(down)).to(dtype)


def _log_band(upper: Tensor, lower: Tensor, log_gap: Tensor) -> Tensor:
    """``log(sigmoid(upper) - sigmoid(lower))`` for ``upper - lower = gap > 0``, stably.

    Uses ``sigmoid(a) - sigmoid(b) = sigmoid(a) sigmoid(-b) (1 - exp(-(a - b)))``;
    ``log_gap = log(1 - exp(-gap))``.
    """
    return F.logsigmoid(upper) + F.logsigmoid(-lower) + log_gap


class MeanReversion(Rule, cli_name="mean-reversion"):
    """Fade stretched prices: short far above the moving mean, long far below, with hysteresis.

    With ``z`` the z-score of log price against its exponential moving mean and standard
    deviation (span ``lookback``, see :func:`ewm_zscore`), the hard rule is::

        short  when z > entry
        long   when z < -entry
        flat   when |z| < exit            (exit = exit_ratio * entry < entry)
        hold the previous position otherwise (and start flat)

    vectorised by forward-filling the last event (:func:`hold_last_event`). The soft rule makes
    each zone a probability (differences of sigmoids of ``(z - level) / temperature``, which
    sum to 1) and runs the expected "last event" recursion ``s_t = P(event_t) e_t +
    (1 - P(event_t)) s_{t-1}`` (:func:`soft_hold`); it stays in [-1, 1] and tends to the hard
    rule as the temperature goes to 0.

    Right after a listing (or the first day of data) the moving standard deviation rests on a
    handful of prices and ``|z|`` can be large (on the second day it is ``sqrt((span - 1) / 2)``
    whatever the move), so the rule may open a position at once: keep some warm-up data before
    the days you evaluate, as walk-forward testing does.

    Parameters
    ----------
    lookback
        Span in days of the moving mean and standard deviation, in (2, 400).
    entry
        Entry level in sigmas, in (0.1, 4).
    exit
        Exit level in sigmas, in (0, entry). It is stored as ``exit_ratio = exit / entry`` in
        (0, 1), so that training can never push the exit level past the entry level.

    Examples
    --------
    >>> rule = MeanReversion(lookback=20, entry=2.0, exit=0.5)
    >>> rule.params
    {'lookback': 20.0, 'entry': 2.0, 'exit_ratio': 0.25}
    """

    def __init__(self, lookback: float = 20.0, entry: float = 2.0, exit: float = 0.5) -> None:
        super().__init__()
        if not 0 < exit < entry:
            raise ConfigError(
                f"exit={exit!r} must be between 0 and entry={entry!r} sigmas; "
                "the position is closed inside the exit band, which lies inside the entry band"
            )
        self.add_param(
            Param("lookback", "days", 2.0, 400.0, 20.0, integer=True, doc="span of moving mean and std", scale="log"),
            lookback,
        )
        self.add_param(Param("entry", "sigma", 0.1, 4.0, 2.0, doc="z-score that opens a position"), entry)
        self.add_param(
            Param("exit_ratio", "x entry", 0.0, 1.0, 0.25, doc="exit z-level as a fraction of entry"),
            exit / entry,
        )

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        z = ewm_zscore(data.log_prices, p["lookback"])
        entry = p["entry"].reshape(-1, 1, 1)
        exit_ = entry * p["exit_ratio"].reshape(-1, 1, 1)
        if temperature == 0:
            long, short = z < -entry, z > entry
            event = long | short | (z.abs() < exit_)
            return hold_last_event(event, long.to(z.dtype) - short.to(z.dtype))
        tau = temperature
        # zones along z: long | hold (low band) | flat | hold (high band) | short
        # the floor only matters if exit_ratio saturates to exactly 1.0 in floating point
        log_gap = torch.log(-torch.expm1(-(entry - exit_).clamp_min(1e-9) / tau))
        log_hold = torch.logaddexp(
            _log_band((z + entry) / tau, (z + exit_) / tau, log_gap),
            _log_band((z - exit_) / tau, (z - entry) / tau, log_gap),
        )
        return soft_hold(F.logsigmoid(-(z + entry) / tau), F.logsigmoid((z - entry) / tau), log_hold)
