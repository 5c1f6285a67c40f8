"""``fit``: train a rule once, the function form of :class:`~stratopt.Tuner`."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from stratopt._market import MarketData
from stratopt.loss import refuse_loss_settings
from stratopt.rules._base import Rule
from stratopt.training._result import FitResult
from stratopt.training._tuner import Tuner

__all__ = ["fit"]


def fit(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    *,
    train_days: np.ndarray | None = None,
    **settings: Any,
) -> FitResult:
    """Train ``rule`` on ``prices``: ``Tuner(rule, **settings).fit(prices, train_days=...)``.

    Every setting (``loss``, ``optimizer``, ``lr``, ``epochs``, ``n_starts``, ``seed``,
    ``validation``, ``select``, ...) is a :class:`~stratopt.Tuner` parameter, documented there.
    Costs, slippage, allocation, the objective and the position mode live in ``loss``, a
    :class:`~stratopt.LossSpec`, so that the trained and the reported rule share them.

    Examples
    --------
    >>> import stratopt
    >>> from stratopt.rules import MACrossover
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL"], end="2005-12-31")
    >>> res = stratopt.fit(MACrossover(20, 100), prices, epochs=3, loss=stratopt.LossSpec(cost_bps=10))
    >>> res.status, res.config["loss"]["cost_bps"]
    ('max_epochs', 10.0)
    """
    check_settings(settings)
    return Tuner(rule, **settings).fit(prices, train_days=train_days)


def check_settings(settings: dict[str, Any]) -> None:
    """Refuse names that are not Tuner settings, pointing loss settings to ``LossSpec``."""
    refuse_loss_settings(settings, where="fit", known={f.name for f in dataclasses.fields(Tuner)} - {"rule"})
