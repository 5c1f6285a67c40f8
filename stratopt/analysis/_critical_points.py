"""Critical points of a surface sampled on a grid: local minima, saddles and plateaus.

A pure function of a 2D array (finite differences on the grid), so it can be checked on
surfaces whose answer is known and then trusted on loss landscapes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from stratopt.errors import ConfigError

__all__ = ["find_critical_points"]

_EIGHT = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def _neighbours(a: np.ndarray, fill: float) -> np.ndarray:
    """The 8 neighbours of every cell, shaped (8, ny, nx); ``fill`` outside the grid."""
    p = np.pad(a.astype(float), 1, constant_values=fill)
    ny, nx = a.shape
    return np.stack([p[1 + dy : 1 + dy + ny, 1 + dx : 1 + dx + nx] for dy, dx in _EIGHT])


def _rank(a: np.ndarray) -> np.ndarray:
    """Rank of every cell (ties broken in raster order; NaN last), as float for padding."""
    order = np.argsort(np.where(np.isnan(a), np.inf, a).ravel(), kind="stable")
    rank = np.empty(a.size)
    rank[order] = np.arange(a.size)
    return rank.reshape(a.shape)


def find_critical_points(
    z: np.ndarray, *, stationary_within: float = 1.0, plateau_tol: float = 0.02, min_plateau: int = 9
) -> pd.DataFrame:
    """Local minima, saddle points and plateaus of a surface sampled on a regular grid.

    Finite differences on the grid: central (one-sided at the edges) for the gradient, the
    3-point and 4-corner stencils for the Hessian.

    * **minimum**: lower than all 8 neighbours. Cells of exactly equal value that touch form one
      flat minimum when every neighbour of the group is higher (one row, ``size`` cells);
      reported wherever it lies, with ``edge=True`` on the grid boundary (the true minimum may
      be outside the range).
    * **saddle**: an interior cell whose Hessian has eigenvalues of both signs (determinant
      < 0) where the gradient is about 0: the stationary point of the local quadratic model
      (the Newton step ``H^-1 g``) lies within ``stationary_within`` grid cells along each axis,
      and the gradient norm is the smallest among the 8 neighbours (one cell per saddle; a grid
      rarely hits the exact point where the gradient vanishes).
    * **plateau**: a connected region (8-neighbour) of at least ``min_plateau`` cells where the
      gradient norm is below ``plateau_tol``; one row per region at its lowest cell. For this
      test the surface is scaled to [0, 1] by its range on the grid and each axis to [0, 1], so
      the norm is unit-free: 1 is a slope that would cross the whole loss range over the whole
      axis, and 0.02 (the default) is 2% of that.

    Parameters
    ----------
    z
        Values shaped (ny, nx), rows along the second axis ``y``; NaN cells are never critical.
    stationary_within, plateau_tol, min_plateau
        Thresholds described above.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind``, ``iy``, ``ix``, ``value``, ``grad_norm`` (the scaled norm above),
        ``size`` (cells), ``edge``.

    Examples
    --------
    >>> u = np.linspace(-1, 1, 21)
    >>> xx, yy = np.meshgrid(u, u)
    >>> print(find_critical_points(xx**2 - yy**2)[["kind", "iy", "ix", "edge"]].to_string(index=False))
       kind  iy  ix  edge
    minimum   0  10  True
    minimum  20  10  True
     saddle  10  10 False
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 2 or min(z.shape) < 3:
        raise ConfigError(f"the surface must be 2D with at least 3 x 3 points, got shape {z.shape}")
    if not (stationary_within > 0 and plateau_tol > 0) or min_plateau < 1:
        raise ConfigError(
            f"stationary_within={stationary_within}, plateau_tol={plateau_tol} must be > 0 and "
            f"min_plateau={min_plateau} >= 1"
        )
    ny, nx = z.shape
    columns = ["kind", "iy", "ix", "value", "grad_norm", "size", "edge"]
    if not np.isfinite(z).any():
        return pd.DataFrame(columns=columns)
    lo, hi = np.nanmin(z), np.nanmax(z)
    s = (z - lo) / (hi - lo) if hi > lo else np.where(np.isnan(z), np.nan, 0.0)
    gy, gx = np.gradient(s, 1.0 / (ny - 1), 1.0 / (nx - 1))
    g = np.hypot(gx, gy)
    edge = np.ones_like(z, dtype=bool)
    edge[1:-1, 1:-1] = False
    zz = np.where(np.isnan(z), np.inf, z)
    low, minima = _minima(zz)
    found = [
        *(("minimum", iy, ix, size) for iy, ix, size in minima),
        *(("saddle", iy, ix, 1) for iy, ix in _saddles(s, g, low, stationary_within)),
        *(("plateau", iy, ix, size) for iy, ix, size in _plateaus(zz, g, plateau_tol, min_plateau)),
    ]
    rows = [
        {
            "kind": kind,
            "iy": iy,
            "ix": ix,
            "value": z[iy, ix],
            "grad_norm": g[iy, ix],
            "size": size,
            "edge": bool(edge[iy, ix]),
        }
        for kind, iy, ix, size in found
    ]
    return pd.DataFrame(rows, columns=columns)


