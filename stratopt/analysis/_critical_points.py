"""Critical points of a surface sampled on a grid: significant minima, saddles and plateaus.

A pure function of a 2D array, so it can be checked on surfaces whose answer is known and then
trusted on loss landscapes. A loss surface measured on a grid is rough (the hard rule's loss is
piecewise constant, and days of noise put dents in the soft one), so a point only counts when
it is *significant*: a minimum whose basin is at least ``min_depth`` deep (topographic
prominence, the persistence of the sublevel sets), and a saddle where two such basins, or two
hills as high, meet. Without that threshold a 40 x 40 landscape of one stock shows about fifty
"minima" and eighty saddles, nearly all of them grid noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.sparse.csgraph import connected_components

from stratopt.errors import ConfigError

__all__ = ["find_critical_points"]

_EIGHT = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
_FOUR = [(-1, 0), (0, -1), (0, 1), (1, 0)]
_CONNECT = np.ones((3, 3), dtype=bool)


def _neighbours(a: np.ndarray, fill: float) -> np.ndarray:
    """The 8 neighbours of every cell, shaped (8, ny, nx); ``fill`` outside the grid."""
    p = np.pad(a.astype(float), 1, constant_values=fill)
    ny, nx = a.shape
    return np.stack([p[1 + dy : 1 + dy + ny, 1 + dx : 1 + dx + nx] for dy, dx in _EIGHT])


def find_critical_points(
    z: np.ndarray,
    *,
    min_depth: float = 0.25,
    stationary_within: float = 1.0,
    plateau_tol: float = 0.02,
    min_plateau: int = 9,
) -> pd.DataFrame:
    """Significant local minima, saddle points and plateaus of a surface sampled on a grid.

    Depths are measured in the surface's own units and compared with ``min_depth`` times how
    far its median lies above its lowest point on the grid (a scale that a few extreme cells,
    such as a corner where costs explode, cannot stretch), so the threshold is unit-free.

    * **minimum**: lower than all 8 neighbours (cells of exactly equal value that touch form one
      flat minimum when every neighbour of the group is higher: one row, ``size`` cells), whose
      basin is at least ``min_depth`` deep: from it, the surface must rise by that much before
      a path leads to a lower point (its prominence; the lowest point has the whole range).
      Reported wherever it lies, with ``edge=True`` on the grid boundary (the true minimum may
      be outside the range).
    * **saddle**: an interior cell where, as the surface is flooded from below, two basins at
      least ``min_depth`` deep first meet (the lowest pass between them), or where, as it is
      drained from above, two hills at least ``min_depth`` high first meet. Such cells within
      ``stationary_within`` cells of each other (Chebyshev distance) are one saddle, reported at
      the cell within that distance with the smallest gradient (a grid rarely hits the exact
      point where the gradient vanishes).
    * **plateau**: a connected region (8-neighbour) of at least ``min_plateau`` cells where the
      gradient norm is below ``plateau_tol``; one row per region at its lowest cell. For this
      test the surface is scaled to [0, 1] by its range on the grid and each axis to [0, 1], so
      the norm is unit-free: 1 is a slope that would cross the whole loss range over the whole
      axis, and 0.02 (the default) is 2% of that.

    Parameters
    ----------
    z
        Values shaped (ny, nx), rows along the second axis ``y``; NaN cells are never critical.
    min_depth
        Significance, as a fraction of the median's height above the minimum (default 0.25);
        0 keeps every grid-level minimum and saddle, noise included.
    stationary_within, plateau_tol, min_plateau
        Thresholds described above.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind``, ``iy``, ``ix``, ``value``, ``grad_norm`` (the scaled norm above),
        ``size`` (cells), ``edge``, ``depth`` (a minimum's basin depth, a saddle's smaller
        drop or rise to its second basin or hill, in the surface's units; NaN for a plateau).

    Examples
    --------
    >>> u = np.linspace(-1, 1, 21)
    >>> xx, yy = np.meshgrid(u, u)
    >>> print(find_critical_points(xx**2 - yy**2)[["kind", "iy", "ix", "edge"]].to_string(index=False))
       kind  iy  ix  edge
    minimum   0  10  True
    minimum  20  10  True
     saddle  10  10 False

    A dent 7% as deep as the bowl's median height is not a minimum at the default threshold:

    >>> bowl = xx**2 + yy**2 - 0.25 * np.exp(-((xx - 0.6) ** 2 + yy**2) / 0.01)
    >>> len(find_critical_points(bowl, min_depth=0.0)), len(find_critical_points(bowl))
    (3, 1)
    """
    z = np.asarray(z, dtype=float)
    if z.ndim != 2 or min(z.shape) < 3:
        raise ConfigError(f"the surface must be 2D with at least 3 x 3 points, got shape {z.shape}")
    if not (stationary_within > 0 and plateau_tol > 0) or min_plateau < 1:
        raise ConfigError(
            f"stationary_within={stationary_within}, plateau_tol={plateau_tol} must be > 0 and "
            f"min_plateau={min_plateau} >= 1"
        )
    if not (np.isfinite(min_depth) and min_depth >= 0):
        raise ConfigError(f"min_depth={min_depth} must be a finite number >= 0 (0 keeps every point)")
    ny, nx = z.shape
    columns = ["kind", "iy", "ix", "value", "grad_norm", "size", "edge", "depth"]
    if not np.isfinite(z).any():
        return pd.DataFrame(columns=columns)
    lo, hi = np.nanmin(z), np.nanmax(z)
    s = (z - lo) / (hi - lo) if hi > lo else np.where(np.isnan(z), np.nan, 0.0)
    gy, gx = np.gradient(s, 1.0 / (ny - 1), 1.0 / (nx - 1))
    g = np.hypot(gx, gy)
    edge = np.ones_like(z, dtype=bool)
    edge[1:-1, 1:-1] = False
    zz = np.where(np.isnan(z), np.inf, z)
    typical = np.nanmedian(z) - lo
    threshold = min_depth * (typical if typical > 0 else hi - lo)
    # One strict order of the cells (ties in raster order) read upwards for basins, 8-connected,
    # and downwards for hills, 4-connected: a valley and a ridge can then never cross diagonally.
    rising = np.argsort(np.where(np.isnan(z), np.inf, z).ravel(), kind="stable")[: int(np.isfinite(z).sum())]
    depths, basins_meet = _merges(z, rising, _EIGHT)
    _, hills_meet = _merges(z, rising[::-1], _FOUR)
    found = [
        *(("minimum", iy, ix, size, d) for iy, ix, size, d in _minima(zz, depths) if d >= threshold),
        *(
            ("saddle", iy, ix, 1, d)
            for iy, ix, d in _saddles(basins_meet, hills_meet, z.shape, g, threshold, stationary_within)
        ),
        *(("plateau", iy, ix, size, np.nan) for iy, ix, size in _plateaus(zz, g, plateau_tol, min_plateau)),
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
            "depth": depth,
        }
        for kind, iy, ix, size, depth in found
    ]
    return pd.DataFrame(rows, columns=columns)


def _merges(z: np.ndarray, order: np.ndarray, offsets: list[tuple[int, int]]) -> tuple[np.ndarray, dict[int, float]]:
    """Components of the surface as its cells join it in ``order`` (finite cells only; union-find
    over the neighbours at ``offsets``): a cell with no neighbour joined yet starts a component;
    where components meet, all but the one that started first end. Returns, by cell, how far a
    component born there got from its first cell before it ended (NaN where none was born; a
    component that never ends gets the surface's whole range), and ``{cell: the largest such
    distance among the components that end there}`` for every cell where components meet."""
    ny, nx = z.shape
    flat = z.ravel()
    born_at = np.full(z.size, -1)
    born_at[order] = np.arange(order.size)
    parent = np.arange(z.size)
    first = np.arange(z.size)
    depth = np.full(z.size, np.nan)
    meets: dict[int, float] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in order.tolist():  # a grid of cells, not days: small
        iy, ix = divmod(i, nx)
        roots = {
            root(j)
            for dy, dx in offsets
            if 0 <= iy + dy < ny and 0 <= ix + dx < nx and 0 <= born_at[j := (iy + dy) * nx + ix + dx] < born_at[i]
        }
        if not roots:
            depth[i] = np.inf
            continue
        keep = min(roots, key=lambda r: born_at[first[r]])
        for r in roots - {keep}:
            depth[first[r]] = abs(flat[i] - flat[first[r]])
            parent[r] = keep
            meets[i] = max(meets.get(i, 0.0), depth[first[r]])
        parent[i] = keep
    forever = np.isinf(depth)
    depth[forever] = np.abs(np.nanmax(flat) - np.nanmin(flat))
    return depth.reshape(z.shape), meets


def _minima(zz: np.ndarray, depths: np.ndarray) -> list[tuple[int, int, int, float]]:
    """(iy, ix, size, depth) of each group of equal-valued touching cells (NaN as +inf in ``zz``)
    whose every neighbour is higher; a group that touches an equal cell outside it drains
    through that cell (a terrace, not a minimum)."""
    nb = _neighbours(zz, np.inf)
    low = np.isfinite(zz) & (zz <= nb).all(axis=0)
    labels, n_groups = ndimage.label(low, structure=_CONNECT)
    drains = low & ((nb == zz) & ~_neighbours(low, 0).astype(bool)).any(axis=0)
    bad = set(np.unique(labels[drains]).tolist())
    out = []
    for lab in range(1, n_groups + 1):
        if lab not in bad:
            cells = np.argwhere(labels == lab)
            depth = float(np.nanmax(depths[labels == lab]))
            out.append((int(cells[0][0]), int(cells[0][1]), len(cells), depth))
    return out


def _saddles(
    lower: dict[int, float],
    upper: dict[int, float],
    shape: tuple[int, ...],
    g: np.ndarray,
    threshold: float,
    within: float,
) -> list[tuple[int, int, float]]:
    """(iy, ix, significance) of each significant interior saddle: cells where basins meet as
    the surface rises (``lower``) or hills meet as it falls (``upper``), the smaller of the two
    at least ``threshold`` deep or high; such cells within ``within`` cells of each other are
    one saddle, reported at the cell within ``within`` cells of them with the smallest gradient
    norm ``g`` (where the meeting is decided by values equal up to rounding, it can fall one
    cell beside the flat point)."""
    ny, nx = shape
    found: dict[int, float] = {}
    for meets in (lower, upper):
        for i, d in meets.items():
            iy, ix = divmod(i, nx)
            if d >= threshold and 0 < iy < ny - 1 and 0 < ix < nx - 1:
                found[i] = max(found.get(i, 0.0), d)
    if not found:
        return []
    cells = list(found)
    at = np.array([divmod(i, nx) for i in cells])
    near = np.abs(at[:, None, :] - at[None, :, :]).max(axis=2) <= within
    _, group = connected_components(near, directed=False)
    interior = np.zeros(shape, dtype=bool)
    interior[1:-1, 1:-1] = True
    reach = int(within)
    out = []
    for k in np.unique(group):
        members = at[group == k]
        near_group = np.zeros(shape, dtype=bool)
        for iy, ix in members:
            near_group[max(iy - reach, 0) : iy + reach + 1, max(ix - reach, 0) : ix + reach + 1] = True
        cells_near = np.argwhere(near_group & interior)
        iy, ix = cells_near[np.argmin(g[cells_near[:, 0], cells_near[:, 1]])]
        out.append((int(iy), int(ix), max(found[cells[j]] for j in np.flatnonzero(group == k))))
    return sorted(out)


def _plateaus(zz: np.ndarray, g: np.ndarray, plateau_tol: float, min_plateau: int) -> list[tuple[int, int, int]]:
    """(iy, ix, size) of each connected region of at least ``min_plateau`` cells with gradient
    norm below ``plateau_tol``, at its lowest cell."""
    labels, n_flat = ndimage.label(g < plateau_tol, structure=_CONNECT)
    out = []
    for lab in range(1, n_flat + 1):
        cells = np.argwhere(labels == lab)
        if len(cells) >= min_plateau:
            iy, ix = cells[np.argmin(zz[labels == lab])]
            out.append((int(iy), int(ix), len(cells)))
    return out
