"""Cells of a periodic box: the one counting sort by cell, the cell geometry, and a cell grid whose
membership follows particles one at a time.

The box is cut into m^d cells at least ``cutoff`` wide (m >= 3, ``cells_per_side``). ``cell_order``
sorts particles by cell for the Verlet list's cell builder and for the FAISS window search of
``neuralpack.overlap``; ``CellGrid`` keeps each cell's particles in a doubly linked list, so a
particle changes cell in O(1), and finds the particles within cutoff of a point in those of the
3^d cells around it that come within cutoff of the point. Many searches at once enumerate the
cells from a cell-sorted order instead of the links.
"""
import itertools

import numba
import numpy as np

from physics_baseline.neighbours.distances import distance2

SEARCH_CHUNK = 64     # searched particles per parallel task (each task allocates its scratch once)
SORTED_QUERIES = 16   # a move of at least n / SORTED_QUERIES particles re-sorts the cell order (CellGrid)
_NO_SORT = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))


@numba.njit(cache=True)
def counting_sort(keys, buckets):
    """The indices 0..m-1 sorted by keys (m,) int64 in [0, buckets), stable: (start (buckets + 1,),
    the first sorted index of each bucket, and order (m,), the indices bucket by bucket)."""
    start = np.zeros(buckets + 1, dtype=np.int64)
    for i in range(keys.shape[0]):
        start[keys[i] + 1] += 1
    for c in range(buckets):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(keys.shape[0], dtype=np.int64)
    for i in range(keys.shape[0]):
        order[fill[keys[i]]] = i
        fill[keys[i]] += 1
    return start, order


@numba.njit(inline="always")
def cell_index(positions, i, box, cells_per_side):
    """Flat index of the cell holding particle i, axis k weighted by cells_per_side^k."""
    flat = 0
    for k in range(positions.shape[1] - 1, -1, -1):
        c = int(positions[i, k] / box * cells_per_side)
        c = min(max(c, 0), cells_per_side - 1)
        flat = flat * cells_per_side + c
    return flat


@numba.njit(cache=True)
def cell_order(positions, box, cells_per_side):
    """Cell index of every particle and the particles sorted by cell (``counting_sort``)."""
    n, d = positions.shape
    cell_of = np.empty(n, dtype=np.int64)
    for i in range(n):
        cell_of[i] = cell_index(positions, i, box, cells_per_side)
    start, order = counting_sort(cell_of, cells_per_side ** d)
    return cell_of, start, order


@numba.njit(inline="always")
def sort_row(row):
    """Insertion sort in place: rows are short and nearly sorted."""
    for a in range(1, row.shape[0]):
        value = row[a]
        b = a - 1
        while b >= 0 and row[b] > value:
            row[b + 1] = row[b]
            b -= 1
        row[b + 1] = value


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


def check_cells(box: float, cutoff: float, n: int, d: int) -> None:
    """Raise ValueError unless a cell list fits (``cells_per_side`` > 0)."""
    if not cells_per_side(box, cutoff, n, d):
        raise ValueError(f"a cell list needs at least 3 cells of width {cutoff:.3g} "
                         f"per side of a box of side {box:.3g}")


_STENCILS: dict[int, np.ndarray] = {}


def stencil(d: int) -> np.ndarray:
    """All 3^d offsets in {-1, 0, 1}^d, shape (3^d, d) int64."""
    if d not in _STENCILS:
        _STENCILS[d] = np.array(list(itertools.product((-1, 0, 1), repeat=d)), dtype=np.int64)
    return _STENCILS[d]


@numba.njit(cache=True)
def _link_cells(reference, box, m, head, after, before, cell_of):
    """Fill the cell lists from scratch: head[c] is the first particle of cell c, after/before
    the next and previous particle of the same cell (-1 at the ends)."""
    head[:] = -1
    for i in range(reference.shape[0]):
        _push(i, cell_index(reference, i, box, m), head, after, before, cell_of)


@numba.njit(cache=True)
def _relink(particles, reference, box, m, head, after, before, cell_of):
    """Move each of ``particles`` into the cell list of its (new) reference position."""
    for a in range(particles.shape[0]):
        i = particles[a]
        c = cell_index(reference, i, box, m)
        if c == cell_of[i]:
            continue
        if before[i] >= 0:
            after[before[i]] = after[i]
        else:
            head[cell_of[i]] = after[i]
        if after[i] >= 0:
            before[after[i]] = before[i]
        _push(i, c, head, after, before, cell_of)


@numba.njit(cache=True)
def _push(i, c, head, after, before, cell_of):
    """Put particle i at the head of cell c's list."""
    cell_of[i] = c
    before[i] = -1
    after[i] = head[c]
    if head[c] >= 0:
        before[head[c]] = i
    head[c] = i


