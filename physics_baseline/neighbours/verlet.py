"""Verlet lists for spheres in a periodic cubic box, in any dimension d.

A Verlet list holds, for every particle, all others within ``cutoff = 2 R_max + skin`` (minimum
image), with each row sorted by index so that sums over neighbours run in one fixed order, whoever
built the list. It is rebuilt when the two largest displacements since the last build add up to
more than the skin (HOOMD-blue's policy, sharpened), which guarantees that no overlap is missed.

Two builders fill it: a cell list with a 3^d stencil where the box holds enough cells for the
stencil to prune (low d, large n; ``cells``), and blocked brute force otherwise (``scan``; high d,
where 3^d cells span the whole box), which screens candidates in single precision and decides the
close ones exactly. ``physics_baseline.reference.overlapping_pairs_brute`` is the O(n^2) numpy
twin that tests compare against.
"""
import numba
import numpy as np

from physics_baseline.box import ball_volume, minimum_image
from physics_baseline.neighbours.cells import (
    cell_order,
    cells_per_side,
    check_cells,
    sort_row,
    stencil,
)
from physics_baseline.neighbours.distances import (
    periodic,
    screen_block,
    screen_bounds,
    transposed_single,
    within,
)

_BLOCK = 256  # candidates per block of the brute-force scan


@numba.njit(parallel=True, cache=True)
def scan(positions, transposed, particles, box, cutoff, rows, counts):
    """rows[a, :counts[a]]: every particle within cutoff of particles[a], ascending, by testing all n.

    A block of candidates at a time is screened in single precision (``_screen`` over
    ``transposed = transposed_single(positions)``); a margin far above its error separates the
    clear cases from the few close to the cutoff, which ``distance2`` decides, so the rows are
    those of the exact test. A count beyond the width of rows is an overflow: the caller widens
    rows and scans again.
    """
    d, n = transposed.shape
    capacity = rows.shape[1]
    side = np.float32(box)
    bounds = screen_bounds(box, cutoff)
    for a in numba.prange(particles.shape[0]):
        i = particles[a]
        c = 0
        screened = np.empty(_BLOCK, dtype=np.float32)
        near = np.empty(_BLOCK, dtype=np.int64)
        for first in range(0, n, _BLOCK):
            size = min(n, first + _BLOCK) - first
            screen_block(transposed, transposed[:, i], first, size, side, screened)
            m = 0
            for q in range(size):
                if screened[q] < bounds[1]:
                    near[m] = q
                    m += 1
            for e in range(m):
                j = first + near[e]
                if j != i and within(screened[near[e]], bounds, positions, i, j, box, cutoff):
                    if c < capacity:
                        rows[a, c] = j
                    c += 1
        counts[a] = c


@numba.njit(parallel=True, cache=True)
def _build_cells(positions, box, cutoff, cells_per_side, stencil, rows, counts):
    """Fill rows from a cell list: for each occupied cell, scan its 3^d stencil of cells.

    Candidates are read from a copy of the positions sorted by cell, and the periodic image of each
    stencil cell is a known shift, so no minimum-image rounding is needed here.
    """
    n, d = positions.shape
    m = cells_per_side
    capacity = rows.shape[1]
    cutoff2 = cutoff * cutoff
    cell_of, start, order = cell_order(positions, box, m)
    sorted_positions = np.empty((n, d))
    for a in range(n):
        sorted_positions[a] = positions[order[a]]
    n_stencil = stencil.shape[0]
    for home in numba.prange(start.shape[0] - 1):
        if start[home] == start[home + 1]:
            continue
        near = np.empty(n_stencil, dtype=np.int64)
        shift = np.zeros((n_stencil, d))
        for s in range(n_stencil):
            flat, rest, scale = 0, home, 1
            for k in range(d):
                coord = rest % m + stencil[s, k]
                rest //= m
                if coord < 0:
                    coord += m
                    shift[s, k] = -box
                elif coord >= m:
                    coord -= m
                    shift[s, k] = box
                flat += coord * scale
                scale *= m
            near[s] = flat
        for a in range(start[home], start[home + 1]):
            i = order[a]
            c = 0
            for s in range(n_stencil):
                for p in range(start[near[s]], start[near[s] + 1]):
                    r2 = 0.0
                    for k in range(d):
                        delta = sorted_positions[a, k] - sorted_positions[p, k] - shift[s, k]
                        r2 += delta * delta
                    if r2 < cutoff2 and p != a:
                        if c < capacity:
                            rows[i, c] = order[p]
                        c += 1
            counts[i] = c
            if c <= capacity:
                sort_row(rows[i, :c])


