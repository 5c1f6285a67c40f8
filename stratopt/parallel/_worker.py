"""What each Dask worker process sets up before running stratopt tasks (imports ``distributed``,
so it is loaded only when a Dask executor is made)."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

__all__ = ["TorchThreads"]


class TorchThreads(WorkerPlugin):
    """Limits torch to ``n`` threads in every worker process, present and future (a restarted
    worker runs it again), so that K workers on one machine do not each start a thread per core.

    It also imports torch and the parts of stratopt that tasks run (training, evaluation,
    walk-forward) once per worker, before the first task, so that no task's time includes them."""

    name = "stratopt-torch-threads"

    def __init__(self, n: int) -> None:
        self.n = int(n)

    def setup(self, worker: Any) -> None:
        import torch

        import stratopt.model_selection
        import stratopt.parallel  # noqa: F401  (imports training, evaluation and the rules)

        torch.set_num_threads(self.n)
