"""Neighbour lists for spheres in a periodic cubic box, in any dimension d.

A Verlet list holds, for every particle, all others within ``cutoff = 2 R_max + skin`` (minimum
image), with each row sorted by index so that sums over neighbours run in one fixed order, whoever
built the list. It is rebuilt when some particle has moved more than skin / 2 since the last build
(HOOMD-blue's policy), which guarantees that no overlap is ever missed.

Two builders fill it: a cell list with a 3^d stencil where the box holds enough cells for the
stencil to prune (low d, large n), and blocked brute force otherwise (high d, where 3^d cells span
the whole box). ``overlapping_pairs_brute`` is the O(n^2) numpy twin that tests compare against.
"""
import itertools

import numba
import numpy as np

from physics_baseline.box import ball_volume, minimum_image


@numba.njit(inline="always")
def _distance2(positions, i, j, box, limit2):
    """Squared minimum-image distance of i and j; stops early once it exceeds limit2."""
    total = 0.0
    for k in range(positions.shape[1]):
        delta = positions[i, k] - positions[j, k]
        delta -= box * np.rint(delta / box)
        total += delta * delta
        if total >= limit2:
            return total
    return total


@numba.njit(parallel=True, cache=True)
def _build_brute(positions, box, cutoff, rows, counts):
    n = positions.shape[0]
    capacity = rows.shape[1]
    cutoff2 = cutoff * cutoff
    for i in numba.prange(n):
        c = 0
        for j in range(n):
            if j != i and _distance2(positions, i, j, box, cutoff2) < cutoff2:
                if c < capacity:
                    rows[i, c] = j
                c += 1
        counts[i] = c


