"""Run an experiment config into a run folder (:func:`run_experiment`)."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stratopt._json import jsonable
from stratopt.errors import ConfigError, StratoptWarning
from stratopt.experiments._config import ExperimentConfig, load_config
from stratopt.experiments._folder import (
    FIGURE_GLOB,
    FILES,
    FOLD_GLOB,
    FORMAT,
    FORMAT_VERSION,
    Run,
    fold_file,
    prices_sha256,
    read_run,
    versions,
    written_files,
)
from stratopt.experiments._report import Report, render
from stratopt.rules._base import has_unnamed_weights

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from stratopt.backtesting import BacktestResult
    from stratopt.model_selection import WalkForwardResult

__all__ = ["default_folder", "run_experiment"]


def default_folder(config: ExperimentConfig, *, root: str | Path = "runs") -> Path:
    """``runs/<config name>-<YYYYmmdd-HHMMSS>`` (local time)."""
    return Path(root) / f"{config.name}-{dt.datetime.now():%Y%m%d-%H%M%S}"


def run_experiment(
    config: ExperimentConfig | str | Path,
    out: str | Path | None = None,
    *,
    force: bool = False,
    overrides: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    command: str | None = None,
) -> Run:
    """Run the experiment and write its run folder; returns the folder read back.

    Parameters
    ----------
    config
        An :class:`ExperimentConfig` or the path of a TOML file.
    out
        The run folder (default :func:`default_folder`). A folder that exists and is not
        empty is refused unless ``force``, which replaces the files a run writes there.
    overrides
        Dotted keys that replace the file's values, e.g. ``{"training.epochs": 3}``.
    progress
        Progress display of the fits (None: chosen by where stderr goes; False: none).
    command
        The command line recorded in the manifest.

    The config and the data are checked, and the splits fitted to the data, before the folder
    is made; an error after that leaves the folder with a manifest whose status is
    ``"failed"`` and whose ``error`` says why.
    """
    if not isinstance(config, ExperimentConfig):
        config = load_config(config, overrides=overrides)
    elif overrides:
        raise ConfigError("overrides apply to a config file; pass its path, or change the ExperimentConfig")
    prices = config.data.load(config.base_dir)
    config.check_data(prices)
    folder = _prepare(Path(out) if out is not None else default_folder(config), force=force)
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": config.name,
        "kind": config.kind,
        "description": config.description,
        "status": "running",
        "command": command,
        "overrides": dict(overrides or {}),
        "seed": config.seed,
        "versions": versions(),
        "data": {
            "sha256": prices_sha256(prices),
            "tickers": [str(c) for c in prices.columns],
            "n_days": len(prices),
            "first": f"{prices.index[0]:%Y-%m-%d}",
            "last": f"{prices.index[-1]:%Y-%m-%d}",
        },
        "started": started.isoformat(timespec="seconds"),
    }
    (folder / FILES["config"]).write_text(config.text, encoding="utf-8")
    _write_manifest(folder, manifest)
    caught: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always", StratoptWarning)
            report = _run(config, prices, folder, progress)
        for w in records:  # show them as they would have been shown, and keep them
            if issubclass(w.category, StratoptWarning):
                text, kind = str(w.message), w.category.__name__
                caught.append(text if text.startswith(kind) else f"{kind}: {text}")
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        manifest["warnings"] = list(dict.fromkeys(caught))
        _finish(manifest, t0)
        report.facts = {**_facts(manifest), **report.facts}
        report.warnings = manifest["warnings"]
        report.config = config.text
        (folder / FILES["report"]).write_text(render(report), encoding="utf-8")
    except BaseException as exc:
        manifest["status"], manifest["error"] = "failed", " ".join(str(exc).split()) or type(exc).__name__
        _finish(manifest, t0)
        manifest["files"] = written_files(folder)
        _write_manifest(folder, manifest)
        raise
    manifest["status"] = "finished"
    manifest["files"] = sorted({*written_files(folder), FILES["manifest"]})
    _write_manifest(folder, manifest)
    return read_run(folder)


def _prepare(folder: Path, *, force: bool) -> Path:
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"run folder {str(folder)!r} is a file; give a folder name with --out")
    if folder.is_dir() and any(folder.iterdir()):
        if not force:
            raise ConfigError(
                f"run folder {str(folder)!r} is not empty; give another --out, or --force to replace its run files"
            )
        for name in [
            *FILES.values(),
            *(str(p.relative_to(folder)) for g in (FOLD_GLOB, FIGURE_GLOB) for p in folder.glob(g)),
        ]:
            (folder / name).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _finish(manifest: dict[str, Any], t0: float) -> None:
    manifest["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    manifest["duration_s"] = round(time.perf_counter() - t0, 3)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(jsonable(manifest), indent=2, allow_nan=False)
    (folder / FILES["manifest"]).write_text(text + "\n", encoding="utf-8")


def _facts(manifest: dict[str, Any]) -> dict[str, str]:
    d, v = manifest["data"], manifest["versions"]
    return {
        "kind": manifest["kind"].replace("_", "-"),
        "started (UTC)": manifest["started"],
        "duration": f"{manifest['duration_s']:.1f} s",
        "data": f"{len(d['tickers'])} tickers ({', '.join(d['tickers'][:8])}"
        + (", ..." if len(d["tickers"]) > 8 else "")
        + f"), {d['n_days']} days, {d['first']} to {d['last']}",
        "prices SHA-256": d["sha256"],
        "seed": str(manifest["seed"]),
        "versions": ", ".join(f"{k} {val}" for k, val in v.items()),
        **({"command": manifest["command"]} if manifest.get("command") else {}),
    }


# ------------------------------------------------------------------------------ the work
def _run(config: ExperimentConfig, prices: pd.DataFrame, folder: Path, progress: bool | None) -> Report:
    if config.kind == "fit":
        return _run_fit(config, prices, folder, progress)
    return _run_walk_forward(config, prices, folder, progress)


def _run_walk_forward(config: ExperimentConfig, prices: pd.DataFrame, folder: Path, progress: bool | None) -> Report:
    import pandas as pd

    from stratopt.model_selection import walk_forward

    tuner = config.make_tuner(progress=False)
    result = walk_forward(tuner, prices, config.make_splitter(), progress=progress, **config.walk_forward_options())
    result.to_json(folder / FILES["result"])
    summary = result.summary()
    (folder / FILES["summary"]).write_text(summary + "\n", encoding="utf-8")
    _write_folds(result, tuner.rule, folder)
    returns = pd.DataFrame({"oos": result.oos_returns, **result.baselines}).rename_axis("date")
    returns.to_csv(folder / FILES["returns"])
    result.candidates.rename_axis("date").to_parquet(folder / FILES["candidates"])
    result.history.to_csv(folder / FILES["history"], index=False)  # folds run anywhere, or resumed
    figures = _save_figures(
        folder,
        {
            "walk_forward": ("Out-of-sample equity against the baselines, parameters per fold, regimes", result.plot),
            "splits": ("Train and test windows of the folds", lambda: config.make_splitter().plot(prices)),
        },
    )
    return Report(
        title=f"{config.name}: walk-forward of {result.config.get('rule', 'the rule')}",
        lead=config.description,
        facts=_walk_forward_facts(result),
        tables=_walk_forward_tables(result),
        figures=figures,
        summary=summary,
    )


def _write_folds(result: WalkForwardResult, rule: Any, folder: Path) -> None:
    """One JSON per fold: what :func:`~stratopt.rules._registry.rule_from_record` rebuilds
    the fold's fitted rule from (with every trained weight, ``state``, when the rule has more
    than its named parameters), with the fold's dates and metrics."""
    (folder / "folds").mkdir(exist_ok=True)
    folds = result.folds.copy()
    for c in ("train_start", "train_end", "test_start", "test_end"):
        folds[c] = _dates(folds[c])
    folds.to_csv(folder / FILES["folds"])
    ensemble = result.config.get("ensemble", 1)
    fitted = dict(zip(folds.index, result.fold_rules))
    for k, row in folds.iterrows():
        record = {
            "fold": int(k),
            "rule": type(rule).__name__,
            "rule_name": type(rule).cli_name,
            "params": {p: row[p] for p in result.param_names},
            "traded": "the selected start" if ensemble == 1 else f"the mean position of the best {ensemble} starts",
            **{c: row[c] for c in folds.columns if c not in result.param_names},
        }
        if k in fitted and has_unnamed_weights(fitted[k]):  # a neural policy's layers: every weight
            record["state"] = {n: v.detach().cpu().tolist() for n, v in fitted[k].state_dict().items()}
        text = json.dumps(jsonable(record), indent=2, allow_nan=False)
        (folder / fold_file(int(k))).write_text(text + "\n", encoding="utf-8")


