"""Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, D. H., Borwein, J., Lopez de Prado, M. and Zhu, Q. J. (2015), "The Probability of
Backtest Overfitting", Journal of Computational Finance 20(4).

Given a T x N matrix of per-period returns of N candidate configurations, the rows are cut
into S contiguous blocks of equal length. Each of the C(S, S/2) ways of choosing half of the
blocks is an in-sample (IS) set, the other half its out-of-sample (OOS) complement. For each
split the configuration that is best IS is looked up OOS; its relative OOS rank ``w`` among all
N gives the logit ``log(w / (1 - w))``. PBO is the fraction of splits with logit <= 0, i.e.
where the IS winner lands at or below the OOS median.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd

from stratopt.errors import ConfigError, DataError

__all__ = ["PBOResult", "probability_of_backtest_overfitting"]

Metric = Literal["sharpe", "mean"] | Callable[[np.ndarray], np.ndarray]

# C(24, 12) = 2.7 million splits take seconds; C(26, 13) = 10 million is where it stops being
# interactive, so refuse rather than appear to hang.
_MAX_COMBINATIONS = 5_000_000
# Bounds the (splits x configurations) work arrays to roughly 16 MB each.
_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class PBOResult:
    """Outcome of :func:`probability_of_backtest_overfitting`.

    Attributes
    ----------
    pbo : float
        Probability of backtest overfitting: fraction of splits whose logit is <= 0.
    logits : numpy.ndarray
        ``log(w / (1 - w))`` per split, ``w`` the IS winner's relative OOS rank.
    oos_rank : numpy.ndarray
        Relative OOS rank ``w = rank / (N + 1)`` of the IS winner per split (1 = worst rank,
        ties averaged), in (0, 1).
    selected : numpy.ndarray
        Column index of the IS winner per split.
    is_performance, oos_performance : numpy.ndarray
        Metric of the IS winner in sample and out of sample, per split (per-period units).
    labels : tuple
        Configuration labels (the DataFrame's columns, else ``0 .. N-1``).
    n_splits : int
        Number of blocks ``S``.
    n_obs_used : int
        Rows used: the oldest ``T mod S`` rows are dropped so all blocks have equal length.
    metric : str
        Name of the performance metric.
    """

    pbo: float
    logits: np.ndarray
    oos_rank: np.ndarray
    selected: np.ndarray
    is_performance: np.ndarray
    oos_performance: np.ndarray
    labels: tuple[Hashable, ...]
    n_splits: int
    n_obs_used: int
    metric: str

    @property
    def n_combinations(self) -> int:
        """Number of IS/OOS splits evaluated, ``C(S, S/2)``."""
        return int(self.logits.size)

    @property
    def n_configurations(self) -> int:
        """Number of candidate configurations ``N``."""
        return len(self.labels)

    @property
    def degradation_slope(self) -> float:
        """OLS slope of OOS on IS performance of the IS winner.

        Negative values mean that better in-sample results predict worse out-of-sample ones,
        the signature of overfitting. NaN if IS performance does not vary or is not finite.
        """
        return self._degradation()[0]

    @property
    def degradation_intercept(self) -> float:
        """OLS intercept of OOS on IS performance of the IS winner (NaN as for the slope)."""
        return self._degradation()[1]

    def _degradation(self) -> tuple[float, float]:
        x, y = self.is_performance, self.oos_performance
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.ptp(x) == 0:
            return math.nan, math.nan
        dx = x - x.mean()
        slope = float(dx @ (y - y.mean()) / (dx @ dx))
        return slope, float(y.mean() - slope * x.mean())

    @property
    def prob_oos_loss(self) -> float:
        """Fraction of splits where the IS winner has a negative OOS metric."""
        return float(np.mean(self.oos_performance < 0))

    def selection_frequency(self) -> pd.Series:
        """How often each configuration is the IS winner, as a fraction of splits."""
        counts = np.bincount(self.selected, minlength=self.n_configurations)
        return pd.Series(counts / self.n_combinations, index=list(self.labels), name="selected")

    def to_dict(self) -> dict[str, float | int | str]:
        """Scalar summary with plain Python types, ready for JSON."""
        return {
            "pbo": self.pbo,
            "n_splits": self.n_splits,
            "n_combinations": self.n_combinations,
            "n_configurations": self.n_configurations,
            "n_obs_used": self.n_obs_used,
            "metric": self.metric,
            "mean_logit": float(np.mean(self.logits)),
            "mean_is_performance": float(np.mean(self.is_performance)),
            "mean_oos_performance": float(np.mean(self.oos_performance)),
            "degradation_slope": self.degradation_slope,
            "degradation_intercept": self.degradation_intercept,
            "prob_oos_loss": self.prob_oos_loss,
        }

    def summary(self) -> str:
        """A few lines for people: PBO, degradation, probability of an OOS loss."""
        d = self.to_dict()
        return "\n".join(
            [
                f"PBO (CSCV, S={self.n_splits}, {self.n_combinations} splits, "
                f"N={self.n_configurations} configurations, metric={self.metric}): "
                f"{self.pbo:.3f}",
                f"IS winner: mean IS {d['mean_is_performance']:.4g}, "
                f"mean OOS {d['mean_oos_performance']:.4g}, "
                f"OOS-on-IS slope {d['degradation_slope']:.3g}",
                f"Probability the IS winner loses OOS: {self.prob_oos_loss:.3f}",
            ]
        )


def _validate(returns_matrix: np.ndarray | pd.DataFrame, n_splits: int) -> tuple[np.ndarray, tuple[Hashable, ...]]:
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)):
        raise ConfigError(f"n_splits={n_splits!r} must be an even integer >= 2, e.g. 16.")
    if n_splits < 2 or n_splits % 2:
        raise ConfigError(
            f"n_splits={n_splits} must be an even integer >= 2 (each split puts half of the blocks in sample); e.g. 16."
        )
    n_comb = math.comb(n_splits, n_splits // 2)
    if n_comb > _MAX_COMBINATIONS:
        raise ConfigError(
            f"n_splits={n_splits} gives {n_comb} combinations, too many to evaluate; "
            "use n_splits <= 24 (16 is the usual choice)."
        )
    if isinstance(returns_matrix, pd.DataFrame):
        labels: tuple[Hashable, ...] = tuple(returns_matrix.columns)
        arr = returns_matrix.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            arr = np.asarray(returns_matrix, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"returns_matrix could not be read as numbers ({exc}); pass a T x N array or "
                "DataFrame of per-period returns."
            ) from exc
        labels = tuple(range(arr.shape[1])) if arr.ndim == 2 else ()
    if arr.ndim != 2:
        raise DataError(
            f"returns_matrix has shape {arr.shape}; pass a 2-D T x N matrix with time in rows "
            "and one column per candidate configuration."
        )
    n_obs, n_conf = arr.shape
    if n_conf < 2:
        raise DataError(
            f"returns_matrix has {n_conf} column(s); PBO compares configurations, so pass at "
            "least 2 columns (one per candidate)."
        )
    if n_obs < n_splits or (n_obs // n_splits) * (n_splits // 2) < 2:
        raise DataError(
            f"returns_matrix has {n_obs} rows but n_splits={n_splits} needs at least "
            f"{max(n_splits, 4)}; pass more periods or fewer splits."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"returns_matrix holds {int(bad.sum())} NaN or infinite value(s), the first at row "
            f"{row}, column {labels[col]!r}; drop those rows (e.g. DataFrame.dropna()) or fill "
            "them (e.g. with 0 for periods without a position) first."
        )
    return arr, labels


def _moments_metric(
    weights: np.ndarray,
    s1: np.ndarray,
    s2: np.ndarray,
    n: int,
    shift: np.ndarray,
    tol: np.ndarray,
    metric: str,
) -> np.ndarray:
    """Sharpe or mean of each (split, column) from per-block sums of centred returns."""
    total1: np.ndarray = weights @ s1
    total2: np.ndarray = weights @ s2
    mean_c = total1 / n
    if metric == "mean":
        return np.asarray(mean_c + shift)
    var = np.maximum(total2 - n * mean_c**2, 0.0) / (n - 1)
    mean = mean_c + shift
    flat = var <= tol
    with np.errstate(divide="ignore", invalid="ignore"):
        sr = mean / np.sqrt(var)
    return np.where(flat, np.where(mean == 0, 0.0, np.copysign(np.inf, mean)), sr)


def _callable_metric(metric: Callable[[np.ndarray], np.ndarray], rows: np.ndarray, n_conf: int) -> np.ndarray:
    out = np.asarray(metric(rows), dtype=np.float64)
    if out.shape != (n_conf,) or np.isnan(out).any():
        raise ConfigError(
            f"metric returned shape {out.shape} with {int(np.isnan(out).sum())} NaN(s); a "
            f"callable metric must map a (rows x {n_conf}) array to {n_conf} non-NaN values."
        )
    return out


def probability_of_backtest_overfitting(
    returns_matrix: np.ndarray | pd.DataFrame,
    *,
    n_splits: int = 16,
    metric: Metric = "sharpe",
) -> PBOResult:
    """Probability of Backtest Overfitting of selecting the best of N configurations (CSCV).

    Parameters
    ----------
    returns_matrix : numpy.ndarray or pandas.DataFrame
        T x N per-period returns: time in rows, one column per candidate configuration (e.g.
        parameter sets or optimiser starts), all on the same dates.
    n_splits : int, default 16
        Number ``S`` of contiguous blocks, even and >= 2; ``C(S, S/2)`` splits are evaluated
        (12870 for 16). The oldest ``T mod S`` rows are dropped to make blocks equal.
    metric : {"sharpe", "mean"} or callable, default "sharpe"
        Performance used to pick the IS winner and rank it OOS. ``"sharpe"`` is mean over
        sample std (``ddof=1``), ``"mean"`` the mean return; both are vectorised across splits.
        A callable maps a (rows x N) array to N scores (higher is better) and is called twice
        per split, so it is much slower.

    Returns
    -------
    PBOResult
        ``pbo`` plus the per-split logits, the IS winner's IS and OOS performance (for the
        performance-degradation regression) and selection counts.

    Raises
    ------
    ConfigError
        If ``n_splits`` is not an even integer >= 2, or gives too many combinations.
    DataError
        If the matrix is not 2-D, has fewer than 2 columns or too few rows, or holds NaN/inf.

    Notes
    -----
    A PBO near 0 means the in-sample winner tends to stay above the median out of sample; near
    0.5, selection is no better than chance (pure noise gives 0.5 on average); near 1, the
    in-sample winner is systematically a loser out of sample. Ties in IS are broken by the
    lowest column index; ties OOS get their average rank.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.normal(0.0, 0.01, size=(1000, 10))
    >>> skilled = noise.copy()
    >>> skilled[:, 3] += 0.01  # one configuration earns a steady edge
    >>> probability_of_backtest_overfitting(skilled, n_splits=8).pbo
    0.0
    """
    arr, labels = _validate(returns_matrix, n_splits)
    n_obs, n_conf = arr.shape
    block = n_obs // n_splits
    arr = arr[n_obs - block * n_splits :]
    half = block * (n_splits // 2)

    # IS membership of each block for each split, as 0/1 weights for a matrix product.
    combos = np.array(list(combinations(range(n_splits), n_splits // 2)), dtype=np.intp)
    n_comb = combos.shape[0]
    member = np.zeros((n_comb, n_splits), dtype=bool)
    member[np.arange(n_comb)[:, None], combos] = True

    if callable(metric):
        metric_name = getattr(metric, "__name__", "custom")
        blocks = arr.reshape(n_splits, block, n_conf)
        is_perf = np.empty((n_comb, n_conf))
        oos_perf = np.empty((n_comb, n_conf))
        for c in range(n_comb):
            is_perf[c] = _callable_metric(metric, blocks[member[c]].reshape(-1, n_conf), n_conf)
            oos_perf[c] = _callable_metric(metric, blocks[~member[c]].reshape(-1, n_conf), n_conf)
        chunks = iter([(is_perf, oos_perf)])
    elif metric in ("sharpe", "mean"):
        metric_name = metric
        # Centring each column keeps the sum-of-squares variance free of cancellation.
        shift = arr.mean(axis=0)
        centred = (arr - shift).reshape(n_splits, block, n_conf)
        s1, s2 = centred.sum(axis=1), (centred**2).sum(axis=1)
        # Variances at rounding-error level belong to constant columns: treat them as zero.
        tol = (1e-12 * np.abs(arr).max(axis=0)) ** 2
        step = max(1, _CHUNK_ELEMENTS // n_conf)
        # A generator, so only one chunk of (splits x configurations) arrays lives at a time.
        chunks = (
            (
                _moments_metric(w, s1, s2, half, shift, tol, metric),
                _moments_metric(1.0 - w, s1, s2, half, shift, tol, metric),
            )
            for w in (member[i : i + step].astype(np.float64) for i in range(0, n_comb, step))
        )
    else:
        raise ConfigError(
            f"metric={metric!r} is not supported; use 'sharpe', 'mean' or a callable mapping a "
            "(rows x N) array to N scores."
        )

    selected_parts, is_parts, oos_parts, rank_parts = [], [], [], []
    for is_perf, oos_perf in chunks:
        sel = np.argmax(is_perf, axis=1)
        rows = np.arange(sel.size)
        sel_oos = oos_perf[rows, sel]
        below = np.sum(oos_perf < sel_oos[:, None], axis=1)
        tied = np.sum(oos_perf == sel_oos[:, None], axis=1)
        rank_parts.append(below + 0.5 * (tied - 1) + 1.0)  # 1-based, ties averaged
        selected_parts.append(sel)
        is_parts.append(is_perf[rows, sel])
        oos_parts.append(sel_oos)

    omega = np.concatenate(rank_parts) / (n_conf + 1)
    logits = np.log(omega / (1.0 - omega))
    return PBOResult(
        pbo=float(np.mean(logits <= 0)),
        logits=logits,
        oos_rank=omega,
        selected=np.concatenate(selected_parts),
        is_performance=np.concatenate(is_parts),
        oos_performance=np.concatenate(oos_parts),
        labels=labels,
        n_splits=n_splits,
        n_obs_used=block * n_splits,
        metric=metric_name,
    )
