"""Run folders: every file is there and says what the run did; fitted rules rebuilt from the
folder reproduce the returns the run reported."""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import stratopt
from stratopt.errors import ConfigError, StratoptWarning
from stratopt.experiments import Run, prices_sha256, read_run, run_experiment
from stratopt.model_selection import WalkForward
from stratopt.training import FitResult

#: The prices of the session's runs (see conftest.py), loaded here without the config code.
PRICES = {
    "walk_forward": {"tickers": ["AAPL", "XOM"], "start": "2004-01-01", "end": "2009-12-31"},
    "fit": {"tickers": ["JNJ", "PG"], "start": "2006-01-01", "end": "2010-12-31"},
}


def prices_of(kind: str) -> pd.DataFrame:
    return stratopt.load_prices("sp500", **PRICES[kind])


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------ manifest
def test_walk_forward_folder_holds_every_file(wf_run: Run, wf_config: Path) -> None:
    folder = wf_run.path
    for name in ("config.toml", "manifest.json", "summary.txt", "report.html", "result.json", "folds.csv",
                 "returns.csv", "history.csv", "candidates.parquet", "figures/walk_forward.png", "figures/splits.png"):  # fmt: skip
        assert (folder / name).is_file(), name
    assert (folder / "config.toml").read_bytes() == wf_config.read_bytes()
    assert sorted(wf_run.manifest["files"]) == sorted(
        str(p.relative_to(folder).as_posix()) for p in folder.rglob("*") if p.is_file()
    )


