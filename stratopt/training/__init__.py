"""The training core: gradient descent on rules (``fit``) and on any function (``minimize``)."""

from stratopt.training._fit import fit
from stratopt.training._minimize import MinimizeResult, minimize
from stratopt.training._optim import make_optimizer, make_scheduler
from stratopt.training._result import FitResult

__all__ = ["FitResult", "MinimizeResult", "fit", "make_optimizer", "make_scheduler", "minimize"]
