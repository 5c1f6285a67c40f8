"""The experiment config: its sections, read from TOML, checked and turned into stratopt objects.

Each section's keys come from the object it configures, so the file and the code cannot drift:
``[loss]`` holds the fields of :class:`~stratopt.LossSpec`, ``[training]`` those of
:class:`~stratopt.Tuner` (the rule, loss, anchors, callbacks and progress aside),
``[walk_forward]`` those of :class:`~stratopt.WalkForward` plus the keyword options of
:func:`~stratopt.walk_forward`, and ``[data]``, ``[rule]``, ``[fit]`` and ``[execution]`` the
fields of the small dataclasses below. Every default is the library's own, except
``training.seed`` (0, so that a run reproduces).

The file is parsed with :mod:`tomllib` (``tomli`` on Python 3.10), never evaluated. Each value
is first converted to its type hint, then each object is built, so that its own validation
runs; an error is one line that starts with the key's dotted path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from stratopt.data._jumps import OnJump
from stratopt.data._validate import DEFAULT_MAX_GAP
from stratopt.errors import ConfigError, DataError
from stratopt.experiments._schema import Field, check_table, convert, dataclass_fields, keyed_error, signature_fields

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    import pandas as pd

    from stratopt.loss import LossSpec
    from stratopt.model_selection import WalkForward
    from stratopt.rules import Rule
    from stratopt.training import Tuner

__all__ = [
    "DataConfig",
    "ExecutionConfig",
    "ExperimentConfig",
    "FitConfig",
    "RuleConfig",
    "load_config",
    "parse_config",
]

Kind = Literal["walk_forward", "fit"]

#: Tuner fields a file cannot hold (objects, or set by the runner).
_NOT_IN_FILES = ("rule", "loss", "anchors", "callbacks", "progress")
#: walk_forward arguments that belong to [execution] or to the runner, not to [walk_forward].
_NOT_WALK_FORWARD_OPTIONS = ("progress", "n_jobs", "scheduler")
#: The one default that differs from the library's: a file describes a reproducible run.
_DEFAULT_SEED = 0


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: the prices, as :func:`~stratopt.data.load_prices` takes them.

    ``source`` is a bundled dataset (``"sp500"``), ``"yfinance"`` (with ``tickers``), a CSV
    file or folder (relative to the config file), or a list of files.
    """

    source: str | list[str] = "sp500"
    tickers: str | list[str] | None = None
    start: str | dt.date | None = None
    end: str | dt.date | None = None
    max_gap: int = DEFAULT_MAX_GAP
    on_jump: OnJump = "warn"
    date_format: str | None = None
    cache_dir: str | None = None

    def load(self, base_dir: Path) -> pd.DataFrame:
        """The validated prices (paths relative to ``base_dir``)."""
        from stratopt.data import load_prices

        values = dataclasses.asdict(self)
        values["source"] = _resolve_source(self.source, base_dir)
        if self.cache_dir is not None:
            values["cache_dir"] = base_dir / self.cache_dir
        try:
            return load_prices(values.pop("source"), **values)
        except (ConfigError, DataError) as exc:
            keyed_error(exc, "data", _fields_of(DataConfig))


def _resolve_source(source: str | list[str], base_dir: Path) -> str | list[str]:
    from stratopt.data._bundled import BUNDLED

    def one(name: str) -> str:
        if name in BUNDLED or name == "yfinance" or Path(name).is_absolute():
            return name
        return str(base_dir / name)

    return one(source) if isinstance(source, str) else [one(s) for s in source]


@dataclass(frozen=True)
class RuleConfig:
    """``[rule]``: a registered rule by its command-line ``name`` (``stratopt fit --rule``),
    its constructor ``options`` (e.g. ``vol_span``, or ``hidden`` of the neural policy) and
    its initial ``params`` in natural units (e.g. ``fast = 30``)."""

    name: str = "ma-crossover"
    params: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FitConfig:
    """``[fit]``: one fit on all the data instead of a walk-forward. ``backtest``: also trade
    the fitted hard rule on the held-out validation days (all days without validation)."""

    backtest: bool = True


