"""Tools that show what gradient descent does on market data.

Learning-rate comparisons, loss landscapes with optimiser paths, credit assignment (which
parameters and which days drive the gradient) and gradient flow through neural policies.
"""

from __future__ import annotations

from stratopt.analysis._credit import CreditResult, credit_assignment
from stratopt.analysis._gradient_flow import (
    GradientFlowResult,
    GradientFlowSweep,
    gradient_flow,
    gradient_flow_sweep,
)
from stratopt.analysis._landscape import Landscape, find_critical_points, loss_landscape

__all__ = [
    "CreditResult",
    "GradientFlowResult",
    "GradientFlowSweep",
    "Landscape",
    "credit_assignment",
    "find_critical_points",
    "gradient_flow",
    "gradient_flow_sweep",
    "loss_landscape",
]
