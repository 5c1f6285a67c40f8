"""Tools that show what gradient descent does on market data.

Learning-rate comparisons, loss landscapes with optimiser paths, credit assignment (which
parameters and which days drive the gradient) and gradient flow through neural policies. Each
takes the objective, costs, allocation and position mode as one ``loss=LossSpec(...)``, the
same object training and the backtest read, and returns a :class:`~stratopt._result.Result`
(``summary()``, ``to_dict()`` / ``to_json()``, ``plot()``).
"""

from __future__ import annotations

from stratopt.analysis._credit import CreditResult, credit_assignment
from stratopt.analysis._critical_points import find_critical_points
from stratopt.analysis._gradient_flow import (
    GradientFlowResult,
    GradientFlowSweep,
    gradient_flow,
    gradient_flow_sweep,
)
from stratopt.analysis._landscape import Landscape, loss_landscape
from stratopt.analysis._learning_rates import LRComparison, compare_learning_rates
from stratopt.analysis._lr_range import LRRangeTest, lr_range_test
from stratopt.analysis._lr_verdicts import loss_curve_verdict, steps_to_fraction

__all__ = [
    "CreditResult",
    "GradientFlowResult",
    "GradientFlowSweep",
    "LRComparison",
    "LRRangeTest",
    "Landscape",
    "compare_learning_rates",
    "credit_assignment",
    "find_critical_points",
    "gradient_flow",
    "gradient_flow_sweep",
    "loss_curve_verdict",
    "loss_landscape",
    "lr_range_test",
    "steps_to_fraction",
]
