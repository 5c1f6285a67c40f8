"""The base class of every trading rule: parameters in natural units, batched, causal."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from stratopt._market import MarketData, as_market_data
from stratopt.errors import ConfigError
from stratopt.rules._params import Param

__all__ = ["RULE_REGISTRY", "Rule", "has_unnamed_weights"]

#: Rules by command-line name, filled by ``class MyRule(Rule, cli_name="my-rule")``.
RULE_REGISTRY: dict[str, type[Rule]] = {}


class Rule(nn.Module):
    """A trading rule whose parameters are differentiable weights.

    A rule maps market data to positions in [-1, 1] shaped (batch, days, assets). The batch
    dimension holds independent parameter sets (starts) evaluated in one pass. The position on
    day ``t`` may use prices up to and including day ``t`` only; :func:`stratopt.check_causality`
    tests that property for any rule.

    Subclasses declare parameters with :meth:`add_param` in ``__init__`` and implement
    :meth:`_positions`. At ``temperature=0`` the rule is the hard rule a trader runs (steps
    instead of sigmoids, integer windows rounded); at ``temperature > 0`` it is smooth.

    Examples
    --------
    >>> from stratopt.rules import MACrossover
    >>> rule = MACrossover(fast=20, slow=100)
    >>> rule.params
    {'fast': 20.0, 'ratio': 5.0, 'slow': 100.0}
    >>> rule.set_params(fast=30).params["fast"]
    30.0
    """

    #: The name the command line and configs use for this rule (None: not registered).
    cli_name: ClassVar[str | None] = None
    #: Units of the values :meth:`derived` returns, for tables.
    derived_units: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, *, cli_name: str | None = None, **kwargs: Any) -> None:
        """Register a rule class under ``cli_name``: ``class MyRule(Rule, cli_name="my-rule")``."""
        super().__init_subclass__(**kwargs)
        cls.cli_name = cli_name
        if cli_name is not None:
            known = RULE_REGISTRY.get(cli_name)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise ConfigError(f"rule name {cli_name!r} is taken by {known.__name__}; pick another cli_name")
            RULE_REGISTRY[cli_name] = cls

    def __init__(self) -> None:
        super().__init__()
        self._specs: dict[str, Param] = {}
        self._raw = nn.ParameterDict()
        self._batch = 1

    # ----------------------------------------------------------------- declaring parameters
    def add_param(self, spec: Param, value: float | None = None) -> None:
        """Declare a parameter; ``value`` (natural units) defaults to ``spec.init``."""
        value = spec.check(spec.init if value is None else value)
        self._specs[spec.name] = spec
        raw = spec.to_raw(torch.full((self._batch,), value, dtype=torch.float64))
        self._raw[spec.name] = nn.Parameter(raw)

    def _positions(self, data: MarketData, p: dict[str, Tensor], temperature: float) -> Tensor:
        """Positions (batch, days, assets) from natural parameter values ``p`` of shape (batch,)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------ evaluation
    def forward(self, data: MarketData, *, temperature: float = 1.0) -> Tensor:
        """Positions in [-1, 1], shaped (batch, days, assets); 0 where a ticker is not listed."""
        if not isinstance(data, MarketData):
            raise ConfigError(
                f"rules take MarketData, got {type(data).__name__}; "
                "wrap prices with stratopt.MarketData.from_prices(prices)"
            )
        if not temperature >= 0 or math.isinf(temperature):
            raise ConfigError(f"temperature={temperature!r} must be finite and >= 0 (0 = hard rule)")
        self._check_finite_params()
        p = self._natural_values(dtype=data.dtype, hard=temperature == 0)
        pos = self._positions(data, p, float(temperature))
        return torch.where(data.tradable, pos, torch.zeros((), dtype=pos.dtype, device=pos.device))

    def _check_finite_params(self) -> None:
        """Raise :class:`ConfigError` if a raw parameter is NaN or infinite (e.g. loaded through
        ``load_state_dict``): such a rule would silently hold no position. One reduction and one
        device synchronisation on the happy path; the names are looked up only on failure."""
        raw = list(self.parameters())
        if not raw or bool(torch.stack([torch.isfinite(t).all() for t in raw]).all()):
            return
        bad = [name.replace("_raw.", "") for name, t in self.named_parameters() if not bool(torch.isfinite(t).all())]
        raise ConfigError(
            f"parameter(s) {bad} of {type(self).__name__} are not finite (NaN or inf); set finite "
            "values with set_params(...) or load a state_dict saved from a fitted rule"
        )

    def positions(self, prices: pd.DataFrame | MarketData, *, temperature: float = 0.0) -> pd.DataFrame:
        """Hard (by default) positions of a single-start rule as a DataFrame (dates x tickers)."""
        data = as_market_data(prices)
        self.require_single("positions")
        with torch.no_grad():
            pos = self(data, temperature=temperature)[0]
        return pd.DataFrame(pos.cpu().numpy(), index=data.dates, columns=list(data.tickers))

    def _natural_values(self, *, dtype: torch.dtype, hard: bool) -> dict[str, Tensor]:
        out = {}
        for name, spec in self._specs.items():
            value = spec.to_natural(self._raw[name]).to(dtype)
            out[name] = spec.hard(value) if hard else value
        return out

    # ----------------------------------------------------------------- parameter access
    def named_specs(self) -> Iterator[tuple[str, Rule, Param]]:
        """(dotted name, owning rule, spec) for this rule's parameters and its sub-rules'."""
        for name, module in self.named_modules():
            if isinstance(module, Rule):
                prefix = f"{name}." if name else ""
                for spec in module._specs.values():
                    yield prefix + spec.name, module, spec

    @property
    def batch_size(self) -> int:
        """Number of parameter sets (starts) evaluated together."""
        return self._batch

    @property
    def params(self) -> dict[str, float]:
        """Parameter values in natural units, then derived values (single-start rules; see
        :meth:`batch_params`). A value set on a bound reads as the bound."""
        self.require_single("params")
        out: dict[str, float] = {}
        with torch.no_grad():
            for prefix, module in self._rule_modules():
                local = {}
                for spec in module._specs.values():
                    value = float(spec.to_natural(module._raw[spec.name].detach().double())[0])
                    if math.isfinite(spec.high - spec.low) and min(value - spec.low, spec.high - value) < 1e-8 * (
                        spec.high - spec.low
                    ):  # set on a bound, stored a hair inside it
                        value = spec.low if value - spec.low < spec.high - value else spec.high
                    local[spec.name] = value
                derived = module.derived({k: torch.tensor([v], dtype=torch.float64) for k, v in local.items()})
                local.update({k: float(v[0]) for k, v in derived.items()})
                # 12 significant digits hide the round-off of the sigmoid round trip (20.0, not 19.999...)
                out.update({prefix + k: float(f"{v:.12g}") for k, v in local.items()})
        return out

    def batch_params(self) -> pd.DataFrame:
        """Natural parameter values, one row per start, each rule's followed by its derived
        values (such as the crossover's slow span, ``fast x ratio``)."""
        cols = {k: v.cpu().numpy().astype(float) for k, v in self.natural_values().items()}
        return pd.DataFrame(cols, index=pd.RangeIndex(self._batch, name="start"))

    def natural_values(self) -> dict[str, Tensor]:
        """Natural values (batch,) of every parameter and derived value by dotted name, detached."""
        out: dict[str, Tensor] = {}
        with torch.no_grad():
            for prefix, module in self._rule_modules():
                values = {s.name: s.to_natural(module._raw[s.name]) for s in module._specs.values()}
                values.update(module.derived(values))
                out.update({prefix + k: v for k, v in values.items()})
        return out

    def derived(self, p: dict[str, Tensor], *, hard: bool = False) -> dict[str, Tensor]:
        """Read-only values computed from this rule's natural parameters ``p`` (the hard rule's
        with ``hard=True``), shown beside them; none by default. ``set_params`` accepts them
        through :meth:`params_from_derived`."""
        return {}

    def params_from_derived(self, given: dict[str, Any]) -> dict[str, Any]:
        """Parameter updates equivalent to derived values in ``given`` (this rule's local names)."""
        return {}

    def _rule_modules(self) -> Iterator[tuple[str, Rule]]:
        for name, module in self.named_modules():
            if isinstance(module, Rule):
                yield (f"{name}." if name else ""), module

    def _translate_derived(self, updates: dict[str, Any]) -> dict[str, Any]:
        out = dict(updates)
        for prefix, module in self._rule_modules():
            local = {
                k[len(prefix) :]: v for k, v in out.items() if k.startswith(prefix) and "." not in k[len(prefix) :]
            }
            names = set(module.derived({s.name: torch.ones(1) * s.init for s in module._specs.values()}))
            if not names & set(local):
                continue
            for k in names & set(local):
                del out[prefix + k]
            out.update({prefix + k: v for k, v in module.params_from_derived(local).items()})
        return out

    def param_table(self) -> pd.DataFrame:
        """Name, value, value used by the hard rule (integer windows rounded), unit, bounds and
        description of each parameter (single start)."""
        values = self.params
        derived = [n for n in values if n not in {name for name, _, _ in self.named_specs()}]
        hard_derived: dict[str, float] = {}
        with torch.no_grad():
            for prefix, module in self._rule_modules():
                hard = module._natural_values(dtype=torch.float64, hard=True)
                hard_derived.update({prefix + k: float(v[0]) for k, v in module.derived(hard, hard=True).items()})
        rows = [
            {
                "param": n,
                "value": values[n],
                "hard": float(s.hard(torch.tensor(values[n]))),
                "unit": s.unit,
                "low": s.low,
                "high": s.high,
                "integer": s.integer,
                "doc": s.doc,
            }
            for n, _, s in self.named_specs()
        ]
        units = {prefix + k: u for prefix, module in self._rule_modules() for k, u in module.derived_units.items()}
        rows += [
            {
                "param": n,
                "value": values[n],
                "hard": hard_derived.get(n, math.nan),
                "unit": units.get(n, ""),
                "low": math.nan,
                "high": math.nan,
                "integer": False,
                "doc": "derived from the parameters above",
            }
            for n in derived
        ]
        columns = ["param", "value", "hard", "unit", "low", "high", "integer", "doc"]
        return pd.DataFrame(rows, columns=columns).set_index("param")

    def set_params(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> Rule:
        """Set parameters in natural units; a scalar sets every start, an array one per start.

        Dotted names reach sub-rules (``{"rule.fast": 30}``). Returns ``self``.
        """
        updates = self._translate_derived({**(values or {}), **kwargs})
        specs = {n: (o, s) for n, o, s in self.named_specs()}
        unknown = sorted(set(updates) - set(specs))
        if unknown:
            raise ConfigError(f"unknown parameter(s) {unknown}; this rule has {sorted(specs)}")
        staged = []  # validate everything first, so a rejected update changes nothing
        for name, value in updates.items():
            owner, spec = specs[name]
            given = np.asarray(value, dtype=float)
            if given.ndim and given.size != self._batch:
                raise ConfigError(
                    f"{name} got {given.size} values for {self._batch} starts; pass one value or one per start"
                )
            try:
                checked = [spec.check(v) for v in np.broadcast_to(given.reshape(-1), (self._batch,))]
            except ConfigError as exc:  # name the sub-rule path, not just the bare parameter
                raise ConfigError(f"{name}: {exc}" if name != spec.name else str(exc)) from None
            staged.append((owner._raw[spec.name], spec, checked))
        with torch.no_grad():
            for raw, spec, checked in staged:
                raw.copy_(spec.to_raw(torch.tensor(checked, dtype=torch.float64)).to(raw.dtype))
        return self

    def with_bounds(self, **bounds: tuple[float, float]) -> Rule:
        """A copy whose named parameters are confined to new (low, high) bounds.

        Narrows (or widens) the search space, e.g. ``MACrossover().with_bounds(fast=(2, 50))``.
        Current values outside the new bounds are moved just inside them. Dotted names reach
        sub-rules; pass them as ``**{"rule.fast": (2, 50)}``.
        """
        new = copy.deepcopy(self)
        specs = {n: (o, s) for n, o, s in new.named_specs()}
        unknown = sorted(set(bounds) - set(specs))
        if unknown:
            raise ConfigError(f"unknown parameter(s) {unknown}; this rule has {sorted(specs)}")
        for name, pair in bounds.items():
            owner, spec = specs[name]
            try:
                low, high = (float(v) for v in pair)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"bounds for {name} must be a (low, high) pair, got {pair!r}") from exc
            with torch.no_grad():
                value = spec.to_natural(owner._raw[spec.name].detach()).double()
            margin = 1e-6 * (high - low) if math.isfinite(high - low) else 1e-6
            inside = value.clamp(low + margin, high - margin) if math.isfinite(high - low) else value
            new_spec = dataclasses.replace(spec, low=low, high=high, init=float(inside[0]))
            owner._specs[spec.name] = new_spec
            owner._raw[spec.name] = nn.Parameter(new_spec.to_raw(inside).to(owner._raw[spec.name].dtype))
        return new

    def warmup_days(self) -> int:
        """Days of history to pass before the first day that counts, so that every window the
        rule may use is warmed up: the largest upper bound of its day-valued parameters (any
        value training can reach; the current value if unbounded) and its fixed windows
        (e.g. a volatility span), over the rule and its sub-rules."""
        days = [0.0]
        current = self.batch_params()
        for name, _, spec in self.named_specs():
            if spec.unit == "days":
                days.append(spec.high if math.isfinite(spec.high) else float(current[name].max()))
        for module in self.modules():
            if isinstance(module, Rule):
                days.append(module.fixed_window())
        return math.ceil(max(days))

    def fixed_window(self) -> float:
        """Longest window (days) the rule uses that is not a parameter; by default its
        ``vol_span`` attribute, if any. Override for other fixed look-backs."""
        return float(getattr(self, "vol_span", 0.0))

    def max_window(self) -> float:
        """Longest look-back (days) among the current parameters and derived values in days."""
        days = self.window_names()
        return float(self.batch_params()[days].to_numpy().max()) if days else 0.0

    def window_names(self) -> list[str]:
        """Names of the parameters and derived values measured in days (the windows)."""
        days = [n for n, _, s in self.named_specs() if s.unit == "days"]
        return days + [p + k for p, m in self._rule_modules() for k, u in m.derived_units.items() if u == "days"]

    # ----------------------------------------------------------------------- batching
    def with_starts(self, n_starts: int, *, seed: int | np.random.Generator | None = None) -> Rule:
        """A copy with ``n_starts`` parameter sets: the current one first, then random ones.

        Random starts draw bounded parameters uniformly over their whole range (log-uniformly
        for log-scale parameters such as windows), and unbounded ones around the current value. Unstructured
        weights (e.g. a neural policy's) are re-initialised per start by the rule's
        ``_init_batch`` hook.
        """
        if not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
            raise ConfigError(f"n_starts={n_starts!r} must be a positive integer")
        self.require_single("with_starts")
        rng = np.random.default_rng(seed)
        new = copy.deepcopy(self)
        for module in new.modules():
            if isinstance(module, Rule):
                module._resize(int(n_starts), rng)
        return new

    def _resize(self, n: int, rng: np.random.Generator) -> None:
        self._batch = n
        for name, spec in self._specs.items():
            current = float(spec.to_natural(self._raw[name].detach())[0])
            values = np.full(n, current)
            if spec.transform == "sigmoid":
                u = torch.as_tensor(rng.uniform(0.0, 1.0, size=n - 1), dtype=torch.float64)
                values[1:] = spec.from_unit(u).numpy()
            else:
                values[1:] = current + rng.normal(0.0, max(abs(current), 1.0) * 0.5, size=n - 1)
                values[1:] = np.maximum(values[1:], spec.low + 1e-3) if math.isfinite(spec.low) else values[1:]
            if spec.integer:
                values[1:] = np.round(values[1:])
            raw = spec.to_raw(torch.tensor(values, dtype=torch.float64))
            self._raw[name] = nn.Parameter(raw.to(self._raw[name].dtype))
        self._init_batch(n, rng)

    def _init_batch(self, n: int, rng: np.random.Generator) -> None:
        """Hook for rules with unstructured weights to resize them to ``n`` starts."""

    def select(self, index: int) -> Rule:
        """A single-start copy holding start ``index``."""
        if not 0 <= index < self._batch:
            raise ConfigError(f"start index {index} out of range for {self._batch} starts")
        return self.select_range(index, index + 1)

    def select_range(self, start: int, stop: int) -> Rule:
        """A copy holding starts ``start`` to ``stop - 1``."""
        if not 0 <= start < stop <= self._batch:
            raise ConfigError(f"starts {start}:{stop} out of range for {self._batch} starts")
        new = copy.deepcopy(self)
        for module in new.modules():
            if isinstance(module, Rule):
                module._take(slice(start, stop))
        return new

    def with_params(self, table: pd.DataFrame | Mapping[str, Any]) -> Rule:
        """A batched copy with one start per row of ``table`` (columns: parameter names in
        natural units, dotted for sub-rules; derived names such as ``slow`` work too).

        Parameters not in the table keep this rule's current values; unstructured weights (a
        neural policy's) are drawn per start as by :meth:`with_starts`. Use it to score your
        own search with :func:`stratopt.evaluate` or to start :func:`stratopt.fit` from chosen
        points.
        """
        frame = pd.DataFrame(table)
        if len(frame) < 1:
            raise ConfigError("with_params needs a table with at least one row of parameter values")
        self.require_single("with_params")
        new = self.with_starts(len(frame), seed=0)
        spec_names = {n for n, _, _ in self.named_specs()}
        kept = {k: np.full(len(frame), v) for k, v in self.params.items() if k in spec_names and k not in frame}
        new.set_params(kept)
        return new.set_params({c: frame[c].to_numpy(dtype=float) for c in frame.columns})

    def _take(self, index: slice) -> None:
        old = self._batch
        self._batch = len(range(*index.indices(old)))
        for name, param in list(self._raw.items()):
            self._raw[name] = nn.Parameter(param.detach()[index].clone())
        for pname, param in list(self._parameters.items()):
            if param is not None and param.dim() > 0 and param.shape[0] == old:
                self._parameters[pname] = nn.Parameter(param.detach()[index].clone())

    def require_single(self, what: str) -> None:
        """Raise :class:`ConfigError` unless this rule holds one start (``what`` names the caller)."""
        if self._batch != 1:
            raise ConfigError(
                f"{what} needs a single-start rule but this one has {self._batch} starts; "
                "use batch_params() or select(i)"
            )

    def extra_repr(self) -> str:
        if self._batch == 1:
            return ", ".join(f"{k}={v:.4g}" for k, v in self.params.items() if "." not in k)
        return f"starts={self._batch}"


def has_unnamed_weights(rule: Rule) -> bool:
    """Whether ``rule`` has weights beyond its named parameters (a neural policy's layers):
    then its named parameters alone do not rebuild it."""
    return sum(p.numel() for p in rule.parameters()) > sum(1 for _ in rule.named_specs())
