"""The no-look-ahead check that every rule, built-in or user-written, must pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from stratopt._market import MarketData
from stratopt.errors import ConfigError, LookAheadError
from stratopt.rules._base import Rule

__all__ = ["check_causality"]


def check_causality(
    rule: Rule,
    prices: pd.DataFrame | MarketData,
    *,
    n_points: int = 8,
    temperatures: tuple[float, ...] = (0.0, 0.5),
    seed: int | None = 0,
) -> None:
    """Raise :class:`LookAheadError` if any position depends on a later price.

    For ``n_points`` cut days ``t`` spread over the data (random, plus the first and last
    eligible), every price after ``t`` is multiplied by a random factor in [0.5, 2] per day and
    asset; the positions up to and including ``t`` must stay the same bit for bit, for every
    start of a batched rule and at each temperature (0 = hard rule). This is how to check a
    rule you wrote yourself before trusting its backtest.

    Parameters
    ----------
    rule
        Any :class:`~stratopt.rules.Rule`.
    prices
        Price table or market data (at least 3 days).
    n_points
        Number of cut days to test.
    temperatures
        Temperatures at which positions are compared.
    seed
        Seed of the cut days and perturbations.

    Raises
    ------
    LookAheadError
        Naming the first date whose position changed, the cut day and the temperature.

    Examples
    --------
    >>> import stratopt
    >>> prices = stratopt.load_prices("sp500", tickers=["AAPL"], end="1995-12-31")
    >>> stratopt.check_causality(stratopt.rules.MACrossover(), prices)  # passes silently
    """
    if isinstance(prices, MarketData):
        frame = pd.DataFrame(
            np.exp(prices.log_prices.detach().cpu().numpy()), index=prices.dates, columns=list(prices.tickers)
        )
        frame = frame.where(prices.tradable.cpu().numpy())
        dtype = prices.dtype
    else:
        frame, dtype = prices, torch.float64
    if len(frame) < 3:
        raise ConfigError(f"check_causality needs at least 3 days of prices, got {len(frame)}")
    if n_points < 1:
        raise ConfigError(f"n_points={n_points!r} must be >= 1")
    rng = np.random.default_rng(seed)
    n = len(frame)
    cuts = {1, n - 2} | set(rng.integers(1, n - 1, size=max(n_points - 2, 0)).tolist())
    base_data = MarketData.from_prices(frame, dtype=dtype)
    with torch.no_grad():
        base = {t: rule(base_data, temperature=t) for t in temperatures}
    for cut in sorted(cuts):
        factor = np.ones(frame.shape)
        factor[cut + 1 :] = rng.uniform(0.5, 2.0, size=(n - cut - 1, frame.shape[1]))
        poisoned = MarketData.from_prices(frame * factor, dtype=dtype)
        with torch.no_grad():
            for t in temperatures:
                pos = rule(poisoned, temperature=t)
                before, after = base[t][:, : cut + 1], pos[:, : cut + 1]
                same = (before == after) | (torch.isnan(before) & torch.isnan(after))
                if not bool(same.all()):
                    day = int((~same).any(dim=0).any(dim=-1).nonzero()[0])
                    raise LookAheadError(
                        f"{type(rule).__name__} looks ahead: its position on {frame.index[day].date()} "
                        f"changed when prices after {frame.index[cut].date()} were altered "
                        f"(temperature {t}); a position may only use prices up to its own day"
                    )
