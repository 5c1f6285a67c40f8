"""stratopt's benchmarks: ``python -m benchmarks`` runs the peer benchmark (:mod:`benchmarks.peers`).

The other scripts in this folder (``bench_core.py``, ``bench_walk_forward.py``, ...) run on their
own, e.g. ``python benchmarks/bench_core.py``.
"""
