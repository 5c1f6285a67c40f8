"""Experiments as files: a TOML config describes a whole run; a run folder holds its results.

``stratopt run config.toml`` (or :func:`run_experiment`) loads the prices, builds the rule, the
:class:`~stratopt.LossSpec`, the :class:`~stratopt.Tuner` and the
:class:`~stratopt.WalkForward` splits from the file, runs the walk-forward (or one fit) and
writes a run folder; ``stratopt show RUN_DIR`` (or :func:`read_run`) reads it back.

A full config, every key shown (all are optional but ``walk_forward.train`` and ``.test``, and
each defaults to the library's own default, except ``training.seed``, 0)::

    description = "MA crossover, long/flat, on three bundled stocks"

    [data]                       # load_prices(...)
    source = "sp500"             # bundled name, "yfinance", or a CSV file/folder (relative to this file)
    tickers = ["AAPL", "MSFT", "XOM"]
    start = 2000-01-01           # a TOML date, or a string
    end = "2012-12-31"
    max_gap = 5
    on_jump = "warn"             # "warn", "raise" or "ignore"
    # date_format = "%d/%m/%Y"   # CSV files with ambiguous dates
    # cache_dir = "cache"        # yfinance downloads

    [rule]                       # a registered rule by its command-line name
    name = "ma-crossover"        # ma-crossover, momentum, mean-reversion, rsi, mlp, ...
    params = { fast = 20, ratio = 5 }   # initial values, natural units
    options = {}                 # constructor keywords, e.g. { vol_span = 60 }

    [loss]                       # LossSpec fields
    objective = "sharpe"         # sharpe, sortino, differential_sharpe, mean_variance
    objective_kwargs = {}        # e.g. { risk_aversion = 4 } for mean_variance
    cost_bps = 5.0
    slippage = 0.0
    allocation = "equal_risk"    # or "equal"
    position_mode = "long_only"  # long_short, long_only (long/flat), short_only
    turnover_penalty = 0.0
    l2_penalty = 0.0

    [training]                   # Tuner fields
    optimizer = "adam"           # sgd, momentum, adam, rmsprop
    lr = 0.05
    epochs = 100
    n_starts = 4
    screen = 256
    seed = 0
    temperature = [1.0, 0.1]     # annealed from the first to the second
    select = "hard"
    # validation = 0.2           # a fraction (walk-forward: inside each train window)
    # batch_days, batches_per_step, schedule, clip_grad_norm, early_stopping, tol, dtype, device

    [walk_forward]               # WalkForward fields and walk_forward options
    train = "5Y"                 # trading days (1260) or a span: "5Y", "18M", "26W"
    test = "1Y"
    # step = "1Y"                # default: the test window
    anchored = false
    purge = 0
    embargo = 0
    reduce_test = true           # keep a last, shorter test window
    warm_start = true
    ensemble = 1
    drift_penalty = 0.0
    prior_penalty = 0.0
    n_trials = 1

    [execution]                  # how the folds run
    n_jobs = 1
    # scheduler = "tcp://host:8786"

Replace ``[walk_forward]`` by ``[fit]`` (with ``backtest = true``, the default) for one fit
on all the data, its validation days held out and backtested. An unknown key, a value of the
wrong type, a bad value, an unknown rule, or splits the data cannot hold are refused before
any work, in one line that names the key, e.g. ``training.lr = 'fast' must be a number or a
list of numbers``.

A run folder holds ``config.toml`` (a copy), ``manifest.json`` (versions, seed, SHA-256 of the
prices, times, command, warnings), ``summary.txt``, ``report.html`` (tables and figures in one
self-contained page), ``figures/*.png``, ``returns.csv``, ``history.csv`` and, for a
walk-forward, ``result.json``, ``folds.csv``, ``folds/fold-NNN.json`` (each fold's fitted
parameters, from which :meth:`Run.fold_rules` rebuilds the rules) and ``candidates.parquet``;
for a fit, ``fit.json`` (:meth:`FitResult.load <stratopt.FitResult.load>` reads it).

Examples
--------
>>> from stratopt.experiments import parse_config
>>> config = parse_config('''
... [rule]
... name = "rsi"
... [fit]
... ''')
>>> config.kind, type(config.make_rule()).__name__
('fit', 'RSIRule')
"""

from __future__ import annotations

from stratopt.experiments._config import (
    DataConfig,
    ExecutionConfig,
    ExperimentConfig,
    FitConfig,
    RuleConfig,
    load_config,
    parse_config,
)
from stratopt.experiments._folder import FILES, Run, prices_sha256, read_run
from stratopt.experiments._runner import default_folder, run_experiment

__all__ = [
    "FILES",
    "DataConfig",
    "ExecutionConfig",
    "ExperimentConfig",
    "FitConfig",
    "RuleConfig",
    "Run",
    "default_folder",
    "load_config",
    "parse_config",
    "prices_sha256",
    "read_run",
    "run_experiment",
]
