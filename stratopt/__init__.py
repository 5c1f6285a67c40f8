"""stratopt: tune trading-rule parameters by gradient descent, honestly.

Data in (:func:`load_prices`), a rule with differentiable parameters (:mod:`stratopt.rules`),
training (:func:`fit`), the hard rule's exact backtest (:func:`backtest`), walk-forward testing
(:class:`WalkForward`, :func:`walk_forward`), overfitting statistics (:mod:`stratopt.stats`) and
tools that show what gradient descent does (:mod:`stratopt.analysis`). The whole public surface
is listed in ``__all__`` below.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("stratopt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

# Names load on first use (PEP 562), so that ``import stratopt.cli`` and ``stratopt --help``
# do not pay for torch; ``from stratopt import fit`` works as usual.
_MODULES = frozenset({"analysis", "loss", "metrics", "objectives", "plotting", "rules", "stats"})
_LAZY: dict[str, str] = {
    "BacktestResult": "stratopt.backtesting",
    "Blend": "stratopt.rules",
    "Callback": "stratopt.training",
    "ConfigError": "stratopt.errors",
    "CreditResult": "stratopt.analysis",
    "DataError": "stratopt.errors",
    "DataRepairWarning": "stratopt.errors",
    "DataUnavailableError": "stratopt.errors",
    "DivergenceWarning": "stratopt.errors",
    "FitResult": "stratopt.training",
    "GradientFlowResult": "stratopt.analysis",
    "GradientFlowSweep": "stratopt.analysis",
    "LRComparison": "stratopt.analysis",
    "LRRangeTest": "stratopt.analysis",
    "Landscape": "stratopt.analysis",
    "LookAheadError": "stratopt.errors",
    "LossSpec": "stratopt.loss",
    "MACrossover": "stratopt.rules",
    "MLPPolicy": "stratopt.rules",
    "MarketData": "stratopt._market",
    "MeanReversion": "stratopt.rules",
    "MinimizeResult": "stratopt.training",
    "Momentum": "stratopt.rules",
    "Param": "stratopt.rules",
    "RSIRule": "stratopt.rules",
    "Rule": "stratopt.rules",
    "RuleComparison": "stratopt.model_selection._compare",
    "StaleCacheWarning": "stratopt.errors",
    "StratoptError": "stratopt.errors",
    "StratoptWarning": "stratopt.errors",
    "Tuner": "stratopt.training",
    "TuneTickersResult": "stratopt.parallel",
    "VolTarget": "stratopt.rules",
    "WalkForward": "stratopt.model_selection",
    "WalkForwardResult": "stratopt.model_selection",
    "analysis": "stratopt.analysis",
    "backtest": "stratopt.backtesting",
    "check_causality": "stratopt.causality",
    "compare_learning_rates": "stratopt.analysis",
    "compare_rules": "stratopt.model_selection._compare",
    "credit_assignment": "stratopt.analysis",
    "datasets": "stratopt.data",
    "evaluate": "stratopt.evaluation",
    "fit": "stratopt.training",
    "gradient_flow": "stratopt.analysis",
    "gradient_flow_sweep": "stratopt.analysis",
    "load_prices": "stratopt.data",
    "loss": "stratopt.loss",
    "loss_landscape": "stratopt.analysis",
    "lr_range_test": "stratopt.analysis",
    "metrics": "stratopt.metrics",
    "minimize": "stratopt.training",
    "net_returns": "stratopt.pnl",
    "objectives": "stratopt.objectives",
    "plotting": "stratopt.plotting",
    "rules": "stratopt.rules",
    "stats": "stratopt.stats",
    "tune_tickers": "stratopt.parallel",
    "validate_prices": "stratopt.data",
    "walk_forward": "stratopt.model_selection",
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'stratopt' has no attribute {name!r}")
    module = importlib.import_module(target)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:
    from stratopt import analysis, loss, metrics, objectives, plotting, rules, stats
    from stratopt._market import MarketData
    from stratopt.analysis import (
        CreditResult,
        GradientFlowResult,
        GradientFlowSweep,
        Landscape,
        LRComparison,
        LRRangeTest,
        compare_learning_rates,
        credit_assignment,
        gradient_flow,
        gradient_flow_sweep,
        loss_landscape,
        lr_range_test,
    )
    from stratopt.backtesting import BacktestResult, backtest
    from stratopt.causality import check_causality
    from stratopt.data import datasets, load_prices, validate_prices
    from stratopt.errors import (
        ConfigError,
        DataError,
        DataRepairWarning,
        DataUnavailableError,
        DivergenceWarning,
        LookAheadError,
        StaleCacheWarning,
        StratoptError,
        StratoptWarning,
    )
    from stratopt.evaluation import evaluate
    from stratopt.loss import LossSpec
    from stratopt.model_selection import WalkForward, WalkForwardResult, walk_forward
    from stratopt.model_selection._compare import RuleComparison, compare_rules
    from stratopt.parallel import TuneTickersResult, tune_tickers
    from stratopt.pnl import net_returns
    from stratopt.rules import (
        Blend,
        MACrossover,
        MeanReversion,
        MLPPolicy,
        Momentum,
        Param,
        RSIRule,
        Rule,
        VolTarget,
    )
    from stratopt.training import Callback, FitResult, MinimizeResult, Tuner, fit, minimize

__all__ = [
    "BacktestResult",
    "Blend",
    "Callback",
    "ConfigError",
    "CreditResult",
    "DataError",
    "DataRepairWarning",
    "DataUnavailableError",
    "DivergenceWarning",
    "FitResult",
    "GradientFlowResult",
    "GradientFlowSweep",
    "LRComparison",
    "LRRangeTest",
    "Landscape",
    "LookAheadError",
    "LossSpec",
    "MACrossover",
    "MLPPolicy",
    "MarketData",
    "MeanReversion",
    "MinimizeResult",
    "Momentum",
    "Param",
    "RSIRule",
    "Rule",
    "RuleComparison",
    "StaleCacheWarning",
    "StratoptError",
    "StratoptWarning",
    "TuneTickersResult",
    "Tuner",
    "VolTarget",
    "WalkForward",
    "WalkForwardResult",
    "__version__",
    "analysis",
    "backtest",
    "check_causality",
    "compare_learning_rates",
    "compare_rules",
    "credit_assignment",
    "datasets",
    "evaluate",
    "fit",
    "gradient_flow",
    "gradient_flow_sweep",
    "load_prices",
    "loss",
    "loss_landscape",
    "lr_range_test",
    "metrics",
    "minimize",
    "net_returns",
    "objectives",
    "plotting",
    "rules",
    "stats",
    "tune_tickers",
    "validate_prices",
    "walk_forward",
]
