"""The result of a fit: trained rule, history, status, soft and hard metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import torch
from torch import Tensor

from stratopt import metrics as m
from stratopt._json import jsonable
from stratopt._market import MarketData
from stratopt._result import Result
from stratopt.errors import ConfigError
from stratopt.loss import LossSpec
from stratopt.rules._base import Rule

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from stratopt.training._config import Split

__all__ = ["FitResult", "Status", "evaluate_rule"]

Status = Literal["converged", "early_stopped", "max_epochs", "diverged"]


def evaluate_rule(
    rule: Rule,
    data: MarketData,
    split: Split,
    loss: LossSpec,
    *,
    temperature: float,
    train_keep: Tensor | None = None,
) -> dict[str, dict[str, float]]:
    """Soft (at ``temperature``, smoothed costs) and hard (temperature 0, exact costs) Sharpe and
    objective on the train days and, if any, the validation days. Positions are computed over
    all days (causal), so validation days use train days as indicator warm-up only.
    ``train_keep`` selects the train returns that count (warm-up days excluded)."""
    out: dict[str, dict[str, float]] = {}
    with torch.no_grad():
        soft = loss.rule_returns(rule, data, temperature=temperature)[0]
        hard = loss.rule_returns(rule, data, temperature=0.0)[0]
    windows = {"train": slice(0, split.n_train - 1)}
    if split.has_validation:
        windows["validation"] = slice(split.n_train - 1, split.n_days - 1)
    for name, sl in windows.items():
        s, h = soft[sl], hard[sl]
        if name == "train" and train_keep is not None:
            s, h = s[train_keep], h[train_keep]
        out[name] = {
            "soft_sharpe": m.sharpe_ratio(s.cpu().numpy()),
            "hard_sharpe": m.sharpe_ratio(h.cpu().numpy()),
            "soft_objective": float(loss.score(s.unsqueeze(0))[0]),
            "hard_objective": float(loss.score(h.unsqueeze(0))[0]),
            "hard_annual_return": m.annual_return(h.cpu().numpy()),
        }
        out[name]["sharpe_gap"] = out[name]["soft_sharpe"] - out[name]["hard_sharpe"]
    return out


@dataclass(repr=False)
class FitResult(Result):
    """What :func:`stratopt.fit` returns.

    Attributes
    ----------
    rule
        The trained rule (the best start), ready for :func:`stratopt.backtesting`.
    batch_rule
        Every start after training, as one batched rule (candidates for overfitting tests).
    history
        One row per epoch for the best start: loss, train/validation soft Sharpe, gradient
        norm, learning rate, temperature and every parameter in natural units.
    history_all
        The same for every start, with a ``start`` column (optimiser paths of a multi-start).
    starts
        Final parameters of every start, its monitored loss and the epoch it diverged (-1: no).
    initial_starts
        Parameters of every start before the first step (``history`` rows are after each step).
    diagnostics
        What the hard rule does on the monitored days (validation, else train): time in
        market, trades per year, turnover; parameters pinned at a bound; the epoch whose
        parameters were kept (-1: the starting point); epochs where the loss jumped.
    screen
        The global screen's candidates with their hard score on the training days and the
        start each became (-1: not chosen); None without a screen.
    status
        ``"converged"``, ``"early_stopped"``, ``"max_epochs"`` or ``"diverged"``.
    metrics
        ``{"train": {...}, "validation": {...}}`` with soft and hard Sharpe and their gap.
    """

    rule: Rule
    batch_rule: Rule
    history: pd.DataFrame
    history_all: pd.DataFrame
    starts: pd.DataFrame
    best_start: int
    status: Status
    diverged_at: int | None
    metrics: dict[str, dict[str, float]]
    config: dict[str, Any]
    data_hash: str
    initial_starts: pd.DataFrame | None = None
    loss: LossSpec = field(default_factory=LossSpec)
    screen: pd.DataFrame | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    version: str = field(default_factory=lambda: _version())

    @property
    def params(self) -> dict[str, float]:
        """Trained parameters of the best start, in natural units."""
        return self.rule.params

    def summary(self) -> str:
        """A plain-text report: status, parameters with units, soft and hard metrics."""
        lines = [
            f"{self.config['rule']} fit: {self.status}"
            + (f" at epoch {self.diverged_at}" if self.diverged_at is not None else "")
            + f" after {len(self.history)} epochs ({self.config['optimizer']}, lr={self.config['lr']},"
            f" {self.config['n_starts']} start(s), best start {self.best_start})",
            "",
            self.rule.param_table()[["value", "hard", "unit", "low", "high"]].to_string(
                float_format=lambda v: f"{v:.4g}"
            ),
            "",
        ]
        n_weights = sum(p.numel() for p in self.rule.parameters()) - sum(1 for _ in self.rule.named_specs())
        if n_weights:
            lines.insert(-1, f"plus {n_weights} unstructured weights (a neural policy's), not shown")
        table = pd.DataFrame(self.metrics).T[["soft_sharpe", "hard_sharpe", "sharpe_gap", "hard_annual_return"]]
        lines.append(table.to_string(float_format=lambda v: f"{v:.3f}"))
        lines += self._diagnostic_lines()
        return "\n".join(lines)

    def _diagnostic_lines(self) -> list[str]:
        d = self.diagnostics
        if not d:
            return []
        where = "validation" if "validation" in self.metrics else "train"
        epoch = d.get("selected_epoch", -1)
        kept = "the starting point (training did not improve on it)" if epoch < 0 else f"epoch {epoch}"
        lines = [
            "",
            f"hard rule on the {where} days: in the market {d['time_in_market']:.0%} of days, "
            f"{d['trades_per_year']:.1f} trades per asset and year, turnover {d['turnover']:.1f}x a year",
            f"kept parameters: {kept}",
        ]
        if d.get("pinned"):
            lines.append("at a bound: " + ", ".join(f"{k} ({v})" for k, v in d["pinned"].items()))
        if d.get("loss_jumps"):
            lines.append(f"loss jumped at epoch(s) {', '.join(map(str, d['loss_jumps'][:5]))}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record: rule and params, status, metrics, loss, config, history, starts,
        package version and data hash (what :meth:`load` reads back)."""
        return jsonable(
            {
                "rule": type(self.rule).__name__,
                "params": self.params,
                # every weight as trained, for rules whose state is more than their named
                # parameters (a neural policy's layers): load() restores it exactly
                "state": {k: v.detach().cpu().tolist() for k, v in self.rule.state_dict().items()},
                "status": self.status,
                "diverged_at": self.diverged_at,
                "best_start": self.best_start,
                "epochs_run": len(self.history),
                "metrics": self.metrics,
                "diagnostics": self.diagnostics,
                "loss": self.loss.to_dict(),
                "config": self.config,
                "stratopt_version": self.version,
                "data_hash": self.data_hash,
                "history": self.history.reset_index().to_dict(orient="list"),
                "starts": self.starts.to_dict(orient="list"),
            }
        )

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON; :meth:`load` reads it back."""
        path = Path(path)
        self.to_json(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> FitResult:
        """A result saved by :meth:`save`: the rule rebuilt with its fitted parameters, metrics,
        loss, config and history (per-start histories are not saved)."""
        from stratopt.rules._registry import rule_from_record

        try:
            record = json.loads(Path(path).read_text())
            rule = rule_from_record(record["rule"], record["params"])
            if "state" in record:
                _restore_state(rule, record["state"], path)
            history = pd.DataFrame(record["history"]).set_index("epoch").astype(float, errors="ignore")
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} is not a saved stratopt fit ({exc}); write one with FitResult.save") from exc
        return cls(
            rule=rule,
            batch_rule=rule,
            history=history,
            history_all=history.assign(start=record["best_start"]).reset_index(),
            starts=pd.DataFrame(record["starts"]).rename_axis("start"),
            best_start=int(record["best_start"]),
            status=record["status"],
            diverged_at=record["diverged_at"],
            metrics=record["metrics"],
            config=record["config"],
            data_hash=record["data_hash"],
            loss=LossSpec.from_dict(record["loss"]),
            diagnostics=record.get("diagnostics", {}),
            version=record["stratopt_version"],
        )

    def plot(self, ax: Axes | None = None) -> Figure:
        """Loss, soft Sharpe (train and validation) and parameters over the epochs."""
        from stratopt.training._plots import plot_fit

        return plot_fit(self)

    def __repr__(self) -> str:
        return f"FitResult(status={self.status!r}, params={self.params}, epochs={len(self.history)})"


def _version() -> str:
    from stratopt import __version__

    return __version__


def _restore_state(rule: Any, state: dict[str, Any], path: str | Path) -> None:
    """Load the saved weights into ``rule`` (rebuilt from its defaults), refusing a mismatch."""
    current = rule.state_dict()
    if set(state) != set(current) or any(
        tuple(torch.as_tensor(v).shape) != tuple(current[k].shape) for k, v in state.items()
    ):
        raise ConfigError(
            f"{path}: the saved weights of {type(rule).__name__} do not fit the rule rebuilt from its "
            "defaults (another architecture); rebuild the rule as it was trained and call load_state_dict"
        )
    rule.load_state_dict({k: torch.as_tensor(v, dtype=current[k].dtype) for k, v in state.items()})
