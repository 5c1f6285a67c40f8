"""Volatility targeting: scale any rule's positions to a learnable target volatility."""

from __future__ import annotations

import math

from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.metrics import PERIODS_PER_YEAR
from stratopt.rules._base import Rule
from stratopt.rules._features import daily_vol
from stratopt.rules._params import Param

__all__ = ["TRADING_DAYS", "VolTarget"]

#: Trading days per year, used to annualise the daily volatility.
TRADING_DAYS = PERIODS_PER_YEAR


class VolTarget(Rule):
    """Scale an inner rule's positions so that each asset runs at a target volatility.

    ``position = inner_position * min(target_vol / (sqrt(252) * vol_t), max_leverage)``, where
    ``vol_t`` is the causal EWMA volatility of daily log returns with span ``vol_span`` (see
    :func:`stratopt.rules._features.daily_vol`), known at the close of day ``t``.

    Unlike other rules, positions are **not** confined to [-1, 1]: they lie in
    ``[-max_leverage, max_leverage]`` (a quiet asset is levered up to the cap). The inner rule
    is a sub-module, so its parameters appear as ``"rule.<name>"`` and train jointly with
    ``target_vol`` and ``vol_span``. The cap is the same ``min`` at every temperature (it is
    continuous, and its kink only matters where the leverage sits exactly at the cap); the
    temperature only softens the inner rule, and the hard rule rounds ``vol_span`` to whole
    days.

    Parameters
    ----------
    rule
        The rule whose positions are scaled (single start; call :meth:`with_starts` on the
        ``VolTarget`` instead).
    target_vol
        Annualised target volatility per asset, in (0.01, 1).
    vol_span
        Span in days of the EWMA volatility, in (2, 400).
    max_leverage
        Cap on ``|position|`` (fixed, not trained), > 0.

    Examples
    --------
    >>> from stratopt.rules import MACrossover
    >>> VolTarget(MACrossover(fast=10, slow=50), target_vol=0.1).params
    {'target_vol': 0.1, 'vol_span': 60.0, 'rule.fast': 10.0, 'rule.ratio': 5.0, 'rule.slow': 50.0}
    """

    def __init__(
        self,
        rule: Rule,
        target_vol: float = 0.10,
        vol_span: float = 60.0,
        *,
        max_leverage: float = 2.0,
    ) -> None:
        super().__init__()
        if not isinstance(rule, Rule):
            raise ConfigError(f"VolTarget wraps a stratopt Rule instance, got {rule!r}; pass e.g. MACrossover()")
        if rule.batch_size != 1:
            raise ConfigError(
                f"the inner rule has {rule.batch_size} starts; wrap a single-start rule and call "
                "with_starts on the VolTarget"
            )
        if not (math.isfinite(max_leverage) and max_leverage > 0):
            raise ConfigError(f"max_leverage={max_leverage!r} must be a positive finite number, e.g. 2.0")
        self.max_leverage = float(max_leverage)
        self.add_param(Param("target_vol", "ann. vol", 0.01, 1.0, 0.10, doc="annualised volatility target"), target_vol)
        self.add_param(
            Param("vol_span", "days", 2.0, 400.0, 60.0, integer=True, doc="span of the EWMA volatility", scale="log"),
            vol_span,
        )
        self.rule = rule

    def leverage(self, data: MarketData, p: dict[str, Tensor]) -> Tensor:
        """The capped scale factor (batch, days, assets) from natural values ``p``."""
        annual = daily_vol(data, p["vol_span"]) * math.sqrt(TRADING_DAYS)
        return (p["target_vol"].reshape(-1, 1, 1) / annual).clamp_max(self.max_leverage)

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        return self.rule(data, temperature=temperature) * self.leverage(data, p)
