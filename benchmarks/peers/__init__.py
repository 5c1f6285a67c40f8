"""The peer benchmark: stratopt's fit against a grid, random search, Optuna (TPE, CMA-ES),
vectorbt and backtesting.py, on problems of growing parameter count, out of sample on the same
walk-forward folds, and in cost against days and assets.

Modules: :mod:`~benchmarks.peers.spaces` (how tools see parameters), :mod:`~benchmarks.peers.problems`
(problems and the one evaluator), :mod:`~benchmarks.peers.tools` and :mod:`~benchmarks.peers.external`
(the tools), :mod:`~benchmarks.peers.budgets`, :mod:`~benchmarks.peers.oos` and
:mod:`~benchmarks.peers.scaling` (the three parts), :mod:`~benchmarks.peers.report` (tables, charts,
README) and :mod:`~benchmarks.peers.run` (the command).
"""
