"""Experiment configs: the documented example parses into the objects it describes; every bad
key, type, value, rule or split is a one-line ConfigError that names the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import stratopt.experiments
from stratopt.errors import ConfigError
from stratopt.experiments import load_config, parse_config, run_experiment
from stratopt.loss import LossSpec
from stratopt.model_selection import WalkForward, walk_forward
from stratopt.rules import RSIRule
from stratopt.rules._registry import registered_rules
from stratopt.training import Tuner

MINIMAL = '[walk_forward]\ntrain = "3Y"\ntest = "1Y"\n'


def refused(text: str, match: str) -> str:
    with pytest.raises(ConfigError, match=match) as info:
        parse_config(text)
    message = str(info.value)
    assert "\n" not in message
    return message


def allowed(message: str) -> set[str]:
    return set(message.split("allowed: ", 1)[1].split(", "))


def documented_config() -> str:
    doc = stratopt.experiments.__doc__ or ""
    block = doc.split("A full config", 1)[1].split("::\n", 1)[1].split("\nReplace ", 1)[0]
    return "\n".join(line[4:] for line in block.splitlines())


# ------------------------------------------------------------------------------ the example
def test_documented_full_config_builds_the_objects_it_describes() -> None:
    config = parse_config(documented_config())
    tuner = config.make_tuner()
    assert config.kind == "walk_forward" and config.description.startswith("MA crossover")
    assert tuner.rule.params["fast"] == 20 and tuner.rule.params["ratio"] == 5
    assert tuner.loss == LossSpec(position_mode="long_only")
    assert (tuner.optimizer, tuner.lr, tuner.epochs, tuner.n_starts, tuner.screen, tuner.seed) == (
        "adam", 0.05, 100, 4, 256, 0,
    )  # fmt: skip
    assert tuner.temperature == (1.0, 0.1)
    assert config.make_splitter() == WalkForward("5Y", "1Y", reduce_test=True)
    assert config.walk_forward_options() == {
        "warm_start": True, "ensemble": 1, "drift_penalty": 0.0, "prior_penalty": 0.0, "n_trials": 1,
    }  # fmt: skip
    assert config.data.tickers == ["AAPL", "MSFT", "XOM"] and str(config.data.start) == "2000-01-01"


def test_defaults_are_the_library_defaults_except_the_seed() -> None:
    tuner = parse_config(MINIMAL).make_tuner()
    library = Tuner(tuner.rule)
    for f in dataclasses.fields(Tuner):
        if f.name not in ("rule", "seed", "callbacks", "progress"):
            assert getattr(tuner, f.name) == getattr(library, f.name), f.name
    assert tuner.seed == 0 and library.seed is None
    assert parse_config(MINIMAL).make_rule().params == type(tuner.rule)().params


def test_single_fit_config() -> None:
    config = parse_config('[rule]\nname = "rsi"\nparams = { period = 10 }\n[training]\nvalidation = 0.2\n[fit]\n')
    assert config.kind == "fit" and config.fit is not None and config.fit.backtest
    assert isinstance(config.make_rule(), RSIRule) and config.make_rule().params["period"] == 10
    assert config.make_tuner().validation == 0.2


# ------------------------------------------------------------------------------ unknown keys
@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("loss", {f.name for f in dataclasses.fields(LossSpec)}),
        (
            "training",
            {f.name for f in dataclasses.fields(Tuner)} - {"rule", "loss", "anchors", "callbacks", "progress"},
        ),
        (
            "walk_forward",
            {f.name for f in dataclasses.fields(WalkForward) if f.init and not f.name.startswith("_")}
            | {"warm_start", "ensemble", "drift_penalty", "prior_penalty", "n_trials"}
            | {"patience", "short_fold", "checkpoint_dir"},
        ),
        ("rule", {"name", "params", "options"}),
        ("execution", {"n_jobs", "scheduler"}),
    ],
)
def test_unknown_key_names_its_dotted_path_and_the_allowed_keys(section: str, expected: set[str]) -> None:
    body = MINIMAL if section == "walk_forward" else MINIMAL + f"[{section}]\n"
    text = body.replace(f"[{section}]\n", f"[{section}]\nbogus_key = 1\n")
    message = refused(text, rf"^{section}\.bogus_key is not a known key")
    assert allowed(message) == expected


def test_walk_forward_options_are_the_engines_keywords() -> None:
    """Every keyword option of walk_forward (but progress and the execution settings) is a key."""
    import inspect

    options = {
        n
        for n, p in inspect.signature(walk_forward).parameters.items()
        if p.kind is p.KEYWORD_ONLY and n not in ("progress", "n_jobs", "scheduler")
    }
    message = refused(MINIMAL + "x = 1\n", r"walk_forward\.x is not a known key")
    assert options <= allowed(message)


def test_unknown_top_level_table_and_typo_suggestion() -> None:
    message = refused(
        MINIMAL + "[trainig]\nepochs = 3\n", r"^config\.trainig is not a known key \(did you mean 'training'\?\)"
    )
    assert {"data", "rule", "loss", "training", "walk_forward", "fit", "execution", "description"} == allowed(message)


# ------------------------------------------------------------------------------ wrong types
@pytest.mark.parametrize(
    ("line", "section", "match"),
    [
        ('epochs = "ten"', "training", r"^training\.epochs = 'ten' must be a whole number$"),
        ("epochs = 2.5", "training", r"^training\.epochs = 2\.5 must be a whole number$"),
        ('lr = "fast"', "training", r"^training\.lr = 'fast' must be a number or a list of numbers$"),
        ("temperature = [1, 0.5, 0.1]", "training", r"^training\.temperature = .* a list of 2 items"),
        ('dtype = "float16"', "training", r"^training\.dtype = 'float16' must be 'float64' or 'float32'$"),
        ('position_mode = "long"', "loss", r"^loss\.position_mode = 'long' must be one of 'long_short', 'long_only', 'short_only'$"),
        ("cost_bps = true", "loss", r"^loss\.cost_bps = True must be a number$"),
        ('anchored = "yes"', "walk_forward", r"^walk_forward\.anchored = 'yes' must be true or false$"),
        ("tickers = 5", "data", r"^data\.tickers = 5 must be a string or a list of strings$"),
        ('params = { fast = "x" }', "rule", r"^rule\.params = a table must be a table of numbers$"),
    ],
)  # fmt: skip
def test_wrong_type_names_the_key_and_what_it_takes(line: str, section: str, match: str) -> None:
    text = (
        MINIMAL.replace("[walk_forward]\n", f"[walk_forward]\n{line}\n")
        if section == "walk_forward"
        else (MINIMAL + f"[{section}]\n{line}\n")
    )
    refused(text, match)


def test_a_section_that_is_not_a_table() -> None:
    refused("training = 3\n" + MINIMAL, r"^training must be a table")


# ------------------------------------------------------------------------------ bad values
@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[loss]\ncost_bps = -1", r"^loss\.cost_bps: cost_bps=-1\.0 must be a finite number >= 0"),
        ("[loss]\nslippage = nan", r"^loss\.slippage: slippage=nan must be"),
        ('[loss]\nobjective = "calmar"', r"^loss\.objective = 'calmar' must be one of 'sharpe', 'sortino',"),
        ("[training]\nlr = -1", r"^training\.lr: lr=-1\.0 must be a positive finite number"),
        ("[training]\nlr = [0.1, 0.2]\nn_starts = 4", r"^training\.lr: lr has 2 rates for 4 starts"),
        ("[training]\nepochs = 0", r"^training\.epochs: epochs=0 must be a positive integer"),
        ("[rule]\nparams = { fast = 1000 }", r"^rule\.params\.fast: fast=1000\.0 days is outside \[2\.0, 100\.0\]"),
        ("[rule]\nparams = { slowest = 3 }", r"^rule\.params\.slowest: unknown parameter"),
        ("[rule]\noptions = { n_lags = 3 }", r"^rule\.options\.n_lags is not an option of 'ma-crossover'; allowed: fast, slow, ratio$"),
        ("[loss]\nobjective_kwargs = { risk_aversion = 4 }", r"^loss\.objective_kwargs\.risk_aversion is not a keyword of objective 'sharpe'; allowed: eps, halflife, periods_per_year$"),
    ],
)  # fmt: skip
def test_the_objects_own_validation_names_the_key(text: str, match: str) -> None:
    refused(MINIMAL + text + "\n", match)


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        ("step = 100\ntest = 250\ntrain = 500", r"^walk_forward\.step: step=100 is shorter than test=250"),
        ('train = "5 years"\ntest = "1Y"', r"^walk_forward\.train: train='5 years' is not a known size"),
        ('train = "3Y"\ntest = "1Y"\nembargo = -2', r"^walk_forward\.embargo: embargo=-2 must be a whole number"),
        ('train = "3Y"\ntest = "1Y"\nmin_train = 100', r"^walk_forward\.min_train: min_train=100 applies to anchored"),
        ('train = "3Y"\ntest = "1Y"\nensemble = 5', r"^walk_forward\.ensemble = 5 must be between 1 and .*n_starts = 4"),
        ('train = "3Y"\ntest = "1Y"\nn_trials = 0', r"^walk_forward\.n_trials: n_trials=0 must be a positive whole number"),
        ('train = "3Y"\ntest = "1Y"\ndrift_penalty = inf', r"^walk_forward\.drift_penalty = inf must be a finite number"),
        ('test = "1Y"', r"^walk_forward\.train is required"),
    ],
)  # fmt: skip
def test_bad_walk_forward_values_name_the_key(lines: str, match: str) -> None:
    refused(f"[walk_forward]\n{lines}\n", match)


def test_unknown_rule_lists_the_registered_ones() -> None:
    message = refused(MINIMAL + '[rule]\nname = "macd"\n', r"^rule\.name = 'macd' is not a registered rule")
    assert allowed(message) == set(registered_rules())


def test_impossible_split_names_the_key_before_any_work(tmp_path: Path) -> None:
    text = '[data]\ntickers = ["AAPL"]\nstart = "2015-01-01"\n[walk_forward]\ntrain = "30Y"\ntest = "1Y"\n'
    config = tmp_path / "long.toml"
    config.write_text(text)
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=r"^walk_forward\.train: data too short for one walk-forward fold") as info:
        run_experiment(config, out, progress=False)
    assert "\n" not in str(info.value)
    assert not out.exists()  # refused before the folder was made


def test_bad_data_names_the_data_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[data]\ntickers = ["NOPE"]\n' + MINIMAL)
    with pytest.raises(ConfigError, match=r"^data\.tickers: .*NOPE"):
        run_experiment(config, tmp_path / "run", progress=False)


# ------------------------------------------------------------------------------ file level
@pytest.mark.parametrize(("text", "word"), [("", "neither"), (MINIMAL + "[fit]\n", "both")])
def test_exactly_one_of_walk_forward_and_fit(text: str, word: str) -> None:
    refused(text, rf"exactly one of \[walk_forward\] .* and \[fit\] .*has {word}$")


def test_invalid_toml_is_one_line() -> None:
    refused("[training\nepochs = 3", r"^config is not valid TOML")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")


def test_values_are_data_never_code(tmp_path: Path) -> None:
    refused(
        MINIMAL + "[training]\nepochs = \"__import__('os').getpid()\"\n",
        r"^training\.epochs = .* must be a whole number$",
    )


def test_overrides_replace_values_and_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL + "[training]\nepochs = 50\n")
    config = load_config(path, overrides={"training.epochs": 3, "loss.cost_bps": 1})
    assert config.make_tuner().epochs == 3 and config.make_loss().cost_bps == 1.0
    with pytest.raises(ConfigError, match=r"^training\.epoch is not a known key \(did you mean 'epochs'\?\)"):
        load_config(path, overrides={"training.epoch": 3})


def test_csv_source_is_relative_to_the_config(tmp_path: Path) -> None:
    import stratopt

    prices = stratopt.load_prices("sp500", tickers=["AAPL", "XOM"], start="2010-01-01", end="2010-12-31")
    (tmp_path / "data").mkdir()
    prices.to_csv(tmp_path / "data" / "prices.csv")
    path = tmp_path / "c.toml"
    path.write_text('[data]\nsource = "data/prices.csv"\n' + MINIMAL)
    config = load_config(path)
    loaded = config.data.load(config.base_dir)
    assert loaded.shape == prices.shape and (loaded.to_numpy() == prices.to_numpy()).all()


# ------------------------------------------------------------------------------ execution
def _engine_takes(name: str) -> bool:
    import inspect

    return name in inspect.signature(walk_forward).parameters


def test_serial_execution_is_accepted_and_passes_nothing() -> None:
    config = parse_config(MINIMAL + "[execution]\nn_jobs = 1\n")
    assert "n_jobs" not in config.walk_forward_options()


@pytest.mark.skipif(_engine_takes("n_jobs"), reason="the walk-forward engine runs folds in parallel")
def test_parallel_execution_is_refused_without_a_parallel_layer() -> None:
    refused(MINIMAL + "[execution]\nn_jobs = 4\n", r"^execution\.n_jobs = 4: .*use n_jobs = 1 and no scheduler$")
    refused(MINIMAL + '[execution]\nscheduler = "tcp://host:8786"\n', r"^execution\.scheduler = ")


@pytest.mark.skipif(not _engine_takes("n_jobs"), reason="no parallel execution layer yet")
def test_parallel_execution_is_passed_to_the_engine() -> None:
    independent = MINIMAL + "warm_start = false\n"
    assert parse_config(independent + "[execution]\nn_jobs = 2\n").walk_forward_options()["n_jobs"] == 2
    remote = parse_config(independent + '[execution]\nscheduler = "tcp://host:8786"\n')
    assert remote.walk_forward_options()["scheduler"] == "tcp://host:8786"


@pytest.mark.skipif(not _engine_takes("n_jobs"), reason="no parallel execution layer yet")
def test_parallel_execution_needs_independent_folds_and_good_values() -> None:
    refused(
        MINIMAL + "[execution]\nn_jobs = 2\n",
        r"^execution\.n_jobs = 2 .*walk_forward\.warm_start = True .*warm_start = false",
    )
    refused(
        MINIMAL + "warm_start = false\ndrift_penalty = 0.5\n[execution]\nn_jobs = 2\n",
        r"walk_forward\.drift_penalty = 0\.5 makes each fold depend",
    )
    refused(MINIMAL + "warm_start = false\n[execution]\nn_jobs = 0\n", r"^execution\.n_jobs.*0")
    refused(MINIMAL + 'warm_start = false\n[execution]\nn_jobs = 2\nscheduler = "tcp://h:1"\n', r"both given")


def test_execution_settings_do_not_apply_to_a_fit() -> None:
    refused("[fit]\n[execution]\nn_jobs = 2\n", r"\[execution\] applies to walk-forward runs")


def test_docstring_example_keys_cover_every_section() -> None:
    """The documented example shows every table a file can hold."""
    tables = set(re.findall(r"^\[(\w+)\]", documented_config(), flags=re.M))
    assert tables == {"data", "rule", "loss", "training", "walk_forward", "execution"}


def test_bad_device_is_refused_before_the_fit() -> None:
    refused('[training]\ndevice = "gpu0"\n[fit]\n', r"^training\.device: .*'gpu0'")
