"""Tools that show what gradient descent does on market data.

Learning-rate comparisons, loss landscapes with optimiser paths, credit assignment (which
parameters and which days drive the gradient) and gradient flow through neural policies.
"""

from __future__ import annotations

__all__: list[str] = []