def test_manifest_records_versions_seed_times_and_the_prices_hash(wf_run: Run) -> None:
    m = wf_run.manifest
    assert m["status"] == "finished" and m["kind"] == "walk_forward" and m["command"] == "test"
    assert m["versions"] == {
        "stratopt": stratopt.__version__,
        "python": ".".join(map(str, sys.version_info[:3])),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    assert m["seed"] == 3
    started, finished = (pd.Timestamp(m[k]) for k in ("started", "finished"))
    assert started <= finished and 0 <= m["duration_s"] <= (finished - started).total_seconds() + 1
    prices = prices_of("walk_forward")
    assert m["data"]["tickers"] == ["AAPL", "XOM"] and m["data"]["n_days"] == len(prices)
    assert (m["data"]["first"], m["data"]["last"]) == ("2004-01-02", "2009-12-31")
    # the documented layout, hashed here independently
    h = hashlib.sha256(prices.index.asi8.astype("<i8").tobytes())
    h.update(b"AAPL\x1fXOM")
    h.update(prices.to_numpy().astype("<f8").tobytes())
    assert m["data"]["sha256"] == h.hexdigest()


def test_prices_hash_sees_one_changed_price_and_ignores_nan_payloads() -> None:
    prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM"], start="2020-01-01", end="2020-03-31")
    changed = prices.copy()
    changed.iloc[10, 1] *= 1 + 1e-12
    assert prices_sha256(prices) == prices_sha256(prices.copy()) != prices_sha256(changed)
    holes = prices.copy()
    holes.iloc[0, 0] = np.nan
    other_nan = holes.copy()
    other_nan.iloc[0, 0] = np.frombuffer(np.uint64(0x7FF8000000000001).tobytes(), dtype=np.float64)[0]
    assert prices_sha256(holes) == prices_sha256(other_nan)


# ------------------------------------------------------------------------------ contents
def test_fold_files_match_the_splitter_and_the_result(wf_run: Run) -> None:
    prices = prices_of("walk_forward")
    folds = WalkForward(500, 250).folds(prices)
    records = wf_run.fold_records()
    assert len(records) == len(folds) == len(wf_run.folds())
    for record, (_, fold) in zip(records, folds.iterrows()):
        assert record["rule"] == "MACrossover" and record["rule_name"] == "ma-crossover"
        assert (
            record["test_start"] == f"{fold['test_start']:%Y-%m-%d}"
            and record["test_end"] == f"{fold['test_end']:%Y-%m-%d}"
        )
        assert set(record["params"]) == {"fast", "ratio", "slow"}
    result = json.loads((wf_run.path / "result.json").read_text())
    assert [f["fast"] for f in result["folds"]] == [r["params"]["fast"] for r in records]


def test_rules_rebuilt_from_fold_files_reproduce_the_out_of_sample_returns(wf_run: Run) -> None:
    """Each fold's JSON -> rule_from_record -> the hard backtest of its test window gives the
    returns the walk-forward traded (same costs and position mode from the config)."""
    prices = prices_of("walk_forward")
    loss = stratopt.LossSpec(cost_bps=10.0, position_mode="long_only")
    oos = wf_run.returns()["oos"]
    for rule, record in zip(wf_run.fold_rules(), wf_run.fold_records()):
        assert rule.params == pytest.approx(record["params"], rel=1e-10)  # saved to 12 digits
        start, end = record["test_start"], record["test_end"]
        traded = stratopt.backtest(rule, prices.loc[:end], loss=loss, start=start, end=end).returns
        saved = oos.loc[start:end]
        assert len(traded) == len(saved) > 200
        np.testing.assert_allclose(traded.to_numpy(), saved.to_numpy(), rtol=0, atol=1e-12)


def test_returns_history_and_candidates(wf_run: Run) -> None:
    returns = wf_run.returns()
    assert list(returns.columns) == ["oos", "buy_and_hold", "untuned"] and returns.notna().all().all()
    result = json.loads((wf_run.path / "result.json").read_text())
    assert stratopt.metrics.sharpe_ratio(returns["oos"].to_numpy()) == pytest.approx(
        result["oos_metrics"]["sharpe"], rel=1e-12
    )
    history = wf_run.history()
    n_folds = len(wf_run.folds())
    assert sorted(history["fold"].unique()) == list(range(n_folds))
    assert set(history["start"]) == {0, 1} and history.groupby("fold")["epoch"].max().max() <= 2
    assert {"loss", "train_sharpe", "fast", "ratio"} <= set(history.columns)
    candidates = pd.read_parquet(wf_run.path / "candidates.parquet")
    assert candidates.shape == (len(returns), 2) and candidates.index.equals(returns.index)


def test_summary_reads_the_folder_back(wf_run: Run) -> None:
    again = read_run(wf_run.path)
    text = again.summary()
    assert text.startswith("run wf (walk_forward): finished in ")
    assert "test walk-forward" in text and "seed 3" in text and wf_run.manifest["data"]["sha256"][:16] in text
    assert (wf_run.path / "summary.txt").read_text().strip() in text
    assert "probability of backtest overfitting" in text and "files: candidates.parquet, config.toml" in text


# ------------------------------------------------------------------------------ a fit
def test_fit_folder_round_trips_through_fit_result_load(fit_run: Run, tmp_path: Path) -> None:
    for name in ("fit.json", "history.csv", "returns.csv", "figures/fit.png", "figures/backtest.png", "report.html"):
        assert (fit_run.path / name).is_file(), name
    loaded = fit_run.fit_result()
    saved = json.loads((fit_run.path / "fit.json").read_text())
    again = loaded.save(tmp_path / "again.json")
    assert json.loads(again.read_text()) == saved  # load then save changes nothing
    assert FitResult.load(again).params == loaded.params == saved["params"]
    assert loaded.rule.params == pytest.approx(saved["params"], rel=1e-12)


def test_loaded_fit_reproduces_the_held_out_backtest(fit_run: Run) -> None:
    prices = prices_of("fit")
    loaded = fit_run.fit_result()
    n_train = loaded.config["n_train"]
    assert n_train == len(prices) - round(0.25 * len(prices))
    bt = stratopt.backtest(loaded.rule, prices, loss=loaded.loss, start=prices.index[n_train])
    saved = fit_run.returns()
    assert saved.index[0] == prices.index[n_train] and len(saved) == len(prices) - n_train
    assert (saved["rule"] != 0).mean() > 0.5  # the rule trades on those days
    np.testing.assert_allclose(bt.returns.to_numpy(), saved["rule"].to_numpy(), rtol=0, atol=1e-12)
    assert "backtest of the hard rule on the held-out validation days" in fit_run.text()


# ------------------------------------------------------------------------------ the folder
def test_a_non_empty_folder_is_refused_unless_forced(tmp_path: Path, texts: dict[str, str]) -> None:
    config = write(tmp_path, "fit", texts["fit"])
    out = tmp_path / "run"
    (out / "folds").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "folds" / "fold-099.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"is not empty; give another --out, or --force"):
        run_experiment(config, out, progress=False)
    assert not (out / "manifest.json").exists()
    run = run_experiment(config, out, force=True, progress=False)
    assert (out / "notes.txt").read_text() == "mine"  # not a run file: kept
    assert not (out / "folds" / "fold-099.json").exists()  # a stale run file: replaced
    assert run.manifest["status"] == "finished" and "notes.txt" not in run.manifest["files"]


def test_a_failed_run_leaves_a_manifest_that_says_why(tmp_path: Path, texts: dict[str, str]) -> None:
    config = write(tmp_path, "bad", texts["fit"].replace("validation = 0.25", "validation = 0.995"))
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="training days are left") as info:
        run_experiment(config, out, progress=False)
    run = read_run(out)
    assert run.manifest["status"] == "failed" and run.manifest["error"] == str(info.value)
    assert "error: only" in run.summary() and run.manifest["files"] == ["config.toml", "manifest.json"]


