"""stratopt: tune trading-rule parameters by gradient descent, honestly.

Data in (:func:`load_prices`), a rule with differentiable parameters (:mod:`stratopt.rules`),
training (:func:`fit`), the hard rule's exact backtest (:func:`backtest`), walk-forward testing
(:class:`WalkForward`, :func:`walk_forward`), overfitting statistics (:mod:`stratopt.stats`) and
tools that show what gradient descent does (:mod:`stratopt.analysis`). The whole public surface
is listed in ``__all__`` below.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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
from stratopt.backtest import BacktestResult, backtest
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

try:
    __version__ = version("stratopt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

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
    "StaleCacheWarning",
    "StratoptError",
    "StratoptWarning",
    "Tuner",
    "VolTarget",
    "WalkForward",
    "WalkForwardResult",
    "__version__",
    "analysis",
    "backtest",
    "check_causality",
    "compare_learning_rates",
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
    "validate_prices",
    "walk_forward",
]
