"""Rules by the names the command line and configs use, as the rule classes declare them."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from stratopt.errors import ConfigError
from stratopt.rules._base import RULE_REGISTRY, Rule

__all__ = ["make_rule", "registered_rules", "rule_from_record"]


def registered_rules() -> dict[str, type[Rule]]:
    """CLI name -> rule class, for every class declared with ``cli_name=`` (built-ins included)."""
    import stratopt.rules  # noqa: F401  (importing the package registers the built-in rules)

    return dict(sorted(RULE_REGISTRY.items()))


def make_rule(name: str, *, seed: int | None = None, **kwargs: Any) -> Rule:
    """A rule with default parameters from its CLI name (e.g. ``"ma-crossover"``).

    ``seed`` fixes the initial weights of rules that draw them (those whose constructor takes
    a ``seed``, such as the neural policy).
    """
    rules = registered_rules()
    if name not in rules:
        raise ConfigError(f"rule {name!r} is not one of {sorted(rules)}")
    cls = rules[name]
    if "seed" in inspect.signature(cls).parameters:
        kwargs.setdefault("seed", 0 if seed is None else seed)
    return cls(**kwargs)


def rule_from_record(class_name: str, params: Mapping[str, float]) -> Rule:
    """A registered rule rebuilt from its class name and natural parameter values."""
    by_class = {cls.__name__: name for name, cls in registered_rules().items()}
    if class_name not in by_class:
        raise ConfigError(
            f"cannot rebuild rule {class_name!r}: only registered rules built from their defaults "
            f"load from a record ({sorted(by_class)}); rebuild it yourself and call set_params"
        )
    rule = make_rule(by_class[class_name])
    return rule.set_params(dict(params))
