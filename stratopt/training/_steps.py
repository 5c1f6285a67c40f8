"""The rule-specific parts of a fit: the training loss, the monitor and the history.

:class:`TrainLoss` is the loop's ``loss_fn`` (soft positions on the train days, smoothed costs,
the objective, penalties). :class:`Monitor` measures every start on the validation days (train
days without validation) once per epoch, soft at the final temperature and hard with exact
costs, for early stopping, checkpoints and the history. :class:`History` keeps one row per
start and epoch.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from stratopt import objectives as obj
from stratopt._market import MarketData
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.rules._base import Rule
from stratopt.training._callbacks import Callback
from stratopt.training._config import Split
from stratopt.training._loop import TrainState

__all__ = ["History", "Monitor", "TrainLoss"]


def first_kept(keep: Tensor | None) -> int:
    """Index of the first return ``keep`` counts (0 without a mask, or when it counts none)."""
    if keep is None or not bool(keep.any()):
        return 0
    return int(torch.nonzero(keep)[0])


class TrainLoss:
    """``-objective + penalties`` of each start on the training days, soft positions.

    With ``batch_days`` each step scores ``batches_per_step`` random contiguous windows of the
    train returns (positions are still computed causally over all train days) and averages.
    """

    def __init__(
        self,
        model: Rule,
        train: MarketData,
        loss: LossSpec,
        *,
        keep: Tensor | None,
        batch_days: int | None,
        batches_per_step: int,
        generator: torch.Generator,
        anchors: list[tuple[Rule, float]] | None = None,
    ) -> None:
        self.model, self.train, self.spec = model, train, loss
        self.batch_days, self.batches_per_step, self.generator = batch_days, batches_per_step, generator
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.init_raw = [p.detach().clone() for p in self.params]
        self.anchors = [(self._anchor_raw(rule), w) for rule, w in anchors or []]
        # returns before the first counted one (a walk-forward fold's warm-up) are never read:
        # the costs and returns of those days are not computed (the positions still are)
        self.first = first_kept(keep)
        self.kept = None if keep is None else keep[self.first :]

    def _anchor_raw(self, rule: Rule) -> list[Tensor]:
        mine = dict(self.model.named_parameters())
        theirs = dict(rule.named_parameters())
        if set(theirs) != set(mine):
            raise ConfigError(f"an anchor must be a {type(self.model).__name__} like the rule trained")
        return [theirs[name].detach().expand_as(mine[name]).clone() for name, p in mine.items() if p.requires_grad]

    def __call__(self, state: TrainState) -> Tensor:
        pos = self.spec.positions(self.model, self.train, temperature=state.temperature)
        r = self.spec.returns(pos, self.train, smooth=True, start=self.first)
        if self.kept is not None:
            r = r[:, self.kept]
        state.logs["train_sharpe"] = obj.sharpe(r.detach()).double().cpu()
        loss = -self._score(r) + self.spec.penalties(pos, self.params, self.init_raw)
        for raw, weight in self.anchors:
            loss = loss + weight * obj.l2_penalty(self.params, raw)
        return loss

    def _score(self, r: Tensor) -> Tensor:
        if self.batch_days is None:
            return self.spec.score(r)
        n, k, w = r.shape[0], self.batches_per_step, self.batch_days
        starts = torch.randint(0, r.shape[1] - w + 1, (k,), generator=self.generator)
        windows = r[:, starts[:, None] + torch.arange(w)]  # (starts, k, w)
        return self.spec.score(windows.reshape(n * k, w)).reshape(n, k).mean(-1)


class Monitor(Callback):
    """Per-start soft and hard loss and Sharpe, into ``state.logs``.

    Logs ``monitor`` (soft loss at ``final_temperature`` on the validation days, else the
    train days) and its Sharpe ``val_sharpe``; ``hard_monitor`` (hard loss, exact costs, same
    days) and ``hard_sharpe``; and ``hard_train``, the hard loss on the training days. One hard
    pass over all days serves both windows. The soft pass is skipped (NaN) when ``soft=False``
    because nothing reads it.
    """

    def __init__(
        self,
        model: Rule,
        data: MarketData,
        split: Split,
        loss: LossSpec,
        *,
        keep: Tensor | None,
        final_temperature: float,
        soft: bool,
    ) -> None:
        self.model, self.data, self.split, self.spec = model, data, split, loss
        self.final_temperature, self.soft = final_temperature, soft
        # the days measured, sliced once: a new slice per epoch would recompute its memoised
        # features (allocation, volatility, hard-rule EMAs) every epoch
        self.view = data if split.has_validation or split.n_train == data.n_days else data.slice(0, split.n_train)
        # returns before the first counted training return (a fold's warm-up) are not computed
        self.first = first_kept(keep)
        self.kept = None if keep is None else keep[self.first :]

    def _returns(self, *, temperature: float) -> Tensor:
        return self.spec.rule_returns(self.model, self.view, temperature=temperature, start=self.first)

    def _windows(self, r: Tensor) -> tuple[Tensor, Tensor]:
        """(train returns, monitored returns) of returns from :attr:`first` on."""
        cut = self.split.n_train - 1 - self.first
        train = r[:, :cut]
        if self.kept is not None:
            train = train[:, self.kept]
        return train, (r[:, cut:] if self.split.has_validation else train)

    def measure(self, *, soft: bool | None = None) -> dict[str, Tensor]:
        """Soft (unless ``soft=False``) and hard loss and Sharpe of every start, float64 on the CPU."""
        soft = self.soft if soft is None else soft
        n = self.model.batch_size
        out: dict[str, Tensor] = {}
        with torch.no_grad():
            train, watched = self._windows(self._returns(temperature=0.0))
            out["hard_monitor"] = (-self.spec.score(watched)).double().cpu()
            out["hard_sharpe"] = obj.sharpe(watched).double().cpu()
            out["hard_train"] = (
                (-self.spec.score(train)).double().cpu() if self.split.has_validation else out["hard_monitor"]
            )
            if soft:
                _, watched = self._windows(self._returns(temperature=self.final_temperature))
                out["monitor"] = (-self.spec.score(watched)).double().cpu()
                out["val_sharpe"] = obj.sharpe(watched).double().cpu()
            else:
                out["monitor"] = out["val_sharpe"] = torch.full((n,), math.nan, dtype=torch.float64)
        return out

    def on_train_begin(self, state: TrainState) -> None:
        state.logs.update(self.measure())  # the starting point, for checkpoints

    def on_epoch_end(self, state: TrainState) -> None:
        state.logs.update(self.measure())


class History(Callback):
    """One row per start and epoch: losses, Sharpe ratios, gradient norm, rate, temperature,
    divergence and every parameter in natural units (plain lists, no DataFrame per epoch)."""

    def __init__(self, model: Rule, optimizer: torch.optim.Optimizer, *, has_validation: bool) -> None:
        self.model, self.optimizer, self.has_validation = model, optimizer, has_validation
        self.rows: list[dict[str, Any]] = []

    def on_epoch_end(self, state: TrainState) -> None:
        n = state.n_starts
        values = {name: v.tolist() for name, v in self.model.natural_values().items()}
        logs = state.logs
        columns = {
            "loss": state.loss.tolist(),
            "train_sharpe": logs["train_sharpe"].tolist(),
            "val_sharpe": logs["val_sharpe"].tolist() if self.has_validation else [math.nan] * n,
            "monitor_hard_sharpe": logs["hard_sharpe"].tolist(),
            "grad_norm": state.grad_norm.tolist(),
        }
        dead = ((state.diverged_at >= 0) & (state.diverged_at <= state.epoch)).tolist()
        lr = self.optimizer.param_groups[0]["lr"]
        rows = [
            {
                "epoch": state.epoch,
                "start": b,
                **{k: v[b] for k, v in columns.items()},
                "lr": lr if state.lr_ratio is None else lr * float(state.lr_ratio[b]),
                "temperature": state.temperature,
                "diverged": dead[b],
                **{k: v[b] for k, v in values.items()},
            }
            for b in range(n)
        ]
        logs["rows"] = rows
        self.rows.extend(rows)
