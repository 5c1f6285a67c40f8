"""Rules by the names the command line uses."""

from __future__ import annotations

from typing import Any

from stratopt.errors import ConfigError
from stratopt.rules._base import Rule

__all__ = ["RULES", "make_rule"]

#: CLI name -> class name in :mod:`stratopt.rules`.
RULES: dict[str, str] = {
    "ma-crossover": "MACrossover",
    "momentum": "Momentum",
    "mean-reversion": "MeanReversion",
    "rsi": "RSIRule",
    "mlp": "MLPPolicy",
}


def make_rule(name: str, *, seed: int | None = None, **kwargs: Any) -> Rule:
    """A rule with default parameters from its CLI name (e.g. ``"ma-crossover"``).

    ``seed`` fixes the initial weights of rules that draw them (the neural policy).
    """
    import stratopt.rules as rules

    if name not in RULES:
        raise ConfigError(f"rule {name!r} is not one of {sorted(RULES)}")
    cls = getattr(rules, RULES[name])
    if name == "mlp":
        kwargs.setdefault("seed", 0 if seed is None else seed)
    return cls(**kwargs)