@numba.njit(parallel=True, cache=True)
def _two_largest_displacements(positions, reference, box):
    """The two largest minimum-image displacements |x_i - reference_i| (diameters)."""
    n, d = positions.shape
    inverse = 1.0 / box
    moved = np.empty(n)
    for i in numba.prange(n):
        total = 0.0
        for k in range(d):
            delta = periodic(positions[i, k] - reference[i, k], box, inverse)
            total += delta * delta
        moved[i] = total
    first = second = 0.0
    for i in range(n):
        if moved[i] > first:
            first, second = moved[i], first
        elif moved[i] > second:
            second = moved[i]
    return np.sqrt(first), np.sqrt(second)


def largest_displacements(positions: np.ndarray, reference: np.ndarray, box: float) -> tuple[float, float]:
    """The two largest minimum-image displacements |x_i - reference_i| (diameters) of positions
    against reference, both (n, d) float64, in a box of side box."""
    return _two_largest_displacements(np.ascontiguousarray(positions, dtype=np.float64),
                                      np.ascontiguousarray(reference, dtype=np.float64), float(box))


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
        """Rebuild unless the list is still exact; True if rebuilt.

        A pair outside the list was at least ``cutoff`` apart at the build, so it cannot overlap
        while the two largest displacements since then add up to at most the skin.
        """
        if self.reference is not None and self.reference.shape == positions.shape:
            first, second = largest_displacements(positions, self.reference, self.box)
            if first + second <= self.skin:
                return False
        self.build(positions)
        return True

    def build(self, positions: np.ndarray) -> None:
        n, d = positions.shape
        m = cells_per_side(self.box, self.cutoff, n, d)
        if self.method is None:
            self.method = "cells" if m else "brute"
        if self.method == "cells":
            check_cells(self.box, self.cutoff, n, d)
        if self.rows.shape[0] != n:
            capacity = expected_neighbours(n, d, self.box, self.cutoff)
            self.rows = np.empty((n, capacity), dtype=np.int64)
            self.counts = np.empty(n, dtype=np.int64)
        while True:
            if self.method == "cells":
                _build_cells(positions, self.box, self.cutoff, m, stencil(d), self.rows, self.counts)
            else:
                scan(positions, transposed_single(positions), np.arange(n), self.box, self.cutoff,
                     self.rows, self.counts)
            largest = int(self.counts.max()) if n else 0
            if largest <= self.rows.shape[1]:
                break
            self.rows = np.empty((n, int(largest * 1.25) + 4), dtype=np.int64)
        self.reference = positions.copy()
        self.builds += 1


def expected_neighbours(n: int, d: int, box: float, cutoff: float) -> int:
    """A first row capacity: twice the mean count within the cutoff, plus a margin."""
    mean = (n - 1) * min(1.0, ball_volume(d) * cutoff ** d / box ** d)
    return int(min(n, 2 * mean + 16))


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


def default_skin(d: int) -> float:
    """Verlet skin in diameters, tuned with ``make bench``: thicker in high d, where builds cost
    O(n^2) and kicks are larger (more overlaps per particle), so fewer rebuilds pay off."""
    return 0.3 if d <= 4 else 0.4 if d == 5 else 0.5
