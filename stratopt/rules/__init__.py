"""Trading rules whose parameters are differentiable weights."""

from stratopt.rules._base import Rule
from stratopt.rules._ma_crossover import MACrossover
from stratopt.rules._params import Param

__all__ = ["MACrossover", "Param", "Rule"]