def _minima(zz: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Cells no higher than any neighbour (NaN as +inf in ``zz``), and the minima among them:
    (iy, ix, size) of each group of equal-valued touching cells whose every neighbour is
    higher; a group that touches an equal cell outside it drains through that cell (a
    terrace, not a minimum)."""
    nb = _neighbours(zz, np.inf)
    low = np.isfinite(zz) & (zz <= nb).all(axis=0)
    labels, n_groups = ndimage.label(low, structure=np.ones((3, 3)))
    drains = low & ((nb == zz) & ~_neighbours(low, 0).astype(bool)).any(axis=0)
    bad = set(np.unique(labels[drains]).tolist())
    out = []
    for lab in range(1, n_groups + 1):
        if lab not in bad:
            cells = np.argwhere(labels == lab)
            out.append((int(cells[0][0]), int(cells[0][1]), len(cells)))
    return low, out


def _saddles(s: np.ndarray, g: np.ndarray, low: np.ndarray, stationary_within: float) -> list[tuple[int, int]]:
    """Interior cells of the scaled surface ``s`` with a mixed-sign Hessian, the Newton step to
    the stationary point within ``stationary_within`` cells, and the locally smallest gradient
    norm ``g`` (in grid-step units here: the step is scale-free)."""
    sy, sx = np.gradient(s)
    c = s[1:-1, 1:-1]
    fxx = s[1:-1, 2:] - 2 * c + s[1:-1, :-2]
    fyy = s[2:, 1:-1] - 2 * c + s[:-2, 1:-1]
    fxy = (s[2:, 2:] - s[2:, :-2] - s[:-2, 2:] + s[:-2, :-2]) / 4
    det = fxx * fyy - fxy**2
    with np.errstate(divide="ignore", invalid="ignore"):
        step_x = (fyy * sx[1:-1, 1:-1] - fxy * sy[1:-1, 1:-1]) / det
        step_y = (fxx * sy[1:-1, 1:-1] - fxy * sx[1:-1, 1:-1]) / det
    near = np.zeros_like(low)
    near[1:-1, 1:-1] = (det < 0) & (np.maximum(abs(step_x), abs(step_y)) <= stationary_within)
    grank = _rank(g)
    saddle = near & (grank < _neighbours(grank, np.inf)).all(axis=0) & ~low
    return [(int(iy), int(ix)) for iy, ix in np.argwhere(saddle)]


def _plateaus(zz: np.ndarray, g: np.ndarray, plateau_tol: float, min_plateau: int) -> list[tuple[int, int, int]]:
    """(iy, ix, size) of each connected region of at least ``min_plateau`` cells with gradient
    norm below ``plateau_tol``, at its lowest cell."""
    labels, n_flat = ndimage.label(g < plateau_tol, structure=np.ones((3, 3)))
    out = []
    for lab in range(1, n_flat + 1):
        cells = np.argwhere(labels == lab)
        if len(cells) >= min_plateau:
            iy, ix = cells[np.argmin(zz[labels == lab])]
            out.append((int(iy), int(ix), len(cells)))
    return out
