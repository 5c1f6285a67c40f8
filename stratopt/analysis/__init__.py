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

__all__ = [
    "CreditResult",
    "GradientFlowResult",
    "GradientFlowSweep",
    "credit_assignment",
    "gradient_flow",
    "gradient_flow_sweep",
]