def _dates(column: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_datetime(column).dt.strftime("%Y-%m-%d")


def _walk_forward_facts(result: WalkForwardResult) -> dict[str, str]:
    def number(v: float) -> str:
        return f"{v:.3f}" if math.isfinite(v) else "n/a"

    return {
        "folds": f"{len(result.folds)}, out of sample {result.oos_returns.index[0]:%Y-%m-%d} to "
        f"{result.oos_returns.index[-1]:%Y-%m-%d}",
        "out-of-sample Sharpe": number(result.metrics["sharpe"]),
        "probabilistic Sharpe ratio": number(result.psr),
        "deflated Sharpe ratio": number(result.dsr) + f" (n_trials = {result.n_trials})",
        "probability of backtest overfitting": number(result.pbo.pbo) if result.pbo is not None else "n/a (one start)",
    }


def _walk_forward_tables(result: WalkForwardResult) -> list[tuple[str, pd.DataFrame]]:
    rows = ["sharpe", "annual_return", "annual_volatility", "max_drawdown"]
    folds = result.folds.copy()
    for c in ("train_start", "train_end", "test_start", "test_end"):
        folds[c] = _dates(folds[c])
    cols = ["test_start", "test_end", *result.param_names, "status", "train_hard_sharpe", "test_sharpe", "test_return"]
    tables = [
        ("Out of sample against the baselines", result.baseline_metrics().loc[rows]),
        ("Folds", folds[[c for c in cols if c in folds.columns]]),
    ]
    if not result.regimes.empty:
        regimes = result.regimes[[c for c in result.regimes.columns if c.endswith("sharpe") or c == "days"]]
        tables.append(("Out-of-sample Sharpe by regime (labels from past data only)", regimes))
    return tables


def _run_fit(config: ExperimentConfig, prices: pd.DataFrame, folder: Path, progress: bool | None) -> Report:
    import pandas as pd

    from stratopt.backtesting import backtest

    tuner = config.make_tuner(progress=progress)
    result = tuner.fit(prices)
    result.save(folder / FILES["fit"])
    result.history_all.to_csv(folder / FILES["history"], index=False)
    summary = result.summary()
    plots: dict[str, tuple[str, Any]] = {"fit": ("Training: loss, Sharpe ratios and parameters by epoch", result.plot)}
    tables = [("Fitted parameters", result.rule.param_table()), ("Sharpe ratios", pd.DataFrame(result.metrics).T)]
    bt: BacktestResult | None = None
    if config.fit is not None and config.fit.backtest:
        held_out = "validation" in result.metrics
        start = prices.index[result.config["n_train"]] if held_out else None
        bt = backtest(result.rule, prices, loss=tuner.loss, start=start)
        where = "held-out validation days" if held_out else "all days (no validation hold-out)"
        summary += f"\n\nbacktest of the hard rule on the {where}:\n{bt.summary()}"
        pd.DataFrame({"rule": bt.returns, "buy_and_hold": bt.benchmark_returns}).rename_axis("date").to_csv(
            folder / FILES["returns"]
        )
        plots["backtest"] = (f"Hard rule on the {where}: equity, drawdown, positions", bt.plot)
        metrics = pd.DataFrame({"rule": bt.metrics, "buy_and_hold": bt.benchmark_metrics})
        tables.append((f"Backtest on the {where}", metrics.dropna(how="all")))
    (folder / FILES["summary"]).write_text(summary + "\n", encoding="utf-8")
    return Report(
        title=f"{config.name}: fit of {type(result.rule).__name__}",
        lead=config.description,
        facts={"status": f"{result.status} after {len(result.history)} epochs"},
        tables=tables,
        figures=_save_figures(folder, plots),
        summary=summary,
    )


def _save_figures(folder: Path, plots: Mapping[str, tuple[str, Any]]) -> list[tuple[str, bytes]]:
    """Draw each figure once, write it as ``figures/<name>.png`` and return the PNG bytes."""
    (folder / "figures").mkdir(exist_ok=True)
    out = []
    for name, (caption, draw) in plots.items():
        figure: Figure = draw()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
        png = buffer.getvalue()
        (folder / "figures" / f"{name}.png").write_bytes(png)
        out.append((caption, png))
    return out