@dataclass(frozen=True)
class ExecutionConfig:
    """``[execution]``: how a walk-forward's folds run. ``n_jobs = 1`` and no ``scheduler``
    run them one after another in this process; ``n_jobs = K`` runs them on a local Dask
    cluster of K processes (-1: one per core), ``scheduler = "tcp://host:8786"`` on a running
    Dask scheduler (see :func:`stratopt.parallel.executor`). Folds run in parallel only when
    they are independent: ``warm_start = false`` and no ``drift_penalty`` in ``[walk_forward]``."""

    n_jobs: int = 1
    scheduler: str | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment, as a TOML file describes it (see :mod:`stratopt.experiments`).

    Build it with :func:`load_config` (a file) or :func:`parse_config` (text); both check every
    key. ``walk_forward`` holds the splitter's fields and the walk-forward options; exactly one
    of ``walk_forward`` and ``fit`` is set.
    """

    data: DataConfig = field(default_factory=DataConfig)
    rule: RuleConfig = field(default_factory=RuleConfig)
    loss: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    walk_forward: dict[str, Any] | None = None
    fit: FitConfig | None = None
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    description: str = ""
    text: str = field(default="", metadata={"file": False})
    base_dir: Path = field(default=Path("."), metadata={"file": False})
    name: str = field(default="experiment", metadata={"file": False})

    @property
    def kind(self) -> Kind:
        """``"walk_forward"`` or ``"fit"``."""
        return "fit" if self.fit is not None else "walk_forward"

    @property
    def seed(self) -> int | None:
        return self.training.get("seed", _DEFAULT_SEED)

    # ------------------------------------------------------------------------- builders
    def make_rule(self) -> Rule:
        """The rule with its options and initial parameters."""
        return _build_rule(self.rule, self.seed)

    def make_loss(self) -> LossSpec:
        from stratopt.loss import LossSpec

        return LossSpec(**self.loss)

    def make_tuner(self, *, progress: bool | None = None, callbacks: Sequence[Any] = ()) -> Tuner:
        """The :class:`~stratopt.Tuner` of ``[training]`` with the rule and the loss."""
        from stratopt.training import Tuner

        settings = {"seed": _DEFAULT_SEED, **self.training}
        return Tuner(self.make_rule(), loss=self.make_loss(), progress=progress, callbacks=callbacks, **settings)

    def make_splitter(self) -> WalkForward:
        """The :class:`~stratopt.WalkForward` of ``[walk_forward]``."""
        from stratopt.model_selection import WalkForward

        if self.walk_forward is None:
            raise ConfigError("this experiment is a single [fit]; it has no walk-forward splits")
        names = _fields_of(WalkForward)
        return WalkForward(**{k: v for k, v in self.walk_forward.items() if k in names})

    def walk_forward_options(self) -> dict[str, Any]:
        """The :func:`~stratopt.walk_forward` keyword options of ``[walk_forward]``, with the
        ``[execution]`` settings where the engine takes them."""
        from stratopt.model_selection import WalkForward

        names = _fields_of(WalkForward)
        options = {k: v for k, v in (self.walk_forward or {}).items() if k not in names}
        return {**options, **_execution_arguments(self.execution)}

    def check_data(self, prices: pd.DataFrame) -> None:
        """Refuse, before any work, splits that these prices cannot hold (naming the key)."""
        if self.walk_forward is None:
            return
        splitter = self.make_splitter()
        try:
            splitter.folds(prices)
        except (ConfigError, DataError) as exc:
            keyed_error(exc, "walk_forward", self.walk_forward_fields())

    @staticmethod
    def walk_forward_fields() -> dict[str, Field]:
        from stratopt.model_selection import WalkForward, walk_forward

        return {
            **dataclass_fields(WalkForward),
            **signature_fields(walk_forward, exclude=_NOT_WALK_FORWARD_OPTIONS),
        }


# ------------------------------------------------------------------------------ sections
def _section_fields() -> dict[str, Callable[[], dict[str, Field]]]:
    """The fields of each table, from the object it configures (imports torch: called lazily)."""
    from stratopt.loss import LossSpec
    from stratopt.training import Tuner

    return {
        "data": lambda: dataclass_fields(DataConfig),
        "rule": lambda: dataclass_fields(RuleConfig),
        "loss": lambda: dataclass_fields(LossSpec),
        "training": lambda: dataclass_fields(Tuner, exclude=_NOT_IN_FILES),
        "walk_forward": ExperimentConfig.walk_forward_fields,
        "fit": lambda: dataclass_fields(FitConfig),
        "execution": lambda: dataclass_fields(ExecutionConfig),
    }


def _fields_of(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]


def _file_keys() -> dict[str, Field]:
    """The top-level keys of a file: the fields of :class:`ExperimentConfig` a file holds."""
    return {
        f.name: Field(Any)
        for f in dataclasses.fields(ExperimentConfig)
        if f.metadata.get("file", True)  # text, base_dir and name come from the file itself
    }


def load_config(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> ExperimentConfig:
    """Read and check the TOML experiment at ``path``.

    ``overrides`` maps dotted keys to values that replace the file's, e.g.
    ``{"training.epochs": 3}`` (checked like the file's own values).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist; give the path of a .toml experiment") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text ({exc})") from None
    return parse_config(text, base_dir=path.parent, name=path.stem, overrides=overrides, where=str(path))


def parse_config(
    text: str,
    *,
    base_dir: str | Path = ".",
    name: str = "experiment",
    overrides: Mapping[str, Any] | None = None,
    where: str = "config",
) -> ExperimentConfig:
    """Check the TOML ``text`` of an experiment (see :func:`load_config`).

    Examples
    --------
    >>> config = parse_config('''
    ... [data]
    ... tickers = ["AAPL", "XOM"]
    ... [rule]
    ... name = "ma-crossover"
    ... params = { fast = 30 }
    ... [walk_forward]
    ... train = "3Y"
    ... test = "1Y"
    ... ''')
    >>> config.kind, config.make_tuner().rule.params["fast"], config.make_splitter().train
    ('walk_forward', 30.0, '3Y')
    >>> parse_config('[walk_forward]\\ntrain = "3Y"\\ntest = "1Y"\\nwarmstart = false')
    Traceback (most recent call last):
    ...
    stratopt.errors.ConfigError: walk_forward.warmstart is not a known key (did you mean 'warm_start'?); allowed: anchored, checkpoint_dir, drift_penalty, embargo, ensemble, min_train, n_trials, patience, prior_penalty, purge, reduce_test, short_fold, step, test, train, warm_start
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    for key, value in (overrides or {}).items():
        _override(raw, key, value)
    top = check_table(raw, _file_keys(), "config")
    sections = _section_fields()
    if "description" in top:
        top["description"] = convert(top["description"], str, "description")
    checked = {key: check_table(value, sections[key](), key) for key, value in top.items() if key != "description"}
    if ("walk_forward" in checked) == ("fit" in checked):
        raise ConfigError(
            "config needs exactly one of [walk_forward] (refit through time, the main job) and [fit] "
            f"(one fit on all the data); {where} has {'both' if 'fit' in checked else 'neither'}"
        )
    config = ExperimentConfig(
        data=DataConfig(**checked.get("data", {})),
        rule=RuleConfig(**checked.get("rule", {})),
        loss=checked.get("loss", {}),
        training=checked.get("training", {}),
        walk_forward=checked.get("walk_forward"),
        fit=FitConfig(**checked["fit"]) if "fit" in checked else None,
        execution=ExecutionConfig(**checked.get("execution", {})),
        description=top.get("description", ""),
        text=text,
        base_dir=Path(base_dir),
        name=name,
    )
    _validate(config, sections)
    return config


def _override(raw: dict[str, Any], dotted: str, value: Any) -> None:
    *tables, key = dotted.split(".")
    node = raw
    for t in tables:
        node = node.setdefault(t, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted}: {t} is not a table")
    node[key] = value


# ------------------------------------------------------------------------------ validation
def _validate(config: ExperimentConfig, sections: Mapping[str, Callable[[], dict[str, Field]]]) -> None:
    """Build every object once, naming the key of any error."""
    from stratopt.loss import LossSpec
    from stratopt.training import Tuner

    _each(lambda kw: LossSpec(**kw), config.loss, "loss")
    loss = config.make_loss()
    _check_objective_kwargs(loss)
    rule = config.make_rule()
    seed = {"seed": _DEFAULT_SEED}
    _each(lambda kw: Tuner(rule, loss=loss, **{**seed, **kw}), config.training, "training")
    if "device" in config.training:  # otherwise refused only when the fit starts
        import torch

        try:
            torch.device(config.training["device"])
        except (RuntimeError, ValueError) as exc:
            keyed_error(exc, "training.device")
    if config.walk_forward is not None:
        _check_walk_forward(config, config.make_tuner())
    elif config.execution != ExecutionConfig():
        raise ConfigError(
            "[execution] applies to walk-forward runs (their folds); a single [fit] runs in this process, "
            "so drop [execution] or use n_jobs = 1 without a scheduler"
        )


def _each(build: Callable[[dict[str, Any]], Any], values: Mapping[str, Any], path: str) -> None:
    """Build once; the objects name the bad argument, which names the key."""
    try:
        build(dict(values))
    except (ConfigError, ValueError, TypeError) as exc:
        keyed_error(exc, path, values)


def _build_rule(spec: RuleConfig, seed: int | None) -> Rule:
    from stratopt.rules._registry import make_rule, registered_rules

    rules = registered_rules()
    if spec.name not in rules:
        raise ConfigError(f"rule.name = {spec.name!r} is not a registered rule; allowed: {', '.join(rules)}")
    signature = inspect.signature(rules[spec.name])
    allowed = [n for n in signature.parameters if n != "seed"]
    for key in spec.options:
        if key not in allowed:
            raise ConfigError(
                f"rule.options.{key} is not an option of {spec.name!r}; allowed: {', '.join(allowed) or 'none'}"
            )
    try:
        rule = make_rule(spec.name, seed=seed, **spec.options)
    except (ConfigError, ValueError, TypeError) as exc:
        keyed_error(exc, "rule.options", spec.options)
    for key, value in spec.params.items():
        try:
            rule.set_params({key: value})
        except ConfigError as exc:
            keyed_error(exc, f"rule.params.{key}")
    return rule


def _check_objective_kwargs(loss: LossSpec) -> None:
    """Objective keywords are otherwise checked only when the objective first runs."""
    from stratopt.objectives import get_objective

    parameters = list(inspect.signature(get_objective(loss.objective)).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    allowed = [p.name for p in parameters]
    for key in loss.objective_kwargs:
        if key not in allowed:
            raise ConfigError(
                f"loss.objective_kwargs.{key} is not a keyword of objective {loss.objective_name!r}; "
                f"allowed: {', '.join(allowed) or 'none'}"
            )


def _check_walk_forward(config: ExperimentConfig, tuner: Tuner) -> None:
    from stratopt.model_selection import WalkForward
    from stratopt.model_selection._walk_forward import _check_n_trials

    options = config.walk_forward or {}
    splits = {k: v for k, v in options.items() if k in _fields_of(WalkForward)}
    _each(lambda kw: WalkForward(**kw), splits, "walk_forward")
    n_starts = max(tuner.n_starts, tuner.rule.batch_size)
    for key, value in options.items():
        if key in splits:
            continue
        if key == "n_trials":
            try:
                _check_n_trials(value)
            except ConfigError as exc:
                keyed_error(exc, "walk_forward.n_trials")
        elif key == "ensemble" and not 1 <= value <= n_starts:
            raise ConfigError(
                f"walk_forward.ensemble = {value} must be between 1 and the starts trained per fold "
                f"(training.n_starts = {n_starts})"
            )
        elif key.endswith("_penalty") and not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"walk_forward.{key} = {value!r} must be a finite number >= 0 (0: no penalty)")
    given = _execution_arguments(config.execution)
    if given:
        from stratopt.model_selection import walk_forward

        defaults = inspect.signature(walk_forward).parameters
        dependent = [
            f"walk_forward.{key} = {options.get(key, defaults[key].default)!r}"
            for key in ("warm_start", "drift_penalty")
            if options.get(key, defaults[key].default)
        ]
        if dependent:
            shown = ", ".join(f"execution.{k} = {v!r}" for k, v in given.items())
            raise ConfigError(
                f"{shown} runs the folds in parallel, but {' and '.join(dependent)} makes each fold depend on the "
                "previous one; set warm_start = false and drift_penalty = 0 in [walk_forward], or drop [execution]"
            )


def _execution_arguments(execution: ExecutionConfig) -> dict[str, Any]:
    """``[execution]`` as walk_forward keywords (``n_jobs``, ``scheduler``), only those that
    differ from the serial default; a bad value is refused naming its key."""
    from stratopt.parallel._executor import _check_n_jobs

    given = {k: v for k, v in dataclasses.asdict(execution).items() if v != getattr(ExecutionConfig(), k)}
    if "n_jobs" in given:
        try:
            _check_n_jobs(given["n_jobs"])
        except ConfigError as exc:
            keyed_error(exc, "execution.n_jobs")
    if "scheduler" in given and not isinstance(given["scheduler"], str):
        raise ConfigError(f"execution.scheduler = {given['scheduler']!r} must be an address such as 'tcp://host:8786'")
    if len(given) == 2:
        raise ConfigError(
            f"execution.n_jobs = {given['n_jobs']!r} and execution.scheduler = {given['scheduler']!r} both given: "
            "n_jobs starts a local cluster, scheduler uses a running one; keep one of them"
        )
    return given
