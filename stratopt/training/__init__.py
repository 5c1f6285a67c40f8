"""The training core: the estimator (``Tuner``), ``fit``, the loop and its callbacks, ``minimize``."""

from stratopt.training._callbacks import (
    Callback,
    Checkpoint,
    Convergence,
    DivergenceGuard,
    EarlyStopping,
    FunctionCallback,
    GradientClipping,
    LRScheduler,
    ProgressBar,
)
from stratopt.training._fit import fit
from stratopt.training._loop import TrainState, fit_loop
from stratopt.training._minimize import MinimizeResult, minimize
from stratopt.training._optim import make_optimizer, make_scheduler
from stratopt.training._result import FitResult
from stratopt.training._tuner import Tuner

__all__ = [
    "Callback",
    "Checkpoint",
    "Convergence",
    "DivergenceGuard",
    "EarlyStopping",
    "FitResult",
    "FunctionCallback",
    "GradientClipping",
    "LRScheduler",
    "MinimizeResult",
    "ProgressBar",
    "TrainState",
    "Tuner",
    "fit",
    "fit_loop",
    "make_optimizer",
    "make_scheduler",
    "minimize",
]