@numba.njit(parallel=True, cache=True)
def _search_cells(reference, particles, box, cutoff, m, offsets, head, after, cell_of, start, order,
                  found, sizes):
    """found[a, :sizes[a]]: the particles within cutoff of particle particles[a], ascending, from
    the 3^d stencil (offsets, (3^d, d)) of cells around it. A size beyond found's width is an
    overflow: the caller rebuilds. The members of a cell come from its linked list (head, after),
    or, where start is not empty, from the cell-sorted order: cell c holds order[start[c]:start[c +
    1]]; each candidate is tested by ``distance2``, so both give the rows of the exact test.

    A stencil cell is skipped when the particle lies farther than cutoff from it: along each axis
    where the cell is a neighbour, the gap is the particle's distance to its own cell's face on
    that side. In high d this drops most of the 3^d cells (in 6D, cells 1.2 cutoffs wide, four in
    five). The skip leaves a margin of 1e-9 box, far above the rounding of cell membership."""
    d = reference.shape[1]
    for task in numba.prange((particles.shape[0] + SEARCH_CHUNK - 1) // SEARCH_CHUNK):
        home = np.empty(d, dtype=np.int64)
        below = np.empty(d)                   # squared gap to the cell below along axis k
        above = np.empty(d)
        for a in range(task * SEARCH_CHUNK, min(particles.shape[0], (task + 1) * SEARCH_CHUNK)):
            _search_one(a, particles[a], reference, box, cutoff, m, offsets, head, after, cell_of, start,
                        order, found, sizes, home, below, above)


@numba.njit(inline="always")
def _search_one(a, i, reference, box, cutoff, m, offsets, head, after, cell_of, start, order, found,
                sizes, home, below, above):
    """found[a, :sizes[a]] for particle i, as ``_search_cells`` says (scratch: home, below, above)."""
    d = reference.shape[1]
    cutoff2 = cutoff * cutoff
    skip2 = (cutoff + 1e-9 * box) ** 2
    inverse = 1.0 / box
    width = box / m
    capacity = found.shape[1]
    rest = cell_of[i]
    for k in range(d):
        home[k] = rest % m
        rest //= m
        inside = reference[i, k] - home[k] * width
        below[k] = max(inside, 0.0) ** 2
        above[k] = max(width - inside, 0.0) ** 2
    count = 0
    for s in range(offsets.shape[0]):
        gap2, flat, scale = 0.0, 0, 1
        for k in range(d):
            step = offsets[s, k]
            coord = home[k] + step
            if step < 0:
                gap2 += below[k]
                coord = coord + m if coord < 0 else coord
            elif step > 0:
                gap2 += above[k]
                coord = coord - m if coord >= m else coord
            flat += coord * scale
            scale *= m
        if gap2 > skip2:
            continue
        if start.shape[0] > 0:
            for q in range(start[flat], start[flat + 1]):
                j = order[q]
                if j != i and distance2(reference, i, j, box, inverse) < cutoff2:
                    if count < capacity:
                        found[a, count] = j
                    count += 1
            continue
        j = head[flat]
        while j >= 0:
            if j != i and distance2(reference, i, j, box, inverse) < cutoff2:
                if count < capacity:
                    found[a, count] = j
                count += 1
            j = after[j]
    sizes[a] = count
    if count <= capacity:
        sort_row(found[a, :count])


class CellGrid:
    """Cells of the reference positions (n, d) in a box of side ``box`` split m times per axis.

    Membership follows moves through the linked lists. When at least n / ``SORTED_QUERIES``
    particles move at once (and at the start), their searches enumerate the cells from a cell-sorted
    order instead, sorted again in O(n): independent reads, where chasing links waits on a cache
    miss at every candidate. Small moves, the common case near phi_c, keep the links and cost no
    sort.
    """

    def __init__(self, reference: np.ndarray, box: float, cutoff: float, m: int):
        n, d = reference.shape
        self.box, self.cutoff, self.m = box, cutoff, m
        self.offsets = stencil(d)
        self.head = np.empty(m ** d, dtype=np.int64)
        self.after, self.before, self.cell_of = (np.empty(n, dtype=np.int64) for _ in range(3))
        _link_cells(reference, box, m, self.head, self.after, self.before, self.cell_of)
        self._sort(reference)

    def moved(self, reference: np.ndarray, particles: np.ndarray) -> None:
        """The references of particles (k,) changed: move them to their new cells."""
        _relink(particles, reference, self.box, self.m, self.head, self.after, self.before, self.cell_of)
        if len(particles) * SORTED_QUERIES >= len(reference):
            self._sort(reference)
        elif len(particles):
            self._sorted = _NO_SORT

    def search(self, reference: np.ndarray, particles: np.ndarray, found: np.ndarray,
               sizes: np.ndarray) -> None:
        """found[a, :sizes[a]]: every particle within cutoff of particles[a], ascending."""
        _search_cells(reference, particles, self.box, self.cutoff, self.m, self.offsets, self.head,
                      self.after, self.cell_of, *self._sorted, found, sizes)

    def _sort(self, reference: np.ndarray) -> None:
        _, start, order = cell_order(reference, self.box, self.m)
        self._sorted = start, order
