"""Trading rules whose parameters are differentiable weights."""

from stratopt.rules._base import Rule
from stratopt.rules._blend import Blend
from stratopt.rules._ma_crossover import MACrossover
from stratopt.rules._mean_reversion import MeanReversion
from stratopt.rules._mlp import MLPPolicy
from stratopt.rules._momentum import Momentum
from stratopt.rules._params import Param
from stratopt.rules._rsi import RSIRule
from stratopt.rules._vol_target import VolTarget

__all__ = [
    "Blend",
    "MACrossover",
    "MLPPolicy",
    "MeanReversion",
    "Momentum",
    "Param",
    "RSIRule",
    "Rule",
    "VolTarget",
]
