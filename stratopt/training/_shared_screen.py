"""One screen for every walk-forward fold: the design scored once over the whole history.

A hard rule is causal (its net return on a day depends on prices up to that day only), and so
are the allocation and the costs. The screen's candidates can therefore be scored once over the
whole price history, as one (candidates, days) table of hard net returns, and each fold's
screen is the objective over its own training days' columns of that table: one pass over the
history instead of one per fold (a 5-year train window rolled by a year is scored five times
over otherwise). It is the cached-grid walk-forward's trick applied to the screen.

The indicators then start at the first day of the history rather than at the fold's warm-up:
the values a trader running the rule since that day would have had, still only from the past.
A fold's scores equal those of the same candidates on the prices truncated after the fold's
last training day (tested), so no fold's screen sees a day after its training window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.evaluation import hard_returns
from stratopt.loss import LossSpec
from stratopt.rules._base import Rule
from stratopt.training._screen import Screen, Specs, _with_current, pick_starts, screen_design

__all__ = ["SharedScreen"]


@dataclass(frozen=True)
class SharedScreen:
    """A screen's design and the hard net returns of each of its candidates over a history.

    Build it with :meth:`build`; :meth:`Tuner.fit <stratopt.Tuner.fit>` takes it as
    ``shared_screen`` for a window of the same history (walk-forward passes it to every fold).
    """

    rule_type: type
    specs: Specs
    table: pd.DataFrame  # the design's candidates, natural units
    unit: np.ndarray  # ... and in the unit box
    data: MarketData  # the whole history
    loss: LossSpec
    returns: Tensor  # (candidates, days - 1) hard net returns over the whole history

    @classmethod
    def build(
        cls, rule: Rule, data: MarketData, loss: LossSpec, *, n_candidates: int, seed: int | None
    ) -> SharedScreen | None:
        """Score the design of ``screen_starts(rule, ..., n_candidates=, seed=)`` (without the
        rule's own values, which each fold adds) over all of ``data``; None when the rule has
        nothing to screen."""
        design = screen_design(rule, n_candidates, seed)
        if design is None:
            return None
        specs, table, unit = design
        candidates = rule.with_params(table).to(dtype=data.dtype, device=data.device)
        return cls(type(rule), specs, table, unit, data, loss, hard_returns(candidates, data, loss))

    def starts(self, rule: Rule, window: MarketData, keep: Tensor | None, *, n_starts: int) -> Screen:
        """The screen of a fit on ``window`` (consecutive days of this history) whose loss
        counts the returns ``keep`` (over ``window``'s returns; None: all of them), with
        ``rule``'s own values as candidate 0."""
        if type(rule) is not self.rule_type:
            raise ConfigError(f"this shared screen is of a {self.rule_type.__name__}, not a {type(rule).__name__}")
        rows = self._rows(window, keep)
        table, unit = _with_current(rule, self.specs, self.table, self.unit)
        # candidate 0 (the rule's own values) is scored as the per-fold screen scores it: a
        # candidate rule built from the table, never the caller's rule moved to another dtype
        own = rule.with_params(table.iloc[:1]).to(dtype=self.data.dtype, device=self.data.device)
        with torch.no_grad():
            r = torch.cat([self.loss.rule_returns(own, self.data)[:, rows], self.returns[:, rows]])
            scores = self.loss.score(r).double().cpu().numpy()
        return pick_starts(rule, self.specs, table, unit, scores, n_starts=n_starts, n_days=window.n_days)

    def _rows(self, window: MarketData, keep: Tensor | None) -> Tensor:
        """The columns of :attr:`returns` that are ``window``'s kept returns."""
        dates = self.data.dates
        offset = int(dates.get_indexer(window.dates[:1])[0])
        if offset < 0 or not dates[offset : offset + window.n_days].equals(window.dates):
            raise ConfigError(
                f"the fit's days ({window.dates[0].date()} to {window.dates[-1].date()}) are not consecutive "
                "days of the history the shared screen was scored on; build the screen from the same prices"
            )
        idx = np.arange(window.n_days - 1) if keep is None else np.flatnonzero(keep.cpu().numpy())
        return torch.as_tensor(offset + idx, device=self.returns.device)