@numba.njit(cache=True)
def _cell_order(positions, box, cells_per_side):
    """Cell index of every particle and the particles sorted by cell (counting sort)."""
    n, d = positions.shape
    n_cells = cells_per_side ** d
    cell_of = np.empty(n, dtype=np.int64)
    for i in range(n):
        flat = 0
        for k in range(d - 1, -1, -1):
            c = int(positions[i, k] / box * cells_per_side)
            c = min(max(c, 0), cells_per_side - 1)
            flat = flat * cells_per_side + c
        cell_of[i] = flat
    start = np.zeros(n_cells + 1, dtype=np.int64)
    for i in range(n):
        start[cell_of[i] + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[fill[cell_of[i]]] = i
        fill[cell_of[i]] += 1
    return cell_of, start, order


@numba.njit(parallel=True, cache=True)
def _build_cells(positions, box, cutoff, cells_per_side, stencil, rows, counts):
    n, d = positions.shape
    capacity = rows.shape[1]
    cutoff2 = cutoff * cutoff
    cell_of, start, order = _cell_order(positions, box, cells_per_side)
    m = cells_per_side
    for i in numba.prange(n):
        home = cell_of[i]
        c = 0
        for s in range(stencil.shape[0]):
            flat = 0
            rest = home
            scale = 1
            for k in range(d):
                coord = rest % m
                rest //= m
                coord = (coord + stencil[s, k] + m) % m
                flat += coord * scale
                scale *= m
            for p in range(start[flat], start[flat + 1]):
                j = order[p]
                if j != i and _distance2(positions, i, j, box, cutoff2) < cutoff2:
                    if c < capacity:
                        rows[i, c] = j
                    c += 1
        counts[i] = c
        if c <= capacity:
            row = rows[i]
            for a in range(1, c):  # insertion sort: rows are short
                v = row[a]
                b = a - 1
                while b >= 0 and row[b] > v:
                    row[b + 1] = row[b]
                    b -= 1
                row[b + 1] = v


@numba.njit(parallel=True, cache=True)
def _max_displacement2(positions, reference, box):
    n, d = positions.shape
    per_particle = np.empty(n)
    for i in numba.prange(n):
        total = 0.0
        for k in range(d):
            delta = positions[i, k] - reference[i, k]
            delta -= box * np.rint(delta / box)
            total += delta * delta
        per_particle[i] = total
    return per_particle.max()


def cells_per_side(box: float, cutoff: float, n: int, d: int) -> int:
    """Cells per box side for a cell list, or 0 where a 3^d stencil would not prune.

    Cells are at least ``cutoff`` wide; at least 3 per side so that the stencil holds 3^d distinct
    cells; and the stencil must cover at most half the box, else brute force is as good.
    """
    m = int(box // cutoff)
    m = min(m, max(3, int((4 * n) ** (1.0 / d))))  # no more cells than about 4 n
    if m < 3 or (3.0 / m) ** d > 0.5:
        return 0
    return m


class VerletList:
    """Verlet list with a skin, rebuilt on a displacement criterion.

    rows: (n, capacity) int64, neighbours of i in rows[i, :counts[i]], ascending.
    Distances in diameters. ``method`` is "cells" or "brute", chosen from the box geometry
    unless given.
    """

    def __init__(self, box: float, cutoff: float, skin: float, method: str | None = None):
        self.box, self.cutoff, self.skin = box, cutoff, skin
        self.method = method
        self.rows = np.empty((0, 0), dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int64)
        self.reference = None
        self.builds = 0

    def update(self, positions: np.ndarray) -> bool:
        """Rebuild if some particle moved more than skin / 2 since the last build; True if rebuilt."""
        if self.reference is not None and self.reference.shape == positions.shape:
            if 4.0 * _max_displacement2(positions, self.reference, self.box) <= self.skin ** 2:
                return False
        self.build(positions)
        return True

    def build(self, positions: np.ndarray) -> None:
        n, d = positions.shape
        m = cells_per_side(self.box, self.cutoff, n, d)
        if self.method is None:
            self.method = "cells" if m else "brute"
        if self.method == "cells" and not m:
            raise ValueError(f"a cell list needs at least 3 cells of width {self.cutoff:.3g} "
                             f"per side of a box of side {self.box:.3g}")
        if self.rows.shape[0] != n:
            capacity = _expected_neighbours(n, d, self.box, self.cutoff)
            self.rows = np.empty((n, capacity), dtype=np.int64)
            self.counts = np.empty(n, dtype=np.int64)
        while True:
            if self.method == "cells":
                _build_cells(positions, self.box, self.cutoff, m, _stencil(d), self.rows, self.counts)
            else:
                _build_brute(positions, self.box, self.cutoff, self.rows, self.counts)
            largest = int(self.counts.max()) if n else 0
            if largest <= self.rows.shape[1]:
                break
            self.rows = np.empty((n, int(largest * 1.25) + 4), dtype=np.int64)
        self.reference = positions.copy()
        self.builds += 1


def _expected_neighbours(n: int, d: int, box: float, cutoff: float) -> int:
    """A first row capacity: twice the mean count within the cutoff, plus a margin."""
    mean = (n - 1) * min(1.0, ball_volume(d) * cutoff ** d / box ** d)
    return int(min(n, 2 * mean + 16))


_STENCILS: dict[int, np.ndarray] = {}


def _stencil(d: int) -> np.ndarray:
    """All 3^d offsets in {-1, 0, 1}^d, shape (3^d, d) int64."""
    if d not in _STENCILS:
        _STENCILS[d] = np.array(list(itertools.product((-1, 0, 1), repeat=d)), dtype=np.int64)
    return _STENCILS[d]


def overlapping_pairs(positions: np.ndarray, radii: np.ndarray, box: float,
                      verlet: VerletList) -> np.ndarray:
    """Overlapping pairs (i < j) found through the Verlet list, shape (m, 2), sorted."""
    verlet.update(positions)
    n = positions.shape[0]
    filled = np.arange(verlet.rows.shape[1]) < verlet.counts[:, None]
    i = np.repeat(np.arange(n), verlet.counts)
    j = verlet.rows[filled]
    i, j = i[j > i], j[j > i]
    delta = minimum_image(positions[j] - positions[i], box)
    hit = np.einsum("md,md->m", delta, delta) < (radii[i] + radii[j]) ** 2
    return np.stack([i[hit], j[hit]], axis=1)


def overlapping_pairs_brute(positions: np.ndarray, radii: np.ndarray, box: float) -> np.ndarray:
    """The O(n^2) numpy twin: every pair i < j with |x_i - x_j| < R_i + R_j, shape (m, 2), sorted."""
    delta = minimum_image(positions[:, None, :] - positions[None, :, :], box)
    distance2 = np.einsum("ijd,ijd->ij", delta, delta)
    contact = (radii[:, None] + radii[None, :]) ** 2
    i, j = np.nonzero(np.triu(distance2 < contact, k=1))
    return np.stack([i, j], axis=1).astype(np.int64)


def default_skin(d: int) -> float:
    """Verlet skin in diameters: thinner in high d, where the shell holds most of the volume."""
    return 0.3 if d <= 4 else 0.2 if d <= 6 else 0.15


__all__ = ["VerletList", "overlapping_pairs", "overlapping_pairs_brute", "cells_per_side",
           "default_skin"]