def test_read_run_refuses_other_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a run folder .*no manifest.json"):
        read_run(tmp_path)
    (tmp_path / "manifest.json").write_text('{"name": "something else"}')
    with pytest.raises(ConfigError, match="is not a stratopt run manifest"):
        read_run(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ConfigError, match="is damaged"):
        read_run(tmp_path)
    with pytest.raises(ConfigError, match="is not a folder"):
        read_run(tmp_path / "missing")


MLP_RUN = '[data]\ntickers = ["AAPL"]\nstart = "2004-01-01"\nend = "2008-12-31"\n[rule]\nname = "mlp"\n'
MLP_RUN += "[training]\nepochs = 2\nn_starts = 1\n"


def test_a_neural_policy_fit_is_rebuilt_with_every_weight(tmp_path: Path) -> None:
    """A neural policy's named parameters do not rebuild it: the fit file holds every weight."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StratoptWarning)
        run = run_experiment(
            write(tmp_path, "mlp", MLP_RUN + "[fit]\nbacktest = false\n"), tmp_path / "run", progress=False
        )
    assert (run.path / "fit.json").is_file() and not (run.path / "figures" / "backtest.png").exists()
    loaded = run.fit_result().rule
    untrained = stratopt.rules.MLPPolicy()
    prices = prices_of("walk_forward")
    assert not loaded.positions(prices).equals(untrained.positions(prices))  # the weights are the fitted ones
    # independent truth: the same fit in this process
    from stratopt.experiments._config import load_config

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StratoptWarning)
        again = (
            load_config(run.path / "config.toml")
            .make_tuner(progress=False)
            .fit(stratopt.load_prices("sp500", tickers=["AAPL"], start="2004-01-01", end="2008-12-31"))
        )
    for name, value in again.rule.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value)


def test_a_neural_policy_walk_forward_rebuilds_each_folds_weights(tmp_path: Path) -> None:
    text = MLP_RUN + "[walk_forward]\ntrain = 500\ntest = 250\nwarm_start = false\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StratoptWarning)
        run = run_experiment(write(tmp_path, "mlp-wf", text), tmp_path / "run", progress=False)
        from stratopt.experiments._config import load_config

        config = load_config(run.path / "config.toml")
        prices = stratopt.load_prices("sp500", tickers=["AAPL"], start="2004-01-01", end="2008-12-31")
        truth = stratopt.walk_forward(
            config.make_tuner(progress=False), prices, config.make_splitter(), progress=False,
            **config.walk_forward_options(),
        )  # fmt: skip
    rebuilt = run.fold_rules()
    assert len(rebuilt) == len(truth.fold_rules) >= 2
    for mine, theirs in zip(rebuilt, truth.fold_rules):
        for name, value in theirs.state_dict().items():
            torch.testing.assert_close(mine.state_dict()[name], value)
    # a record without the weights (a folder of an older stratopt) is refused, not rebuilt at random
    first = run.path / "folds" / "fold-000.json"
    record = json.loads(first.read_text())
    del record["state"]
    first.write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="MLPPolicy has unstructured weights"):
        run.fold_rules()
