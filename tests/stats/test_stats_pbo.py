"""PBO by CSCV: properties from Bailey, Borwein, Lopez de Prado and Zhu (2015)."""

from __future__ import annotations

import time
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from stratopt.errors import ConfigError, DataError
from stratopt.stats import PBOResult, probability_of_backtest_overfitting


def _reference_logits(matrix: np.ndarray, n_splits: int) -> tuple[np.ndarray, np.ndarray]:
    """CSCV written out plainly, one split at a time, as the paper describes it."""
    n_obs, n_conf = matrix.shape
    block = n_obs // n_splits
    blocks = np.split(matrix[n_obs - block * n_splits :], n_splits)
    logits, selected = [], []
    for chosen in combinations(range(n_splits), n_splits // 2):
        train = np.vstack([blocks[i] for i in chosen])
        test = np.vstack([blocks[i] for i in range(n_splits) if i not in chosen])
        best = int(np.argmax(train.mean(axis=0) / train.std(axis=0, ddof=1)))
        oos = test.mean(axis=0) / test.std(axis=0, ddof=1)
        omega = sps.rankdata(oos)[best] / (n_conf + 1)
        logits.append(np.log(omega / (1 - omega)))
        selected.append(best)
    return np.array(logits), np.array(selected)


def test_matches_plain_reference_implementation() -> None:
    matrix = np.random.default_rng(11).normal(0.0002, 0.01, size=(203, 7))
    result = probability_of_backtest_overfitting(matrix, n_splits=8)
    logits, selected = _reference_logits(matrix, 8)
    np.testing.assert_array_equal(result.selected, selected)
    np.testing.assert_allclose(result.logits, logits, rtol=1e-12)
    assert result.pbo == np.mean(logits <= 0)
    assert result.n_combinations == 70 and result.n_obs_used == 200


def test_pure_noise_averages_one_half() -> None:
    pbos = [
        probability_of_backtest_overfitting(
            np.random.default_rng(seed).normal(0.0, 0.01, size=(400, 10)), n_splits=8
        ).pbo
        for seed in range(100)
    ]
    assert abs(np.mean(pbos) - 0.5) < 0.1


def test_dominant_configuration_gives_zero() -> None:
    noise = np.random.default_rng(2).normal(0.0, 0.01, size=(1600, 12))
    noise[:, 5] += 0.02  # best in every block, by a wide margin
    result = probability_of_backtest_overfitting(noise)
    assert result.pbo == 0.0
    assert np.all(result.selected == 5)
    assert np.all(result.oos_rank == 12 / 13)
    assert result.selection_frequency()[5] == 1.0


def test_anti_persistent_configurations_give_one() -> None:
    # Each configuration wins exactly where the other loses, so the IS winner is the OOS loser.
    rng = np.random.default_rng(4)
    edge = np.r_[np.full(100, 0.01), np.full(100, -0.01)]
    matrix = np.column_stack([edge, -edge]) + rng.normal(0.0, 0.001, size=(200, 2))
    result = probability_of_backtest_overfitting(matrix, n_splits=2)
    assert result.pbo == 1.0
    assert result.prob_oos_loss == 1.0
    assert result.degradation_slope < 0


def test_callable_metric_agrees_with_vectorised_sharpe() -> None:
    matrix = np.random.default_rng(8).normal(0.0, 0.01, size=(120, 5))
    fast = probability_of_backtest_overfitting(matrix, n_splits=6)

    def sharpe(rows: np.ndarray) -> np.ndarray:
        return rows.mean(axis=0) / rows.std(axis=0, ddof=1)

    slow = probability_of_backtest_overfitting(matrix, n_splits=6, metric=sharpe)
    np.testing.assert_allclose(slow.logits, fast.logits, rtol=1e-12)
    np.testing.assert_allclose(slow.oos_performance, fast.oos_performance, rtol=1e-9)
    assert slow.metric == "sharpe"


def test_mean_metric_and_degradation_regression() -> None:
    matrix = np.random.default_rng(9).normal(0.0, 0.01, size=(240, 6))
    result = probability_of_backtest_overfitting(matrix, n_splits=6, metric="mean")
    slope, intercept = np.polyfit(result.is_performance, result.oos_performance, 1)
    assert result.degradation_slope == pytest.approx(slope, rel=1e-9)
    assert result.degradation_intercept == pytest.approx(intercept, rel=1e-9, abs=1e-15)
    # Complementary halves of the same data: OOS mean = 2 * full mean - IS mean, exactly.
    full = matrix.mean(axis=0)[result.selected]
    np.testing.assert_allclose(result.oos_performance, 2 * full - result.is_performance, atol=1e-15)


def test_dataframe_labels_and_serialisable_summary() -> None:
    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(64, 3)), columns=["fast", "mid", "slow"])
    result = probability_of_backtest_overfitting(frame, n_splits=4)
    assert isinstance(result, PBOResult)
    assert result.labels == ("fast", "mid", "slow")
    assert result.selection_frequency().sum() == pytest.approx(1.0)
    d = result.to_dict()
    assert d["pbo"] == result.pbo and d["n_combinations"] == 6
    assert all(isinstance(v, (int, float, str)) for v in d.values())
    assert "PBO" in result.summary()


def test_never_invested_configuration_is_handled() -> None:
    # A flat column (Sharpe 0 by convention) must not produce NaN or warnings.
    matrix = np.random.default_rng(3).normal(0.0, 0.01, size=(160, 4))
    matrix[:, 0] = 0.0
    result = probability_of_backtest_overfitting(matrix, n_splits=8)
    assert np.all(np.isfinite(result.logits))


def test_full_size_run_is_fast() -> None:
    matrix = np.random.default_rng(0).normal(0.0, 0.01, size=(2500, 64))
    start = time.perf_counter()
    result = probability_of_backtest_overfitting(matrix, n_splits=16)
    assert time.perf_counter() - start < 1.0
    assert result.n_combinations == 12870


@pytest.mark.parametrize(
    ("matrix", "n_splits", "error", "match"),
    [
        (np.zeros((100, 3)), 7, ConfigError, "even integer"),
        (np.zeros((100, 3)), 0, ConfigError, "even integer"),
        (np.zeros((100, 3)), 4.0, ConfigError, "even integer"),
        (np.zeros((100, 3)), 30, ConfigError, "n_splits <= 24"),
        (np.zeros((10, 3)), 16, DataError, "10 rows"),
        (np.zeros((3, 3)), 2, DataError, "at least 4"),
        (np.zeros((100, 1)), 16, DataError, "1 column"),
        (np.zeros(100), 16, DataError, "2-D"),
    ],
)
def test_validation(matrix: np.ndarray, n_splits: int, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        probability_of_backtest_overfitting(matrix, n_splits=n_splits)


def test_nan_is_located() -> None:
    frame = pd.DataFrame(np.zeros((40, 2)), columns=["a", "b"])
    frame.iloc[7, 1] = np.nan
    with pytest.raises(DataError, match=r"row 7, column 'b'.*dropna"):
        probability_of_backtest_overfitting(frame, n_splits=4)


def test_unknown_metric() -> None:
    with pytest.raises(ConfigError, match="metric='sortino'"):
        probability_of_backtest_overfitting(np.zeros((40, 2)), metric="sortino")  # type: ignore[arg-type]
